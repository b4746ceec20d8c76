package sim

import (
	"fmt"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// processDocument is step 3 (§2.4): the device takes Servers[0] of the
// document it got and decides whether it can go on (check.Discover); WK
// judges the choice.
func (r *runner) processDocument() (*stop, event.StepStatus, string) {
	ds := r.discovery
	d := r.c.Device
	o := &check.Document{Domain: ds.domain.DiscoveryChain, Timeout: r.lim.Timeout, ExpectEnroll: r.c.Expect.Enroll,
		Client: fmt.Sprintf("%s %s", d.Family.Platform(), d.OS), WantVersion: r.c.Type.ServerVersion(), Identifier: r.c.Account.Identifier}
	if ds.axm != nil && !ds.axmProbe {
		o.Fallback = &ds.axm.DiscoveryChain
	}
	o.AxMFallback.OK, o.AxMFallback.Why = d.Can(device.CapAxMFallback)
	o.User.OK, o.User.Why = d.Can(device.CapUserEnrollment)
	o.Device.OK, o.Device.Why = d.Can(device.CapDeviceEnrollment)
	r.obs.Document = o
	got := check.Discover(o)
	r.judging(ds.domain.hops...)
	if o.Fallback != nil {
		r.judging(ds.axm.hops...)
	}
	r.judged(check.JudgeDocument(o))

	switch got.Stop {
	case "":
	case check.StopUnreachable:
		return &stop{event.OutcomeError, "could not reach the server: " + got.Why}, event.StepError, "could not reach " + r.domain + ": " + got.Why
	case check.StopFailed:
		msg := got.Why
		if c := ds.domain; c.Reached {
			if rej := parseRejection(c.hops[len(c.hops)-1]); rej != nil && rej.message != "" && d.Has(device.CapWellKnownFailed) {
				msg += fmt.Sprintf(`; the device shows "%s"`, rej.message)
			}
		}
		return &stop{event.OutcomeDiscoveryFailed, msg}, event.StepFailed, msg
	default:
		return &stop{event.OutcomeError, got.Why}, event.StepError, got.Why
	}
	doc := got.Doc
	ds.via, ds.version, ds.baseURL = got.Via, doc.Version, doc.BaseURL
	if !got.Capable {
		return &stop{event.OutcomeEnrollFailed, fmt.Sprintf("the server chose %s, but %s", doc.Version, got.Cannot)}, event.StepFailed, "the device cannot do " + doc.Version + ": " + got.Cannot
	}
	return nil, event.StepOK, fmt.Sprintf("Servers[0]: %s via %s", doc, ds.via)
}

// docWarning is a warning whatever the check's level: the simulator is
// not sure a device reads the document differently.
func docWarning(id, expected, actual string) check.Result {
	res := check.With(id, check.Warn, "")
	res.Expected, res.Actual = expected, actual
	return res
}
