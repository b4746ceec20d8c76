package tui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/net/html"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// xline is where an exchange sits in the detail content: its title line and
// the line after its last.
type xline struct {
	seq       int
	line, end int
}

// doc collects the detail pane's lines at a fixed width.
type doc struct {
	w     int
	lines []string
}

func (d *doc) add(s string) { d.lines = append(d.lines, truncate(s, d.w)) }

func (d *doc) blank() {
	if n := len(d.lines); n > 0 && d.lines[n-1] != "" {
		d.lines = append(d.lines, "")
	}
}

// wrap adds plain text wrapped at the width, every line indented and styled.
func (d *doc) wrap(st lipgloss.Style, indent int, text string) {
	d.para(st, strings.Repeat(" ", indent), indent, text, false)
}

// hang wraps with a first-line indent and a (deeper) hanging indent.
func (d *doc) hang(st lipgloss.Style, first, rest int, text string) {
	d.para(st, strings.Repeat(" ", first), rest, text, false)
}

// para adds text in lines that fit the width: the first starts with prefix
// (styled already), the others with rest spaces. Hard breaks anywhere (URLs,
// bodies); otherwise words are kept whole where they fit.
func (d *doc) para(st lipgloss.Style, prefix string, rest int, text string, hard bool) {
	for _, p := range strings.Split(text, "\n") {
		for {
			w := max(d.w-ansi.StringWidth(prefix), 8)
			line := ansi.Truncate(p, w, "")
			if !hard {
				line = fitWords(p, w)
			}
			if line == "" {
				_, n := utf8.DecodeRuneInString(p)
				line = p[:n]
			}
			d.add(prefix + st.Render(line))
			prefix = strings.Repeat(" ", rest)
			if p = p[len(line):]; !hard {
				p = strings.TrimLeft(p, " ")
			}
			if p == "" {
				break
			}
		}
	}
}

// fitWords is the first line of p at width w: whole words where they fit,
// a hard cut only for a word longer than the line. Unlike ansi.Wrap it never
// breaks at hyphens, which would split URLs at odd places.
func fitWords(p string, w int) string {
	if ansi.StringWidth(p) <= w {
		return p
	}
	cut := ansi.Truncate(p, w, "")
	if strings.HasPrefix(p[len(cut):], " ") {
		return strings.TrimRight(cut, " ")
	}
	if i := strings.LastIndex(cut, " "); i > 0 && strings.TrimSpace(cut[:i]) != "" {
		return strings.TrimRight(cut[:i], " ")
	}
	return cut
}

func (d *doc) section(st styles, title string) {
	d.blank()
	d.add(st.heading.Render(title))
}

// detail is the content of the detail pane for the selected step.
func (m *Model) detail(w int) ([]string, []xline) {
	st := m.st
	d := &doc{w: w}
	s, c := m.selected()
	if s == nil {
		d.wrap(st.dim, 0, "Nothing to show yet: the run is starting. The steps appear on the left as the engine reaches them.")
		return d.lines, nil
	}
	e, onDevice := explain(s.step, c.info)
	m.stepStatus(d, s, c)
	tripped, notes, passed := splitChecks(s.checks)
	// What went wrong comes first; then the story in the order:
	// what the person does, what the device sends and the server answers,
	// what the spec expects; the tester's own probes last.
	m.problems(d, c, s, tripped)
	d.section(st, "What happens")
	d.wrap(m.st.plain, 2, e.What)
	m.onDevice(d, s, c, onDevice)

	sent, probes := splitProbes(s.exchanges)
	var xl []xline
	if s.started {
		d.section(st, fmt.Sprintf("What the device sends and the server answers (%d exchange%s)", len(sent), plural(len(sent))))
		if len(sent) == 0 {
			d.wrap(st.dim, 2, "Nothing goes over the network in this step.")
		}
		xl = m.exchanges(d, c, sent, xl)
	}

	d.section(st, "The spec expects ("+e.Section+")")
	d.wrap(m.st.plain, 2, e.Expects)
	for _, r := range notes {
		m.result(d, c, r)
	}
	m.passed(d, c, passed)
	if len(probes) > 0 {
		d.section(st, fmt.Sprintf("The tester's probes (%d; a real device does not send these)", len(probes)))
		xl = m.exchanges(d, c, probes, xl)
	}
	return d.lines, xl
}

