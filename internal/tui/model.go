// Package tui is `enrollsim step`: a terminal UI that walks an audience
// through an enrollment one step at a time, on the same engine and event
// stream as `enrollsim run`. The engine never imports this package: it runs
// in a goroutine, waits on a Gate before every step and hands its events to
// the model, one message type per outside event (EventMsg, WaitMsg, DoneMsg,
// tea.WindowSizeMsg, keys and the mouse).
package tui

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Options configure the model.
type Options struct {
	// Run plays a run; nil leaves the model to show only what Update is
	// fed, as tests do.
	Run RunFunc
	// Context bounds every run; Background when nil.
	Context context.Context
	// Title says what is played, e.g. "demo on the embedded reference
	// server" or "replay of run.jsonl".
	Title string
	// Color turns colours on; off for NO_COLOR, dumb terminals and tests.
	Color bool
	// Strict counts warnings as failures in case verdicts.
	Strict bool
	// Output is where the colour profile is detected; os.Stdout when nil.
	Output io.Writer
	// Width and Height are the size until the first tea.WindowSizeMsg.
	Width, Height int
	// Cases names the run's cases in plan order, when known before they
	// play, for the case picker (c); nil shows a case to come by number.
	Cases []string
}

type pane int

const (
	paneSteps pane = iota
	paneDetail
)

// rowStatus is a step's live status in the list.
type rowStatus int

const (
	rowPending rowStatus = iota
	rowRunning
	rowPass
	rowWarn
	rowFail
	rowRefused
	rowSkipped
	rowNotRun
)

func (s rowStatus) word() string {
	return [...]string{"pending", "running", "pass", "warn", "fail", "refused", "skipped", "not run"}[s]
}

func (s rowStatus) glyph() string {
	return [...]string{"·", "▶", "✓", "!", "✗", "⊘", "–", " "}[s]
}

// stepState is one step of a case, predicted (pending) or played.
type stepState struct {
	step      event.Step
	started   bool
	ended     bool
	end       event.StepStatus
	message   string
	exchanges []event.Exchange
	checks    []check.Result
	notRun    bool
	waits     []string         // what the step waited for (wait events)
	shots     []event.Artifact // screenshots of sign-in pages (artifact events)
	judged    map[string][]int // by check ID, the exchanges it judged (detail.go)
}

func (s *stepState) status() rowStatus {
	switch {
	case s.notRun:
		return rowNotRun
	case !s.started:
		return rowPending
	case !s.ended:
		return rowRunning
	}
	worst := rowPass
	for _, r := range s.checks {
		switch r.Status {
		case check.Fail:
			worst = rowFail
		case check.Warn, check.Error:
			if worst != rowFail {
				worst = rowWarn
			}
		}
	}
	switch s.end {
	case event.StepRefused:
		return rowRefused
	case event.StepFailed, event.StepError:
		return rowFail
	case event.StepSkipped:
		if worst == rowPass {
			return rowSkipped
		}
	}
	return worst
}

// caseState is one case of the run.
type caseState struct {
	name    string
	info    *event.CaseInfo
	steps   []*stepState
	done    bool
	outcome string
	message string
}

func newCase(ev event.Event) *caseState {
	c := &caseState{name: ev.Case, info: ev.Info}
	until := event.UntilCommands
	if ev.Info != nil && ev.Info.Until != "" {
		until = event.Until(ev.Info.Until)
	}
	// The registration's row appears when it starts, as the engine plays
	// it only when the run has it under test.
	for _, s := range event.Planned(until, false) {
		c.steps = append(c.steps, &stepState{step: s})
	}
	return c
}

// row finds the pending row of a step about to run, making it when the
// prediction did not have it.
func (c *caseState) row(step event.Step) int {
	for i, s := range c.steps {
		if s.step == step && !s.started && !s.notRun {
			return i
		}
	}
	other := map[event.Step]event.Step{event.StepOAuth2: event.StepWebLogin, event.StepWebLogin: event.StepOAuth2}[step]
	for i, s := range c.steps {
		if other != "" && s.step == other && !s.started {
			s.step = step
			return i
		}
	}
	at := len(c.steps)
	for i, s := range c.steps {
		if !s.started && !s.notRun {
			at = i
			break
		}
	}
	c.steps = append(c.steps[:at], append([]*stepState{{step: step}}, c.steps[at:]...)...)
	return at
}

