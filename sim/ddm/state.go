package ddm

import (
	"fmt"
	"sort"
	"strings"
)

// Reason is one entry of a declaration's reasons in the status report (Apple's StatusReason:
// code, description, details).
type Reason struct {
	Code        string         `json:"code"`
	Description string         `json:"description,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
}

// Result is a declaration's status as the device reports it in management.declarations.
type Result struct {
	Kind, Type  string
	Identifier  string
	ServerToken string
	Valid       string // ValidValid, ValidInvalid, ValidUnknown (Apple's rangelist)
	Active      bool
	Reasons     []Reason
}

// State is the device's declaration store: what it installed, by identifier, and what its
// last status report said. The zero State is empty and ready.
type State struct {
	decls    map[string]*installed
	token    string            // DeclarationsToken of the last declaration-items applied (Synced)
	reported map[string]string // what the last report sent, for incremental reports
	// removed: a declaration left the store since management.declarations was last sent.
	// Apple's management.declarations has no removal marker, so the next report sends its
	// lists whole, and the server sees what is gone by its absence.
	removed bool
}

// installed is one stored declaration with what Apply found about it alone; what depends on
// the other declarations (activation) is worked out by resolve.
type installed struct {
	decl    Declaration
	kind    string
	problem *Reason // nil when the device can apply it
}

// Plan compares the server's declaration-items with the store: fetch lists the items that are
// new, or whose ServerToken (or kind) changed; remove the identifiers the server no longer
// lists. It changes nothing: the caller fetches, Applies, and Removes.
func (s *State) Plan(items Items) (fetch []Item, remove []string) {
	listed := map[string]bool{}
	for _, it := range items.All() {
		listed[it.Identifier] = true
		in, ok := s.decls[it.Identifier]
		if !ok || in.decl.ServerToken != it.ServerToken || (it.Kind != "" && in.kind != it.Kind) {
			fetch = append(fetch, it)
		}
	}
	for id := range s.decls {
		if !listed[id] {
			remove = append(remove, id)
		}
	}
	sort.Strings(remove)
	return fetch, remove
}

// Remove drops declarations: those Plan says the server no longer lists, and one the server
// answers 404 for (Apple: the device then removes its copy).
func (s *State) Remove(identifiers ...string) {
	for _, id := range identifiers {
		if in, ok := s.decls[id]; ok {
			s.dropped(id, in.kind)
			delete(s.decls, id)
		}
	}
}

// dropped records that declaration id left kind's list: the next report sends the lists
// whole, and a later declaration with the same identifier counts as new there.
func (s *State) dropped(id, kind string) {
	s.removed = true
	delete(s.reported, declarationKey(listOf(kind), id))
}

// Synced records the DeclarationsToken of the declaration-items the device applied.
func (s *State) Synced(items Items) { s.token = items.DeclarationsToken }

// NeedsSync says whether a tokens answer (or the DeclarativeManagement command's Data)
// carries a DeclarationsToken other than the one the device last synced.
func (s *State) NeedsSync(t Tokens) bool { return t.DeclarationsToken != s.token }

// Apply installs a declaration, replacing one with the same Identifier, and returns its status
// with what is known now (an activation whose configurations come later is resolved again by
// Results and StatusReport). A type the simulator's Apple schema lacks, one the platform or
// OS version does not have, or one the enrollment does not allow (user enrollment forbids
// it, or a supervised-only type on an unsupervised device) is stored invalid with
// Error.ConfigurationNotSupported, as Apple's reason says: "not supported for this platform,
// scope, or enrollment type".
func (s *State) Apply(d Declaration, dev Device) Result {
	if s.decls == nil {
		s.decls = map[string]*installed{}
	}
	in := &installed{decl: d, kind: kindOf(d.Type)}
	in.problem = checkDeclaration(d, dev)
	if old, ok := s.decls[d.Identifier]; ok && old.kind != in.kind {
		s.dropped(d.Identifier, old.kind)
	}
	s.decls[d.Identifier] = in
	return s.resolve()[d.Identifier]
}

// kindOf is a declaration type's kind: Apple's schema says it, else the type's second part
// (com.apple.<kind>.…); an unknown one counts as a configuration.
func kindOf(typ string) string {
	if t, ok := declarationTypes[typ]; ok {
		return t.Kind
	}
	parts := strings.SplitN(typ, ".", 4)
	if len(parts) >= 3 {
		switch parts[2] {
		case KindActivation, KindAsset, KindManagement, KindConfiguration:
			return parts[2]
		}
	}
	return KindConfiguration
}

// checkDeclaration is what the device finds about a declaration alone.
func checkDeclaration(d Declaration, dev Device) *Reason {
	t, ok := declarationTypes[d.Type]
	if !ok {
		return notSupported(d, "the simulator's Apple schema (commit "+schemaCommit[:7]+") has no declaration type "+d.Type)
	}
	if ok, why := dev.has(t.OS); !ok {
		return notSupported(d, why)
	}
	var err string
	switch d.Type {
	case "com.apple.activation.simple":
		// Apple has no reason for an activation's bad payload; the configuration's is the
		// nearest (inferred).
		_, err = standardConfigurations(d)
	case typeStatusSubscriptions:
		_, err = subscribedItems(d)
	}
	if err != "" {
		return &Reason{Code: ReasonConfigurationCannotBeDeserialized, Description: reasonDescriptions[ReasonConfigurationCannotBeDeserialized],
			Details: map[string]any{"Error": err}}
	}
	return nil
}

func notSupported(d Declaration, why string) *Reason {
	return &Reason{Code: ReasonConfigurationNotSupported,
		Description: strings.TrimSuffix(reasonDescriptions[ReasonConfigurationNotSupported], ".") + ": " + why + ".",
		Details:     map[string]any{"Identifier": d.Identifier, "ServerToken": d.ServerToken}}
}

// standardConfigurations reads an activation's Payload.StandardConfigurations, required, an
// array of configuration identifiers (activations/simple.yaml); err says what is wrong.
func standardConfigurations(d Declaration) (ids []string, err string) {
	v, ok := d.Payload["StandardConfigurations"]
	if !ok {
		return nil, "Payload.StandardConfigurations is missing"
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, "Payload.StandardConfigurations is " + typeName(v) + ", not an array"
	}
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Sprintf("Payload.StandardConfigurations[%d] is %s, not a string", i, typeName(e))
		}
		ids = append(ids, s)
	}
	return ids, ""
}

// typeStatusSubscriptions is the declaration that subscribes the device to status items.
const typeStatusSubscriptions = "com.apple.configuration.management.status-subscriptions"

// subscribedItems reads a status subscription's Payload.StatusItems, required, an array of
// dictionaries each with a required string Name (management.status-subscriptions.yaml);
// err says what is wrong.
func subscribedItems(d Declaration) (names []string, err string) {
	v, ok := d.Payload["StatusItems"]
	if !ok {
		return nil, "Payload.StatusItems is missing"
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, "Payload.StatusItems is " + typeName(v) + ", not an array"
	}
	for i, e := range arr {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Sprintf("Payload.StatusItems[%d] is %s, not an object", i, typeName(e))
		}
		if _, ok := m["Name"]; !ok {
			return nil, fmt.Sprintf("Payload.StatusItems[%d].Name is missing", i)
		}
		name, ok := m["Name"].(string)
		if !ok {
			return nil, fmt.Sprintf("Payload.StatusItems[%d].Name is %s, not a string", i, typeName(m["Name"]))
		}
		names = append(names, name)
	}
	return names, ""
}

// Results is the status of every stored declaration, by kind then identifier.
func (s *State) Results() []Result {
	res := s.resolve()
	out := make([]Result, 0, len(res))
	for _, r := range res {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Identifier < out[j].Identifier
	})
	return out
}
