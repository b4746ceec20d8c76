package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/enrollsim/enrollsim/sim/device"
)

const (
	headerHeight = 3
	minWidth     = 60
	minHeight    = 16
)

// layout gives the steps pane's width, the detail pane's width and the
// height of both.
func (m *Model) layout() (leftW, rightW, bodyH int) {
	switch {
	case m.width >= 110:
		leftW = 34
	case m.width >= 90:
		leftW = 32
	default:
		leftW = 24 // glyphs only, no status words
	}
	return leftW, m.width - leftW, m.height - headerHeight - m.footerHeight()
}

func (m *Model) footerHeight() int {
	return 1 + strings.Count(m.helpView(), "\n") + 1
}

func (m *Model) helpView() string {
	h := m.help
	h.Width = m.width
	return h.View(m.keys)
}

func (m *Model) tooSmall() bool { return m.width < minWidth || m.height < minHeight }

// View draws the whole screen: exactly width × height cells.
func (m *Model) View() string {
	if m.quitting {
		return ""
	}
	if m.width == 0 || m.height == 0 {
		return "enrollsim step: starting…"
	}
	if m.tooSmall() {
		msg := fmt.Sprintf("enrollsim step needs at least %d×%d; this window is %d×%d. Make it larger, or press q to quit.",
			minWidth, minHeight, m.width, m.height)
		return fit(strings.Split(ansi.Wrap(msg, max(m.width, 10), ""), "\n"), m.width, m.height)
	}
	leftW, rightW, bodyH := m.layout()
	header := m.header()
	left := m.box(m.stepsTitle(), m.listView(leftW-4, bodyH-2), leftW, bodyH, m.focus == paneSteps, m.listScrollHint(bodyH-2))
	right := m.box(m.detailTitle(), strings.Split(m.vp.View(), "\n"), rightW, bodyH, m.focus == paneDetail, m.detailScrollHint())
	body := lipgloss.JoinHorizontal(lipgloss.Top, left, right)
	footer := []string{truncate(m.statusText(), m.width)}
	footer = append(footer, strings.Split(m.helpView(), "\n")...)
	lines := append(header, strings.Split(body, "\n")...)
	lines = append(lines, footer...)
	return fit(lines, m.width, m.height)
}

// fit pads or cuts lines to exactly w × h.
func fit(lines []string, w, h int) string {
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out[i] = pad(truncate(l, w), w)
	}
	return strings.Join(out, "\n")
}