// last is the most recently started step named step, or the most recently
// started one for an event without a step.
func (c *caseState) last(step event.Step) *stepState {
	var any *stepState
	for i := len(c.steps) - 1; i >= 0; i-- {
		s := c.steps[i]
		if !s.started {
			continue
		}
		if s.step == step {
			return s
		}
		if any == nil {
			any = s
		}
	}
	return any
}

// Model is the step-through's bubbletea model.
type Model struct {
	opt   Options
	ctx   context.Context
	st    styles
	keys  keyMap
	help  help.Model
	vp    viewport.Model
	spin  spinner.Model
	focus pane

	width, height int

	runID  int
	handle *runHandle

	cases      []*caseState
	byName     map[string]int
	sum        *report.Summary
	log        []event.Event
	totalCases int
	waiting    *WaitMsg
	all        bool  // released to the end (a)
	done       bool  // the run is over (run-end or DoneMsg)
	runErr     error // why the run stopped early
	quitting   bool
	notice     string

	selCase, selStep int
	follow           bool
	expanded         map[string]bool
	detailKey        string
	xlines           []xline // where exchanges start in the detail content
	marked           int     // index into xlines, -1 for none
	cursorX          int     // exchange ] and [ went to (its seq), 0 for none
	listTop          int     // first visible row of the step list

	confirm string // "quit" or "restart" while asking before ending a run
	runTo   int    // the gate lets steps through until this case (index) waits; -1: none
	picking bool   // the case picker is open (c)
	pickSel int    // the picker's selected case
	summary bool   // the end-of-run summary fills the detail pane
}

// NewModel returns a model; with opts.Run set, Init starts the first run.
func NewModel(opts Options) *Model {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	m := &Model{opt: opts, ctx: ctx, st: newStyles(opts.Output, opts.Color), keys: newKeyMap(),
		width: opts.Width, height: opts.Height}
	m.help = help.New()
	m.help.Styles = help.Styles{
		ShortKey: m.st.key, ShortDesc: m.st.desc, ShortSeparator: m.st.dim, Ellipsis: m.st.dim,
		FullKey: m.st.key, FullDesc: m.st.desc, FullSeparator: m.st.dim,
	}
	m.help.ShortSeparator = " · "
	m.vp = viewport.New(0, 0)
	m.spin = spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(m.st.running))
	// up/down scroll the step's detail until tab moves to the list.
	m.focus = paneDetail
	m.reset()
	m.refresh()
	return m
}

func (m *Model) reset() {
	m.cases, m.byName, m.sum, m.log = nil, map[string]int{}, &report.Summary{}, nil
	m.totalCases, m.waiting, m.all, m.done, m.runErr = 0, nil, false, false, nil
	m.selCase, m.selStep, m.follow = -1, -1, true
	m.expanded, m.detailKey, m.marked, m.cursorX, m.listTop = map[string]bool{}, "", -1, 0, 0
	m.confirm, m.runTo, m.picking, m.pickSel, m.summary = "", -1, false, 0, false
	m.vp.GotoTop()
}

// Init starts the first run.
func (m *Model) Init() tea.Cmd {
	if m.opt.Run == nil || m.handle != nil {
		return nil
	}
	m.handle = startRun(m.ctx, m.runID, m.opt.Run)
	return tea.Batch(m.handle.next(), m.spin.Tick)
}

func (m *Model) listen() tea.Cmd {
	if m.handle == nil || m.quitting {
		return nil
	}
	return m.handle.next()
}

// Update folds one message in.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case EventMsg:
		if msg.Run != m.runID {
			return m, nil
		}
		m.event(msg.Event)
		cmd = m.listen()
	case WaitMsg:
		if msg.Run != m.runID {
			return m, nil
		}
		m.wait(msg)
		m.notice = "" // a notice is about the state before
		cmd = m.listen()
	case DoneMsg:
		if msg.Run != m.runID {
			return m, nil
		}
		m.done, m.waiting, m.notice = true, nil, ""
		m.endOfRun()
		if msg.Err != nil && m.ctx.Err() == nil {
			m.runErr = msg.Err
		}
	case spinner.TickMsg:
		if m.handle == nil || m.done || m.quitting {
			return m, nil
		}
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case tea.KeyMsg:
		cmd = m.key(msg)
	case tea.MouseMsg:
		m.mouse(msg)
	}
	m.refresh()
	return m, cmd
}