// stepStatus opens the pane with where the step stands, what it waits for
// and, on the case's last step, how the case ended.
func (m *Model) stepStatus(d *doc, s *stepState, c *caseState) {
	st := m.st
	status := s.status()
	wci, wsi, waiting := m.waitingRow()
	isNext := waiting && wci == m.selCase && wsi == m.selStep
	switch {
	case isNext:
		d.wrap(st.running, 0, "Next step. Press n or enter to run it, a to run to the end.")
	case status == rowNotRun:
		d.wrap(st.dim, 0, "Not run: the case ended before this step.")
		if c.message != "" {
			d.hang(st.dim, 0, 2, "Outcome "+clean(c.outcome)+": "+clean(c.message))
		}
	case status == rowPending:
		d.wrap(st.dim, 0, "Not run yet.")
	case status == rowRunning:
		d.wrap(st.running, 0, "Running…")
	default:
		label := m.statusStyle(status).Render(strings.ToUpper(status.word()))
		d.para(m.st.plain, label+" ", 2, clean(s.message), false)
	}
	for _, w := range s.waits {
		d.hang(st.running, 0, 2, clean(w))
	}
	if c.done && s == lastStarted(c) {
		verdict := ""
		if cs := m.caseSummary(c.name); cs != nil && !cs.Passed(m.opt.Strict) {
			verdict = " (not what the case expected)"
		}
		d.blank()
		d.hang(st.bold, 0, 2, "Case outcome: "+clean(c.outcome)+verdict+": "+clean(c.message))
	}
}

// splitChecks sorts a step's results by where the pane shows them: the
// tripped first, the notes with the spec, the passed and skipped last.
func splitChecks(results []check.Result) (tripped, notes, passed []check.Result) {
	for _, r := range results {
		switch r.Status {
		case check.Pass, check.Skip:
			passed = append(passed, r)
		case check.Noted:
			notes = append(notes, r)
		default:
			tripped = append(tripped, r)
		}
	}
	return tripped, notes, passed
}

// problems is the section of the tripped checks, the worst first, each
// with the exchanges it judged and the pages its rule comes from.
func (m *Model) problems(d *doc, c *caseState, s *stepState, tripped []check.Result) {
	if len(tripped) == 0 {
		return
	}
	sort.SliceStable(tripped, func(i, j int) bool { return rank(tripped[i].Status) < rank(tripped[j].Status) })
	d.section(m.st, fmt.Sprintf("Problems found (%d)", len(tripped)))
	for _, r := range tripped {
		m.result(d, c, r)
		m.evidence(d, c, s.judged[r.ID], r)
	}
}

// noteJudged keeps which exchanges a check judged (event.Event.Judged),
// for its problem's "Judged" line.
func (s *stepState) noteJudged(ev event.Event) {
	if len(ev.Judged) == 0 || ev.Result == nil {
		return
	}
	if s.judged == nil {
		s.judged = map[string][]int{}
	}
	s.judged[ev.Result.ID] = ev.Judged
}

// evidence follows a tripped check: the exchanges it judged, by the numbers
// their titles carry (] and [ scroll to them), and the links of its source.
func (m *Model) evidence(d *doc, c *caseState, judged []int, r check.Result) {
	if len(judged) > 0 {
		var parts []string
		for _, seq := range judged {
			parts = append(parts, fmt.Sprintf("#%d", seq)+exchangePurpose(c, seq))
		}
		d.hang(m.st.plain, 7, 9, "Judged: "+strings.Join(parts, ", "))
	}
	for i, l := range check.SourceLinks(r.Source) {
		label := "Source: "
		if i > 0 {
			label = "        "
		}
		d.para(m.st.dim, strings.Repeat(" ", 7)+label, 15, clean(l.Label)+" "+clean(l.URL), true)
	}
}

