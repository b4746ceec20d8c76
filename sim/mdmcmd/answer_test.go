package mdmcmd

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"howett.net/plist"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// devices are one catalogue device per family (sim/device.go).
var devices = []Device{
	{Family: "iPhone", Product: "iPhone17,3", OSVersion: "18.2", BuildVersion: "22C152", DeviceName: "Ana’s iPhone"},
	{Family: "iPad", Product: "iPad16,3", OSVersion: "18.2", BuildVersion: "22C152", DeviceName: "Ana’s iPad"},
	{Family: "Mac", Product: "Mac16,1", OSVersion: "15.2", BuildVersion: "24C101", DeviceName: "Ana’s MacBook Pro"},
	{Family: "RealityDevice", Product: "RealityDevice14,1", OSVersion: "2.2", BuildVersion: "22N842", DeviceName: "Ana’s Apple Vision Pro"},
}

func device(t testing.TB, base Device, ue bool) Device {
	t.Helper()
	der, err := os.ReadFile("testdata/identity.der")
	if err != nil {
		t.Fatal(err)
	}
	d := base
	d.UserEnrollment = ue
	// Identifiers are given in both enrollment types on purpose: a user
	// enrollment must withhold them even when the caller knows them.
	d.UDID = "00008120-001A2C3E0E98201E"
	d.SerialNumber = "F4GTX2Q0NH"
	d.ProfileIdentifiers = []string{"com.acme.mdm.enrollment", "com.acme.wifi"}
	d.IdentityDER = der
	return d
}

func allQueries() []any {
	var keys []string
	for k := range deviceInfoKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return out
}

var commands = []struct {
	name string
	cmd  Command
}{
	{"DeviceInformation-all", Command{UUID: "u1", RequestType: "DeviceInformation", Body: map[string]any{"RequestType": "DeviceInformation", "Queries": allQueries()}}},
	{"DeviceInformation-default", Command{UUID: "u2", RequestType: "DeviceInformation", Body: map[string]any{"RequestType": "DeviceInformation"}}},
	{"ProfileList", Command{UUID: "u3", RequestType: "ProfileList", Body: map[string]any{"RequestType": "ProfileList"}}},
	{"InstalledApplicationList", Command{UUID: "u4", RequestType: "InstalledApplicationList", Body: map[string]any{"RequestType": "InstalledApplicationList"}}},
	{"SecurityInfo", Command{UUID: "u5", RequestType: "SecurityInfo", Body: map[string]any{"RequestType": "SecurityInfo"}}},
	{"CertificateList", Command{UUID: "u6", RequestType: "CertificateList", Body: map[string]any{"RequestType": "CertificateList"}}},
	{"EraseDevice", Command{UUID: "u7", RequestType: "EraseDevice", Body: map[string]any{"RequestType": "EraseDevice", "PIN": "123456"}}},
	{"DeviceLock", Command{UUID: "u8", RequestType: "DeviceLock", Body: map[string]any{"RequestType": "DeviceLock"}}},
	{"ScheduleOSUpdate", Command{UUID: "u9", RequestType: "ScheduleOSUpdate", Body: map[string]any{"RequestType": "ScheduleOSUpdate"}}},
}

func enrollment(ue bool) string {
	if ue {
		return "byod"
	}
	return "adde"
}

// TestAnswerGolden pins every answer, command × family × enrollment type,
// as the XML plist the caller sends (less the identifiers it adds).
func TestAnswerGolden(t *testing.T) {
	for _, c := range commands {
		for _, base := range devices {
			for _, ue := range []bool{false, true} {
				name := c.name + "-" + base.Family + "-" + enrollment(ue)
				t.Run(name, func(t *testing.T) { checkGolden(t, name, c.cmd, device(t, base, ue)) })
			}
		}
	}
}

// devices27 are the 27.0 catalogue devices (sim/device.go).
var devices27 = []Device{
	{Family: "iPhone", Product: "iPhone18,1", OSVersion: "27.0", BuildVersion: "24A437", DeviceName: "Ana’s iPhone"},
	{Family: "iPad", Product: "iPad17,1", OSVersion: "27.0", BuildVersion: "24A437", DeviceName: "Ana’s iPad"},
	{Family: "Mac", Product: "Mac17,2", OSVersion: "27.0", BuildVersion: "26A425", DeviceName: "Ana’s MacBook Pro"},
	{Family: "RealityDevice", Product: "RealityDevice17,1", OSVersion: "27.0", BuildVersion: "24M5355a", DeviceName: "Ana’s Apple Vision Pro"},
}