func (m *Model) event(ev event.Event) {
	m.log = append(m.log, ev)
	m.sum.Add(ev)
	switch ev.Kind {
	case event.EventRunStart:
		if ev.Run != nil {
			m.totalCases = ev.Run.Cases
		}
		return
	case event.EventRunEnd:
		m.done, m.waiting = true, nil
		m.endOfRun()
		return
	case event.EventCaseStart:
		m.byName[ev.Case] = len(m.cases)
		m.cases = append(m.cases, newCase(ev))
		return
	}
	ci, ok := m.byName[ev.Case]
	if !ok {
		return
	}
	c := m.cases[ci]
	switch ev.Kind {
	case event.EventStepStart:
		i := c.row(ev.Step)
		for _, s := range c.steps[:i] {
			if !s.started {
				s.notRun = true
			}
		}
		c.steps[i].started = true
		if w := m.waiting; w != nil && w.Case == ev.Case && w.Step == ev.Step {
			m.waiting = nil
		}
		if m.follow {
			m.selCase, m.selStep = ci, i
		}
	case event.EventExchange:
		if s := c.last(ev.Step); s != nil && ev.Exchange != nil {
			s.exchanges = append(s.exchanges, *ev.Exchange)
		}
	case event.EventWait:
		if s := c.last(ev.Step); s != nil {
			s.waits = append(s.waits, ev.Message)
		}
	case event.EventArtifact:
		if s := c.last(ev.Step); s != nil && ev.Artifact != nil {
			a := *ev.Artifact
			a.Data = nil
			s.shots = append(s.shots, a)
		}
	case event.EventCheck:
		if s := c.last(ev.Step); s != nil && ev.Result != nil {
			s.checks = append(s.checks, *ev.Result)
			s.noteJudged(ev)
		}
	case event.EventStepEnd:
		if s := c.last(ev.Step); s != nil {
			s.ended, s.end, s.message = true, ev.Status, ev.Message
		}
	case event.EventCaseEnd:
		c.done, c.outcome, c.message = true, ev.Outcome, ev.Message
		for _, s := range c.steps {
			if !s.started {
				s.notRun = true
			}
		}
	}
}

func (m *Model) wait(w WaitMsg) {
	ci, ok := m.byName[w.Case]
	if !ok {
		return
	}
	if ci < m.runTo {
		// s or the picker runs this case through without stopping.
		if m.handle != nil {
			m.handle.gate.Release()
		}
		return
	}
	ranTo := m.runTo >= 0
	m.runTo = -1
	m.waiting = &w
	i := m.cases[ci].row(w.Step)
	if ranTo {
		// s or the picker went to this case: show its first step.
		m.selCase, m.selStep, m.follow = ci, i, true
	}
	// The view stays on the step that just ran, so its exchanges and
	// checks can be shown; only the very first step is previewed.
	if m.selCase < 0 {
		m.selCase, m.selStep = ci, i
	}
}

// waitingRow is where the gate holds the run, if it does.
func (m *Model) waitingRow() (int, int, bool) {
	if m.waiting == nil {
		return 0, 0, false
	}
	ci, ok := m.byName[m.waiting.Case]
	if !ok {
		return 0, 0, false
	}
	c := m.cases[ci]
	for i, s := range c.steps {
		if s.step == m.waiting.Step && !s.started && !s.notRun {
			return ci, i, true
		}
	}
	return 0, 0, false
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	m.notice = ""
	k := m.keys
	if msg.String() == "ctrl+c" {
		return m.quit() // never asks: the way out whatever the screen
	}
	if m.confirm != "" {
		return m.confirmKey(msg)
	}
	if m.picking {
		m.pickerKey(msg)
		return nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m.ask("quit")
	case key.Matches(msg, k.Next):
		m.next()
	case key.Matches(msg, k.All):
		m.runAll()
	case key.Matches(msg, k.Restart):
		return m.ask("restart")
	case key.Matches(msg, k.Skip):
		m.skipCase()
	case key.Matches(msg, k.Pick):
		m.openPicker()
	case key.Matches(msg, k.Summary):
		m.toggleSummary()
	case key.Matches(msg, k.Tab):
		m.focus = 1 - m.focus
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Expand):
		m.toggleExpand()
	case key.Matches(msg, k.NextX):
		m.jumpExchange(1)
	case key.Matches(msg, k.PrevX):
		m.jumpExchange(-1)
	case key.Matches(msg, k.Up):
		m.scroll(-1)
	case key.Matches(msg, k.Down):
		m.scroll(1)
	case key.Matches(msg, k.PageUp):
		m.scroll(-m.page())
	case key.Matches(msg, k.PageDown):
		m.scroll(m.page())
	case key.Matches(msg, k.Top):
		m.scroll(-1 << 20)
	case key.Matches(msg, k.Bottom):
		m.scroll(1 << 20)
	}
	return nil
}

