package check

import (
	"fmt"
	"net/url"
	"strings"
)

// Challenge is what the enroll-challenge step observed: the device's first
// POST to BaseURL without a token, and the probes sent beside it.
type Challenge struct {
	BodyKind    string   `json:"body_kind"`           // "self-signed" or "replayed capture"
	ContentType string   `json:"content_type"`        // the Content-Type the device sent
	Redirects   []string `json:"redirects,omitempty"` // the hops BaseURL redirected the POST through (ENR-011)
	First       Answer   `json:"first"`
	// ContentTypes are the ENR-008 probes, the same body under the other
	// content types; nil when they were not sent (--no-probes, or a 200 or
	// a refusal of the device's signature to the first POST).
	ContentTypes []TypedAnswer `json:"content_types,omitempty"`
	// Probes are ENR-009 and ENR-010, sent after a 401; nil when not sent.
	Probes *EnrollProbes `json:"probes,omitempty"`
}

// Answer is one answer to an enrollment POST as the step saw it.
type Answer struct {
	Status      int    `json:"status,omitempty"` // 0: no answer
	Header      Header `json:"header,omitempty"`
	Err         string `json:"err,omitempty"`          // why no answer came
	RateLimited string `json:"rate_limited,omitempty"` // the server asked the tester to slow down
}

// TypedAnswer is the answer to the body sent under one Content-Type.
type TypedAnswer struct {
	ContentType string `json:"content_type"`
	Answer      Answer `json:"answer"`
}

// EnrollProbes are the bodies a device would not send.
type EnrollProbes struct {
	NotPlist Answer  `json:"not_plist"`         // ENR-009: a body that is no signed plist
	Product  *Answer `json:"product,omitempty"` // ENR-010: PRODUCT AppleTV14,1; nil when its body could not be built
	// ProductErr is why the ENR-010 body could not be built.
	ProductErr string `json:"product_err,omitempty"`
}

func init() {
	onChallenge := func(f func(*Challenge) *Verdicts) func(*Observations) *Verdicts {
		return func(o *Observations) *Verdicts {
			if o.Challenge == nil {
				return nil
			}
			return f(o.Challenge)
		}
	}
	register(Judge{Group: "ENR", Reads: "challenge", Owns: challengeOwns, Run: onChallenge(JudgeChallenge)})
	register(Judge{Group: "ENR", Reads: "challenge", Owns: []string{"ENR-008"}, Run: onChallenge(JudgeContentTypes)})
	register(Judge{Group: "ENR", Reads: "challenge", Owns: []string{"ENR-009", "ENR-010"}, Run: onChallenge(JudgeEnrollProbes)})
	register(Judge{Group: "ENR", Reads: "challenge", Owns: []string{"ENR-013"}, Run: onChallenge(JudgeRefusals)})
}

