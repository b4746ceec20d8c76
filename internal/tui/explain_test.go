package tui

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
)

// Every step the TUI predicts has its own explanation, and those after the
// profile say the user-enrollment privacy rules and the checks they prove.
func TestExplanationsCoverEveryStep(t *testing.T) {
	steps := append([]sim.Step{sim.StepOAuth2}, predicted...)
	for _, s := range afterProfile {
		steps = append(steps, s.step)
	}
	for _, s := range steps {
		e, ok := explanations[s]
		require.True(t, ok, "no explanation for %s", s)
		assert.NotEmpty(t, e.Title, s)
		assert.NotEmpty(t, e.Section, s)
		assert.NotEmpty(t, e.What, s)
		assert.NotEmpty(t, e.Expects, s)
		assert.NotEmpty(t, e.Mobile, s)
		assert.NotEmpty(t, e.Mac, s)
	}
	for step, want := range map[sim.Step][]string{
		sim.StepIdentity: {"SCEP", "GetCACaps", "PKIOperation", "CHK-001", "error (blocked)"},
		sim.StepCheckIn: {"Authenticate", "TokenUpdate", "application/x-apple-aspen-mdm-checkin", "EnrollmentID",
			"never UDID, SerialNumber, IMEI or MEID", "device channel carries no token", "EnrollmentUserID",
			"CHK-002..006", "CHK-007", "CHK-009", "CHK-010", "CHK-011", "TOK-004", "TOK-005", "TOK-006", "TOK-007", "TOK-009"},
		sim.StepCommands: {"Status: Idle", "DeviceInformation", "ProfileList", "InstalledApplicationList", "SecurityInfo",
			"CertificateList", "NotNow", "managed apps only", "CHK-008", "CHK-012", "TOK-005"},
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
	for until, want := range map[string][]sim.Step{
		"":         {sim.StepProfile, sim.StepIdentity, sim.StepCheckIn, sim.StepCommands},
		"commands": {sim.StepProfile, sim.StepIdentity, sim.StepCheckIn, sim.StepCommands},
		"checkin":  {sim.StepProfile, sim.StepIdentity, sim.StepCheckIn},
		"identity": {sim.StepProfile, sim.StepIdentity},
		"profile":  {sim.StepProfile},
	} {
		c := newCase(sim.Event{Kind: sim.EventCaseStart, Case: "c", Info: &sim.CaseInfo{Until: until}})
		var got []sim.Step
		for _, s := range c.steps[len(predicted)-1:] {
			got = append(got, s.step)
		}
		assert.Equal(t, want, got, "until %q", until)
	}
	c := newCase(sim.Event{Kind: sim.EventCaseStart, Case: "c"})
	assert.Len(t, c.steps, len(predicted)+len(afterProfile), "no case info: all the way")
}