// exchangePurpose is " (purpose, step)" of the case's exchange seq, for a
// judged exchange another step made ("" when the case has none such).
func exchangePurpose(c *caseState, seq int) string {
	for _, s := range c.steps {
		for _, x := range s.exchanges {
			if x.Seq == seq {
				return " (" + clean(x.Purpose) + ", " + stepName(s.step) + ")"
			}
		}
	}
	return ""
}

// onDevice is what the person sees on the device, with the screenshots the
// step took of it.
func (m *Model) onDevice(d *doc, s *stepState, c *caseState, text string) {
	device := "the device"
	if c.info != nil {
		device = clean(familyName(c.info.Device.Family))
	}
	d.section(m.st, "On the "+device)
	d.wrap(m.st.plain, 2, text)
	if len(s.shots) == 0 {
		return
	}
	d.section(m.st, fmt.Sprintf("Screenshots (%d)", len(s.shots)))
	for _, a := range s.shots {
		where := a.Path
		if where == "" {
			where = a.File + " (not written)"
		}
		d.wrap(m.st.plain, 2, clean(a.Name)+": "+where)
	}
}

// splitProbes separates what a real device sends from the tester's probes,
// which the pane shows apart and last.
func splitProbes(xs []event.Exchange) (sent, probes []event.Exchange) {
	for _, x := range xs {
		if x.Probe {
			probes = append(probes, x)
		} else {
			sent = append(sent, x)
		}
	}
	return sent, probes
}

// exchanges adds each exchange and appends where it sits to xl, so the
// pane can scroll to an exchange by its sequence number.
func (m *Model) exchanges(d *doc, c *caseState, xs []event.Exchange, xl []xline) []xline {
	for _, x := range xs {
		start := len(d.lines)
		m.exchange(d, c, x)
		xl = append(xl, xline{seq: x.Seq, line: start, end: len(d.lines)})
	}
	return xl
}

// passed is the section of the checks that passed or were skipped, titled
// with their counts.
func (m *Model) passed(d *doc, c *caseState, passed []check.Result) {
	if len(passed) == 0 {
		return
	}
	counts := map[check.Status]int{}
	for _, r := range passed {
		counts[r.Status]++
	}
	title := fmt.Sprintf("Checks passed (%d)", counts[check.Pass])
	if counts[check.Skip] > 0 {
		title = fmt.Sprintf("Checks passed (%d) and skipped (%d)", counts[check.Pass], counts[check.Skip])
	}
	d.section(m.st, title)
	for _, r := range passed {
		m.result(d, c, r)
	}
}

func lastStarted(c *caseState) *stepState {
	var last *stepState
	for _, s := range c.steps {
		if s.started {
			last = s
		}
	}
	return last
}

func rank(s check.Status) int {
	switch s {
	case check.Fail:
		return 0
	case check.Warn:
		return 1
	case check.Error:
		return 2
	}
	return 3
}

// catalogueSection is where a check's family sits in the spec's section 4.
var catalogueSection = map[string]string{
	"WK": "§4.1", "RD": "§4.2", "ABM": "§4.3", "ENR": "§4.4", "AUTH": "§4.5", "TOTP": "§4.6",
	"TOK": "§4.7", "PROF": "§4.8", "CHK": "§4.9", "ESSO": "§4.10", "SEC": "§4.11",
}

