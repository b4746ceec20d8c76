package sim_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Many cases of one account at once all enroll: they sign in one after
// another, each with codes of its own, and no case's jump of the TOTP time
// ages another's sign-in session, code or token. The deadline turns a
// deadlock into a failure.
func TestOneAccountManyCasesAtOnce(t *testing.T) {
	// alice signs in on the MDM's pages, carol on the identity provider's,
	// erin with OAuth 2: 32 cases of each, all at once. fullSweep adds 64
	// of each at once, and 64 of alice 32 at a time (workers taking the
	// next case of the same account); internal/cli's
	// TestOneAccount64CasesEnrollThroughTheCommand plays 64 of alice at
	// once by default.
	type run struct {
		id              string
		typ             sim.EnrollmentType
		cases, parallel int
	}
	runs := []run{
		{"alice@acme.test", sim.TypeUser, 32, 32}, {"carol@acme.test", sim.TypeDevice, 32, 32}, {"erin@acme.test", sim.TypeUser, 32, 32},
	}
	if fullSweep() {
		for _, r := range runs[:3] {
			r.cases, r.parallel = 64, 64
			runs = append(runs, r)
		}
		runs = append(runs, run{"alice@acme.test", sim.TypeUser, 64, 32})
	}
	for _, run := range runs {
		acct, parallel := run, run.parallel
		t.Run(fmt.Sprintf("%s/%d-cases/parallel-%d", acct.id, acct.cases, parallel), func(t *testing.T) {
			// 64 cases at once on two cores: a subtest takes about 25 s on
			// a loaded machine, and one request can wait many seconds for
			// its turn. The bounds catch a hang, not a slow machine.
			r := startRef(t, 30*time.Second)
			var cases []sim.Case
			for i := 0; i < acct.cases; i++ {
				c := caseFor(t, "iphone@18.2", acct.id, acct.typ)
				c.Name = fmt.Sprintf("%s/%d", c.Name, i)
				c.Target, c.Account = r.target, r.account(acct.id)
				cases = append(cases, c)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var events []event.Event
			eng := &sim.Engine{Limits: sim.Limits{Timeout: 30 * time.Second}, Clock: r.clock.Now, TOTPClock: r.clock, Parallel: parallel}
			reps, err := eng.Run(ctx, sim.Plan{Cases: cases}, func(e event.Event) { events = append(events, e) })
			require.NoError(t, err, "the run did not finish within its deadline")
			require.Len(t, reps, acct.cases)
			for _, rep := range reps {
				assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, rep.Name)
				assert.Empty(t, tripped(rep), rep.Name)
			}
			for _, ev := range events {
				switch {
				case ev.Kind == event.EventExchange && strings.Contains(ev.Exchange.Purpose, "again, with the next code"):
					t.Errorf("%s: a code was refused and retried: cases of one account burnt each other's codes", ev.Case)
				case ev.Kind == event.EventWait:
					t.Errorf("%s: a wait event against the embedded target, whose waits are jumps: %s", ev.Case, ev.Message)
				}
			}
		})
	}
}
