package check

import (
	"fmt"
	"net/url"
	"strings"
)

// wkDiscoveryChecks are the WK checks the discovery step reports, in its
// order; WK-001, WK-008 and WK-017 are the process-document step's.
var wkDiscoveryChecks = []string{"WK-002", "WK-003", "WK-004", "WK-005", "WK-006", "WK-007", "WK-016",
	"WK-015", "WK-010", "WK-011", "WK-012", "WK-009", "WK-013", "WK-014"}

func init() {
	register(Judge{Group: "WK", Reads: "discovery", Owns: wkDiscoveryChecks, Run: func(o *Observations) *Verdicts {
		if o.Discovery == nil {
			return nil
		}
		return JudgeWellKnown(o.Discovery)
	}})
}

// JudgeWellKnown is the WK checks of the discovery step: the document
// rules on the domain's final 200 (WK-002..007, WK-016), the timeout
// (WK-015), the rejection body (WK-010/011), whether discovery needs a
// session (WK-012), and what the probes saw (WK-009, WK-013, WK-014).
func JudgeWellKnown(d *Discovery) *Verdicts {
	v := NewVerdicts(wkDiscoveryChecks...)
	c := &d.Chain
	judgeDomainDocument(v, c)
	judgeTimeout(v, d)
	rejectionJudged := false
	if f := c.Final(); f != nil && f.Status == 403 {
		judgeRejection(v, f, "the device's own request")
		rejectionJudged = true
	}
	judgeSession(v, c)
	if d.NoProbes {
		v.SkipAll(discoveryProbesOff, "WK-009", "WK-013", "WK-014")
		if !rejectionJudged {
			v.SkipAll(discoveryProbesOff+": the device's own request got no 403 to judge", "WK-010", "WK-011")
		}
		return v
	}
	judgeUnknownUser(v, d)
	if !rejectionJudged {
		if f := d.UnknownUserProbe.Final(); f == nil || f.Status != 403 {
			v.SkipAll("no 403 answer seen", "WK-010", "WK-011")
		} else {
			judgeRejection(v, f, "the unknown-user probe")
		}
	}
	if !c.OK() {
		v.SkipAll("no working discovery to compare with", "WK-013", "WK-014")
		return v
	}
	judgeVariants(v, d)
	judgeFamily(v, d.FamilyProbe)
	return v
}

// judgeDomainDocument: WK-002..007 and WK-016 on the final 200 of the domain.
func judgeDomainDocument(v *Verdicts, c *DiscoveryChain) {
	f := c.Final()
	if f == nil || f.Status != 200 || (f.Err != "" && !f.TooLarge) {
		why := "the organisation domain gave no 200 answer"
		if f != nil && f.Err != "" {
			why = "the 200 answer could not be read: " + f.Err
		}
		v.SkipAll(why, "WK-002", "WK-003", "WK-004", "WK-005", "WK-006", "WK-007", "WK-016")
		return
	}
	v.Add(documentRules(f)...)
}

const wantServers = "a JSON object with a non-empty Servers array"

// documentRules applies the document rules (WK-002..007, WK-016) to one
// 200 answer: the domain's reports them, ABM-003 takes their levels.
func documentRules(resp *DiscoveryHop) []Result {
	var out []Result
	add := func(res Result) { out = append(out, res) }
	add(Verdict("WK-002", resp.mediaType() == "application/json", "media type application/json", fmt.Sprintf("Content-Type %q", resp.Header.Get("Content-Type"))))
	if repeated := repeatedHeader(resp.Header, "Content-Type"); repeated != "" {
		add(With("WK-002", Noted, repeated))
	}
	raw, warns, jerr := readDocument(resp.Body, resp.TooLarge)
	servers, isArr := raw["Servers"].([]any)
	switch {
	case isDocLimit(jerr):
		add(With("WK-003", Error, jerr.Error()))
	case jerr != nil:
		add(Verdict("WK-003", false, wantServers, "not a JSON object: "+jerr.Error()))
	case !isArr:
		add(Verdict("WK-003", false, wantServers, fmt.Sprintf("Servers is %s", jsonKind(raw["Servers"]))))
	case len(servers) == 0:
		add(Verdict("WK-003", false, wantServers, "Servers is an empty array"))
	case len(warns) > 0:
		add(wkWarning("WK-003", wantServers+" that every JSON parser reads alike", strings.Join(warns, "; ")))
	default:
		add(Verdict("WK-003", true, "", ""))
	}
	if len(servers) == 0 {
		for _, id := range []string{"WK-004", "WK-005", "WK-006", "WK-007"} {
			add(With(id, Skip, "no Servers entries to judge"))
		}
	} else {
		out = append(out, serverRules(servers)...)
	}
	cc := strings.ToLower(resp.Header.Get("Cache-Control"))
	add(Verdict("WK-016", strings.Contains(cc, "no-store"), "Cache-Control: no-store (the document is per user)", fmt.Sprintf("Cache-Control %q", resp.Header.Get("Cache-Control"))))
	return out
}

