package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/event"
)

// A wait event (a fresh TOTP step against a deployed server) is a line in
// the detail of the step that waits, while it runs and after.
func TestWaitShownInStepDetail(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 40})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	msg := "waiting 17 s for the next TOTP step of alice@acme.test: its current code was used by case X"
	var login event.Event
	evs := loadEvents(t, "byod.jsonl")
	for i, ev := range evs {
		m.Update(EventMsg{Event: ev})
		if ev.Kind == event.EventStepStart && ev.Step == event.StepWebLogin {
			login = ev
			evs = evs[i+1:]
			break
		}
	}
	assert.NotContains(t, m.View(), "waiting 17 s", "no wait before the event")
	m.Update(EventMsg{Event: event.Event{Kind: event.EventWait, Case: login.Case, Step: login.Step, Message: msg}})
	v := m.View()
	assert.Contains(t, v, "Running web-login…")
	assert.Contains(t, strings.Join(strings.Fields(v), " "), "waiting 17 s for the next TOTP step of alice@acme.test: its current code was used")
	for _, ev := range evs {
		m.Update(EventMsg{Event: ev})
		if ev.Kind == event.EventStepEnd && ev.Step == event.StepWebLogin {
			break
		}
	}
	v = m.View()
	assert.Contains(t, v, "web-login · Sign-in in a web sheet", "the view stays on the step that waited")
	assert.Contains(t, strings.Join(strings.Fields(m.View()), " "), "waiting 17 s for the next TOTP step")
}
