package event

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The flow lists each step once, and a step's index is its place in it.
func TestFlowListsEveryStepOnce(t *testing.T) {
	seen := map[Step]bool{}
	for i, s := range Flow {
		assert.False(t, seen[s], "%s twice in Flow", s)
		seen[s] = true
		assert.Equal(t, i, s.Index())
	}
	assert.Equal(t, -1, Step("no-such-step").Index())
}

// Planned follows Until after the profile, keeps the registration only
// when it is under test, and signs in through web-login (oauth2 replaces
// it when the server asks).
func TestPlanned(t *testing.T) {
	tail := func(u Until, reg bool) []Step {
		p := Planned(u, reg)
		// ddm comes only when the server asks for a sync: not planned.
		return p[len(p)-1-(len(Flow)-StepProfile.Index()-2):]
	}
	assert.Equal(t, []Step{StepProfile}, Planned(UntilProfile, false)[len(Planned(UntilProfile, false))-1:])
	assert.Equal(t, []Step{StepProfile, StepIdentity, StepCheckIn, StepCommands, StepTokenLife}, tail(UntilCommands, false))
	assert.Equal(t, tail(UntilCommands, false), tail("", false), "the zero Until goes all the way")
	assert.NotContains(t, Planned(UntilCommands, false), StepRegistration)
	assert.Contains(t, Planned(UntilCommands, true), StepRegistration)
	assert.NotContains(t, Planned(UntilCommands, true), StepOAuth2)
	assert.NotContains(t, Planned(UntilCommands, true), StepDDM)
	assert.True(t, UntilCommands.Plays(StepDDM))
	assert.False(t, UntilCheckIn.Plays(StepDDM))
	full := Planned(UntilDDM, false)
	assert.Equal(t, []Step{StepCommands, StepDDM, StepTokenLife}, full[len(full)-3:], "until ddm plans the sync")
	assert.True(t, UntilDDM.Reaches(UntilCommands))
	assert.False(t, UntilCommands.Reaches(UntilDDM))
	assert.True(t, UntilCheckIn.Plays(StepCheckIn))
	assert.False(t, UntilCheckIn.Plays(StepCommands))
	assert.True(t, UntilProfile.Plays(StepDiscovery), "steps before the profile play whatever the Until")
}

func TestParseUntil(t *testing.T) {
	for in, want := range map[string]Until{"": UntilCommands, "profile": UntilProfile, "check-in": UntilCheckIn, "checkin": UntilCheckIn, "ddm": UntilDDM} {
		got, err := ParseUntil(in)
		assert.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	_, err := ParseUntil("forever")
	assert.ErrorContains(t, err, "want profile, identity")
}
