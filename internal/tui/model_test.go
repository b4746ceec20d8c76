package tui

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// -update rewrites the golden files. teatest's golden package registers a
// flag of that name too: whichever comes first serves both.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// loadEvents reads a recorded run from testdata (see README.md there).
func loadEvents(t *testing.T, name string) []event.Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	var evs []event.Event
	require.NoError(t, report.ReadJSONL(f, func(ev event.Event) { evs = append(evs, ev) }))
	require.NotEmpty(t, evs)
	return evs
}

// player feeds a recorded run to a model as the gate would: events up to the
// next step-start, then a WaitMsg; keys that release the step play on.
type player struct {
	t     *testing.T
	m     *Model
	evs   []event.Event
	pos   int
	gated int // the step-start the model was told to wait before
	ended bool
}

func newPlayer(t *testing.T, name string, w, h int) *player {
	m := NewModel(Options{Title: "test", Width: w, Height: h})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return &player{t: t, m: m, evs: loadEvents(t, name), gated: -1}
}

// toGate plays events until the run waits before a step or ends.
func (p *player) toGate() {
	for p.pos < len(p.evs) {
		ev := p.evs[p.pos]
		if ev.Kind == event.EventStepStart && p.gated != p.pos && !p.m.all {
			p.gated = p.pos
			p.m.Update(WaitMsg{Case: ev.Case, Step: ev.Step})
			if p.m.waiting != nil {
				return
			}
			continue // let through at once (s, the picker)
		}
		p.m.Update(EventMsg{Event: ev})
		p.pos++
	}
	if !p.ended {
		p.ended = true
		p.m.Update(DoneMsg{})
	}
}

var keyTypes = map[string]tea.KeyType{"enter": tea.KeyEnter, "tab": tea.KeyTab, "up": tea.KeyUp, "down": tea.KeyDown,
	"pgdown": tea.KeyPgDown, "pgup": tea.KeyPgUp, "home": tea.KeyHome, "end": tea.KeyEnd}

