package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A failing check's source links are rendered as links, in its row and in
// the index's pivot and catalogue, whatever check.SourceLinks resolves.
func TestHTMLRendersSourceLinks(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	res := &check.Result{ID: "PROF-004", Level: check.Must, Rule: "EnrollmentMode matches", Source: "[A] S2, S14", Status: check.Fail}
	events := []event.Event{
		{Kind: event.EventRunStart, Time: at},
		{Kind: event.EventCaseStart, Time: at, Case: "c", Info: &event.CaseInfo{}},
		{Kind: event.EventStepStart, Time: at, Case: "c", Step: event.StepProfile},
		{Kind: event.EventCheck, Time: at, Case: "c", Step: event.StepProfile, Result: res},
		{Kind: event.EventStepEnd, Time: at, Case: "c", Step: event.StepProfile, Status: event.StepFailed},
		{Kind: event.EventCaseEnd, Time: at, Case: "c"},
		{Kind: event.EventRunEnd, Time: at},
	}
	v := newHTMLView(events, Options{})
	links := []check.Link{{Label: "S14", URL: "https://developer.apple.com/documentation/devicemanagement/profile?a=1&b=<2>"}}
	v.CaseList[0].Steps[0].Notable[0].Links = links
	v.Pivot[0].Links = links
	var b bytes.Buffer
	require.NoError(t, writeHTMLPage(&b, v))
	link := ` <a href="https://developer.apple.com/documentation/devicemanagement/profile?a=1&amp;b=%3c2%3e" rel="noreferrer">S14</a>`
	assert.Contains(t, b.String(), `(MUST; [A] S2, S14)</span>`+link+`</td>`)
	assert.Contains(t, b.String(), `(MUST; [A] S2, S14)</span>`+link+`</div>`)
}