// result renders one check: passes and skips in a line, the rest with the
// rule, Expected/Actual and the spec reference.
func (m *Model) result(d *doc, c *caseState, r check.Result) {
	st := m.st
	label := fmt.Sprintf("%-4s", strings.ToUpper(string(r.Status)))
	styled := map[check.Status]lipgloss.Style{check.Pass: st.pass, check.Fail: st.fail, check.Warn: st.warn,
		check.Error: st.fail, check.Noted: st.info, check.Skip: st.dim}[r.Status].Render(label)
	id := clean(r.ID)
	switch r.Status {
	case check.Pass:
		d.add("  " + styled + " " + st.bold.Render(id) + " " + st.dim.Render(oneLine(r.Rule)))
		return
	case check.Skip:
		d.add("  " + styled + " " + st.bold.Render(id) + " " + st.dim.Render(oneLine(r.Detail)))
		return
	}
	level := string(r.Level)
	if spec, ok := check.Lookup(r.ID); ok && spec.Starred {
		level += "*"
	}
	ref := level
	if sec := catalogueSection[strings.SplitN(r.ID, "-", 2)[0]]; sec != "" {
		ref += ", spec " + sec
	}
	if r.Source != "" {
		ref += ", source " + clean(r.Source)
	}
	expected := ""
	if c.info != nil && r.Tripped() && c.info.Expects(r.ID) {
		// The reports count both as expected; the person stepping through
		// should still see which list said so.
		expected = " · known finding (--expectations)"
		for _, id := range c.info.ExpectTrips {
			if id == r.ID {
				expected = " · expected by the scenario"
			}
		}
	}
	d.add("  " + styled + " " + st.bold.Render(id) + " " + st.dim.Render("("+ref+")"+expected))
	d.wrap(st.dim, 7, oneLine(r.Rule))
	if r.Expected != "" || r.Actual != "" {
		d.hang(m.st.plain, 7, 17, "Expected: "+clean(r.Expected))
		d.hang(m.st.plain, 7, 17, "Actual:   "+clean(r.Actual))
	}
	if r.Detail != "" {
		d.hang(m.st.plain, 7, 9, clean(r.Detail))
	}
}

// keyRequest and keyResponse are the headers shown before e expands.
var (
	keyRequest  = []string{"Authorization", "Content-Type", "Cookie", "User-Agent"}
	keyResponse = []string{"Location", "Www-Authenticate", "Set-Cookie"}
)

const (
	bodyLinesCollapsed    = 8
	reqBodyLinesCollapsed = 4
)

// exchange renders one HTTP exchange, short or (after e) in full.
func (m *Model) exchange(d *doc, c *caseState, x event.Exchange) {
	st := m.st
	full := m.expanded[m.xkey(m.selCase, x.Seq)]
	title := fmt.Sprintf("#%d %s", x.Seq, clean(x.Purpose))
	if x.Probe && !full {
		d.add("  " + st.bold.Render(title) + " → " + m.statusWord(x))
		d.add("    " + st.dim.Render(clean(x.Method)+" "+clean(x.URL)))
		return
	}
	hint := ""
	if full {
		hint = st.dim.Render(" (expanded; e folds it)")
	}
	d.add("  " + st.bold.Render(title) + hint)
	d.para(m.st.plain, "    "+st.accent.Render("→ "), 6, clean(x.Method)+" "+clean(x.URL), true)
	m.headers(d, x.RequestHeaders, keyRequest, full)
	if x.RequestDecoded != "" {
		m.decoded(d, x.RequestDecoded, full, reqBodyLinesCollapsed)
	} else {
		m.body(d, x.RequestBody, x.RequestHeaders.Get("Content-Type"), full, reqBodyLinesCollapsed, false, 0)
	}
	if x.Error != "" && x.Status == 0 {
		d.hang(st.fail, 4, 6, "✗ no answer: "+clean(x.Error))
		return
	}
	meta := []string{}
	if ct := x.ResponseHeaders.Get("Content-Type"); ct != "" {
		meta = append(meta, clean(ct))
	}
	if x.BodySize > 0 {
		meta = append(meta, fmt.Sprintf("%d bytes", x.BodySize))
	}
	meta = append(meta, duration(x.Duration))
	if x.TLSVersion != "" {
		meta = append(meta, clean(x.TLSVersion))
	}
	// The facts break between items, never inside one ("TLS 1.3").
	line := "    " + st.accent.Render("← ") + m.statusWord(x)
	for _, v := range meta {
		if ansi.StringWidth(line)+3+ansi.StringWidth(v) > d.w {
			d.add(line)
			line = "      " + st.dim.Render(v)
			continue
		}
		line += st.dim.Render(" · " + v)
	}
	d.add(line)
	m.headers(d, x.ResponseHeaders, keyResponse, full)
	if x.ResponseDecoded != "" {
		m.decoded(d, x.ResponseDecoded, full, bodyLinesCollapsed)
	} else {
		m.body(d, x.ResponseBody, x.ResponseHeaders.Get("Content-Type"), full, bodyLinesCollapsed, x.Truncated, x.BodySize)
	}
	if x.Error != "" {
		d.hang(st.fail, 4, 6, "✗ "+clean(x.Error))
	}
}

