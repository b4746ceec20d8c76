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
)

// enrollWithToken is step 12 (§2.10): the same POST with the token. Tokens
// may be single-use (Fleet consumes them here), so the negative probes go
// first and the real token is sent exactly once.
func (r *runner) enrollWithToken() (*stop, StepStatus, string) {
	es := r.enroll
	base := r.discovery.baseURL
	if !r.c.NoProbes {
		r.tokenProbes(base)
	} else {
		r.skipAll("probes are off (--no-probes)", "TOK-002", "TOK-003")
	}
	resp, _ := r.postEnroll(base, es.body, es.contentType, es.token, "enrollment request with the access token", false)
	es.second = resp
	// A transport failure is not a refusal: the token is judged on the
	// status only when one came, and a 200 whose body broke off is a
	// transport matter, never a token one. A body over the read cap did
	// come: the profile step and SEC-003 judge it.
	if why := unjudgeable(resp, r.lim.Timeout, "profile body"); why != "" && !resp.tooLarge {
		r.cannotJudge("TOK-001", why)
		r.cannotJudge("PROF-001", why)
		if resp.status == http.StatusOK {
			r.judgeTokenEncoding(resp)
		} else {
			r.skip("AUTH-005", "the enrollment request with the token got no answer")
		}
		return &stop{OutcomeError, "the enrollment request with the token could not be judged: " + why}, StepError, why
	}
	ok := resp.status == http.StatusOK && len(resp.body) > 0
	actual := fmt.Sprintf("status %d, %d bytes", resp.status, len(resp.body))
	if resp.status == 0 {
		actual = fmt.Sprint(resp.err)
	}
	r.check("TOK-001", ok, "200 with the profile for the Bearer token", actual)
	r.check("PROF-001", resp.status == http.StatusOK && len(resp.body) > 0, "200 with a non-empty body", actual)
	r.judgeTokenEncoding(resp)
	if !ok {
		msg := "the enrollment request with the token was refused: " + actual
		if resp.status == http.StatusUnauthorized {
			msg += " (devices give up here: there is no second challenge round)"
		}
		if r.oauth != nil {
			r.skip("AUTH-015", "no enrollment to refresh")
			r.codeReuseProbe(r.oauth.code)
		}
		return &stop{OutcomeEnrollFailed, msg}, StepFailed, msg
	}
	r.refreshProbe()
	if r.oauth != nil {
		r.codeReuseProbe(r.oauth.code)
	}
	return nil, StepOK, "200 " + resp.header.Get("Content-Type")
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

// tokenProbes are TOK-002/003: no token, a malformed header and a random
// token must all be refused, with a challenge or a 400/403, never a 5xx.
func (r *runner) tokenProbes(base string) {
	es := r.enroll
	random := make([]byte, 32)
	rand.Read(random)
	variants := []struct{ what, header string }{
		{"a malformed Authorization header", "Bearer"},
		{"another scheme", "Basic ZW5yb2xsc2ltOnByb2Jl"},
		{"a random token", "Bearer " + base64.RawURLEncoding.EncodeToString(random)},
	}
	var accepted, badRefusal, unanswered []string
	judgeOne := func(what string, p *response) {
		switch {
		case p.status == http.StatusOK:
			accepted = append(accepted, what)
		case p.status == 0:
			// Not the server's refusal: the tester cannot say what it was.
			unanswered = append(unanswered, what+": "+unjudgeable(p, r.lim.Timeout, "body"))
		case p.status == http.StatusUnauthorized && !hasChallenge(p.header):
			badRefusal = append(badRefusal, what+": 401 without a challenge")
		case p.status >= 500:
			badRefusal = append(badRefusal, fmt.Sprintf("%s: %d", what, p.status))
		}
	}
	judgeOne("no token", es.first)
	for _, v := range variants {
		h := r.enrollHeaders(es.contentType, "")
		h.Set("Authorization", v.header)
		p := r.do(request{method: http.MethodPost, url: base, header: h, body: es.body, purpose: "probe TOK-002: " + v.what, probe: true, limit: r.lim.ProfileBody})
		judgeOne(v.what, p)
	}
	if len(accepted) == 0 && len(unanswered) > 0 {
		r.cannotJudge("TOK-002", strings.Join(unanswered, "; "))
	} else {
		r.check("TOK-002", len(accepted) == 0, "an error status without a valid token", "200 for "+strings.Join(accepted, ", "))
	}
	if len(badRefusal) == 0 && len(unanswered) > 0 {
		r.cannotJudge("TOK-003", strings.Join(unanswered, "; "))
	} else {
		r.check("TOK-003", len(badRefusal) == 0, "401 with a fresh challenge, or 400/403; never a 5xx", strings.Join(badRefusal, "; "))
	}
}

// judgeTokenEncoding is AUTH-005: the token in the callback decodes to the
// token the server accepts. A refused token whose encoded and decoded forms
// differ points at the encoding.
func (r *runner) judgeTokenEncoding(resp *response) {
	es := r.enroll
	if es.tokenRaw == "" {
		r.skip("AUTH-005", "the token did not come in a callback URL")
		return
	}
	if resp.status == http.StatusOK {
		r.check("AUTH-005", true, "", "")
		return
	}
	dec, err := url.PathUnescape(es.tokenRaw)
	switch {
	case err != nil:
		r.check("AUTH-005", false, "a correctly percent-encoded access-token", "the access-token is not valid percent-encoding: "+err.Error())
	case dec != es.tokenRaw && (resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden):
		r.check("AUTH-005", false, "an access-token that decodes to the token the server accepts",
			fmt.Sprintf("the server refused the decoded token (%d); the callback's form differs from it (unescaped '+' or '%%' in the token?)", resp.status))
	default:
		r.skip("AUTH-005", "the token was refused, but not because of its encoding")
	}
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
