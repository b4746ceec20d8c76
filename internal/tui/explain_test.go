package tui

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/event"
)

// Every step the TUI predicts has its own explanation, and those after the
// profile say the user-enrollment privacy rules and the checks they prove.
func TestExplanationsCoverEveryStep(t *testing.T) {
	for _, s := range event.Flow {
		e, ok := explanations[s]
		require.True(t, ok, "no explanation for %s", s)
		assert.NotEmpty(t, e.Title, s)
		assert.NotEmpty(t, e.Section, s)
		assert.NotEmpty(t, e.What, s)
		assert.NotEmpty(t, e.Expects, s)
		assert.NotEmpty(t, e.Mobile, s)
		assert.NotEmpty(t, e.Mac, s)
	}
	for step, want := range map[event.Step][]string{
		event.StepIdentity: {"SCEP", "GetCACaps", "PKIOperation", "CHK-001", "error (blocked)"},
		event.StepCheckIn: {"Authenticate", "TokenUpdate", "application/x-apple-aspen-mdm-checkin", "EnrollmentID",
			"never UDID, SerialNumber, IMEI or MEID", "device channel carries no token", "EnrollmentUserID",
			"CHK-002..006", "CHK-007", "CHK-009", "CHK-010", "CHK-011", "TOK-004", "TOK-005", "TOK-006", "TOK-007", "TOK-009"},
		event.StepCommands: {"Status: Idle", "DeviceInformation", "ProfileList", "InstalledApplicationList", "SecurityInfo",
			"CertificateList", "NotNow", "managed apps only", "CHK-008", "CHK-012", "TOK-005"},
		event.StepTokenLife: {"GetToken", "com.apple.maid", "wrong Topic", "second device", "signs in again", "401 challenge",
			"403 com.apple.unrecognized.device", "CheckOut", "CHK-007", "CHK-009", "CHK-010", "CHK-011", "TOK-006", "TOK-007", "TOK-008", "TOK-009"},
	} {
		e := explanations[step]
		for _, w := range want {
			assert.Contains(t, e.What+" "+e.Expects, w, step)
		}
	}
}

// The predicted rows end where the case's until ends it; a stream without
// until (older recordings, the default) goes all the way.
func TestPredictedStepsHonourUntil(t *testing.T) {
	for until, want := range map[string][]event.Step{
		"":         {event.StepProfile, event.StepIdentity, event.StepCheckIn, event.StepCommands, event.StepTokenLife},
		"commands": {event.StepProfile, event.StepIdentity, event.StepCheckIn, event.StepCommands, event.StepTokenLife},
		"checkin":  {event.StepProfile, event.StepIdentity, event.StepCheckIn},
		"identity": {event.StepProfile, event.StepIdentity},
		"profile":  {event.StepProfile},
	} {
		c := newCase(event.Event{Kind: event.EventCaseStart, Case: "c", Info: &event.CaseInfo{Until: until}})
		var got []event.Step
		for _, s := range c.steps[event.StepProfile.Index()-3:] { // no registration, no enrollment-sso, no oauth2 row (nor ddm)
			got = append(got, s.step)
		}
		assert.Equal(t, want, got, "until %q", until)
	}
	c := newCase(event.Event{Kind: event.EventCaseStart, Case: "c"})
	assert.Len(t, c.steps, len(event.Flow)-4, "no case info: all the way (every step but the registration, enrollment-sso, oauth2 and ddm)")
}
