package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// caseSpec is one hand-made case for the junit tests: its info, the
// results of its discovery step (and of a later step, after), and how it
// ends ("" outcome: it never ends).
type caseSpec struct {
	name    string
	info    event.CaseInfo
	results []check.Result
	after   []check.Result // judged in the profile step
	later   []check.Result // judged in the token-life step, which takes 1 s
	outcome string
}

func result(t *testing.T, id string, st check.Status, detail string) check.Result {
	t.Helper()
	spec, ok := check.Lookup(id)
	require.True(t, ok, id)
	return check.Result{ID: id, Level: spec.Level, Status: st, Rule: spec.Rule, Source: spec.Source, Detail: detail, Actual: detail}
}

// runOf is a stream of the cases, each step taking 250 ms of wall time
// while the run's own (simulated) clock stands still.
func runOf(t *testing.T, interrupted bool, cases ...caseSpec) []event.Event {
	t.Helper()
	d, err := device.LookupDevice("iphone@18.2")
	require.NoError(t, err)
	sim := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	wall := sim.Add(time.Hour)
	tick := func() time.Time { wall = wall.Add(250 * time.Millisecond); return wall }
	evs := []event.Event{{Kind: event.EventRunStart, Time: sim, Wall: wall, Run: &event.RunInfo{Cases: len(cases)}}}
	step := func(c caseSpec, s event.Step, rs []check.Result, ticks int) {
		evs = append(evs, event.Event{Kind: event.EventStepStart, Time: sim, Wall: wall, Case: c.name, Step: s})
		var at time.Time
		for range ticks {
			at = tick()
		}
		for i := range rs {
			evs = append(evs, event.Event{Kind: event.EventCheck, Time: sim, Wall: at, Case: c.name, Step: s, Result: &rs[i]})
		}
		evs = append(evs, event.Event{Kind: event.EventStepEnd, Time: sim, Wall: at, Case: c.name, Step: s, Status: event.StepOK})
	}
	for _, c := range cases {
		info := c.info
		info.Device, info.Identifier, info.Type = d, "bob@example.test", "user"
		evs = append(evs, event.Event{Kind: event.EventCaseStart, Time: sim, Wall: wall, Case: c.name, Info: &info})
		step(c, event.StepDiscovery, c.results, 1)
		if len(c.after) > 0 {
			step(c, event.StepProfile, c.after, 1)
		}
		if len(c.later) > 0 {
			step(c, event.StepTokenLife, c.later, 4)
		}
		if c.outcome != "" {
			evs = append(evs, event.Event{Kind: event.EventCaseEnd, Time: sim, Wall: tick(), Case: c.name, Outcome: c.outcome, Message: "ended " + c.outcome})
		}
	}
	if !interrupted {
		evs = append(evs, event.Event{Kind: event.EventRunEnd, Time: sim, Wall: tick()})
	}
	return evs
}

