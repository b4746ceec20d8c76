package sim

import (
	"fmt"
	"net/url"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// fallback is step 2b (§2.3): when the organisation domain failed, devices
// at iOS/iPadOS 18.2, macOS 15.2, visionOS 2.2 and later ask AxM, which
// redirects to the discovery URL the MDM server registered. When the target
// declares an AxM registration, the tester probes that path even if the
// device does not need it, to judge ABM-003/004/009.
func (r *runner) fallback() (*stop, event.StepStatus, string) {
	ds := r.discovery
	d := r.c.Device
	o := &check.Fallback{Domain: ds.domain.DiscoveryChain, StopOnRejection: r.c.Options.NoFallbackOnRejection,
		AxMConfigured: r.c.Target.AxMURL != "", Declared: r.c.Target.AxMDeclared, NoProbes: r.c.NoProbes,
		ExpectEnroll: r.c.Expect.Enroll, Timeout: r.lim.Timeout}
	o.AxMFallback.OK, o.AxMFallback.Why = d.Can(device.CapAxMFallback)
	plan := check.PlanFallback(o)
	domainFailed := !ds.domain.OK()
	if plan.Device || plan.Probe {
		r.askAxM(o, plan.Probe)
	}
	r.obs.Fallback = o
	r.judged(check.JudgeFallbackPath(o))
	if o.AxM != nil {
		r.judged(check.JudgeRegisteredURL(o))
	}
	r.judged(check.JudgeFallbackProbe(o))
	r.judged(check.JudgeFallbackRedirects(o))

	if o.AxM == nil {
		if domainFailed {
			return nil, event.StepSkipped, "no fallback: " + plan.Reason
		}
		return nil, event.StepSkipped, "not needed: the organisation domain answered"
	}
	c := ds.axm
	msg := ""
	switch {
	case plan.Probe && c.OK():
		msg = "probe: the AxM-registered URL answers " + c.Doc.String()
	case plan.Probe:
		msg = "probe: the AxM path failed: " + c.Failure
	case c.OK():
		msg = "AxM redirected to the registered URL: " + c.Doc.String()
	default:
		msg = "the AxM fallback failed too: " + c.Failure
	}
	if plan.Probe {
		if domainFailed {
			msg = "no fallback on this device (" + plan.Reason + "); " + msg
		}
		return nil, event.StepSkipped, msg
	}
	if !c.OK() {
		return nil, event.StepFailed, msg
	}
	return nil, event.StepOK, msg
}

// askAxM follows the AxM path, as the device or as the tester's probe, and
// asks the registered URL without the query Apple may not add (ABM-004).
func (r *runner) askAxM(o *check.Fallback, probeOnly bool) {
	ds := r.discovery
	start := discoveryURL(r.c.Target.AxMURL, r.c.Account.Identifier, string(r.c.Device.Family), r.c.Options.OmitModelFamily)
	purpose := "AxM fallback"
	if probeOnly {
		purpose = "probe ABM-003: AxM-registered discovery URL"
	}
	c := r.follow(start, purpose, probeOnly)
	ds.axm, ds.axmProbe = c, probeOnly
	if len(c.URLs) > 1 {
		if u, err := url.Parse(c.URLs[1]); err == nil {
			q := u.Query()
			q.Del("user-identifier")
			q.Del("model-family")
			u.RawQuery = q.Encode()
			ds.registered = u.String()
		}
	}
	o.AxM, o.Probe, o.Registered = &c.DiscoveryChain, probeOnly, ds.registered
	if last := c.hops[len(c.hops)-1]; probeOnly && last.status == 200 {
		// Devices at 18.2 and later read this document: its size is
		// SEC-003's even when only the tester's probe fetched it.
		switch at := c.URLs[len(c.hops)-1]; {
		case last.tooLarge:
			r.limitIssues = append(r.limitIssues, fmt.Sprintf("%s: over the %s read limit", at, byteSize(int64(len(last.body)))))
		case len(last.body) > secDiscoveryBound:
			r.limitIssues = append(r.limitIssues, fmt.Sprintf("%s: %s (bound %s)", at, byteSize(int64(len(last.body))), byteSize(secDiscoveryBound)))
		}
	}
	if ds.registered != "" && !r.c.NoProbes {
		p := r.follow(ds.registered, "probe ABM-004: registered URL without parameters", true)
		o.RegisteredProbe = &p.DiscoveryChain
	}
}
