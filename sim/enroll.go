package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// Content types of the enrollment POST (§2.5).
const (
	ctPKCS7 = "application/pkcs7-signature"
	ctForm  = "application/x-www-form-urlencoded"
	ctXML   = "application/xml"
)

// enrollState is what the enrollment half of the flow learns.
type enrollState struct {
	body        []byte
	bodyKind    string // "self-signed" or "replayed capture"
	contentType string
	first       *response
	challenge   *Challenge
	method      string
	// challengeNote says where the Bearer challenge stood when the 401
	// carried others too.
	challengeNote string

	token    string // the access token, registered with the redactor
	tokenRaw string // as it stood in the callback URL, still encoded
	callback *url.URL

	second  *response
	profile *profile.Profile
}

func (r *runner) deviceBody() ([]byte, string, error) {
	if len(r.c.ReplayBody) > 0 {
		return r.c.ReplayBody, "replayed capture", nil
	}
	return r.signedBody(r.c.Device.Product)
}

// signedBody is the simulator's stand-in for the device's signed request:
// the right plist, signed by a self-issued identity (no device can share
// Apple's device identity with a simulator, §2.5).
func (r *runner) signedBody(product string) ([]byte, string, error) {
	d := r.c.Device
	// CMS signing times are wall clock: the identity must be valid then.
	serial := "SIM" + strings.ReplaceAll(d.Build, " ", "")
	var id *profile.Identity
	var err error
	if p := r.c.Target.Keys; p != nil && p.Reuse > 0 {
		id, err = bodyIdentities.get(product, serial, time.Now())
	} else {
		id, err = profile.NewDeviceIdentity(product, serial, time.Now())
	}
	if err != nil {
		return nil, "", err
	}
	b, err := profile.EnrollmentBody(id, "en-US", product, d.Build)
	return b, "self-signed", err
}

// bodyIdentities keeps one self-issued body signer per model and build, for
// targets whose key pool reuses keys: those key no state on a device's
// keys (the embedded reference server), and making the identity was a
// sixth of the engine's own cost per case in the load benchmark. Each is
// used for an hour of its 25-hour validity, then replaced. Other targets
// get a fresh identity per device, as a device has.
var bodyIdentities = &identityCache{m: map[string]cachedIdentity{}}

type cachedIdentity struct {
	id   *profile.Identity
	made time.Time
}

type identityCache struct {
	mu sync.Mutex
	m  map[string]cachedIdentity
}

func (c *identityCache) get(product, serial string, now time.Time) (*profile.Identity, error) {
	k := product + "\x00" + serial
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Sub(e.made) < time.Hour && !now.Before(e.made) {
		return e.id, nil
	}
	id, err := profile.NewDeviceIdentity(product, serial, now)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= 256 {
		clear(c.m)
	}
	c.m[k] = cachedIdentity{id, now}
	c.mu.Unlock()
	return id, nil
}

func (r *runner) enrollHeaders(contentType, bearer string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", r.c.Device.UserAgent())
	h.Set("Accept", "*/*")
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	return h
}

// postEnroll sends the enrollment POST, following redirects the way
// Foundation does (307/308 keep the POST, 301-303 turn it into a GET), and
// reports whether a redirect happened (ENR-011).
func (r *runner) postEnroll(target string, body []byte, contentType, bearer, purpose string, probe bool) (*response, []string) {
	method, cur := http.MethodPost, target
	var hops []string
	for i := 0; ; i++ {
		var b []byte
		if method == http.MethodPost {
			b = body
		}
		resp := r.do(request{method: method, url: cur, header: r.enrollHeaders(contentType, bearer), body: b, purpose: purpose, probe: probe, limit: r.lim.ProfileBody})
		if resp.status < 300 || resp.status > 399 || !followable(resp.status) || i >= r.lim.MaxHops {
			return resp, hops
		}
		loc, _ := singleHeader(resp.header, "Location")
		next, why := redirectTarget(cur, loc)
		if why != "" || next.Scheme != "https" {
			return resp, append(hops, fmt.Sprintf("%d to %q", resp.status, truncate(loc, 200)))
		}
		hops = append(hops, fmt.Sprintf("%d to %s", resp.status, next))
		if resp.status != 307 && resp.status != 308 {
			method = http.MethodGet
		}
		cur = next.String()
	}
}

