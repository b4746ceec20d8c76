package ddm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the status report goldens under testdata/")

// sampleSubscriptions is what sampleStore subscribes to: not device.model.marketing-name, and
// three items no device here reports (no value known, or no such item).
var sampleSubscriptions = []string{
	"device.identifier.udid", "device.identifier.serial-number", "device.model.family", "device.model.identifier",
	"device.operating-system.family", "device.operating-system.version", "device.operating-system.build-version",
	"management.declarations", "device.power.battery-health", "com.example.no-such-item",
	"softwareupdate.install-state", "softwareupdate.pending-version", "softwareupdate.failure-reason",
	"softwareupdate.install-reason", "softwareupdate.beta-enrollment", "softwareupdate.device-id",
}

// subscription is a status-subscriptions declaration for names.
func subscription(id string, names ...string) Declaration {
	items := make([]any, len(names))
	for i, n := range names {
		items[i] = map[string]any{"Name": n}
	}
	return decl(typeStatusSubscriptions, id, id+"-t", map[string]any{"StatusItems": items})
}

// activation is a simple activation of configurations.
func activation(id string, configurations ...any) Declaration {
	return decl("com.apple.activation.simple", id, id+"-t", map[string]any{"StandardConfigurations": configurations})
}

// sampleStore is one sync's declarations: an activation of a passcode configuration, the
// software-update settings (which user enrollment forbids) and a status subscription, an
// unreferenced asset and the organization's information.
func sampleStore(dev Device) *State {
	var s State
	s.Apply(decl("com.apple.activation.simple", "act.base", "a1", map[string]any{"StandardConfigurations": []any{"cfg.passcode", "cfg.swupdate", "cfg.status"}}), dev)
	s.Apply(subscription("cfg.status", sampleSubscriptions...), dev)
	s.Apply(decl("com.apple.configuration.passcode.settings", "cfg.passcode", "p1", map[string]any{"RequirePasscode": true}), dev)
	s.Apply(decl("com.apple.configuration.softwareupdate.settings", "cfg.swupdate", "u1", nil), dev)
	s.Apply(decl("com.apple.asset.data", "asset.spare", "d1", nil), dev)
	s.Apply(decl("com.apple.management.organization-info", "mgmt.org", "o1", nil), dev)
	return &s
}

func TestStatusReportGolden(t *testing.T) {
	for _, c := range []struct {
		file string
		dev  Device
	}{
		{"status-iphone-18.2-user-enrollment.json", iPhoneUE},
		{"status-iphone-18.2-device-enrollment.json", iPhoneDE},
		{"status-mac-15.2-device-enrollment.json", macDE},
	} {
		t.Run(c.file, func(t *testing.T) {
			out, err := sampleStore(c.dev).StatusReport(c.dev, true)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", c.file)
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("%s differs from the report:\n%s", path, pretty.Bytes())
			}
		})
	}
}

// TestStatusReportFacts pins what the goldens must show, so an -update cannot bless a wrong one.
func TestStatusReportFacts(t *testing.T) {
	ue, _ := sampleStore(iPhoneUE).StatusReport(iPhoneUE, true)
	mac, _ := sampleStore(macDE).StatusReport(macDE, true)
	var r struct {
		StatusItems map[string]any
		Errors      []any
		FullReport  *bool
	}
	if err := json.Unmarshal(ue, &r); err != nil || r.Errors == nil || r.FullReport == nil || !*r.FullReport {
		t.Fatalf("iPhone report: %v %s", err, ue)
	}
	if _, ok := r.StatusItems["device"].(map[string]any)["identifier"]; ok {
		t.Error("a user-enrolled iPhone reports device.identifier (Apple: supervised, device, local only)")
	}
	for _, want := range []string{`"server-token":"u1","valid":"invalid"`, `"code":"Error.ConfigurationNotSupported"`, `"family":"iOS"`, `"version":"18.2"`, `"build-version":"22C152"`, `"com.apple.configuration.passcode.settings"`} {
		if !strings.Contains(string(ue), want) {
			t.Errorf("iPhone report lacks %s", want)
		}
	}
	for _, bad := range []string{`"com.apple.configuration.softwareupdate.settings"`, `"softwareupdate.`, `"softwareupdate":`, `"udid"`, `"serial-number"`} {
		if strings.Contains(string(ue), bad) {
			t.Errorf("iPhone user enrollment reports %s", bad)
		}
	}
	for _, want := range []string{`"udid":"0000FE00-1A2B3C4D5E6F7081"`, `"family":"macOS"`, `"com.apple.configuration.softwareupdate.settings"`, `"identifier":"cfg.swupdate","server-token":"u1","valid":"valid"`,
		`"identifier":"cfg.status","server-token":"cfg.status-t","valid":"valid"`, `"install-state":"none"`, `"beta-enrollment":""`} {
		if !strings.Contains(string(mac), want) {
			t.Errorf("Mac report lacks %s", want)
		}
	}
	// Not subscribed, or no value known, or no such item: never reported, and no error.
	for _, bad := range []string{`"marketing-name":"`, `"battery-health"`, `"no-such-item"`, `"device-id"`} {
		if strings.Contains(string(ue), bad) || strings.Contains(string(mac), bad) {
			t.Errorf("a report has %s", bad)
		}
	}
}

