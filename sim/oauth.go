package sim

import (
	"crypto/rand"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
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

func mentionsPKCE(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "code_challenge") || strings.Contains(s, "pkce") || strings.Contains(s, "code_verifier")
}

// oauth2 is steps 6–13 for apple-oauth2: authorization code flow, then the
// token request without client authentication.
func (r *runner) oauth2() (*stop, StepStatus, string) {
	es := r.enroll
	p := es.challenge.Params
	os := &oauthState{state: newState(), tokenURL: p["token-url"]}
	r.oauth = os
	start, err := r.authorizeURL(os.state)
	if err != nil {
		return &stop{OutcomeAuthFailed, "authorization-url does not parse: " + err.Error()}, StepFailed, err.Error()
	}
	// The turn spans the device's sign-in and the probes (totpLedger).
	release, err := r.takeTurn()
	if err != nil {
		return &stop{OutcomeInterrupted, "interrupted while waiting to sign in"}, StepError, err.Error()
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
	start = lr.start
	r.judgeLoginPages(lr, true)

	pkce := false
	for _, pg := range lr.pages {
		if pg.status == http.StatusBadRequest && mentionsPKCE(pg.body) {
			pkce = true
		}
	}
	if first := lr.firstPage(); pkce {
		r.skip("AUTH-009", "the authorization endpoint refused for want of PKCE (AUTH-010)")
	} else if first == nil && lr.transport != "" {
		r.cannotJudge("AUTH-009", "the authorization endpoint could not be read: "+lr.transport)
	} else if first == nil || first.status >= 400 {
		actual := "no answer"
		if first != nil {
			actual = fmt.Sprintf("status %d", first.status)
		}
		r.check("AUTH-009", false, "the authorization endpoint accepts response_type, client_id, redirect_uri, scope, state, login_hint and its own query", actual)
	} else {
		r.check("AUTH-009", true, "", "")
	}

	cb := lr.callback()
	if cb == nil {
		r.skipAll("no callback", "AUTH-004", "AUTH-011")
		if pkce {
			r.check("AUTH-010", false, "no PKCE required (devices send no code_challenge)", "the authorization endpoint refused without code_challenge")
		} else {
			r.skip("AUTH-010", "the authorization did not complete")
		}
		r.skipAll("no authorization code", "AUTH-007", "AUTH-008", "AUTH-012", "AUTH-013", "AUTH-014", "AUTH-016")
		r.judgeSecondFactor(lr, false)
		r.oauthProbes(start, lr)
		if lr.transport != "" {
			why := "the authorization could not be judged: " + lr.transport
			return &stop{OutcomeError, why}, StepError, why
		}
		why := loginFailure(lr)
		if lr.atLimit() || lr.untestable() {
			return &stop{OutcomeError, why}, StepError, why
		}
		return &stop{OutcomeAuthFailed, why}, StepFailed, why
	}
	q, _ := foundationQuery(cb.RawQuery)
	os.code = q.Get("code")
	r.judgeRepeatedItems("AUTH-011", q, "code", "state")
	var bad []string
	if !strings.HasPrefix(cb.String(), p["redirect-url"]) {
		bad = append(bad, "does not start with the redirect-url")
	}
	if os.code == "" {
		bad = append(bad, "no code")
	}
	if got := q.Get("state"); got != os.state {
		bad = append(bad, fmt.Sprintf("state %q instead of the %q sent", got, os.state))
	}
	r.check("AUTH-011", len(bad) == 0 && callbackDelivered(lr.res), "a 3xx to redirect-url with code and the unchanged state (or a navigation to it)",
		fmt.Sprintf("%s: %s", callbackHow(lr.res), strings.Join(bad, "; ")))
	r.judgeCallbackStatus(lr)
	r.judgeSecondFactor(lr, true)
	if len(bad) > 0 {
		r.skipAll("the callback was refused", "AUTH-007", "AUTH-008", "AUTH-010", "AUTH-012", "AUTH-013", "AUTH-014", "AUTH-016")
		r.oauthProbes(start, lr)
		msg := "the device refuses the authorization response: " + strings.Join(bad, "; ")
		return &stop{OutcomeAuthFailed, msg}, StepFailed, msg
	}
	noStore := strings.Contains(strings.ToLower(lr.res.CallbackHeader.Get("Cache-Control")), "no-store")

	tr := r.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {os.code}, "redirect_uri": {p["redirect-url"]}, "client_id": {p["client-id"]}}, "token request", false)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		// No answer is not a refused code: the tester cannot judge.
		for _, id := range []string{"AUTH-010", "AUTH-012", "AUTH-008", "AUTH-013"} {
			r.cannotJudge(id, why)
		}
		r.skip("AUTH-007", "no access token")
		r.oauthProbes(start, lr)
		r.codeReuseProbe(os.code)
		return &stop{OutcomeError, "the token request could not be judged: " + why}, StepError, why
	}
	if tr.status == http.StatusBadRequest && mentionsPKCE(tr.body) {
		r.check("AUTH-010", false, "no PKCE required (devices send no code_verifier)", "the token endpoint asked for code_verifier")
	} else {
		r.check("AUTH-010", true, "", "")
	}
	r.check("AUTH-012", tr.status == http.StatusOK, "200 to the token request without client authentication", fmt.Sprintf("status %d %s", tr.status, excerpt(tr.body, 200)))
	noStore = noStore && strings.Contains(strings.ToLower(tr.header.Get("Cache-Control")), "no-store")
	r.check("AUTH-008", noStore, "Cache-Control: no-store on the code redirect and the token response",
		fmt.Sprintf("redirect %q, token response %q", lr.res.CallbackHeader.Get("Cache-Control"), tr.header.Get("Cache-Control")))
	tok, refresh, problems := parseTokenResponse(tr)
	if tok != "" {
		r.red.Add(tok)
	}
	if refresh != "" {
		r.red.Add(refresh)
	}
	const tokenJSON = `JSON with token_type "Bearer", a non-empty access_token, integer expires_in, string refresh_token`
	if _, note := JSONText(tr.body); tr.status == http.StatusOK && len(problems) == 0 && note != "" {
		// The device reads it (NSJSONSerialization), so the token works.
		r.report(docWarning("AUTH-013", tokenJSON+", in UTF-8 without a byte-order mark", note))
	} else if tr.status == http.StatusOK {
		r.check("AUTH-013", len(problems) == 0, tokenJSON, strings.Join(problems, "; "))
	} else {
		r.skip("AUTH-013", "the token request failed")
	}
	ok := tr.status == http.StatusOK && len(problems) == 0
	if ok {
		es.token, os.refreshToken = tok, refresh
		r.judgeTokenEntropy(tok)
	} else {
		r.skip("AUTH-007", "no access token")
	}
	r.oauthProbes(start, lr)
	if !ok {
		// Redeeming a code twice may revoke what it issued (RFC 6749
		// §4.1.2), so after a success the probe waits until enrollment is
		// done; here nothing is left to spoil.
		r.codeReuseProbe(os.code)
		msg := "the token request failed: " + firstNonEmpty(strings.Join(problems, "; "), fmt.Sprintf("status %d", tr.status))
		return &stop{OutcomeAuthFailed, msg}, StepFailed, msg
	}
	return nil, StepOK, "authorized with a code; the token endpoint issued a Bearer access token" + lr.driverNote()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (r *runner) oauthProbes(start string, lr *loginRun) {
	if r.c.NoProbes {
		r.skipAll("probes are off (--no-probes)", "AUTH-006", "TOTP-003", "TOTP-004", "TOTP-005")
		return
	}
	r.authProbes(start, lr)
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
// error answer's form (AUTH-016).
func (r *runner) codeReuseProbe(code string) {
	if r.c.NoProbes {
		r.skipAll("probes are off (--no-probes)", "AUTH-014", "AUTH-016")
		return
	}
	p := r.enroll.challenge.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p["redirect-url"]}, "client_id": {p["client-id"]}}, "probe AUTH-014: the same code again", true)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		r.cannotJudge("AUTH-014", why)
		r.cannotJudge("AUTH-016", why)
		return
	}
	var m map[string]any
	note, jerr := unmarshalServerJSON(tr.body, &m)
	isJSON := jerr == nil
	errCode, _ := m["error"].(string)
	issued, _ := m["access_token"].(string)
	if issued != "" {
		r.red.Add(issued)
	}
	switch {
	case tr.status == http.StatusOK && issued != "":
		r.check("AUTH-014", false, "a redeemed code is refused (400 invalid_grant)", "the second redemption got another access token")
		r.skip("AUTH-016", "no error answer to judge")
		return
	default:
		r.check("AUTH-014", true, "", "")
	}
	switch {
	case tr.status == http.StatusOK:
		r.check("AUTH-016", false, "a non-200 status with an RFC 6749 error body", fmt.Sprintf("200 with %s", excerpt(tr.body, 200)))
	case !isJSON || errCode == "":
		r.check("AUTH-016", false, `a JSON body {"error": "..."} (RFC 6749 §5.2)`, fmt.Sprintf("%d %s", tr.status, excerpt(tr.body, 200)))
	case note != "":
		r.report(docWarning("AUTH-016", `a JSON body {"error": "..."} (RFC 6749 §5.2) in UTF-8 without a byte-order mark`, note))
	default:
		r.check("AUTH-016", true, "", "")
	}
}

