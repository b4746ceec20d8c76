package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Screenshots of browser sign-ins show in the timeline: embedded from the
// file, so the report stays one file, or named as missing.
func TestHTMLShowsScreenshots(t *testing.T) {
	dir := t.TempDir()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 32)...)
	written := filepath.Join(dir, "01-password.png")
	if err := os.WriteFile(written, png, 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	events := []event.Event{
		{Kind: event.EventRunStart, Time: now, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Time: now, Case: "c", Info: &event.CaseInfo{Identifier: "alice@acme.test"}},
		{Kind: event.EventStepStart, Time: now, Case: "c", Step: "web-login"},
		{Kind: event.EventArtifact, Time: now, Case: "c", Step: "web-login", Artifact: &event.Artifact{Name: "screenshot 1: password on https://idp.test/login", File: "01-password.png", MediaType: "image/png", Path: written}},
		{Kind: event.EventArtifact, Time: now, Case: "c", Step: "web-login", Artifact: &event.Artifact{Name: "screenshot 2: otp on https://idp.test/otp", File: "02-otp.png", MediaType: "image/png", Path: filepath.Join(dir, "gone.png")}},
		{Kind: event.EventStepEnd, Time: now, Case: "c", Step: "web-login", Status: event.StepOK},
		{Kind: event.EventCaseEnd, Time: now, Case: "c", Outcome: event.OutcomeEnrolled},
		{Kind: event.EventRunEnd, Time: now},
	}
	var b bytes.Buffer
	if err := report.WriteHTML(&b, events, report.Options{}); err != nil {
		t.Fatal(err)
	}
	html := b.String()
	if !strings.Contains(html, `<img src="data:image/png;base64,iVBORw0KGgo`) {
		t.Error("the first screenshot is not embedded")
	}
	if !strings.Contains(html, "screenshot 1: password on https://idp.test/login") {
		t.Error("no caption")
	}
	if !strings.Contains(html, "(screenshot not found: ") || !strings.Contains(html, "gone.png") {
		t.Error("a missing file is not named")
	}
}
