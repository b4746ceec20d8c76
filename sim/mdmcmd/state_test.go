package mdmcmd

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// payload is one PayloadContent entry with the common keys set.
func payload(typ, id string, extra map[string]any) map[string]any {
	p := map[string]any{"PayloadType": typ, "PayloadIdentifier": id, "PayloadUUID": uuidFrom("payload\x00" + id), "PayloadVersion": 1}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// profileData is an XML profile holding the payloads.
func profileData(t testing.TB, id, name string, uuidSeed string, payloads ...map[string]any) []byte {
	t.Helper()
	content := []any{}
	for _, p := range payloads {
		content = append(content, p)
	}
	b, err := plist.Marshal(map[string]any{
		"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadIdentifier": id,
		"PayloadUUID": uuidFrom("profile\x00" + uuidSeed), "PayloadDisplayName": name,
		"PayloadOrganization": "Acme", "PayloadContent": content,
	}, plist.XMLFormat)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vpnProfile installs a root certificate and a Wi-Fi payload: allowed in
// every enrollment on every platform.
func wifiProfile(t testing.TB, name, seed string) []byte {
	return profileData(t, "com.acme.corp-wifi", name, seed,
		payload("com.apple.security.root", "com.acme.corp-wifi.root", map[string]any{"PayloadContent": readTestdata(t, "root.der"), "PayloadCertificateFileName": "root.cer"}),
		payload("com.apple.security.pkcs12", "com.acme.corp-wifi.identity", map[string]any{"PayloadContent": []byte{0x30, 0x03, 0x02, 0x01, 0x03}, "PayloadCertificateFileName": "wifi-identity.p12", "Password": "secret"}),
		payload("com.apple.wifi.managed", "com.acme.corp-wifi.wifi", map[string]any{"SSID_STR": "Acme", "EncryptionType": "WPA2"}),
	)
}

// cellularProfile holds com.apple.cellular: forbidden in a user enrollment
// on iOS, a payload macOS and visionOS do not have.
func cellularProfile(t testing.TB) []byte {
	return profileData(t, "com.acme.cellular", "Cellular", "cellular",
		payload("com.apple.cellular", "com.acme.cellular.apn", map[string]any{"AttachAPN": map[string]any{"Name": "acme.apn"}}))
}

// filterProfile holds com.apple.webcontent-filter: allowed in a user
// enrollment on iOS and visionOS, forbidden on macOS.
func filterProfile(t testing.TB) []byte {
	return profileData(t, "com.acme.filter", "Content filter", "filter",
		payload("com.apple.webcontent-filter", "com.acme.filter.payload", map[string]any{"FilterType": "Plugin", "UserDefinedName": "Acme"}))
}

func installCmd(uuid string, data any) Command {
	return Command{UUID: uuid, RequestType: "InstallProfile", Body: map[string]any{"RequestType": "InstallProfile", "Payload": data}}
}

func removeCmd(uuid, id string) Command {
	return Command{UUID: uuid, RequestType: "RemoveProfile", Body: map[string]any{"RequestType": "RemoveProfile", "Identifier": id}}
}

func plainCmd(uuid, rt string) Command {
	return Command{UUID: uuid, RequestType: rt, Body: map[string]any{"RequestType": rt}}
}

func installAppCmd(uuid string, keys map[string]any) Command {
	body := map[string]any{"RequestType": "InstallApplication"}
	for k, v := range keys {
		body[k] = v
	}
	return Command{UUID: uuid, RequestType: "InstallApplication", Body: body}
}

// step is one command of a scenario and the Status it must get; unlock
// steps unlock the device instead.
type step struct {
	cmd    Command
	status string
	unlock bool
}

type scenario struct {
	name    string
	devices []Device // base devices (device() adds identifiers)
	ue      []bool
	locked  bool
	steps   func(t testing.TB, d Device) []step
}

func scenarios() []scenario {
	iphone, ipad, mac, vision := devices[0], devices[1], devices[2], devices[3]
	all := []Device{iphone, ipad, mac, vision}
	return []scenario{
		{"install-list", all, []bool{false, true}, false, func(t testing.TB, d Device) []step {
			return []step{
				{cmd: installCmd("s1", wifiProfile(t, "Corp Wi-Fi", "v1")), status: "Acknowledged"},
				{cmd: plainCmd("s2", "ProfileList"), status: "Acknowledged"},
				{cmd: plainCmd("s3", "CertificateList"), status: "Acknowledged"},
			}
		}},
		{"replace", []Device{iphone, mac}, []bool{false}, false, func(t testing.TB, d Device) []step {
			return []step{
				{cmd: installCmd("s1", wifiProfile(t, "Corp Wi-Fi", "v1")), status: "Acknowledged"},
				{cmd: installCmd("s2", profileData(t, "com.acme.corp-wifi", "Corp Wi-Fi 2", "v2",
					payload("com.apple.wifi.managed", "com.acme.corp-wifi.wifi2", map[string]any{"SSID_STR": "Acme2"}))), status: "Acknowledged"},
				{cmd: plainCmd("s3", "ProfileList"), status: "Acknowledged"},
				{cmd: plainCmd("s4", "CertificateList"), status: "Acknowledged"},
			}
		}},
		{"remove-list", []Device{iphone, mac}, []bool{false, true}, false, func(t testing.TB, d Device) []step {
			return []step{
				{cmd: installCmd("s1", wifiProfile(t, "Corp Wi-Fi", "v1")), status: "Acknowledged"},
				{cmd: removeCmd("s2", "com.acme.corp-wifi"), status: "Acknowledged"},
				{cmd: removeCmd("s3", "com.acme.corp-wifi"), status: "Error"},
				{cmd: removeCmd("s4", "com.acme.mdm.enrollment"), status: "Error"},
				{cmd: removeCmd("s5", "com.acme.wifi"), status: "Acknowledged"},
				{cmd: plainCmd("s6", "ProfileList"), status: "Acknowledged"},
				{cmd: plainCmd("s7", "CertificateList"), status: "Acknowledged"},
			}
		}},
		{"ue-payloads", all, []bool{true, false}, false, func(t testing.TB, d Device) []step {
			cell, filter := "Acknowledged", "Acknowledged"
			if d.UserEnrollment && platformOf(d.Family) == platformIOS {
				cell = "Error"
			}
			if d.UserEnrollment && platformOf(d.Family) == platformMacOS {
				filter = "Error"
			}
			return []step{
				{cmd: installCmd("s1", cellularProfile(t)), status: cell},
				{cmd: installCmd("s2", filterProfile(t)), status: filter},
				{cmd: plainCmd("s3", "ProfileList"), status: "Acknowledged"},
			}
		}},
		{"malformed", []Device{iphone}, []bool{false}, false, func(t testing.TB, d Device) []step {
			return []step{
				{cmd: installCmd("s1", []byte("not a profile")), status: "Error"},
				{cmd: installCmd("s2", []byte(`<?xml version="1.0"?><plist version="1.0"><array/></plist>`)), status: "Error"},
				{cmd: installCmd("s3", profileData(t, "", "No identifier", "x")), status: "Error"},
				{cmd: installCmd("s4", "a string"), status: "CommandFormatError"},
				{cmd: plainCmd("s5", "InstallProfile"), status: "CommandFormatError"},
				{cmd: plainCmd("s6", "ProfileList"), status: "Acknowledged"},
			}
		}},
		{"apps", []Device{iphone, mac, vision}, []bool{false, true}, false, func(t testing.TB, d Device) []step {
			return []step{
				{cmd: installAppCmd("s1", map[string]any{"Identifier": "com.acme.notes", "iTunesStoreID": 361309726, "ManagementFlags": 1, "Configuration": map[string]any{"server": "acme"}}), status: "Acknowledged"},
				{cmd: installAppCmd("s2", map[string]any{"iTunesStoreID": 361285480}), status: "Acknowledged"},
				{cmd: plainCmd("s3", "ManagedApplicationList"), status: "Acknowledged"},
				{cmd: plainCmd("s4", "ManagedApplicationList"), status: "Acknowledged"},
				{cmd: installAppCmd("s5", map[string]any{"Identifier": 7}), status: "CommandFormatError"},
				{cmd: installAppCmd("s6", map[string]any{}), status: "CommandFormatError"},
			}
		}},
		{"locked", []Device{iphone, mac, vision}, []bool{false}, true, func(t testing.TB, d Device) []step {
			want := "NotNow"
			if platformOf(d.Family) == platformMacOS {
				want = "Acknowledged"
			}
			return []step{
				{cmd: plainCmd("s1", "CertificateList"), status: want},
				{cmd: installCmd("s2", wifiProfile(t, "Corp Wi-Fi", "v1")), status: want},
				{cmd: plainCmd("s3", "ProfileList"), status: "Acknowledged"},
				{unlock: true},
				{cmd: plainCmd("s1", "CertificateList"), status: "Acknowledged"},
				{cmd: installCmd("s2", wifiProfile(t, "Corp Wi-Fi", "v1")), status: "Acknowledged"},
				{cmd: plainCmd("s4", "ProfileList"), status: "Acknowledged"},
			}
		}},
	}
}

// TestStateGolden plays each scenario's commands, in order, on one State per
// device and enrollment type, checks each answer's Status, and pins each
// answer as testdata/answers/state-<scenario>-<family>-<enrollment>-<n>-<RequestType>.plist.
func TestStateGolden(t *testing.T) {
	for _, sc := range scenarios() {
		for _, base := range sc.devices {
			for _, ue := range sc.ue {
				name := "state-" + sc.name + "-" + base.Family + "-" + enrollment(ue)
				t.Run(name, func(t *testing.T) {
					d := device(t, base, ue)
					s := NewState()
					s.Locked = sc.locked
					for i, st := range sc.steps(t, d) {
						if st.unlock {
							s.Unlock()
							continue
						}
						a := s.Answer(st.cmd, d)
						if a["Status"] != st.status {
							t.Errorf("step %d %s: Status = %v, want %s (answer %v)", i+1, st.cmd.RequestType, a["Status"], st.status, a)
						}
						if a["RequestType"] != st.cmd.RequestType {
							t.Errorf("step %d: RequestType = %v", i+1, a["RequestType"])
						}
						checkGoldenAnswer(t, name+"-"+twoDigits(i+1)+"-"+st.cmd.RequestType, a)
					}
				})
			}
		}
	}
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// checkGoldenAnswer compares a, as an XML plist, with
// testdata/answers/<name>.plist (written with -update).
func checkGoldenAnswer(t *testing.T, name string, a map[string]any) {
	t.Helper()
	got, err := plist.MarshalIndent(a, plist.XMLFormat, "\t")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "answers", name+".plist")
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v\n(run go test ./sim/mdmcmd -run TestStateGolden -update to write it)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("answer differs from %s:\n%s", path, got)
	}
}

// TestPayloadModesFromSchema pins entries of payloadModes written out by
// hand from mdm/profiles, so that a regenerated table that loses one fails,
// and checks the table against sim/profile's own table of the same commit.
func TestPayloadModesFromSchema(t *testing.T) {
	for typ, want := range map[string][3]ueMode{
		"com.apple.cellular":          {modeForbidden, modeUnsupported, modeUnsupported},
		"com.apple.webcontent-filter": {modeAllowed, modeForbidden, modeAllowed},
		"com.apple.vpn.managed":       {modeForbidden, modeForbidden, modeForbidden},
		"com.apple.security.root":     {modeAllowed, modeAllowed, modeAllowed},
		"com.apple.wifi.managed":      {modeAllowed, modeAllowed, modeAllowed},
	} {
		if got := payloadModes[typ]; got != want {
			t.Errorf("payloadModes[%s] = %v, want %v", typ, got, want)
		}
	}
	if payloadModesCommit != schemaCommit {
		t.Errorf("payloadModes is of commit %s, the command tables of %s", payloadModesCommit, schemaCommit)
	}
	if payloadModesCommit != profile.UserEnrollmentSchemaCommit() {
		t.Fatalf("sim/profile's table is of commit %s, mdmcmd's of %s: generate both from one commit of apple/device-management (scripts/gen-mdmcmd-payloads.py)", profile.UserEnrollmentSchemaCommit(), payloadModesCommit)
	}
	names := map[ueMode]string{modeNone: profile.UENone, modeAllowed: profile.UEAllowed, modeForbidden: profile.UEForbidden, modeUnsupported: profile.UEUnsupported}
	for typ, modes := range payloadModes {
		for i, pl := range []string{"iOS", "macOS", "visionOS"} {
			if m, ok := profile.UserEnrollmentMode(typ, pl); !ok || m != names[modes[i]] {
				t.Errorf("%s on %s: mdmcmd says %s, sim/profile %q", typ, pl, names[modes[i]], m)
			}
		}
	}
}

func TestForbiddenPayloads(t *testing.T) {
	both := profileData(t, "com.acme.both", "Both", "both",
		payload("com.apple.cellular", "c", nil), payload("com.apple.webcontent-filter", "f", nil),
		payload("com.apple.vpn.managed", "v1", nil), payload("com.apple.vpn.managed", "v2", nil), payload("com.acme.unknown", "u", nil))
	tests := []struct {
		family string
		want   []string
	}{
		{"iPhone", []string{"com.apple.cellular", "com.apple.vpn.managed"}},
		{"iPad", []string{"com.apple.cellular", "com.apple.vpn.managed"}},
		{"Mac", []string{"com.apple.vpn.managed", "com.apple.webcontent-filter"}},
		{"RealityDevice", []string{"com.apple.vpn.managed"}},
		{"AppleTV", nil},
	}
	for _, tc := range tests {
		got, err := ForbiddenPayloads(both, tc.family)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ForbiddenPayloads = %v, %v; want %v", tc.family, got, err, tc.want)
		}
	}
	if got, err := ForbiddenPayloads(wifiProfile(t, "w", "w"), "iPhone"); err != nil || got != nil {
		t.Errorf("allowed profile: %v, %v", got, err)
	}
	if _, err := ForbiddenPayloads([]byte("no profile"), "iPhone"); err == nil {
		t.Error("no error for a Payload that is no profile")
	}
}

