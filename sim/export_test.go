package sim

import (
	"context"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// IdentityStepForTest plays the identity step alone, for a profile whose
// payloads are given (the MDM payload first), against doer: what the step
// reported, its status, and the subject of the certificate it obtained.
func IdentityStepForTest(ctx context.Context, doer Doer, lim Limits, payloads ...map[string]any) (results []check.Result, events []event.Event, status event.StepStatus, subject string) {
	p := &profile.Profile{}
	for i, d := range payloads {
		pl := profile.Payload{Dict: profile.Dict(d), Index: i}
		pl.Type, _ = pl.Dict.String("PayloadType")
		pl.UUID, _ = pl.Dict.String("PayloadUUID")
		p.Payloads = append(p.Payloads, pl)
	}
	dev, _ := device.LookupDevice("iphone@18.2")
	e := &Engine{Doer: doer, Limits: lim}
	r := &runner{e: e, c: Case{Name: "t", Device: dev, Until: event.UntilIdentity}, ctx: ctx, clock: time.Now, lim: lim.withDefaults(), red: &secret.Redactor{},
		emit: func(ev event.Event) { events = append(events, ev) }, enroll: &enrollState{profile: p}}
	r.step = event.StepIdentity
	_, status, _ = r.identityStep()
	if r.identity != nil && r.identity.cert != nil {
		subject = r.identity.cert.Subject.String()
	}
	return r.results, events, status, subject
}

// SetDeviceSeed makes e's devices the same in every run (a case's device
// is otherwise new each time it plays), for tests that compare what two
// runs left on two servers.
func SetDeviceSeed(e *Engine, seed string) { e.deviceSeed = seed }

// SetObserved hands every case's observations to f when the case ends.
func (e *Engine) SetObserved(f func(caseName string, o *check.Observations)) { e.observed = f }
