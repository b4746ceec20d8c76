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
	"github.com/enrollsim/enrollsim/sim/event"
)

// pushWakes are the purposes of a case's push-woken connects.
func pushWakes(events []event.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == event.EventExchange && e.Step == event.StepCommands && strings.Contains(e.Exchange.Purpose, "woken by push") {
			out = append(out, e.Exchange.Purpose)
		}
	}
	return out
}

// Against a server whose worker queues the first commands 3 s after
// TokenUpdate and then pushes through the APNs stand-in, every catalogue
// device that enrolls answers every command through the push route: its
// first connect finds nothing, the worker's push (after 3 s of virtual
// worker time) wakes the second, and no connect is polled. The server's
// pushes pass every PUSH check. The poll route of the same server with the
// stand-in off is TestPollingAnswersDelayedCommands.
func TestEveryDeviceAnswersThroughThePushRoute(t *testing.T) {
	target := startRefWith(t, 5*time.Second, refserver.Config{CommandDelay: 3 * time.Second})
	cases := pollCases(t, target)
	reps, events := playPolled(t, target, cases)
	answered := 0
	for _, rep := range reps {
		if rep.Outcome != event.OutcomeEnrolled {
			continue // iOS 15 and OAuth: not this test's concern
		}
		answered++
		s := seenOf(events[rep.Name])
		assert.Empty(t, tripped(rep), "%s:%s", rep.Name, describe(rep))
		assert.True(t, strings.HasPrefix(s.message, "answered 5 commands: DeviceInformation, ProfileList, InstalledApplicationList, SecurityInfo, CertificateList; 1 connects woke by a push"), "%s: %s", rep.Name, s.message)
		assert.NotContains(t, s.message, "polling", rep.Name)
		assert.Empty(t, s.polled, rep.Name)
		assert.Equal(t, []string{"connect: Idle (woken by push 1)"}, pushWakes(events[rep.Name]), rep.Name)
		assert.Equal(t, "1", s.facts["connects_pushed"], rep.Name)
		assert.NotContains(t, s.facts, "connects_polled", rep.Name)
		for _, id := range []string{"PUSH-001", "PUSH-002", "PUSH-003", "PUSH-004", "PUSH-005", "PUSH-006"} {
			assert.Equal(t, check.Pass, statusOf(rep, id), "%s %s:%s", rep.Name, id, describe(rep))
		}
	}
	assert.Greater(t, answered, 10, "most catalogue devices enroll")
}

// statusOf is the status of a case's result for check id ("" when none).
func statusOf(rep sim.CaseReport, id string) check.Status {
	for _, r := range rep.Results {
		if r.ID == id {
			return r.Status
		}
	}
	return ""
}

// A locked device (DeviceOptions.Locked) answers NotNow to the commands
// that need it unlocked, and the server records NotNow; unlocked, the same
// server gets Acknowledged for them.
func TestLockedDeviceAnswersNotNow(t *testing.T) {
	for _, locked := range []bool{true, false} {
		target := startRefWith(t, 5*time.Second, refserver.Config{APNs: noPush})
		var cases []sim.Case
		for _, c := range pollCases(t, target) {
			if c.Name == "iphone@26.1/user" {
				c.Options.Locked = locked
				cases = append(cases, c)
			}
		}
		reps, _ := playPolled(t, target, cases)
		require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
		statuses := map[string]string{}
		// The case ends with CheckOut: the server's last record of it.
		for _, e := range target.srv.CheckedOutEnrollments() {
			for _, r := range e.Results {
				statuses[r.RequestType] = r.Status
			}
		}
		want := "Acknowledged"
		if locked {
			want = "NotNow"
		}
		assert.Equal(t, want, statuses["CertificateList"], "locked %v: %v", locked, statuses)
		assert.Equal(t, "Acknowledged", statuses["DeviceInformation"], "locked %v", locked)
	}
}

// A scripted server action during the stay: 2 s into the device's waiting
// the target's queue hook queues DeviceInformation, and the device answers
// it, woken by the server's push (at once) or by polling (at its next
// poll). Against a server that never pushes the device, waiting for a push,
// never learns of it: the action fails the case's expectations.
func TestScriptedActionIsAnswered(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     refserver.Config
		actions string
		failed  string
	}{
		{"push", refserver.Config{}, "queued DeviceInformation after 2s, answered 0s later", ""},
		{"poll", refserver.Config{APNs: noPush}, "queued DeviceInformation after 2s, answered 1s later", ""},
		{"no push", refserver.Config{Faults: []string{refserver.FaultPushNone}}, "queue DeviceInformation after 2s: not answered within 5s",
			"queue DeviceInformation after 2s: not answered within 5s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target := startRefWith(t, 5*time.Second, tt.cfg)
			var cases []sim.Case
			for _, c := range pollCases(t, target) {
				if c.Name == "iphone@26.1/user" {
					c.Actions = []sim.Action{{After: 2 * time.Second, Queue: "DeviceInformation", Keys: map[string]any{"Queries": []any{"DeviceName"}}, Within: 5 * time.Second}}
					cases = append(cases, c)
				}
			}
			reps, events := playPolled(t, target, cases)
			require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
			s := seenOf(events[reps[0].Name])
			assert.Equal(t, tt.actions, s.facts["actions"])
			assert.Equal(t, tt.failed, s.facts["actions_failed"])
			if tt.failed == "" {
				assert.Contains(t, s.message, "answered 6 commands")
			}
		})
	}
}