func (m *Model) statusWord(x event.Exchange) string {
	if x.Status == 0 {
		if x.Error != "" {
			return m.st.fail.Render("✗ " + oneLine(x.Error))
		}
		return m.st.dim.Render("no answer")
	}
	s := fmt.Sprintf("%d %s", x.Status, http.StatusText(x.Status))
	switch {
	case x.Status >= 500:
		return m.st.fail.Render(s)
	case x.Status >= 400:
		return m.st.warn.Render(s)
	case x.Status >= 300:
		return m.st.accent.Render(s)
	}
	return m.st.pass.Render(s)
}

func duration(d time.Duration) string {
	if d < time.Millisecond {
		return "<1ms"
	}
	return d.Round(time.Millisecond).String()
}

// headers renders the key headers on one line each, or all of them in full.
func (m *Model) headers(d *doc, h http.Header, keys []string, full bool) {
	if full {
		keys = keys[:0:0]
		for k := range h {
			keys = append(keys, k)
		}
		sort.Strings(keys)
	}
	for _, k := range keys {
		for _, v := range h.Values(k) {
			line := clean(k) + ": " + clean(v)
			// The challenge and redirects are the story: never cut them.
			if full || k == "Www-Authenticate" || k == "Location" {
				d.para(m.st.dim, "      ", 8, line, true)
			} else {
				d.add("      " + m.st.dim.Render(truncate(line, max(d.w-6, 8))))
			}
		}
	}
}

// body renders a body excerpt, pretty-printed when it is JSON, a plist or a
// form; collapsed it shows the first lines only.
func (m *Model) body(d *doc, body, contentType string, full bool, limit int, truncated bool, size int64) {
	lines := prettyBody(body, contentType)
	if len(lines) == 0 {
		return
	}
	hard := true
	if preview := plistPreview(body, contentType); !full && preview != nil {
		lines = preview // what the plist is, not its XML prologue
	}
	if !full && strings.Contains(strings.ToLower(contentType), "html") {
		// A page is shown as the person sees it: its text and fields.
		if text := pageText(body); len(text) > 0 {
			d.add("      " + m.st.dim.Render("page text and fields (e shows the HTML):"))
			lines, hard = text, false
		}
	}
	shown := lines
	if !full && len(lines) > limit {
		shown = lines[:limit]
	}
	for _, l := range shown {
		d.para(m.st.plain, "      ", 6, l, hard)
	}
	if len(shown) < len(lines) {
		d.add("      " + m.st.dim.Render(fmt.Sprintf("… %d more line%s (e shows the whole body)", len(lines)-len(shown), plural(len(lines)-len(shown)))))
	} else if full && truncated {
		d.add("      " + m.st.dim.Render(fmt.Sprintf("… the run kept the first %d bytes of %d", len(body), size)))
	}
}

