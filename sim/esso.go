package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/ddm"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// Enrollment SSO (spec §2.9, steps 5a-5d): when the 401 carries
// X-Apple-MDM-ESSO, an iPhone, iPad or Vision Pro fetches the document,
// installs the identity provider's app (the simulator records its
// iTunesStoreID or AppIDs), applies the profile and declarations, then
// signs in as the challenge said. A Mac ignores the header (Apple S23).

// essoVersion is one of the fixed versions below.
func essoVersion(s string) device.Version {
	v, err := device.ParseVersion(s)
	if err != nil {
		panic("enrollsim bug: version " + s + ": " + err.Error())
	}
	return v
}

// essoDocumentLimit caps the document: a profile and a few declarations.
const essoDocumentLimit = 1 << 20

// essoState is what the device installed from the document.
type essoState struct {
	app string // "App Store app 1234" or the AppIDs
	// declarations are the identifiers of the declarations the device
	// applied (18.4+/2.4+), which the first DDM sync must list (DDM-008);
	// staged those of them it could store, with their payloads.
	declarations []string
	staged       []ddm.Declaration
}

// essoURL is the document URL of the challenge's header (the standard one
// first), and whether it is the developer one; "" when the device does not
// play ESSO: no header, a Mac, an OS before it, or a URL that is no https
// URL (ENR-012 fails that; the device cannot fetch it).
func (r *runner) essoURL() (string, bool) {
	e := r.enroll
	if e == nil || e.first == nil || e.first.status != http.StatusUnauthorized {
		return "", false
	}
	d := r.c.Device
	switch {
	case d.Family == device.Mac:
		return "", false
	case d.Family == device.RealityDevice && !d.OS.AtLeast(essoVersion("2.0")):
		return "", false
	case d.Family != device.RealityDevice && !d.OS.AtLeast(essoVersion("16.0")):
		return "", false
	}
	dev := false
	u := strings.TrimSpace(e.first.header.Get("X-Apple-MDM-ESSO"))
	if u == "" {
		u, dev = strings.TrimSpace(e.first.header.Get("X-Apple-MDM-ESSO-Developer")), true
	}
	if pu, err := url.Parse(u); err != nil || pu.Scheme != "https" || pu.Host == "" {
		return "", false
	}
	return u, dev
}

// essoStep is §2.9: GET the document, judge it, install and apply.
func (r *runner) essoStep() (*stop, event.StepStatus, string) {
	u, dev := r.essoURL()
	o := &check.ESSO{URL: u, Developer: dev, DeclarationsApply: r.essoDeclarationsApply()}
	r.obs.ESSO = o
	resp := r.do(request{method: http.MethodGet, url: u, purpose: "Enrollment SSO document", limit: essoDocumentLimit})
	readESSOAnswer(o, resp)
	v := check.JudgeESSO(*o)
	r.judged(v)
	if ok, why := check.UsableESSO(v); !ok {
		msg := "the device cannot install the Enrollment SSO app: " + why
		if o.Why != "" {
			return &stop{event.OutcomeError, msg}, event.StepError, msg
		}
		return &stop{event.OutcomeAuthFailed, msg}, event.StepFailed, msg
	}
	r.esso = &essoState{app: essoApp(o)}
	if o.HasDecls && o.DeclarationsApply && o.DeclsBad == "" {
		for _, d := range o.Declarations {
			r.esso.declarations = append(r.esso.declarations, d.Identifier)
		}
		r.esso.staged = essoStaged(resp.body)
	}
	return nil, event.StepOK, fmt.Sprintf("installed %s, applied %s; signing in", r.esso.app, essoApplied(o))
}

// essoDeclarationsApply: iOS and iPadOS 18.4, visionOS 2.4 and later read
// Declarations (S4, S5).
func (r *runner) essoDeclarationsApply() bool {
	d := r.c.Device
	if d.Family == device.RealityDevice {
		return d.OS.AtLeast(essoVersion("2.4"))
	}
	return d.OS.AtLeast(essoVersion("18.4"))
}

func essoApp(o *check.ESSO) string {
	if o.Developer {
		return "the developer app " + strings.Join(o.AppIDs, ", ")
	}
	return fmt.Sprintf("App Store app %d", o.StoreIDValue)
}

func essoApplied(o *check.ESSO) string {
	var parts []string
	if o.HasProfile {
		parts = append(parts, "the SSO profile")
	}
	if o.HasDecls && o.DeclarationsApply {
		parts = append(parts, fmt.Sprintf("%d declarations", len(o.Declarations)))
	}
	if len(parts) == 0 {
		return "nothing this OS reads"
	}
	return strings.Join(parts, " and ")
}

