package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// MarkdownBudget is about how large the markdown report may grow: GitHub
// caps a PR comment at 65,536 characters. Past it, rows and details are
// left out with a note saying how many.
const MarkdownBudget = 60_000

// mdChecksPerCase caps the checks listed in one case's details.
const mdChecksPerCase = 25

// WriteMarkdown writes the markdown format, for a GitHub step summary or a
// PR comment: a verdict heading, a table of cases, then a <details> block
// per case with failed or warned checks.
func WriteMarkdown(w io.Writer, events []event.Event, opt Options) error {
	r := fold(events, opt)
	s := &r.sum
	strict := opt.Strict
	failed := s.Failed(strict)
	var b strings.Builder

	mark, word := "✅", "PASS"
	if s.ExitCode(strict) != ExitOK {
		mark, word = "❌", "FAIL"
	}
	fmt.Fprintf(&b, "## %s %s: %s\n\n", mark, mdText(r.title()), word)
	fmt.Fprintf(&b, "**%d cases: %d passed, %d failed.** Checks: %s.", len(s.Cases), len(s.Cases)-len(failed), len(failed), formatCounts(s.Totals()))
	if n := s.ExpectedTrips(); n > 0 {
		fmt.Fprintf(&b, " %d of the failures and warnings were expected by %s.", n, expectedBy(s))
	}
	mode := "warnings do not fail a case"
	if strict {
		mode = "strict: warnings fail a case"
	}
	took := ""
	if !r.started.IsZero() && !r.finished.IsZero() {
		took = " · took " + mdText(s.Timing().String())
	}
	fmt.Fprintf(&b, "\n\n<sub>%s%s · %s · exit code %d</sub>\n\n", mdText(r.toolName()), took, mode, s.ExitCode(strict))

	// Room kept for the details of the first failing cases and the notes.
	const reserve = 12_000
	b.WriteString("| Case | Device | Outcome | Pass | Fail | Warn | Verdict |\n|---|---|---|---:|---:|---:|---|\n")
	rows := make([]string, len(s.Cases))
	size := 0
	for i, c := range s.Cases {
		rows[i] = fmt.Sprintf("| %s | %s | %s | %d | %d | %d | %s |\n",
			mdCell(c.Name), mdCell(c.Info.Device.Name+" "+c.Info.Device.Family.Platform()+" "+c.Info.Device.OS.String()),
			mdCell(c.Outcome), c.Counts[check.Pass], c.Counts[check.Fail], c.Counts[check.Warn], mdVerdict(c, strict))
		size += len(rows[i])
	}
	// A big run lists its failing cases only, as many as fit.
	onlyFailing := b.Len()+size > MarkdownBudget-reserve
	leftPassing, leftFailing := 0, 0
	for i, c := range s.Cases {
		switch {
		case onlyFailing && c.Passed(strict):
			leftPassing++
		case b.Len()+len(rows[i]) > MarkdownBudget-reserve:
			leftFailing++
		default:
			b.WriteString(rows[i])
		}
	}
	if leftPassing+leftFailing > 0 {
		fmt.Fprintf(&b, "\n_Not listed, to keep this report under %d KB: %d passing and %d failing cases; the json, junit and html reports have every case._\n", MarkdownBudget/1000, leftPassing, leftFailing)
	}

	b.WriteString(mdKnown(s, MarkdownBudget-reserve/2-b.Len()))

	var notable []*CaseSummary
	for _, c := range s.Cases {
		if !c.Passed(strict) || c.Counts[check.Fail]+c.Counts[check.Warn]+c.Counts[check.Error] > 0 {
			notable = append(notable, c)
		}
	}
	left := 0
	for i, c := range notable {
		d := mdDetails(c, strict)
		if b.Len()+len(d) > MarkdownBudget-200 {
			left = len(notable) - i
			break
		}
		b.WriteString(d)
	}
	if left > 0 {
		fmt.Fprintf(&b, "\n_%d more cases with failures or warnings are not shown here, to keep this report under %d KB; see the json, junit or html report._\n", left, MarkdownBudget/1000)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdKnown is the table of the expectations file's entries, in at most
// about budget bytes.
func mdKnown(s *Summary, budget int) string {
	k := s.Known
	if k == nil {
		return ""
	}
	var b strings.Builder
	occurred, states := s.KnownCounts()
	fmt.Fprintf(&b, "\n**Expectations** (%s): %d entries; %d expected finding(s) occurred; stale %d, expired %d, unused %d.\n\n",
		mdText(k.File), len(k.Entries), occurred, states[check.KnownStale], states[check.KnownExpired], states[check.KnownUnused])
	b.WriteString("| Entry | State | Findings | Note |\n|---|---|---:|---|\n")
	for i, e := range k.Entries {
		row := fmt.Sprintf("| %s | %s | %d | %s |\n", mdCell(e.String()), mdKnownState(e.State), e.Occurrences, mdCell(knownLine(e, k.File)))
		if b.Len()+len(row) > budget {
			fmt.Fprintf(&b, "\n_%d more entries are not listed here; see the json report._\n", len(k.Entries)-i)
			break
		}
		b.WriteString(row)
	}
	return b.String()
}

func mdKnownState(state string) string {
	switch state {
	case check.KnownExpected:
		return "✅ expected"
	case check.KnownStale, check.KnownExpired:
		return "⚠️ " + state
	}
	return state
}

// expectedBy says what expected the expected trips.
func expectedBy(s *Summary) string {
	for _, c := range s.Cases {
		if len(c.Info.KnownTrips) > 0 {
			return "negative cases or --expectations"
		}
	}
	return "negative cases"
}

func mdVerdict(c *CaseSummary, strict bool) string {
	if !c.Passed(strict) {
		return "❌ FAIL"
	}
	warned, expected := false, false
	for i := range c.Results {
		res := &c.Results[i]
		switch {
		case expectedTrip(c, res):
			expected = true
		case res.Status == check.Warn:
			warned = true
		}
	}
	switch {
	case warned:
		return "⚠️ PASS (warnings)"
	case expected:
		return "✅ PASS (expected failures)"
	}
	return "✅ PASS"
}

// mdEscapeHTML keeps text from reading as HTML.
var mdEscapeHTML = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// mdDetails is one case's block: its problems, then each failed, warned or
// errored check with Expected, Actual and the spec source.
func mdDetails(c *CaseSummary, strict bool) string {
	var b strings.Builder
	problems := c.Problems(strict)
	summary := fmt.Sprintf("%s %s: %s", mdVerdict(c, strict), mdEscapeHTML.Replace(c.Name), mdEscapeHTML.Replace(c.Outcome))
	if n := len(problems); n > 0 {
		summary += fmt.Sprintf(" (%d problem%s)", n, plural(n))
	}
	fmt.Fprintf(&b, "\n<details><summary>%s</summary>\n\n", summary)
	if c.Message != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(oneLine(c.Message, 400)))
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "- **Problem:** %s\n", mdText(oneLine(p, 400)))
	}
	if len(problems) > 0 {
		b.WriteString("\n")
	}
	listed, more := 0, 0
	for i := range c.Results {
		res := &c.Results[i]
		if res.Status != check.Fail && res.Status != check.Warn && res.Status != check.Error {
			continue
		}
		if listed == mdChecksPerCase {
			more++
			continue
		}
		listed++
		tag := ""
		if expectedTrip(c, res) {
			tag = " (expected)"
		}
		fmt.Fprintf(&b, "- **%s** %s%s · %s: %s\n", mdText(res.ID), strings.ToUpper(string(res.Status)), tag, levelLabel(res), mdText(shortRule(res.Rule, 200)))
		if res.Expected != "" || res.Actual != "" {
			fmt.Fprintf(&b, "  - Expected: %s\n  - Actual: %s\n", mdCode(res.Expected), mdCode(res.Actual))
		}
		if res.Detail != "" {
			fmt.Fprintf(&b, "  - Detail: %s\n", mdCode(res.Detail))
		}
		fmt.Fprintf(&b, "  - Source: %s\n", mdText(res.Source))
	}
	if more > 0 {
		fmt.Fprintf(&b, "- _%d more failed or warned checks; see the html report._\n", more)
	}
	b.WriteString("\n</details>\n")
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// mdText makes text safe in markdown prose: no HTML, no emphasis or links
// by accident, one line.
func mdText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = mdEscapeHTML.Replace(s)
	r := strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "|", "\\|", "~", "\\~")
	return r.Replace(s)
}

// mdCell is mdText for a table cell.
func mdCell(s string) string { return mdText(s) }

// mdCode shows s verbatim as a code span, whatever backticks it holds.
func mdCode(s string) string {
	s = truncate(strings.Join(strings.Fields(s), " "), 500)
	if s == "" {
		return "(none)"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}
