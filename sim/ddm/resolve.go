package ddm

import (
	"sort"
	"strings"
)

// resolve works out every stored declaration's status from the whole set, as Apple's
// reasons describe it (declarationbase.yaml):
//   - an activation (com.apple.activation.simple) is active when every configuration in its
//     StandardConfigurations is stored; else it is invalid with Error.MissingConfigurations,
//     and the configurations it names get Error.ActivationFailed. Its Predicate is not
//     evaluated: it counts as true (inferred; the simulator has no NSPredicate).
//   - a configuration is active when an active activation names it and the assets it
//     references (keys named …AssetReference or …AssetReferences, Apple's naming) are stored;
//     else Error.MissingAssets (invalid), Error.ActivationFailed, or
//     Info.NotReferencedByActivation.
//   - an asset is active when an active configuration references it, else
//     Info.NotReferencedByConfiguration; a management declaration is active when valid.
//
// A declaration Apply found unsupported stays invalid and inactive with its reason.
func (s *State) resolve() map[string]Result {
	ids := make([]string, 0, len(s.decls))
	res := make(map[string]Result, len(s.decls))
	for id, in := range s.decls {
		ids = append(ids, id)
		r := Result{Kind: in.kind, Type: in.decl.Type, Identifier: id, ServerToken: in.decl.ServerToken, Valid: ValidValid}
		if in.problem != nil {
			r.Valid = ValidInvalid
			r.Reasons = []Reason{*in.problem}
		}
		res[id] = r
	}
	sort.Strings(ids)
	activated, failed := s.activations(ids, res)
	used := s.configurations(ids, res, activated, failed)
	for _, id := range ids {
		in, r := s.decls[id], res[id]
		if in.problem != nil {
			continue
		}
		switch in.kind {
		case KindAsset:
			r.Active = used[id]
			if !r.Active {
				r.Reasons = append(r.Reasons, info(ReasonNotReferencedByConfiguration, in.decl))
			}
		case KindManagement:
			r.Active = true
		}
		res[id] = r
	}
	return res
}

// activations resolves the activations; activated maps a configuration to an active
// activation naming it, failed to a failed one.
func (s *State) activations(ids []string, res map[string]Result) (activated, failed map[string]string) {
	activated, failed = map[string]string{}, map[string]string{}
	for _, id := range ids {
		in := s.decls[id]
		if in.kind != KindActivation || in.problem != nil {
			continue
		}
		refs, _ := standardConfigurations(in.decl)
		var missing []string
		for _, c := range refs {
			if ci, ok := s.decls[c]; !ok || ci.kind != KindConfiguration {
				missing = append(missing, c)
			}
		}
		r := res[id]
		into := activated
		if len(missing) > 0 {
			into = failed
			r.Valid = ValidInvalid
			r.Reasons = append(r.Reasons, Reason{Code: ReasonMissingConfigurations, Description: reasonDescriptions[ReasonMissingConfigurations],
				Details: map[string]any{"Identifier": id, "ServerToken": in.decl.ServerToken, "ConfigurationIdentifiers": missing}})
		} else {
			r.Active = true
		}
		for _, c := range refs {
			if _, ok := into[c]; !ok {
				into[c] = id
			}
		}
		res[id] = r
	}
	return activated, failed
}

// configurations resolves the configurations and returns the assets active ones use.
func (s *State) configurations(ids []string, res map[string]Result, activated, failed map[string]string) map[string]bool {
	used := map[string]bool{}
	for _, id := range ids {
		in := s.decls[id]
		if in.kind != KindConfiguration || in.problem != nil {
			continue
		}
		r := res[id]
		if _, ok := activated[id]; ok {
			refs := assetRefs(in.decl.Payload, nil, 0)
			var missing []string
			for _, a := range refs {
				if ai, ok := s.decls[a]; !ok || ai.kind != KindAsset {
					missing = append(missing, a)
				}
			}
			if len(missing) > 0 {
				r.Valid = ValidInvalid
				r.Reasons = append(r.Reasons, Reason{Code: ReasonMissingAssets, Description: reasonDescriptions[ReasonMissingAssets],
					Details: map[string]any{"Identifier": id, "ServerToken": in.decl.ServerToken, "AssetIdentifiers": missing}})
			} else {
				r.Active = true
				for _, a := range refs {
					used[a] = true
				}
			}
		} else if a, ok := failed[id]; ok {
			r.Reasons = append(r.Reasons, info(ReasonActivationFailed, s.decls[a].decl))
		} else {
			r.Reasons = append(r.Reasons, info(ReasonNotReferencedByActivation, in.decl))
		}
		res[id] = r
	}
	return used
}

// info is a reason whose details name a declaration (Identifier, ServerToken).
func info(code string, d Declaration) Reason {
	return Reason{Code: code, Description: reasonDescriptions[code],
		Details: map[string]any{"Identifier": d.Identifier, "ServerToken": d.ServerToken}}
}

// assetRefs collects the asset identifiers a payload references, in key order, each once.
func assetRefs(v any, out []string, depth int) []string {
	if depth > DefaultLimits.MaxDepth {
		return out
	}
	add := func(s string) {
		for _, o := range out {
			if o == s {
				return
			}
		}
		out = append(out, s)
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch e := t[k].(type) {
			case string:
				if strings.HasSuffix(k, "AssetReference") {
					add(e)
				}
			case []any:
				if strings.HasSuffix(k, "AssetReferences") {
					for _, x := range e {
						if s, ok := x.(string); ok {
							add(s)
						}
					}
					continue
				}
				out = assetRefs(e, out, depth+1)
			default:
				out = assetRefs(e, out, depth+1)
			}
		}
	case []any:
		for _, e := range t {
			out = assetRefs(e, out, depth+1)
		}
	}
	return out
}
