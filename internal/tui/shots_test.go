package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/event"
)

// The detail pane of a browser sign-in names each screenshot and its file.
func TestDetailGivesScreenshotPaths(t *testing.T) {
	m := NewModel(Options{Width: 120, Height: 60})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 60})
	for _, ev := range loadEvents(t, "byod.jsonl") {
		m.Update(EventMsg{Event: ev})
		if ev.Kind == event.EventStepStart && ev.Step == "web-login" {
			m.Update(EventMsg{Event: event.Event{Kind: event.EventArtifact, Case: ev.Case, Step: ev.Step,
				Artifact: &event.Artifact{Name: "screenshot 1: password on https://mdm.acme.test/auth/login", File: "01-password.png", Path: "/tmp/run-artifacts/c/01-password.png"}}})
		}
	}
	for ci, c := range m.cases {
		for si, s := range c.steps {
			if s.step == "web-login" {
				m.selCase, m.selStep, m.follow = ci, si, false
			}
		}
	}
	lines, _ := m.detail(110)
	text := strings.Join(lines, "\n")
	assert.Contains(t, text, "Screenshots (1)")
	assert.Contains(t, text, "/tmp/run-artifacts/c/01-password.png")
}
