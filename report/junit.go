package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/report/junitxml"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// The junit format follows the Windy Road JUnit.xsd (Apache Ant's schema,
// report/testdata/junit.xsd), which Jenkins, GitLab and GitHub test
// reporters all read. That schema is stricter than the de-facto dialect:
// <testsuites> carries no attributes (the run's totals go in a comment),
// every <testsuite> in it needs package, id, timestamp (no zone) and
// hostname, and ends with <system-out> and <system-err>; a <testcase>
// holds at most one of skipped, error or failure and no output of its own,
// so the notes of passing testcases (warnings, infos, expected failures)
// go to their suite's <system-out>, one line each, led by the testcase name.
// One addition, which the copy in testdata carries: a <testcase> may start
// with <properties>, as pytest's record_property writes them (CI readers
// show or ignore them); they hold the check's rule and status, and why a
// passing testcase passes.

type (
	junitSuites   = junitxml.Suites
	junitSuite    = junitxml.Suite
	junitProperty = junitxml.Property
	junitCase     = junitxml.Case
	junitMessage  = junitxml.Message
	junitText     = junitxml.Text
)

// junitTimestamp is the schema's ISO 8601 pattern: UTC, no zone, no fraction.
const junitTimestamp = "2006-01-02T15:04:05"

// WriteJUnit writes the junit format: a testsuite per case, a testcase per
// check result, and a testcase "outcome" per case. What is a <failure> or an
// <error> follows the exit code (CaseSummary.Verdict): a run that exits 0
// has neither; exit 1 has failures (server findings); exit 3 has errors (the
// tester could not play a case); what a case expected passes, with a
// property "expected" saying so.
func WriteJUnit(w io.Writer, events []event.Event, opt Options) error {
	r := fold(events, opt)
	doc := junitSuites{Suites: []junitSuite{}}
	var tests, failures, errs, skipped int
	classes := junitClassnames{}
	for i, c := range r.cases {
		s := junitSuiteFor(c, i, opt.Strict, classes.of(c.sum.Name))
		s.Properties = append(s.Properties, junitProperty{Name: "enrollsim_version", Value: r.toolVersion()}, junitProperty{Name: "schema_version", Value: SchemaVersion})
		tests, failures, errs, skipped = tests+s.Tests, failures+s.Failures, errs+s.Errors, skipped+s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	if r.sum.Known != nil {
		s := junitKnownSuite(r.sum.Known, len(r.cases), r.started)
		tests, skipped = tests+s.Tests, skipped+s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	bw, flush := buffered(w)
	fmt.Fprint(bw, xml.Header)
	// A comment may not hold "--"; the tool name is the only free text.
	tool := strings.ReplaceAll(r.toolName(), "--", "- -")
	took := ""
	if !r.started.IsZero() && !r.finished.IsZero() {
		// The time attributes are wall-clock seconds; say so when the
		// run's own clock was simulated, and by how much it moved.
		took = "; took " + strings.ReplaceAll(r.sum.Timing().String(), "--", "- -")
	}
	fmt.Fprintf(bw, "<!-- %s (report schema %s): %d cases, %d tests, %d failures, %d errors, %d skipped; strict %t; exit code %d%s -->\n",
		tool, SchemaVersion, len(r.cases), tests, failures, errs, skipped, opt.Strict, r.sum.ExitCode(opt.Strict), took)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	err := enc.Encode(doc)
	if err == nil {
		_, err = bw.WriteString("\n")
	}
	return flush(err)
}

// JUnitClassname is the classname of a case's testcases: its name with
// every '.' made '_' (iphone@18.2/auto → iphone@18_2/auto), since Jenkins
// and others split a classname at its last dot into package and class.
func JUnitClassname(caseName string) string {
	return strings.ReplaceAll(caseName, ".", "_")
}

// junitClassnames keeps classnames apart within a report: two case names
// that differ only in '.' against '_' would share one, so the later gets
// "~2", "~3"...
type junitClassnames map[string]string // classname → the case name holding it

func (m junitClassnames) of(caseName string) string {
	base := JUnitClassname(caseName)
	name := base
	for n := 2; ; n++ {
		holder, taken := m[name]
		if !taken || holder == caseName {
			m[name] = caseName
			return name
		}
		name = fmt.Sprintf("%s~%d", base, n)
	}
}

func junitSuiteFor(c *caseRun, id int, strict bool, classname string) junitSuite {
	cs := c.sum
	s := junitSuiteHead(c, id)
	var out []string
	note := func(name, line string) { out = append(out, name+": "+line) }
	seen := map[string]bool{}
	for _, step := range c.steps {
		took := seconds(step.duration())
		for _, ca := range step.checks {
			res := ca.r
			// The name is the check ID alone, so that a rewording of its
			// rule keeps the CI history; a check judged again in a later
			// step (TOK-008 in profile, then token-life) is told apart by
			// that step.
			name := res.ID
			if seen[name] {
				name = fmt.Sprintf("%s (%s)", res.ID, step.step)
			}
			seen[name] = true
			tc := junitCase{Name: name, Classname: classname, Time: took}
			// The rule's first sentence; the status when it is not a
			// pass (a passing testcase may hold a warning or an info).
			tc.Properties = []junitProperty{{Name: "rule", Value: ruleHeadline(res.Rule, 160)}}
			if res.Status != check.Pass {
				tc.Properties = append(tc.Properties, junitProperty{Name: "status", Value: string(res.Status)})
			}
			junitJudge(&tc, cs, res, strict, note)
			s.Cases = append(s.Cases, tc)
		}
	}
	outcome := junitOutcome(cs, strict, classname, seconds(c.duration()))
	if outcome.Error == nil && outcome.Failure == nil {
		note("outcome", strings.TrimSuffix(cs.Outcome+": "+cs.Message, ": "))
	}
	s.Cases = append(s.Cases, outcome)
	for _, tc := range s.Cases {
		s.Tests++
		switch {
		case tc.Failure != nil:
			s.Failures++
		case tc.Error != nil:
			s.Errors++
		case tc.Skipped != nil:
			s.Skipped++
		}
	}
	if len(out) > 0 {
		s.SystemOut = junitText(strings.Join(out, "\n") + "\n")
	}
	return s
}

// junitSuiteHead is a case's testsuite without its testcases.
func junitSuiteHead(c *caseRun, id int) junitSuite {
	cs := c.sum
	info := cs.Info
	pkg := "enrollsim"
	if info.Suite != "" {
		pkg = "enrollsim." + info.Suite
	}
	start := c.start
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	s := junitSuite{
		Name: cs.Name, Package: pkg, ID: id,
		Time:      seconds(c.duration()),
		Timestamp: start.UTC().Format(junitTimestamp),
		Hostname:  "enrollsim",
		Properties: []junitProperty{
			{Name: "device", Value: info.Device.String()},
			{Name: "identifier", Value: info.Identifier},
			{Name: "type", Value: info.Type},
			{Name: "scenario", Value: info.Scenario},
			{Name: "outcome", Value: cs.Outcome},
		},
		Cases: []junitCase{},
	}
	for _, p := range []junitProperty{
		{Name: "suite", Value: info.Suite}, {Name: "target", Value: info.Target}, {Name: "expect", Value: info.Expect},
		{Name: "expect_trips", Value: strings.Join(info.ExpectTrips, " ")}, {Name: "expect_outcome", Value: info.ExpectOutcome},
	} {
		if p.Value != "" {
			s.Properties = append(s.Properties, p)
		}
	}
	return s
}

// junitJudge fills a check's testcase by its ResultVerdict, and notes for
// the suite's system-out what a passing one has to say.
func junitJudge(tc *junitCase, cs *CaseSummary, res *check.Result, strict bool, note func(name, line string)) {
	switch cs.ResultVerdict(res, strict) {
	case ResultExpected:
		status := strings.ToUpper(string(res.Status))
		why, line := "", ""
		switch {
		case !res.Tripped():
			why = "blocked by the case's expected failure: " + firstNonEmpty(res.Detail, "not judged")
			line = "expected " + why
		case contains(cs.Info.ExpectTrips, res.ID):
			why = fmt.Sprintf("%s, as the case expects: %s", status, junitMessageText(res))
			line = fmt.Sprintf("expected failure (%s): %s", status, junitMessageText(res))
		default:
			why = fmt.Sprintf("%s, a known finding (--expectations): %s", status, junitMessageText(res))
			line = fmt.Sprintf("known finding (%s): %s", status, junitMessageText(res))
		}
		tc.Properties = append(tc.Properties, junitProperty{Name: "expected", Value: why})
		note(tc.Name, line)
	case ResultFailed:
		tc.Failure = &junitMessage{Message: junitMessageText(res), Type: levelLabel(res), Body: junitBody(res)}
	case ResultError:
		tc.Error = &junitMessage{Message: firstNonEmpty(res.Detail, "the tester could not judge this check"), Type: "error", Body: junitBody(res)}
	case ResultSkipped:
		tc.Skipped = &junitMessage{Message: firstNonEmpty(res.Detail, "not applicable")}
	default:
		switch res.Status {
		case check.Warn:
			note(tc.Name, "WARN "+junitMessageText(res))
		case check.Noted:
			note(tc.Name, "INFO "+firstNonEmpty(res.Detail, junitMessageText(res)))
		}
	}
}

// junitOutcome is a case's testcase "outcome": an <error> when the tester
// could not play the case (exit 3) or the run was interrupted (130), a
// <failure> when the case did not meet its expectations (exit 1), else a
// pass that says what the case expected.
func junitOutcome(cs *CaseSummary, strict bool, classname, took string) junitCase {
	tc := junitCase{Name: "outcome", Classname: classname, Time: took,
		Properties: []junitProperty{{Name: "outcome", Value: cs.Outcome}}}
	problems := cs.Problems(strict)
	body := fmt.Sprintf("Outcome: %s\nMessage: %s", cs.Outcome, cs.Message)
	if len(problems) > 0 {
		body += "\nProblems:\n  " + strings.Join(problems, "\n  ")
	}
	switch cs.Verdict(strict) {
	case CaseInterrupted:
		tc.Error = &junitMessage{Message: "the run was interrupted during this case", Type: "interrupted", Body: body}
	case CaseIncomplete:
		msg := "the case could not complete: " + firstNonEmpty(cs.Message, cs.Outcome, "it did not finish")
		if !cs.done {
			msg = "the case did not finish"
		}
		tc.Error = &junitMessage{Message: msg, Type: "incomplete", Body: body}
	case CaseFailed:
		tc.Failure = &junitMessage{Message: strings.Join(problems, "; "), Type: "outcome", Body: body}
	default:
		if want := cs.Info.ExpectOutcome; want != "" && cs.negative() {
			tc.Properties = append(tc.Properties, junitProperty{Name: "expected", Value: "outcome " + want + ", as the case expects"})
		} else if cs.negative() && cs.Outcome != event.OutcomeEnrolled {
			tc.Properties = append(tc.Properties, junitProperty{Name: "expected", Value: "outcome " + cs.Outcome + ", explained by the case's expected failures"})
		}
	}
	return tc
}

// junitKnownSuite is the testsuite "expectations": a testcase per entry of
// the expectations file, named by its check and case (its line is a
// property, so that editing the file keeps the CI history). An entry whose
// findings occurred passes, with its count and reason in system-out; a
// stale, expired or unused one is skipped with what to do about it, so CI
// shows it without failing the gate (an expired entry's findings fail their
// own cases).
func junitKnownSuite(k *check.KnownFindings, id int, start time.Time) junitSuite {
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	s := junitSuite{
		Name: "expectations", Package: "enrollsim", ID: id, Time: "0.000",
		Timestamp: start.UTC().Format(junitTimestamp), Hostname: "enrollsim",
		Properties: []junitProperty{{Name: "file", Value: k.File}, {Name: "schema_version", Value: SchemaVersion}},
		Cases:      []junitCase{},
	}
	var out []string
	seen := map[string]bool{}
	for _, e := range k.Entries {
		name := e.Check + " on " + e.Case
		if seen[name] {
			name = e.String()
		}
		seen[name] = true
		tc := junitCase{Name: name, Classname: "expectations", Time: "0.000",
			Properties: []junitProperty{{Name: "line", Value: fmt.Sprint(e.Line)}, {Name: "state", Value: e.State}}}
		line := e.State + ": " + knownLine(e, k.File)
		if e.State == check.KnownExpected {
			out = append(out, e.String()+": "+line) // for people: with its line
		} else {
			tc.Skipped = &junitMessage{Message: line}
			s.Skipped++
		}
		s.Cases = append(s.Cases, tc)
		s.Tests++
	}
	if len(out) > 0 {
		s.SystemOut = junitText(strings.Join(out, "\n") + "\n")
	}
	return s
}

// ruleHeadline is the first sentence of a rule, cut at a word to at most
// n bytes.
func ruleHeadline(rule string, n int) string {
	s := shortRule(rule, 1<<20)
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n-len(" …")], ' ')
	if cut <= 0 {
		return truncate(s, n)
	}
	return strings.TrimRight(s[:cut], ",;:") + " …"
}

// junitMessageText is a result's one-line message.
func junitMessageText(r *check.Result) string {
	if r.Expected == "" && r.Actual == "" {
		return r.ID + ": " + firstNonEmpty(r.Detail, shortRule(r.Rule, 200))
	}
	return fmt.Sprintf("expected %s; actual %s", r.Expected, r.Actual)
}

// junitBody is a failure's text: what was expected, what happened, the rule
// and where the spec says so.
func junitBody(r *check.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Check:    %s %s\n", r.ID, strings.ToUpper(string(r.Status)))
	if r.Expected != "" || r.Actual != "" {
		fmt.Fprintf(&b, "Expected: %s\nActual:   %s\n", r.Expected, r.Actual)
	}
	if r.Detail != "" {
		fmt.Fprintf(&b, "Detail:   %s\n", r.Detail)
	}
	fmt.Fprintf(&b, "Rule:     %s (%s)\nSource:   %s", oneLine(r.Rule, 2000), levelLabel(r), r.Source)
	return b.String()
}
