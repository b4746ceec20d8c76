package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// knownFindings is a run's --expectations file, split by the run's day.
type knownFindings struct {
	file            string
	active, expired []scenarios.Expectation
}

// loadExpectations reads --expectations; a nil result (no flag) does nothing.
func loadExpectations(path string, now time.Time) (*knownFindings, error) {
	if path == "" {
		return nil, nil
	}
	x, err := scenarios.LoadExpectations(path)
	var se *scenarios.Error
	if errors.As(err, &se) {
		return nil, &ExitError{Code: report.ExitUsage, Err: fmt.Errorf("--expectations: %d problem(s):\n%s", len(se.Problems), se.Error()),
			Hint: "each entry needs check and reason; case (default *) and expires (YYYY-MM-DD) are optional; see README, 'Expected findings'"}
	}
	if err != nil {
		return nil, usageErr("--expectations: %v", err)
	}
	k := &knownFindings{file: path}
	k.active, k.expired = x.Split(now)
	return k, nil
}

// apply marks each case's known findings, through the mechanism expected
// trips use, so every report shows them as expected.
func (k *knownFindings) apply(cases []sim.Case) {
	if k == nil {
		return
	}
	for i := range cases {
		cases[i].Expect.Known = scenarios.Known(k.active, cases[i].Name)
	}
}

// verdict says, at the run's end, what became of each entry: which
// occurred, which no longer occur (so the file can shrink), which expired,
// and which this run could not judge. Cases that did not finish
// (interrupted, never started) judge nothing. The result goes on the run-end
// event, so every report lists it and re-renders it from the stream.
func (k *knownFindings) verdict(sum *report.Summary, checks check.Filter) *check.KnownFindings {
	if k == nil {
		return nil
	}
	var findings []scenarios.Finding
	finished := map[string]bool{}
	for _, c := range sum.Cases {
		if c.Outcome == "" || c.Outcome == event.OutcomeInterrupted {
			continue
		}
		finished[c.Name] = true
		for _, r := range c.Results {
			if r.Tripped() {
				findings = append(findings, scenarios.Finding{Case: c.Name, Check: r.ID})
			}
		}
	}
	out := &check.KnownFindings{File: k.file, Entries: []check.KnownFinding{}}
	counts := scenarios.Occurrences(k.active, findings)
	for i, e := range k.active {
		kf := knownFinding(e, counts[i])
		played := false
		for name := range finished {
			played = played || e.MatchCase(name)
		}
		switch {
		case counts[i] > 0:
			kf.State = check.KnownExpected
		case !played:
			kf.State, kf.Note = check.KnownUnused, "matches no case this run finished"
		case !judged(e, checks):
			kf.State, kf.Note = check.KnownUnused, "--checks leaves its check out"
		default:
			kf.State = check.KnownStale
		}
		out.Entries = append(out.Entries, kf)
	}
	counts = scenarios.Occurrences(k.expired, findings)
	for i, e := range k.expired {
		kf := knownFinding(e, counts[i])
		kf.State = check.KnownExpired
		out.Entries = append(out.Entries, kf)
	}
	return out
}

// onRunEnd puts the verdict on a recorded run's run-end event, for a run
// whose events were gathered first (step's).
func (k *knownFindings) onRunEnd(events []event.Event, checks check.Filter) {
	if k == nil {
		return
	}
	var sum report.Summary
	for _, ev := range events {
		sum.Add(ev)
	}
	for i := range events {
		if events[i].Kind == event.EventRunEnd {
			events[i].Expectations = k.verdict(&sum, checks)
		}
	}
}

func knownFinding(e scenarios.Expectation, n int) check.KnownFinding {
	kf := check.KnownFinding{Check: e.Check, Case: e.Case, Reason: e.Reason, Line: e.Line, Occurrences: n}
	if !e.Expires.IsZero() {
		kf.Expires = e.Expires.Format(time.DateOnly)
	}
	return kf
}

// judged reports whether the run's --checks lets an entry's check be seen.
func judged(e scenarios.Expectation, checks check.Filter) bool {
	for _, c := range check.Checks() {
		if check.Implemented(c.ID) && e.MatchCheck(c.ID) && checks.Match(c.ID) {
			return true
		}
	}
	return false
}
