package tui

import (
	"net/http"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A binary body shows decoded, and a failing check names the exchange it
// judged (made by another step) and links its sources.
func TestDetailShowsDecodedBodiesAndEvidence(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 60})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 60})
	ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
	for _, ev := range []event.Event{
		{Kind: event.EventRunStart},
		{Kind: event.EventCaseStart, Case: "c", Info: &event.CaseInfo{Identifier: "alice@acme.test"}},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepEnroll},
		{Kind: event.EventExchange, Case: "c", Step: event.StepEnroll, Exchange: &event.Exchange{
			Seq: 7, Purpose: "enrollment with the token", Method: "POST", URL: "https://mdm.acme.test/enroll", Status: 200,
			RequestHeaders: ct("application/pkcs7-signature"), RequestBody: "(1211 bytes of binary data)",
			RequestDecoded:  "CMS SignedData (1211 bytes), signed by subject \"CN=device\"\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict><key>PRODUCT</key><string>iPhone17,2</string></dict>\n</plist>",
			ResponseHeaders: ct("application/x-apple-aspen-config"), ResponseBody: "(4278 bytes of binary data)", BodySize: 4278,
			ResponseDecoded: "CMS SignedData (4278 bytes), signed by subject \"CN=Acme MDM profile signing\"\n<plist version=\"1.0\">\n<dict><key>EnrollmentMode</key><string>ADDE</string></dict>\n</plist>",
		}},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepEnroll, Status: event.StepOK},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepProfile},
		{Kind: event.EventCheck, Case: "c", Step: event.StepProfile, Judged: []int{7}, Result: &check.Result{
			ID: "PROF-004", Level: check.Must, Status: check.Fail, Rule: "EnrollmentMode is BYOD", Source: "[A] S2, S14",
			Expected: "BYOD", Actual: "ADDE"}},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepProfile, Status: event.StepFailed},
	} {
		m.Update(EventMsg{Event: ev})
	}
	pane := func(step event.Step) string {
		for ci, c := range m.cases {
			for si, s := range c.steps {
				if s.step == step && s.started {
					m.selCase, m.selStep, m.follow = ci, si, false
				}
			}
		}
		// Wide enough for a whole URL on a line: narrower, it wraps.
		lines, _ := m.detail(160)
		return strings.Join(lines, "\n")
	}
	enroll := pane(event.StepEnroll)
	assert.Contains(t, enroll, "binary body, decoded:")
	assert.Contains(t, enroll, `CMS SignedData (4278 bytes), signed by subject "CN=Acme MDM profile signing"`)
	assert.Contains(t, enroll, "<key>PRODUCT</key>")
	assert.NotContains(t, enroll, "bytes of binary data")
	assert.NotContains(t, enroll, "<?xml", "the prologue says nothing")

	profile := pane(event.StepProfile)
	assert.Contains(t, profile, "Judged: #7 (enrollment with the token, enroll)")
	assert.Contains(t, profile, "Source: S2 https://developer.apple.com/documentation/devicemanagement/implementing-the-simple-authentication-account-driven-enrollment-flow")
	assert.Contains(t, profile, "S14 https://developer.apple.com/documentation/devicemanagement/mdm")
}
