package sim

import (
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// oauthState is what the OAuth 2 flow learned.
type oauthState struct {
	state, code  string
	tokenURL     string
	refreshToken string
}

func newState() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]))
}

// authorizeURL keeps the authorization-url's own query and adds the
// parameters in the iOS 26.1 client's order; no PKCE (§2.8).
func (r *runner) authorizeURL(state string) (string, error) {
	p := r.enroll.challenge.Params
	u, err := url.Parse(p["authorization-url"])
	if err != nil {
		return "", err
	}
	items := []string{
		"response_type=code",
		"client_id=" + url.QueryEscape(p["client-id"]),
		"redirect_uri=" + url.QueryEscape(p["redirect-url"]),
	}
	if p["scope"] != "" {
		items = append(items, "scope="+url.QueryEscape(p["scope"]))
	}
	items = append(items, "state="+state, "login_hint="+queryValue(r.c.Account.Identifier))
	q := strings.Join(items, "&")
	if u.RawQuery != "" {
		q = u.RawQuery + "&" + q
	}
	u.RawQuery = q
	return u.String(), nil
}

// oauth2 is steps 6–13 for apple-oauth2: authorization code flow, then the
// token request without client authentication, then the probes; the
// judges come last, in the order they were always reported.
func (r *runner) oauth2() (*stop, event.StepStatus, string) {
	es := r.enroll
	p := es.challenge.Params
	os := &oauthState{state: newState(), tokenURL: p["token-url"]}
	r.oauth = os
	start, err := r.authorizeURL(os.state)
	if err != nil {
		return &stop{event.OutcomeAuthFailed, "authorization-url does not parse: " + err.Error()}, event.StepFailed, err.Error()
	}
	// The turn spans the device's sign-in and the probes (totpLedger).
	release, err := r.takeTurn()
	if err != nil {
		return &stop{event.OutcomeInterrupted, "interrupted while waiting to sign in"}, event.StepError, err.Error()
	}
	defer release()
	lr := r.deviceLogin(start, "authorize", func() (string, error) {
		c, err := r.freshChallenge()
		if err != nil {
			return "", err
		}
		es.challenge, os.state = c, newState()
		return r.authorizeURL(os.state)
	})
	s := newSignIn(r.c, r.lim.Timeout, lr)
	s.OAuth, s.RedirectURL, s.State = true, p["redirect-url"], os.state
	r.obs.SignIn = s
	cb, bad := lr.callback(), check.OAuthCallbackProblems(s)
	var refresh string
	if cb != nil {
		q, _ := foundationQuery(cb.RawQuery)
		os.code = q.Get("code")
	}
	if cb != nil && bad == nil {
		tr := r.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {os.code}, "redirect_uri": {p["redirect-url"]}, "client_id": {p["client-id"]}}, "token request", false)
		s.Token, refresh = tokenAnswer(tr, r.lim.Timeout)
		if s.Token.Unjudgeable == "" {
			r.red.Add(s.Token.AccessToken)
			r.red.Add(refresh)
		}
	}
	s.Probes = r.authProbes(lr.start, lr)
	if s.Token != nil && !check.TokenIssued(s.Token) && !r.c.NoProbes {
		// Redeeming a code twice may revoke what it issued (RFC 6749
		// §4.1.2), so after a success the probe waits until enrollment is
		// done; here nothing is left to spoil.
		s.Reuse = r.redeemAgain(os.code)
	}
	judgeOAuth(s, r.judged)
	st, status, msg := oauthOutcome(lr, s, bad)
	if st == nil {
		es.token, os.refreshToken = s.Token.AccessToken, refresh
	}
	return st, status, msg
}

// judgeOAuth calls the sign-in's judges in the order of the oauth2 step's
// report: AUTH, TOTP (the code), AUTH, TOTP (the probes), AUTH (the code
// redeemed again); the token request's judges come before the code's when
// no callback came.
func judgeOAuth(s *check.SignIn, emit func(*check.Verdicts)) {
	js := []func(*check.SignIn) *check.Verdicts{check.JudgeSignInPages, check.JudgeAuthorization, check.JudgeOAuthCallback}
	issued := check.TokenIssued(s.Token)
	switch {
	case !s.Login.HasCallback():
		js = append(js, check.JudgeTokenRequest, check.JudgeCodeReuse, check.JudgeSecondFactor, check.JudgeWrongPassword, check.JudgeCodeProbes)
	case s.Token == nil:
		js = append(js, check.JudgeSecondFactor, check.JudgeTokenRequest, check.JudgeCodeReuse, check.JudgeWrongPassword, check.JudgeCodeProbes)
	case issued:
		js = append(js, check.JudgeSecondFactor, check.JudgeTokenRequest, check.JudgeWrongPassword, check.JudgeCodeProbes)
	default:
		js = append(js, check.JudgeSecondFactor, check.JudgeTokenRequest, check.JudgeWrongPassword, check.JudgeCodeProbes, check.JudgeCodeReuse)
	}
	for _, j := range js {
		emit(j(s))
	}
}

