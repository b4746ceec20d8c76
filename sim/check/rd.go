package check

import (
	"fmt"
	"net/url"
	"strings"
)

// rdChecks are the redirect checks, in the order the discovery step
// reports them.
var rdChecks = []string{"RD-001", "RD-002", "RD-003", "RD-004", "RD-005"}

func init() {
	register(Judge{Group: "RD", Reads: "discovery", Owns: rdChecks, Run: func(o *Observations) *Verdicts {
		if o.Discovery == nil {
			return nil
		}
		return JudgeRedirects(o.Discovery)
	}})
}

// JudgeRedirects is RD-001..005 over the hops of the device's discovery
// chain, and the redirect target's probe (RD-002). Location headers
// repeated with other values are noted under RD-005 wherever a discovery
// chain met them: the device's first, then the probes'.
func JudgeRedirects(d *Discovery) *Verdicts {
	v := NewVerdicts(rdChecks...)
	c := &d.Chain
	noteRepeats(v, c)
	if !c.Redirected() {
		v.Check("RD-001", true, "", "")
		v.SkipRest("the organisation domain answered without a redirect")
		notesOfProbes(v, d)
		return v
	}
	v.Note("RD-001", fmt.Sprintf("followed %d redirect(s): %s", len(c.URLs)-1, strings.Join(c.URLs, " → ")))
	noteRepeats(v, d.TargetProbe)
	judgeDroppedQuery(v, d)
	v.Check("RD-003", !c.Downgrade, "every hop uses https", "a redirect to "+c.FinalURL())
	v.Check("RD-004", !c.Loop && !c.HopCap, fmt.Sprintf("the chain ends within %d hops without revisiting a URL", d.MaxHops), c.Failure)
	v.Check("RD-005", c.BadRedirect == "", "301/302/303/307/308 with a valid Location", c.BadRedirect)
	notesOfProbes(v, d)
	return v
}

// noteRepeats notes each hop of c that repeated Location with other values.
func noteRepeats(v *Verdicts, c *DiscoveryChain) {
	if c == nil {
		return
	}
	for i, h := range c.Hops {
		if h.RepeatedLocation != "" {
			v.Note("RD-005", c.URLs[i]+": "+h.RepeatedLocation)
		}
	}
}

// notesOfProbes notes the repeated Locations the WK probes met.
func notesOfProbes(v *Verdicts, d *Discovery) {
	noteRepeats(v, d.UnknownUserProbe)
	for i := range d.Variants {
		noteRepeats(v, &d.Variants[i].Chain)
	}
	noteRepeats(v, d.FamilyProbe)
}

// judgeDroppedQuery is RD-002: devices do not copy the query onto a
// redirect target, so a target that needs the parameters must get them in
// the Location itself. The step asks the target both ways.
func judgeDroppedQuery(v *Verdicts, d *Discovery) {
	c, probe := &d.Chain, d.TargetProbe
	switch {
	case c.Loop || c.HopCap || c.Downgrade || c.BadRedirect != "" || c.Final() == nil:
		v.Skip("RD-002", "the redirect chain did not reach a target")
		return
	case !c.DroppedQuery():
		if !validURL(c.FinalURL()) {
			v.Skip("RD-002", "the target URL does not parse")
			return
		}
		v.Check("RD-002", true, "", "")
		return
	case d.NoProbes:
		v.Skip("RD-002", discoveryProbesOff+": the redirect dropped the parameters, and only a probe tells whether the target needs them")
		return
	case probe == nil:
		v.Error("RD-002", "the redirect target was not asked with the parameters")
		return
	}
	switch {
	case c.Limit() != "" || probe.Limit() != "":
		v.Error("RD-002", "the redirect target's document broke the simulator's limit: "+firstOf(c.Limit(), probe.Limit()))
	case !probe.OK():
		v.Add(With("RD-002", Pass, "the redirect dropped the parameters; the target answers the same without them (it does not use them)"))
	case !c.OK():
		v.Check("RD-002", false, "the redirect target answers without user-identifier/model-family, or the Location carries them",
			fmt.Sprintf("without the parameters the target answered %s; with them it returned %s", c.Failure, probe.Doc))
	case !c.Doc.Same(probe.Doc):
		v.Check("RD-002", false, "the same document with and without the parameters, or a Location that carries them",
			fmt.Sprintf("without: %s; with: %s", c.Doc, probe.Doc))
	default:
		v.Add(With("RD-002", Pass, "the redirect dropped the parameters; the target ignores them"))
	}
}

// firstOf is the first non-empty string.
func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func validURL(s string) bool {
	_, err := url.Parse(s)
	return err == nil
}

// JudgeFallbackRedirects notes, under RD-005, Location headers repeated
// with other values on the AxM path: the chain from AxM (the device's, or
// the tester's probe of a declared registration) and the probe of the
// registered URL. Nil when there is nothing to note: a redirect on that
// path is otherwise judged by ABM, not RD.
func JudgeFallbackRedirects(f *Fallback) *Verdicts {
	v := NewVerdicts("RD-005")
	noteRepeats(v, f.AxM)
	noteRepeats(v, f.RegisteredProbe)
	if len(v.Results) == 0 {
		return nil
	}
	return v
}

func init() {
	register(Judge{Group: "RD", Reads: "fallback: repeated Locations", Owns: []string{"RD-005"}, Run: func(o *Observations) *Verdicts {
		if o.Fallback == nil {
			return nil
		}
		return JudgeFallbackRedirects(o.Fallback)
	}})
}
