package scenarios_test

import (
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

func caseNames(specs []scenarios.CaseSpec) []string {
	var out []string
	for _, s := range specs {
		out = append(out, s.Case.Name)
	}
	return out
}

func loadOne(t *testing.T, path string, getenv func(string) string) scenarios.Scenario {
	t.Helper()
	suite, err := scenarios.LoadFile(path, opts(getenv))
	require.NoError(t, err)
	require.Len(t, suite.Scenarios, 1)
	return suite.Scenarios[0]
}

// writeScenario writes a scenario file (and extra files) to a fresh
// directory and loads it.
func writeScenario(t *testing.T, body string, files map[string]string) scenarios.Scenario {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	path := filepath.Join(dir, "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return loadOne(t, path, env(nil))
}

func TestMatrixExpansion(t *testing.T) {
	var catalogueRefs []string
	for _, d := range device.Catalogue() {
		catalogueRefs = append(catalogueRefs, "m/"+d.Ref())
	}
	var macs []string
	for _, d := range device.Catalogue() {
		if d.Family == device.Mac {
			macs = append(macs, "m/"+d.Ref())
		}
	}
	tests := []struct {
		name   string
		matrix scenarios.Matrix
		want   []string
	}{
		{"every catalogue device", scenarios.Matrix{Families: []string{"all"}, Versions: []string{"catalogue"}}, catalogueRefs},
		{"families in catalogue order", scenarios.Matrix{Families: []string{"iphone", "ipad", "mac", "vision"}, Versions: []string{"catalogue"}}, catalogueRefs},
		{"explicit versions for each family", scenarios.Matrix{Families: []string{"iphone", "mac"}, Versions: []string{"17.5", "18.2"}},
			[]string{"m/iphone@17.5", "m/iphone@18.2", "m/mac@17.5", "m/mac@18.2"}},
		{"catalogue and explicit, each device once", scenarios.Matrix{Families: []string{"mac"}, Versions: []string{"catalogue", "15.2", "15.3"}},
			append(append([]string(nil), macs...), "m/mac@15.3")},
		{"versions normalised", scenarios.Matrix{Families: []string{"vision"}, Versions: []string{"2"}}, []string{"m/vision@2.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.matrix
			s := scenarios.Scenario{Name: "m", Matrix: &m, Account: scenarios.Account{Identifier: "alice@acme.test"},
				Target: scenarios.Target{Embedded: true}, Expect: scenarios.Expect{Outcome: scenarios.OutcomeAuto, Enroll: true}}
			specs, err := s.Cases(env(nil))
			require.NoError(t, err)
			assert.Equal(t, tt.want, caseNames(specs))
			devs, err := s.Expand()
			require.NoError(t, err)
			assert.Len(t, devs, len(tt.want))
		})
	}
}

func TestMatrixFromFile(t *testing.T) {
	s := loadOne(t, "testdata/valid/matrix.yaml", nil)
	specs, err := s.Cases(nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"matrix-explicit/iphone@17.5", "matrix-explicit/iphone@18.2", "matrix-explicit/ipad@17.5", "matrix-explicit/ipad@18.2"}, caseNames(specs))
	for _, sp := range specs {
		assert.Equal(t, sim.TypeDevice, sp.Case.Type)
		assert.Equal(t, "carol@acme.test", sp.Case.Account.Identifier)
		assert.Equal(t, "matrix-explicit", sp.Case.Scenario)
		assert.Equal(t, "matrix", sp.Case.Suite)
		assert.Equal(t, "explicit versions apply to each family", sp.Case.Description)
	}
	assert.Equal(t, "iPhone15,5", specs[0].Case.Device.Product)
}

func TestDeviceRefsNameCases(t *testing.T) {
	s := scenarios.Scenario{Name: "refs", Devices: []string{"iphone@18.2", "iPhone17,2@26.1", "ipad@17.5"}, Account: scenarios.Account{Identifier: "alice@acme.test"},
		Target: scenarios.Target{Embedded: true}, Expect: scenarios.Expect{Outcome: scenarios.OutcomeAny}}
	specs, err := s.Cases(nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"refs/iphone@18.2", "refs/iPhone17,2@26.1", "refs/ipad@17.5"}, caseNames(specs))
	assert.Equal(t, "iPhone17,2", specs[1].Case.Device.Product)
	assert.Equal(t, device.IPad, specs[2].Case.Device.Family)
	assert.Equal(t, "", specs[0].Case.Expect.Outcome, "any: unchecked")
}

