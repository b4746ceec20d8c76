package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// TextOptions shape the live text output.
type TextOptions struct {
	Verbose bool // every check and every exchange, not just the notable ones
	Color   bool // ANSI colours (off for NO_COLOR and non-terminals)
	Strict  bool // warnings count as failures in the verdicts shown

	// Bodies (-vv) adds each exchange's headers and bodies, binary ones
	// decoded; the engine has redacted them all.
	Bodies bool
}

// Text writes the event stream as readable lines while it happens and a
// summary at the end of the run.
type Text struct {
	w    io.Writer
	opt  TextOptions
	sum  Summary
	info map[string]*event.CaseInfo
	// pending holds a step's lines until its end, so they print under
	// the step's own line.
	pending []string
}

// NewText returns a live text writer.
func NewText(w io.Writer, opt TextOptions) *Text {
	return &Text{w: w, opt: opt, info: map[string]*event.CaseInfo{}}
}

// Summary is what the writer has folded so far.
func (t *Text) Summary() *Summary { return &t.sum }

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBlue   = "\x1b[34m"
	ansiDim    = "\x1b[2m"
)

func (t *Text) paint(code, s string) string {
	if !t.opt.Color {
		return s
	}
	return code + s + ansiReset
}

func (t *Text) statusLabel(st check.Status) string {
	label := fmt.Sprintf("%-5s", strings.ToUpper(string(st)))
	switch st {
	case check.Pass:
		return t.paint(ansiGreen, label)
	case check.Fail, check.Error:
		return t.paint(ansiRed, label)
	case check.Warn:
		return t.paint(ansiYellow, label)
	case check.Noted:
		return t.paint(ansiBlue, label)
	}
	return t.paint(ansiDim, label)
}

func (t *Text) stepLabel(st event.StepStatus) string {
	label := fmt.Sprintf("%-8s", st)
	switch st {
	case event.StepOK:
		return t.paint(ansiGreen, label)
	case event.StepFailed, event.StepError:
		return t.paint(ansiRed, label)
	case event.StepRefused:
		return t.paint(ansiYellow, label)
	}
	return t.paint(ansiDim, label)
}

// Handle writes one event.
func (t *Text) Handle(ev event.Event) {
	t.sum.Add(ev)
	w := t.w
	hold := func(format string, args ...any) { t.pending = append(t.pending, fmt.Sprintf(format, args...)) }
	switch ev.Kind {
	case event.EventCaseStart:
		t.info[ev.Case] = ev.Info
		i := ev.Info
		fmt.Fprintf(w, "%s %s\n", t.paint(ansiBold, "=== "+ev.Case+":"), fmt.Sprintf("%s as %s, type %s", i.Device, i.Identifier, i.Type))
		if len(i.ExpectTrips) > 0 {
			fmt.Fprintf(w, "    expects to trip: %s\n", strings.Join(i.ExpectTrips, ", "))
		}
		if len(i.KnownTrips) > 0 {
			fmt.Fprintf(w, "    known findings (--expectations): %s\n", strings.Join(i.KnownTrips, ", "))
		}
	case event.EventExchange:
		if t.opt.Verbose || t.opt.Bodies {
			t.pending = append(t.pending, t.exchangeLines(ev.Exchange))
		}
	case event.EventWait:
		// Printed at once, not held for the step's end: the run is
		// visibly waiting, not stuck.
		fmt.Fprintf(w, "  %s %s\n", t.paint(ansiDim, "…"), ev.Message)
	case event.EventCheck:
		r := ev.Result
		notable := r.Status == check.Fail || r.Status == check.Warn || r.Status == check.Error || r.Status == check.Noted
		if !notable && !t.opt.Verbose {
			return
		}
		expected := ""
		if i := t.info[ev.Case]; i != nil && r.Tripped() && i.Expects(r.ID) {
			expected = " (expected)"
		}
		line := fmt.Sprintf("      %s %s%s", t.statusLabel(r.Status), r.ID, expected)
		switch {
		case r.Tripped():
			line += fmt.Sprintf(": %s\n            expected: %s\n            actual:   %s\n            rule:     %s (source: %s)", oneLine(r.Rule, 100), r.Expected, r.Actual, levelLabel(r), r.Source)
			line += evidenceLines(r, ev.Judged)
		case r.Detail != "" && r.Status == check.Noted:
			line += ": " + r.Detail
		case r.Detail != "" && r.Status != check.Skip:
			line += ": " + r.Detail
		case r.Detail != "" && t.opt.Verbose:
			line += ": " + r.Detail
		}
		hold("%s\n", line)
	case event.EventStepEnd:
		fmt.Fprintf(w, "  %-17s %s %s\n", ev.Step, t.stepLabel(ev.Status), ev.Message)
		t.writeStack(ev.Stack)
		for _, l := range t.pending {
			io.WriteString(w, l)
		}
		t.pending = t.pending[:0]
	case event.EventCaseEnd:
		c := t.sum.byName[ev.Case]
		for _, l := range t.pending {
			io.WriteString(w, l)
		}
		verdict := t.paint(ansiGreen, "PASS")
		if !c.Passed(t.opt.Strict) {
			verdict = t.paint(ansiRed, "FAIL")
		}
		fmt.Fprintf(w, "  %s outcome %s: %s\n", verdict, ev.Outcome, ev.Message)
		t.writeStack(ev.Stack)
		fmt.Fprintf(w, "      checks: %s\n\n", formatCounts(c.Counts))
		t.pending = t.pending[:0]
	case event.EventRunEnd:
		t.writeSummary()
	}
}

