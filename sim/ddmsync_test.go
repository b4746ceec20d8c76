package sim_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A server that manages declaratively: every family, in both enrollment
// types where it has them, acknowledges DeclarativeManagement, syncs (the
// tokens, the items, each declaration, an unknown one that gets 404, the
// tokens again and after the tester's change) and sends its status
// report, which the server keeps; nothing trips.
func TestDDMSyncOnEveryFamily(t *testing.T) {
	target := startRefWith(t, 5*time.Second, refserver.Config{DDM: true})
	var cases []sim.Case
	for _, ref := range []string{"iphone@26.1", "ipad@26.1", "mac@26.1", "vision@2.2"} {
		d, err := device.LookupDevice(ref)
		require.NoError(t, err)
		cases = append(cases, sim.Case{Name: ref + "/user", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}})
		if d.Has(device.CapDeviceEnrollment) {
			cases = append(cases, sim.Case{Name: ref + "/device", Device: d, Account: sim.Account{Identifier: "carol@acme.test"}, Type: sim.TypeDevice, Expect: sim.Expect{Enroll: true}})
		}
	}
	reps, events := play(t, target, 5*time.Second, cases...)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
		assert.Empty(t, tripped(rep), "%s:%s", rep.Name, describe(rep))
		for _, id := range []string{"DDM-001", "DDM-002", "DDM-003", "DDM-004", "DDM-005", "DDM-007"} {
			assert.Equal(t, check.Pass, statusOf(rep, id), "%s %s:%s", rep.Name, id, describe(rep))
		}
		var endpoints []string
		var message string
		for _, e := range events {
			if e.Case != rep.Name || e.Step != event.StepDDM {
				continue
			}
			if e.Kind == event.EventExchange && strings.HasPrefix(e.Exchange.Purpose, "ddm: ") {
				endpoints = append(endpoints, strings.TrimPrefix(e.Exchange.Purpose, "ddm: "))
			}
			if e.Kind == event.EventStepEnd {
				message = e.Message
			}
		}
		assert.Equal(t, "tokens", endpoints[0], rep.Name)
		assert.Equal(t, "declaration-items", endpoints[1], rep.Name)
		assert.Equal(t, "status", endpoints[len(endpoints)-1], rep.Name)
		assert.Contains(t, message, "status report sent", rep.Name)
	}
}

// Without DDM the server sends no DeclarativeManagement and the step does
// not play.
func TestNoDDMWithoutTheCommand(t *testing.T) {
	target := startRef(t, 5*time.Second)
	d, err := device.LookupDevice("iphone@26.1")
	require.NoError(t, err)
	reps, events := play(t, target, 5*time.Second, sim.Case{Name: "c", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}})
	require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
	for _, e := range events {
		assert.NotEqual(t, event.StepDDM, e.Step)
	}
	assert.Equal(t, check.Status(""), statusOf(reps[0], "DDM-001"))
}