// refreshProbe is AUTH-015: the refresh grant gives a new access token. It
// runs after enrollment, when a device would refresh silently.
func (r *runner) refreshProbe() {
	os := r.oauth
	if os == nil {
		r.skip("AUTH-015", "not an OAuth 2 enrollment")
		return
	}
	if os.refreshToken == "" {
		r.skip("AUTH-015", "the token response had no refresh_token")
		return
	}
	p := r.enroll.challenge.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {os.refreshToken}, "client_id": {p["client-id"]}}, "refresh grant", false)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		r.cannotJudge("AUTH-015", why)
		return
	}
	tok, refresh, problems := parseTokenResponse(tr)
	if tok != "" {
		r.red.Add(tok)
	}
	if refresh != "" {
		r.red.Add(refresh)
	}
	ok := tr.status == http.StatusOK && len(problems) == 0
	actual := fmt.Sprintf("status %d", tr.status)
	if len(problems) > 0 {
		actual += ": " + strings.Join(problems, "; ")
	}
	r.check("AUTH-015", ok, "200 with a new access token for grant_type=refresh_token", actual)
	if ok {
		// The device goes on with what the refresh gave: servers may
		// rotate refresh tokens (RFC 6749 §10.4), and a later silent
		// refresh (§2.14) must not present a spent one.
		r.enroll.token = tok
		if refresh != "" {
			os.refreshToken = refresh
		}
	}
}
