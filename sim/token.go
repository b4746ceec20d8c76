package sim

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// enrollWithToken is step 12 (§2.10): the same POST with the token. Tokens
// may be single-use (Fleet consumes them here), so the negative probes go
// first and the real token is sent exactly once; after it, an OAuth 2
// device refreshes its token silently (AUTH-015).
func (r *runner) enrollWithToken() (*stop, event.StepStatus, string) {
	es := r.enroll
	base := r.discovery.baseURL
	o := &check.Enroll{OAuth2: r.oauth != nil, RefreshToken: r.oauth != nil && r.oauth.refreshToken != ""}
	r.obs.Enroll = o
	if !r.c.NoProbes {
		o.Probes = r.tokenProbes(base)
	}
	resp, _ := r.postEnroll(base, es.body, es.contentType, es.token, "enrollment request with the access token", false)
	es.second = resp
	o.Answer = check.TokenAnswer{Status: resp.status, Bytes: len(resp.body)}
	if resp.status == 0 {
		o.Answer.Err = fmt.Sprint(resp.err)
	}
	// A transport failure is not a refusal: the token is judged on the
	// status only when one came, and a 200 whose body broke off is a
	// transport matter, never a token one. A body over the read cap did
	// come: the profile step and SEC-003 judge it.
	if why := unjudgeable(resp, r.lim.Timeout, "profile body"); why != "" && !resp.tooLarge {
		o.Answer.Unjudgeable = why
	}
	if es.tokenRaw != "" {
		dec, err := url.PathUnescape(es.tokenRaw)
		o.Callback = &check.CallbackToken{Differs: dec != es.tokenRaw}
		if err != nil {
			o.Callback.DecodeErr = err.Error()
		}
	}
	if o.RefreshToken && o.Enrolled() {
		o.Refresh = r.refreshGrant()
	}
	r.judged(check.JudgeEnrollToken(o))
	r.judged(check.JudgeEnrollAnswer(o))
	r.judged(check.JudgeEnrollAuth(o))
	if why := o.Answer.Unjudgeable; why != "" {
		return &stop{event.OutcomeError, "the enrollment request with the token could not be judged: " + why}, event.StepError, why
	}
	if r.oauth != nil {
		r.codeReuseProbe(r.oauth.code)
	}
	if !o.Enrolled() {
		msg := "the enrollment request with the token was refused: " + o.Answer.Actual()
		if resp.status == http.StatusUnauthorized {
			msg += " (devices give up here: there is no second challenge round)"
		}
		return &stop{event.OutcomeEnrollFailed, msg}, event.StepFailed, msg
	}
	return nil, event.StepOK, "200 " + resp.header.Get("Content-Type")
}

// refreshGrant is the refresh a device makes after enrollment: what the
// token endpoint answered. A device goes on with what the refresh gave:
// servers may rotate refresh tokens (RFC 6749 §10.4), and a later silent
// refresh (§2.14) must not present a spent one.
func (r *runner) refreshGrant() *check.Grant {
	os := r.oauth
	p := r.enroll.challenge.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {os.refreshToken}, "client_id": {p["client-id"]}}, "refresh grant", false)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		return &check.Grant{Status: tr.status, Unjudgeable: why}
	}
	tok, refresh, problems := parseTokenResponse(tr)
	if tok != "" {
		r.red.Add(tok)
	}
	if refresh != "" {
		r.red.Add(refresh)
	}
	if tr.status == http.StatusOK && len(problems) == 0 {
		r.enroll.token = tok
		if refresh != "" {
			os.refreshToken = refresh
		}
	}
	return &check.Grant{Status: tr.status, Problems: problems}
}

// unjudgeable says why resp cannot be judged as the server's answer, or ""
// when it can: no status at all (refused, reset, the simulator's timeout;
// a failed TLS handshake is the server's, see tlsFailure), or a 200 whose
// body did not arrive whole or passed the simulator's read cap (the cap is
// the tester's, so it names it). A refusal whose body broke off is still a
// refusal, and is judged.
func unjudgeable(resp *response, timeout time.Duration, body string) string {
	switch {
	case resp.status == 0 && tlsFailure(resp.err):
		return "" // the device could not connect either: the server's finding
	case resp.status == 0 && resp.timeout:
		return fmt.Sprintf("no answer within the simulator's %s timeout (raise --timeout to judge)", timeout)
	case resp.status == 0:
		return fmt.Sprintf("no answer: %v", resp.err)
	case resp.rateLimited != "":
		return resp.rateLimited
	case resp.status != http.StatusOK:
		return ""
	case resp.tooLarge:
		return fmt.Sprintf("the server answered 200, but the %s is larger than the simulator's %s read limit", body, byteSize(int64(len(resp.body))))
	case resp.timeout:
		return fmt.Sprintf("the server answered 200, but the %s did not complete within %s (the simulator's --timeout; %d bytes had arrived)", body, timeout, len(resp.body))
	case resp.err != nil:
		cause := errors.Unwrap(resp.err)
		if cause == nil {
			cause = resp.err
		}
		return fmt.Sprintf("the server answered 200, but the %s broke off after %d bytes: %v", body, len(resp.body), cause)
	}
	return ""
}

// tokenProbes are TOK-002/003: the same POST with no token (the first
// POST's answer), a malformed header, another scheme and a random token.
func (r *runner) tokenProbes(base string) []check.TokenProbe {
	es := r.enroll
	random := make([]byte, 32)
	rand.Read(random)
	variants := []struct{ what, header string }{
		{"a malformed Authorization header", "Bearer"},
		{"another scheme", "Basic ZW5yb2xsc2ltOnByb2Jl"},
		{"a random token", "Bearer " + base64.RawURLEncoding.EncodeToString(random)},
	}
	saw := func(what string, p *response) check.TokenProbe {
		tp := check.TokenProbe{What: what, Status: p.status, Challenged: hasChallenge(p.header)}
		if p.status == 0 {
			tp.NoAnswer = unjudgeable(p, r.lim.Timeout, "body")
		}
		return tp
	}
	out := []check.TokenProbe{saw("no token", es.first)}
	for _, v := range variants {
		h := r.enrollHeaders(es.contentType, "")
		h.Set("Authorization", v.header)
		p := r.do(request{method: http.MethodPost, url: base, header: h, body: es.body, purpose: "probe TOK-002: " + v.what, probe: true, limit: r.lim.ProfileBody})
		out = append(out, saw(v.what, p))
	}
	return out
}

// tlsFailure reports a TLS handshake that failed on the server's side (an
// old protocol version, a certificate no device accepts, plain HTTP on the
// TLS port): a device cannot connect either, so that is a finding about the
// server, not a gap in what the tester saw.
func tlsFailure(err error) bool {
	if err == nil {
		return false
	}
	var (
		verify  *tls.CertificateVerificationError
		alert   tls.AlertError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		record  tls.RecordHeaderError
	)
	if _, refused := ats.Refused(err); refused {
		return true // a device refuses the server's TLS: the server's finding
	}
	return errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &unknown) || errors.As(err, &host) ||
		errors.As(err, &invalid) || errors.As(err, &record) || strings.Contains(err.Error(), "tls: ")
}
