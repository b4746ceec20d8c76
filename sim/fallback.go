package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// fallback is step 2b (§2.3): when the organisation domain failed, devices
// at iOS/iPadOS 18.2, macOS 15.2, visionOS 2.2 and later ask AxM, which
// redirects to the discovery URL the MDM server registered. When the target
// declares an AxM registration, the tester probes that path even if the
// device does not need it, to judge ABM-003/004/009.
func (r *runner) fallback() (*stop, StepStatus, string) {
	ds := r.discovery
	d := r.c.Device
	domainFailed := !ds.domain.ok()
	deviceFallsBack := domainFailed
	reason := ""
	if domainFailed {
		canFall, why := d.Can(CapAxMFallback)
		rejected := ds.domain.final != nil && ds.domain.final.status == http.StatusForbidden &&
			parseRejection(ds.domain.final) != nil && parseRejection(ds.domain.final).code == "com.apple.well-known.failed"
		switch {
		case !canFall:
			deviceFallsBack = false
			reason = why
			r.note("ABM-008", fmt.Sprintf("the organisation domain failed and %s: the device stops here, as it must", why))
		case rejected && r.c.Options.NoFallbackOnRejection:
			deviceFallsBack = false
			reason = "the server rejected the user with com.apple.well-known.failed and this device option stops there"
			r.check("ABM-008", true, "", "")
		case r.c.Target.AxMURL == "":
			deviceFallsBack = false
			reason = "no AxM endpoint is configured (--axm-url)"
			r.check("ABM-008", true, "", "")
		default:
			r.check("ABM-008", true, "", "")
		}
	} else {
		r.check("ABM-008", true, "", "")
	}

	declared := r.c.Target.AxMDeclared && r.c.Target.AxMURL != ""
	probeOnly := !deviceFallsBack && declared && !r.c.NoProbes
	if !deviceFallsBack && !probeOnly {
		why := "the AxM path was not used and no AxM registration is declared"
		if declared {
			why = probesOff + ": the device did not use the AxM path, and only a probe would"
		}
		for _, id := range []string{"ABM-003", "ABM-004", "ABM-009"} {
			r.skip(id, why)
		}
		if domainFailed {
			return nil, StepSkipped, "no fallback: " + reason
		}
		return nil, StepSkipped, "not needed: the organisation domain answered"
	}

	start := r.discoveryURL(r.c.Target.AxMURL, r.c.Account.Identifier, string(d.Family), r.c.Options.OmitModelFamily)
	purpose := "AxM fallback"
	if probeOnly {
		purpose = "probe ABM-003: AxM-registered discovery URL"
	}
	c := r.follow(start, purpose, probeOnly)
	ds.axm, ds.axmProbe = c, probeOnly
	if len(c.urls) > 1 {
		if u, err := url.Parse(c.urls[1]); err == nil {
			q := u.Query()
			q.Del("user-identifier")
			q.Del("model-family")
			u.RawQuery = q.Encode()
			ds.registered = u.String()
		}
	}
	r.judgeAxM(c)

	msg := ""
	switch {
	case probeOnly && c.ok():
		msg = "probe: the AxM-registered URL answers " + c.doc.String()
	case probeOnly:
		msg = "probe: the AxM path failed: " + c.failure
	case c.ok():
		msg = "AxM redirected to the registered URL: " + c.doc.String()
	default:
		msg = "the AxM fallback failed too: " + c.failure
	}
	if probeOnly {
		if domainFailed {
			msg = "no fallback on this device (" + reason + "); " + msg
		}
		return nil, StepSkipped, msg
	}
	if !c.ok() {
		return nil, StepFailed, msg
	}
	return nil, StepOK, msg
}

