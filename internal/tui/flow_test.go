package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// threeCases joins three recordings into one run of three cases.
func threeCases(t *testing.T) []event.Event {
	evs := []event.Event{{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 3}}}
	for _, name := range []string{"byod.jsonl", "refused.jsonl", "adde-fallback.jsonl"} {
		for _, ev := range loadEvents(t, name) {
			if ev.Kind != event.EventRunStart && ev.Kind != event.EventRunEnd {
				evs = append(evs, ev)
			}
		}
	}
	return append(evs, event.Event{Kind: event.EventRunEnd})
}

func newMultiPlayer(t *testing.T) *player {
	m := NewModel(Options{Title: "test", Width: 120, Height: 40})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return &player{t: t, m: m, evs: threeCases(t), gated: -1}
}

// The step count never moves while a case plays, even when a row comes
// that the prediction did not have; the total shows once the case is over.
func TestStepCountHoldsStill(t *testing.T) {
	p := newPlayer(t, "byod.jsonl", 120, 40)
	p.toGate()
	var titles []string
	for !p.m.done {
		p.key("n")
		titles = append(titles, p.m.detailTitle())
	}
	for _, ti := range titles[:len(titles)-1] {
		assert.NotContains(t, ti, " of ", "no total while the case plays: %q", ti)
	}
	assert.Contains(t, titles[len(titles)-1], "Step 8 of 8: profile")

	// A registration the prediction lacked takes its row without
	// renumbering the steps played already.
	m := NewModel(Options{Width: 120, Height: 40})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	for _, ev := range []event.Event{
		{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Case: "c", Info: &event.CaseInfo{}},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepSignIn},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepSignIn, Status: event.StepOK},
	} {
		m.Update(EventMsg{Event: ev})
	}
	m.selCase, m.selStep = 0, 0
	assert.Equal(t, "Step 1: sign-in · The person signs in", m.detailTitle())
	m.Update(EventMsg{Event: event.Event{Kind: event.EventStepStart, Case: "c", Step: event.StepRegistration}})
	m.selCase, m.selStep = 0, 0
	assert.Equal(t, "Step 1: sign-in · The person signs in", m.detailTitle())
	m.selStep = 1
	assert.Contains(t, m.detailTitle(), "Step 2: axm-registration")
}

// q and r ask while a run goes on; any other key goes on, y or the same
// key again does it. With the run over they act at once.
func TestQuitAndRestartAsk(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 40, Run: Replay(loadEvents(t, "byod.jsonl"))})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Init()
	defer m.Finish(0)
	_, cmd := m.Update(keyMsg("q"))
	assert.Nil(t, cmd, "q asks first")
	assert.Contains(t, m.View(), "Quit? The run stops and the case in play ends interrupted.")
	m.Update(keyMsg("n"))
	assert.False(t, m.quitting)
	assert.Contains(t, m.View(), "Going on.")

	m.Update(keyMsg("r"))
	assert.Contains(t, m.View(), "Restart? The run stops and plays again from the start.")
	m.Update(keyMsg("x"))
	assert.Equal(t, 0, m.runID, "no restart")
	m.Update(keyMsg("r"))
	m.Update(keyMsg("y"))
	assert.Equal(t, 1, m.runID, "y restarts")

	m.picking = true // the picker open
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	require.NotNil(t, cmd)
	assert.True(t, m.quitting, "ctrl+c quits at once, whatever the screen")
	m.quitting, m.picking = false, false

	m.Update(keyMsg("q"))
	_, cmd = m.Update(keyMsg("q"))
	require.NotNil(t, cmd)
	assert.True(t, m.quitting, "q twice quits")

	// Over: no question.
	p := newPlayer(t, "refused.jsonl", 100, 30)
	p.toGate()
	p.key("a")
	_, cmd = p.m.Update(keyMsg("q"))
	assert.NotNil(t, cmd)
	assert.True(t, p.m.quitting)
}

