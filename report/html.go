package report

import (
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// The html format is one self-contained file: inline CSS, no fetches.
// Collapsed parts are <details>, which open without JavaScript; the
// filters are checkboxes and CSS. A large run's case details are packed
// and unpacked by a script when opened (htmlpack.go). html/template
// escapes everything that comes from the events.

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is never run itself: each report runs a clone whose t
// belongs to its packer.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"t":   newPacker(false).text,
	"img": newPacker(false).img,
}).Parse(htmlSource))

type htmlView struct {
	Title, Tool, Started, Finished, Duration string
	Strict                                   bool
	Verdict, VerdictClass                    string
	ExitCode                                 int
	Cases, Passed, Failed, ExpectedTrips     int
	Totals                                   []htmlCount
	Outcomes                                 []htmlCount
	CaseList                                 []htmlCase
	// Rows are the cases failures first, for the index's table.
	Rows       []*htmlCase
	Suites     []htmlSuite
	Pivot      []*htmlPivot
	Catalogue  []*htmlPivot
	ExpectedBy string
	// Compact says the case details are packed (see htmlpack.go) and
	// unpacked by the page's script when a case is opened.
	Compact bool
	// Known is the expectations file's entries (nil without one).
	Known *htmlKnown
}

type htmlKnown struct {
	File, Counts string
	Entries      []htmlKnownEntry
}

type htmlKnownEntry struct {
	Name, State, Class, Line string
	Occurrences              int
}

type htmlCount struct {
	Label, Class string
	N            int
}

type htmlKV struct{ Name, Value string }

type htmlCase struct {
	Anchor, Name, Suite          string
	Verdict, VerdictClass        string
	Outcome, Message, Duration   string
	Props                        []htmlKV
	Facts                        []htmlKV
	Problems                     []string
	Counts                       []htmlCount
	Pass, Fail, Warn             int
	DeviceLabel, Type, StartedAt string
	Steps                        []htmlStep
	// Body is the case's rendered detail when it is inline.
	Body template.HTML
	// firstFinding is the anchor of each check's first finding.
	firstFinding map[string]string
	caseSum      *CaseSummary
}

type htmlStep struct {
	Anchor, Name, Status, Class, Message, Duration string
	StepSkipped                                    bool
	Exchanges                                      []htmlExchange
	Notable                                        []htmlCheck
	// Passed and Skipped are the quiet verdicts, listed by ID: the rule
	// is in the index's table of checks.
	Passed, Skipped []htmlCheck
	Shots           []htmlShot
}

// htmlShot is a screenshot in the timeline: embedded as a data: URI so the
// report stays one file, or a link when the file cannot be read.
type htmlShot struct {
	Name, Path string
	Src        template.URL
}

// maxEmbeddedShot bounds one embedded screenshot; a larger file is linked.
const maxEmbeddedShot = 4 << 20

func newHTMLShot(a *event.Artifact) htmlShot {
	s := htmlShot{Name: a.Name, Path: a.Path}
	data := a.Data
	if len(data) == 0 && a.Path != "" {
		if fi, err := os.Stat(a.Path); err == nil && fi.Size() <= maxEmbeddedShot {
			data, _ = os.ReadFile(a.Path)
		}
	}
	if len(data) > 0 && len(data) <= maxEmbeddedShot && a.MediaType == "image/png" {
		s.Src = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(data))
	}
	return s
}

type htmlExchange struct {
	Seq           int
	Anchor        string
	Purpose       string
	Probe         bool
	Method, URL   string
	Status        string
	Class         string
	Duration, TLS string
	// The headers as one text each ("Name: value" lines), as curl -v
	// shows them: in a packed report a whole block is one string, shared
	// by every exchange that sent the same headers.
	RequestHeaders, ResponseHeaders string
	RequestBody, ResponseBody       string
	BodySize                        int64
	Truncated                       bool
	Error                           string
	HasRequest, HasResponseBody     bool
	// RequestDecoded and ResponseDecoded are binary bodies as people read
	// them (a signed profile's plist and signer, a SCEP message).
	RequestDecoded, ResponseDecoded string
}

type htmlCheck struct {
	Anchor, ID, Status, Class, Level, Rule, Source string
	Expected, Actual, Detail                       string
	ExpectedTrip, Against                          bool
	Links                                          []check.Link
	// Judged are the exchanges the check's step made before the verdict:
	// the evidence it was judged on.
	Judged []htmlJudged
}

type htmlJudged struct {
	Seq    int
	Anchor string
}

// WriteHTML writes the html format.
func WriteHTML(w io.Writer, events []event.Event, opt Options) error {
	return writeHTMLPage(w, newHTMLView(events, opt))
}