// oauthOutcome is the oauth2 step's status: whether the device holds an
// access token, and if not whose doing that is.
func oauthOutcome(lr *loginRun, s *check.SignIn, bad []string) (*stop, event.StepStatus, string) {
	tr := s.Token
	switch {
	case !s.Login.HasCallback() && lr.transport != "":
		why := "the authorization could not be judged: " + lr.transport
		return &stop{event.OutcomeError, why}, event.StepError, why
	case !s.Login.HasCallback() && (lr.atLimit() || lr.untestable()):
		why := loginFailure(lr)
		return &stop{event.OutcomeError, why}, event.StepError, why
	case !s.Login.HasCallback():
		why := loginFailure(lr)
		return &stop{event.OutcomeAuthFailed, why}, event.StepFailed, why
	case bad != nil:
		msg := "the device refuses the authorization response: " + strings.Join(bad, "; ")
		return &stop{event.OutcomeAuthFailed, msg}, event.StepFailed, msg
	case tr.Unjudgeable != "":
		return &stop{event.OutcomeError, "the token request could not be judged: " + tr.Unjudgeable}, event.StepError, tr.Unjudgeable
	case !check.TokenIssued(tr):
		msg := "the token request failed: " + firstNonEmpty(strings.Join(tr.Problems, "; "), fmt.Sprintf("status %d", tr.Status))
		return &stop{event.OutcomeAuthFailed, msg}, event.StepFailed, msg
	}
	return nil, event.StepOK, "authorized with a code; the token endpoint issued a Bearer access token" + lr.driverNote()
}

// tokenAnswer is what the device reads of a token endpoint's answer, and
// the refresh token it carries.
func tokenAnswer(tr *response, timeout time.Duration) (*check.TokenReply, string) {
	a := &check.TokenReply{Unjudgeable: unjudgeable(tr, timeout, "token response"), Status: tr.status, Excerpt: excerpt(tr.body, 200),
		CacheControl: tr.header.Get("Cache-Control"), MentionsPKCE: check.MentionsPKCE(tr.body)}
	var refresh string
	a.AccessToken, refresh, a.Problems = parseTokenResponse(tr)
	var m map[string]any
	note, err := unmarshalServerJSON(tr.body, &m)
	a.JSON, a.JSONNote = err == nil, note
	a.Error, _ = m["error"].(string)
	return a, refresh
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// tokenRequest posts a form to token-url like the device: no client
// authentication, no code_verifier.
func (r *runner) tokenRequest(form url.Values, purpose string, probe bool) *response {
	h := http.Header{}
	h.Set("Content-Type", ctForm)
	h.Set("Accept", "application/json")
	h.Set("User-Agent", r.c.Device.UserAgent())
	return r.do(request{method: http.MethodPost, url: r.oauth.tokenURL, header: h, body: []byte(form.Encode()), purpose: purpose, probe: probe, limit: r.lim.DiscoveryBody})
}

// parseTokenResponse reads a token response as the iOS 26.1 client does.
func parseTokenResponse(tr *response) (access, refresh string, problems []string) {
	if tr.status == 0 {
		return "", "", []string{fmt.Sprint(tr.err)}
	}
	var m map[string]any
	if _, err := unmarshalServerJSON(tr.body, &m); err != nil {
		return "", "", []string{"not a JSON object: " + err.Error()}
	}
	if tt, _ := m["token_type"].(string); !strings.EqualFold(tt, "Bearer") {
		problems = append(problems, fmt.Sprintf("token_type %v", m["token_type"]))
	}
	access, _ = m["access_token"].(string)
	if access == "" {
		problems = append(problems, "no access_token string")
	}
	if v, ok := m["expires_in"]; ok {
		f, isNum := v.(float64)
		if !isNum || f != math.Trunc(f) {
			problems = append(problems, fmt.Sprintf("expires_in %v is not an integer", v))
		}
	}
	if v, ok := m["refresh_token"]; ok {
		s, isStr := v.(string)
		if !isStr {
			problems = append(problems, "refresh_token is not a string")
		}
		refresh = s
	}
	return access, refresh, problems
}

// codeReuseProbe redeems the code a second time (AUTH-014) and judges the
// error answer's form (AUTH-016); the enroll step calls it after
// enrollment.
func (r *runner) codeReuseProbe(code string) {
	s := signInSeen(&r.obs, r.oauth != nil, r.c.NoProbes)
	if !r.c.NoProbes {
		s.Reuse = r.redeemAgain(code)
	}
	r.judged(check.JudgeCodeReuse(s))
}

// redeemAgain is the probe of AUTH-014: the same code again.
func (r *runner) redeemAgain(code string) *check.TokenReply {
	p := r.enroll.challenge.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p["redirect-url"]}, "client_id": {p["client-id"]}}, "probe AUTH-014: the same code again", true)
	a, _ := tokenAnswer(tr, r.lim.Timeout)
	if a.Unjudgeable != "" {
		return &check.TokenReply{Unjudgeable: a.Unjudgeable}
	}
	r.red.Add(a.AccessToken)
	return a
}

// signInSeen is the sign-in's observation, for the probes the enroll step
// makes after it (a fresh one should no sign-in have observed).
func signInSeen(o *check.Observations, oauth, noProbes bool) *check.SignIn {
	if o.SignIn == nil {
		o.SignIn = &check.SignIn{OAuth: oauth, NoProbes: noProbes}
	}
	return o.SignIn
}
