package scenarios_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
)

// poll and stay reach the engine's cases: an interval, off (below zero),
// or unset (zero: the engine's defaults).
func TestPollAndStayBecomeCases(t *testing.T) {
	suite, err := scenarios.LoadFile("testdata/valid/until.yaml", opts(nil))
	require.NoError(t, err)
	byCase := map[string]sim.Case{}
	for _, s := range suite.Scenarios {
		specs, err := s.Cases(env(nil))
		require.NoError(t, err, s.Name)
		for _, spec := range specs {
			byCase[spec.Case.Name] = spec.Case
		}
	}
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
