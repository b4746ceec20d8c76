package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A wait is printed the moment it starts, not held for the end of its
// step: a run waiting 17 s for a TOTP step must not look stuck. The
// summary does not count it as anything.
func TestTextShowsWaitAtOnce(t *testing.T) {
	var out bytes.Buffer
	text := report.NewText(&out, report.TextOptions{})
	msg := "waiting 17 s for the next TOTP step of alice@acme.test: its current code was used by case iphone@18.2/first"
	for _, ev := range []event.Event{
		{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Case: "c", Info: &event.CaseInfo{Identifier: "alice@acme.test", Type: "user"}},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepWebLogin},
	} {
		text.Handle(ev)
	}
	before := out.Len()
	text.Handle(event.Event{Kind: event.EventWait, Case: "c", Step: event.StepWebLogin, Wait: 17 * time.Second, Message: msg})
	require.Greater(t, out.Len(), before, "the wait line is written at once")
	assert.Equal(t, "  … "+msg+"\n", out.String()[before:])
	text.Handle(event.Event{Kind: event.EventStepEnd, Case: "c", Step: event.StepWebLogin, Status: event.StepOK, Message: "signed in"})
	assert.Equal(t, 1, strings.Count(out.String(), msg))
	assert.Empty(t, text.Summary().Totals())
}