func keyMsg(k string) tea.KeyMsg {
	if t, ok := keyTypes[k]; ok {
		return tea.KeyMsg{Type: t}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

// key presses keys; a key that releases the gate plays the run on.
func (p *player) key(keys ...string) {
	for _, k := range keys {
		waiting := p.m.waiting != nil
		p.m.Update(keyMsg(k))
		if waiting && p.m.waiting == nil || p.m.all {
			p.toGate()
		}
	}
}

// frames collects views for a golden file.
type frames struct {
	b strings.Builder
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./internal/tui -update")
	assert.Equal(t, string(want), got, "view differs from %s; if the change is intended, run go test ./internal/tui -update", path)
}

// check renders the view and checks its shape: exactly w × h cells, no
// escape codes with colour off.
func (f *frames) check(t *testing.T, title string, m *Model) string {
	t.Helper()
	v := m.View()
	lines := strings.Split(v, "\n")
	assert.Len(t, lines, m.height, "%s: lines", title)
	for i, l := range lines {
		assert.Equal(t, m.width, ansi.StringWidth(l), "%s: width of line %d %q", title, i+1, l)
	}
	assert.NotContains(t, v, "\x1b", "%s: colour is off, so no escape codes", title)
	f.b.WriteString("=== " + title + "\n" + v + "\n")
	return v
}

func TestGoldenBYOD(t *testing.T) {
	p := newPlayer(t, "byod.jsonl", 120, 40)
	var f frames
	p.toGate()
	v := f.check(t, "at the gate before sign-in: a preview", p.m)
	assert.Contains(t, v, "Next step. Press n or enter")
	assert.Contains(t, v, "Settings > General > VPN & Device Management > Sign In to Work or School")

	p.key("n")
	v = f.check(t, "n: sign-in ran; the gate holds discovery", p.m)
	assert.Contains(t, v, "› ✓ sign-in          pass")
	assert.Contains(t, v, "▷ discovery        next")
	assert.Contains(t, v, "Next: discovery.")

	p.key("enter")
	v = f.check(t, "enter: discovery ran", p.m)
	assert.Contains(t, v, "▸ #1 well-known")
	assert.Contains(t, v, "← 307 Temporary Redirect")

	p.key("]", "]", "e")
	v = f.check(t, "] ] e: the redirect's target in full", p.m)
	assert.Contains(t, v, "▸ #2 well-known (redirect 1) (expanded; e folds it)")
	assert.Contains(t, v, `"BaseURL": "https://mdm.acme.test/enroll/byod"`)
	assert.Contains(t, v, "Cache-Control: no-store", "expanded shows every header")

	p.key("a")
	v = f.check(t, "a: run to the end", p.m)
	assert.Contains(t, v, "Run finished: 1 case, 1 as expected · enrolled 1")
	assert.Contains(t, v, "Case outcome: enrolled")
	assert.Contains(t, v, "Step 8 of 8: profile", "the case is over: its total shows")

	p.key("o")
	v = f.check(t, "o: the run's summary", p.m)
	assert.Contains(t, v, "Run summary")
	assert.Contains(t, v, "✓ iphone@26.1/user → enrolled")
	p.key("o")
	for _, s := range p.m.cases[0].steps {
		assert.Contains(t, []rowStatus{rowPass, rowSkipped}, s.status(), "step %s", s.step)
	}

	p.key("tab", "up", "up", "up")
	v = f.check(t, "tab up up up: back to the challenge", p.m)
	assert.Contains(t, v, "Step 5 of 8: enroll-challenge")
	assert.Contains(t, v, `Www-Authenticate: Bearer method="apple-as-web", url="https://mdm.acme.test/a`)
	assert.Contains(t, v, "← 401 Unauthorized")

	p.m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	v = f.check(t, "resized to 80×24", p.m)
	assert.Contains(t, v, "enroll-challenge")

	p.m.Update(tea.WindowSizeMsg{Width: 50, Height: 12})
	v = f.check(t, "resized to 50×12", p.m)
	assert.Contains(t, v, "needs at least 60×16")

	p.m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	golden(t, "byod.golden", f.b.String())
}

func TestGoldenADDEFallback(t *testing.T) {
	p := newPlayer(t, "adde-fallback.jsonl", 120, 40)
	var f frames
	p.toGate()
	p.key("n", "n")
	v := f.check(t, "n n: the organisation's domain answered 404", p.m)
	assert.Contains(t, v, "✗ discovery        fail")
	assert.Contains(t, v, "← 404 Not Found")

	p.key("n")
	v = f.check(t, "n: the AxM fallback found the server", p.m)
	assert.Contains(t, v, "› ✓ axm-fallback     pass")
	assert.Contains(t, v, "GET https://axm.test/mdmBaseURL?user-identifier=carol@acme.test&model-family")
	assert.Contains(t, v, `"Version": "mdm-adde"`)

	p.key("n")
	v = f.check(t, "n: the document came through the fallback", p.m)
	assert.Contains(t, v, "INFO WK-001")

	p.key("a")
	v = f.check(t, "a: enrolled as ADDE", p.m)
	assert.Contains(t, v, "ADDE profile for carol@acme.test")
	assert.Contains(t, v, "enrolled 1")
	golden(t, "adde-fallback.golden", f.b.String())
}

func TestGoldenTOTPFailure(t *testing.T) {
	p := newPlayer(t, "totp-failure.jsonl", 100, 30)
	var f frames
	p.toGate()
	p.key("a")
	v := f.check(t, "a: the one-time code is turned away", p.m)
	assert.Contains(t, v, "› ✗ web-login        fail")
	assert.Contains(t, v, "WARN TOTP-002 (MUST*, spec §4.6, source [I])")
	assert.Contains(t, v, "Expected: a correct RFC 6238 code completes the sign-in")
	assert.Contains(t, v, "Actual:   the sign-in was rejected")
	assert.Contains(t, v, "auth-failed ✗")
	c := p.m.cases[0]
	assert.Equal(t, rowFail, c.steps[5].status())
	assert.Equal(t, rowNotRun, c.steps[6].status())
	assert.Equal(t, rowNotRun, c.steps[7].status())

	// Scrolling the detail shows the exchange that failed: the code
	// went in and the form came back.
	p.key("]", "]", "]", "]")
	v = f.check(t, "] ] ] ]: the code is submitted and the form comes back", p.m)
	assert.Contains(t, v, "▸ #24 sign-in: submit one-time code")
	assert.Contains(t, v, "otp=[redacted]")
	assert.Contains(t, v, "That code is not right.")
	assert.Contains(t, v, "[otp]")
	golden(t, "totp-failure.golden", f.b.String())
}

func TestGoldenRefusal(t *testing.T) {
	p := newPlayer(t, "refused.jsonl", 100, 30)
	var f frames
	p.toGate()
	f.check(t, "at the gate before sign-in", p.m)
	p.key("n")
	v := f.check(t, "n: the device refuses", p.m)
	assert.Contains(t, v, "› ⊘ sign-in          refused")
	assert.Contains(t, v, "REFUSED the device refuses: account-driven device enrollment")
	assert.Contains(t, v, "Case outcome: refused-on-device")
	assert.Contains(t, v, "discovery        not run")
	assert.Contains(t, v, "Run finished: 1 case, 1 as expected · refused-on-device 1")
	assert.Equal(t, rowRefused, p.m.cases[0].steps[0].status())
	p.key("n")
	assert.Contains(t, p.m.View(), "The run is over: r plays it again, q quits.")
	golden(t, "refused.golden", f.b.String())
}

// TestResizeKeepsTheExchange: a new width wraps everything anew, but the
// exchange at the top of the detail stays there.
func TestResizeKeepsTheExchange(t *testing.T) {
	p := newPlayer(t, "byod.jsonl", 120, 40)
	p.toGate()
	p.key("n", "n", "]", "]")
	top := func() string { return strings.Split(p.m.View(), "\n")[headerHeight+1] }
	require.Contains(t, top(), "▸ #2 well-known (redirect 1)")
	for _, size := range [][2]int{{90, 30}, {70, 20}, {150, 50}} {
		p.m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		assert.Contains(t, top(), "▸ #2 well-known (redirect 1)", "at %dx%d", size[0], size[1])
	}
}

// TestColourKeepsTheLayout: with colours on, the screen is the same text.
func TestColourKeepsTheLayout(t *testing.T) {
	plain := newPlayer(t, "totp-failure.jsonl", 100, 30)
	colour := newPlayer(t, "totp-failure.jsonl", 100, 30)
	colour.m.st = newStyles(nil, true)
	colour.m.st.r.SetColorProfile(termenv.ANSI)
	colour.m.help.Styles.ShortKey = colour.m.st.key
	for _, p := range []*player{plain, colour} {
		p.toGate()
		p.key("a")
	}
	v := colour.m.View()
	assert.Contains(t, v, "\x1b[", "colours are on")
	assert.Equal(t, plain.m.View(), ansi.Strip(v))
}

// TestMouseAndKeysMove: the wheel scrolls the detail, a click picks a step,
// ? shows every key.
func TestMouseAndKeysMove(t *testing.T) {
	p := newPlayer(t, "byod.jsonl", 120, 40)
	p.toGate()
	p.key("a")
	require.Equal(t, 0, p.m.vp.YOffset)
	p.m.Update(tea.MouseMsg{X: 60, Y: 10, Button: tea.MouseButtonWheelDown, Action: tea.MouseActionPress})
	assert.Equal(t, 3, p.m.vp.YOffset, "the wheel scrolls the detail by three lines")
	p.m.Update(tea.MouseMsg{X: 5, Y: headerHeight + 1 + 2, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	assert.Contains(t, p.m.View(), "Step 2 of 8: discovery", "a click on a row shows that step")
	assert.Equal(t, 0, p.m.vp.YOffset, "a new step starts at its top")
	p.key("?")
	assert.Contains(t, p.m.View(), "prev/next exchange")
	p.key("?", "down")
	assert.Contains(t, p.m.View(), "Step 3 of 8: axm-fallback", "the click moved the focus to the list")
	p.key("]", "e")
	assert.Contains(t, p.m.View(), "▸ #13 probe ABM-003: AxM-registered discovery URL (expanded; e folds it)")
	p.key("r")
	v := p.m.View()
	assert.Contains(t, v, "Restarted.")
	assert.Empty(t, p.m.cases, "a restart forgets the old run")
}

// TestHostileText: what a server sends is drawn, never obeyed.
func TestHostileText(t *testing.T) {
	assert.Equal(t, "a�[2Jb", clean("a\x1b[2Jb"))
	assert.Equal(t, "x    y", clean("x\ty"))
	assert.Equal(t, "evil�gpj.exe", clean("evil\u202egpj.exe"))
	assert.Equal(t, "line\nnext", clean("line\nnext"))

	evs := loadEvents(t, "byod.jsonl")
	m := NewModel(Options{Width: 100, Height: 30})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	for _, ev := range evs {
		if ev.Kind == event.EventExchange {
			x := *ev.Exchange
			x.ResponseBody = "\x1b]0;pwned\x07<h1>\x1b[31mhi</h1>"
			x.URL += "\x1b[2J"
			x.ResponseHeaders = map[string][]string{"Location": {"/\x1b[H"}}
			ev.Exchange = &x
		}
		if ev.Kind == event.EventStepEnd {
			ev.Message = "done\x1b[?1049l"
		}
		m.Update(EventMsg{Event: ev})
	}
	for _, k := range []string{"tab", "up", "up", "up", "up", "up", "up"} {
		m.Update(keyMsg(k))
		assert.NotContains(t, m.View(), "\x1b", "after %s", k)
	}
}

// TestStepInProgress: between a step's start and end the list says running
// and the footer spins.
func TestStepInProgress(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 40})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	// Discovery's start and first exchange only.
	for _, ev := range loadEvents(t, "byod.jsonl") {
		m.Update(EventMsg{Event: ev})
		if ev.Kind == event.EventExchange {
			break
		}
	}
	v := m.View()
	assert.Contains(t, v, "› ▶ discovery        running")
	assert.Contains(t, v, "Running discovery…")
	assert.Contains(t, v, "#1 well-known")
	assert.Contains(t, v, "· axm-fallback     pending")
}

// TestExpectedFindingsMarked: a trip the scenario expects and a finding the
// expectations file knows are both marked, each saying which list said so;
// an unexpected one is not.
func TestExpectedFindingsMarked(t *testing.T) {
	for _, tc := range []struct {
		name         string
		trips, known []string
		want         string
	}{
		{"scenario", []string{"TOTP-002"}, nil, "WARN TOTP-002 (MUST*, spec §4.6, source [I]) · expected by the scenario"},
		{"expectations file", nil, []string{"TOTP-*"}, "WARN TOTP-002 (MUST*, spec §4.6, source [I]) · known finding (--expectations)"},
		{"both", []string{"TOTP-002"}, []string{"TOTP-*"}, "WARN TOTP-002 (MUST*, spec §4.6, source [I]) · expected by the scenario"},
		{"neither", nil, []string{"WK-*"}, "WARN TOTP-002 (MUST*, spec §4.6, source [I])\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlayer(t, "totp-failure.jsonl", 140, 30)
			for i, ev := range p.evs {
				if ev.Kind == event.EventCaseStart {
					info := *ev.Info
					info.ExpectTrips, info.KnownTrips = tc.trips, tc.known
					p.evs[i].Info = &info
				}
			}
			p.toGate()
			p.key("a")
			v := p.m.View()
			lines := strings.Split(v, "\n")
			for i := range lines {
				lines[i] = strings.TrimRight(lines[i], " │┃") + "\n"
			}
			assert.Contains(t, strings.Join(lines, ""), tc.want)
		})
	}
}