// readESSOAnswer fills o from the document's answer, as the device reads it.
func readESSOAnswer(o *check.ESSO, resp *response) {
	switch {
	case resp.timeout || resp.tooLarge || resp.overLimit != "":
		o.Why = firstNonEmpty(resp.overLimit, map[bool]string{true: "the tester's timeout", false: fmt.Sprintf("over the tester's %d KiB cap", essoDocumentLimit>>10)}[resp.timeout])
		return
	case resp.err != nil:
		o.NotObject = "no answer: " + resp.err.Error()
		return
	}
	o.Status, o.ContentType = resp.status, resp.header.Get("Content-Type")
	if resp.status != http.StatusOK {
		return
	}
	var doc map[string]json.RawMessage
	if _, err := unmarshalServerJSON(resp.body, &doc); err != nil || doc == nil {
		o.NotObject = "the body is no JSON object: " + excerpt(resp.body, 120)
		return
	}
	readESSOKeys(o, doc)
	if raw, ok := doc["ConfigurationProfile"]; ok {
		o.HasProfile = true
		o.PayloadTypes, o.ProfileBad = essoProfile(raw)
	}
	if raw, ok := doc["Declarations"]; ok {
		o.HasDecls = true
		o.Declarations, o.DeclsBad = essoDeclarations(raw)
	}
}

func readESSOKeys(o *check.ESSO, doc map[string]json.RawMessage) {
	if raw, ok := doc["iTunesStoreID"]; ok {
		var n json.Number
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&n); err == nil {
			if i, err := n.Int64(); err == nil {
				o.StoreID, o.StoreIDValue = "integer", i
			} else {
				o.StoreID = "a number that is no integer"
			}
		} else {
			o.StoreID = jsonKind(raw)
		}
	}
	if raw, ok := doc["AppIDs"]; ok {
		o.AppIDsSet = true
		if err := json.Unmarshal(raw, &o.AppIDs); err != nil {
			o.AppIDsBad = "AppIDs is " + jsonKind(raw) + ", not an array of strings"
		}
	}
}

// jsonKind names a JSON value's type for a report.
func jsonKind(raw json.RawMessage) string {
	switch s := strings.TrimSpace(string(raw)); {
	case s == "" || s == "null":
		return "null"
	case s[0] == '"':
		return "a string"
	case s[0] == '[':
		return "an array"
	case s[0] == '{':
		return "an object"
	case s == "true" || s == "false":
		return "a boolean"
	}
	return "a number"
}

// essoProfile decodes ConfigurationProfile (base64 data) into its payload types.
func essoProfile(raw json.RawMessage) ([]string, string) {
	var b64 string
	if err := json.Unmarshal(raw, &b64); err != nil {
		return nil, "ConfigurationProfile is " + jsonKind(raw) + ", not base64 data"
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, "ConfigurationProfile is not base64: " + err.Error()
	}
	p, err := profile.Parse(data)
	if err != nil {
		return nil, "ConfigurationProfile is no profile: " + truncate(err.Error(), 200)
	}
	var types []string
	for _, pl := range p.Payloads {
		types = append(types, pl.Type)
	}
	return types, ""
}

// essoStaged are the document's declarations as the device stores them
// until the first sync; one it cannot read as a whole declaration is left
// out (ESSO-005 has judged the document already).
func essoStaged(body []byte) []ddm.Declaration {
	var doc struct{ Declarations []string }
	if _, err := unmarshalServerJSON(body, &doc); err != nil || len(doc.Declarations) > maxESSODeclarations {
		return nil
	}
	var out []ddm.Declaration
	for _, it := range doc.Declarations {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(it))
		if err != nil {
			continue
		}
		if d, err := ddm.ParseDeclaration(data); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// maxESSODeclarations bounds what the device reads: a document names a
// handful.
const maxESSODeclarations = 100

// essoDeclarations decodes Declarations (base64 JSON declarations).
func essoDeclarations(raw json.RawMessage) ([]check.ESSODeclaration, string) {
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "Declarations is " + jsonKind(raw) + ", not an array of base64 strings"
	}
	if len(items) > maxESSODeclarations {
		return nil, fmt.Sprintf("%d declarations, more than the %d a device reads here", len(items), maxESSODeclarations)
	}
	var out []check.ESSODeclaration
	for i, it := range items {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(it))
		if err != nil {
			return nil, fmt.Sprintf("Declarations[%d] is not base64: %v", i, err)
		}
		var d struct {
			Type, Identifier string
			Payload          struct {
				StandardConfigurations []string
				AppStoreID             json.RawMessage
				BundleID               string
			}
		}
		if _, err := unmarshalServerJSON(data, &d); err != nil {
			return nil, fmt.Sprintf("Declarations[%d] is no declaration: %v", i, err)
		}
		out = append(out, check.ESSODeclaration{Type: d.Type, Identifier: d.Identifier, StandardConfigurations: d.Payload.StandardConfigurations,
			AppStoreID: strings.Trim(string(d.Payload.AppStoreID), `"`), BundleID: d.Payload.BundleID})
	}
	return out, ""
}
