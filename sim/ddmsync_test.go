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
// types where it has them, acknowledges DeclarativeManagement, syncs from
// the command's tokens (the items, each declaration, the status report),
// then probes (an unknown declaration that gets 404, the tokens twice) and
// follows the tester's two changes (each brings a DeclarativeManagement
// command, and the device syncs again and reports); nothing trips.
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
		for _, id := range []string{"DDM-001", "DDM-002", "DDM-003", "DDM-004", "DDM-005", "DDM-007", "DDM-009"} {
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
		assert.Equal(t, "declaration-items", endpoints[0], rep.Name+": the command's Data stands for tokens")
		assert.Equal(t, []string{"declaration/activation/com.acme.ddm.activation.default", "declaration/configuration/com.acme.ddm.status-subscriptions",
			"declaration/configuration/com.acme.ddm.test", "status"}, endpoints[1:5], rep.Name)
		assert.Equal(t, 3, count(endpoints, "status"), "%s: the first report, and one after each change: %v", rep.Name, endpoints)
		assert.Equal(t, 3, count(endpoints, "declaration-items"), "%s: %v", rep.Name, endpoints)
		assert.Equal(t, 1, count(endpoints, "declaration/configuration/enrollsim-probe-token-change"), "%s: the added one fetched once: %v", rep.Name, endpoints)
		assert.Equal(t, "status", endpoints[len(endpoints)-1], rep.Name)
		assert.Contains(t, message, "status report sent; tokens from the command's Data; synced again after 2 of the tester's 2 changes", rep.Name)
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

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// An Enrollment SSO enrollment on iOS 26.1 installed the document's
// declarations; the reference server pre-stages the same ones (same
// ServerTokens) for the first sync, with declarative management off for
// everyone else: the device syncs without fetching them again, and
// DDM-008 passes. On 18.2, which does not read them, nothing is synced.
func TestESSODeclarationsReachTheFirstSync(t *testing.T) {
	target := startRef(t, 5*time.Second)
	var cases []sim.Case
	for _, ref := range []string{"iphone@26.1", "iphone@18.2"} {
		d, err := device.LookupDevice(ref)
		require.NoError(t, err)
		cases = append(cases, sim.Case{Name: ref, Device: d, Account: sim.Account{Identifier: "judy@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}})
	}
	reps, events := play(t, target, 5*time.Second, cases...)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
		assert.Empty(t, tripped(rep), "%s:%s", rep.Name, describe(rep))
	}
	assert.Equal(t, check.Pass, statusOf(reps[0], "DDM-008"), describe(reps[0]))
	assert.Equal(t, check.Status(""), statusOf(reps[1], "DDM-008"), describe(reps[1]))
	synced := map[string]bool{}
	for _, e := range events {
		if e.Kind == event.EventExchange && strings.HasPrefix(e.Exchange.Purpose, "ddm: ") {
			synced[e.Case] = true
			assert.NotContains(t, e.Exchange.Purpose, "test.acme.esso", "the staged declarations are the device's already")
		}
	}
	assert.Equal(t, map[string]bool{"iphone@26.1": true}, synced)
}

// A case that goes until ddm against a server that never asks for a sync
// ends in error (nothing could be synced, no server rule is broken) and
// says what to do; with DDM on the same case enrolls.
func TestUntilDDMNeedsTheCommand(t *testing.T) {
	d, err := device.LookupDevice("iphone@26.1")
	require.NoError(t, err)
	c := sim.Case{Name: "c", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Until: event.UntilDDM}
	reps, events := play(t, startRef(t, 5*time.Second), 5*time.Second, c)
	require.Equal(t, event.OutcomeError, reps[0].Outcome, describe(reps[0]))
	assert.Contains(t, reps[0].Message, "the server sent no DeclarativeManagement command in the first commands (5 answered)")
	assert.Contains(t, reps[0].Message, "--ddm")
	assert.Empty(t, tripped(reps[0]))
	var steps []event.Step
	for _, e := range events {
		if e.Kind == event.EventStepEnd {
			steps = append(steps, e.Step)
		}
	}
	assert.Equal(t, event.StepDDM, steps[len(steps)-1], "the case stops at the sync: %v", steps)

	reps, _ = play(t, startRefWith(t, 5*time.Second, refserver.Config{DDM: true}), 5*time.Second, c)
	require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
	assert.Equal(t, check.Pass, statusOf(reps[0], "DDM-001"))
}