// challengeOwns are the checks of the first answer and its challenge.
var challengeOwns = []string{"ENR-001", "ENR-002", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007", "ENR-011", "ENR-012"}

// JudgeChallenge judges the first answer and its challenge: ENR-011,
// ENR-001, then ENR-002..007 and ENR-012 in the order a device reads them.
// ENR-007 is the web login's when the apple-as-web url carries a query
// (whether the sign-in needs it is seen there): then it is not returned.
func JudgeChallenge(o *Challenge) *Verdicts {
	b := ReadBearer(o.First.Header)
	owns := challengeOwns
	if o.First.Status == 401 && b.loginQuery() {
		owns = without(owns, "ENR-007")
	}
	v := NewVerdicts(owns...)
	v.Check("ENR-011", len(o.Redirects) == 0, "BaseURL answers the POST itself", "redirected: "+strings.Join(o.Redirects, ", "))
	if o.First.Status != 401 {
		judgeNot401(v, o)
		v.SkipRest(fmt.Sprintf("the first enrollment request got no 401 (%s)", o.First.described()))
		return v
	}
	v.Check("ENR-001", true, "", "")
	judgeBearer(v, o.First.Header, b)
	v.SkipRest("the challenge names no method the checks apply to")
	return v
}

func (a Answer) described() string {
	switch {
	case a.Status == 0:
		return "no answer"
	case a.RateLimited != "":
		return "rate limited"
	}
	return fmt.Sprintf("status %d", a.Status)
}

// judgeNot401 is ENR-001 when the first answer is no 401.
func judgeNot401(v *Verdicts, o *Challenge) {
	a := o.First
	switch {
	case a.Status == 0:
		v.Error("ENR-001", "no answer: "+a.Err)
	case a.RateLimited != "":
		v.Error("ENR-001", a.RateLimited)
	case a.Status == 400 || a.Status == 403:
		v.Error("ENR-001", refusedBody(o))
	default:
		v.Check("ENR-001", false, "401 to a POST without Authorization", firstActual(a.Status))
	}
}

func refusedBody(o *Challenge) string {
	if o.BodyKind == "self-signed" {
		return fmt.Sprintf("the server refused the simulated device signature (%d): replay a body captured from a real device (--replay-body FILE) or use the server's test mode", o.First.Status)
	}
	return fmt.Sprintf("the server refused the %s enrollment body with %d", o.BodyKind, o.First.Status)
}

func firstActual(status int) string {
	if status == 200 {
		return "200 without authentication: devices refuse an unauthenticated profile for account-driven enrollment"
	}
	return fmt.Sprintf("status %d", status)
}

// FirstStop says why the flow ends at the first answer, "" for a 401.
// tester: the tester could not go on (no answer, rate limited, the
// simulated body refused), rather than the device refusing the server.
// detail is the step's message.
func (o *Challenge) FirstStop() (msg, detail string, tester bool) {
	a := o.First
	switch {
	case a.Status == 401:
		return "", "", false
	case a.Status == 0:
		return "the enrollment request got no answer: " + a.Err, a.Err, true
	case a.RateLimited != "":
		return a.RateLimited, a.RateLimited, true
	case a.Status == 400 || a.Status == 403:
		why := refusedBody(o)
		return why, why, true
	}
	msg = "the device cancels: the first enrollment request got " + firstActual(a.Status)
	return msg, msg, false
}

// JudgeContentTypes is ENR-008: the same body under the other content
// types real devices and Apple's examples use must get the same answer.
// Nil when the probes were not sent.
func JudgeContentTypes(o *Challenge) *Verdicts {
	if o.ContentTypes == nil {
		return nil
	}
	v := NewVerdicts("ENR-008")
	var bad []string
	for _, p := range o.ContentTypes {
		if p.Answer.Status != o.First.Status {
			bad = append(bad, fmt.Sprintf("%s: %d (the device's %s got %d)", p.ContentType, p.Answer.Status, o.ContentType, o.First.Status))
		}
	}
	v.Check("ENR-008", len(bad) == 0, "the same answer whatever the Content-Type", strings.Join(bad, "; "))
	return v
}

// JudgeEnrollProbes is ENR-009 (a body that is no signed plist) and ENR-010
// (a product no server supports): both must be refused with 400 or 403.
// Nil when the probes were not sent.
func JudgeEnrollProbes(o *Challenge) *Verdicts {
	p := o.Probes
	if p == nil {
		return nil
	}
	v := NewVerdicts("ENR-009", "ENR-010")
	refused := func(a Answer) bool { return a.Status == 400 || a.Status == 403 }
	v.Check("ENR-009", refused(p.NotPlist), "400 or 403 to a body that is not a CMS-signed plist", fmt.Sprintf("status %d", p.NotPlist.Status))
	if p.Product == nil {
		v.Error("ENR-010", p.ProductErr)
	} else {
		v.Check("ENR-010", refused(*p.Product), "400 or 403 to a product that does not do account-driven enrollment", fmt.Sprintf("status %d", p.Product.Status))
	}
	return v
}

// JudgeRefusals is ENR-013: a refusal, of the device's POST or of a probe,
// must not invite a login.
func JudgeRefusals(o *Challenge) *Verdicts {
	v := NewVerdicts("ENR-013")
	if o.First.Status == 0 || o.First.RateLimited != "" {
		v.Skip("ENR-013", "the first enrollment request got "+o.First.described())
		return v
	}
	rs := []Answer{o.First}
	for _, p := range o.ContentTypes {
		rs = append(rs, p.Answer)
	}
	if p := o.Probes; p != nil {
		rs = append(rs, p.NotPlist)
		if p.Product != nil {
			rs = append(rs, *p.Product)
		}
	}
	var bad []string
	for _, a := range rs {
		if a.Status < 400 || a.Status == 401 {
			continue
		}
		if HasChallenge(a.Header) {
			bad = append(bad, fmt.Sprintf("%d with WWW-Authenticate %q", a.Status, ChallengeHeader(a.Header)))
		}
	}
	v.Check("ENR-013", len(bad) == 0, "no WWW-Authenticate on 4xx/5xx refusals", strings.Join(bad, "; "))
	return v
}

// judgeESSO is ENR-012: an Enrollment SSO header must be an https URL.
func judgeESSO(v *Verdicts, h Header) {
	prod, dev := h.Get("X-Apple-MDM-ESSO"), h.Get("X-Apple-MDM-ESSO-Developer")
	if prod == "" && dev == "" {
		v.Skip("ENR-012", "no X-Apple-MDM-ESSO header")
		return
	}
	isHTTPS := func(s string) bool {
		u, err := url.Parse(s)
		return err == nil && u.Scheme == "https" && u.Host != ""
	}
	if prod != "" {
		v.Check("ENR-012", isHTTPS(prod), "X-Apple-MDM-ESSO is an absolute https URL", fmt.Sprintf("%q", prod))
		return
	}
	// The https rule for the developer header is inferred: warn only.
	if !isHTTPS(dev) {
		v.Add(Result{ID: "ENR-012", Level: Must, Status: Warn, Rule: Verdict("ENR-012", true, "", "").Rule,
			Source: "[I] for the developer header", Expected: "X-Apple-MDM-ESSO-Developer is an absolute https URL", Actual: fmt.Sprintf("%q", dev)})
		return
	}
	v.Check("ENR-012", true, "", "")
}

func without(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}