// decoded renders a binary body as the engine decoded it (a signed plist
// under its signer's line, a SCEP message's attributes): the XML prologue
// left out, which says nothing; collapsed, the first lines only.
func (m *Model) decoded(d *doc, text string, full bool, limit int) {
	var lines []string
	for _, l := range splitClean(text) {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "<?xml ") || strings.HasPrefix(t, "<!DOCTYPE plist") {
			continue
		}
		lines = append(lines, l)
	}
	shown := lines
	if !full && len(lines) > limit {
		shown = lines[:limit]
	}
	d.add("      " + m.st.dim.Render("binary body, decoded:"))
	for _, l := range shown {
		d.para(m.st.plain, "      ", 6, l, true)
	}
	if len(shown) < len(lines) {
		d.add("      " + m.st.dim.Render(fmt.Sprintf("… %d more line%s (e shows the whole body)", len(lines)-len(shown), plural(len(lines)-len(shown)))))
	}
}

// prettyBody splits a body into display lines: JSON and plists indented,
// forms one field a line, everything else as sent, control characters made
// harmless.
func prettyBody(body, contentType string) []string {
	b := strings.TrimSpace(body)
	if b == "" {
		return nil
	}
	ct := strings.ToLower(contentType)
	switch {
	case strings.Contains(ct, "json") || strings.HasPrefix(b, "{") || strings.HasPrefix(b, "["):
		var buf bytes.Buffer
		if json.Indent(&buf, []byte(b), "", "  ") == nil {
			return splitClean(buf.String())
		}
	case strings.Contains(b, "<plist") || strings.Contains(ct, "plist"):
		var v any
		if _, err := plist.Unmarshal([]byte(b), &v); err == nil {
			if out, err := plist.MarshalIndent(v, plist.XMLFormat, "  "); err == nil {
				return splitClean(string(out))
			}
		}
	case strings.Contains(ct, "x-www-form-urlencoded"):
		var out []string
		for _, kv := range strings.Split(b, "&") {
			if u, err := url.QueryUnescape(kv); err == nil {
				kv = u
			}
			out = append(out, clean(kv))
		}
		return out
	}
	return splitClean(b)
}

// pageText is what a web view shows of a page: its text, and its form
// fields as [name: value] (hidden fields left out).
func pageText(body string) []string {
	var out []string
	z := html.NewTokenizer(strings.NewReader(body))
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			t := z.Token()
			switch t.Data {
			case "script", "style", "title":
				if t.Type == html.StartTagToken {
					skip++
				}
			case "input", "select", "textarea":
				attr := map[string]string{}
				for _, a := range t.Attr {
					attr[a.Key] = a.Val
				}
				if attr["type"] == "hidden" || attr["type"] == "submit" {
					continue
				}
				f := "[" + attr["name"]
				if v := attr["value"]; v != "" {
					f += ": " + v
				}
				out = append(out, clean(f+"]"))
			}
		case html.EndTagToken:
			if t := z.Token(); (t.Data == "script" || t.Data == "style" || t.Data == "title") && skip > 0 {
				skip--
			}
		case html.TextToken:
			if skip > 0 {
				continue
			}
			if text := strings.Join(strings.Fields(string(z.Text())), " "); text != "" {
				out = append(out, clean(text))
			}
		}
	}
}

func splitClean(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		out = append(out, clean(strings.TrimRight(l, " \r")))
	}
	return out
}

// clean makes text from the wire safe to draw: tabs become spaces, and
// control characters (escape sequences of a hostile server included) are
// replaced.
func clean(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r == '\n':
			b.WriteRune('\n')
		case unsafeRune(r):
			b.WriteRune('�')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune is a control character, or an invisible format character
// (bidi overrides and the like; the emoji joiner is fine) that could make
// text read differently from what it is.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n':
		return false
	case r == '\t', unicode.IsControl(r):
		return true // a tab becomes spaces
	}
	return unicode.Is(unicode.Cf, r) && r != '\u200d'
}

// stepName is a step's name, safe to draw (replays come from files).
func stepName(s event.Step) string { return clean(string(s)) }

// oneLine squeezes a catalogue rule or a detail into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(clean(s), "`", "")), " ")
}