func truncate(s string, w int) string {
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func pad(s string, w int) string {
	if n := ansi.StringWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// header is three lines: what is played and the case, the device, the account.
func (m *Model) header() []string {
	st := m.st
	title := " enrollsim step"
	if m.opt.Title != "" {
		title += " · " + clean(m.opt.Title)
	}
	c := m.headerCase()
	right := ""
	if c != nil {
		total := max(m.totalCases, len(m.cases))
		right = fmt.Sprintf(" case %d of %d ", m.byName[c.name]+1, total)
	}
	gap := m.width - ansi.StringWidth(title) - ansi.StringWidth(right)
	if gap < 1 {
		title = truncate(title, max(m.width-ansi.StringWidth(right)-1, 1))
		gap = m.width - ansi.StringWidth(title) - ansi.StringWidth(right)
	}
	line1 := st.title.Render(title+strings.Repeat(" ", max(gap, 0))) + st.titleRight.Render(right)
	if c == nil || c.info == nil {
		return []string{line1, st.dim.Render(" Waiting for the run to start…"), ""}
	}
	i := c.info
	d := i.Device
	device := clean(fmt.Sprintf(" %s · %s (%s) · %s %s (%s)", familyName(d.Family), d.Name, d.Product, d.Family.Platform(), d.OS, d.Build))
	account := " " + st.bold.Render(clean(i.Identifier)) + " · " + typeName(i.Type)
	if i.Target != "" {
		account += " · " + clean(i.Target)
	}
	return []string{line1, st.bold.Render(device), account}
}

// headerCase is the case of the selected step, else the latest.
func (m *Model) headerCase() *caseState {
	if m.selCase >= 0 && m.selCase < len(m.cases) {
		return m.cases[m.selCase]
	}
	if len(m.cases) > 0 {
		return m.cases[len(m.cases)-1]
	}
	return nil
}

func familyName(f device.Family) string {
	if f == device.RealityDevice {
		return "Apple Vision Pro"
	}
	return string(f)
}

func typeName(t string) string {
	switch t {
	case "user":
		return "user enrollment (BYOD)"
	case "device":
		return "device enrollment (ADDE)"
	case "auto", "":
		return "enrollment type: whatever the server offers"
	}
	return clean(t)
}

// box draws a pane with its title in the top border; a focused pane has a
// heavy border, so focus shows without colour too.
func (m *Model) box(title string, lines []string, w, h int, focused bool, hint string) string {
	st := m.st.border
	tl, tr, bl, br, hz, vt := "╭", "╮", "╰", "╯", "─", "│"
	if focused {
		st = m.st.borderFocus
		tl, tr, bl, br, hz, vt = "┏", "┓", "┗", "┛", "━", "┃"
	}
	inner := w - 2
	t := truncate(" "+title+" ", max(inner-2, 0))
	top := st.Render(tl+hz) + m.st.bold.Render(t) + st.Render(strings.Repeat(hz, max(inner-1-ansi.StringWidth(t), 0))+tr)
	hint = truncate(hint, max(inner-2, 0))
	bottom := st.Render(bl + strings.Repeat(hz, max(inner-1-ansi.StringWidth(hint), 0)))
	if hint != "" {
		bottom += m.st.dim.Render(hint)
	}
	bottom += st.Render(hz + br)
	out := []string{top}
	for i := 0; i < h-2; i++ {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out = append(out, st.Render(vt)+" "+pad(truncate(l, inner-2), inner-2)+" "+st.Render(vt))
	}
	return strings.Join(append(out, bottom), "\n")
}

func (m *Model) stepsTitle() string {
	if m.focus == paneSteps {
		return "Steps ↑↓"
	}
	return "Steps"
}

func (m *Model) detailTitle() string {
	switch {
	case m.picking:
		return "Pick a case"
	case m.showSummary():
		return "Run summary"
	}
	s, c := m.selected()
	if s == nil {
		return "Step"
	}
	n := 0
	for i, x := range c.steps {
		if x == s {
			n = i + 1
		}
	}
	e, _ := explain(s.step, c.info)
	// A case's steps are known only as it plays (the registration,
	// Enrollment SSO and the DDM sync come when the server calls for
	// them), so the total shows once the case is over and cannot move.
	if c.done {
		return fmt.Sprintf("Step %d of %d: %s · %s", n, len(c.steps), stepName(s.step), e.Title)
	}
	return fmt.Sprintf("Step %d: %s · %s", n, stepName(s.step), e.Title)
}

func (m *Model) showSummary() bool { return m.summary && m.done && len(m.cases) > 0 }

func (m *Model) selected() (*stepState, *caseState) {
	if m.selCase < 0 || m.selCase >= len(m.cases) {
		return nil, nil
	}
	c := m.cases[m.selCase]
	if m.selStep < 0 || m.selStep >= len(c.steps) {
		return nil, c
	}
	return c.steps[m.selStep], c
}

// listLine is one line of the steps pane; step is -1 for a case's heading
// or outcome.
type listLine struct {
	text     string
	ci, step int
	line     int
}

func (m *Model) listLines() []listLine {
	st := m.st
	var out []listLine
	add := func(text string, ci, step int) {
		out = append(out, listLine{text: text, ci: ci, step: step, line: len(out)})
	}
	w := m.listWidth()
	for ci, c := range m.cases {
		add(st.heading.Render(clean(c.name)), ci, -1)
		for si, s := range c.steps {
			sel := ci == m.selCase && si == m.selStep
			marker := " "
			if sel {
				marker = "›"
			}
			status := s.status()
			name := fmt.Sprintf("%-16s", stepName(s.step))
			word, glyph, style := status.word(), status.glyph(), m.statusStyle(status)
			if wci, wsi, ok := m.waitingRow(); ok && wci == ci && wsi == si {
				word, glyph, style = "next", "▷", st.running
			}
			text := marker + " " + style.Render(glyph) + " "
			if sel {
				text += st.selected.Render(name)
			} else {
				text += name
			}
			if w >= 28 {
				text += " " + style.Render(word)
			}
			add(text, ci, si)
		}
		if c.done {
			verdict := ""
			if cs := m.caseSummary(c.name); cs != nil && !cs.Passed(m.opt.Strict) {
				verdict = " " + st.fail.Render("✗")
			}
			add("  → "+st.bold.Render(clean(c.outcome))+verdict, ci, -1)
		}
	}
	if more := m.totalCases - len(m.cases); more > 0 {
		add(st.dim.Render(fmt.Sprintf("  + %d more case%s", more, plural(more))), -1, -1)
	}
	return out
}

func (m *Model) listWidth() int {
	leftW, _, _ := m.layout()
	return leftW - 4
}

// listView is the visible part of the step list, keeping the selection in view.
func (m *Model) listView(w, h int) []string {
	lines := m.listLines()
	selLine := -1
	for _, l := range lines {
		if l.ci == m.selCase && l.step == m.selStep && l.step >= 0 {
			selLine = l.line
		}
	}
	if selLine >= 0 {
		if selLine < m.listTop+1 {
			m.listTop = max(selLine-1, 0)
		}
		if selLine >= m.listTop+h-1 {
			m.listTop = selLine - h + 2
		}
	}
	m.listTop = max(min(m.listTop, len(lines)-h), 0)
	var out []string
	for _, l := range lines[m.listTop:min(len(lines), m.listTop+h)] {
		out = append(out, truncate(l.text, w))
	}
	return out
}

func (m *Model) listScrollHint(h int) string {
	n := len(m.listLines())
	if n <= h {
		return ""
	}
	return fmt.Sprintf(" %d-%d of %d ", m.listTop+1, min(m.listTop+h, n), n)
}

func (m *Model) detailScrollHint() string {
	total := m.vp.TotalLineCount()
	if total <= m.vp.Height {
		return ""
	}
	more := ""
	if !m.vp.AtBottom() {
		more = " ↓"
	}
	return fmt.Sprintf(" lines %d-%d of %d%s ", m.vp.YOffset+1, min(m.vp.YOffset+m.vp.Height, total), total, more)
}

func (m *Model) statusStyle(s rowStatus) lipgloss.Style {
	switch s {
	case rowPass:
		return m.st.pass
	case rowWarn:
		return m.st.warn
	case rowFail:
		return m.st.fail
	case rowRefused:
		return m.st.warn
	case rowRunning:
		return m.st.running
	}
	return m.st.pending
}

// refresh lays the detail pane out again after any change.
func (m *Model) refresh() {
	if m.tooSmall() {
		return
	}
	_, rightW, bodyH := m.layout()
	// A new width wraps everything anew: keep the marked exchange where
	// it was in the view.
	anchor, delta := 0, 0
	if w := rightW - 4; m.vp.Width != 0 && m.vp.Width != w && m.marked >= 0 && m.marked < len(m.xlines) &&
		m.vp.YOffset >= m.xlines[m.marked].line {
		anchor, delta = m.xlines[m.marked].seq, m.vp.YOffset-m.xlines[m.marked].line
	}
	m.vp.Width, m.vp.Height = rightW-4, max(bodyH-2, 1)
	key := fmt.Sprintf("%d/%d/%t/%t", m.selCase, m.selStep, m.picking, m.showSummary())
	lines, xl := m.content(m.vp.Width)
	m.xlines = xl
	m.vp.SetContent(strings.Join(lines, "\n"))
	if key != m.detailKey {
		m.detailKey, m.cursorX = key, 0
		m.vp.GotoTop()
	} else if anchor != 0 {
		for _, x := range xl {
			if x.seq == anchor {
				m.vp.SetYOffset(max(x.line+min(delta, x.end-x.line-1), 0))
			}
		}
	}
	m.marked = m.markedExchange()
	if m.marked >= 0 {
		l := m.xlines[m.marked].line
		lines[l] = m.st.marker.Render("▸") + strings.TrimPrefix(lines[l], " ")
		m.vp.SetContent(strings.Join(lines, "\n"))
	}
}

// markedExchange is the exchange e acts on: the one the view's top line is
// in, else the first that starts in view.
func (m *Model) markedExchange() int {
	top, bottom := m.vp.YOffset, m.vp.YOffset+m.vp.Height
	for i, x := range m.xlines {
		if x.seq == m.cursorX && x.line < bottom && x.end > top {
			return i
		}
	}
	for i, x := range m.xlines {
		if x.line <= top && top < x.end {
			return i
		}
	}
	for i, x := range m.xlines {
		if x.line >= top && x.line < bottom {
			return i
		}
	}
	return -1
}
