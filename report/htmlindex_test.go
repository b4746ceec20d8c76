package report_test

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"regexp"
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

// The index: failing cases first, a pivot of the findings by check, the
// filters, a print stylesheet, and an anchor for every step and verdict.
func TestHTMLIndex(t *testing.T) {
	events := loadRun(t)
	page := string(render(t, "html", events, true))
	table := page[strings.Index(page, `<h3 id="cases">`):]
	table = table[:strings.Index(table, "</table>")]
	rows := regexp.MustCompile(`<tr class="(v-pass|v-fail)"><td><a href="#case-\d+">([^<]+)</a>`).FindAllStringSubmatch(table, -1)
	require.Len(t, rows, 4)
	// Under --strict the callback-303 case fails by its warning; without,
	// it still comes first, for its warning.
	assert.Equal(t, []string{"v-fail", "iphone@18.2/callback-303"}, rows[0][1:])
	for _, r := range rows[1:] {
		assert.Equal(t, "v-pass", r[1], r[2])
	}
	lax := string(render(t, "html", events, false))
	assert.Regexp(t, `<h3 id="cases">Cases</h3>\n<table>\n<thead>.*</thead>\n<tbody>\n<tr class="v-pass"><td><a href="#case-2">iphone@18.2/callback-303</a>`, lax)
	assert.Contains(t, page, `<tr id="pivot-AUTH-004"><td class="mono"><a href="#check-AUTH-004">AUTH-004</a></td><td class="finding"><span class="badge s-warn">AUTH-004 warned on 1 device</span>`)
	assert.Contains(t, page, `<span class="badge s-fail">AUTH-003 failed on 1 device</span> <span class="muted">1 of 1 expected</span>`)
	assert.Regexp(t, `<a href="#case-3-check-AUTH-003">iphone@18.2/callback-no-token</a> <span class="badge s-fail">FAIL</span> <span class="muted">\(expected\)</span>`, page)
	for _, id := range []string{"f-failures", "f-probes", "f-skips"} {
		assert.Contains(t, page, `<input type="checkbox" id="`+id+`">`)
	}
	assert.Contains(t, page, "body:has(#f-failures:checked) .v-pass { display: none; }")
	assert.Contains(t, page, "@media print {")
	assert.Contains(t, page, `<tr id="check-WK-001">`, "every check judged is in the catalogue")

	// Every step, exchange and verdict has its anchor, and each is unique.
	ids := map[string]int{}
	for _, m := range regexp.MustCompile(` id="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		ids[m[1]]++
	}
	for id, n := range ids {
		assert.Equal(t, 1, n, id)
	}
	cases := map[string]int{}
	steps, checks := 0, 0
	for _, ev := range events {
		switch {
		case ev.Kind == event.EventCaseStart:
			cases[ev.Case] = len(cases) + 1
		case ev.Kind == event.EventStepStart:
			steps++
		case ev.Kind == event.EventCheck:
			checks++
		case ev.Exchange != nil:
			assert.Contains(t, ids, fmt.Sprintf("case-%d-x-%d", cases[ev.Case], ev.Exchange.Seq))
		}
	}
	count := func(re string) (n int) {
		for id := range ids {
			if regexp.MustCompile(re).MatchString(id) {
				n++
			}
		}
		return n
	}
	assert.Equal(t, steps, count(`^case-\d+-step-\d+$`))
	assert.Equal(t, checks, count(`^case-\d+-check-`))
}

// PROF-004's failure shows the profile decoded, links to the exchange it
// was judged on and to the check's sources.
func TestHTMLShowsTheEvidenceOfAFailure(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, err := device.LookupDevice("iphone@18.2")
	require.NoError(t, err)
	spec, ok := check.Lookup("PROF-004")
	require.True(t, ok)
	plist := `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>EnrollmentMode</key><string>ADDE</string><key>PayloadType</key><string>Configuration</string></dict></plist>`
	decoded := "CMS SignedData, signed by CN=MDM Profile Signing <acme>\n" + plist
	res := &check.Result{ID: "PROF-004", Level: spec.Level, Rule: spec.Rule, Source: spec.Source, Status: check.Fail,
		Expected: "EnrollmentMode BYOD (discovery said mdm-byod)", Actual: "EnrollmentMode ADDE"}
	c := "iphone@18.2/user"
	events := []event.Event{
		{Kind: event.EventRunStart, Time: at, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Time: at, Case: c, Info: &event.CaseInfo{Device: d, Identifier: "alice@acme.test", Type: "user"}},
		{Kind: event.EventStepStart, Time: at, Case: c, Step: event.StepProfile},
		{Kind: event.EventExchange, Time: at, Case: c, Step: event.StepProfile, Exchange: &event.Exchange{Seq: 7, Purpose: "profile", Method: "POST", URL: "https://mdm.acme.test/enroll",
			Status: 200, ResponseHeaders: http.Header{"Content-Type": {"application/x-apple-aspen-config"}},
			ResponseBody: "(4276 bytes of binary data)", ResponseDecoded: decoded, RequestDecoded: "<plist>the device's signed request</plist>"}},
		{Kind: event.EventExchange, Time: at, Case: c, Step: event.StepProfile, Exchange: &event.Exchange{Seq: 8, Purpose: "probe PROF-013: profile again", Probe: true, Method: "GET", URL: "https://mdm.acme.test/enroll?again", Status: 404}},
		{Kind: event.EventCheck, Time: at, Case: c, Step: event.StepProfile, Result: res, Judged: []int{7}},
		{Kind: event.EventStepEnd, Time: at, Case: c, Step: event.StepProfile, Status: event.StepFailed, Message: "the profile says ADDE"},
		{Kind: event.EventCaseEnd, Time: at, Case: c, Outcome: event.OutcomeProfileRejected},
		{Kind: event.EventRunEnd, Time: at},
	}
	var b bytes.Buffer
	require.NoError(t, report.WriteHTML(&b, events, report.Options{}))
	page := b.String()
	assert.Contains(t, page, "<details open><summary>Response body, decoded</summary>\n<pre>"+html.EscapeString(decoded)+"</pre></details>")
	assert.Contains(t, page, "<details open><summary>Request body, decoded</summary>\n<pre>&lt;plist&gt;the device&#39;s signed request&lt;/plist&gt;</pre></details>")
	assert.Contains(t, page, `<details class="x" id="case-1-x-7">`)
	assert.Contains(t, page, `<details class="x probe" id="case-1-x-8">`)
	assert.Contains(t, page, `<div class="muted">judged on <a href="#case-1-x-7">#7</a> </div>`)
	assert.Contains(t, page, `<span class="badge s-fail">PROF-004 failed on 1 device</span>`)
	// The source's links (Apple's pages), where the catalogue resolves them.
	for _, l := range check.SourceLinks(spec.Source) {
		assert.Contains(t, page, fmt.Sprintf(` <a href="%s" rel="noreferrer">%s</a>`, html.EscapeString(l.URL), html.EscapeString(l.Label)))
	}
}