// serverRules: WK-004..007 over every Servers entry.
func serverRules(servers []any) []Result {
	var bad4, bad5, bad7 []string
	for i, s := range servers {
		m, ok := s.(map[string]any)
		if !ok {
			bad4 = append(bad4, fmt.Sprintf("Servers[%d] is %s", i, jsonKind(s)))
			continue
		}
		v, vok := m["Version"].(string)
		b, bok := m["BaseURL"].(string)
		if !vok {
			bad4 = append(bad4, fmt.Sprintf("Servers[%d].Version is %s", i, jsonKind(m["Version"])))
		}
		if !bok {
			bad4 = append(bad4, fmt.Sprintf("Servers[%d].BaseURL is %s", i, jsonKind(m["BaseURL"])))
		}
		if vok && v != "mdm-byod" && v != "mdm-adde" {
			bad5 = append(bad5, fmt.Sprintf("Servers[%d].Version %q", i, v))
		}
		if bok {
			u, err := url.Parse(b)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				bad7 = append(bad7, fmt.Sprintf("Servers[%d].BaseURL %q", i, b))
			}
		}
	}
	used := ""
	if m, ok := servers[0].(map[string]any); ok {
		used = fmt.Sprintf("; a device uses the first: %v at %v", m["Version"], m["BaseURL"])
	}
	return []Result{
		Verdict("WK-004", len(bad4) == 0, "every entry an object with string Version and BaseURL", someOf(bad4, 10)),
		Verdict("WK-005", len(bad5) == 0, "Version mdm-byod or mdm-adde", someOf(bad5, 10)),
		Verdict("WK-006", len(servers) == 1, "exactly one Servers entry", fmt.Sprintf("%d entries%s", len(servers), used)),
		Verdict("WK-007", len(bad7) == 0, "an absolute https BaseURL with a host", someOf(bad7, 10)),
	}
}

// repeatedHeader notes a single-field header repeated with other values
// (the first is used), "" otherwise: as the engine's singleHeader.
func repeatedHeader(h Header, name string) string {
	vs := h.Values(name)
	if len(vs) < 2 {
		return ""
	}
	distinct := 1
	for _, v := range vs[1:] {
		if v != vs[0] {
			distinct++
		}
	}
	if distinct == 1 {
		return ""
	}
	return fmt.Sprintf("%d %s headers with different values; the first is used: %q", len(vs), name, clip(vs[0], 200))
}

// wkWarning is a warning whatever the check's level: the simulator is
// not sure a device reads the document differently.
func wkWarning(id, expected, actual string) Result {
	res := With(id, Warn, "")
	res.Expected, res.Actual = expected, actual
	return res
}

// judgeTimeout: WK-015, the answer within the timeout.
func judgeTimeout(v *Verdicts, d *Discovery) {
	c := &d.Chain
	for i, h := range c.Hops {
		if h.Timeout {
			v.Check("WK-015", false, fmt.Sprintf("an answer within %s (devices wait 90 s)", d.Timeout), fmt.Sprintf("%s: %s", c.URLs[i], h.Err))
			return
		}
	}
	v.Check("WK-015", true, "", "")
}

// judgeRejection: WK-010/011 on a 403, from the device's own chain or else
// from the unknown-user probe.
func judgeRejection(v *Verdicts, resp *DiscoveryHop, where string) {
	rej := resp.Rejection
	if rej == nil {
		v.Note("WK-010", where+": a 403 without a JSON or plist error object (an ordinary failure; 18.2+ clients fall back to AxM)")
		v.Skip("WK-011", "no 403 rejection body with a code")
		return
	}
	mt := resp.mediaType()
	typeOK := mt == "application/json" || mt == "application/xml" || mt == "text/xml" || mt == "application/x-plist"
	var problems []string
	if rej.Code != "com.apple.well-known.failed" {
		problems = append(problems, fmt.Sprintf("code %q", rej.Code))
	}
	if len(rej.BadTypes) > 0 {
		problems = append(problems, "not strings: "+strings.Join(rej.BadTypes, ", "))
	}
	if !typeOK {
		problems = append(problems, fmt.Sprintf("Content-Type %q does not state JSON or an XML plist", resp.Header.Get("Content-Type")))
	}
	v.Check("WK-010", len(problems) == 0, `code "com.apple.well-known.failed", string message/description, a JSON or plist Content-Type`, where+": "+strings.Join(problems, "; "))
	const asJSON = "the rejection as application/json (the iOS 26.1 client ignores other 403 bodies)"
	if mt == "application/json" && rej.Note != "" {
		// NSJSONSerialization reads it, so the device shows the message.
		v.Add(wkWarning("WK-011", asJSON+", in UTF-8 without a byte-order mark", where+": "+rej.Note))
	} else {
		v.Check("WK-011", mt == "application/json", asJSON, fmt.Sprintf("%s: Content-Type %q (%s body)", where, resp.Header.Get("Content-Type"), rej.Format))
	}
}