// enrollChallenge is steps 4–5: the first POST to BaseURL without a token
// must draw a 401 with a Bearer challenge naming the sign-in method.
func (r *runner) enrollChallenge() (*stop, StepStatus, string) {
	ds := r.discovery
	es := &enrollState{}
	r.enroll = es
	u, err := url.Parse(ds.baseURL)
	if err != nil || u.Scheme != "https" {
		msg := fmt.Sprintf("BaseURL %s is not https: the device refuses to send the enrollment request (App Transport Security)", ds.baseURL)
		return &stop{OutcomeEnrollFailed, msg}, StepFailed, msg
	}
	body, kind, err := r.deviceBody()
	if err != nil {
		return &stop{OutcomeError, "building the enrollment body: " + err.Error()}, StepError, err.Error()
	}
	es.body, es.bodyKind = body, kind
	es.contentType = ctPKCS7
	if r.c.Options.FormEncodedBody {
		es.contentType = ctForm
	}
	resp, hops := r.postEnroll(ds.baseURL, body, es.contentType, "", "enrollment request ("+kind+" body)", false)
	es.first = resp
	r.check("ENR-011", len(hops) == 0, "BaseURL answers the POST itself", "redirected: "+strings.Join(hops, ", "))
	refusals := []*response{resp}

	switch {
	case resp.status == 0:
		r.cannotJudge("ENR-001", "no answer: "+resp.err.Error())
		return &stop{OutcomeError, "the enrollment request got no answer: " + resp.err.Error()}, StepError, resp.err.Error()
	case resp.rateLimited != "":
		r.cannotJudge("ENR-001", resp.rateLimited)
		return &stop{OutcomeError, resp.rateLimited}, StepError, resp.rateLimited
	case resp.status == http.StatusUnauthorized:
		r.check("ENR-001", true, "", "")
	case resp.status == http.StatusBadRequest || resp.status == http.StatusForbidden:
		why := fmt.Sprintf("the server refused the %s enrollment body with %d", kind, resp.status)
		if kind == "self-signed" {
			why = fmt.Sprintf("the server refused the simulated device signature (%d): replay a body captured from a real device (--replay-body FILE) or use the server's test mode", resp.status)
		}
		r.cannotJudge("ENR-001", why)
		r.judgeErrorChallenges(refusals)
		return &stop{OutcomeError, why}, StepError, why
	default:
		actual := fmt.Sprintf("status %d", resp.status)
		if resp.status == http.StatusOK {
			actual = "200 without authentication: devices refuse an unauthenticated profile for account-driven enrollment"
		}
		r.check("ENR-001", false, "401 to a POST without Authorization", actual)
		if resp.status != http.StatusOK && !r.c.NoProbes {
			// Another content type may be what the server wants (ENR-008).
			refusals = append(refusals, r.contentTypeProbes(ds.baseURL, resp)...)
		}
		r.judgeErrorChallenges(refusals)
		msg := "the device cancels: the first enrollment request got " + actual
		return &stop{OutcomeEnrollFailed, msg}, StepFailed, msg
	}

	st := r.judgeChallenge(resp)
	if !r.c.NoProbes {
		refusals = append(refusals, r.enrollProbes(ds.baseURL, resp)...)
	}
	r.judgeErrorChallenges(refusals)
	if st != nil {
		status := StepFailed
		if st.outcome == OutcomeError {
			status = StepError
		}
		return st, status, st.message
	}
	c := es.challenge
	msg := fmt.Sprintf("401 challenge: method %s", es.method)
	if es.method == "apple-as-web" {
		msg += ", sign-in at " + c.Params["url"]
	} else {
		msg += ", authorize at " + c.Params["authorization-url"]
	}
	if es.challengeNote != "" {
		msg += "; Bearer was " + es.challengeNote
	}
	return nil, StepOK, msg
}

