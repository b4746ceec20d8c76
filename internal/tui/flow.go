package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/enrollsim/enrollsim/sim/check"
)

// running says whether ending now would cut a run short.
func (m *Model) running() bool { return m.handle != nil && !m.done }

// ask asks before q or r ends a run that is still going; with nothing to
// lose it acts at once.
func (m *Model) ask(what string) tea.Cmd {
	if !m.running() {
		return m.act(what)
	}
	m.confirm = what
	return nil
}

func (m *Model) act(what string) tea.Cmd {
	if what == "quit" {
		return m.quit()
	}
	return m.restart()
}

// confirmKey answers the question: y (or the same key again) does it,
// anything else goes on.
func (m *Model) confirmKey(msg tea.KeyMsg) tea.Cmd {
	what := m.confirm
	m.confirm = ""
	switch {
	case msg.String() == "y" || msg.String() == "Y",
		what == "quit" && key.Matches(msg, m.keys.Quit),
		what == "restart" && key.Matches(msg, m.keys.Restart):
		return m.act(what)
	}
	m.notice = "Going on."
	return nil
}

func (m *Model) confirmText() string {
	if m.confirm == "quit" {
		return "Quit? The run stops and the case in play ends interrupted. y (or q) quits, any other key goes on."
	}
	return "Restart? The run stops and plays again from the start. y (or r) restarts, any other key goes on."
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	if m.handle != nil {
		m.handle.stop()
	}
	return tea.Quit
}

// skipCase runs the rest of the case the gate holds without stopping, up
// to the next case's first step.
func (m *Model) skipCase() {
	ci, _, ok := m.waitingRow()
	if !ok {
		m.notice = "Nothing to skip: s works when the run waits before a step."
		if m.done {
			m.notice = "The run is over: c picks a case to look at, r plays it again."
		}
		return
	}
	m.runToCase(ci + 1)
}

// runToCase lets the run go until case i (0-based) waits at its first step.
func (m *Model) runToCase(i int) {
	m.runTo, m.follow, m.summary = i, true, false
	if ci, si, ok := m.waitingRow(); ok && ci < i {
		m.selCase, m.selStep = ci, si
		m.waiting = nil
		if m.handle != nil {
			m.handle.gate.Release()
		}
	}
	if i < m.caseCount() {
		m.notice = fmt.Sprintf("Running to case %d…", i+1)
	}
}

func (m *Model) caseCount() int { return max(m.totalCases, len(m.cases)) }

func (m *Model) openPicker() {
	if m.caseCount() == 0 {
		m.notice = "No cases yet."
		return
	}
	m.picking, m.pickSel = true, max(m.selCase, 0)
}

// pickerKey moves in the case picker; enter shows a case played already
// or runs to one still to come.
func (m *Model) pickerKey(msg tea.KeyMsg) {
	k := m.keys
	n := m.caseCount()
	switch {
	case key.Matches(msg, k.Up):
		m.pickSel = max(m.pickSel-1, 0)
	case key.Matches(msg, k.Down):
		m.pickSel = min(m.pickSel+1, n-1)
	case key.Matches(msg, k.Top):
		m.pickSel = 0
	case key.Matches(msg, k.Bottom):
		m.pickSel = n - 1
	case msg.Type == tea.KeyEnter:
		m.picking = false
		m.pick(m.pickSel)
	case msg.Type == tea.KeyEsc, key.Matches(msg, k.Pick), key.Matches(msg, k.Quit):
		m.picking = false
	}
}

func (m *Model) pick(i int) {
	if i < len(m.cases) {
		m.selCase, m.selStep, m.summary = i, 0, false
		m.follow = false
		if ci, _, ok := m.waitingRow(); ok && ci == i {
			m.follow = true
		}
		return
	}
	if m.done {
		m.notice = "The run ended before that case."
		return
	}
	m.runToCase(i)
}

func (m *Model) toggleSummary() {
	if len(m.cases) == 0 {
		m.notice = "No cases yet."
		return
	}
	m.summary = !m.summary
}

// endOfRun shows the summary once a run of several cases is over; a
// single case's last step says all (o shows the summary still).
func (m *Model) endOfRun() {
	m.runTo = -1
	if len(m.cases) > 1 {
		m.summary = true
	}
}

// pickerLines are the detail pane's lines while the picker is open.
func (m *Model) pickerLines(d *doc) {
	st := m.st
	d.wrap(st.bold, 0, "Pick a case: ↑/↓ move, enter goes there (a case still to come is run to, its first step held), esc closes.")
	d.blank()
	for i := 0; i < m.caseCount(); i++ {
		marker := "  "
		if i == m.pickSel {
			marker = st.marker.Render("› ")
		}
		line := fmt.Sprintf("%2d  ", i+1)
		switch {
		case i < len(m.cases):
			c := m.cases[i]
			state := st.running.Render("playing")
			if c.done {
				state = m.caseVerdict(c)
			}
			line += clean(c.name) + "  " + state
		case i < len(m.opt.Cases):
			line += clean(m.opt.Cases[i]) + "  " + st.dim.Render("not reached yet")
		default:
			line += st.dim.Render("not reached yet")
		}
		if i == m.pickSel {
			line = st.selected.Render(line)
		}
		d.add(marker + line)
	}
}

