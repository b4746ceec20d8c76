package check

import (
	"fmt"
	"time"
)

// Document is what the process-document step observed: the chains that
// could have given the device its document, and the facts of the device
// and the scenario the choice is judged against.
type Document struct {
	Domain DiscoveryChain `json:"domain"`
	// Fallback is the device's own AxM fallback; nil when the device did
	// not fall back (the tester's probe of the AxM path is no fallback).
	Fallback *DiscoveryChain `json:"fallback,omitempty"`
	// AxMFallback says whether the device falls back to AxM (18.2+).
	AxMFallback Capability    `json:"axm_fallback"`
	Timeout     time.Duration `json:"timeout"`
	// ExpectEnroll: the scenario expects this account to enroll.
	ExpectEnroll bool `json:"expect_enroll,omitempty"`
	// Client names the device ("iPhone iOS 18.1"); User and Device say
	// whether it can do each enrollment type, and why not.
	Client string     `json:"client"`
	User   Capability `json:"user"`
	Device Capability `json:"device"`
	// WantVersion is the Version the scenario's enrollment type asks
	// for, "" for any; Identifier is the account's.
	WantVersion string `json:"want_version,omitempty"`
	Identifier  string `json:"identifier"`
}

// Capability is whether the device can do something, and why not.
type Capability struct {
	OK  bool   `json:"ok"`
	Why string `json:"why,omitempty"`
}

// Kinds of discovery the device cannot go on from (Discovered.Stop).
const (
	StopLimit       = "limit"       // a document past the simulator's bound
	StopRateLimited = "rate"        // a 429 asking longer than a run waits
	StopUnreachable = "unreachable" // nothing answered at all
	StopTimeout     = "timeout"     // no answer within the simulator's timeout
	StopFailed      = "failed"      // discovery failed: the server's doing
)

// Discovered is what the device made of discovery: the document it uses,
// or why it stops.
type Discovered struct {
	Doc *WellKnownDoc
	Via string // "well-known" or "axm-fallback"
	// Stop is one of the Stop kinds, "" when the device has a document.
	Stop string
	// Why words the stop: for StopUnreachable the first hop's error,
	// otherwise the message the step and WK-001 give.
	Why string
	// Capable says whether the device can do the document's Version;
	// Cannot why not.
	Capable bool
	Cannot  string
}

// Discover decides, as the device does, which document it uses (§2.4), or
// why it cannot go on. The step stops on it and WK-001 judges it.
func Discover(d *Document) Discovered {
	var out Discovered
	switch {
	case d.Domain.OK():
		out.Doc, out.Via = d.Domain.Doc, "well-known"
	case d.Fallback.OK():
		out.Doc, out.Via = d.Fallback.Doc, "axm-fallback"
	default:
		out.Stop, out.Why = whyUndiscovered(d)
		return out
	}
	can := d.User
	if out.Doc.Version == "mdm-adde" {
		can = d.Device
	}
	out.Capable, out.Cannot = can.OK, can.Why
	return out
}

// whyUndiscovered is why neither chain gave a document: first the
// simulator's own reasons to give no verdict, then the server's failure.
func whyUndiscovered(d *Document) (string, string) {
	why := "the organisation domain failed: " + d.Domain.Failure
	if d.Fallback != nil {
		why += "; the AxM fallback failed: " + d.Fallback.Failure
	} else if !d.AxMFallback.OK {
		why += "; no fallback: " + d.AxMFallback.Why
	}
	if l := firstOf(d.Domain.Limit(), d.Fallback.Limit()); l != "" {
		// The simulator's own bound, not proof that a device fails: a
		// device may read that document.
		return StopLimit, "a discovery document was not judged: " + l + ": discovery cannot be judged; SEC-003 reports the size"
	}
	rateLimited := func(c *DiscoveryChain) string {
		if l := c.Last(); l != nil {
			return l.RateLimited
		}
		return ""
	}
	if l := firstOf(rateLimited(&d.Domain), rateLimited(d.Fallback)); l != "" {
		// The server asked for patience longer than a run waits: no
		// verdict either way (a device would retry later).
		return StopRateLimited, "discovery was not judged: " + l
	}
	unreachable := func(c *DiscoveryChain) bool {
		if c == nil || len(c.Hops) == 0 {
			return true
		}
		h := c.Hops[0]
		return h.Status == 0 && !h.Timeout && !h.RefusedTLS
	}
	if unreachable(&d.Domain) && unreachable(d.Fallback) && len(d.Domain.Hops) > 0 {
		// Nothing answered at all: that is the tester's setup (DNS,
		// TLS trust, a server not running), not a verdict on the server.
		return StopUnreachable, d.Domain.Hops[0].Err
	}
	timedOut := func(c *DiscoveryChain) bool { return c == nil || (len(c.Hops) > 0 && c.Last().Timeout) }
	if d.Domain.Last() != nil && d.Domain.Last().Timeout && timedOut(d.Fallback) {
		// Devices wait 90 s; the simulator's limit is shorter, so a
		// slow answer is WK-015's warning, not proof of a failure.
		return StopTimeout, fmt.Sprintf("no answer within the simulator's %s timeout (devices wait 90 s): raise --timeout to judge discovery", d.Timeout)
	}
	return StopFailed, why
}

// wkDocumentChecks are the WK checks of the process-document step.
var wkDocumentChecks = []string{"WK-001", "WK-008", "WK-017"}

func init() {
	register(Judge{Group: "WK", Reads: "document", Owns: wkDocumentChecks, Run: func(o *Observations) *Verdicts {
		if o.Document == nil {
			return nil
		}
		return JudgeDocument(o.Document)
	}})
}

// JudgeDocument is WK-001 (discovery gave the device a document by a
// documented path), WK-008 (a Version the device can do) and WK-017 (the
// Version the scenario's type asks for).
func JudgeDocument(d *Document) *Verdicts {
	v := NewVerdicts(wkDocumentChecks...)
	got := Discover(d)
	switch got.Stop {
	case "":
	case StopUnreachable:
		v.Error("WK-001", "the organisation domain could not be reached: "+got.Why)
	case StopFailed:
		if d.ExpectEnroll {
			v.Check("WK-001", false, "a 200 discovery document for a user who should enroll", got.Why)
		} else {
			v.Note("WK-001", "discovery failed for a user the scenario does not expect to enroll: "+got.Why)
		}
	default:
		v.Error("WK-001", got.Why)
	}
	if got.Stop != "" {
		v.SkipRest("no document")
		return v
	}
	if got.Via == "well-known" {
		v.Check("WK-001", true, "", "")
	} else {
		v.Note("WK-001", "the organisation domain failed ("+d.Domain.Failure+"); the AxM fallback covered it")
	}
	doc := got.Doc
	v.Check("WK-008", got.Capable, "a Version this "+d.Client+" can do", fmt.Sprintf("%s, but %s", doc.Version, got.Cannot))
	if d.WantVersion != "" {
		v.Check("WK-017", doc.Version == d.WantVersion, fmt.Sprintf("%s for %s (the scenario's enrollment type)", d.WantVersion, d.Identifier), doc.Version)
	} else {
		v.Add(With("WK-017", Pass, "no expected routing declared; the server chose "+doc.Version))
	}
	return v
}
