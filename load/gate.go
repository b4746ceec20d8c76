package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The gate of a load, what its exit code follows: every enrollment ends
// enrolled (none dropped), unless a fail-rate threshold says how many may
// not; no threshold is crossed; and with Strict, no check failed. A check
// FAILs when the server broke a MUST (a broken SHOULD, or a MUST whose
// basis is observation only, is a WARN, which Strict does not count).

// FailedChecks are the IDs of the checks that failed at least once, sorted.
func (r *Result) FailedChecks() []string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(r.Checks)) {
		if r.Checks[id].Fail > 0 {
			out = append(out, id)
		}
	}
	return out
}

// FailRateGated tells whether a fail-rate threshold judges the
// enrollments, in place of "every enrollment ends enrolled".
func (r *Result) FailRateGated() bool {
	for _, t := range r.Thresholds {
		if t.Metric == MetricFailRate {
			return true
		}
	}
	return false
}

// EnrollmentsProblem is why the enrollments fail the gate by the default
// rule, or "" when they pass it (or a fail-rate threshold judges them).
func (r *Result) EnrollmentsProblem() string {
	bad := r.Failed() + r.Dropped
	if r.FailRateGated() || bad == 0 {
		return ""
	}
	msg := fmt.Sprintf("%d of %d enrollments did not end enrolled", bad, r.Cases+r.Dropped)
	if r.Dropped > 0 {
		msg += fmt.Sprintf(" (%d failed, %d dropped)", r.Failed(), r.Dropped)
	}
	return msg
}

// GateProblems are why the load fails its gate, empty when it passes.
func (r *Result) GateProblems() []string {
	var out []string
	if p := r.EnrollmentsProblem(); p != "" {
		out = append(out, p)
	}
	for _, t := range r.Thresholds {
		if t.Crossed {
			out = append(out, fmt.Sprintf("threshold %s crossed (observed %s)", t.Threshold, t.Observed))
		}
	}
	if r.Strict {
		for _, id := range r.FailedChecks() {
			out = append(out, fmt.Sprintf("%s failed %s (--strict)", id, times(r.Checks[id].Fail)))
		}
	}
	return out
}

// checksLine is the failed checks on one line: "WK-002 120 times, WK-001 once".
func (r *Result) checksLine() string {
	var parts []string
	for _, id := range r.FailedChecks() {
		parts = append(parts, id+" "+times(r.Checks[id].Fail))
	}
	return strings.Join(parts, ", ")
}

func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