func newHTMLView(events []event.Event, opt Options) *htmlView {
	r := fold(events, opt)
	s := &r.sum
	failed := s.Failed(opt.Strict)
	v := &htmlView{
		Title: r.title(), Tool: r.toolName(), Strict: opt.Strict,
		Started: stamp(r.started), Finished: stamp(r.finished),
		ExitCode: s.ExitCode(opt.Strict),
		Cases:    len(s.Cases), Passed: len(s.Cases) - len(failed), Failed: len(failed),
		ExpectedTrips: s.ExpectedTrips(), ExpectedBy: expectedBy(s),
		Verdict: "PASS", VerdictClass: "s-pass",
		Known: newHTMLKnown(s),
	}
	if !r.started.IsZero() && !r.finished.IsZero() {
		v.Duration = s.Timing().String()
	}
	if v.ExitCode != ExitOK {
		v.Verdict, v.VerdictClass = "FAIL", "s-fail"
	}
	totals := s.Totals()
	for _, st := range statusOrder {
		v.Totals = append(v.Totals, htmlCount{Label: strings.ToUpper(string(st)), Class: statusClass(st), N: totals[st]})
	}
	outcomes := s.Outcomes()
	names := make([]string, 0, len(outcomes))
	for k := range outcomes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v.Outcomes = append(v.Outcomes, htmlCount{Label: k, N: outcomes[k]})
	}
	judged := judgedByResult(events)
	for i, c := range r.cases {
		v.CaseList = append(v.CaseList, newHTMLCase(i, c, opt.Strict, judged))
	}
	v.index()
	return v
}

// judgedByResult maps each check event's result to the exchanges it was
// judged on; the fold keeps the result's pointer.
func judgedByResult(events []event.Event) map[*check.Result][]int {
	m := map[*check.Result][]int{}
	for _, ev := range events {
		if ev.Kind == event.EventCheck && ev.Result != nil && len(ev.Judged) > 0 {
			m[ev.Result] = ev.Judged
		}
	}
	return m
}

func newHTMLKnown(s *Summary) *htmlKnown {
	k := s.Known
	if k == nil {
		return nil
	}
	occurred, states := s.KnownCounts()
	h := &htmlKnown{File: k.File, Counts: fmt.Sprintf("%d entries; %d expected finding(s) occurred; stale %d, expired %d, unused %d",
		len(k.Entries), occurred, states[check.KnownStale], states[check.KnownExpired], states[check.KnownUnused])}
	for _, e := range k.Entries {
		class := "s-skip"
		switch e.State {
		case check.KnownExpected:
			class = "s-pass"
		case check.KnownStale, check.KnownExpired:
			class = "s-warn"
		}
		h.Entries = append(h.Entries, htmlKnownEntry{Name: e.String(), State: e.State, Class: class, Line: knownLine(e, k.File), Occurrences: e.Occurrences})
	}
	return h
}

func newHTMLCase(i int, c *caseRun, strict bool, judged map[*check.Result][]int) htmlCase {
	cs := c.sum
	info := cs.Info
	hc := htmlCase{
		Anchor: fmt.Sprintf("case-%d", i+1), Name: cs.Name, Suite: info.Suite,
		Verdict: verdict(cs, strict), VerdictClass: "s-pass",
		Outcome: cs.Outcome, Message: cs.Message, Duration: human(c.duration()),
		Problems: cs.Problems(strict),
		Pass:     cs.Counts[check.Pass], Fail: cs.Counts[check.Fail], Warn: cs.Counts[check.Warn],
		DeviceLabel: info.Device.Name + " · " + info.Device.Family.Platform() + " " + info.Device.OS.String(),
		Type:        info.Type, StartedAt: stamp(c.start),
		firstFinding: map[string]string{}, caseSum: cs,
	}
	if hc.Verdict == "FAIL" {
		hc.VerdictClass = "s-fail"
	}
	for _, p := range []htmlKV{
		{"Device", info.Device.String()}, {"Identifier", info.Identifier}, {"Enrollment type", info.Type},
		{"Target", info.Target}, {"Scenario", info.Scenario}, {"Suite", info.Suite}, {"Description", info.Description},
		{"Expects", info.Expect}, {"Expected trips", strings.Join(info.ExpectTrips, ", ")},
		{"Expected outcome", info.ExpectOutcome}, {"Body", info.Body}, {"Tags", strings.Join(info.Tags, ", ")},
	} {
		if p.Value != "" {
			hc.Props = append(hc.Props, p)
		}
	}
	for _, k := range sortedKeys(cs.Facts) {
		hc.Facts = append(hc.Facts, htmlKV{k, cs.Facts[k]})
	}
	for _, st := range statusOrder {
		if n := cs.Counts[st]; n > 0 {
			hc.Counts = append(hc.Counts, htmlCount{Label: strings.ToUpper(string(st)), Class: statusClass(st), N: n})
		}
	}
	seen := map[string]int{}
	for j, s := range c.steps {
		hc.Steps = append(hc.Steps, hc.newStep(j, s, strict, judged, seen))
	}
	return hc
}