// devices26 are the 26.1 catalogue devices, the last before the removals.
var devices26 = []Device{
	{Family: "iPhone", Product: "iPhone17,2", OSVersion: "26.1", BuildVersion: "23B85", DeviceName: "Ana’s iPhone"},
	{Family: "iPad", Product: "iPad16,1", OSVersion: "26.1", BuildVersion: "23B85", DeviceName: "Ana’s iPad"},
	{Family: "Mac", Product: "Mac16,12", OSVersion: "26.1", BuildVersion: "25B78", DeviceName: "Ana’s MacBook Air"},
	{Family: "RealityDevice", Product: "RealityDevice17,1", OSVersion: "26.1", BuildVersion: "23N49", DeviceName: "Ana’s Apple Vision Pro"},
}

// removedIn27 are the commands and queries the 27.0 schema removes
// (CHANGES.md at the lifecycle commit), and a query that mixes removed
// keys with kept ones.
var removedIn27 = []struct {
	name string
	cmd  Command
}{
	{"ScheduleOSUpdate", Command{UUID: "r1", RequestType: "ScheduleOSUpdate", Body: map[string]any{"RequestType": "ScheduleOSUpdate"}}},
	{"ScheduleOSUpdateScan", Command{UUID: "r2", RequestType: "ScheduleOSUpdateScan", Body: map[string]any{"RequestType": "ScheduleOSUpdateScan"}}},
	{"OSUpdateStatus", Command{UUID: "r3", RequestType: "OSUpdateStatus", Body: map[string]any{"RequestType": "OSUpdateStatus"}}},
	{"AvailableOSUpdates", Command{UUID: "r4", RequestType: "AvailableOSUpdates", Body: map[string]any{"RequestType": "AvailableOSUpdates"}}},
	{"DeviceInformation-removed", Command{UUID: "r5", RequestType: "DeviceInformation", Body: map[string]any{"RequestType": "DeviceInformation", "Queries": []any{
		"DeviceName", "OSVersion", "BuildVersion", "ProductName", "OSUpdateSettings", "SoftwareUpdateDeviceID", "SoftwareUpdateSettings"}}}},
}

// TestAnswerGolden27 pins the answers of the 27.0 devices to what the 27.0
// schema removes, command × family × enrollment type.
func TestAnswerGolden27(t *testing.T) {
	for _, c := range removedIn27 {
		for _, base := range devices27 {
			for _, ue := range []bool{false, true} {
				name := c.name + "-" + base.Family + "-27.0-" + enrollment(ue)
				t.Run(name, func(t *testing.T) { checkGolden(t, name, c.cmd, device(t, base, ue)) })
			}
		}
	}
}

// checkGolden compares the answer of d to cmd, as an XML plist, with
// testdata/answers/<name>.plist (written with -update).
func checkGolden(t *testing.T, name string, cmd Command, d Device) {
	t.Helper()
	got, err := plist.MarshalIndent(Answer(cmd, d), plist.XMLFormat, "\t")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := plist.MarshalIndent(Answer(cmd, d), plist.XMLFormat, "\t")
	if !bytes.Equal(got, again) {
		t.Fatal("two answers to the same command differ: answers must be deterministic")
	}
	path := filepath.Join("testdata", "answers", name+".plist")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v\n(run go test ./sim/mdmcmd -run 'TestAnswerGolden' -update to write it)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("answer differs from %s:\n%s", path, got)
	}
}

