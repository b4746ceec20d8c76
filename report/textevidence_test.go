package report

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

func TestSeqRanges(t *testing.T) {
	for _, c := range []struct {
		in   []int
		want string
	}{
		{[]int{1}, "#1"},
		{[]int{1, 2, 3}, "#1-#3"},
		{[]int{9, 3, 4, 7}, "#3-#4, #7, #9"},
	} {
		assert.Equal(t, c.want, seqRanges(c.in))
	}
}

// -v: the numbered request line and the status line; -vv: the headers
// and the body, the decoded one for a binary body; a tripped check: its
// links and the exchanges it judged.
func TestTextVerbosity(t *testing.T) {
	x := &event.Exchange{Seq: 42, Method: "POST", URL: "https://mdm.acme.test/enroll", Status: 200, Duration: time.Millisecond,
		RequestHeaders: http.Header{"Content-Type": {"application/pkcs7-signature"}}, RequestBody: "(1211 bytes of binary data)",
		RequestDecoded:  "CMS SignedData (1211 bytes), signed by subject \"CN=device\"\n<plist/>",
		ResponseHeaders: http.Header{"Content-Type": {"application/x-apple-aspen-config"}}, ResponseBody: "(9 bytes of binary data)"}
	events := []event.Event{
		{Kind: event.EventCaseStart, Case: "c", Info: &event.CaseInfo{}},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepEnroll},
		{Kind: event.EventExchange, Case: "c", Step: event.StepEnroll, Exchange: x},
		{Kind: event.EventCheck, Case: "c", Step: event.StepEnroll, Judged: []int{41, 42}, Result: &check.Result{
			ID: "PROF-004", Level: check.Must, Status: check.Fail, Rule: "r", Source: "[A] S14", Expected: "BYOD", Actual: "ADDE"}},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepEnroll, Status: event.StepOK},
	}
	render := func(opt TextOptions) string {
		var b bytes.Buffer
		tx := NewText(&b, opt)
		for _, ev := range events {
			tx.Handle(ev)
		}
		return b.String()
	}
	plain := render(TextOptions{})
	assert.NotContains(t, plain, "#42 → POST")
	assert.Contains(t, plain, "            links:    S14 https://developer.apple.com/documentation/devicemanagement/mdm\n")
	assert.Contains(t, plain, "            judged:   exchanges #41-#42\n")

	v := render(TextOptions{Verbose: true})
	assert.Contains(t, v, "  #42 → POST https://mdm.acme.test/enroll\n      ← 200 application/x-apple-aspen-config (1ms)\n")
	assert.NotContains(t, v, "> Content-Type")

	vv := render(TextOptions{Verbose: true, Bodies: true})
	assert.Contains(t, vv, "  #42 → POST https://mdm.acme.test/enroll\n"+
		"        > Content-Type: application/pkcs7-signature\n"+
		"        | CMS SignedData (1211 bytes), signed by subject \"CN=device\"\n"+
		"        | <plist/>\n"+
		"      ← 200 application/x-apple-aspen-config (1ms)\n"+
		"        < Content-Type: application/x-apple-aspen-config\n"+
		"        | (9 bytes of binary data)\n")
}