// `auto` resolves per device: refused where the device lacks the type,
// enrollment-failed where it lacks the expected sign-in method or the type
// the server is expected to choose, discovered for discovery_only; facts of
// steps the device never reaches are dropped.
func TestAutoOutcome(t *testing.T) {
	all := map[string]map[string]string{
		"discovery":        {"redirects": "1"},
		"process-document": {"server": "mdm-byod", "via": "well-known"},
		"enroll-challenge": {"method": "apple-oauth2"},
		"profile":          {"enrollment_mode": "BYOD", "assigned": "erin@acme.test"},
	}
	withMethod := func(m string) map[string]map[string]string {
		return map[string]map[string]string{"enroll-challenge": {"method": m}}
	}
	adde := map[string]map[string]string{"process-document": {"server": "mdm-adde"}, "profile": {"enrollment_mode": "ADDE"}}
	upTo := func(keys ...string) map[string]string {
		out := map[string]string{}
		facts := map[string]string{"redirects": "1", "server": "mdm-byod", "via": "well-known", "method": "apple-oauth2", "enrollment_mode": "BYOD", "assigned": "erin@acme.test"}
		for _, k := range keys {
			out[k] = facts[k]
		}
		return out
	}
	tests := []struct {
		device        string
		typ           sim.EnrollmentType
		outcome       string
		steps         map[string]map[string]string
		discoveryOnly bool
		want          string
		wantFacts     map[string]string
	}{
		{"iphone@14.8", sim.TypeUser, "", all, false, event.OutcomeRefused, nil},
		{"iphone@15.0", sim.TypeUser, scenarios.OutcomeAuto, nil, false, event.OutcomeEnrolled, nil},
		{"iphone@16.7", sim.TypeDevice, scenarios.OutcomeAuto, nil, false, event.OutcomeRefused, nil},
		{"iphone@17.0", sim.TypeDevice, scenarios.OutcomeAuto, nil, false, event.OutcomeEnrolled, nil},
		{"mac@13.6", sim.TypeAuto, scenarios.OutcomeAuto, nil, false, event.OutcomeRefused, nil},
		{"vision@1.0", sim.TypeUser, scenarios.OutcomeAuto, nil, false, event.OutcomeRefused, nil},
		{"vision@1.1", sim.TypeDevice, scenarios.OutcomeAuto, nil, false, event.OutcomeEnrolled, nil},
		// OAuth 2 arrived a version after user enrollment on iOS.
		{"iphone@15.0", sim.TypeUser, scenarios.OutcomeAuto, all, false, event.OutcomeEnrollFailed, upTo("redirects", "server", "via", "method")},
		{"ipad@15.0", sim.TypeUser, scenarios.OutcomeAuto, withMethod("apple-oauth2"), false, event.OutcomeEnrollFailed, upTo("method")},
		{"iphone@16.0", sim.TypeUser, scenarios.OutcomeAuto, all, false, event.OutcomeEnrolled, upTo("redirects", "server", "via", "method", "enrollment_mode", "assigned")},
		{"mac@14.0", sim.TypeUser, scenarios.OutcomeAuto, withMethod("apple-oauth2"), false, event.OutcomeEnrolled, upTo("method")},
		// Type auto: the server's expected choice decides.
		{"iphone@16.7", sim.TypeAuto, scenarios.OutcomeAuto, adde, false, event.OutcomeEnrollFailed, map[string]string{"server": "mdm-adde"}},
		{"iphone@17.0", sim.TypeAuto, scenarios.OutcomeAuto, adde, false, event.OutcomeEnrolled, map[string]string{"server": "mdm-adde", "enrollment_mode": "ADDE"}},
		{"iphone@16.7", sim.TypeAuto, scenarios.OutcomeAuto, nil, false, event.OutcomeEnrolled, nil},
		// discovery_only ends after the document.
		{"iphone@18.2", sim.TypeUser, scenarios.OutcomeAuto, map[string]map[string]string{"discovery": {"redirects": "1"}, "process-document": {"via": "well-known"}},
			true, event.OutcomeDiscovered, map[string]string{"redirects": "1", "via": "well-known"}},
		{"iphone@14.8", sim.TypeUser, scenarios.OutcomeAuto, nil, true, event.OutcomeRefused, nil},
		// Explicit outcomes and any keep every fact as written.
		{"iphone@14.8", sim.TypeUser, event.OutcomeError, all, false, event.OutcomeError, upTo("redirects", "server", "via", "method", "enrollment_mode", "assigned")},
		{"iphone@14.8", sim.TypeUser, scenarios.OutcomeAny, withMethod("apple-oauth2"), false, "", upTo("method")},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s/%s/%s/%v", tt.device, tt.typ, tt.outcome, tt.steps != nil)
		t.Run(name, func(t *testing.T) {
			s := scenarios.Scenario{Name: "auto", Device: tt.device, Type: tt.typ, DiscoveryOnly: tt.discoveryOnly,
				Account: scenarios.Account{Identifier: "erin@acme.test"}, Target: scenarios.Target{Embedded: true},
				Expect: scenarios.Expect{Outcome: tt.outcome, Enroll: true, Fail: []string{"WK-016"}, Steps: tt.steps}}
			specs, err := s.Cases(nil)
			require.NoError(t, err)
			require.Len(t, specs, 1)
			e := specs[0].Case.Expect
			assert.Equal(t, tt.want, e.Outcome)
			if len(tt.wantFacts) == 0 {
				assert.Empty(t, e.Facts)
			} else {
				assert.Equal(t, tt.wantFacts, e.Facts)
			}
			assert.True(t, e.Enroll)
			assert.Equal(t, []string{"WK-016"}, e.Trips)
		})
	}
}

