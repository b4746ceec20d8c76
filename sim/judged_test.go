package sim_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Every check a step judges names the exchanges it judged: exchanges of the
// same case, made before the check, by its step (the profile's, by the
// enrollment that fetched it; the transport checks', by the whole case).
func TestChecksNameTheExchangesTheyJudged(t *testing.T) {
	r := startRef(t, 5*time.Second)
	reps, events := play(t, r, 5*time.Second, caseFor(t, "iphone@26.1", "alice@acme.test", sim.TypeUser))
	require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome)
	seen := map[int]event.Step{}
	judgedBy := map[string][]int{}
	for _, ev := range events {
		switch {
		case ev.Kind == event.EventExchange:
			seen[ev.Exchange.Seq] = ev.Step
		case ev.Kind == event.EventCheck:
			for _, s := range ev.Judged {
				_, ok := seen[s]
				assert.True(t, ok, "%s judged exchange %d, which was not made before it", ev.Result.ID, s)
			}
			judgedBy[ev.Result.ID] = ev.Judged
		}
	}
	require.NotEmpty(t, judgedBy["PROF-004"], "PROF-004 should name the exchange that fetched the profile")
	var profile bool
	for _, s := range judgedBy["PROF-004"] {
		profile = profile || seen[s] == event.StepEnroll
	}
	assert.True(t, profile, "PROF-004 judged %v", judgedBy["PROF-004"])
	assert.True(t, slices.IsSorted(judgedBy["SEC-001"]))
	assert.Greater(t, len(judgedBy["SEC-001"]), 5, "the transport checks judge every exchange of the device")
}