func (t *Text) writeSummary() {
	s := &t.sum
	w := t.w
	failed := s.Failed(t.opt.Strict)
	fmt.Fprintf(w, "%s %d cases, %d passed, %d failed\n", t.paint(ansiBold, "Summary:"), len(s.Cases), len(s.Cases)-len(failed), len(failed))
	fmt.Fprintf(w, "  outcomes: %s\n", formatOutcomes(s.Outcomes()))
	fmt.Fprintf(w, "  checks:   %s\n", formatCounts(s.Totals()))
	if n := s.ExpectedTrips(); n > 0 {
		fmt.Fprintf(w, "            (%d of the failures and warnings were expected by %s)\n", n, expectedBy(s))
	}
	if tm := s.Timing(); !tm.Started.IsZero() {
		fmt.Fprintf(w, "  took:     %s\n", tm)
	}
	for _, c := range failed {
		fmt.Fprintf(w, "  %s %s\n", t.paint(ansiRed, "FAIL"), c.Name)
		for _, p := range c.Problems(t.opt.Strict) {
			fmt.Fprintf(w, "       %s\n", p)
		}
	}
	t.writeKnown()
}

// writeKnown lists what became of each entry of the expectations file.
func (t *Text) writeKnown() {
	k := t.sum.Known
	if k == nil {
		return
	}
	occurred, states := t.sum.KnownCounts()
	fmt.Fprintf(t.w, "\n%s (%s): %d entries; %d expected finding(s) occurred; stale %d, expired %d, unused %d\n", t.paint(ansiBold, "Expectations"),
		k.File, len(k.Entries), occurred, states[check.KnownStale], states[check.KnownExpired], states[check.KnownUnused])
	for _, e := range k.Entries {
		label := fmt.Sprintf("%-9s", e.State)
		switch e.State {
		case check.KnownStale, check.KnownExpired:
			label = t.paint(ansiYellow, label)
		case check.KnownUnused:
			label = t.paint(ansiDim, label)
		}
		name := "expectation " + e.String()
		sep := " "
		if e.State == check.KnownExpected || e.State == check.KnownUnused {
			sep = ": "
		}
		if e.State == check.KnownExpected {
			name = e.String()
		}
		fmt.Fprintf(t.w, "  %s %s%s%s\n", label, name, sep, knownLine(e, k.File))
	}
}

// writeStack shows a recovered panic's stack in verbose output, for the bug
// report; the plain output keeps the one-line hint.
func (t *Text) writeStack(stack string) {
	if !t.opt.Verbose || stack == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(stack, "\n"), "\n") {
		fmt.Fprintf(t.w, "      | %s\n", l)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// levelLabel shows a starred check's level as the catalogue does (MUST*).
func levelLabel(r *check.Result) string {
	if spec, ok := check.Lookup(r.ID); ok && spec.Starred {
		return string(r.Level) + "*"
	}
	return string(r.Level)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "")), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}
