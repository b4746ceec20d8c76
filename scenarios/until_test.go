package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// until and expect.commands reach the engine's cases: the stage, the count
// as the fact "commands", the RequestTypes as Expect.CommandTypes.
func TestUntilAndCommandsBecomeCases(t *testing.T) {
	byCase := casesOf(t, "testdata/valid/until.yaml")
	require.Len(t, byCase, 5)

	byod := byCase["byod-commands/iphone@26.1"]
	assert.Equal(t, event.Until(""), byod.Until, "no until: all the way")
	assert.Equal(t, []string{"DeviceInformation", "ProfileList"}, byod.Expect.CommandTypes)
	assert.NotContains(t, byod.Expect.Facts, "commands")

	adde := byCase["adde-count/iphone@26.1"]
	assert.Equal(t, event.UntilCommands, adde.Until)
	assert.Equal(t, "5", adde.Expect.Facts["commands"])
	assert.Equal(t, event.OutcomeEnrolled, adde.Expect.Outcome)

	// auto on a device that cannot enroll: no commands to expect.
	refused := byCase["adde-count/iphone@16.7"]
	assert.Equal(t, event.OutcomeRefused, refused.Expect.Outcome)
	assert.NotContains(t, refused.Expect.Facts, "commands")
	assert.Nil(t, refused.Expect.CommandTypes)

	profile := byCase["profile-only/mac@26.1"]
	assert.Equal(t, event.UntilProfile, profile.Until)
	assert.Equal(t, event.OutcomeEnrolled, profile.Expect.Outcome, "a case that stops at the profile has enrolled")

	refusedCheckIn := byCase["checkin-refused/ipad@26.1"]
	assert.Equal(t, event.UntilCheckIn, refusedCheckIn.Until)
	assert.Equal(t, event.OutcomeCheckInFailed, refusedCheckIn.Expect.Outcome)
}

func TestOutcomeNeeds(t *testing.T) {
	for o, want := range map[string]event.Until{
		event.OutcomeIdentityFailed: event.UntilIdentity, event.OutcomeCheckInFailed: event.UntilCheckIn,
		event.OutcomeUnenrolled: event.UntilCheckIn, event.OutcomeEnrolled: "", event.OutcomeProfileRejected: "",
	} {
		assert.Equal(t, want, scenarios.OutcomeNeeds(o), o)
	}
}

// casesOf loads a scenario file and returns its cases by name.
func casesOf(t *testing.T, file string) map[string]sim.Case {
	t.Helper()
	suite, err := scenarios.LoadFile(file, opts(nil))
	require.NoError(t, err)
	byCase := map[string]sim.Case{}
	for _, s := range suite.Scenarios {
		specs, err := s.Cases(env(nil))
		require.NoError(t, err, s.Name)
		for _, spec := range specs {
			byCase[spec.Case.Name] = spec.Case
		}
	}
	return byCase
}

// target.embedded.ddm and until: ddm turn the embedded server's
// declarative management on; a deployed server's hook reaches the case.
func TestDDMScenarioKeys(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/ddm.yaml", opts(nil))
	require.NoError(t, err)
	specs := map[string]scenarios.CaseSpec{}
	for _, s := range suite.Scenarios {
		got, err := s.Cases(env(nil))
		require.NoError(t, err, s.Name)
		for _, spec := range got {
			specs[spec.Case.Name] = spec
		}
	}
	assert.True(t, specs["embedded-ddm/iphone@26.1"].DDM)
	assert.Equal(t, event.Until(""), specs["embedded-ddm/iphone@26.1"].Case.Until)
	assert.True(t, specs["until-ddm/mac@26.1"].DDM, "until: ddm needs the server to ask")
	assert.Equal(t, event.UntilDDM, specs["until-ddm/mac@26.1"].Case.Until)
	hook := specs["deployed-hook/ipad@26.1"]
	assert.False(t, hook.DDM, "a deployed server manages as it does")
	assert.Equal(t, "https://mdm.acme.test:8443/admin/declarations?id={id}", hook.Server.AdminDeclarations)
}
