package sim_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// cancellingDoer passes the first n requests to next, then stops the run
// as a signal would and fails the request it was in.
type cancellingDoer struct {
	next   sim.Doer
	n      int32
	seen   atomic.Int32
	cancel context.CancelFunc
}

func (d *cancellingDoer) Do(r *http.Request) (*http.Response, error) {
	if d.seen.Add(1) > d.n {
		d.cancel()
		return nil, errors.New("connection reset by peer")
	}
	return d.next.Do(r)
}

// An interruption cuts exchanges short; no check may blame the server for
// that: results judged after it are error, never fail or warn.
func TestInterruptionNeverTripsACheck(t *testing.T) {
	good := mockDoer(t, func(m *httpmock.MockTransport) {
		m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`))
	})
	for _, n := range []int32{0, 1, 2, 3} {
		ctx, cancel := context.WithCancel(context.Background())
		d, err := device.LookupDevice("iphone@18.2")
		require.NoError(t, err)
		doer := &cancellingDoer{next: good, n: n, cancel: cancel}
		c := sim.Case{Name: "c", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}, DiscoveryOnly: true}
		var after []check.Result // judged once the run was stopped
		reps, err := (&sim.Engine{Doer: doer}).Run(ctx, sim.Plan{Cases: []sim.Case{c, c}}, func(e event.Event) {
			if e.Kind == event.EventCheck && ctx.Err() != nil {
				after = append(after, *e.Result)
			}
		})
		cancel()
		assert.ErrorIs(t, err, context.Canceled, "after %d requests", n)
		require.Len(t, reps, 1, "the run stops at the interrupted case")
		assert.Equal(t, event.OutcomeInterrupted, reps[0].Outcome, "after %d requests", n)
		if n < 3 {
			assert.NotEmpty(t, after, "after %d requests: the probes' checks are judged after the stop", n)
		}
		for _, r := range after {
			assert.False(t, r.Tripped(), "after %d requests: %s %s: %s", n, r.ID, r.Status, r.Actual)
		}
	}
}