// reportedItems is the status items a report carries, by name, and its Errors.
func reportedItems(t *testing.T, report []byte) (names []string, errs []any) {
	t.Helper()
	var r struct {
		StatusItems map[string]any
		Errors      []any
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatalf("report %s: %v", report, err)
	}
	names = []string{}
	for name := range statusItems {
		var v any = r.StatusItems
		for _, part := range strings.Split(name, ".") {
			m, _ := v.(map[string]any)
			v = m[part]
		}
		if v != nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, r.Errors
}

var softwareUpdateItems = []string{"softwareupdate.beta-enrollment", "softwareupdate.failure-reason", "softwareupdate.install-reason",
	"softwareupdate.install-state", "softwareupdate.pending-version"}

func TestStatusSubscriptions(t *testing.T) {
	const caps = "management.client-capabilities"
	on := func(d Device, os string) Device { d.OSVersion = os; return d }
	swSubscribed := []Declaration{activation("act", "subs"), subscription("subs", append([]string{"softwareupdate.device-id"}, softwareUpdateItems...)...)}
	for _, c := range []struct {
		name  string
		dev   Device
		decls []Declaration
		want  []string // besides management.client-capabilities
	}{
		{"no subscription, empty store", iPhoneDE, nil, nil},
		{"no subscription", iPhoneDE, []Declaration{activation("act", "pass"), decl("com.apple.configuration.passcode.settings", "pass", "p1", nil)}, nil},
		{"subscribed", iPhoneDE, []Declaration{activation("act", "subs"),
			subscription("subs", "device.model.family", "device.operating-system.version", "management.declarations")},
			[]string{"device.model.family", "device.operating-system.version", "management.declarations"}},
		{"not referenced by an activation", iPhoneDE, []Declaration{subscription("subs", "device.model.family")}, nil},
		{"its activation failed", iPhoneDE, []Declaration{activation("act", "subs", "gone"), subscription("subs", "device.model.family")}, nil},
		{"invalid payload", iPhoneDE, []Declaration{activation("act", "subs"),
			decl(typeStatusSubscriptions, "subs", "s1", map[string]any{"StatusItems": []any{"device.model.family"}})}, nil},
		{"union of two", macDE, []Declaration{activation("act", "a"), activation("act2", "b"),
			subscription("a", "device.model.family"), subscription("b", "device.model.family", "device.operating-system.family")},
			[]string{"device.model.family", "device.operating-system.family"}},
		{"lacked or unknown names are left out", iPhoneUE, []Declaration{activation("act", "subs"),
			subscription("subs", "device.identifier.udid", "device.power.battery-health", "softwareupdate.install-state", "no.such.item", "device.model.family")},
			[]string{"device.model.family"}},
		{"software update, iPhone 18.2 device enrollment", iPhoneDE, swSubscribed, softwareUpdateItems},
		{"software update, iPhone 18.2 user enrollment", iPhoneUE, swSubscribed, nil},
		{"software update, Mac 15.2 device enrollment", macDE, swSubscribed, softwareUpdateItems},
		{"software update, iPhone 17.2 (no beta-enrollment before 18.0)", on(iPhoneDE, "17.2"), swSubscribed, softwareUpdateItems[1:]},
		{"software update, Mac 14.6 (no beta-enrollment before 15.0)", on(macDE, "14.6"), swSubscribed, softwareUpdateItems[1:]},
		{"software update, iPhone 16.4 (introduced 17.0)", on(iPhoneDE, "16.4"), swSubscribed, nil},
		{"software update, Vision Pro", visionDE, swSubscribed, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s State
			for _, d := range c.decls {
				s.Apply(d, c.dev)
			}
			out, err := s.StatusReport(c.dev, true)
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{caps}, c.want...)
			sort.Strings(want)
			got, errs := reportedItems(t, out)
			if !reflect.DeepEqual(got, want) || len(errs) != 0 {
				t.Fatalf("reported %v (errors %v), want %v:\n%s", got, errs, want, out)
			}
			if sub := s.Subscribed(); !sort.StringsAreSorted(sub) || !slices.Contains(sub, caps) {
				t.Fatalf("Subscribed() = %v", sub)
			}
		})
	}
}

