package cli

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
)

// --poll and --stay are checked like every flag: a bad value names the
// flag and the accepted form, and exits 2 before anything is played.
func TestPollFlagErrors(t *testing.T) {
	contradicting := writeUntilScenario(t, untilScenario+"stay: 30s\n")
	assertUsageErrors(t, []usageCase{
		{"not a duration", []string{"run", "--poll", "often"}, []string{`--poll "often": want a duration such as 1s or 500ms, or 0 (off) for no polling`}},
		{"negative poll", []string{"run", "--poll", "-1s"}, []string{`--poll "-1s": want a duration`}},
		{"too fast", []string{"run", "--poll", "5ms"}, []string{`--poll "5ms": want 100ms or more`}},
		{"not a stay", []string{"run", "--stay", "forever"}, []string{`--stay "forever": want a duration such as 30s or 5m, or 0 to poll only until the first commands`}},
		{"negative stay", []string{"run", "--stay", "-5m"}, []string{`--stay "-5m": want a duration`}},
		{"stay without polling", []string{"run", "--stay", "1m", "--poll", "off"}, []string{"--stay 1m needs polling, but --poll off turns it off"}},
		{"step too", []string{"step", "--poll", "sometimes"}, []string{`--poll "sometimes"`}},
		{"flag against the scenario's stay", []string{"run", "--poll", "0", contradicting},
			[]string{"case s/iphone@26.1: stay 30s needs polling, but poll is off", "give --poll an interval"}},
	})
}

// A scenario's poll and stay reach its cases; the flags replace them, each
// on its own; flag runs get the flags.
func TestPollScenarioAndFlags(t *testing.T) {
	file := writeUntilScenario(t, untilScenario+"poll: 2s\nstay: 1m\n")
	off := writeUntilScenario(t, untilScenario+"poll: 0\n")
	for _, tt := range []struct {
		name       string
		o          runOptions
		poll, stay time.Duration
	}{
		{"scenario's", runOptions{Args: []string{file}}, 2 * time.Second, time.Minute},
		{"scenario's off", runOptions{Args: []string{off}}, -1, 0},
		{"flag's poll", runOptions{Args: []string{file}, Poll: "500ms"}, 500 * time.Millisecond, time.Minute},
		{"flag's stay", runOptions{Args: []string{file}, Stay: "0"}, 2 * time.Second, 0},
		{"flag run", runOptions{Email: "alice@acme.test", Embedded: true, Type: "auto", Poll: "3s", Stay: "30s"}, 3 * time.Second, 30 * time.Second},
		{"flag run without them", runOptions{Email: "alice@acme.test", Embedded: true, Type: "auto"}, 0, 0},
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
				assert.Equal(t, tt.poll, c.Poll, c.Name)
				assert.Equal(t, tt.stay, c.Stay, c.Name)
			}
		})
	}
}

// --command-delay makes the embedded server's worker queue the first
// commands after TokenUpdate: the device gets them by polling, and with
// polling off it gets none. It is the embedded server's only.
func TestCommandDelayOnTheEmbeddedServer(t *testing.T) {
	base := []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--command-delay", "3s"}
	r := execute(t, base...)
	assert.Equal(t, report.ExitOK, r.code, "stderr: %s", r.errOut)
	assert.Contains(t, r.out+r.errOut, "answered 5 commands")
	assert.Contains(t, r.out+r.errOut, "1 connects woke by a push")
	assert.NotContains(t, r.out+r.errOut, "polling")

	// The stand-in off: the device polls, or with polling off answers none.
	r = execute(t, append(base, "--no-push")...)
	assert.Equal(t, report.ExitOK, r.code, "stderr: %s", r.errOut)
	assert.Contains(t, r.out+r.errOut, "answered 5 commands")
	assert.Contains(t, r.out+r.errOut, "connects woke by polling")
	r = execute(t, append(base, "--no-push", "--poll", "0")...)
	assert.Contains(t, r.out+r.errOut, "answered 0 commands")

	assertUsageErrors(t, []usageCase{
		{"negative delay", []string{"run", "--command-delay", "-2s"}, []string{"--command-delay -2s: want 0 or a positive duration"}},
		{"deployed target", []string{"run", "--email", "alice@acme.test", "--command-delay", "3s"}, []string{"--command-delay sets the embedded server's worker"}},
		{"no push for a deployed target", []string{"run", "--email", "alice@acme.test", "--no-push"}, []string{"--no-push switches off the embedded server's pushes"}},
	})
}
