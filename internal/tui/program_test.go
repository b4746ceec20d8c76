package tui_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/cli"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/internal/tui"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// engineOnRefServer plays alice@acme.test on an iPhone against an in-process
// reference server, a fresh plan per run, counting the builds.
func engineOnRefServer(t *testing.T, builds *atomic.Int32) tui.RunFunc {
	t.Helper()
	clock := &sim.VirtualClock{}
	srv, err := refserver.Start(refserver.Config{Now: clock.Now, TOTPNow: clock.TOTPNow})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	require.NoError(t, err)
	account := sim.Account{Identifier: "alice@acme.test"}
	for _, a := range srv.Accounts() {
		if a.Identifier == account.Identifier {
			account.Password, account.TOTPSecret, account.ManagedAppleID = secret.New(a.Password), secret.New(a.TOTPSecret), a.ManagedAppleID
		}
	}
	device, err := device.LookupDevice("iphone@26.1")
	require.NoError(t, err)
	return tui.Engine(func() (sim.Plan, *sim.Engine, func(), error) {
		builds.Add(1)
		plan := sim.Plan{Cases: []sim.Case{{
			Name: "iphone@26.1/user", Device: device, Account: account, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true},
			Target: sim.Target{Name: "reference server", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Admin: adminHooks(srv), Keys: keys.Reused},
		}}}
		return plan, &sim.Engine{Clock: clock.Now, TOTPClock: clock}, func() {}, nil
	})
}

func press(tm *teatest.TestModel, k string) {
	switch k {
	case "enter":
		tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	case "tab":
		tm.Send(tea.KeyMsg{Type: tea.KeyTab})
	case "down":
		tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	default:
		tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
	}
}

func waitFor(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	var seen bytes.Buffer
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		seen.Write(b)
		for _, w := range want {
			if !bytes.Contains(seen.Bytes(), []byte(w)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestProgramSmoke drives the real program, with the engine in its goroutine
// held by the gate, through key presses. The live engine plays all twelve
// steps, identity, check-in, commands and token-life included.
func TestProgramSmoke(t *testing.T) {
	var builds atomic.Int32
	m := tui.NewModel(tui.Options{Run: engineOnRefServer(t, &builds), Title: "smoke"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))

	waitFor(t, tm, "Next: sign-in.", "Step 1: sign-in")
	press(tm, "n")
	waitFor(t, tm, "Next: discovery.")
	press(tm, "enter")
	waitFor(t, tm, "Next: axm-fallback.", "▸ #1 well-known")
	press(tm, "e")
	waitFor(t, tm, "(expanded; e folds it)")
	press(tm, "r")
	waitFor(t, tm, "Restart? The run stops")
	press(tm, "y")
	waitFor(t, tm, "Step 1: sign-in", "Next: sign-in.")
	press(tm, "a")
	waitFor(t, tm, "Run finished: 1 case, 1 as expected · enrolled 1")
	press(tm, "tab")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	final, ok := tm.FinalModel(t).(*tui.Model)
	require.True(t, ok)
	res := final.Finish(5 * time.Second)
	assert.True(t, res.Completed)
	assert.EqualValues(t, 2, builds.Load(), "r builds a fresh plan")
	var kinds []event.EventKind
	outcome := ""
	for _, ev := range res.Events {
		kinds = append(kinds, ev.Kind)
		if ev.Kind == event.EventCaseEnd {
			outcome = ev.Outcome
		}
	}
	assert.Equal(t, event.EventRunStart, kinds[0])
	assert.Equal(t, event.EventRunEnd, kinds[len(kinds)-1])
	assert.Equal(t, 1, strings.Count(strings.Join(evKinds(kinds), " "), string(event.EventRunStart)), "only the last run's events")
	assert.Equal(t, event.OutcomeEnrolled, outcome)
}

func evKinds(k []event.EventKind) []string {
	out := make([]string, len(k))
	for i, v := range k {
		out[i] = string(v)
	}
	return out
}

// TestProgramQuitEarly: quitting at the gate stops the run, and the events
// left behind end as the engine ends an interrupted case.
func TestProgramQuitEarly(t *testing.T) {
	var builds atomic.Int32
	m := tui.NewModel(tui.Options{Run: engineOnRefServer(t, &builds)})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	waitFor(t, tm, "Next: sign-in.")
	press(tm, "n")
	waitFor(t, tm, "Next: discovery.")
	press(tm, "q")
	waitFor(t, tm, "Quit? The run stops")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	res := tm.FinalModel(t).(*tui.Model).Finish(5 * time.Second)
	assert.False(t, res.Completed)
	require.NotEmpty(t, res.Events)
	last := res.Events[len(res.Events)-2]
	assert.Equal(t, event.EventCaseEnd, last.Kind)
	assert.Equal(t, event.OutcomeInterrupted, last.Outcome)
}

func execute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &cli.Factory{
		IO:     cli.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, OutTTY: true, ErrTTY: true},
		Now:    time.Now,
		Getenv: func(string) string { return "" },
	}
	code := cli.Execute(context.Background(), f, args)
	return code, out.String(), errOut.String()
}

// TestStepCommand covers what `enrollsim step` decides before the screen
// changes. (internal/cli's own tests are not this package's to edit.)
func TestStepCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte("not json\n"), 0o644))
	empty := filepath.Join(dir, "empty.jsonl")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"not a terminal", []string{"step"}, []string{"step is interactive and needs a terminal", "use 'enrollsim run' with the same flags"}},
		{"not a terminal, replay", []string{"step", "--replay", "testdata/byod.jsonl"}, []string{"needs a terminal", "enrollsim run"}},
		{"demo takes no device", []string{"step", "--device", "mac@15.2"}, []string{"--device, --fault, --type and the secret flags need --email", "the built-in demo suite"}},
		{"demo takes no target", []string{"step", "--resolve", "acme.test:443:127.0.0.1"}, []string{"need --email"}},
		{"replay with target flags", []string{"step", "--replay", "testdata/byod.jsonl", "--email", "a@acme.test", "--fault", "wellknown-404"}, []string{"--replay steps through a recorded run; --email, --fault cannot be combined with it"}},
		{"replay missing", []string{"step", "--replay", filepath.Join(dir, "nope.jsonl")}, []string{"--replay: open", "no such file"}},
		{"replay not jsonl", []string{"step", "--replay", bad}, []string{"line 1: not an enrollsim event", "enrollsim run --report jsonl=run.jsonl"}},
		{"replay empty", []string{"step", "--replay", empty}, []string{"no events in the file"}},
		{"bad checks", []string{"step", "--checks", "NOPE-*"}, []string{"--checks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := execute(t, tt.args...)
			assert.Equal(t, 2, code, errOut)
			assert.Empty(t, out, "nothing on stdout: the refusal is on stderr")
			for _, w := range tt.want {
				assert.Contains(t, errOut, w)
			}
		})
	}
}

func TestStepHelp(t *testing.T) {
	code, out, _ := execute(t, "step", "--help")
	assert.Equal(t, 0, code)
	for _, w := range []string{"n or enter runs the next step", "a runs to the end", "r restarts", "e expands", "--replay", "--report", "--fault", "--resolve", "130  interrupted"} {
		assert.Contains(t, out, w)
	}
	code, out, _ = execute(t, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "step ")
}

// adminHooks are the reference server's admin triggers, for the token-life
// checks (TOK-006, TOK-007, TOK-009).
func adminHooks(srv *refserver.Server) sim.AdminHooks {
	revoke, expire, unenroll := srv.AdminURLs()
	return sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll}
}
