package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

const knownFile = "qa/known <&>.yaml"

// knownRun is the synthetic run with an expectations file's verdict on its
// run-end event, an entry in each state.
func knownRun(t *testing.T) []event.Event {
	t.Helper()
	events := syntheticRun(t)
	end := &events[len(events)-1]
	require.Equal(t, event.EventRunEnd, end.Kind)
	end.Expectations = &check.KnownFindings{File: knownFile, Entries: []check.KnownFinding{
		{Check: "WK-001", Case: "odd*", Reason: "TICKET-1: the <b>DNS</b> & co", Line: 2, State: check.KnownExpected, Occurrences: 1},
		{Check: "ENR-002", Case: "*", Reason: "TICKET-3", Line: 5, State: check.KnownStale},
		{Check: "WK-*", Case: "bob-*/*", Reason: "another tenant", Line: 7, State: check.KnownUnused, Note: "matches no case this run finished"},
		{Check: "PROF-011", Case: "*", Reason: "TICKET-7", Expires: "2026-01-01", Line: 10, State: check.KnownExpired},
	}}
	return events
}

func TestExpectationsInJSON(t *testing.T) {
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(render(t, "json", knownRun(t), false), &doc))
	var known struct {
		File    string
		Entries []map[string]any
	}
	require.Contains(t, doc, "expectations")
	require.NoError(t, json.Unmarshal(doc["expectations"], &known))
	assert.Equal(t, knownFile, known.File)
	require.Len(t, known.Entries, 4)
	assert.Equal(t, map[string]any{"check": "WK-001", "case": "odd*", "reason": "TICKET-1: the <b>DNS</b> & co", "line": 2.0, "state": "expected", "occurrences": 1.0}, known.Entries[0])
	assert.Equal(t, "stale", known.Entries[1]["state"])
	assert.Equal(t, "matches no case this run finished", known.Entries[2]["note"])
	assert.Equal(t, "2026-01-01", known.Entries[3]["expires"])

	var plain map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(render(t, "json", syntheticRun(t), false), &plain))
	_, found := plain["expectations"]
	assert.False(t, found, "a run without --expectations has no such key")
}

func TestExpectationsInJUnit(t *testing.T) {
	out := render(t, "junit", knownRun(t), false)
	require.NoError(t, xmllint(t, out))
	d := parseJUnit(t, out)
	require.Len(t, d.Suites, 2)
	s := d.Suites[1]
	assert.Equal(t, "expectations", s.Name)
	assert.Equal(t, knownFile, s.prop("file"))
	assert.Equal(t, 4, s.Tests)
	assert.Equal(t, 3, s.Skipped)
	assert.Equal(t, 0, s.Failures+s.Errors, "no state of an entry fails the gate by itself")
	assert.Nil(t, s.find("WK-001 on odd*").Skipped)
	assert.Contains(t, s.Out, "WK-001 on odd* (line 2): expected: 1 finding(s); TICKET-1: the <b>DNS</b> & co")
	stale := s.find("ENR-002 on *")
	require.NotNil(t, stale.Skipped)
	assert.Equal(t, "stale: no longer occurs: remove it from "+knownFile, stale.Skipped.Message)
	assert.Equal(t, "unused: matches no case this run finished: not judged", s.find("WK-* on bob-*/*").Skipped.Message)
	assert.Equal(t, "expired: expired on 2026-01-01 and no longer applies: its findings count again", s.find("PROF-011 on *").Skipped.Message)
	assert.Contains(t, string(out), "1 cases, 9 tests, 2 failures, 0 errors, 5 skipped", "the totals count the entries")

	assert.Len(t, parseJUnit(t, render(t, "junit", syntheticRun(t), false)).Suites, 1, "no expectations suite without a file")
}

func TestExpectationsInTextMarkdownHTML(t *testing.T) {
	events := knownRun(t)
	text := string(render(t, "text", events, false))
	assert.Contains(t, text, "\nExpectations (qa/known <&>.yaml): 4 entries; 1 expected finding(s) occurred; stale 1, expired 1, unused 1\n"+
		"  expected  WK-001 on odd* (line 2): 1 finding(s); TICKET-1: the <b>DNS</b> & co\n"+
		"  stale     expectation ENR-002 on * (line 5) no longer occurs: remove it from qa/known <&>.yaml\n"+
		"  unused    expectation WK-* on bob-*/* (line 7): matches no case this run finished: not judged\n"+
		"  expired   expectation PROF-011 on * (line 10) expired on 2026-01-01 and no longer applies: its findings count again\n")

	md := string(render(t, "markdown", events, false))
	assert.Contains(t, md, "**Expectations** (qa/known &lt;&amp;&gt;.yaml): 4 entries; 1 expected finding(s) occurred; stale 1, expired 1, unused 1.")
	assert.Contains(t, md, "| ENR-002 on \\* (line 5) | ⚠️ stale | 0 | no longer occurs: remove it from qa/known &lt;&amp;&gt;.yaml |")
	assert.NotContains(t, string(render(t, "markdown", syntheticRun(t), false)), "Expectations")

	page := string(render(t, "html", events, false))
	assert.Contains(t, page, "<h3>Expectations</h3>")
	assert.Contains(t, page, `<span class="badge s-warn">stale</span>`)
	assert.Contains(t, page, "TICKET-1: the &lt;b&gt;DNS&lt;/b&gt; &amp; co")
	assert.NotContains(t, page, "<b>DNS</b>")
}

// The states travel in the stream: every format re-rendered from the
// saved jsonl is the same.
func TestExpectationsSurviveTheStream(t *testing.T) {
	events := knownRun(t)
	var saved []event.Event
	require.NoError(t, report.ReadJSONL(bytes.NewReader(render(t, "jsonl", events, false)), func(ev event.Event) { saved = append(saved, ev) }))
	for _, format := range report.FormatNames() {
		assert.Equal(t, string(render(t, format, events, false)), string(render(t, format, saved, false)), format)
	}
	assert.True(t, strings.Contains(string(render(t, "jsonl", saved, false)), `"expectations":{"file":`))
}