// The conformance suite's auto outcomes follow the version matrix.
func TestConformanceExpectations(t *testing.T) {
	suite, err := scenarios.BuiltInSuite("conformance", opts(nil))
	require.NoError(t, err)
	n := 0
	for _, sc := range suite.Scenarios {
		specs, err := sc.Cases(nil)
		require.NoError(t, err)
		require.Len(t, specs, len(device.Catalogue()), sc.Name)
		for _, sp := range specs {
			c := sp.Case
			need := device.CapUserEnrollment
			if c.Type == sim.TypeDevice {
				need = device.CapDeviceEnrollment
			}
			oauth := c.Account.Identifier == "erin@acme.test" || c.Account.Identifier == "frank@acme.test"
			want := event.OutcomeEnrolled
			switch {
			case !c.Device.Has(need):
				want = event.OutcomeRefused
			case oauth && !c.Device.Has(device.CapOAuth2):
				want = event.OutcomeEnrollFailed
			}
			assert.Equal(t, want, c.Expect.Outcome, c.Name)
			assert.True(t, sp.Embedded)
			assert.Empty(t, sp.Faults)
			n++
		}
	}
	assert.Equal(t, 4*len(device.Catalogue()), n)
}

func TestSecretsFromEnvAndFiles(t *testing.T) {
	s := loadOne(t, "testdata/valid/secrets.yaml", nil)
	specs, err := s.Cases(env(map[string]string{"QA_TOTP": "JBSWY3DPEHPK3PXP"}))
	require.NoError(t, err)
	require.Len(t, specs, 2)
	assert.Equal(t, []string{"deployed/iphone@18.2", "deployed/mac@15.2"}, caseNames(specs))
	for _, sp := range specs {
		a := sp.Case.Account
		// The file is found next to the scenario, not in the working directory.
		assert.Equal(t, "correct horse battery staple", a.Password.Reveal())
		assert.Equal(t, "JBSWY3DPEHPK3PXP", a.TOTPSecret.Reveal())
		assert.Equal(t, sim.TOTPOptions{Digits: 6, Period: 30 * time.Second, Algorithm: "SHA1"}, a.TOTP)
		assert.Equal(t, "alice", a.Username)
		assert.Equal(t, "alice@acme.com", a.ManagedAppleID)
		assert.False(t, sp.Embedded)
		assert.Nil(t, sp.Faults)
		assert.Equal(t, scenarios.ServerTarget{
			BaseURL: "https://mdm.acme.com",
			CACerts: []string{"testdata/valid/certs/lab-ca.pem"}, StockCAs: []string{"testdata/valid/certs/lab-ca.pem"},
		}, sp.Server)
		assert.Equal(t, sim.Target{AxMURL: sim.AppleAxMURL}, sp.Case.Target)
		assert.Equal(t, sim.Expect{Outcome: event.OutcomeEnrolled, Enroll: true, Trips: []string{"SEC-002"}}, sp.Case.Expect)
	}
}