// TestStateRecordsForbiddenPayloads: each refused payload is recorded with
// its command and platform; a device enrollment records nothing.
func TestStateRecordsForbiddenPayloads(t *testing.T) {
	bad := profileData(t, "com.acme.vpn", "VPN", "vpn", payload("com.apple.vpn.managed", "com.acme.vpn.payload", nil),
		payload("com.apple.cellular", "com.acme.vpn.apn", nil), payload("com.apple.wifi.managed", "com.acme.vpn.wifi", nil))
	s := NewState()
	a := s.Answer(installCmd("cmd-1", bad), device(t, devices[0], true))
	if a["Status"] != "Error" {
		t.Fatalf("answer = %v", a)
	}
	want := []ForbiddenPayload{
		{CommandUUID: "cmd-1", PayloadType: "com.apple.vpn.managed", PayloadIdentifier: "com.acme.vpn.payload", Platform: "iOS"},
		{CommandUUID: "cmd-1", PayloadType: "com.apple.cellular", PayloadIdentifier: "com.acme.vpn.apn", Platform: "iOS"},
	}
	if got := s.ForbiddenPayloads(); !reflect.DeepEqual(got, want) {
		t.Errorf("ForbiddenPayloads = %+v, want %+v", got, want)
	}
	if len(s.Profiles()) != 0 {
		t.Errorf("a refused profile was installed: %+v", s.Profiles())
	}
	mac := NewState()
	mac.Answer(installCmd("cmd-2", bad), device(t, devices[2], true))
	if got := mac.ForbiddenPayloads(); len(got) != 1 || got[0].Platform != "macOS" || got[0].PayloadType != "com.apple.vpn.managed" {
		t.Errorf("Mac: ForbiddenPayloads = %+v", got)
	}
	adde := NewState()
	if a := adde.Answer(installCmd("cmd-3", bad), device(t, devices[0], false)); a["Status"] != "Acknowledged" || len(adde.ForbiddenPayloads()) != 0 {
		t.Errorf("device enrollment: %v, %+v", a, adde.ForbiddenPayloads())
	}
}

