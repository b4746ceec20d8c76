package ddm

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the status report goldens under testdata/")

// sampleStore is one sync's declarations: an activation of a passcode configuration and the
// software-update settings (which user enrollment forbids), an unreferenced asset and the
// organization's information.
func sampleStore(dev Device) *State {
	var s State
	s.Apply(decl("com.apple.activation.simple", "act.base", "a1", map[string]any{"StandardConfigurations": []any{"cfg.passcode", "cfg.swupdate"}}), dev)
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
	for _, bad := range []string{`"com.apple.configuration.softwareupdate.settings"`, `"softwareupdate.`, `"udid"`, `"serial-number"`} {
		if strings.Contains(string(ue), bad) {
			t.Errorf("iPhone user enrollment reports %s", bad)
		}
	}
	for _, want := range []string{`"udid":"0000FE00-1A2B3C4D5E6F7081"`, `"family":"macOS"`, `"com.apple.configuration.softwareupdate.settings"`, `"identifier":"cfg.swupdate","server-token":"u1","valid":"valid"`} {
		if !strings.Contains(string(mac), want) {
			t.Errorf("Mac report lacks %s", want)
		}
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