func TestServerTargetDeclaresAxM(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/suite.yaml", opts(env(map[string]string{"QA_DOMAIN": "acme.test", "QA_DIGITS": "6"})))
	require.NoError(t, err)
	sc := suite.Scenarios[2]
	specs, err := sc.Cases(nil)
	require.NoError(t, err)
	require.Len(t, specs, 1)
	c := specs[0].Case
	assert.Equal(t, sim.Target{AxMURL: "https://axm.acme.test/mdmBaseURL", AxMDeclared: true}, c.Target)
	assert.True(t, c.NoProbes)
	assert.True(t, c.DiscoveryOnly)
	assert.Equal(t, sim.DeviceOptions{ExactlyOneAt: true, AppendLoginQuery: true}, c.Options)
	assert.Equal(t, 20*time.Second, specs[0].Server.Timeout)
	assert.Equal(t, []string{"testdata/valid/certs/lab-ca.pem"}, specs[0].Server.CACerts)
	assert.True(t, c.Account.Password.IsZero(), "no secret referenced, none read")
}

func TestEmbeddedFaultsSorted(t *testing.T) {
	s := writeScenario(t, `name: faults
device: iphone@18.2
account: {identifier: alice@acme.test}
target: {embedded: {faults: [wellknown-404, private-ca]}}
`, nil)
	assert.Equal(t, []string{"wellknown-404", "private-ca"}, s.Target.Faults)
	specs, err := s.Cases(nil)
	require.NoError(t, err)
	assert.True(t, specs[0].Embedded)
	assert.Equal(t, []string{"private-ca", "wellknown-404"}, specs[0].Faults)
	assert.Equal(t, sim.Target{}, specs[0].Case.Target, "the caller builds the embedded target")
}