// s runs the rest of a case and holds the next case's first step; c picks
// a case: one played already is shown, one to come is run to. A run of
// several cases ends on its summary.
func TestSkipPickAndSummary(t *testing.T) {
	p := newMultiPlayer(t)
	p.m.opt.Cases = []string{"iphone@26.1/user", "iphone@16.7/device", "iphone@18.2/device"}
	var f frames
	p.toGate()
	p.key("n", "n")
	p.key("s")
	v := f.check(t, "s: the first case ran through; the second waits", p.m)
	assert.Contains(t, v, "case 2 of 3")
	assert.Contains(t, v, "Next: sign-in.")
	assert.Contains(t, v, "Step 1: sign-in")
	assert.True(t, p.m.cases[0].done)
	assert.Len(t, p.m.cases, 2)

	p.key("c")
	v = f.check(t, "c: the picker", p.m)
	assert.Contains(t, v, "Pick a case")
	assert.Contains(t, v, "1  iphone@26.1/user  ✓ enrolled")
	assert.Contains(t, v, "3  iphone@18.2/device  not reached yet", "the plan's names, before the case plays")
	p.key("down", "down", "enter")
	v = f.check(t, "down down enter: ran to the third case", p.m)
	assert.Contains(t, v, "case 3 of 3")
	assert.Contains(t, v, "Next: sign-in.")
	assert.True(t, p.m.cases[1].done)

	p.key("c", "home", "enter")
	v = f.check(t, "c home enter: back to the first case, the run still held", p.m)
	assert.Contains(t, v, "case 1 of 3")
	assert.Contains(t, v, "Step 1 of 8: sign-in")
	assert.NotNil(t, p.m.waiting, "looking back does not release the gate")

	p.key("a")
	v = f.check(t, "a: the run's end shows its summary", p.m)
	assert.Contains(t, v, "Run summary")
	assert.Contains(t, v, "Cases (3)")
	assert.Contains(t, v, "✓ iphone@16.7/device → refused-on-device")
	assert.Contains(t, v, "✓ iphone@18.2/device → enrolled")
	p.key("s")
	assert.Contains(t, p.m.View(), "The run is over: c picks a case")
	golden(t, "multi.golden", f.b.String())
}

// A step marked FAIL whose own checks say nothing names the case's checks
// that tripped elsewhere, so the failure and its reason sit together.
func TestFailedStepNamesItsChecks(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 40})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	info := &event.CaseInfo{Identifier: "alice@acme.test"}
	for _, ev := range []event.Event{
		{Kind: event.EventRunStart, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Case: "c", Info: info},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepDiscovery},
		{Kind: event.EventCheck, Case: "c", Step: event.StepDiscovery, Result: &check.Result{ID: "WK-007", Status: check.Warn, Actual: "BaseURL http://mdm.acme.test is not https"}},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepDiscovery, Status: event.StepOK},
		{Kind: event.EventStepStart, Case: "c", Step: event.StepChallenge},
		{Kind: event.EventStepEnd, Case: "c", Step: event.StepChallenge, Status: event.StepFailed, Message: "the POST to http://mdm.acme.test failed"},
		{Kind: event.EventCaseEnd, Case: "c", Outcome: event.OutcomeEnrollFailed},
	} {
		m.Update(EventMsg{Event: ev})
	}
	for i, s := range m.cases[0].steps {
		if s.step == event.StepChallenge {
			m.selStep = i
		}
	}
	m.refresh()
	v := m.View()
	assert.Contains(t, v, "The checks behind it")
	assert.Contains(t, v, "WARN WK-007 (judged at discovery): BaseURL http://mdm.acme.test is not https")
}

// Plist bodies preview what they are, not their XML prologue.
func TestPlistPreview(t *testing.T) {
	auth := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict><key>BuildVersion</key><string>23B85</string><key>EnrollmentID</key><string>E1</string>
<key>MessageType</key><string>Authenticate</string><key>Topic</key><string>com.apple.mgmt.test</string></dict></plist>`
	assert.Equal(t, []string{"MessageType: Authenticate", "Topic: com.apple.mgmt.test", "EnrollmentID: E1", "BuildVersion: 23B85"},
		plistPreview(auth, "application/x-apple-aspen-mdm-checkin"))
	cmd := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Command</key><dict><key>Queries</key>
<array><string>UDID</string><string>OSVersion</string></array><key>RequestType</key><string>DeviceInformation</string></dict>
<key>CommandUUID</key><string>u-1</string></dict></plist>`
	assert.Equal(t, []string{"RequestType: DeviceInformation", "CommandUUID: u-1", "Command: {Queries UDID, OSVersion}"},
		plistPreview(cmd, "application/xml"))
	prof := `<plist version="1.0"><dict><key>PayloadType</key><string>Configuration</string><key>PayloadContent</key><array>
<dict><key>PayloadType</key><string>com.apple.mdm</string></dict><dict><key>PayloadType</key><string>com.apple.security.scep</string></dict></array>
<key>Data</key><data>AAEC</data></dict></plist>`
	assert.Equal(t, []string{"PayloadType: Configuration", "Data: <3 bytes>", "PayloadContent: 2 payloads: com.apple.mdm, com.apple.security.scep"},
		plistPreview(prof, "application/x-apple-aspen-config"))
	assert.Nil(t, plistPreview(`{"a":1}`, "application/json"))
	assert.Nil(t, plistPreview("<plist>broken", "application/xml"))
}
