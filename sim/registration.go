package sim

import (
	"fmt"
	"net/http"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

const axmProfilePath = check.AxMProfilePath

// registrationStep judges how the server registered its discovery URL with
// the tester's Device Assignment API stand-in (spec §2.3.1), from what the
// stand-in recorded before the run. It never stops the case: a device whose
// domain answers needs no registration.
func (r *runner) registrationStep() (*stop, event.StepStatus, string) {
	reg := r.c.Target.AxM
	o := reg.observed()
	r.obs.Registration = o
	r.judged(check.JudgeRegistration(o))
	if last := reg.lastAccepted(); last != nil {
		return nil, event.StepOK, fmt.Sprintf("%s registered %s with the AxM stand-in (%d API calls)", reg.Server, check.RegisteredURL(last.Body), len(reg.Calls))
	}
	if reg.TimedOut {
		return nil, event.StepFailed, fmt.Sprintf("%s did not register a discovery URL within %s (%d API calls)", reg.Server, reg.Waited.Round(time.Second), len(reg.Calls))
	}
	return nil, event.StepFailed, fmt.Sprintf("%s has no accepted registration (%d API calls)", reg.Server, len(reg.Calls))
}

func (reg *AxMRegistration) lastAccepted() *AxMCall {
	var last *AxMCall
	for i, c := range reg.Calls {
		if c.Path == axmProfilePath && c.Method == http.MethodPost && c.Status == http.StatusOK {
			last = &reg.Calls[i]
		}
	}
	return last
}

// observed is the registration as the ABM judge sees it.
func (reg *AxMRegistration) observed() *check.Registration {
	o := &check.Registration{Server: reg.Server, StandIn: reg.StandIn, Waited: reg.Waited, TimedOut: reg.TimedOut, NoChangeHooks: reg.NoChangeHooks}
	for _, c := range reg.Calls {
		o.Calls = append(o.Calls, c.observed())
	}
	for _, ch := range reg.Changes {
		oc := check.RegistrationChange{Kind: ch.Kind, Hook: ch.Hook, Triggered: ch.Triggered, HookErr: ch.HookErr, Waited: ch.Waited}
		if ch.Followed != nil {
			f := ch.Followed.observed()
			oc.Followed = &f
		}
		o.Changes = append(o.Changes, oc)
	}
	return o
}

func (c AxMCall) observed() check.RegistrationCall {
	return check.RegistrationCall{Time: c.Time, Method: c.Method, Path: c.Path, Header: check.Header(c.Header),
		Body: c.Body, Status: c.Status, Code: c.Code, SessionOK: c.SessionOK}
}