// Problems found by Cases name the key and its file:line, never a value.
func TestCasesProblems(t *testing.T) {
	const seed = "NOT!BASE32!VALUE"
	tests := []struct {
		name  string
		body  string
		files map[string]string
		env   map[string]string
		want  []string
		n     int // problems
	}{
		{"unset variable", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  password_env: QA_PASSWORD\n", nil, nil,
			[]string{"scenario.yaml:5:17: account.password_env: the environment variable QA_PASSWORD is not set (or empty)"}, 1},
		{"missing file", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  password_file: nope.txt\n", nil, nil,
			[]string{"scenario.yaml:5:18: account.password_file \"nope.txt\": cannot read ", "nope.txt: no such file or directory"}, 1},
		{"empty file", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  totp_secret_file: seed.txt\n", map[string]string{"seed.txt": "\n"}, nil,
			[]string{"scenario.yaml:5:21: account.totp_secret_file \"seed.txt\": the file is empty"}, 1},
		{"bad seed", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  totp_secret_env: QA_TOTP\n", nil, map[string]string{"QA_TOTP": seed},
			[]string{"scenario.yaml:5:20: account.totp_secret_env: the seed from $QA_TOTP: the TOTP seed is not base32: character 4 is a punctuation mark or symbol (accepted: letters A-Z"}, 1},
		{"bad seed in a file", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  totp_secret_file: seed.txt\n", map[string]string{"seed.txt": seed + "\n"}, nil,
			[]string{"scenario.yaml:5:21: account.totp_secret_file: the seed from ", "seed.txt: the TOTP seed is not base32: character 4 is"}, 1},
		{"missing CA", "name: s\ndevice: iphone@18.2\naccount: {identifier: a@acme.com}\ntarget:\n  server:\n    cacert: [ok.pem, missing.pem]\n", map[string]string{"ok.pem": "x"}, nil,
			[]string{"scenario.yaml:6:22: target.server.cacert \"missing.pem\": cannot read "}, 1},
		{"replay body not CMS", "name: s\ndevice: iphone@18.2\naccount: {identifier: a@acme.test}\nreplay_body: body.der\n", map[string]string{"body.der": "hello"}, nil,
			[]string{"scenario.yaml:4:14: replay_body \"body.der\": not a CMS signed message"}, 1},
		{"several at once", "name: s\ndevice: iphone@18.2\naccount:\n  identifier: a@acme.test\n  password_env: QA_PASSWORD\n  totp_secret_file: none.txt\nreplay_body: none.der\n", nil, nil,
			[]string{"5:17: account.password_env", "6:21: account.totp_secret_file", "7:14: replay_body"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := writeScenario(t, tt.body, tt.files)
			specs, err := s.Cases(env(tt.env))
			require.Error(t, err)
			assert.Nil(t, specs)
			var serr *scenarios.Error
			require.True(t, errors.As(err, &serr))
			assert.Len(t, serr.Problems, tt.n)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), seed)
		})
	}
}

func TestReplayBody(t *testing.T) {
	id, err := profile.NewDeviceIdentity("iPhone17,3", "F2LXQ0TESTSN", time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	der, err := profile.EnrollmentBody(id, "en-US", "iPhone17,3", "22C152")
	require.NoError(t, err)
	pemBody := pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der})
	s := writeScenario(t, "name: replay\ndevice: iphone@18.2\naccount: {identifier: alice@acme.test}\nreplay_body: captured/iphone.pem\n",
		map[string]string{"captured/iphone.pem": string(pemBody)})
	specs, err := s.Cases(nil)
	require.NoError(t, err)
	assert.Equal(t, der, specs[0].Case.ReplayBody, "PEM normalised to DER")
}

// target.axm reaches the case specs: the stand-in's state resolved against
// the file, defaults by family, the waits filled in; embedded targets keep
// only their defaults.
func TestAxMTargetReachesCaseSpecs(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/axm.yaml", opts(nil))
	require.NoError(t, err)
	require.Len(t, suite.Scenarios, 2)
	specs, err := suite.Scenarios[0].Cases(func(string) string { return "" })
	require.NoError(t, err)
	require.Len(t, specs, 2)
	a := specs[0].AxM
	require.NotNil(t, a)
	assert.True(t, a.Serve)
	assert.Equal(t, filepath.Join("testdata", "valid", "axm-state"), a.State)
	assert.Equal(t, scenarios.DefaultAxMListen, a.Listen)
	assert.Equal(t, scenarios.DefaultAxMWait, a.Wait)
	assert.Equal(t, map[device.Family]string{device.IPhone: "acme-mdm", device.RealityDevice: "acme-mdm"}, a.Defaults)
	assert.Equal(t, "https://mdm-staging.acme.com/test/adde-off", a.Withdraw)
	assert.Equal(t, "ORG_NOT_SUPPORTED", a.RefuseFirst)
	assert.NotSame(t, specs[0].AxM, specs[1].AxM, "each case gets its own copy")

	emb, err := suite.Scenarios[1].Cases(func(string) string { return "" })
	require.NoError(t, err)
	require.NotNil(t, emb[0].AxM)
	assert.False(t, emb[0].AxM.Serve)
	assert.Equal(t, map[device.Family]string{device.IPhone: "acme-mdm", device.Mac: "other-mdm"}, emb[0].AxM.Defaults)
	assert.True(t, emb[0].Embedded)
}