// signedProfile is data signed into a CMS SignedData message with a fresh
// key, as a server signs its profiles.
func signedProfile(t *testing.T, data []byte) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Acme Profile Signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sd, err := pkcs7.NewSignedData(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	out, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInstallSignedProfile(t *testing.T) {
	s := NewState()
	d := device(t, devices[0], false)
	if a := s.Answer(installCmd("c1", signedProfile(t, wifiProfile(t, "Signed Wi-Fi", "signed"))), d); a["Status"] != "Acknowledged" {
		t.Fatalf("signed profile: %v", a)
	}
	items := s.Answer(plainCmd("c2", "ProfileList"), d)["ProfileList"].([]any)
	last := items[len(items)-1].(map[string]any)
	if last["PayloadIdentifier"] != "com.acme.corp-wifi" || last["PayloadDisplayName"] != "Signed Wi-Fi" {
		t.Errorf("ProfileList item = %v", last)
	}
	if signers, ok := last["SignerCertificates"].([]any); !ok || len(signers) != 1 {
		t.Errorf("SignerCertificates = %v", last["SignerCertificates"])
	}
	certs := s.Answer(plainCmd("c3", "CertificateList"), d)["CertificateList"].([]any)
	var names []string
	for _, c := range certs {
		names = append(names, c.(map[string]any)["CommonName"].(string))
	}
	if want := "enrollsim-device-identity,Acme Test Root CA,wifi-identity.p12"; strings.Join(names, ",") != want {
		t.Errorf("CertificateList names = %v, want %s", names, want)
	}
}

// TestAnswerIsAFreshState: the package Answer keeps nothing between calls.
func TestAnswerIsAFreshState(t *testing.T) {
	d := device(t, devices[0], false)
	if a := Answer(installCmd("c1", wifiProfile(t, "Wi-Fi", "fresh")), d); a["Status"] != "Acknowledged" {
		t.Fatalf("InstallProfile = %v", a)
	}
	if got := Answer(plainCmd("c2", "ProfileList"), d)["ProfileList"].([]any); len(got) != len(d.ProfileIdentifiers) {
		t.Errorf("a fresh device lists %d profiles, want %d", len(got), len(d.ProfileIdentifiers))
	}
}

func TestNotNowWhileLocked(t *testing.T) {
	tests := []struct {
		rt, family, os string
		want           bool
	}{
		{"CertificateList", "iPhone", "18.2", true},
		{"CertificateList", "iPhone", "15.3", false}, // before 15.4 the device answered
		{"CertificateList", "iPad", "15.4", true},
		{"CertificateList", "RealityDevice", "2.2", true},
		{"CertificateList", "Mac", "15.2", false},
		{"InstallProfile", "iPhone", "18.2", true},
		{"InstallProvisioningProfile", "iPad", "18.2", true},
		{"SecurityInfo", "iPhone", "18.2", true},
		{"DeviceInformation", "iPhone", "18.2", false},
		{"ProfileList", "iPhone", "18.2", false},
		{"RemoveProfile", "iPhone", "18.2", false},
	}
	for _, tc := range tests {
		if got := NotNowWhileLocked(tc.rt, tc.family, tc.os); got != tc.want {
			t.Errorf("%s on %s %s: NotNow = %v, want %v", tc.rt, tc.family, tc.os, got, tc.want)
		}
	}
	// A command a user enrollment refuses is refused, locked or not.
	s := &State{Locked: true}
	if a := s.Answer(plainCmd("c", "EraseDevice"), device(t, devices[0], true)); a["Status"] != "Error" {
		t.Errorf("locked user enrollment EraseDevice = %v", a)
	}
}