// The junit report follows the exit code: exit 0 has no <failure> and no
// <error>; exit 1 has failures and no error; exit 3 and 130 have errors.
// What a case expects passes with a property "expected".
func TestJUnitAgreesWithTheExitCode(t *testing.T) {
	pass := func(id string) check.Result { return result(t, id, check.Pass, "") }
	enrolled := caseSpec{name: "plain/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{pass("WK-001"), result(t, "WK-003", check.Skip, "not applicable here")}, outcome: event.OutcomeEnrolled}
	negative := caseSpec{name: "wellknown-404/iphone@18.2", info: event.CaseInfo{Expect: "enroll", ExpectTrips: []string{"WK-001"}},
		results: []check.Result{result(t, "WK-001", check.Fail, "404"), result(t, "WK-002", check.Error, "blocked: no document")},
		outcome: event.OutcomeDiscoveryFailed}
	expectedError := caseSpec{name: "tls-bad/iphone@18.2", info: event.CaseInfo{Expect: "enroll", ExpectOutcome: event.OutcomeError},
		results: []check.Result{result(t, "WK-001", check.Error, "TLS handshake failed")}, outcome: event.OutcomeError}
	unexpected := caseSpec{name: "broken/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-001", check.Fail, "404"), result(t, "WK-002", check.Error, "blocked: no document")},
		outcome: event.OutcomeDiscoveryFailed}
	unreachable := caseSpec{name: "unreachable/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-001", check.Error, "could not reach acme.test: connection refused")}, outcome: event.OutcomeError}
	warned := caseSpec{name: "warned/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-016", check.Warn, "no Cache-Control")}, outcome: event.OutcomeEnrolled}
	unfinished := caseSpec{name: "cut/iphone@18.2", info: event.CaseInfo{Expect: "enroll"}, results: []check.Result{pass("WK-001")}}
	interrupted := caseSpec{name: "stopped/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-001", check.Error, "context canceled")}, outcome: event.OutcomeInterrupted}

	tests := []struct {
		name        string
		cases       []caseSpec
		strict      bool
		code        int
		errors      []string // "case/testcase" with an <error>
		failures    []string // with a <failure>
		expected    []string // passing with a property "expected"
		skipped     []string
		interrupted bool
	}{
		{name: "enrolled", cases: []caseSpec{enrolled}, code: 0, skipped: []string{"plain/iphone@18.2/WK-003"}},
		{name: "negative case: its failure and what it blocked are expected", cases: []caseSpec{enrolled, negative}, code: 0,
			expected: []string{"wellknown-404/iphone@18.2/WK-001", "wellknown-404/iphone@18.2/WK-002", "wellknown-404/iphone@18.2/outcome"}, skipped: []string{"plain/iphone@18.2/WK-003"}},
		{name: "expected error outcome", cases: []caseSpec{expectedError}, code: 0,
			expected: []string{"tls-bad/iphone@18.2/WK-001", "tls-bad/iphone@18.2/outcome"}},
		{name: "a server finding fails; what it blocked is skipped", cases: []caseSpec{enrolled, unexpected}, code: 1,
			failures: []string{"broken/iphone@18.2/WK-001", "broken/iphone@18.2/outcome"},
			skipped:  []string{"plain/iphone@18.2/WK-003", "broken/iphone@18.2/WK-002"}},
		{name: "unreachable target is an error", cases: []caseSpec{unreachable}, code: 3,
			errors: []string{"unreachable/iphone@18.2/WK-001", "unreachable/iphone@18.2/outcome"}},
		{name: "unreachable beside a finding", cases: []caseSpec{unexpected, unreachable}, code: 3,
			errors:   []string{"unreachable/iphone@18.2/WK-001", "unreachable/iphone@18.2/outcome"},
			failures: []string{"broken/iphone@18.2/WK-001", "broken/iphone@18.2/outcome"}, skipped: []string{"broken/iphone@18.2/WK-002"}},
		{name: "a warning passes", cases: []caseSpec{warned}, code: 0},
		{name: "a warning fails under strict", cases: []caseSpec{warned}, strict: true, code: 1,
			failures: []string{"warned/iphone@18.2/WK-016", "warned/iphone@18.2/outcome"}},
		{name: "a case that never ended", cases: []caseSpec{unfinished}, code: 3, errors: []string{"cut/iphone@18.2/outcome"}, interrupted: true},
		{name: "interrupted", cases: []caseSpec{enrolled, interrupted}, code: 130, skipped: []string{"plain/iphone@18.2/WK-003"},
			errors: []string{"stopped/iphone@18.2/WK-001", "stopped/iphone@18.2/outcome"}, interrupted: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := runOf(t, tt.interrupted, tt.cases...)
			require.Equal(t, tt.code, summaryOf(events).ExitCode(tt.strict))
			doc := render(t, "junit", events, tt.strict)
			require.NoError(t, xmllint(t, doc))
			var errs, fails, expected, skipped []string
			for _, s := range parseJUnit(t, doc).Suites {
				for _, tc := range s.Cases {
					id := s.Name + "/" + tc.Name
					switch {
					case tc.Error != nil:
						errs = append(errs, id)
					case tc.Failure != nil:
						fails = append(fails, id)
					case tc.Skipped != nil:
						skipped = append(skipped, id)
					case tc.prop("expected") != "(missing)":
						expected = append(expected, id)
					}
				}
			}
			assert.ElementsMatch(t, tt.errors, errs, "errors")
			assert.ElementsMatch(t, tt.failures, fails, "failures")
			assert.ElementsMatch(t, tt.expected, expected, "expected")
			assert.ElementsMatch(t, tt.skipped, skipped, "skipped")
			// The rule behind the table.
			switch tt.code {
			case report.ExitOK:
				assert.Empty(t, append(errs, fails...))
			case report.ExitFailed:
				assert.NotEmpty(t, fails)
				assert.Empty(t, errs)
			default:
				assert.NotEmpty(t, errs)
			}
		})
	}
}