// judgeAxM: ABM-003 (the registered URL gives a valid document), ABM-004
// (it copes without the query Apple may not add), ABM-009 (it agrees with
// the domain's document).
func (r *runner) judgeAxM(c *chain) {
	ds := r.discovery
	declared := r.c.Target.AxMDeclared
	switch {
	case len(c.hops) == 1 && c.final == nil:
		r.cannotJudge("ABM-003", "AxM did not answer: "+c.failure)
	case len(c.hops) == 1 && !declared:
		r.skip("ABM-003", fmt.Sprintf("AxM answered %d without a redirect: no discovery URL is registered for this organisation (none declared)", c.final.status))
	case len(c.hops) == 1:
		r.check("ABM-003", false, "AxM redirects to a registered discovery URL", fmt.Sprintf("AxM answered %d without a redirect: nothing is registered, or the domain is not verified", c.final.status))
	case c.ok():
		// ABM-003 takes the level of what the document rules found: a
		// warning of theirs (a byte-order mark, a repeated key, a starred
		// rule) is a warning here too, never a failure.
		var bad, odd []string
		for _, res := range r.judgeDocBody("ABM", c.final) {
			switch {
			case res.ID == "WK-016":
			case res.Status == Fail:
				bad = append(bad, res.ID+": "+res.Actual)
			case res.Status == Warn:
				odd = append(odd, res.ID+": "+res.Actual)
			}
		}
		const expected = "the registered URL returns a document that meets WK-002…WK-007"
		if len(bad) == 0 && len(odd) > 0 {
			r.report(docWarning("ABM-003", expected, strings.Join(odd, "; ")))
		} else {
			r.check("ABM-003", len(bad) == 0, expected, strings.Join(append(bad, odd...), "; "))
		}
	case chainLimit(c) != "":
		// The simulator's bound: a device may read the document.
		r.cannotJudge("ABM-003", "the registered URL's document was not judged: "+chainLimit(c)+"; SEC-003 reports the size")
	case c.final == nil && unjudgeable(c.hops[len(c.hops)-1], r.lim.Timeout, "document") != "":
		// The registered URL did not answer: a transport failure, not a
		// verdict on what is registered.
		r.cannotJudge("ABM-003", "the registered URL did not answer: "+c.failure)
	case !r.c.Expect.Enroll && c.final != nil && c.final.status >= 400 && c.final.status < 500:
		r.note("ABM-003", fmt.Sprintf("the registered URL refuses this account (%d), as the scenario expects for an account that should not enroll", c.final.status))
	default:
		actual := c.failure
		if isBaseURL(ds, ds.registered) {
			actual = "the registered URL is the enrollment BaseURL itself; register the service discovery URL (" + c.failure + ")"
		}
		r.check("ABM-003", false, "the registered URL returns a 200 discovery document", actual)
	}
	r.judgeABM005(c)
	if last := c.hops[len(c.hops)-1]; ds.axmProbe && last.status == http.StatusOK {
		// Devices at 18.2 and later read this document: its size is
		// SEC-003's even when only the tester's probe fetched it.
		switch at := c.urls[len(c.hops)-1]; {
		case last.tooLarge:
			r.limitIssues = append(r.limitIssues, fmt.Sprintf("%s: over the %s read limit", at, byteSize(int64(len(last.body)))))
		case len(last.body) > secDiscoveryBound:
			r.limitIssues = append(r.limitIssues, fmt.Sprintf("%s: %s (bound %s)", at, byteSize(int64(len(last.body))), byteSize(secDiscoveryBound)))
		}
	}

	switch {
	case ds.registered == "":
		r.skip("ABM-004", "no registered URL was reached")
	case r.c.NoProbes:
		r.skip("ABM-004", probesOff)
	default:
		p := r.follow(ds.registered, "probe ABM-004: registered URL without parameters", true)
		last := p.hops[len(p.hops)-1]
		switch {
		case last.status == 0 && unjudgeable(last, r.lim.Timeout, "document") != "":
			r.cannotJudge("ABM-004", "no answer without the query: "+p.failure)
		case last.status == 0:
			r.check("ABM-004", false, "a document or a clear 4xx without the query", p.failure)
		case last.status >= 500:
			r.check("ABM-004", false, "a document or a clear 4xx without the query, never a 5xx", fmt.Sprintf("status %d", last.status))
		default:
			r.check("ABM-004", true, "", "")
		}
	}

	if ds.domain.ok() && c.ok() {
		r.check("ABM-009", ds.domain.doc.same(c.doc), "the same Version and BaseURL from the domain and the registered URL",
			fmt.Sprintf("domain: %s; registered URL: %s", ds.domain.doc, c.doc))
	} else {
		r.skip("ABM-009", "not both documents are available")
	}
}

// isBaseURL reports whether u (without its query) is a BaseURL of the
// domain's discovery document: a server that registered its enrollment
// endpoint instead of its discovery endpoint.
func isBaseURL(ds *discoveryState, u string) bool {
	if u == "" || ds.domain == nil || ds.domain.doc == nil {
		return false
	}
	strip := func(s string) string {
		p, err := url.Parse(s)
		if err != nil {
			return s
		}
		p.RawQuery, p.Fragment = "", ""
		return strings.TrimSuffix(p.String(), "/")
	}
	want := strip(u)
	if strip(ds.domain.doc.baseURL) == want {
		return true
	}
	for _, s := range ds.domain.doc.servers {
		if m, ok := s.(map[string]any); ok {
			if b, _ := m["BaseURL"].(string); b != "" && strip(b) == want {
				return true
			}
		}
	}
	return false
}

// isCredentialName reports whether a query parameter or key name reads as
// a secret: a whole name such as token or key, or a compound ending in one
// (access_token, apiKey, X-Signature).
func isCredentialName(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"token", "secret", "password", "passwd", "signature", "session", "apikey", "api_key"} {
		if strings.HasSuffix(n, w) {
			return true
		}
	}
	for _, w := range []string{"key", "sig", "auth", "code"} {
		if n == w || strings.HasSuffix(n, "_"+w) || strings.HasSuffix(n, "-"+w) {
			return true
		}
	}
	return false
}

// judgeABM005: the registered URL is public by design (Apple hands it to
// anyone who asks), so its answer must not start a session and the URL
// must not carry a secret.
func (r *runner) judgeABM005(c *chain) {
	ds := r.discovery
	if ds.registered == "" || c.final == nil {
		r.skip("ABM-005", "the registered URL was not reached")
		return
	}
	var found []string
	if v := c.final.header.Values("Set-Cookie"); len(v) > 0 {
		name, _, _ := strings.Cut(v[0], "=")
		found = append(found, fmt.Sprintf("its answer sets a cookie (%s): requesting a public URL creates session state", name))
	}
	if u, err := url.Parse(ds.registered); err == nil {
		for k := range u.Query() {
			if isCredentialName(k) {
				found = append(found, fmt.Sprintf("the registered URL carries %q, which reads as a credential: AxM gives the URL to anyone", k))
			}
		}
	}
	if c.doc != nil {
		for k := range c.doc.raw {
			if isCredentialName(k) {
				found = append(found, fmt.Sprintf("the document has a key %q beside Servers", k))
			}
		}
	}
	r.check("ABM-005", len(found) == 0, "the registered URL grants nothing: no cookie, no credential in the URL or the document", strings.Join(found, "; "))
}