// ueWithheldIOS is the list of DeviceInformation identifiers that
// information.device.yaml marks userenrollment forbidden on iOS, written out
// by hand from the yaml so that a regenerated table that loses one fails.
var ueWithheldIOS = []string{
	"UDID", "SerialNumber", "IMEI", "MEID", "ICCID", "WiFiMAC", "BluetoothMAC",
	"ModemFirmwareVersion", "PhoneNumber", "CurrentCarrierNetwork", "SIMCarrierNetwork",
	"SubscriberCarrierNetwork", "CarrierSettingsVersion", "SubscriberMCC", "SubscriberMNC",
	"CurrentMCC", "CurrentMNC", "LastCloudBackupDate", "IsActivationLockEnabled",
	"IsCloudBackupEnabled", "iTunesStoreAccountHash", "iTunesStoreAccountIsActive",
	"IsDoNotDisturbInEffect", "AwaitingConfiguration", "PushToken", "SoftwareUpdateDeviceID",
	"IsRoaming", "DataRoamingEnabled", "VoiceRoamingEnabled", "PersonalHotspotEnabled",
	"IsMDMLostModeEnabled",
}

func TestUserEnrollmentWithholdsIdentifiers(t *testing.T) {
	cmd := commands[0].cmd
	for _, base := range devices {
		t.Run(base.Family, func(t *testing.T) {
			ue := Answer(cmd, device(t, base, true))["QueryResponses"].(map[string]any)
			adde := Answer(cmd, device(t, base, false))["QueryResponses"].(map[string]any)
			for _, k := range []string{"UDID", "SerialNumber", "IMEI", "MEID", "WiFiMAC", "BluetoothMAC", "EthernetMAC", "ICCID", "SoftwareUpdateDeviceID", "ProvisioningUDID"} {
				if _, ok := ue[k]; ok {
					t.Errorf("user enrollment answered %s", k)
				}
			}
			for _, k := range []string{"UDID", "SerialNumber", "WiFiMAC", "BluetoothMAC", "DeviceName", "OSVersion", "BuildVersion", "ProductName"} {
				if _, ok := adde[k]; !ok {
					t.Errorf("device enrollment did not answer %s", k)
				}
			}
			for _, k := range []string{"DeviceName", "OSVersion", "BuildVersion", "ProductName", "ModelName"} {
				if ue[k] != adde[k] {
					t.Errorf("%s: user enrollment %v, device enrollment %v", k, ue[k], adde[k])
				}
			}
			if base.Family == "iPhone" {
				if _, ok := adde["IMEI"]; !ok {
					t.Error("an iPhone in device enrollment did not answer IMEI")
				}
			} else if _, ok := adde["IMEI"]; ok {
				t.Errorf("a %s answered IMEI", base.Family)
			}
		})
	}
	for _, k := range ueWithheldIOS {
		if ks, ok := deviceInfoKeys[k]; !ok || !ks[platformIOS].UEForbidden {
			t.Errorf("%s is not marked userenrollment forbidden on iOS in the table", k)
		}
	}
}

func TestWithheld(t *testing.T) {
	di := func(q ...any) Command {
		return Command{RequestType: "DeviceInformation", Body: map[string]any{"Queries": q}}
	}
	iphone := device(t, devices[0], true)
	mac := device(t, devices[2], true)
	tests := []struct {
		name string
		cmd  Command
		ue   bool
		want []string
		on   Device
		onW  []string
	}{
		{"serial and udid", di("SerialNumber", "DeviceName", "UDID", "UDID"), true, []string{"SerialNumber", "UDID"}, iphone, []string{"SerialNumber", "UDID"}},
		{"device enrollment withholds nothing", di("SerialNumber", "UDID"), false, nil, device(t, devices[0], false), nil},
		{"allowed keys only", di("DeviceName", "OSVersion", "ProductName"), true, nil, iphone, nil},
		{"push token: iOS withholds, macOS does not", di("PushToken"), true, nil, iphone, []string{"PushToken"}},
		{"push token on a Mac", di("PushToken"), true, nil, mac, nil},
		{"ethernet MAC exists only on macOS, withheld there", di("EthernetMAC", "IMEI"), true, []string{"EthernetMAC", "IMEI"}, mac, []string{"EthernetMAC"}},
		{"unknown and non-string queries", di("NoSuchKey", 7, true), true, nil, iphone, nil},
		{"other command", Command{RequestType: "ProfileList", Body: map[string]any{"Queries": []any{"UDID"}}}, true, nil, iphone, nil},
		{"queries not an array", Command{RequestType: "DeviceInformation", Body: map[string]any{"Queries": "UDID"}}, true, nil, iphone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Withheld(tc.cmd, tc.ue); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Withheld = %v, want %v", got, tc.want)
			}
			if got := WithheldOn(tc.cmd, tc.on); !reflect.DeepEqual(got, tc.onW) {
				t.Errorf("WithheldOn = %v, want %v", got, tc.onW)
			}
		})
	}
}