// caseVerdict is a finished case's outcome with ✓ or ✗.
func (m *Model) caseVerdict(c *caseState) string {
	if cs := m.caseSummary(c.name); cs != nil && !cs.Passed(m.opt.Strict) {
		return m.st.fail.Render("✗ " + clean(c.outcome))
	}
	return m.st.pass.Render("✓ " + clean(c.outcome))
}

// summaryLines are the end-of-run screen: every case with its verdict and
// problems, then the checks that tripped, by how many cases.
func (m *Model) summaryLines(d *doc) {
	st := m.st
	d.para(st.plain, st.bold.Render("Run finished: "), 2, m.runSummary(), false)
	if t := m.sum.Timing(); t.Wall() > 0 {
		d.wrap(st.dim, 0, "Took "+t.String()+".")
	}
	d.section(st, fmt.Sprintf("Cases (%d)", len(m.cases)))
	for _, c := range m.cases {
		glyph, style := "✓", st.pass
		if cs := m.caseSummary(c.name); cs != nil && !cs.Passed(m.opt.Strict) {
			glyph, style = "✗", st.fail
		}
		d.para(st.plain, "  "+style.Render(glyph)+" ", 4, clean(c.name)+" → "+clean(c.outcome), false)
		if cs := m.caseSummary(c.name); cs != nil {
			for _, p := range cs.Problems(m.opt.Strict) {
				d.hang(st.dim, 4, 6, clean(p))
			}
		}
	}
	if lines := m.trippedChecks(); len(lines) > 0 {
		d.section(st, "Checks that tripped")
		for _, l := range lines {
			d.hang(st.plain, 2, 4, l)
		}
	}
	d.blank()
	d.wrap(st.dim, 0, "c picks a case to look at, ↑/↓ in the step list (tab) shows a step, o comes back here; r plays the run again, q quits.")
}

// trippedChecks are "FAIL PROF-004 on 3 of 7 cases", worst first.
func (m *Model) trippedChecks() []string {
	type key struct {
		id     string
		status check.Status
	}
	cases := map[key]map[string]bool{}
	for _, c := range m.sum.Cases {
		for _, r := range c.Results {
			if !r.Tripped() {
				continue
			}
			k := key{r.ID, r.Status}
			if cases[k] == nil {
				cases[k] = map[string]bool{}
			}
			cases[k][c.Name] = true
		}
	}
	keys := make([]key, 0, len(cases))
	for k := range cases {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if rank(a.status) != rank(b.status) {
			return rank(a.status) < rank(b.status)
		}
		return a.id < b.id
	})
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%-4s %s on %d of %d case%s", strings.ToUpper(string(k.status)), clean(k.id), len(cases[k]), len(m.sum.Cases), plural(len(m.sum.Cases))))
	}
	return out
}

// content is the detail pane: the picker, the summary, or the selected
// step; a failed step whose own checks say nothing first names the checks
// of the case that did trip, so the failure and its reason sit together.
func (m *Model) content(w int) ([]string, []xline) {
	d := &doc{w: w}
	switch {
	case m.picking:
		m.pickerLines(d)
		return d.lines, nil
	case m.showSummary():
		m.summaryLines(d)
		return d.lines, nil
	}
	lines, xl := m.detail(w)
	s, c := m.selected()
	if s == nil || len(lines) == 0 || s.status() != rowFail || len(tripped(s.checks)) > 0 {
		return lines, xl
	}
	var elsewhere []string
	for _, o := range c.steps {
		if o == s {
			continue
		}
		for _, r := range tripped(o.checks) {
			elsewhere = append(elsewhere, fmt.Sprintf("%s %s (judged at %s): %s", strings.ToUpper(string(r.Status)), clean(r.ID), stepName(o.step), oneLine(firstNonEmptyStr(r.Actual, r.Detail, r.Rule))))
		}
	}
	if len(elsewhere) == 0 {
		return lines, xl
	}
	// The pane opens with the step's status line; the checks come after it.
	head := &doc{w: w}
	head.lines = append(head.lines, lines[0])
	for len(head.lines) < len(lines) && strings.HasPrefix(lines[len(head.lines)], "  ") {
		head.lines = append(head.lines, lines[len(head.lines)])
	}
	n := len(head.lines)
	head.section(m.st, "The checks behind it")
	for _, e := range elsewhere {
		head.hang(m.st.plain, 2, 4, e)
	}
	added := len(head.lines) - n
	out := append(head.lines, lines[n:]...)
	for i := range xl {
		xl[i].line += added
		xl[i].end += added
	}
	return out, xl
}

func tripped(rs []check.Result) []check.Result {
	var out []check.Result
	for _, r := range rs {
		if r.Status == check.Fail || r.Status == check.Warn || r.Status == check.Error {
			out = append(out, r)
		}
	}
	return out
}

func firstNonEmptyStr(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}
