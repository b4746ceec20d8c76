package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// panicDoer stands for a bug anywhere under a step: the engine calls it in
// the step's goroutine, as it calls every check.
type panicDoer struct{}

func (panicDoer) Do(*http.Request) (*http.Response, error) {
	var hops []string
	_ = hops[len(hops)+3] // index out of range, as a real slip would be
	return nil, nil
}

// panicGate panics before one step, as a buggy front end might.
type panicGate struct{ at event.Step }

func (g panicGate) Before(_ context.Context, _ string, step event.Step) error {
	if step == g.at {
		panic("gate bug")
	}
	return nil
}

func TestPanicInCaseBecomesErrorAndRunGoesOn(t *testing.T) {
	good := mockDoer(t, func(m *httpmock.MockTransport) {
		m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`))
	})
	tests := []struct {
		name  string
		eng   sim.Engine
		first sim.Doer
		where string
	}{
		{"panic in a step", sim.Engine{Doer: good}, panicDoer{}, "panic in step discovery: runtime error: index out of range"},
		{"panic in the gate", sim.Engine{Doer: good, Gate: panicGate{at: event.StepDiscovery}}, nil, "panic in the step gate before discovery: gate bug"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := device.LookupDevice("iphone@18.2")
			require.NoError(t, err)
			mk := func(name string, doer sim.Doer) sim.Case {
				return sim.Case{Name: name, Device: d, Account: sim.Account{Identifier: "alice@acme.test", Password: secret.New("hunter2-secret")},
					Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}, DiscoveryOnly: true, Target: sim.Target{Doer: doer}}
			}
			eng := tt.eng
			plan := sim.Plan{Cases: []sim.Case{mk("first", tt.first), mk("second", nil)}}
			var evs []event.Event
			var reps []sim.CaseReport
			done := make(chan struct{})
			go func() {
				defer close(done)
				reps, err = eng.Run(context.Background(), plan, func(e event.Event) { evs = append(evs, e) })
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the engine hung after a panic")
			}
			require.NoError(t, err)
			require.Len(t, reps, 2, "the run must go on to the next case")
			assert.Equal(t, event.OutcomeError, reps[0].Outcome)
			var end, stepEnd *event.Event
			started := 0
			for i := range evs {
				e := &evs[i]
				switch {
				case e.Kind == event.EventCaseStart:
					started++
				case e.Kind == event.EventCaseEnd && e.Case == "first":
					end = e
				case e.Kind == event.EventStepEnd && e.Case == "first" && e.Stack != "":
					stepEnd = e
				}
			}
			assert.Equal(t, 2, started)
			require.NotNil(t, end)
			assert.Contains(t, end.Message, "enrollsim bug: "+tt.where)
			assert.Contains(t, end.Message, "please report it at "+sim.IssueTracker+" with the jsonl report (--report jsonl=run.jsonl)")
			require.NotNil(t, stepEnd, "the stack goes with the step's end event")
			assert.Equal(t, event.StepError, stepEnd.Status)
			assert.Contains(t, stepEnd.Stack, "goroutine")
			assert.Contains(t, stepEnd.Stack, "panic_test.go", "the stack names the panicking code")
			for _, e := range evs {
				assert.NotContains(t, e.Stack+e.Message, "hunter2-secret")
			}
			if tt.eng.Gate == nil {
				assert.Equal(t, event.OutcomeDiscovered, reps[1].Outcome, "the next case plays normally")
			} else {
				// The gate panics before every case's discovery: the
				// second case is still played, and ends the same way.
				assert.Equal(t, event.OutcomeError, reps[1].Outcome)
			}
		})
	}
}