func (m *Model) page() int {
	if m.focus == paneSteps {
		return 5
	}
	return max(1, m.vp.Height-1)
}

// next runs the step the gate holds, or first shows a new case's first step.
func (m *Model) next() {
	ci, si, ok := m.waitingRow()
	if !ok {
		switch {
		case m.done:
			m.notice = "The run is over: r plays it again, q quits."
		case m.all:
			m.notice = "Running to the end…"
		case len(m.cases) > 0:
			m.notice = "Still running; n works again when the next step is ready."
		}
		return
	}
	m.follow, m.summary = true, false
	m.selCase, m.selStep = ci, si
	m.waiting = nil
	if m.handle != nil {
		m.handle.gate.Release()
	}
}

func (m *Model) runAll() {
	if m.done {
		m.notice = "The run is over: r plays it again, q quits."
		return
	}
	m.all, m.follow = true, true
	if ci, si, ok := m.waitingRow(); ok {
		m.selCase, m.selStep = ci, si
	}
	m.waiting = nil
	if m.handle != nil {
		m.handle.gate.ReleaseAll()
	}
}

// restart cancels the run and starts a fresh one.
func (m *Model) restart() tea.Cmd {
	if m.handle != nil {
		m.handle.stop()
		m.handle = nil
	}
	m.runID++
	m.reset()
	m.notice = "Restarted."
	if m.opt.Run == nil {
		return nil
	}
	m.handle = startRun(m.ctx, m.runID, m.opt.Run)
	return tea.Batch(m.handle.next(), m.spin.Tick)
}

// rows are the selectable steps in list order.
func (m *Model) rows() [][2]int {
	var out [][2]int
	for ci, c := range m.cases {
		for si := range c.steps {
			out = append(out, [2]int{ci, si})
		}
	}
	return out
}

func (m *Model) scroll(n int) {
	if m.focus == paneDetail {
		m.cursorX = 0
		if n < 0 {
			m.vp.ScrollUp(-n)
		} else {
			m.vp.ScrollDown(n)
		}
		return
	}
	m.moveSelection(n)
}

func (m *Model) moveSelection(n int) {
	rows := m.rows()
	if len(rows) == 0 {
		return
	}
	at := 0
	for i, r := range rows {
		if r[0] == m.selCase && r[1] == m.selStep {
			at = i
		}
	}
	at = min(max(at+n, 0), len(rows)-1)
	m.selCase, m.selStep, m.summary = rows[at][0], rows[at][1], false
	// Following resumes on the live row.
	m.follow = false
	if ci, si, ok := m.waitingRow(); ok && ci == m.selCase && si == m.selStep {
		m.follow = true
	}
	if c := m.cases[m.selCase]; !c.done && c.steps[m.selStep].status() == rowRunning {
		m.follow = true
	}
}

func (m *Model) mouse(msg tea.MouseMsg) {
	if msg.Action != tea.MouseActionPress {
		return
	}
	leftW, _, _ := m.layout()
	inList := msg.X < leftW
	switch msg.Button {
	case tea.MouseButtonWheelUp, tea.MouseButtonWheelDown:
		d := 3
		if msg.Button == tea.MouseButtonWheelUp {
			d = -3
		}
		m.cursorX = 0
		if inList {
			m.moveSelection(d / 3)
		} else if d < 0 {
			m.vp.ScrollUp(-d)
		} else {
			m.vp.ScrollDown(d)
		}
	case tea.MouseButtonLeft:
		if inList {
			m.focus = paneSteps
			m.clickRow(msg.Y - headerHeight - 1 + m.listTop)
		} else {
			m.focus = paneDetail
		}
	}
}

