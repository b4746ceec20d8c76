package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// pollCases are every catalogue device with each enrollment type it can
// take, against target.
func pollCases(t *testing.T, target *ref) []sim.Case {
	t.Helper()
	var cases []sim.Case
	for _, d := range device.Catalogue() {
		if ok, _ := d.Can(device.CapUserEnrollment); ok {
			cases = append(cases, sim.Case{Name: d.Ref() + "/user", Device: d, Account: target.account("alice@acme.test"), Type: sim.TypeUser, Target: target.target})
		}
		if d.Has(device.CapDeviceEnrollment) {
			cases = append(cases, sim.Case{Name: d.Ref() + "/device", Device: d, Account: target.account("carol@acme.test"), Type: sim.TypeDevice, Target: target.target})
		}
	}
	require.NotEmpty(t, cases)
	return cases
}

// playPolled plays cases with the virtual worker clock, as the embedded
// target does, two at a time, and returns each case's events by name.
func playPolled(t *testing.T, target *ref, cases []sim.Case) ([]sim.CaseReport, map[string][]event.Event) {
	t.Helper()
	byCase := map[string][]event.Event{}
	eng := &sim.Engine{Limits: loadedLimits(5 * time.Second), Clock: target.clock.Now, TOTPClock: target.clock,
		WorkerClock: target.clock, Browser: testBrowser, NoScreenshots: true, Parallel: 2,
		Sleep: func(context.Context, time.Duration) error {
			return fmt.Errorf("a real sleep against the embedded target")
		}}
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(e event.Event) { byCase[e.Case] = append(byCase[e.Case], e) })
	require.NoError(t, err)
	require.Len(t, reps, len(cases))
	return reps, byCase
}

// pollSeen reads a case's events: the commands step's message, its polled
// connects, its wait events and its case-end facts.
type pollSeen struct {
	message string
	polled  []string
	waits   []event.Event
	facts   map[string]string
}

func seenOf(events []event.Event) pollSeen {
	var s pollSeen
	for _, e := range events {
		switch {
		case e.Kind == event.EventStepEnd && e.Step == event.StepCommands:
			s.message = e.Message
		case e.Kind == event.EventExchange && e.Step == event.StepCommands && strings.Contains(e.Exchange.Purpose, "(poll"):
			s.polled = append(s.polled, e.Exchange.Purpose)
		case e.Kind == event.EventWait && e.Step == event.StepCommands:
			s.waits = append(s.waits, e)
		case e.Kind == event.EventCaseEnd:
			s.facts = e.Facts
		}
	}
	return s
}

// Against a server whose worker queues the first commands 3 s after
// TokenUpdate, every catalogue device that enrolls answers every command
// by polling: three waits of 1 s of virtual worker time (no real sleep:
// Sleep fails the case), the fourth Idle connect gets them. With polling
// off, the same server and devices answer none: the route is the cause.
func TestPollingAnswersDelayedCommands(t *testing.T) {
	target := startRefWith(t, 5*time.Second, refserver.Config{CommandDelay: 3 * time.Second, APNs: noPush})
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
		assert.True(t, strings.HasPrefix(s.message, "answered 5 commands: DeviceInformation, ProfileList, InstalledApplicationList, SecurityInfo, CertificateList; 3 connects woke by polling"), "%s: %s", rep.Name, s.message)
		assert.Equal(t, []string{"connect: Idle (poll 2)", "connect: Idle (poll 3)", "connect: Idle (poll 4)"}, s.polled, rep.Name)
		require.Len(t, s.waits, 3, rep.Name)
		for _, w := range s.waits {
			assert.Equal(t, time.Second, w.Wait)
			assert.Contains(t, w.Message, "no command yet: reconnecting in 1s (polling stands in for the APNs push this simulator cannot receive")
		}
		assert.Equal(t, "3", s.facts["connects_polled"], rep.Name)
		assert.Equal(t, "5", s.facts["commands"], rep.Name)
	}
	assert.Greater(t, answered, 10, "most catalogue devices enroll")

	// Polling off: the first empty answer ends the step, as a device that
	// waits for a push it never gets.
	var off []sim.Case
	for _, c := range cases {
		if c.Name == "iphone@26.1/user" || c.Name == "mac@26.1/device" {
			c.Poll = -1
			off = append(off, c)
		}
	}
	require.Len(t, off, 2)
	reps, events = playPolled(t, target, off)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
		s := seenOf(events[rep.Name])
		assert.Equal(t, "answered 0 commands", s.message, rep.Name)
		assert.Empty(t, s.polled, rep.Name)
		assert.Empty(t, s.waits, rep.Name)
		assert.Empty(t, tripped(rep), "an empty queue is no fault:%s", describe(rep))
	}
}

// Against the conforming server (commands queued at the first connect)
// nothing polls: no wait event, no polled connect, no connects_polled.
func TestConformingServerNeedsNoPolling(t *testing.T) {
	target := startRefWith(t, 5*time.Second, refserver.Config{APNs: noPush})
	var cases []sim.Case
	for _, c := range pollCases(t, target) {
		if strings.HasPrefix(c.Name, "iphone@26.1/") || strings.HasPrefix(c.Name, "mac@26.1/") {
			cases = append(cases, c)
		}
	}
	reps, events := playPolled(t, target, cases)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
		s := seenOf(events[rep.Name])
		assert.True(t, strings.HasPrefix(s.message, "answered 5 commands"), s.message)
		assert.NotContains(t, s.message, "polling")
		assert.Empty(t, s.polled)
		assert.Empty(t, s.waits)
		assert.NotContains(t, s.facts, "connects_polled")
	}
}

// With Stay the device keeps polling after the queue drains, until the
// waits add up to Stay, every wait a jump of the worker clock.
func TestStayKeepsPolling(t *testing.T) {
	target := startRefWith(t, 5*time.Second, refserver.Config{APNs: noPush})
	var cases []sim.Case
	for _, c := range pollCases(t, target) {
		if c.Name == "iphone@26.1/user" {
			c.Poll, c.Stay = 2*time.Second, 5*time.Second
			cases = append(cases, c)
		}
	}
	require.Len(t, cases, 1)
	reps, events := playPolled(t, target, cases)
	require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
	s := seenOf(events[reps[0].Name])
	// Waits of 2 s, 2 s and the 1 s left of the stay.
	require.Len(t, s.waits, 3)
	assert.Equal(t, []time.Duration{2 * time.Second, 2 * time.Second, time.Second}, []time.Duration{s.waits[0].Wait, s.waits[1].Wait, s.waits[2].Wait})
	assert.Contains(t, s.waits[0].Message, "queue drained: staying, reconnecting in 2s")
	assert.Equal(t, []string{"connect: Idle (poll 2)", "connect: Idle (poll 3)", "connect: Idle (poll 4)"}, s.polled)
	assert.Equal(t, "answered 5 commands: DeviceInformation, ProfileList, InstalledApplicationList, SecurityInfo, CertificateList; 3 connects woke by polling (a real device waits for a push)", s.message)
	assert.Empty(t, tripped(reps[0]), describe(reps[0]))
}
