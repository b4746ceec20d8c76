package scenarios_test

import (
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/stretchr/testify/assert"
)

// poll and stay reach the engine's cases: an interval, off (below zero),
// or unset (zero: the engine's defaults).
func TestPollAndStayBecomeCases(t *testing.T) {
	byCase := casesOf(t, "testdata/valid/until.yaml")
	adde := byCase["adde-count/iphone@26.1"]
	assert.Equal(t, 2*time.Second, adde.Poll)
	assert.Equal(t, time.Minute, adde.Stay)
	byod := byCase["byod-commands/iphone@26.1"]
	assert.Less(t, byod.Poll, time.Duration(0), "poll: off")
	assert.Zero(t, byod.Stay)
	profile := byCase["profile-only/mac@26.1"]
	assert.Zero(t, profile.Poll, "no poll: the engine's default")
	assert.Zero(t, profile.Stay)
}

// actions reach the engine's cases as sim.Actions, keys and all.
func TestActionsBecomeCases(t *testing.T) {
	byCase := casesOf(t, "testdata/valid/actions.yaml")
	c := byCase["actions/iphone@26.1"]
	assert.Equal(t, []sim.Action{
		{After: 2 * time.Second, Queue: "DeviceInformation", Keys: map[string]any{"Queries": []any{"DeviceName"}}, Within: 5 * time.Second},
		{Queue: "ProfileList"},
	}, c.Actions)
}
