package check

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Fallback is what the axm-fallback step observed: whether the device
// falls back to AxM, the AxM chain (the device's, or the tester's probe
// of a declared registration) and the probe of the registered URL.
type Fallback struct {
	Domain      DiscoveryChain `json:"domain"`
	AxMFallback Capability     `json:"axm_fallback"` // the device asks AxM when the domain fails (18.2+)
	// StopOnRejection: a device option stops at a 403
	// com.apple.well-known.failed instead of asking AxM.
	StopOnRejection bool `json:"stop_on_rejection,omitempty"`
	// AxMConfigured: an AxM endpoint is configured (--axm-url).
	AxMConfigured bool `json:"axm_configured,omitempty"`
	// Declared: the target declares an AxM registration.
	Declared     bool          `json:"declared,omitempty"`
	NoProbes     bool          `json:"no_probes,omitempty"`
	ExpectEnroll bool          `json:"expect_enroll,omitempty"`
	Timeout      time.Duration `json:"timeout"`
	// AxM is the chain from the AxM endpoint; nil when it was not asked.
	// Probe says the tester asked, not the device.
	AxM   *DiscoveryChain `json:"axm,omitempty"`
	Probe bool            `json:"probe,omitempty"`
	// Registered is the URL AxM redirected to, without the query Apple
	// adds; RegisteredProbe asked it without any query (ABM-004).
	Registered      string          `json:"registered,omitempty"`
	RegisteredProbe *DiscoveryChain `json:"registered_probe,omitempty"`
}

// FallbackPlan is what the step does: the device falls back, or the
// tester probes a declared registration, or neither (Reason says why the
// device does not fall back when its domain failed).
type FallbackPlan struct {
	Device, Probe bool
	Reason        string
}

// PlanFallback decides, as the device does (§2.3), whether it asks AxM,
// and whether the tester probes the AxM path in its place.
func PlanFallback(f *Fallback) FallbackPlan {
	var p FallbackPlan
	if !f.Domain.OK() {
		switch {
		case !f.AxMFallback.OK:
			p.Reason = f.AxMFallback.Why
		case f.rejected() && f.StopOnRejection:
			p.Reason = "the server rejected the user with com.apple.well-known.failed and this device option stops there"
		case !f.AxMConfigured:
			p.Reason = "no AxM endpoint is configured (--axm-url)"
		default:
			p.Device = true
		}
	}
	p.Probe = !p.Device && f.Declared && f.AxMConfigured && !f.NoProbes
	return p
}

func (f *Fallback) rejected() bool {
	fin := f.Domain.Final()
	return fin != nil && fin.Status == 403 && fin.Rejection != nil && fin.Rejection.Code == "com.apple.well-known.failed"
}

// notAsked is why the ABM checks of the AxM path are skipped when
// neither the device nor the tester asked AxM.
func (f *Fallback) notAsked() string {
	if f.Declared && f.AxMConfigured {
		return discoveryProbesOff + ": the device did not use the AxM path, and only a probe would"
	}
	return "the AxM path was not used and no AxM registration is declared"
}

var (
	abmPathChecks   = []string{"ABM-008", "ABM-003"}
	abmPublicChecks = []string{"ABM-005"}
	abmProbeChecks  = []string{"ABM-004", "ABM-009"}
)

func init() {
	register(Judge{Group: "ABM", Reads: "fallback", Owns: abmPathChecks, Run: func(o *Observations) *Verdicts {
		if o.Fallback == nil {
			return nil
		}
		return JudgeFallbackPath(o.Fallback)
	}})
	register(Judge{Group: "ABM", Reads: "fallback: the registered URL's answer", Owns: abmPublicChecks, Run: func(o *Observations) *Verdicts {
		if o.Fallback == nil || o.Fallback.AxM == nil {
			return nil
		}
		return JudgeRegisteredURL(o.Fallback)
	}})
	register(Judge{Group: "ABM", Reads: "fallback: probe and agreement", Owns: abmProbeChecks, Run: func(o *Observations) *Verdicts {
		if o.Fallback == nil {
			return nil
		}
		return JudgeFallbackProbe(o.Fallback)
	}})
}

// JudgeFallbackPath is ABM-008 (only 18.2+ clients fall back) and ABM-003
// (the registered URL gives a valid document).
func JudgeFallbackPath(f *Fallback) *Verdicts {
	v := NewVerdicts(abmPathChecks...)
	if !f.Domain.OK() && !f.AxMFallback.OK {
		v.Note("ABM-008", fmt.Sprintf("the organisation domain failed and %s: the device stops here, as it must", f.AxMFallback.Why))
	} else {
		v.Check("ABM-008", true, "", "")
	}
	if f.AxM == nil {
		v.Skip("ABM-003", f.notAsked())
		return v
	}
	judgeRegisteredDocument(v, f)
	return v
}