func TestAnswerRules(t *testing.T) {
	iphone, mac, vision := devices[0], devices[2], devices[3]
	tests := []struct {
		name   string
		cmd    Command
		d      Device
		status string
		check  func(t *testing.T, a map[string]any)
	}{
		{"mac user enrollment refuses InstalledApplicationList", commands[3].cmd, device(t, mac, true), "Error", errorIn(DeviceErrorDomain)},
		{"iphone user enrollment lists no apps", commands[3].cmd, device(t, iphone, true), "Acknowledged", listLen("InstalledApplicationList", 0)},
		{"iphone device enrollment lists apps", commands[3].cmd, device(t, iphone, false), "Acknowledged", listLen("InstalledApplicationList", 3)},
		{"managed apps only", cmdWith("InstalledApplicationList", "ManagedAppsOnly", true), device(t, mac, false), "Acknowledged", listLen("InstalledApplicationList", 0)},
		{"identifiers narrow", cmdWith("InstalledApplicationList", "Identifiers", []any{"com.apple.Pages", "com.example.none"}), device(t, iphone, false), "Acknowledged", listLen("InstalledApplicationList", 1)},
		{"items narrow keys", cmdWith("InstalledApplicationList", "Items", []any{"Name"}), device(t, iphone, false), "Acknowledged", func(t *testing.T, a map[string]any) {
			item := a["InstalledApplicationList"].([]any)[0].(map[string]any)
			if len(item) != 2 || item["Identifier"] == nil || item["Name"] == nil {
				t.Errorf("item = %v, want Identifier and Name only", item)
			}
		}},
		{"identifiers of the wrong type", cmdWith("InstalledApplicationList", "Identifiers", "com.apple.Pages"), device(t, iphone, false), "CommandFormatError", nil},
		{"queries of the wrong type", cmdWith("DeviceInformation", "Queries", map[string]any{}), device(t, iphone, false), "CommandFormatError", nil},
		{"managed only of the wrong type", cmdWith("ProfileList", "ManagedOnly", "yes"), device(t, iphone, false), "CommandFormatError", nil},
		{"erase refused in user enrollment", commands[6].cmd, device(t, vision, true), "Error", errorIn(DeviceErrorDomain)},
		{"erase not simulated in device enrollment", commands[6].cmd, device(t, vision, false), "Error", errorIn(SimulatorErrorDomain)},
		{"device lock allowed on iOS user enrollment, not simulated", commands[7].cmd, device(t, iphone, true), "Error", errorIn(SimulatorErrorDomain)},
		{"device lock refused on a Mac user enrollment", commands[7].cmd, device(t, mac, true), "Error", errorIn(DeviceErrorDomain)},
		{"unknown command", Command{RequestType: "NoSuchCommand", Body: map[string]any{}}, device(t, iphone, true), "Error", errorIn(SimulatorErrorDomain)},
		{"profile list in user enrollment", commands[2].cmd, device(t, iphone, true), "Acknowledged", listLen("ProfileList", 2)},
		{"no identity, no certificate", commands[5].cmd, Device{Family: "iPhone", OSVersion: "18.2"}, "Acknowledged", listLen("CertificateList", 0)},
		{"identity certificate", commands[5].cmd, device(t, mac, true), "Acknowledged", func(t *testing.T, a map[string]any) {
			item := a["CertificateList"].([]any)[0].(map[string]any)
			if item["CommonName"] != "enrollsim-device-identity" || item["IsIdentity"] != true || len(item["Data"].([]byte)) == 0 {
				t.Errorf("item = %v", item)
			}
		}},
		{"security info in user enrollment drops PasscodePresent", commands[4].cmd, device(t, iphone, true), "Acknowledged", func(t *testing.T, a map[string]any) {
			s := a["SecurityInfo"].(map[string]any)
			if _, ok := s["PasscodePresent"]; ok {
				t.Error("PasscodePresent answered in a user enrollment")
			}
			if s["HardwareEncryptionCaps"] != 3 {
				t.Errorf("HardwareEncryptionCaps = %v", s["HardwareEncryptionCaps"])
			}
		}},
		{"mac security info in user enrollment drops recovery keys", commands[4].cmd, device(t, mac, true), "Acknowledged", func(t *testing.T, a map[string]any) {
			s := a["SecurityInfo"].(map[string]any)
			for _, k := range []string{"FDE_HasPersonalRecoveryKey", "RemoteDesktopEnabled", "IsRecoveryLockEnabled"} {
				if _, ok := s[k]; ok {
					t.Errorf("%s answered in a user enrollment", k)
				}
			}
			if s["FDE_Enabled"] != true || s["SystemIntegrityProtectionEnabled"] != true {
				t.Errorf("SecurityInfo = %v", s)
			}
		}},
		{"old iOS has no keys of newer versions", commands[0].cmd, device(t, Device{Family: "iPhone", Product: "iPhone12,1", OSVersion: "14.8", BuildVersion: "18H17"}, false), "Acknowledged", func(t *testing.T, a map[string]any) {
			q := a["QueryResponses"].(map[string]any)
			for _, k := range []string{"ModelNumber", "SupplementalBuildVersion", "SoftwareUpdateDeviceID"} {
				if _, ok := q[k]; ok {
					t.Errorf("iOS 14.8 answered %s", k)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Answer(tc.cmd, tc.d)
			if a["Status"] != tc.status {
				t.Fatalf("Status = %v, want %s (answer %v)", a["Status"], tc.status, a)
			}
			if a["RequestType"] != tc.cmd.RequestType {
				t.Errorf("RequestType = %v", a["RequestType"])
			}
			for _, k := range []string{"UDID", "EnrollmentID", "CommandUUID"} {
				if _, ok := a[k]; ok {
					t.Errorf("the answer carries %s: the caller adds identifiers", k)
				}
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func cmdWith(rt, key string, v any) Command {
	return Command{UUID: "x", RequestType: rt, Body: map[string]any{"RequestType": rt, key: v}}
}

func listLen(key string, n int) func(*testing.T, map[string]any) {
	return func(t *testing.T, a map[string]any) {
		if l, ok := a[key].([]any); !ok || len(l) != n {
			t.Errorf("%s = %v, want %d entries", key, a[key], n)
		}
	}
}

func errorIn(domain string) func(*testing.T, map[string]any) {
	return func(t *testing.T, a map[string]any) {
		chain, ok := a["ErrorChain"].([]any)
		if !ok || len(chain) != 1 {
			t.Fatalf("ErrorChain = %v", a["ErrorChain"])
		}
		e := chain[0].(map[string]any)
		if e["ErrorDomain"] != domain {
			t.Errorf("ErrorDomain = %v, want %s", e["ErrorDomain"], domain)
		}
		for _, k := range []string{"ErrorCode", "LocalizedDescription", "USEnglishDescription"} {
			if e[k] == nil {
				t.Errorf("ErrorChain entry has no %s", k)
			}
		}
		if !strings.Contains(e["USEnglishDescription"].(string), a["RequestType"].(string)) {
			t.Errorf("the description %q does not name the command", e["USEnglishDescription"])
		}
	}
}

// TestRemovedCommands: a command the 27.0 schema removes on a platform is
// answered by a 27 device as one it no longer knows (MCMDMErrorDomain
// 12021), while a 26.1 device answers as before: not simulated in a device
// enrollment, refused in a user enrollment. A command the platform never
// had stays "not simulated" on both.
func TestRemovedCommands(t *testing.T) {
	cmd := func(name string) Command {
		for _, c := range removedIn27 {
			if c.name == name {
				return c.cmd
			}
		}
		t.Fatalf("no command %s", name)
		return Command{}
	}
	removed := func(t *testing.T, a map[string]any) {
		errorIn(DeviceErrorDomain)(t, a)
		e := a["ErrorChain"].([]any)[0].(map[string]any)
		if e["ErrorCode"] != CodeRemoved || !strings.Contains(e["USEnglishDescription"].(string), "is not a valid request type for the target OS/device") {
			t.Errorf("ErrorChain = %v, want the removed-command error", e)
		}
	}
	forbidden := func(t *testing.T, a map[string]any) {
		errorIn(DeviceErrorDomain)(t, a)
		e := a["ErrorChain"].([]any)[0].(map[string]any)
		if !strings.Contains(e["USEnglishDescription"].(string), "not allowed for a user enrollment") {
			t.Errorf("ErrorChain = %v, want the user-enrollment refusal", e)
		}
	}
	type want func(*testing.T, map[string]any)
	iphone26, ipad26, mac26, vision26 := devices26[0], devices26[1], devices26[2], devices26[3]
	iphone27, ipad27, mac27, vision27 := devices27[0], devices27[1], devices27[2], devices27[3]
	iphone271 := iphone27
	iphone271.OSVersion = "27.1"
	mac2701 := mac27
	mac2701.OSVersion = "27.0.1"
	iphone2699 := iphone26
	iphone2699.OSVersion = "26.9.9"
	tests := []struct {
		name string
		cmd  string
		d    Device
		ue   bool
		want want
	}{
		{"ScheduleOSUpdate iOS 27", "ScheduleOSUpdate", iphone27, false, removed},
		{"ScheduleOSUpdate iOS 27 user enrollment", "ScheduleOSUpdate", iphone27, true, removed},
		{"ScheduleOSUpdate iOS 26.1", "ScheduleOSUpdate", iphone26, false, errorIn(SimulatorErrorDomain)},
		{"ScheduleOSUpdate iOS 26.1 user enrollment", "ScheduleOSUpdate", iphone26, true, forbidden},
		{"ScheduleOSUpdate iOS 26.9.9", "ScheduleOSUpdate", iphone2699, false, errorIn(SimulatorErrorDomain)},
		{"ScheduleOSUpdate iOS 27.1", "ScheduleOSUpdate", iphone271, false, removed},
		{"ScheduleOSUpdate iPadOS 27", "ScheduleOSUpdate", ipad27, false, removed},
		{"ScheduleOSUpdate iPadOS 26.1", "ScheduleOSUpdate", ipad26, false, errorIn(SimulatorErrorDomain)},
		{"ScheduleOSUpdate macOS 27", "ScheduleOSUpdate", mac27, false, removed},
		{"ScheduleOSUpdate macOS 27.0.1", "ScheduleOSUpdate", mac2701, false, removed},
		{"ScheduleOSUpdate macOS 26.1", "ScheduleOSUpdate", mac26, false, errorIn(SimulatorErrorDomain)},
		{"ScheduleOSUpdate visionOS 27: never had it", "ScheduleOSUpdate", vision27, false, errorIn(SimulatorErrorDomain)},
		{"ScheduleOSUpdateScan macOS 27", "ScheduleOSUpdateScan", mac27, false, removed},
		{"ScheduleOSUpdateScan macOS 26.1 user enrollment", "ScheduleOSUpdateScan", mac26, true, forbidden},
		{"ScheduleOSUpdateScan iOS 27: never had it", "ScheduleOSUpdateScan", iphone27, false, errorIn(SimulatorErrorDomain)},
		{"OSUpdateStatus iOS 27", "OSUpdateStatus", iphone27, false, removed},
		{"OSUpdateStatus iOS 26.1", "OSUpdateStatus", iphone26, false, errorIn(SimulatorErrorDomain)},
		{"OSUpdateStatus macOS 27 user enrollment", "OSUpdateStatus", mac27, true, removed},
		{"OSUpdateStatus macOS 26.1", "OSUpdateStatus", mac26, false, errorIn(SimulatorErrorDomain)},
		{"OSUpdateStatus visionOS 26.1: never had it", "OSUpdateStatus", vision26, false, errorIn(SimulatorErrorDomain)},
		{"AvailableOSUpdates iPadOS 27", "AvailableOSUpdates", ipad27, false, removed},
		{"AvailableOSUpdates iPadOS 26.1 user enrollment", "AvailableOSUpdates", ipad26, true, forbidden},
		{"AvailableOSUpdates macOS 27", "AvailableOSUpdates", mac27, false, removed},
		{"AvailableOSUpdates macOS 26.1", "AvailableOSUpdates", mac26, false, errorIn(SimulatorErrorDomain)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Answer(cmd(tc.cmd), device(t, tc.d, tc.ue))
			if a["Status"] != "Error" || a["RequestType"] != tc.cmd {
				t.Fatalf("Status = %v, RequestType = %v, want Error for %s", a["Status"], a["RequestType"], tc.cmd)
			}
			tc.want(t, a)
		})
	}
}

// TestRemovedQueries: a DeviceInformation query key removed in the
// device's version is left out of QueryResponses and the answer stays
// Acknowledged; a device before the removal answers it.
func TestRemovedQueries(t *testing.T) {
	di := Command{RequestType: "DeviceInformation", Body: map[string]any{"Queries": []any{
		"DeviceName", "OSVersion", "IMEI", "MEID", "OSUpdateSettings", "SoftwareUpdateDeviceID", "SoftwareUpdateSettings"}}}
	iphone18 := devices[0]
	tests := []struct {
		name        string
		d           Device
		has, hasNot []string
	}{
		{"iOS 18.2 answers the carrier keys and the update settings", iphone18, []string{"IMEI", "MEID", "SoftwareUpdateSettings"}, []string{"OSUpdateSettings"}},
		{"iOS 26.1 answers the update settings, not the carrier keys removed in 26.0", devices26[0], []string{"SoftwareUpdateSettings"}, []string{"IMEI", "MEID", "OSUpdateSettings"}},
		{"iOS 27 drops the update settings", devices27[0], nil, []string{"IMEI", "MEID", "SoftwareUpdateSettings", "OSUpdateSettings"}},
		{"iPadOS 26.1 answers the update settings", devices26[1], []string{"SoftwareUpdateSettings"}, []string{"IMEI"}},
		{"iPadOS 27 drops them", devices27[1], nil, []string{"SoftwareUpdateSettings"}},
		{"macOS 26.1 answers OSUpdateSettings", devices26[2], []string{"OSUpdateSettings"}, []string{"SoftwareUpdateSettings"}},
		{"macOS 27 drops it", devices27[2], nil, []string{"OSUpdateSettings"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := Answer(di, device(t, tc.d, false))
			if a["Status"] != "Acknowledged" {
				t.Fatalf("Status = %v, want Acknowledged", a["Status"])
			}
			q := a["QueryResponses"].(map[string]any)
			for _, k := range append([]string{"DeviceName", "OSVersion"}, tc.has...) {
				if _, ok := q[k]; !ok {
					t.Errorf("%s %s did not answer %s", tc.d.Family, tc.d.OSVersion, k)
				}
			}
			for _, k := range tc.hasNot {
				if _, ok := q[k]; ok {
					t.Errorf("%s %s answered %s", tc.d.Family, tc.d.OSVersion, k)
				}
			}
		})
	}
	// SoftwareUpdateDeviceID has no value in the simulator (the board
	// identifier); its removal is checked in the table, on every platform.
	for _, p := range []platform{platformIOS, platformMacOS, platformVisionOS} {
		k := deviceInfoKeys["SoftwareUpdateDeviceID"]
		if !k.has(p, "26.1") || k.has(p, "27.0") || k.has(p, "27.1") {
			t.Errorf("SoftwareUpdateDeviceID on platform %d: has(26.1) = %v, has(27.0) = %v, has(27.1) = %v; want true, false, false",
				p, k.has(p, "26.1"), k.has(p, "27.0"), k.has(p, "27.1"))
		}
	}
}

func TestRemovedBy(t *testing.T) {
	tests := []struct {
		os, removed string
		want        bool
	}{
		{"27.0", "27.0", true},
		{"27", "27.0", true},
		{"27.0.1", "27.0", true},
		{"28.0", "27.0", true},
		{"26.9.9", "27.0", false},
		{"26.1", "27.0", false},
		{"27.0", "", false},
		{"", "27.0", false},
		{"beta", "27.0", false},
	}
	for _, tc := range tests {
		if got := removedBy(tc.os, tc.removed); got != tc.want {
			t.Errorf("removedBy(%q, %q) = %v, want %v", tc.os, tc.removed, got, tc.want)
		}
	}
}
