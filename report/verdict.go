package report

import (
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// CaseVerdict is how a case counts toward the run's exit code. The exit
// code (Summary.ExitCode) and the junit report both derive from it, so a
// CI widget and the gate cannot disagree.
type CaseVerdict int

// The verdicts, in increasing weight.
const (
	// CasePassed: the case met its expectations (exit 0).
	CasePassed CaseVerdict = iota
	// CaseFailed: the server did what the case did not expect (exit 1).
	CaseFailed
	// CaseIncomplete: the tester could not play the case to its end: an
	// unexpected error outcome, or a case that never ended (exit 3).
	CaseIncomplete
	// CaseInterrupted: the run was stopped during the case (exit 130).
	CaseInterrupted
)

// Verdict is how the case counts toward the exit code under strict.
func (c *CaseSummary) Verdict(strict bool) CaseVerdict {
	switch {
	case c.Outcome == event.OutcomeInterrupted:
		return CaseInterrupted
	case !c.done || (c.Outcome == event.OutcomeError && c.Info.ExpectOutcome != event.OutcomeError):
		return CaseIncomplete
	case !c.Passed(strict):
		return CaseFailed
	}
	return CasePassed
}

// negative reports whether the case expects the server (or the run) to
// fail somewhere: checks that trip, an outcome other than enrolling, or a
// case that is not meant to enroll. What its failure blocks is expected too.
func (c *CaseSummary) negative() bool {
	if len(c.Info.ExpectTrips) > 0 || (c.Info.ExpectOutcome != "" && c.Info.ExpectOutcome != event.OutcomeEnrolled) ||
		(c.Info.Expect != "" && c.Info.Expect != "enroll") {
		return true
	}
	// A known finding of the deployment (--expectations) that occurred
	// explains what it blocked, as an expected trip does.
	for i := range c.Results {
		if expectedTrip(c, &c.Results[i]) {
			return true
		}
	}
	return false
}

// ResultVerdict is how one check result shows in a CI test report.
type ResultVerdict int

// The result verdicts.
const (
	// ResultPassed: a pass, info or (without strict) warning.
	ResultPassed ResultVerdict = iota
	// ResultExpected: a trip or a blocked check that the case expected
	// (a negative case's expected failure and what it blocked); passes.
	ResultExpected
	// ResultSkipped: not applicable, or not judged because an earlier
	// step failed: neither a pass nor a finding.
	ResultSkipped
	// ResultFailed: a server finding that counts against the case.
	ResultFailed
	// ResultError: the tester could not judge it in a case that could not
	// complete (exit 3) or was interrupted.
	ResultError
)

// ResultVerdict is how a result of case c shows in a CI test report. It
// follows Verdict: a result is an error only in a case whose verdict is
// incomplete or interrupted, and a failure only when it is among the case's
// Problems, so a run that exits 0 shows neither.
func (c *CaseSummary) ResultVerdict(r *check.Result, strict bool) ResultVerdict {
	switch {
	case expectedTrip(c, r):
		return ResultExpected
	case countsAgainst(c, r, strict):
		return ResultFailed
	case r.Status == check.Error && c.Verdict(strict) >= CaseIncomplete:
		return ResultError
	case r.Status == check.Error && c.negative():
		return ResultExpected
	case r.Status == check.Error, r.Status == check.Skip:
		return ResultSkipped
	}
	return ResultPassed
}
