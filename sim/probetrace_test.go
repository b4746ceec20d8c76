package sim_test

import (
	"context"
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

// playSeeded plays c against r with devices that are the same in every
// run, so that two runs against two servers leave comparable records.
func playSeeded(t *testing.T, r *ref, c sim.Case) (sim.CaseReport, []event.Event) {
	t.Helper()
	c.Target = r.target
	c.Account = r.account(c.Account.Identifier)
	var events []event.Event
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 5 * time.Second}, Clock: r.clock.Now, TOTPClock: r.clock}
	sim.SetDeviceSeed(eng, "probes-leave-no-trace")
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	require.Len(t, reps, 1)
	return reps[0], events
}

// stored is what the server holds of an enrollment that a probe could have
// changed. The command answers are left out: they carry the identity
// certificate, new in every run; each server has a topic of its own.
func stored(srv *refserver.Server, e refserver.Enrollment) refserver.Enrollment {
	e.Results = nil
	for _, p := range []*refserver.Push{&e.Push, &e.UserPush} {
		if p.Topic == srv.Topic() {
			p.Topic = "(the server's own topic)"
		}
	}
	return e
}

// Probes leave no trace: what the server stores for the case's enrollment
// after a run with probes (the wrong Topic of CHK-007, another
// enrollment's token of CHK-009, ...) is what it stores after the same run
// with --no-probes, on servers that store what they are sent as NanoMDM
// does, a wrong Topic included (topic-not-checked).
func TestProbesLeaveNoTrace(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, fault, device, account string
		typ                          sim.EnrollmentType
	}{
		{"conforming", "", "iphone@18.2", "alice@acme.test", sim.TypeUser},
		{"stores a wrong topic", refserver.FaultTopicNotChecked, "iphone@18.2", "alice@acme.test", sim.TypeUser},
		{"stores a wrong topic, device enrollment", refserver.FaultTopicNotChecked, "iphone@26.1", "carol@acme.test", sim.TypeDevice},
		{"stores a wrong topic, Mac user channel", refserver.FaultTopicNotChecked, "mac@15.2", "alice@acme.test", sim.TypeUser},
		{"stores a wrong topic, OAuth 2", refserver.FaultTopicNotChecked, "iphone@18.2", "erin@acme.test", sim.TypeUser},
		{"takes any user's token", refserver.FaultCheckinIgnoresToken, "iphone@18.2", "alice@acme.test", sim.TypeUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var faults []string
			if tc.fault != "" {
				faults = []string{tc.fault}
			}
			left := map[bool]refserver.Enrollment{}
			for _, noProbes := range []bool{true, false} {
				r := startRef(t, 5*time.Second, faults...)
				c := caseFor(t, tc.device, tc.account, tc.typ)
				c.NoProbes = noProbes
				rep, events := playSeeded(t, r, c)
				require.Equal(t, event.OutcomeEnrolled, rep.Outcome, "no-probes=%v:%s", noProbes, describe(rep))
				restores := map[string]int{}
				for _, ev := range events {
					if ex := ev.Exchange; ex != nil && strings.HasPrefix(ex.Purpose, "restore after ") {
						assert.True(t, ex.Probe, ex.Purpose)
						restores[strings.TrimPrefix(ex.Purpose, "restore after ")] = ex.Status
					}
				}
				if noProbes {
					assert.Empty(t, restores, "nothing to restore without probes")
				} else {
					assert.Equal(t, map[string]int{
						"probe CHK-007: the device's own TokenUpdate again": 200,
						"probe CHK-009: the device's own TokenUpdate again": 200,
					}, restores)
				}
				for _, res := range rep.Results {
					if res.ID == "CHK-007" || res.ID == "CHK-009" {
						assert.NotContains(t, res.Detail, "error:", "the restore was accepted: %s", res.Detail)
					}
				}
				// The case's own enrollment is the one checked out at the
				// end; the probe's second device has other ids.
				gone := r.srv.CheckedOutEnrollments()
				if noProbes {
					require.Len(t, gone, 1, "without probes only the case's own enrollment")
					left[noProbes] = stored(r.srv, gone[0])
					continue
				}
				e, ok := r.srv.CheckedOutEnrollment(left[true].ID)
				require.True(t, ok, "the same device enrolled and checked out with probes")
				left[noProbes] = stored(r.srv, e)
			}
			assert.Equal(t, "(the server's own topic)", left[true].Push.Topic)
			assert.Equal(t, left[true], left[false], "the probes left a trace")
		})
	}
}

// A server that takes another enrollment's token of the same user (it
// tells devices apart by their identity certificate, as Apple allows) is
// noted under CHK-009 and TOK-008, not warned; another user's token still
// warns. The Actual says which it was.
func TestSameUserTokenIsNoted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault  string
		status check.Status
		says   string
	}{
		{"", check.Pass, ""},
		{refserver.FaultCheckinIgnoresToken, check.Noted, "accepted a token of another enrollment of the same user (alice@acme.test; the probe's second device signed in with this case's account)"},
		{refserver.FaultSecondEnrollmentOtherUser, check.Warn, "accepted a token of another user (the second enrollment's profile is for "},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			var faults []string
			if tc.fault != "" {
				faults = []string{tc.fault}
			}
			r := startRef(t, 5*time.Second, faults...)
			reps, _ := play(t, r, 5*time.Second, caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser))
			rep := reps[0]
			require.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
			n := 0
			for _, res := range rep.Results {
				if res.Status == check.Fail {
					t.Errorf("%s failed: %s", res.ID, res.Actual)
				}
				if res.ID != "CHK-009" && !(res.ID == "TOK-008" && (strings.HasPrefix(res.Expected, "a token bound to another enrollment") || strings.Contains(res.Detail, "another enrollment"))) {
					continue
				}
				n++
				assert.Equal(t, tc.status, res.Status, "%s: %s", res.ID, res.Actual)
				assert.Contains(t, res.Actual+res.Detail, tc.says, res.ID)
			}
			if tc.status == check.Pass {
				assert.Equal(t, 1, n, "CHK-009 passed (a passing TOK-008 carries no expectation to tell its half)")
			} else {
				assert.Equal(t, 2, n, "CHK-009 and TOK-008's second half")
			}
			if tc.status == check.Noted {
				assert.Empty(t, tripped(rep), describe(rep))
			}
		})
	}
}
