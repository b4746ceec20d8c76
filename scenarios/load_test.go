package scenarios_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// env is the environment the tests load files with.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

var testEnv = env(map[string]string{
	"ENROLLSIM_TEST_USER": "alice@acme.test",
	"ENROLLSIM_TEST_HOST": "mdm.acme.com",
})

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file: run go test ./scenarios/ -update")
	assert.Equal(t, string(want), got)
}

// Each broken file fails to load with exactly the problems of its golden
// file, one line each, positions included.
func TestBrokenFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 15)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			suite, err := scenarios.LoadFile(file, opts(testEnv))
			require.Error(t, err)
			assert.Nil(t, suite)
			var serr *scenarios.Error
			require.True(t, errors.As(err, &serr), "%T", err)
			require.NotEmpty(t, serr.Problems)
			for _, p := range serr.Problems {
				assert.Equal(t, file, p.File)
				assert.NotEmpty(t, p.Msg)
				assert.True(t, p.Line > 0 && p.Col > 0, "every problem of a file has a line and column: %s", p)
			}
			lines := strings.Split(err.Error(), "\n")
			assert.Len(t, lines, len(serr.Problems), "one line per problem")
			golden(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// Problems are reported all at once, not just the first.
func TestEveryProblemOfAFileIsReported(t *testing.T) {
	_, err := scenarios.LoadFile("testdata/broken/many-problems.yaml", opts(testEnv))
	var serr *scenarios.Error
	require.True(t, errors.As(err, &serr))
	assert.GreaterOrEqual(t, len(serr.Problems), 12)
	// In position order.
	assert.True(t, sort.SliceIsSorted(serr.Problems, func(i, j int) bool {
		a, b := serr.Problems[i], serr.Problems[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	}))
}

func TestProblemMessages(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown-key", []string{
			`testdata/broken/unknown-key.yaml:2:1: unknown key "descripton" in scenario; did you mean "description"?`,
			`testdata/broken/unknown-key.yaml:5:3: unknown key "identifer" in account; did you mean "identifier"?`,
			`(accepted: outcome, enroll, fail, steps, commands)`,
		}},
		{"embedded-and-server", []string{`:6:3: target: embedded and server both given: choose one (accepted: embedded, server)`}},
		{"password-env-and-file", []string{
			`:6:3: account: password_env and password_file both given: choose one`,
			`account.totp_secret_env "hunter2-not-a-name": want the name of an environment variable`,
		}},
		{"unset-env", []string{
			`:5:13: ${env:ENROLLSIM_TEST_UNSET}: the environment variable ENROLLSIM_TEST_UNSET is not set (or empty)`,
			`${env:ENROLLSIM_TEST_PORT}: the environment variable ENROLLSIM_TEST_PORT is not set`,
			`${env:1BAD}: want ${env:NAME}`,
		}},
		{"bad-device", []string{`unknown family or product "pixel"`, `devices: "iphone@18.2" listed twice (first at line 2)`}},
		{"unknown-check", []string{
			`unknown check "WK-0001"; did you mean "WK-001"?`,
			`AUTH-017 is an INFO check`,
		}},
		{"unknown-fault", []string{`unknown fault "wellknown-4040"; did you mean "wellknown-404"?`}},
		{"bad-duration", []string{`account.totp.period "30": want a positive duration`, `target.server.timeout "15 seconds"`}},
		{"duplicate-names", []string{`:11:11: duplicate scenario name "byod" (first at testdata/broken/duplicate-names.yaml:4)`}},
		{"syntax-error", []string{`testdata/broken/syntax-error.yaml:5:12: YAML syntax:`}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := scenarios.LoadFile("testdata/broken/"+tt.file+".yaml", opts(testEnv))
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestLoadFileSingleScenario(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/byod.yaml", opts(nil))
	require.NoError(t, err)
	assert.Equal(t, "byod", suite.Name)
	assert.False(t, suite.BuiltIn)
	require.Len(t, suite.Scenarios, 1)
	s := suite.Scenarios[0]
	assert.Equal(t, "byod-iphone", s.Name)
	assert.Equal(t, "byod", s.Suite)
	assert.Equal(t, "testdata/valid/byod.yaml", s.File)
	assert.Equal(t, 2, s.Line)
	assert.Equal(t, []string{"byod", "smoke"}, s.Tags)
	assert.Equal(t, "iphone@26.1", s.Device)
	assert.Equal(t, sim.TypeUser, s.Type)
	assert.Equal(t, "alice@acme.test", s.Account.Identifier)
	assert.True(t, s.Target.Embedded)
	assert.Empty(t, s.Target.Faults)
	assert.True(t, s.Probes)
	assert.Equal(t, scenarios.Expect{Outcome: event.OutcomeEnrolled, Enroll: true,
		Steps: map[string]map[string]string{"discovery": {"redirects": "1"}, "profile": {"enrollment_mode": "BYOD", "assigned": "alice@acme.test"}}}, s.Expect)
	assert.Equal(t, map[string]string{"redirects": "1", "enrollment_mode": "BYOD", "assigned": "alice@acme.test"}, s.Expect.Facts())
}

func TestLoadFileDefaults(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/minimal.yaml", opts(nil))
	require.NoError(t, err)
	s := suite.Scenarios[0]
	assert.Equal(t, sim.TypeAuto, s.Type)
	assert.True(t, s.Target.Embedded)
	assert.True(t, s.Probes)
	assert.False(t, s.DiscoveryOnly)
	assert.Equal(t, scenarios.Expect{Outcome: scenarios.OutcomeAuto, Enroll: true}, s.Expect)
	assert.Nil(t, s.Expect.Facts())
}

func TestLoadFileSuite(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/suite.yaml", opts(env(map[string]string{"QA_DOMAIN": "acme.test", "QA_DIGITS": "8"})))
	require.NoError(t, err)
	assert.Equal(t, "lab", suite.Name)
	assert.Equal(t, "a suite file with anchors and environment references", suite.Description)
	var names []string
	for _, s := range suite.Scenarios {
		names = append(names, s.Name)
		assert.Equal(t, "lab", s.Suite)
	}
	assert.Equal(t, []string{"byod-oauth", "adde-mac", "server-options"}, names)

	// ${env:...} is replaced; a plain scalar is typed again (digits: 8).
	oauth := suite.Scenarios[0]
	assert.Equal(t, "erin@acme.test", oauth.Account.Identifier)
	assert.Equal(t, sim.TOTPOptions{Digits: 8, Period: 60 * time.Second, Algorithm: "SHA256"}, oauth.Account.TOTP)
	// A quoted reference stays a string.
	assert.Equal(t, "8", oauth.Description)
	// An alias repeats the anchored account; a merge key overrides a key.
	adde := suite.Scenarios[1]
	assert.Equal(t, "erin@acme.test", adde.Account.Identifier)
	assert.Equal(t, "frank@acme.test", suite.Scenarios[2].Account.Identifier)
	assert.Equal(t, oauth.Account.TOTP, suite.Scenarios[2].Account.TOTP)

	srv := suite.Scenarios[2]
	assert.False(t, srv.Target.Embedded)
	assert.Equal(t, scenarios.ServerTarget{
		BaseURL: "https://mdm.acme.test:8443", Resolve: []string{"acme.test:443:127.0.0.1"},
		ConnectTo: []string{"mdm.acme.test:443:127.0.0.1:8443"}, CACerts: []string{"certs/lab-ca.pem"},
		AxMURL: "https://axm.acme.test/mdmBaseURL", Timeout: 20 * time.Second,
	}, srv.Target.Server)
	assert.Equal(t, sim.DeviceOptions{ExactlyOneAt: true, AppendLoginQuery: true}, srv.Options)
	assert.Equal(t, sim.LoginFields{Form: "form#login", Username: "#user", Password: "#pass", OTP: "#code",
		Submit: "button[type=submit]", Extra: map[string]string{"tenant": "acme", "region": "42"}}, srv.Login)
	assert.False(t, srv.Probes)
	assert.True(t, srv.DiscoveryOnly)
	assert.Equal(t, scenarios.Expect{Outcome: event.OutcomeDiscovered, Enroll: false, Fail: []string{"WK-002", "ABM-003"},
		Steps: map[string]map[string]string{"process-document": {"server": "mdm-adde", "via": "well-known"}}}, srv.Expect)
}

func TestLoadDir(t *testing.T) {
	suite, err := scenarios.LoadDir("testdata/valid", opts(env(map[string]string{"QA_DOMAIN": "acme.test", "QA_DIGITS": "6"})))
	require.NoError(t, err)
	assert.Equal(t, "valid", suite.Name)
	var files []string
	for _, s := range suite.Scenarios {
		files = append(files, filepath.Base(s.File)+":"+s.Name)
		assert.Equal(t, "valid", s.Suite)
	}
	// Files in name order, scenarios in file order.
	assert.Equal(t, []string{
		"actions.yaml:actions", "axm.yaml:staging", "axm.yaml:embedded-defaults", "browser.yaml:browser", "byod.yaml:byod-iphone",
		"ddm.yaml:embedded-ddm", "ddm.yaml:until-ddm", "ddm.yaml:deployed-hook", "matrix.yaml:matrix-explicit", "minimal.yaml:minimal",
		"secrets.yaml:deployed", "suite.yaml:byod-oauth", "suite.yaml:adde-mac", "suite.yaml:server-options",
		"until.yaml:byod-commands", "until.yaml:adde-count", "until.yaml:profile-only", "until.yaml:checkin-refused",
	}, files)
}

func TestLoadDirCollectsProblemsOfAllFiles(t *testing.T) {
	_, err := scenarios.LoadDir("testdata/dupdir", opts(nil))
	require.Error(t, err)
	golden(t, "testdata/dupdir.golden", err.Error()+"\n")

	_, err = scenarios.LoadDir("testdata/valid/certs", opts(nil))
	require.EqualError(t, err, "testdata/valid/certs: no scenario files: the directory has no *.yaml or *.yml file")
}

func TestLoad(t *testing.T) {
	for _, tt := range []struct {
		arg, suite string
		builtIn    bool
	}{
		{"demo", "demo", true},
		{"negative", "negative", true},
		{"testdata/valid/byod.yaml", "byod", false},
		{"testdata/valid", "valid", false},
	} {
		t.Run(tt.arg, func(t *testing.T) {
			s, err := scenarios.Load(tt.arg, opts(env(map[string]string{"QA_DOMAIN": "acme.test", "QA_DIGITS": "6"})))
			require.NoError(t, err)
			assert.Equal(t, tt.suite, s.Name)
			assert.Equal(t, tt.builtIn, s.BuiltIn)
			assert.NotEmpty(t, s.Scenarios)
		})
	}
	_, err := scenarios.Load("no-such-suite", opts(nil))
	require.EqualError(t, err, "no-such-suite: no such file or directory, and no built-in suite of that name (accepted: conformance, demo, negative, thresholds, tls27)")
	var serr *scenarios.Error
	assert.True(t, errors.As(err, &serr))
}

func TestErrorFormat(t *testing.T) {
	err := &scenarios.Error{Problems: []scenarios.Problem{
		{File: "a.yaml", Line: 3, Col: 5, Msg: "unknown key"},
		{File: "a.yaml", Line: 7, Msg: "YAML syntax: x"},
		{File: "b.yaml", Msg: "cannot read: permission denied"},
	}}
	assert.Equal(t, "a.yaml:3:5: unknown key\na.yaml:7: YAML syntax: x\nb.yaml: cannot read: permission denied", err.Error())
}

func TestTemplateLoads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenarios.NewTemplate()), 0o644))
	suite, err := scenarios.LoadFile(path, opts(env(nil)))
	require.NoError(t, err)
	require.Len(t, suite.Scenarios, 1)
	s := suite.Scenarios[0]
	assert.Equal(t, "byod-iphone", s.Name)
	assert.Equal(t, event.OutcomeEnrolled, s.Expect.Outcome)
	specs, err := s.Cases(env(nil))
	require.NoError(t, err)
	require.Len(t, specs, 1)
	assert.Equal(t, "byod-iphone/iphone@26.1", specs[0].Case.Name)
	assert.True(t, specs[0].Embedded)
	// Every key of the format appears in the template, set or commented.
	for _, key := range []string{"name:", "description:", "tags:", "device:", "devices:", "matrix:", "type:", "identifier:",
		"username:", "password_env:", "password_file", "totp_secret_env:", "totp_secret_file", "totp:", "managed_apple_id:",
		"embedded:", "server:", "base_url:", "resolve:", "connect_to:", "cacert:", "stock_ca:", "axm_url:", "timeout:",
		"device_options:", "login:", "replay_body:", "probes:", "discovery_only:", "expect:", "outcome:", "enroll:", "fail:",
		"steps:", "redirects:", "process-document:", "enroll-challenge:", "enrollment_mode:"} {
		assert.Contains(t, scenarios.NewTemplate(), key)
	}
}

// login.driver picks the web login driver; the default is auto.
func TestLoadFileLoginDriver(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/browser.yaml", opts(nil))
	require.NoError(t, err)
	assert.Equal(t, sim.DriverBrowser, suite.Scenarios[0].Login.Driver)
	specs, err := suite.Scenarios[0].Cases(nil)
	require.NoError(t, err)
	assert.Equal(t, sim.DriverBrowser, specs[0].Case.Login.Driver)
}
