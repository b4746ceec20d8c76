package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
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
// must draw a 401 with a Bearer challenge naming the sign-in method. The
// probes go out first; the judges of check read what all of them saw.
func (r *runner) enrollChallenge() (*stop, event.StepStatus, string) {
	ds := r.discovery
	es := &enrollState{}
	r.enroll = es
	u, err := url.Parse(ds.baseURL)
	if err != nil || u.Scheme != "https" {
		msg := fmt.Sprintf("BaseURL %s is not https: the device refuses to send the enrollment request (App Transport Security)", ds.baseURL)
		return &stop{event.OutcomeEnrollFailed, msg}, event.StepFailed, msg
	}
	body, kind, err := r.deviceBody()
	if err != nil {
		return &stop{event.OutcomeError, "building the enrollment body: " + err.Error()}, event.StepError, err.Error()
	}
	es.body, es.bodyKind = body, kind
	es.contentType = ctPKCS7
	if r.c.Options.FormEncodedBody {
		es.contentType = ctForm
	}
	resp, hops := r.postEnroll(ds.baseURL, body, es.contentType, "", "enrollment request ("+kind+" body)", false)
	es.first = resp
	o := &check.Challenge{BodyKind: kind, ContentType: es.contentType, Redirects: hops, First: answerOf(resp)}
	r.obs.Challenge = o
	b := check.ReadBearer(o.First.Header)
	if b.Usable() {
		es.challenge, es.method, es.challengeNote = &Challenge{b.Chosen}, b.Chosen.Method(), b.Note()
	}
	switch s := resp.status; {
	case r.c.NoProbes || s == 0 || resp.rateLimited != "" || s == http.StatusOK || s == http.StatusBadRequest || s == http.StatusForbidden:
	case s == http.StatusUnauthorized:
		r.enrollProbes(ds.baseURL, o, true)
	default:
		// Another content type may be what the server wants (ENR-008).
		r.enrollProbes(ds.baseURL, o, false)
	}
	r.judged(check.JudgeChallenge(o))
	r.judged(check.JudgeContentTypes(o))
	r.judged(check.JudgeEnrollProbes(o))
	r.judged(check.JudgeRefusals(o))
	return challengeOutcome(o, b, es, r.c.Device)
}

// challengeOutcome is where the device stands after the first answer: it
// cancels, the tester cannot go on, or it signs in by the method named.
func challengeOutcome(o *check.Challenge, b check.BearerReading, es *enrollState, d device.Device) (*stop, event.StepStatus, string) {
	if msg, detail, tester := o.FirstStop(); msg != "" {
		if tester {
			return &stop{event.OutcomeError, msg}, event.StepError, detail
		}
		return &stop{event.OutcomeEnrollFailed, msg}, event.StepFailed, detail
	}
	why, tester := b.Cancel()
	if why == "" {
		capability := device.CapAsWeb
		if es.method == "apple-oauth2" {
			capability = device.CapOAuth2
		}
		if _, no := d.Can(capability); !d.Has(capability) {
			why = "the device cannot sign in: " + no
		}
	}
	switch {
	case tester:
		return &stop{event.OutcomeError, why}, event.StepError, why
	case why != "":
		return &stop{event.OutcomeEnrollFailed, why}, event.StepFailed, why
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
	return nil, event.StepOK, msg
}

// judgedHeaders are the headers of an enrollment answer that the judges
// read: an observation keeps no cookies or other secrets.
var judgedHeaders = []string{"WWW-Authenticate", "X-Apple-Mdm-Esso", "X-Apple-Mdm-Esso-Developer"}

// answerOf is what a judge sees of an answer to an enrollment POST.
func answerOf(resp *response) check.Answer {
	a := check.Answer{Status: resp.status, RateLimited: resp.rateLimited}
	if resp.err != nil {
		a.Err = resp.err.Error()
	}
	for _, k := range judgedHeaders {
		if vs := resp.header.Values(k); len(vs) > 0 {
			if a.Header == nil {
				a.Header = check.Header{}
			}
			a.Header[http.CanonicalHeaderKey(k)] = vs
		}
	}
	return a
}

// enrollProbes send what a device would not: the same body under the other
// content types real devices and Apple's examples use (ENR-008) and, with
// all, a body that is no signed plist (ENR-009) and a product no server
// supports (ENR-010). What each saw goes into o.
func (r *runner) enrollProbes(baseURL string, o *check.Challenge, all bool) {
	es := r.enroll
	for _, ct := range []string{ctPKCS7, ctForm, ctXML} {
		if ct == es.contentType {
			continue
		}
		p, _ := r.postEnroll(baseURL, es.body, ct, "", "probe ENR-008: Content-Type "+ct, true)
		o.ContentTypes = append(o.ContentTypes, check.TypedAnswer{ContentType: ct, Answer: answerOf(p)})
	}
	if !all {
		return
	}
	p, _ := r.postEnroll(baseURL, []byte("this is not a CMS signed property list"), es.contentType, "", "probe ENR-009: a body that is not a signed plist", true)
	o.Probes = &check.EnrollProbes{NotPlist: answerOf(p)}
	if b, _, err := r.signedBody("AppleTV14,1"); err == nil {
		p, _ := r.postEnroll(baseURL, b, es.contentType, "", "probe ENR-010: PRODUCT AppleTV14,1", true)
		a := answerOf(p)
		o.Probes.Product = &a
	} else {
		o.Probes.ProductErr = err.Error()
	}
}