// judgeSession: WK-012, the device sends neither cookies nor
// Authorization, so a failure that asks for them is the server's.
func judgeSession(v *Verdicts, c *DiscoveryChain) {
	needsSession := ""
	if !c.OK() {
		f := c.Final()
		for i, h := range c.Hops {
			if h.Status == 401 || h.Header.Get("WWW-Authenticate") != "" {
				needsSession = fmt.Sprintf("%s answered %d asking for authorization", c.URLs[i], h.Status)
				break
			}
			if h.Header.Get("Set-Cookie") != "" && (c.Loop || c.HopCap || (f != nil && f.Status != 200)) {
				needsSession = fmt.Sprintf("%s set a cookie and discovery then failed (%s): it seems to need a session", c.URLs[i], c.Failure)
				break
			}
		}
	}
	v.Check("WK-012", needsSession == "", "discovery works without cookies or Authorization", needsSession)
}

// judgeUnknownUser: WK-009, an identifier the server will not enroll.
func judgeUnknownUser(v *Verdicts, d *Discovery) {
	p := d.UnknownUserProbe
	if p == nil {
		v.Error("WK-009", "the unknown-user probe was not sent")
		return
	}
	f := p.Final()
	switch {
	case p.OK():
		v.Check("WK-009", false, "a 403 (ideally com.apple.well-known.failed) or another 4xx for an unknown user", fmt.Sprintf("a 200 discovery document for %s: %s", d.UnknownUser, p.Doc))
	case f != nil && f.Status >= 400 && f.Status < 500:
		v.Check("WK-009", true, "", "")
	case f != nil && f.Status == 200:
		v.Check("WK-009", false, "a 4xx for an unknown user, never a 200", fmt.Sprintf("200 with %s", p.Failure))
	case p.Last() != nil && p.Last().RefusedTLS:
		// The device itself refuses the host's TLS, so it never learns
		// how the server treats an unknown user: SEC-004..006 say why.
		v.Skip("WK-009", "the device refuses the server's TLS (see SEC-004..006): "+p.Failure)
	default:
		v.Error("WK-009", "the unknown-user probe got no final answer: "+p.Failure)
	}
}

// judgeVariants: WK-013, forms of the request a server must treat like
// the device's.
func judgeVariants(v *Verdicts, d *Discovery) {
	var bad, unjudged []string
	for _, va := range d.Variants {
		p := &va.Chain
		if l := p.Limit(); l != "" {
			unjudged = append(unjudged, fmt.Sprintf("with %s: %s", va.What, l))
		} else if !p.OK() {
			bad = append(bad, fmt.Sprintf("with %s: %s", va.What, p.Failure))
		} else if !p.Doc.Same(d.Chain.Doc) {
			bad = append(bad, fmt.Sprintf("with %s: %s instead of %s", va.What, p.Doc, d.Chain.Doc))
		}
	}
	if len(bad) == 0 && len(unjudged) > 0 {
		v.Error("WK-013", "a variant's answer broke the simulator's limit: "+strings.Join(unjudged, "; "))
		return
	}
	v.Check("WK-013", len(bad) == 0, "the same document for every variant", strings.Join(bad, "; "))
}

// judgeFamily: WK-014, a family that does not do account-driven enrollment.
func judgeFamily(v *Verdicts, p *DiscoveryChain) {
	if p == nil {
		v.Error("WK-014", "the model-family probe was not sent")
		return
	}
	f := p.Final()
	switch {
	case p.OK() || (f != nil && f.Status == 200):
		v.Check("WK-014", false, "a 4xx for model-family AppleTV", "a 200 document: "+p.Doc.String())
	case f != nil && f.Status >= 400 && f.Status < 500:
		v.Check("WK-014", true, "", "")
	case f != nil:
		v.Check("WK-014", false, "a 4xx for model-family AppleTV", fmt.Sprintf("status %d", f.Status))
	default:
		v.Error("WK-014", "the probe got no final answer: "+p.Failure)
	}
}
