package report_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// simulatedRun is the synthetic run as an embedded run records it: the
// run's clock jumps 18 minutes over TOTP waits while 1.2 s pass for real.
func simulatedRun(t *testing.T) []event.Event {
	events := syntheticRun(t)
	w0 := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	t0 := events[0].Time
	for i := range events {
		real := events[i].Time.Sub(t0) * 1200 / 1007 // 1007 ms of stream → 1.2 s
		events[i].Wall = w0.Add(real)
		events[i].Time = t0.Add(time.Duration(i) * 18 * time.Minute / time.Duration(len(events)-1))
	}
	return events
}

// "took 18 s" must never describe a run that took one second: every
// format gives the wall time, and the simulated clock apart.
func TestReportsGiveWallTimeAndSimulatedTimeApart(t *testing.T) {
	const took = "took 1.2s (simulated clock: 18m0s; the embedded target skips ahead instead of waiting for TOTP steps)"
	events := simulatedRun(t)
	for _, format := range []string{"text", "markdown", "junit", "html"} {
		out := string(render(t, format, events, false))
		if format == "text" {
			assert.Contains(t, out, "  took:     1.2s (simulated clock: 18m0s;", format)
			continue
		}
		assert.Contains(t, out, took, format)
	}
	junit := string(render(t, "junit", events, false))
	assert.Contains(t, junit, `timestamp="2026-05-06T07:08:09"`, "junit timestamps are the wall clock's")
	assert.NotContains(t, junit, `time="1080.000"`, "nor the simulated 18 minutes as the suite's time")

	var doc report.JSONReport
	require.NoError(t, json.Unmarshal(render(t, "json", events, false), &doc))
	assert.InDelta(t, 1.2, doc.Seconds, 1e-9)
	require.NotNil(t, doc.SimulatedClock)
	assert.InDelta(t, 18*60, doc.SimulatedClock.Seconds, 1e-9)
	assert.True(t, doc.Started.Equal(events[0].Wall))
	assert.True(t, doc.SimulatedClock.Started.Equal(events[0].Time))
	require.Len(t, doc.Cases, 1)
	assert.Less(t, doc.Cases[0].Seconds, 1.3, "a case's duration is wall time too")

	// A run on the real clock says how long it took, and nothing about a
	// simulated one.
	plain := syntheticRun(t)
	for _, format := range []string{"text", "markdown", "junit", "html"} {
		out := string(render(t, format, plain, false))
		assert.Contains(t, out, "1.01s", format)
		assert.NotContains(t, out, "simulated clock", format)
	}
	var plainDoc report.JSONReport
	require.NoError(t, json.Unmarshal(render(t, "json", plain, false), &plainDoc))
	assert.Nil(t, plainDoc.SimulatedClock)
}

// The wall times survive the jsonl stream, so re-rendering a saved run
// gives the same report.
func TestWallTimeSurvivesJSONL(t *testing.T) {
	events := simulatedRun(t)
	var buf strings.Builder
	require.NoError(t, report.WriteJSONL(&buf, events, report.Options{}))
	assert.Contains(t, buf.String(), `"wall":"2026-05-06T07:08:09Z"`)
	var again []event.Event
	require.NoError(t, report.ReadJSONL(strings.NewReader(buf.String()), func(ev event.Event) { again = append(again, ev) }))
	for _, format := range []string{"text", "json", "junit", "markdown", "html", "har"} {
		assert.Equal(t, string(render(t, format, events, false)), string(render(t, format, again, false)), format)
	}
}