func (m *Model) clickRow(line int) {
	for _, r := range m.listLines() {
		if r.line == line && r.step >= 0 {
			m.selCase, m.selStep, m.follow, m.summary = r.ci, r.step, false, false
		}
	}
}

func (m *Model) xkey(ci int, seq int) string { return fmt.Sprintf("%d#%d", ci, seq) }

func (m *Model) toggleExpand() {
	if m.marked < 0 || m.marked >= len(m.xlines) {
		m.notice = "No exchange here to expand: scroll to one (or ] jumps to the next)."
		return
	}
	k := m.xkey(m.selCase, m.xlines[m.marked].seq)
	m.expanded[k] = !m.expanded[k]
}

// jumpExchange scrolls the next or previous exchange to the top.
func (m *Model) jumpExchange(d int) {
	if len(m.xlines) == 0 {
		return
	}
	i := m.marked + d
	switch {
	case m.marked < 0:
		i = 0
	case d > 0 && m.xlines[m.marked].line > m.vp.YOffset:
		// The marked exchange first comes to the top.
		i = m.marked
	}
	i = min(max(i, 0), len(m.xlines)-1)
	m.vp.SetYOffset(m.xlines[i].line)
	m.cursorX = m.xlines[i].seq
	m.focus = paneDetail
}

// statusText is the footer's first line.
func (m *Model) statusText() string {
	st := m.st
	if m.confirm != "" {
		return st.warn.Render(m.confirmText())
	}
	if m.notice != "" {
		return st.status.Render(m.notice)
	}
	if m.runErr != nil {
		return st.fail.Render("The run could not complete: ") + clean(firstLine(m.runErr.Error()))
	}
	if m.done {
		return st.status.Render("Run finished: ") + m.runSummary() + st.dim.Render(" · r plays it again, q quits")
	}
	if ci, si, ok := m.waitingRow(); ok {
		c := m.cases[ci]
		if m.selCase != ci && m.selCase >= 0 && m.cases[m.selCase].done {
			prev := m.cases[m.selCase]
			return st.status.Render(fmt.Sprintf("%s finished: %s.", clean(prev.name), clean(prev.outcome))) +
				fmt.Sprintf(" Press n to start case %d of %d, %s.", ci+1, max(m.totalCases, len(m.cases)), clean(c.name))
		}
		return st.status.Render("Next: "+stepName(c.steps[si].step)+".") + " Press n or enter to run it, a to run to the end."
	}
	if len(m.cases) == 0 {
		if m.handle == nil {
			return st.dim.Render("No run.")
		}
		return m.spin.View() + " Starting…"
	}
	running := ""
	if c := m.cases[len(m.cases)-1]; c != nil {
		for _, s := range c.steps {
			if s.status() == rowRunning {
				running = stepName(s.step)
			}
		}
	}
	if running == "" {
		return m.spin.View() + " Working…"
	}
	if m.all {
		return m.spin.View() + " Running to the end: " + running + "…"
	}
	return m.spin.View() + " Running " + running + "…"
}

func (m *Model) runSummary() string {
	n := len(m.sum.Cases)
	passed := n - len(m.sum.Failed(m.opt.Strict))
	return fmt.Sprintf("%d case%s, %d as expected · %s", n, plural(n), passed, outcomes(m.sum))
}

func outcomes(s *report.Summary) string {
	var parts []string
	seen := map[string]int{}
	var order []string
	for _, c := range s.Cases {
		o := c.Outcome
		if o == "" {
			o = "unfinished"
		}
		if seen[o] == 0 {
			order = append(order, o)
		}
		seen[o]++
	}
	for _, o := range order {
		parts = append(parts, fmt.Sprintf("%s %d", o, seen[o]))
	}
	return strings.Join(parts, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func (m *Model) caseSummary(name string) *report.CaseSummary {
	for _, c := range m.sum.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}