// newStep renders one step. Anchors: case-N-step-J for the step,
// case-N-x-SEQ for an exchange and case-N-check-ID (-2, -3... when the ID
// is judged again) for a verdict.
func (hc *htmlCase) newStep(j int, s *stepRun, strict bool, judged map[*check.Result][]int, seen map[string]int) htmlStep {
	cs := hc.caseSum
	hs := htmlStep{
		Anchor: fmt.Sprintf("%s-step-%d", hc.Anchor, j+1), Name: string(s.step),
		Status: strings.ToUpper(string(s.status)), Class: stepClass(s.status), Message: s.message,
		StepSkipped: s.status == event.StepSkipped,
	}
	if hs.Status == "" {
		hs.Status = "UNFINISHED"
	}
	if !s.end.IsZero() {
		hs.Duration = human(s.end.Sub(s.start))
	}
	for _, xa := range s.exchanges {
		hx := newHTMLExchange(xa.x)
		hx.Anchor = fmt.Sprintf("%s-x-%d", hc.Anchor, xa.x.Seq)
		hs.Exchanges = append(hs.Exchanges, hx)
	}
	for _, a := range s.artifacts {
		hs.Shots = append(hs.Shots, newHTMLShot(a))
	}
	for _, ca := range s.checks {
		res := ca.r
		seen[res.ID]++
		hk := htmlCheck{
			Anchor: hc.Anchor + "-check-" + res.ID,
			ID:     res.ID, Status: strings.ToUpper(string(res.Status)), Class: statusClass(res.Status),
			Level: levelLabel(res), Rule: oneLine(res.Rule, 1000), Source: res.Source,
			Expected: res.Expected, Actual: res.Actual, Detail: res.Detail,
			ExpectedTrip: expectedTrip(cs, res), Against: countsAgainst(cs, res, strict),
		}
		if n := seen[res.ID]; n > 1 {
			hk.Anchor += fmt.Sprintf("-%d", n)
		}
		switch res.Status {
		case check.Pass:
			hs.Passed = append(hs.Passed, hk)
			continue
		case check.Skip:
			hs.Skipped = append(hs.Skipped, hk)
			continue
		}
		hk.Links = check.SourceLinks(res.Source)
		for _, seq := range judged[res] {
			hk.Judged = append(hk.Judged, htmlJudged{Seq: seq, Anchor: fmt.Sprintf("%s-x-%d", hc.Anchor, seq)})
		}
		if _, ok := hc.firstFinding[res.ID]; !ok && (res.Tripped() || res.Status == check.Error) {
			hc.firstFinding[res.ID] = hk.Anchor
		}
		hs.Notable = append(hs.Notable, hk)
	}
	return hs
}

func newHTMLExchange(x *event.Exchange) htmlExchange {
	he := htmlExchange{
		Seq: x.Seq, Purpose: x.Purpose, Probe: x.Probe, Method: x.Method, URL: x.URL,
		Duration: human(x.Duration), TLS: x.TLSVersion,
		RequestHeaders: headerText(x.RequestHeaders), ResponseHeaders: headerText(x.ResponseHeaders),
		RequestBody: x.RequestBody, ResponseBody: x.ResponseBody, BodySize: x.BodySize, Truncated: x.Truncated,
		Error: x.Error, RequestDecoded: x.RequestDecoded, ResponseDecoded: x.ResponseDecoded,
	}
	he.HasRequest = len(he.RequestHeaders) > 0 || he.RequestBody != "" || he.RequestDecoded != ""
	he.HasResponseBody = he.ResponseBody != ""
	switch {
	case x.Status == 0:
		he.Status, he.Class = "no response", "s-error"
	default:
		he.Status = fmt.Sprintf("%d %s", x.Status, http.StatusText(x.Status))
		switch {
		case x.Status >= 500:
			he.Class = "s-fail"
		case x.Status >= 400:
			he.Class = "s-warn"
		case x.Status >= 300:
			he.Class = "s-info"
		default:
			he.Class = "s-pass"
		}
	}
	return he
}

func headerText(h http.Header) string {
	var b strings.Builder
	for i, nv := range harHeaders(h) {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(nv.Name + ": " + nv.Value)
	}
	return b.String()
}

func statusClass(st check.Status) string {
	switch st {
	case check.Pass:
		return "s-pass"
	case check.Fail:
		return "s-fail"
	case check.Warn:
		return "s-warn"
	case check.Noted:
		return "s-info"
	case check.Error:
		return "s-error"
	}
	return "s-skip"
}

func stepClass(st event.StepStatus) string {
	switch st {
	case event.StepOK:
		return "s-pass"
	case event.StepFailed:
		return "s-fail"
	case event.StepRefused:
		return "s-warn"
	case event.StepError:
		return "s-error"
	}
	return "s-skip"
}

// stamp is a time for people, in UTC to the millisecond.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

// human is a duration rounded for people.
func human(d time.Duration) string {
	d = nonNegative(d)
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
