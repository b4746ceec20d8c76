package check

import (
	"fmt"
	"mime"
	"slices"
	"strings"
)

// ESSO is what the Enrollment SSO step saw (spec §2.9, steps 5a-5d): the
// document the 401's X-Apple-MDM-ESSO (or -Developer) URL answered, as
// the device reads it. The step parses; the judges only compare.
type ESSO struct {
	URL       string `json:"url"`
	Developer bool   `json:"developer,omitempty"` // the X-Apple-MDM-ESSO-Developer document
	// Why says the tester could not judge the answer (its timeout or
	// limit); Status and the rest are then empty.
	Why         string `json:"why,omitempty"`
	Status      int    `json:"status,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	// NotObject says why the body is no JSON object ("" when it is one).
	NotObject string `json:"not_object,omitempty"`
	// StoreID: "" when iTunesStoreID is absent, "integer", or the JSON
	// type it came as; StoreIDValue the integer.
	StoreID      string `json:"store_id,omitempty"`
	StoreIDValue int64  `json:"store_id_value,omitempty"`
	HasProfile   bool   `json:"has_profile,omitempty"`
	HasDecls     bool   `json:"has_declarations,omitempty"`
	// AppIDs: nil when absent; AppIDsBad says why the key is unreadable.
	AppIDs    []string `json:"app_ids,omitempty"`
	AppIDsSet bool     `json:"app_ids_set,omitempty"`
	AppIDsBad string   `json:"app_ids_bad,omitempty"`
	// ProfileBad says why ConfigurationProfile is no profile; PayloadTypes
	// are its payloads' types.
	ProfileBad   string   `json:"profile_bad,omitempty"`
	PayloadTypes []string `json:"payload_types,omitempty"`
	// DeclarationsApply: the device (iOS/iPadOS 18.4+, visionOS 2.4+)
	// reads Declarations; DeclsBad says why they are unreadable.
	DeclarationsApply bool              `json:"declarations_apply,omitempty"`
	DeclsBad          string            `json:"declarations_bad,omitempty"`
	Declarations      []ESSODeclaration `json:"declarations,omitempty"`
}

// ESSODeclaration is one of the document's declarations, as far as the
// rules read it.
type ESSODeclaration struct {
	Type       string `json:"type"`
	Identifier string `json:"identifier"`
	// StandardConfigurations of an activation.
	StandardConfigurations []string `json:"standard_configurations,omitempty"`
	// AppStoreID (a string of digits, or "") and BundleID of an
	// app.managed configuration.
	AppStoreID string `json:"app_store_id,omitempty"`
	BundleID   string `json:"bundle_id,omitempty"`
}

var essoOwns = []string{"ESSO-001", "ESSO-002", "ESSO-003", "ESSO-004", "ESSO-005"}

// Payload types an Enrollment SSO profile may hold besides the SSO one:
// Apple allows "certificate payloads" (S4); the identity payloads that
// make certificates count, so that no working server is failed.
var essoCertificateTypes = []string{"com.apple.security.root", "com.apple.security.pkcs1", "com.apple.security.pem",
	"com.apple.security.pkcs12", "com.apple.security.scep", "com.apple.security.acme"}

const (
	essoSSOType        = "com.apple.extensiblesso"
	essoActivation     = "com.apple.activation.simple"
	essoLegacy         = "com.apple.configuration.legacy"
	essoAppManaged     = "com.apple.configuration.app.managed"
	essoConfigPrefix   = "com.apple.configuration."
	essoDocumentIsJSON = "application/json"
)

func init() {
	register(Judge{Group: "ESSO", Reads: "enrollment SSO document", Owns: essoOwns, Run: func(o *Observations) *Verdicts {
		if o.ESSO == nil {
			return nil
		}
		return JudgeESSO(*o.ESSO)
	}})
}

// JudgeESSO is ESSO-001..005 over the document.
func JudgeESSO(e ESSO) *Verdicts {
	v := NewVerdicts(essoOwns...)
	if e.Why != "" {
		v.Error("ESSO-001", "the Enrollment SSO document could not be judged: "+e.Why)
		v.SkipRest("no document to judge")
		return v
	}
	if !judgeESSODocument(v, e) {
		v.SkipRest("the document is no JSON object")
		return v
	}
	judgeESSOKeys(v, e)
	judgeESSOProfile(v, e)
	judgeESSODeclarations(v, e)
	return v
}

// UsableESSO reports whether a device could go on with the document:
// ESSO-001, 002 and 004 are what it needs to install the app and apply
// its configuration.
func UsableESSO(v *Verdicts) (bool, string) {
	for _, r := range v.Results {
		if (r.ID == "ESSO-001" || r.ID == "ESSO-002" || r.ID == "ESSO-004") && (r.Status == Fail || r.Status == Error) {
			return false, r.ID + ": " + firstOf(r.Actual, r.Detail)
		}
	}
	return true, ""
}

func judgeESSODocument(v *Verdicts, e ESSO) bool {
	switch {
	case e.Status == 0:
		v.Check("ESSO-001", false, "200 with a JSON object", e.NotObject)
		return false
	case e.Status != 200:
		v.Check("ESSO-001", false, "200 with a JSON object", fmt.Sprintf("%d", e.Status))
		return false
	case e.NotObject != "":
		v.Check("ESSO-001", false, "200 with a JSON object", e.NotObject)
		return false
	}
	mt, _, err := mime.ParseMediaType(e.ContentType)
	if err != nil || mt != essoDocumentIsJSON {
		// The media type is observed, not documented: WARN (digest [O] S35).
		v.Add(With("ESSO-001", Warn, fmt.Sprintf("the document is a JSON object, served as %q, not application/json", Printable(e.ContentType))))
		return true
	}
	v.Check("ESSO-001", true, "", "")
	return true
}

func judgeESSOKeys(v *Verdicts, e ESSO) {
	var bad []string
	switch {
	case e.Developer:
		// iTunesStoreID is ignored in developer mode (S4).
	case e.StoreID == "":
		bad = append(bad, "no iTunesStoreID")
	case e.StoreID != "integer":
		bad = append(bad, "iTunesStoreID is "+e.StoreID+", not an integer")
	}
	if !e.HasProfile && !e.HasDecls {
		bad = append(bad, "neither ConfigurationProfile nor Declarations")
	}
	v.Check("ESSO-002", len(bad) == 0, "an integer iTunesStoreID and ConfigurationProfile or Declarations", strings.Join(bad, "; "))
	switch {
	case e.AppIDsBad != "":
		v.Check("ESSO-003", false, "AppIDs an array of TEAMID.bundle.id strings", e.AppIDsBad)
	case e.Developer:
		v.Check("ESSO-003", len(e.AppIDs) > 0, "AppIDs with at least one entry in the developer document", "no AppIDs")
	default:
		v.Check("ESSO-003", !e.AppIDsSet, "no AppIDs in the standard document", fmt.Sprintf("AppIDs %s", strings.Join(e.AppIDs, ", ")))
	}
}

func judgeESSOProfile(v *Verdicts, e ESSO) {
	if !e.HasProfile {
		v.Skip("ESSO-004", "no ConfigurationProfile")
		return
	}
	if e.ProfileBad != "" {
		v.Check("ESSO-004", false, "ConfigurationProfile a profile", e.ProfileBad)
		return
	}
	var others []string
	for _, t := range e.PayloadTypes {
		if t != essoSSOType && !slices.Contains(essoCertificateTypes, t) {
			others = append(others, t)
		}
	}
	var bad []string
	if !slices.Contains(e.PayloadTypes, essoSSOType) {
		bad = append(bad, "no "+essoSSOType+" payload")
	}
	if len(others) > 0 {
		bad = append(bad, "payloads other than Extensible SSO and certificates: "+strings.Join(others, ", "))
	}
	v.Check("ESSO-004", len(bad) == 0, "a profile with an Extensible SSO payload and certificate payloads only", strings.Join(bad, "; "))
}

func judgeESSODeclarations(v *Verdicts, e ESSO) {
	switch {
	case !e.HasDecls:
		v.Skip("ESSO-005", "no Declarations")
		return
	case !e.DeclarationsApply:
		v.Skip("ESSO-005", "Declarations are read by iOS and iPadOS 18.4, visionOS 2.4 and later")
		return
	case e.DeclsBad != "":
		v.Check("ESSO-005", false, "Declarations an array of base64 declarations", e.DeclsBad)
		return
	}
	v.Check("ESSO-005", true, "", "")
	if bad := essoDeclarationProblems(e); len(bad) > 0 {
		v.Results = v.Results[:len(v.Results)-1]
		v.Check("ESSO-005", false, "one activation of every configuration, a legacy configuration and the app's managed-app configuration", strings.Join(bad, "; "))
	}
}

// essoDeclarationProblems lists what the declarations lack (S4, S5).
func essoDeclarationProblems(e ESSO) []string {
	var bad, configs []string
	var activations []ESSODeclaration
	legacy := 0
	apps := map[string]ESSODeclaration{}
	for _, d := range e.Declarations {
		switch {
		case d.Type == essoActivation:
			activations = append(activations, d)
		case strings.HasPrefix(d.Type, essoConfigPrefix):
			configs = append(configs, d.Identifier)
			if d.Type == essoLegacy {
				legacy++
			}
			if d.Type == essoAppManaged {
				apps[d.Identifier] = d
			}
		}
	}
	switch len(activations) {
	case 0:
		bad = append(bad, "no "+essoActivation)
	case 1:
		for _, c := range configs {
			if !slices.Contains(activations[0].StandardConfigurations, c) {
				bad = append(bad, "the activation does not activate "+c)
			}
		}
	default:
		bad = append(bad, fmt.Sprintf("%d activations, not one", len(activations)))
	}
	if legacy == 0 {
		bad = append(bad, "no "+essoLegacy)
	}
	return append(bad, essoAppProblems(e, apps)...)
}

func essoAppProblems(e ESSO, apps map[string]ESSODeclaration) []string {
	if e.Developer {
		var bad []string
		for _, id := range e.AppIDs {
			_, bundle, _ := strings.Cut(id, ".")
			found := false
			for _, a := range apps {
				found = found || a.BundleID == bundle
			}
			if !found {
				bad = append(bad, fmt.Sprintf("no %s with BundleID %s (AppIDs %s)", essoAppManaged, bundle, id))
			}
		}
		return bad
	}
	if e.StoreID != "integer" {
		return nil // ESSO-002 says so; there is nothing to compare with
	}
	want := fmt.Sprint(e.StoreIDValue)
	n := 0
	for _, a := range apps {
		if a.AppStoreID == want {
			n++
		}
	}
	if n != 1 {
		return []string{fmt.Sprintf("%d %s with AppStoreID %s (the iTunesStoreID), not one", n, essoAppManaged, want)}
	}
	return nil
}
