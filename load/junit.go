package load

import (
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/report/junitxml"
	"github.com/enrollsim/enrollsim/sim/event"
)

// The junit format of a load follows the same Windy Road JUnit.xsd as the
// run's (report/testdata/junit.xsd): one testsuite "load" whose testcases
// agree with the exit code. "enrollments" (classname load) fails when the
// enrollments fail the gate; each threshold is a testcase (classname
// load-thresholds) that fails when crossed; each check that failed is a
// testcase (classname load-checks) that fails with --strict and passes
// otherwise, its counts in system-out; cases that ended in error (the
// tester could not finish them) and an interrupted load are <error>s of
// the testcase "tester". Classnames hold no dots, which Jenkins splits on.

type (
	junitSuites   = junitxml.Suites
	junitSuite    = junitxml.Suite
	junitProperty = junitxml.Property
	junitCase     = junitxml.Case
	junitMessage  = junitxml.Message
	junitText     = junitxml.Text
)

// WriteJUnit writes the result's gate as JUnit XML; tool names the
// enrollsim that wrote it.
func WriteJUnit(w io.Writer, r *Result, tool string) error {
	s := junitSuite{Name: "load", Package: "enrollsim", Time: fmt.Sprintf("%.3f", r.Elapsed().Seconds()),
		Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05"), Hostname: "enrollsim",
		Properties: []junitProperty{{Name: "tool", Value: tool}, {Name: "model", Value: r.Config.Model}, {Name: "mix", Value: r.Config.Mix}, {Name: "until", Value: r.Config.Until},
			{Name: "target", Value: r.Config.Target}, {Name: "shards", Value: strings.Join(r.Config.Shards, " ")}, {Name: "strict", Value: fmt.Sprint(r.Strict)}}}
	var out []string
	note := func(name, line string) { out = append(out, name+": "+line) }

	enr := junitCase{Name: "enrollments", Classname: "load", Time: s.Time}
	summary := fmt.Sprintf("%d enrollments: %d enrolled, %d failed, %d dropped", r.Cases, r.Enrolled(), r.Failed(), r.Dropped)
	if p := r.EnrollmentsProblem(); p != "" {
		enr.Failure = &junitMessage{Message: p, Type: "enrollments", Body: summary + "\n" + causes(r)}
	} else if r.FailRateGated() {
		note(enr.Name, summary+" (judged by the fail-rate threshold)")
	} else {
		note(enr.Name, summary)
	}
	s.Cases = append(s.Cases, enr)
	for _, t := range r.Thresholds {
		tc := junitCase{Name: t.Threshold, Classname: "load-thresholds", Time: "0.000"}
		line := "observed " + t.Observed
		if t.Note != "" {
			line += ": " + t.Note
		}
		if t.Crossed {
			tc.Failure = &junitMessage{Message: "crossed: " + line, Type: "threshold"}
		} else {
			note(tc.Name, line)
		}
		s.Cases = append(s.Cases, tc)
	}
	for _, id := range r.FailedChecks() {
		c := r.Checks[id]
		tc := junitCase{Name: id, Classname: "load-checks", Time: "0.000"}
		counts := fmt.Sprintf("failed %s over %d enrollments (warn %d, error %d)", times(c.Fail), r.Cases, c.Warn, c.Error)
		if r.Strict {
			tc.Failure = &junitMessage{Message: counts, Type: "check", Body: samplesOf(r, id)}
		} else {
			note(id, counts+"; not gating: --strict makes a failed check fail the load")
		}
		s.Cases = append(s.Cases, tc)
	}
	if tc, ok := testerCase(r); ok {
		s.Cases = append(s.Cases, tc)
	}
	for _, tc := range s.Cases {
		s.Tests++
		if tc.Failure != nil {
			s.Failures++
		}
		if tc.Error != nil {
			s.Errors++
		}
	}
	if len(out) > 0 {
		s.SystemOut = junitText(strings.Join(out, "\n") + "\n")
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// testerCase is the testcase "tester", an <error>, when the tester could
// not finish some cases or the load was interrupted.
func testerCase(r *Result) (junitCase, bool) {
	tc := junitCase{Name: "tester", Classname: "load", Time: "0.000"}
	var msgs []string
	if n := r.Outcomes[event.OutcomeError]; n > 0 {
		msgs = append(msgs, fmt.Sprintf("%d enrollments ended in error: the tester could not finish them", n))
	}
	if r.Interrupted {
		msgs = append(msgs, "the load was interrupted: these are the results so far")
	}
	if len(msgs) == 0 {
		return tc, false
	}
	tc.Error = &junitMessage{Message: strings.Join(msgs, "; "), Type: "error", Body: causes(r)}
	return tc, true
}

// causes lists the failed cases by cause, one a line.
func causes(r *Result) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(r.Causes)) {
		fmt.Fprintf(&b, "%s: %d\n", k, r.Causes[k])
	}
	return b.String()
}

// samplesOf is the sample failures' lines of check id, which say what the
// server did.
func samplesOf(r *Result, id string) string {
	var b strings.Builder
	for _, f := range r.Failures {
		for _, c := range f.Checks {
			if strings.HasPrefix(c, id+" ") {
				fmt.Fprintf(&b, "%s: %s\n", f.Case, c)
			}
		}
	}
	return b.String()
}
