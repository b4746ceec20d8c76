package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// progressRun feeds a two-case run to p, the second case failing, with the
// clock moved by step before every event; stdout gets a line per event.
func progressRun(p *progress, clock *time.Time, step time.Duration, stdout *bytes.Buffer) {
	evs := []event.Event{
		{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 2}},
		{Kind: event.EventCaseStart, Case: "one", Info: &event.CaseInfo{}},
		{Kind: event.EventCaseEnd, Case: "one", Outcome: event.OutcomeEnrolled},
		{Kind: event.EventCaseStart, Case: "two", Info: &event.CaseInfo{}},
		{Kind: event.EventStepStart, Case: "two", Step: event.StepDiscovery},
		{Kind: event.EventCheck, Case: "two", Step: event.StepDiscovery, Result: &check.Result{ID: "WK-001", Status: check.Fail}},
		{Kind: event.EventCaseEnd, Case: "two", Outcome: event.OutcomeEnrolled},
		{Kind: event.EventRunEnd},
	}
	for _, ev := range evs {
		*clock = clock.Add(step)
		p.Event(ev, func() { stdout.WriteString("text " + string(ev.Kind) + "\n") })
	}
}

// On a terminal the line is wiped before every stdout write and drawn
// again after, so the text never lands behind it; the run's end leaves
// the terminal clean.
func TestProgressTerminalNeverSharesALine(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var both bytes.Buffer // stdout and stderr on one terminal
	p := newProgress(&both, true, func() time.Time { return clock }, false)
	progressRun(p, &clock, time.Second, &both)
	out := both.String()
	for _, l := range strings.Split(out, "\n") {
		if i := strings.LastIndex(l, "\r\x1b[K"); i >= 0 {
			l = l[i+len("\r\x1b[K"):]
		}
		assert.False(t, strings.Contains(l, "enrollsim:") && strings.Contains(l, "text "), "a line shares progress and text: %q", l)
	}
	assert.Contains(t, out, "enrollsim: 0/2 cases, 0 failed · slowest in flight: one (0s) · 1s")
	assert.Contains(t, out, "enrollsim: 1/2 cases, 0 failed · slowest in flight: two (1s) · 4s")
	assert.Contains(t, out, "enrollsim: 2/2 cases, 1 failed")
	assert.True(t, strings.HasSuffix(out, "text run-end\n"), "nothing drawn after the run's end: %q", out[max(len(out)-80, 0):])

	// Tick after the end draws nothing.
	n := both.Len()
	p.Tick()
	assert.Equal(t, n, both.Len())
}

// Without a terminal (CI) a plain line comes at most every plainEvery,
// whole and between two events; a quick run gets none.
func TestProgressPlainEveryFewSeconds(t *testing.T) {
	for _, tc := range []struct {
		step  time.Duration
		lines int
	}{{time.Second, 0}, {plainEvery, 6}, {plainEvery / 2, 3}} {
		clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var errOut, stdout bytes.Buffer
		p := newProgress(&errOut, false, func() time.Time { return clock }, false)
		progressRun(p, &clock, tc.step, &stdout)
		got := strings.Count(errOut.String(), "\n")
		assert.Equal(t, tc.lines, got, "step %s:\n%s", tc.step, errOut.String())
		assert.NotContains(t, errOut.String(), "\r")
		assert.NotContains(t, errOut.String(), "\x1b")
	}
	// Ticks between events write the line when it is due, with the case in
	// flight the longest.
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var errOut bytes.Buffer
	p := newProgress(&errOut, false, func() time.Time { return clock }, false)
	p.Event(event.Event{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 3}}, func() {})
	p.Event(event.Event{Kind: event.EventCaseStart, Case: "slow"}, func() {})
	clock = clock.Add(3 * time.Second)
	p.Event(event.Event{Kind: event.EventCaseStart, Case: "quick"}, func() {})
	p.Tick()
	assert.Empty(t, errOut.String())
	clock = clock.Add(plainEvery)
	p.Tick()
	assert.Equal(t, "enrollsim: 0/3 cases, 0 failed · slowest in flight: slow (13s) of 2 · 13s\n", errOut.String())
}

// --quiet: no progress at all, and a nil progress passes the writes on.
func TestProgressQuiet(t *testing.T) {
	f, _, errOut := testFactory(nil)
	o := &runOptions{Quiet: true}
	p := o.progress(t.Context(), f)
	assert.Nil(t, p)
	wrote := false
	p.Event(event.Event{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 1}}, func() { wrote = true })
	p.Tick()
	p.Stop()
	assert.True(t, wrote)
	assert.Empty(t, errOut.String())
}
