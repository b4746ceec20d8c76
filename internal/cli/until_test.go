package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// writeUntilScenario writes a scenario file for the --until tests.
func writeUntilScenario(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	return path
}

const untilScenario = `name: s
device: iphone@26.1
type: user
account: {identifier: alice@acme.test}
`

// --until is checked like every flag: bad values list the accepted ones,
// and it refuses what it cannot honour, naming both sides.
func TestUntilFlagErrors(t *testing.T) {
	outcome := writeUntilScenario(t, untilScenario+"until: checkin\nexpect: {outcome: checkin-failed}\n")
	commands := writeUntilScenario(t, untilScenario+"expect: {commands: [DeviceInformation]}\n")
	count := writeUntilScenario(t, untilScenario+"expect: {commands: 0}\n")
	discovery := writeUntilScenario(t, untilScenario+"discovery_only: true\n")
	assertUsageErrors(t, []usageCase{
		{"unknown value", []string{"run", "--until", "connect"},
			[]string{`--until "connect": want profile, identity (the SCEP certificate), checkin (Authenticate and TokenUpdate), commands (connect and the first commands, the default) or ddm`}},
		{"with discovery-only", []string{"run", "--email", "alice@acme.test", "--embedded", "--until", "identity", "--discovery-only"},
			[]string{"--until identity and --discovery-only cannot go together"}},
		{"step too", []string{"step", "--until", "everything"}, []string{`--until "everything": want profile`}},
		{"outcome of a later stage", []string{"run", "--until", "profile", outcome},
			[]string{"--until profile: case s/iphone@26.1 expects outcome checkin-failed, which needs until checkin or later", "drop --until"}},
		{"commands cut off", []string{"run", "--until", "checkin", commands},
			[]string{"--until checkin: case s/iphone@26.1 expects commands, which are answered only with until commands"}},
		{"no commands cut off", []string{"run", "--until", "identity", count}, []string{"expects commands"}},
		{"scenario ends after discovery", []string{"run", "--until", "commands", discovery},
			[]string{"--until commands: case s/iphone@26.1 has discovery_only: true"}},
	})
}

// The flag replaces the scenario's until, as --login-driver replaces
// login.driver; without it the scenario's stands, and cases of flag runs
// get it too.
func TestUntilFlagOverridesScenario(t *testing.T) {
	file := writeUntilScenario(t, untilScenario+"until: checkin\n")
	for _, tt := range []struct {
		name string
		o    runOptions
		want event.Until
	}{
		{"scenario's", runOptions{Args: []string{file}}, event.UntilCheckIn},
		{"flag's", runOptions{Args: []string{file}, Until: "profile"}, event.UntilProfile},
		{"flag's spelt check-in", runOptions{Args: []string{file}, Until: "check-in"}, event.UntilCheckIn},
		{"flag run", runOptions{Email: "alice@acme.test", Embedded: true, Type: "auto", Until: "identity"}, event.UntilIdentity},
		{"flag run without it", runOptions{Email: "alice@acme.test", Embedded: true, Type: "auto"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Timeout = 5 * time.Second
			o.TOTPDigits, o.TOTPPeriod, o.TOTPAlgorithm = 6, 30*time.Second, "SHA1"
			rp, cleanup, err := buildPlan(&o, func(string) string { return "" })
			require.NoError(t, err)
			defer cleanup()
			require.NotEmpty(t, rp.Cases)
			for _, c := range rp.Cases {
				assert.Equal(t, tt.want, c.Until, c.Name)
			}
		})
	}
}

// A run --until profile plays no step after the profile, and its cases say
// how far they go.
func TestUntilProfileStopsAfterTheProfile(t *testing.T) {
	jl := filepath.Join(t.TempDir(), "run.jsonl")
	r := execute(t, "run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--until", "profile", "--report", "jsonl="+jl)
	require.Equal(t, 0, r.code, r.out+r.errOut)
	fh, err := os.Open(jl)
	require.NoError(t, err)
	defer fh.Close()
	var steps []string
	var info *event.CaseInfo
	var outcome string
	require.NoError(t, report.ReadJSONL(fh, func(ev event.Event) {
		switch ev.Kind {
		case event.EventCaseStart:
			info = ev.Info
		case event.EventStepStart:
			steps = append(steps, string(ev.Step))
		case event.EventCaseEnd:
			outcome = ev.Outcome
		}
	}))
	require.NotNil(t, info)
	assert.Equal(t, "profile", info.Until)
	assert.Equal(t, event.StepProfile, event.Step(steps[len(steps)-1]), strings.Join(steps, " "))
	for _, s := range []event.Step{event.StepIdentity, event.StepCheckIn, event.StepCommands} {
		assert.NotContains(t, steps, string(s))
	}
	assert.Equal(t, event.OutcomeEnrolled, outcome)
}

// usageCase is a command line that must exit 2 with each of want in its
// error output.
type usageCase struct {
	name string
	args []string
	want []string
}

func assertUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, tt.args...)
			assert.Equal(t, report.ExitUsage, r.code, "stdout: %s\nstderr: %s", r.out, r.errOut)
			for _, w := range tt.want {
				assert.Contains(t, r.errOut, w)
			}
		})
	}
}

// --until ddm on the embedded server turns its declarative management on
// and each case syncs; --ddm needs an embedded server, --until a value it
// knows, and --admin-declarations an http(s) URL.
func TestUntilDDMFlags(t *testing.T) {
	r := execute(t, "run", "--embedded", "--email", "carol@acme.test", "--device", "mac@26.1", "--type", "device", "--until", "ddm", "--no-probes")
	require.Equal(t, 0, r.code, r.out+r.errOut)
	assert.Regexp(t, `ddm +ok +synced 3 declarations \(3 listed\), status report sent; tokens from the command's Data\n`, r.out)
	assertUsageErrors(t, []usageCase{
		{"ddm for a deployed target", []string{"run", "--email", "alice@acme.test", "--ddm"}, []string{"--ddm turns on the embedded server's declarative management"}},
		{"an unknown stage", []string{"run", "--until", "sync"}, []string{"or ddm (and the declarative-management sync"}},
		{"a hook that is no URL", []string{"run", "--email", "alice@acme.test", "--admin-declarations", "mdm.example.com/decl"}, []string{"--admin-declarations \"mdm.example.com/decl\": want an http(s) URL"}},
	})
}
