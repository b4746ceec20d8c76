package ddm

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var (
	iPhoneUE = Device{Family: "iPhone", OSVersion: "18.2", BuildVersion: "22C152", Product: "iPhone17,3",
		MarketingName: "iPhone 16", UserEnrollment: true, UDID: "00008140-000A1B2C3D4E5F60", SerialNumber: "F2LXK0ABCDEF"}
	iPhoneDE = Device{Family: "iPhone", OSVersion: "18.2", BuildVersion: "22C152", Product: "iPhone17,3", MarketingName: "iPhone 16"}
	macDE    = Device{Family: "Mac", OSVersion: "15.2", BuildVersion: "24C101", Product: "Mac16,1",
		MarketingName: "MacBook Pro (14-inch, M4, 2024)", UDID: "0000FE00-1A2B3C4D5E6F7081", SerialNumber: "C02ZX0ABCDEF"}
	visionDE = Device{Family: "RealityDevice", OSVersion: "2.2", BuildVersion: "22N842", Product: "RealityDevice14,1", MarketingName: "Apple Vision Pro"}
)

func decl(typ, id, token string, payload map[string]any) Declaration {
	if payload == nil {
		payload = map[string]any{}
	}
	return Declaration{Type: typ, Identifier: id, ServerToken: token, Payload: payload}
}

func TestPlan(t *testing.T) {
	var s State
	items := Items{
		Activations:    []Item{{Identifier: "act", ServerToken: "a1", Kind: KindActivation}},
		Configurations: []Item{{Identifier: "pass", ServerToken: "c1", Kind: KindConfiguration}},
	}
	fetch, remove := s.Plan(items)
	if len(fetch) != 2 || len(remove) != 0 {
		t.Fatalf("empty store: fetch %v remove %v", fetch, remove)
	}
	s.Apply(decl("com.apple.activation.simple", "act", "a1", map[string]any{"StandardConfigurations": []any{"pass"}}), iPhoneDE)
	s.Apply(decl("com.apple.configuration.passcode.settings", "pass", "c1", nil), iPhoneDE)
	s.Apply(decl("com.apple.management.organization-info", "org", "m1", nil), iPhoneDE)
	if fetch, remove = s.Plan(items); len(fetch) != 0 || !reflect.DeepEqual(remove, []string{"org"}) {
		t.Fatalf("unchanged + removed: fetch %v remove %v", fetch, remove)
	}
	items.Configurations[0].ServerToken = "c2"
	items.Assets = []Item{{Identifier: "cred", ServerToken: "x1", Kind: KindAsset}}
	fetch, _ = s.Plan(items)
	want := []Item{items.Configurations[0], items.Assets[0]}
	if !reflect.DeepEqual(fetch, want) {
		t.Fatalf("changed ServerToken + new: fetch %v, want %v", fetch, want)
	}
	// Same identifier and token listed under another kind: fetched again.
	moved := Items{Assets: []Item{{Identifier: "pass", ServerToken: "c1", Kind: KindAsset}}}
	if fetch, _ = s.Plan(moved); len(fetch) != 1 {
		t.Fatalf("kind change: fetch %v", fetch)
	}
	s.Remove("org")
	if _, remove = s.Plan(items); len(remove) != 0 {
		t.Fatalf("after Remove: remove %v", remove)
	}
	if !s.NeedsSync(Tokens{DeclarationsToken: "t1"}) {
		t.Fatal("a fresh store needs a sync")
	}
	s.Synced(Items{DeclarationsToken: "t1"})
	if s.NeedsSync(Tokens{DeclarationsToken: "t1"}) || !s.NeedsSync(Tokens{DeclarationsToken: "t2"}) {
		t.Fatal("NeedsSync does not follow the synced token")
	}
}

