package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

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

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Package    string          `xml:"package,attr"`
	ID         int             `xml:"id,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  junitText       `xml:"system-out"`
	SystemErr  junitText       `xml:"system-err"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
}

type junitMessage struct {
	Message string // message attribute
	Type    string // type attribute, required on error and failure
	Body    string
}

// MarshalXML writes the body as text with its newlines as they are
// (encoding/xml would write ",chardata" fields' newlines as &#xA;).
func (m *junitMessage) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "message"}, Value: m.Message})
	if m.Type != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: m.Type})
	}
	return junitText(m.Body).MarshalXML(e, start)
}

// junitText is an element of text only, newlines kept.
type junitText string

// MarshalXML writes the element with t as its text.
func (t junitText) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	if t != "" {
		if err := e.EncodeToken(xml.CharData(t)); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// junitTimestamp is the schema's ISO 8601 pattern: UTC, no zone, no fraction.
const junitTimestamp = "2006-01-02T15:04:05"

// WriteJUnit writes the junit format: a testsuite per case, a testcase per
// check result, and a testcase "outcome" per case that fails when the case
// did not meet its expectations.
func WriteJUnit(w io.Writer, events []event.Event, opt Options) error {
	r := fold(events, opt)
	doc := junitSuites{Suites: []junitSuite{}}
	var tests, failures, errs, skipped int
	for i, c := range r.cases {
		s := junitSuiteFor(c, i, opt.Strict)
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
	fmt.Fprintf(bw, "<!-- %s: %d cases, %d tests, %d failures, %d errors, %d skipped; strict %t; exit code %d%s -->\n",
		tool, len(r.cases), tests, failures, errs, skipped, opt.Strict, r.sum.ExitCode(opt.Strict), took)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	err := enc.Encode(doc)
	if err == nil {
		_, err = bw.WriteString("\n")
	}
	return flush(err)
}

func junitSuiteFor(c *caseRun, id int, strict bool) junitSuite {
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
			{"device", info.Device.String()},
			{"identifier", info.Identifier},
			{"type", info.Type},
			{"scenario", info.Scenario},
			{"outcome", cs.Outcome},
		},
		Cases: []junitCase{},
	}
	for _, p := range []junitProperty{
		{"suite", info.Suite}, {"target", info.Target}, {"expect", info.Expect},
		{"expect_trips", strings.Join(info.ExpectTrips, " ")}, {"expect_outcome", info.ExpectOutcome},
	} {
		if p.Value != "" {
			s.Properties = append(s.Properties, p)
		}
	}
	var out []string
	note := func(name, line string) { out = append(out, name+": "+line) }
	for _, step := range c.steps {
		for _, ca := range step.checks {
			res := ca.r
			tc := junitCase{Name: res.ID + " " + shortRule(res.Rule, 80), Classname: cs.Name, Time: seconds(ca.elapsed)}
			switch {
			case expectedTrip(cs, res):
				note(tc.Name, fmt.Sprintf("expected failure (%s): %s", strings.ToUpper(string(res.Status)), junitMessageText(res)))
			case countsAgainst(cs, res, strict):
				tc.Failure = &junitMessage{Message: junitMessageText(res), Type: levelLabel(res), Body: junitBody(res)}
			case res.Status == check.Warn:
				note(tc.Name, "WARN "+junitMessageText(res))
			case res.Status == check.Skip:
				tc.Skipped = &junitMessage{Message: firstNonEmpty(res.Detail, "not applicable")}
			case res.Status == check.Error:
				tc.Error = &junitMessage{Message: firstNonEmpty(res.Detail, "the tester could not judge this check"), Type: "error", Body: junitBody(res)}
			case res.Status == check.Noted:
				note(tc.Name, "INFO "+firstNonEmpty(res.Detail, junitMessageText(res)))
			}
			s.Cases = append(s.Cases, tc)
		}
	}
	outcome := junitCase{Name: "outcome", Classname: cs.Name, Time: "0.000"}
	if problems := cs.Problems(strict); len(problems) > 0 {
		body := fmt.Sprintf("Outcome: %s\nMessage: %s\nProblems:\n  %s", cs.Outcome, cs.Message, strings.Join(problems, "\n  "))
		outcome.Failure = &junitMessage{Message: strings.Join(problems, "; "), Type: "outcome", Body: body}
	} else {
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

// junitKnownSuite is the testsuite "expectations": a testcase per entry of
// the expectations file. An entry whose findings occurred passes, with its
// count and reason in system-out; a stale, expired or unused one is
// skipped with what to do about it, so CI shows it without failing the
// gate (an expired entry's findings fail their own cases).
func junitKnownSuite(k *check.KnownFindings, id int, start time.Time) junitSuite {
	if start.IsZero() {
		start = time.Unix(0, 0)
	}
	s := junitSuite{
		Name: "expectations", Package: "enrollsim", ID: id, Time: "0.000",
		Timestamp: start.UTC().Format(junitTimestamp), Hostname: "enrollsim",
		Properties: []junitProperty{{"file", k.File}},
		Cases:      []junitCase{},
	}
	var out []string
	for _, e := range k.Entries {
		tc := junitCase{Name: e.String(), Classname: "expectations", Time: "0.000"}
		line := e.State + ": " + knownLine(e, k.File)
		if e.State == check.KnownExpected {
			out = append(out, tc.Name+": "+line)
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
