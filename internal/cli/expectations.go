package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
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

// report says, after the run, what became of each entry: which occurred,
// which no longer occur (so the file can shrink), which expired, and which
// this run could not judge. An interrupted run says nothing of stale ones.
func (k *knownFindings) report(w io.Writer, sum *report.Summary, cases []sim.Case, checks sim.CheckFilter) {
	if k == nil {
		return
	}
	var findings []scenarios.Finding
	finished := map[string]bool{}
	for _, c := range sum.Cases {
		if c.Outcome == "" || c.Outcome == sim.OutcomeInterrupted {
			continue
		}
		finished[c.Name] = true
		for _, r := range c.Results {
			if r.Tripped() {
				findings = append(findings, scenarios.Finding{Case: c.Name, Check: r.ID})
			}
		}
	}
	counts := scenarios.Occurrences(k.active, findings)
	var lines []string
	occurred, stale, unused := 0, 0, 0
	for i, e := range k.active {
		played := false
		for _, c := range cases {
			if e.MatchCase(c.Name) && finished[c.Name] {
				played = true
			}
		}
		switch {
		case counts[i] > 0:
			occurred += counts[i]
			lines = append(lines, fmt.Sprintf("  expected  %s: %d finding(s); %s", e, counts[i], e.Reason))
		case !played:
			unused++
			lines = append(lines, fmt.Sprintf("  unused    expectation %s matches no case this run finished: not judged", e))
		case !judged(e, checks):
			unused++
			lines = append(lines, fmt.Sprintf("  unused    expectation %s: --checks leaves its check out: not judged", e))
		default:
			stale++
			lines = append(lines, fmt.Sprintf("  stale     expectation %s no longer occurs: remove it from %s", e, k.file))
		}
	}
	for _, e := range k.expired {
		lines = append(lines, fmt.Sprintf("  expired   expectation %s expired on %s and no longer applies: its findings count again", e, e.Expires.Format(time.DateOnly)))
	}
	fmt.Fprintf(w, "\nExpectations (%s): %d entries; %d expected finding(s) occurred; stale %d, expired %d, unused %d\n",
		k.file, len(k.active)+len(k.expired), occurred, stale, len(k.expired), unused)
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// judged reports whether the run's --checks lets an entry's check be seen.
func judged(e scenarios.Expectation, checks sim.CheckFilter) bool {
	for _, c := range sim.Checks() {
		if sim.Implemented(c.ID) && e.MatchCheck(c.ID) && checks.Match(c.ID) {
			return true
		}
	}
	return false
}
