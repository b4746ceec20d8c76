package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// Re-authentication (§2.14). An account-driven enrollment's access token
// can be invalidated by the server at any time; the server then answers an
// MDM request with 401 and the same WWW-Authenticate Bearer challenge as
// the enrollment's first POST, and the device signs in again: with OAuth 2
// it first tries a silent refresh, else it shows the sign-in again. A bare
// 401 instead removes the profile (plain MDM rule), and a 403
// com.apple.unrecognized.device asks the device to unenroll.

// reauthOutcome is what signing in again achieved.
type reauthOutcome struct {
	ok  bool
	how string // "silent refresh", "sign-in", "authorization"
	// why says what went wrong when !ok; blame says it is the server's
	// doing (a refused sign-in), not the tester's (its timeout).
	why   string
	blame bool
}

// challengeOf is the Bearer challenge of a 401, nil for a bare 401.
func challengeOf(resp *response) *Challenge {
	if resp == nil || resp.status != http.StatusUnauthorized {
		return nil
	}
	cs, _ := ParseChallenges(resp.header.Values("WWW-Authenticate"))
	var first *Challenge
	for _, c := range cs {
		if !c.isBearer() || c.Method() == "" {
			continue
		}
		// As at the first POST (ENR-006), the device takes the first
		// challenge whose method it knows.
		if m := c.Method(); m == "apple-as-web" || m == "apple-oauth2" {
			return c
		}
		if first == nil {
			first = c
		}
	}
	return first
}

// unenrollAsked reports whether resp is Apple's explicit request to
// unenroll: 403 with {"code":"com.apple.unrecognized.device"}.
func unenrollAsked(resp *response) bool {
	if resp == nil || resp.status != http.StatusForbidden {
		return false
	}
	rej := parseRejection(resp)
	return rej != nil && rej.code == "com.apple.unrecognized.device"
}

// reauthenticate signs in again after resp, a 401 with challenge ch, and
// leaves the new access token in r.enroll.token.
func (r *runner) reauthenticate(ch *Challenge, purpose string) reauthOutcome {
	if r.oauth != nil && r.oauth.refreshToken != "" {
		if out := r.silentRefresh(purpose); out.ok {
			return out
		}
	}
	release, err := r.takeTurn()
	if err != nil {
		return reauthOutcome{why: "interrupted while waiting to sign in again"}
	}
	defer release()
	switch ch.Method() {
	case "apple-as-web":
		return r.signInAgain(ch, purpose)
	case "apple-oauth2":
		return r.authorizeAgain(ch, purpose)
	}
	return reauthOutcome{why: fmt.Sprintf("the challenge's method %q is none a device knows", ch.Method()), blame: true}
}

// silentRefresh is the OAuth 2 device's first try: the refresh grant, no
// user in the loop.
func (r *runner) silentRefresh(purpose string) reauthOutcome {
	os := r.oauth
	p := r.enroll.challenge.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {os.refreshToken}, "client_id": {p["client-id"]}}, purpose+": silent refresh", false)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		return reauthOutcome{why: why}
	}
	tok, refresh, problems := parseTokenResponse(tr)
	if tok != "" {
		r.red.Add(tok)
	}
	if refresh != "" {
		r.red.Add(refresh)
	}
	if tr.status != http.StatusOK || tok == "" {
		return reauthOutcome{why: fmt.Sprintf("the refresh grant got %d %s", tr.status, strings.Join(problems, "; ")), blame: true}
	}
	r.enroll.token = tok
	if refresh != "" {
		os.refreshToken = refresh
	}
	return reauthOutcome{ok: true, how: "silent refresh"}
}

// signInAgain plays the apple-as-web sign-in at the challenge's url with
// the driver that signed in first.
func (r *runner) signInAgain(ch *Challenge, purpose string) reauthOutcome {
	raw := ch.Params["url"]
	if raw == "" {
		return reauthOutcome{why: "the challenge has no url", blame: true}
	}
	if r.driver == nil {
		r.driver = weblogin.Form
	}
	lr := r.deviceLoginWith(loginURL(r.c, raw), purpose+": sign in again")
	cb := lr.callback()
	if cb == nil {
		return loginFailed(lr)
	}
	q, _ := foundationQuery(cb.RawQuery)
	tok := q.Get("access-token")
	if tok == "" {
		return reauthOutcome{why: "the callback after signing in again has no access-token", blame: true}
	}
	r.red.Add(tok)
	r.enroll.token = tok
	return reauthOutcome{ok: true, how: "sign-in"}
}

// authorizeAgain plays the OAuth 2 authorization code flow again, from the
// new challenge's parameters.
func (r *runner) authorizeAgain(ch *Challenge, purpose string) reauthOutcome {
	if r.driver == nil {
		r.driver = weblogin.Form
	}
	prev := r.enroll.challenge
	r.enroll.challenge = ch
	os := r.oauth
	if os == nil {
		os = &oauthState{}
		r.oauth = os
	}
	os.state, os.tokenURL = newState(), ch.Params["token-url"]
	start, err := r.authorizeURL(os.state)
	if err != nil {
		r.enroll.challenge = prev
		return reauthOutcome{why: "the challenge's authorization-url does not parse: " + err.Error(), blame: true}
	}
	lr := r.deviceLoginWith(start, purpose+": authorize again")
	cb := lr.callback()
	if cb == nil {
		return loginFailed(lr)
	}
	q, _ := foundationQuery(cb.RawQuery)
	if q.Get("state") != os.state || q.Get("code") == "" {
		return reauthOutcome{why: "the authorization response after signing in again has no code or another state", blame: true}
	}
	p := ch.Params
	tr := r.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {p["redirect-url"]}, "client_id": {p["client-id"]}}, purpose+": token request", false)
	if why := unjudgeable(tr, r.lim.Timeout, "token response"); why != "" {
		return reauthOutcome{why: why}
	}
	tok, refresh, problems := parseTokenResponse(tr)
	if tok != "" {
		r.red.Add(tok)
	}
	if refresh != "" {
		r.red.Add(refresh)
		os.refreshToken = refresh
	}
	if tr.status != http.StatusOK || tok == "" {
		return reauthOutcome{why: fmt.Sprintf("the token request after signing in again got %d %s", tr.status, strings.Join(problems, "; ")), blame: true}
	}
	r.enroll.token = tok
	return reauthOutcome{ok: true, how: "authorization"}
}

// loginFailed says why a sign-in again gave no callback, and whose doing
// that is.
func loginFailed(lr *loginRun) reauthOutcome {
	if lr.transport != "" {
		return reauthOutcome{why: "signing in again could not be judged: " + lr.transport}
	}
	why := "signing in again failed: " + loginFailure(lr)
	return reauthOutcome{why: why, blame: !lr.atLimit() && !lr.untestable()}
}