// TestApply picks real types from the generated table; each case first checks the table row
// it relies on, so a regenerated schema that changes it fails here, not silently.
func TestApply(t *testing.T) {
	cases := []struct {
		name   string
		typ    string
		dev    Device
		row    func(declType) bool // what the case needs of Apple's table
		valid  string
		reason string // the status reason's code
		why    string // in its description
	}{
		{"not on the platform", "com.apple.configuration.diskmanagement.settings", iPhoneDE,
			func(t declType) bool {
				return t.OS[platformIOS].Introduced == "" && t.OS[platformMacOS].Introduced != ""
			},
			ValidInvalid, ReasonConfigurationNotSupported, "iOS does not have it"},
		{"OS too old", "com.apple.configuration.app.managed", func() Device { d := iPhoneDE; d.OSVersion = "17.1"; return d }(),
			func(t declType) bool { return t.OS[platformIOS].Introduced == "17.2" },
			ValidInvalid, ReasonConfigurationNotSupported, "iOS has it from 17.2, the device runs 17.1"},
		{"forbidden in user enrollment", "com.apple.configuration.softwareupdate.settings", iPhoneUE,
			func(t declType) bool {
				return t.OS[platformIOS].UserEnrollment == ueForbidden && t.OS[platformIOS].Introduced == "18.0"
			},
			ValidInvalid, ReasonConfigurationNotSupported, "user enrollment forbids it"},
		{"allowed in user enrollment", "com.apple.configuration.passcode.settings", iPhoneUE,
			func(t declType) bool { return t.OS[platformIOS].UserEnrollment == ueAllowed },
			ValidValid, ReasonNotReferencedByActivation, ""},
		{"supervised only, unsupervised iPhone", "com.apple.configuration.math.settings", iPhoneDE,
			func(t declType) bool { return t.OS[platformIOS].Enrollments == "supervised" },
			ValidInvalid, ReasonConfigurationNotSupported, "a device enrollment does not allow it (supervised)"},
		{"supervised only, supervised iPhone", "com.apple.configuration.math.settings", func() Device { d := iPhoneDE; d.Supervised = true; return d }(),
			func(t declType) bool { return t.OS[platformIOS].Enrollments == "supervised" },
			ValidValid, ReasonNotReferencedByActivation, ""},
		{"Mac device enrollment counts as supervised", "com.apple.configuration.softwareupdate.settings", macDE,
			func(t declType) bool {
				return t.OS[platformMacOS].Enrollments == "supervised" && t.OS[platformMacOS].Introduced == "15.0"
			},
			ValidValid, ReasonNotReferencedByActivation, ""},
		{"forbidden in Mac user enrollment", "com.apple.configuration.passcode.settings", func() Device { d := macDE; d.UserEnrollment = true; return d }(),
			func(t declType) bool { return t.OS[platformMacOS].UserEnrollment == ueForbidden },
			ValidInvalid, ReasonConfigurationNotSupported, "user enrollment forbids it"},
		{"not on visionOS", "com.apple.configuration.softwareupdate.settings", visionDE,
			func(t declType) bool { return t.OS[platformVisionOS].Introduced == "" },
			ValidInvalid, ReasonConfigurationNotSupported, "visionOS does not have it"},
		{"unknown type", "com.example.configuration.widget", iPhoneDE,
			func(declType) bool { return true },
			ValidInvalid, ReasonConfigurationNotSupported, "has no declaration type com.example.configuration.widget"},
		{"unknown platform", "com.apple.configuration.passcode.settings", Device{Family: "AppleTV", OSVersion: "18.2"},
			func(declType) bool { return true },
			ValidInvalid, ReasonConfigurationNotSupported, "does not know the platform of AppleTV"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if row, ok := declarationTypes[c.typ]; ok && !c.row(row) {
				t.Fatalf("Apple's table changed for %s: %+v", c.typ, row)
			}
			var s State
			r := s.Apply(decl(c.typ, "d1", "t1", nil), c.dev)
			if r.Valid != c.valid || r.Active || len(r.Reasons) != 1 || r.Reasons[0].Code != c.reason || !strings.Contains(r.Reasons[0].Description, c.why) {
				t.Fatalf("Apply = %+v; want valid %s, reason %s (%s)", r, c.valid, c.reason, c.why)
			}
			if r.Identifier != "d1" || r.ServerToken != "t1" || r.Type != c.typ {
				t.Fatalf("Apply = %+v", r)
			}
		})
	}
}