// judgeRegisteredDocument is ABM-003 over the AxM chain.
func judgeRegisteredDocument(v *Verdicts, f *Fallback) {
	c := f.AxM
	fin := c.Final()
	switch {
	case len(c.Hops) == 1 && fin == nil:
		v.Error("ABM-003", "AxM did not answer: "+c.Failure)
	case len(c.Hops) == 1 && !f.Declared:
		v.Skip("ABM-003", fmt.Sprintf("AxM answered %d without a redirect: no discovery URL is registered for this organisation (none declared)", fin.Status))
	case len(c.Hops) == 1:
		v.Check("ABM-003", false, "AxM redirects to a registered discovery URL", fmt.Sprintf("AxM answered %d without a redirect: nothing is registered, or the domain is not verified", fin.Status))
	case c.OK():
		// ABM-003 takes the level of what the document rules found: a
		// warning of theirs (a byte-order mark, a repeated key, a starred
		// rule) is a warning here too, never a failure.
		var bad, odd []string
		for _, res := range documentRules(fin) {
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
			v.Add(wkWarning("ABM-003", expected, strings.Join(odd, "; ")))
		} else {
			v.Check("ABM-003", len(bad) == 0, expected, strings.Join(append(bad, odd...), "; "))
		}
	case c.Limit() != "":
		// The simulator's bound: a device may read the document.
		v.Error("ABM-003", "the registered URL's document was not judged: "+c.Limit()+"; SEC-003 reports the size")
	case fin == nil && c.Last().Unjudged != "":
		// The registered URL did not answer: a transport failure, not a
		// verdict on what is registered.
		v.Error("ABM-003", "the registered URL did not answer: "+c.Failure)
	case !f.ExpectEnroll && fin != nil && fin.Status >= 400 && fin.Status < 500:
		v.Note("ABM-003", fmt.Sprintf("the registered URL refuses this account (%d), as the scenario expects for an account that should not enroll", fin.Status))
	default:
		actual := c.Failure
		if isBaseURL(f.Domain.Doc, f.Registered) {
			actual = "the registered URL is the enrollment BaseURL itself; register the service discovery URL (" + c.Failure + ")"
		}
		v.Check("ABM-003", false, "the registered URL returns a 200 discovery document", actual)
	}
}

// isBaseURL reports whether u (without its query) is a BaseURL of the
// domain's discovery document: a server that registered its enrollment
// endpoint instead of its discovery endpoint.
func isBaseURL(doc *WellKnownDoc, u string) bool {
	if u == "" || doc == nil {
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
	if strip(doc.BaseURL) == want {
		return true
	}
	for _, b := range doc.BaseURLs {
		if strip(b) == want {
			return true
		}
	}
	return false
}

// JudgeRegisteredURL is ABM-005: the registered URL is public by design
// (Apple hands it to anyone who asks), so its answer must not start a
// session and the URL must not carry a secret.
func JudgeRegisteredURL(f *Fallback) *Verdicts {
	v := NewVerdicts(abmPublicChecks...)
	fin := f.AxM.Final()
	if f.Registered == "" || fin == nil {
		v.Skip("ABM-005", "the registered URL was not reached")
		return v
	}
	var found []string
	if cs := fin.Header.Values("Set-Cookie"); len(cs) > 0 {
		name, _, _ := strings.Cut(cs[0], "=")
		found = append(found, fmt.Sprintf("its answer sets a cookie (%s): requesting a public URL creates session state", name))
	}
	if u, err := url.Parse(f.Registered); err == nil {
		var keys []string
		for k := range u.Query() {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if credentialName(k) {
				found = append(found, fmt.Sprintf("the registered URL carries %q, which reads as a credential: AxM gives the URL to anyone", k))
			}
		}
	}
	if f.AxM.Doc != nil {
		for _, k := range f.AxM.Doc.Keys {
			if credentialName(k) {
				found = append(found, fmt.Sprintf("the document has a key %q beside Servers", k))
			}
		}
	}
	v.Check("ABM-005", len(found) == 0, "the registered URL grants nothing: no cookie, no credential in the URL or the document", strings.Join(found, "; "))
	return v
}

// credentialName reports whether a query parameter or key name reads as
// a secret: a whole name such as token or key, or a compound ending in one
// (access_token, apiKey, X-Signature).
func credentialName(name string) bool {
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

// JudgeFallbackProbe is ABM-004 (the registered URL copes without the
// query Apple may not add) and ABM-009 (it agrees with the domain).
func JudgeFallbackProbe(f *Fallback) *Verdicts {
	v := NewVerdicts(abmProbeChecks...)
	if f.AxM == nil {
		v.SkipAll(f.notAsked(), abmProbeChecks...)
		return v
	}
	p := f.RegisteredProbe
	switch {
	case f.Registered == "":
		v.Skip("ABM-004", "no registered URL was reached")
	case f.NoProbes:
		v.Skip("ABM-004", discoveryProbesOff)
	case p == nil || p.Last() == nil:
		v.Error("ABM-004", "the registered URL was not asked without the query")
	default:
		last := p.Last()
		switch {
		case last.Status == 0 && last.Unjudged != "":
			v.Error("ABM-004", "no answer without the query: "+p.Failure)
		case last.Status == 0:
			v.Check("ABM-004", false, "a document or a clear 4xx without the query", p.Failure)
		case last.Status >= 500:
			v.Check("ABM-004", false, "a document or a clear 4xx without the query, never a 5xx", fmt.Sprintf("status %d", last.Status))
		default:
			v.Check("ABM-004", true, "", "")
		}
	}
	if f.Domain.OK() && f.AxM.OK() {
		v.Check("ABM-009", f.Domain.Doc.Same(f.AxM.Doc), "the same Version and BaseURL from the domain and the registered URL",
			fmt.Sprintf("domain: %s; registered URL: %s", f.Domain.Doc, f.AxM.Doc))
	} else {
		v.Skip("ABM-009", "not both documents are available")
	}
	return v
}
