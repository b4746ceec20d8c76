package sim

import (
	"fmt"
)

// processDocument is step 3 (§2.4): the device takes Servers[0] of the
// document it got and decides whether it can go on.
func (r *runner) processDocument() (*stop, StepStatus, string) {
	ds := r.discovery
	d := r.c.Device
	var doc *wellKnownDoc
	switch {
	case ds.domain.ok():
		doc, ds.via = ds.domain.doc, "well-known"
		r.check("WK-001", true, "", "")
	case ds.axm != nil && !ds.axmProbe && ds.axm.ok():
		doc, ds.via = ds.axm.doc, "axm-fallback"
		r.note("WK-001", "the organisation domain failed ("+ds.domain.failure+"); the AxM fallback covered it")
	default:
		why := "the organisation domain failed: " + ds.domain.failure
		if ds.axm != nil && !ds.axmProbe {
			why += "; the AxM fallback failed: " + ds.axm.failure
		} else if !d.Has(CapAxMFallback) {
			_, no := d.Can(CapAxMFallback)
			why += "; no fallback: " + no
		}
		overLimit := func(c *chain) string {
			if c == nil || len(c.hops) == 0 || c.hops[len(c.hops)-1].overLimit == "" {
				return ""
			}
			return c.urls[len(c.hops)-1] + ": " + c.hops[len(c.hops)-1].overLimit
		}
		if l := overLimit(ds.domain); l != "" && (ds.axm == nil || ds.axmProbe || overLimit(ds.axm) != "") {
			// The simulator's own bound, not proof that a device fails.
			msg := l + " (the simulator's limit): discovery cannot be judged; SEC-003 reports it"
			r.cannotJudge("WK-001", msg)
			r.skipAll("no document", "WK-008", "WK-017")
			return &stop{OutcomeError, msg}, StepError, msg
		}
		unreachable := func(c *chain) bool {
			return c == nil || len(c.hops) == 0 || (c.hops[0].status == 0 && !c.hops[0].timeout)
		}
		if first := ds.domain.hops[0]; unreachable(ds.domain) && (ds.axm == nil || ds.axmProbe || unreachable(ds.axm)) {
			// Nothing answered at all: that is the tester's setup (DNS,
			// TLS trust, a server not running), not a verdict on the server.
			r.cannotJudge("WK-001", "the organisation domain could not be reached: "+first.err.Error())
			for _, id := range []string{"WK-008", "WK-017"} {
				r.skip(id, "no document")
			}
			return &stop{OutcomeError, "could not reach the server: " + first.err.Error()}, StepError, "could not reach " + r.domain + ": " + first.err.Error()
		}
		timedOut := func(c *chain) bool { return c != nil && len(c.hops) > 0 && c.hops[len(c.hops)-1].timeout }
		if timedOut(ds.domain) && (ds.axm == nil || ds.axmProbe || timedOut(ds.axm)) {
			// Devices wait 90 s; the simulator's limit is shorter, so a
			// slow answer is WK-015's warning, not proof of a failure.
			msg := fmt.Sprintf("no answer within the simulator's %s timeout (devices wait 90 s): raise --timeout to judge discovery", r.lim.Timeout)
			r.cannotJudge("WK-001", msg)
			r.skipAll("no document", "WK-008", "WK-017")
			return &stop{OutcomeError, msg}, StepError, msg
		}
		if r.c.Expect.Enroll {
			r.check("WK-001", false, "a 200 discovery document for a user who should enroll", why)
		} else {
			r.note("WK-001", "discovery failed for a user the scenario does not expect to enroll: "+why)
		}
		for _, id := range []string{"WK-008", "WK-017"} {
			r.skip(id, "no document")
		}
		msg := why
		if rej := parseRejection(ds.domain.final); rej != nil && rej.message != "" && d.Has(CapWellKnownFailed) {
			msg += fmt.Sprintf(`; the device shows "%s"`, rej.message)
		}
		return &stop{OutcomeDiscoveryFailed, msg}, StepFailed, msg
	}
	ds.version, ds.baseURL = doc.version, doc.baseURL

	need := CapUserEnrollment
	if doc.version == "mdm-adde" {
		need = CapDeviceEnrollment
	}
	can, why := d.Can(need)
	r.check("WK-008", can, fmt.Sprintf("a Version this %s %s can do", d.Family.Platform(), d.OS), fmt.Sprintf("%s, but %s", doc.version, why))

	if want := r.c.Type.ServerVersion(); want != "" {
		r.check("WK-017", doc.version == want, fmt.Sprintf("%s for %s (the scenario's enrollment type)", want, r.c.Account.Identifier), doc.version)
	} else {
		r.report(resultWith("WK-017", Pass, "no expected routing declared; the server chose "+doc.version))
	}
	if !can {
		return &stop{OutcomeEnrollFailed, fmt.Sprintf("the server chose %s, but %s", doc.version, why)}, StepFailed, "the device cannot do " + doc.version + ": " + why
	}
	return nil, StepOK, fmt.Sprintf("Servers[0]: %s via %s", doc, ds.via)
}