// TestSoftwareUpdateValues: an up-to-date device with no update pending (Apple's status schema
// for each item).
func TestSoftwareUpdateValues(t *testing.T) {
	const want = `{"beta-enrollment":"","failure-reason":{"count":0},"install-reason":{"reason":[]},"install-state":"none","pending-version":{"build-version":"","os-version":""}}`
	for _, dev := range []Device{iPhoneDE, macDE} {
		var s State
		s.Apply(activation("act", "subs"), dev)
		s.Apply(subscription("subs", softwareUpdateItems...), dev)
		out, _ := s.StatusReport(dev, true)
		var r struct{ StatusItems map[string]json.RawMessage }
		if err := json.Unmarshal(out, &r); err != nil || string(r.StatusItems["softwareupdate"]) != want {
			t.Errorf("%s: softwareupdate %s (%v), want %s", dev.Family, r.StatusItems["softwareupdate"], err, want)
		}
	}
}

func TestSubscribed(t *testing.T) {
	var s State
	if got := s.Subscribed(); !reflect.DeepEqual(got, []string{"management.client-capabilities"}) {
		t.Fatalf("empty store: %v", got)
	}
	s.Apply(activation("act", "a", "b"), macDE)
	s.Apply(subscription("a", "device.model.family", "no.such.item"), macDE)
	s.Apply(subscription("b", "device.model.family", "management.client-capabilities"), macDE)
	want := []string{"device.model.family", "management.client-capabilities", "no.such.item"}
	if got := s.Subscribed(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Subscribed() = %v, want %v", got, want)
	}
}

// TestSubscriptionPayload: a status subscription Apple's schema rejects is invalid, and
// subscribes nothing.
func TestSubscriptionPayload(t *testing.T) {
	for _, c := range []struct {
		payload map[string]any
		why     string
	}{
		{map[string]any{}, "Payload.StatusItems is missing"},
		{map[string]any{"StatusItems": map[string]any{"Name": "x"}}, "Payload.StatusItems is an object, not an array"},
		{map[string]any{"StatusItems": []any{"device.model.family"}}, "Payload.StatusItems[0] is a string, not an object"},
		{map[string]any{"StatusItems": []any{map[string]any{}}}, "Payload.StatusItems[0].Name is missing"},
		{map[string]any{"StatusItems": []any{map[string]any{"Name": "a"}, map[string]any{"Name": 3.0}}}, "Payload.StatusItems[1].Name is a number, not a string"},
	} {
		var s State
		s.Apply(activation("act", "subs"), iPhoneDE)
		r := s.Apply(decl(typeStatusSubscriptions, "subs", "s1", c.payload), iPhoneDE)
		if r.Valid != ValidInvalid || r.Active || len(r.Reasons) != 1 || r.Reasons[0].Code != ReasonConfigurationCannotBeDeserialized ||
			r.Reasons[0].Details["Error"] != c.why {
			t.Errorf("%v: %+v, want %s", c.payload, r, c.why)
		}
		if got := s.Subscribed(); len(got) != 1 {
			t.Errorf("%v: Subscribed() = %v", c.payload, got)
		}
	}
	var s State
	s.Apply(activation("act", "subs"), iPhoneDE)
	if r := s.Apply(subscription("subs"), iPhoneDE); r.Valid != ValidValid || !r.Active {
		t.Fatalf("an empty StatusItems: %+v", r)
	}
}

