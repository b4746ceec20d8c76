package check

import (
	"fmt"
	"strings"
)

// OAuth 2's AUTH judges, in the order the oauth2 step calls them: the
// authorization endpoint, the callback, (the second factor,) the token
// request, (the probes,) the second redemption of the code; the enroll step
// calls the reuse and refresh judges after enrollment.
func init() {
	register(Judge{Group: "AUTH", Reads: "oauth2 authorization", Owns: []string{"AUTH-009"}, Run: runOAuth(JudgeAuthorization)})
	register(Judge{Group: "AUTH", Reads: "oauth2 callback", Owns: oauthCallbackOwns, Run: runOAuth(JudgeOAuthCallback)})
	register(Judge{Group: "AUTH", Reads: "oauth2 token request", Owns: tokenRequestOwns, Run: runOAuth(JudgeTokenRequest)})
	register(Judge{Group: "AUTH", Reads: "oauth2 code reuse", Owns: codeReuseOwns, Run: runOAuth(func(s *SignIn) *Verdicts {
		if s.Reuse == nil && s.Login.HasCallback() && OAuthCallbackProblems(s) == nil && !s.NoProbes {
			return nil // the code was not redeemed again
		}
		return JudgeCodeReuse(s)
	})})
	register(Judge{Group: "AUTH", Reads: "oauth2 refresh", Owns: []string{"AUTH-015"}, Run: runSignIn(func(s *SignIn) *Verdicts {
		if s.Refresh == nil {
			return nil
		}
		return JudgeRefresh(s)
	})})
}

var (
	oauthCallbackOwns = []string{"AUTH-004", "AUTH-011"}
	tokenRequestOwns  = []string{"AUTH-010", "AUTH-012", "AUTH-008", "AUTH-013", "AUTH-007"}
	codeReuseOwns     = []string{"AUTH-014", "AUTH-016"}
)

// runOAuth adapts a judge of apple-oauth2 alone.
func runOAuth(j func(*SignIn) *Verdicts) func(*Observations) *Verdicts {
	return func(o *Observations) *Verdicts {
		if o.SignIn == nil || !o.SignIn.OAuth {
			return nil
		}
		return j(o.SignIn)
	}
}

// pkceRefused: the authorization endpoint refused with a 400 that asks
// for PKCE.
func pkceRefused(l *Login) bool {
	for _, p := range l.Pages {
		if p.Status == 400 && p.MentionsPKCE {
			return true
		}
	}
	return false
}

// JudgeAuthorization is AUTH-009: the authorization endpoint accepts what
// the device sends.
func JudgeAuthorization(s *SignIn) *Verdicts {
	v := NewVerdicts("AUTH-009")
	l := &s.Login
	first := l.FirstPage()
	switch {
	case pkceRefused(l):
		v.Skip("AUTH-009", "the authorization endpoint refused for want of PKCE (AUTH-010)")
	case first == nil && l.Transport != "":
		v.Error("AUTH-009", "the authorization endpoint could not be read: "+l.Transport)
	case first == nil || first.Status >= 400:
		actual := "no answer"
		if first != nil {
			actual = fmt.Sprintf("status %d", first.Status)
		}
		v.Check("AUTH-009", false, "the authorization endpoint accepts response_type, client_id, redirect_uri, scope, state, login_hint and its own query", actual)
	default:
		v.Check("AUTH-009", true, "", "")
	}
	return v
}

// OAuthCallbackProblems is why the device refuses the authorization
// response: nil when it takes it, or when there is no callback at all.
func OAuthCallbackProblems(s *SignIn) []string {
	l := &s.Login
	if !l.HasCallback() {
		return nil
	}
	q, _ := FoundationQuery(l.CallbackRawQuery)
	var bad []string
	if !strings.HasPrefix(l.Callback, s.RedirectURL) {
		bad = append(bad, "does not start with the redirect-url")
	}
	if q.Get("code") == "" {
		bad = append(bad, "no code")
	}
	if got := q.Get("state"); got != s.State {
		bad = append(bad, fmt.Sprintf("state %q instead of the %q sent", got, s.State))
	}
	return bad
}

// JudgeOAuthCallback: AUTH-011 (the authorization response) and AUTH-004
// (its status).
func JudgeOAuthCallback(s *SignIn) *Verdicts {
	v := NewVerdicts(oauthCallbackOwns...)
	l := &s.Login
	if !l.HasCallback() {
		v.SkipAll("no callback", "AUTH-004", "AUTH-011")
		return v
	}
	q, _ := FoundationQuery(l.CallbackRawQuery)
	if res := repeatedItems("AUTH-011", q, "code", "state"); res != nil {
		v.Add(*res)
	}
	bad := OAuthCallbackProblems(s)
	v.Check("AUTH-011", len(bad) == 0 && callbackDelivered(l), "a 3xx to redirect-url with code and the unchanged state (or a navigation to it)",
		fmt.Sprintf("%s: %s", CallbackHow(l), strings.Join(bad, "; ")))
	judgeCallbackStatus(v, l)
	return v
}

const tokenJSON = `JSON with token_type "Bearer", a non-empty access_token, integer expires_in, string refresh_token`