func TestActivation(t *testing.T) {
	var s State
	act := func(id string, confs ...any) Declaration {
		return decl("com.apple.activation.simple", id, id+"-t", map[string]any{"StandardConfigurations": confs})
	}
	// The activation comes first: until its configuration arrives it is missing one.
	if r := s.Apply(act("act", "pass", "cert"), iPhoneUE); r.Valid != ValidInvalid || r.Reasons[0].Code != ReasonMissingConfigurations {
		t.Fatalf("activation before its configurations: %+v", r)
	}
	s.Apply(decl("com.apple.configuration.passcode.settings", "pass", "p-t", nil), iPhoneUE)
	s.Apply(decl("com.apple.configuration.security.certificate", "cert", "c-t", map[string]any{"CredentialAssetReference": "asset"}), iPhoneUE)
	s.Apply(decl("com.apple.configuration.legacy", "lonely", "l-t", nil), iPhoneUE)
	s.Apply(decl("com.apple.asset.credential.certificate", "asset", "as-t", nil), iPhoneUE)
	s.Apply(decl("com.apple.asset.data", "spare", "sp-t", nil), iPhoneUE)
	s.Apply(decl("com.apple.management.organization-info", "org", "o-t", nil), iPhoneUE)
	s.Apply(act("broken", "gone", "lonely2"), iPhoneUE)
	s.Apply(decl("com.apple.configuration.legacy", "lonely2", "l2-t", nil), iPhoneUE)
	s.Apply(decl("com.apple.activation.simple", "bad", "b-t", map[string]any{"StandardConfigurations": "pass"}), iPhoneUE)
	got := map[string]string{}
	for _, r := range s.Results() {
		codes := []string{}
		for _, re := range r.Reasons {
			codes = append(codes, re.Code)
		}
		got[r.Identifier] = r.Valid + " " + map[bool]string{true: "active", false: "inactive"}[r.Active] + " " + strings.Join(codes, ",")
	}
	want := map[string]string{
		"act":     "valid active ",
		"pass":    "valid active ",
		"cert":    "valid active ",
		"asset":   "valid active ",
		"spare":   "valid inactive " + ReasonNotReferencedByConfiguration,
		"lonely":  "valid inactive " + ReasonNotReferencedByActivation,
		"org":     "valid active ",
		"broken":  "invalid inactive " + ReasonMissingConfigurations,
		"lonely2": "valid inactive " + ReasonActivationFailed,
		"bad":     "invalid inactive " + ReasonConfigurationCannotBeDeserialized,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses:\n got %v\nwant %v", got, want)
	}
	// Without its asset the certificate configuration cannot be activated.
	s.Remove("asset")
	for _, r := range s.Results() {
		if r.Identifier == "cert" && (r.Active || r.Reasons[0].Code != ReasonMissingAssets ||
			!reflect.DeepEqual(r.Reasons[0].Details["AssetIdentifiers"], []string{"asset"})) {
			t.Fatalf("cert without its asset: %+v", r)
		}
	}
}

func TestCheckInAndPath(t *testing.T) {
	if m := CheckIn(EndpointTokens, nil); !reflect.DeepEqual(m, map[string]any{"MessageType": "DeclarativeManagement", "Endpoint": "tokens"}) {
		t.Fatalf("CheckIn(tokens) = %v", m)
	}
	m := CheckIn(EndpointStatus, []byte(`{}`))
	if d, ok := m["Data"].([]byte); !ok || string(d) != "{}" {
		t.Fatalf("CheckIn(status) = %v", m)
	}
	if p := DeclarationPath(KindConfiguration, "com.example.pass"); p != "declaration/configuration/com.example.pass" {
		t.Fatalf("DeclarationPath = %q", p)
	}
}

func TestSchemaTables(t *testing.T) {
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(SchemaCommit()) {
		t.Fatalf("SchemaCommit = %q", SchemaCommit())
	}
	kinds := map[string]int{}
	for typ, d := range declarationTypes {
		kinds[d.Kind]++
		if kindOf(typ) != d.Kind || !strings.HasPrefix(typ, "com.apple."+d.Kind+".") {
			t.Errorf("%s: kind %q", typ, d.Kind)
		}
	}
	if len(kinds) != 4 {
		t.Errorf("kinds %v, want activation, configuration, asset, management", kinds)
	}
	for _, name := range []string{"device.model.family", "device.operating-system.version", "management.client-capabilities", "management.declarations", "device.identifier.udid"} {
		if _, ok := statusItems[name]; !ok {
			t.Errorf("status item %s not in Apple's table", name)
		}
	}
	for code, d := range reasonDescriptions {
		if d == "" || !strings.Contains(code, ".") {
			t.Errorf("reason %q: %q", code, d)
		}
	}
	if ValidValid != "valid" || ValidInvalid != "invalid" || ValidUnknown != "unknown" {
		t.Error("valid values")
	}
}