func TestJUnitOutcomeOfAnUnreachableTarget(t *testing.T) {
	events := runOf(t, false, caseSpec{name: "unreachable/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-001", check.Error, "could not reach acme.test")}, outcome: event.OutcomeError})
	s := parseJUnit(t, render(t, "junit", events, false)).Suites[0]
	outcome := s.find("outcome")
	require.NotNil(t, outcome.Error)
	assert.Nil(t, outcome.Failure)
	assert.Equal(t, "incomplete", outcome.Error.Type)
	assert.Equal(t, "the case could not complete: ended error", outcome.Error.Message)
	assert.Contains(t, outcome.Error.Body, "Problems:\n  the case could not complete: ended error")
	assert.Equal(t, 2, s.Errors)
	assert.Equal(t, 0, s.Failures)
}

func TestJUnitClassnames(t *testing.T) {
	for in, want := range map[string]string{
		"iphone@18.2/auto":            "iphone@18_2/auto",
		"alice-user/mac@15.2.1":       "alice-user/mac@15_2_1",
		"odd <b>\"case\"</b> & co":    "odd <b>\"case\"</b> & co",
		"scenario.v2/vision@2.2/user": "scenario_v2/vision@2_2/user",
	} {
		assert.Equal(t, want, report.JUnitClassname(in), in)
	}
	// Two cases whose names differ only in '.' against '_' keep apart.
	events := runOf(t, false,
		caseSpec{name: "a.b/iphone@18.2", info: event.CaseInfo{Expect: "enroll"}, outcome: event.OutcomeEnrolled},
		caseSpec{name: "a_b/iphone@18.2", info: event.CaseInfo{Expect: "enroll"}, outcome: event.OutcomeEnrolled})
	var got []string
	for _, s := range parseJUnit(t, render(t, "junit", events, false)).Suites {
		got = append(got, s.Cases[0].Classname)
	}
	assert.Equal(t, []string{"a_b/iphone@18_2", "a_b/iphone@18_2~2"}, got)
}

// A testcase is named by its check ID, the rule in a property; a check
// judged again in a later step is told apart by that step. Times are the
// step's (wall clock, though the run's clock stood still).
func TestJUnitNamesAndTimes(t *testing.T) {
	events := runOf(t, false, caseSpec{name: "tok/iphone@18.2", info: event.CaseInfo{Expect: "enroll"},
		results: []check.Result{result(t, "WK-001", check.Pass, "")},
		after:   []check.Result{result(t, "TOK-008", check.Pass, ""), result(t, "PROF-001", check.Pass, "")},
		later:   []check.Result{result(t, "TOK-008", check.Pass, "")},
		outcome: event.OutcomeEnrolled})
	s := parseJUnit(t, render(t, "junit", events, false)).Suites[0]
	var names []string
	for _, tc := range s.Cases {
		names = append(names, tc.Name)
		assert.NotContains(t, tc.Classname, ".")
	}
	assert.Equal(t, []string{"WK-001", "TOK-008", "PROF-001", "TOK-008 (token-life)", "outcome"}, names)
	wk := s.find("WK-001")
	assert.Equal(t, "0.250", wk.Time)
	assert.Equal(t, "1.000", s.find("TOK-008 (token-life)").Time)
	spec, _ := check.Lookup("WK-001")
	assert.True(t, strings.HasPrefix(strings.ReplaceAll(spec.Rule, "`", ""), strings.TrimSuffix(wk.prop("rule"), "…")), wk.prop("rule"))
	assert.Equal(t, "(missing)", wk.prop("status"), "a pass needs no status")
	assert.Equal(t, report.SchemaVersion, s.prop("schema_version"))
	assert.Equal(t, "v0.0.0-test", s.prop("enrollsim_version"))
}

// The jsonl stream's run-start carries the schema version.
func TestJSONLCarriesTheSchemaVersion(t *testing.T) {
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	run := &event.RunInfo{Cases: 1, Version: "v1.2.3"}
	j.Handle(event.Event{Kind: event.EventRunStart, Run: run})
	require.NoError(t, j.Err())
	assert.Contains(t, buf.String(), `"run":{"cases":1,"version":"v1.2.3","schema_version":"`+report.SchemaVersion+`"}`)
	assert.Empty(t, run.SchemaVersion, "the event itself is left alone")
}