// JudgeTokenRequest: AUTH-010 (no PKCE), AUTH-012 (no client
// authentication), AUTH-008 (no-store on the code and the token), AUTH-013
// (the token response) and AUTH-007 (the token's entropy).
func JudgeTokenRequest(s *SignIn) *Verdicts {
	v := NewVerdicts(tokenRequestOwns...)
	l, tr := &s.Login, s.Token
	switch {
	case !l.HasCallback():
		if pkceRefused(l) {
			v.Check("AUTH-010", false, "no PKCE required (devices send no code_challenge)", "the authorization endpoint refused without code_challenge")
		} else {
			v.Skip("AUTH-010", "the authorization did not complete")
		}
		v.SkipAll("no authorization code", "AUTH-007", "AUTH-008", "AUTH-012", "AUTH-013")
		return v
	case OAuthCallbackProblems(s) != nil:
		v.SkipAll("the callback was refused", "AUTH-007", "AUTH-008", "AUTH-010", "AUTH-012", "AUTH-013")
		return v
	case tr == nil:
		v.SkipRest("the token request was not sent")
		return v
	case tr.Unjudgeable != "":
		// No answer is not a refused code: the tester cannot judge.
		for _, id := range []string{"AUTH-010", "AUTH-012", "AUTH-008", "AUTH-013"} {
			v.Error(id, tr.Unjudgeable)
		}
		v.Skip("AUTH-007", "no access token")
		return v
	}
	if tr.Status == 400 && tr.MentionsPKCE {
		v.Check("AUTH-010", false, "no PKCE required (devices send no code_verifier)", "the token endpoint asked for code_verifier")
	} else {
		v.Check("AUTH-010", true, "", "")
	}
	v.Check("AUTH-012", tr.Status == 200, "200 to the token request without client authentication", fmt.Sprintf("status %d %s", tr.Status, tr.Excerpt))
	noStore := strings.Contains(strings.ToLower(l.CallbackCacheControl), "no-store") && strings.Contains(strings.ToLower(tr.CacheControl), "no-store")
	v.Check("AUTH-008", noStore, "Cache-Control: no-store on the code redirect and the token response",
		fmt.Sprintf("redirect %q, token response %q", l.CallbackCacheControl, tr.CacheControl))
	switch {
	case tr.Status == 200 && len(tr.Problems) == 0 && tr.JSONNote != "":
		// The device reads it (NSJSONSerialization), so the token works.
		v.Add(authWarning("AUTH-013", tokenJSON+", in UTF-8 without a byte-order mark", tr.JSONNote))
	case tr.Status == 200:
		v.Check("AUTH-013", len(tr.Problems) == 0, tokenJSON, strings.Join(tr.Problems, "; "))
	default:
		v.Skip("AUTH-013", "the token request failed")
	}
	if TokenIssued(tr) {
		judgeTokenEntropy(v, tr.AccessToken, s.Identifier)
	} else {
		v.Skip("AUTH-007", "no access token")
	}
	return v
}

// TokenIssued: the token endpoint answered 200 with a token response the
// device takes.
func TokenIssued(tr *TokenReply) bool {
	return tr != nil && tr.Unjudgeable == "" && tr.Status == 200 && len(tr.Problems) == 0
}

// JudgeCodeReuse: the code redeemed a second time is refused (AUTH-014),
// with an RFC 6749 error answer (AUTH-016).
func JudgeCodeReuse(s *SignIn) *Verdicts {
	v := NewVerdicts(codeReuseOwns...)
	r := s.Reuse
	switch {
	case !s.Login.HasCallback():
		v.SkipRest("no authorization code")
		return v
	case OAuthCallbackProblems(s) != nil:
		v.SkipRest("the callback was refused")
		return v
	case s.NoProbes:
		v.SkipRest("probes are off (--no-probes)")
		return v
	case r == nil:
		v.SkipRest("the code was not redeemed again")
		return v
	case r.Unjudgeable != "":
		v.Error("AUTH-014", r.Unjudgeable)
		v.Error("AUTH-016", r.Unjudgeable)
		return v
	case r.Status == 200 && r.AccessToken != "":
		v.Check("AUTH-014", false, "a redeemed code is refused (400 invalid_grant)", "the second redemption got another access token")
		v.Skip("AUTH-016", "no error answer to judge")
		return v
	}
	v.Check("AUTH-014", true, "", "")
	switch {
	case r.Status == 200:
		v.Check("AUTH-016", false, "a non-200 status with an RFC 6749 error body", fmt.Sprintf("200 with %s", r.Excerpt))
	case !r.JSON || r.Error == "":
		v.Check("AUTH-016", false, `a JSON body {"error": "..."} (RFC 6749 §5.2)`, fmt.Sprintf("%d %s", r.Status, r.Excerpt))
	case r.JSONNote != "":
		v.Add(authWarning("AUTH-016", `a JSON body {"error": "..."} (RFC 6749 §5.2) in UTF-8 without a byte-order mark`, r.JSONNote))
	default:
		v.Check("AUTH-016", true, "", "")
	}
	return v
}

// JudgeRefresh is AUTH-015: the refresh grant gives a new access token.
func JudgeRefresh(s *SignIn) *Verdicts {
	v := NewVerdicts("AUTH-015")
	r := s.Refresh
	switch {
	case !s.OAuth:
		v.Skip("AUTH-015", "not an OAuth 2 enrollment")
	case r != nil && r.NoEnrollment:
		v.Skip("AUTH-015", "no enrollment to refresh")
	case r == nil || !r.HadToken:
		v.Skip("AUTH-015", "the token response had no refresh_token")
	case r.Answer == nil:
		v.Skip("AUTH-015", "the refresh grant was not sent")
	case r.Answer.Unjudgeable != "":
		v.Error("AUTH-015", r.Answer.Unjudgeable)
	default:
		a := r.Answer
		actual := fmt.Sprintf("status %d", a.Status)
		if len(a.Problems) > 0 {
			actual += ": " + strings.Join(a.Problems, "; ")
		}
		v.Check("AUTH-015", a.Status == 200 && len(a.Problems) == 0, "200 with a new access token for grant_type=refresh_token", actual)
	}
	return v
}