func TestStatusReportIncremental(t *testing.T) {
	s := sampleStore(macDE)
	if _, err := s.StatusReport(macDE, true); err != nil {
		t.Fatal(err)
	}
	out, _ := s.StatusReport(macDE, false)
	if string(out) != `{"Errors":[],"FullReport":false,"StatusItems":{}}` {
		t.Fatalf("nothing changed, report %s", out)
	}
	s.Apply(decl("com.apple.configuration.passcode.settings", "cfg.passcode", "p2", nil), macDE)
	out, _ = s.StatusReport(macDE, false)
	if !strings.Contains(string(out), `"server-token":"p2"`) || strings.Contains(string(out), `"u1"`) || strings.Contains(string(out), `"device"`) {
		t.Fatalf("one declaration changed, report %s", out)
	}
	// iOS 16 has no FullReport key (Apple: iOS 17).
	old := iPhoneDE
	old.OSVersion = "16.4"
	out, _ = new(State).StatusReport(old, true)
	if strings.Contains(string(out), "FullReport") {
		t.Fatalf("iOS 16 report has FullReport: %s", out)
	}
}

// declarationEntries is the management.declarations entries a report carries, as
// "list/identifier", sorted; ok says whether it carries the item at all.
func declarationEntries(t *testing.T, report []byte) (entries []string, ok bool) {
	t.Helper()
	var r struct {
		StatusItems struct {
			Management struct {
				Declarations map[string][]struct{ Identifier string } `json:"declarations"`
			} `json:"management"`
		}
	}
	if err := json.Unmarshal(report, &r); err != nil {
		t.Fatalf("report %s: %v", report, err)
	}
	entries = []string{}
	for list, es := range r.StatusItems.Management.Declarations {
		for _, e := range es {
			entries = append(entries, list+"/"+e.Identifier)
		}
	}
	sort.Strings(entries)
	return entries, r.StatusItems.Management.Declarations != nil
}

// TestStatusReportRemoved: Apple's management.declarations has no removal marker, so after a
// removal the next incremental report sends the lists whole.
func TestStatusReportRemoved(t *testing.T) {
	s := sampleStore(macDE)
	s.StatusReport(macDE, true)
	all := []string{"activations/act.base", "assets/asset.spare", "configurations/cfg.passcode", "configurations/cfg.status", "configurations/cfg.swupdate"}
	steps := []struct {
		name string
		do   func()
		want []string // nil: management.declarations not in the report
	}{
		{"nothing changed", func() {}, nil},
		{"removing what is not stored", func() { s.Remove("no.such") }, nil},
		{"removed (Plan or a 404)", func() { s.Remove("mgmt.org") }, all},
		{"once only", func() {}, nil},
		{"the same declaration again is new", func() {
			s.Apply(decl("com.apple.management.organization-info", "mgmt.org", "o1", nil), macDE)
		}, []string{"management/mgmt.org"}},
		{"moved to another kind", func() {
			s.Apply(decl("com.apple.configuration.management.test", "asset.spare", "d2", nil), macDE)
		}, []string{"activations/act.base", "configurations/asset.spare", "configurations/cfg.passcode", "configurations/cfg.status", "configurations/cfg.swupdate", "management/mgmt.org"}},
		{"two removed", func() { s.Remove("mgmt.org", "asset.spare") }, append(all[:1:1], all[2:]...)},
	}
	for _, st := range steps {
		st.do()
		out, err := s.StatusReport(macDE, false)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := declarationEntries(t, out)
		if (st.want == nil) != !ok || (ok && !reflect.DeepEqual(got, st.want)) {
			t.Fatalf("%s: report %s\nentries %v, want %v", st.name, out, got, st.want)
		}
	}
	// Once the subscription is gone, management.declarations is no longer reported at all.
	s.Remove("cfg.status")
	out, _ := s.StatusReport(macDE, false)
	if _, ok := declarationEntries(t, out); ok || strings.Contains(string(out), `"device"`) {
		t.Fatalf("unsubscribed, report %s", out)
	}
}