// judgeChallenge reads the 401 (ENR-002..007, ENR-012) and returns why the
// device would cancel, or nil. The device looks for its Bearer challenge in
// every WWW-Authenticate header and every challenge of each (RFC 9110
// §11.6.1): other schemes beside it are legal and no deviation of form.
func (r *runner) judgeChallenge(resp *response) *stop {
	es := r.enroll
	cancel := func(msg string) *stop { return &stop{OutcomeEnrollFailed, msg} }
	if !hasChallenge(resp.header) {
		r.check("ENR-002", false, "WWW-Authenticate: Bearer method=\"apple-as-web\"|\"apple-oauth2\", ...", "no WWW-Authenticate header")
		r.skipAll("no challenge", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007")
		return cancel("the device cancels: the 401 has no WWW-Authenticate challenge")
	}
	raw := challengeHeader(resp.header)
	cs, err := ParseChallenges(resp.header.Values("WWW-Authenticate"))
	if err != nil && !hasUsableBearer(cs) {
		// The simulator's own bound, not a verdict on the server.
		r.cannotJudge("ENR-002", err.Error())
		r.skipAll("the challenge was not read", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007")
		return &stop{OutcomeError, "the 401's challenge was not read: " + err.Error()}
	}
	c, index, bearers := pickBearer(cs)
	switch {
	case c == nil && firstErr(cs) != nil:
		r.check("ENR-002", false, "a parsable Bearer challenge", fmt.Sprintf("%q: %v", raw, firstErr(cs)))
		r.skipAll("no parsable challenge", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007")
		return cancel("the device cancels: the challenge does not parse: " + firstErr(cs).Error())
	case c == nil:
		r.check("ENR-002", false, "auth-scheme Bearer", "schemes "+schemeList(cs))
		r.skipAll("no Bearer challenge", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007")
		return cancel("the device cancels: the 401 has no Bearer challenge, only " + schemeList(cs))
	case c.Err != nil:
		r.check("ENR-002", false, "a parsable Bearer challenge", fmt.Sprintf("%q: %v", c.Raw, c.Err))
		r.skipAll("no parsable challenge", "ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007")
		return cancel("the device cancels: the challenge does not parse: " + c.Err.Error())
	}
	es.challenge = c
	es.method = c.Method()
	if len(cs) > 1 {
		es.challengeNote = fmt.Sprintf("challenge %d of %d (%s)", index+1, len(cs), schemeList(cs))
	}
	switch {
	case es.method == "apple-maid":
		r.check("ENR-002", false, "method apple-as-web or apple-oauth2", `method "apple-maid": undocumented, Apple's own, unknown to the third-party spec`)
	case !knownMethod(es.method):
		r.check("ENR-002", false, "method apple-as-web or apple-oauth2", fmt.Sprintf("method %q", es.method))
	default:
		r.check("ENR-002", true, "", "")
	}
	var form []string
	if c.Scheme != "Bearer" {
		form = append(form, fmt.Sprintf("scheme %q (the iOS 26.1 client compares with Bearer exactly)", c.Scheme))
	}
	form = append(form, c.Lenient...)
	if bearers > 1 {
		// Which one a device takes is not documented: the simulator takes
		// the first it can use and says so.
		form = append(form, fmt.Sprintf("%d Bearer challenges; the simulator used challenge %d of %d, the first with method apple-as-web or apple-oauth2 (method %q)", bearers, index+1, len(cs), es.method))
	}
	r.check("ENR-006", len(form) == 0, `one Bearer method="...", name="value", ... (commas, double quotes)`, strings.Join(form, "; "))
	r.judgeESSO(resp)

	why := ""
	switch es.method {
	case "apple-as-web":
		r.skip("ENR-005", "the method is apple-as-web")
		lu, err := url.Parse(c.Params["url"])
		ok := err == nil && lu.IsAbs() && lu.Host != "" && (lu.Scheme == "https" || lu.Scheme == "http")
		r.check("ENR-003", ok, "an absolute http or https url parameter", fmt.Sprintf("url %q", c.Params["url"]))
		if !ok {
			r.skipAll("no usable url", "ENR-004", "ENR-007")
			return cancel("the device cancels: the apple-as-web challenge has no usable url")
		}
		r.check("ENR-004", lu.Scheme == "https", "an https url", c.Params["url"])
		if lu.RawQuery == "" {
			r.check("ENR-007", true, "", "")
		}
		if !r.c.Device.Has(CapAsWeb) {
			_, no := r.c.Device.Can(CapAsWeb)
			why = "the device cannot sign in: " + no
		}
	case "apple-oauth2":
		r.skipAll("the method is apple-oauth2", "ENR-003", "ENR-004", "ENR-007")
		var bad []string
		for _, k := range []string{"authorization-url", "token-url"} {
			v, ok := c.Params[k]
			u, err := url.Parse(v)
			if !ok || err != nil || u.Scheme != "https" || u.Host == "" {
				bad = append(bad, fmt.Sprintf("%s %q is not an https URL", k, v))
			}
		}
		ru, err := url.Parse(c.Params["redirect-url"])
		if err != nil || ru.Scheme != CallbackScheme || (ru.Path == "" && ru.Opaque == "") {
			bad = append(bad, fmt.Sprintf("redirect-url %q lacks scheme %s and a path", c.Params["redirect-url"], CallbackScheme))
		}
		for _, k := range []string{"client-id", "scope"} {
			if c.Params[k] == "" {
				bad = append(bad, k+" is missing")
			}
		}
		r.check("ENR-005", len(bad) == 0, "https authorization-url and token-url, redirect-url "+CallbackScheme+":/path, client-id, scope", strings.Join(bad, "; "))
		if len(bad) > 0 && (c.Params["authorization-url"] == "" || c.Params["token-url"] == "" || c.Params["redirect-url"] == "" || c.Params["client-id"] == "") {
			why = "the device cancels: the apple-oauth2 challenge lacks " + strings.Join(bad, "; ")
		} else if !r.c.Device.Has(CapOAuth2) {
			_, no := r.c.Device.Can(CapOAuth2)
			why = "the device cannot sign in: " + no
		}
	default:
		r.skipAll("no known method", "ENR-003", "ENR-004", "ENR-005", "ENR-007")
		why = fmt.Sprintf("the device cancels: unknown method %q", es.method)
	}
	if why == "" {
		return nil
	}
	return cancel(why)
}

func hasUsableBearer(cs []*Challenge) bool {
	c, _, _ := pickBearer(cs)
	return c != nil && c.Err == nil && knownMethod(c.Method())
}

func firstErr(cs []*Challenge) error {
	for _, c := range cs {
		if c.Err != nil {
			return c.Err
		}
	}
	return nil
}

// schemeList names the schemes of the challenges, bounded.
func schemeList(cs []*Challenge) string {
	var names []string
	for i, c := range cs {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-5))
			break
		}
		names = append(names, truncate(c.Scheme, 40))
	}
	return strings.Join(names, ", ")
}

func (r *runner) skipAll(why string, ids ...string) {
	for _, id := range ids {
		r.skip(id, why)
	}
}

// judgeESSO is ENR-012: an Enrollment SSO header must be an https URL.
func (r *runner) judgeESSO(resp *response) {
	prod, dev := resp.header.Get("X-Apple-MDM-ESSO"), resp.header.Get("X-Apple-MDM-ESSO-Developer")
	if prod == "" && dev == "" {
		r.skip("ENR-012", "no X-Apple-MDM-ESSO header")
		return
	}
	isHTTPS := func(v string) bool {
		u, err := url.Parse(v)
		return err == nil && u.Scheme == "https" && u.Host != ""
	}
	if prod != "" {
		r.check("ENR-012", isHTTPS(prod), "X-Apple-MDM-ESSO is an absolute https URL", fmt.Sprintf("%q", prod))
		return
	}
	// The https rule for the developer header is inferred: warn only.
	if !isHTTPS(dev) {
		r.report(Result{ID: "ENR-012", Level: Must, Status: Warn, Rule: check.Verdict("ENR-012", true, "", "").Rule,
			Source: "[I] for the developer header", Expected: "X-Apple-MDM-ESSO-Developer is an absolute https URL", Actual: fmt.Sprintf("%q", dev)})
		return
	}
	r.check("ENR-012", true, "", "")
}

// enrollProbes send what a device would not: the same body under other
// content types (ENR-008), a body that is no signed plist (ENR-009) and a
// product no server supports (ENR-010). They return the refusals for
// ENR-013.
func (r *runner) enrollProbes(baseURL string, baseline *response) []*response {
	refusals := r.contentTypeProbes(baseURL, baseline)
	es := r.enroll
	p, _ := r.postEnroll(baseURL, []byte("this is not a CMS signed property list"), es.contentType, "", "probe ENR-009: a body that is not a signed plist", true)
	refusals = append(refusals, p)
	r.check("ENR-009", p.status == 400 || p.status == 403, "400 or 403 to a body that is not a CMS-signed plist", fmt.Sprintf("status %d", p.status))

	if b, _, err := r.signedBody("AppleTV14,1"); err == nil {
		p, _ := r.postEnroll(baseURL, b, es.contentType, "", "probe ENR-010: PRODUCT AppleTV14,1", true)
		refusals = append(refusals, p)
		r.check("ENR-010", p.status == 400 || p.status == 403, "400 or 403 to a product that does not do account-driven enrollment", fmt.Sprintf("status %d", p.status))
	} else {
		r.cannotJudge("ENR-010", err.Error())
	}
	return refusals
}

// contentTypeProbes are ENR-008: the same body under the other content
// types real devices and Apple's examples use must get the same answer.
func (r *runner) contentTypeProbes(baseURL string, baseline *response) []*response {
	es := r.enroll
	var refusals []*response
	var bad []string
	for _, ct := range []string{ctPKCS7, ctForm, ctXML} {
		if ct == es.contentType {
			continue
		}
		p, _ := r.postEnroll(baseURL, es.body, ct, "", "probe ENR-008: Content-Type "+ct, true)
		refusals = append(refusals, p)
		if p.status != baseline.status {
			bad = append(bad, fmt.Sprintf("%s: %d (the device's %s got %d)", ct, p.status, es.contentType, baseline.status))
		}
	}
	r.check("ENR-008", len(bad) == 0, "the same answer whatever the Content-Type", strings.Join(bad, "; "))
	return refusals
}

// judgeErrorChallenges is ENR-013: a refusal must not invite a login.
func (r *runner) judgeErrorChallenges(rs []*response) {
	var bad []string
	for _, p := range rs {
		if p == nil || p.status < 400 || p.status == 401 {
			continue
		}
		if hasChallenge(p.header) {
			bad = append(bad, fmt.Sprintf("%d with WWW-Authenticate %q", p.status, challengeHeader(p.header)))
		}
	}
	r.check("ENR-013", len(bad) == 0, "no WWW-Authenticate on 4xx/5xx refusals", strings.Join(bad, "; "))
}
