package check

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const goodToken = "kq3XbZ1vN8w2YpL0rT5uHcE7mA9sD4fG6jK2lPqRxyW"

// got lists a judge's results as "ID status", in order; nil for no
// verdicts.
func got(v *Verdicts) []string {
	if v == nil {
		return nil
	}
	var out []string
	for _, r := range v.Results {
		out = append(out, r.ID+" "+string(r.Status))
	}
	return out
}

func webCallback(raw string) Login {
	l := Login{Pages: []Page{{Status: 302}, {Status: 200, MediaType: "text/html", ShowsIdentifier: true}},
		FirstFactorDone: true, CallbackStatus: 308, CallbackCacheControl: "no-store", CallbackByRedirect: true, CallbackVia: "an HTTP redirect"}
	scheme, rest, _ := strings.Cut(raw, "://")
	host, query, _ := strings.Cut(rest, "?")
	l.Callback, l.CallbackScheme, l.CallbackHost, l.CallbackRawQuery = raw, scheme, host, query
	return l
}

func refusedProbe() *Login {
	return &Login{Pages: []Page{{Status: 200}, {Status: 200}}, Codes: 1, Err: "rejected: wrong", Failure: "the sign-in was rejected: wrong"}
}

// webOK is a conforming apple-as-web sign-in with a second factor.
func webOK() *SignIn {
	l := webCallback(CallbackScheme + "://authentication-results?access-token=" + goodToken)
	l.SecondFactorSeen, l.Codes = true, 1
	return &SignIn{Identifier: "alice@acme.test", SecondFactor: true, Login: l,
		Probes: &Probes{WrongPassword: refusedProbe(), WrongCode: refusedProbe(), Replay: refusedProbe(), Skew: refusedProbe()}}
}

func TestJudgeSignInPages(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *SignIn)
		want []string
	}{
		{"conforming", func(*SignIn) {}, []string{"AUTH-001 pass", "AUTH-002 pass", "AUTH-017 pass"}},
		{"json page, identifier unused", func(s *SignIn) {
			s.Login.Pages = []Page{{Status: 200, MediaType: "application/json"}}
		}, []string{"AUTH-001 fail", "AUTH-002 warn", "AUTH-017 pass"}},
		{"no answer", func(s *SignIn) {
			s.Login = Login{Pages: []Page{{Status: 0}}, Transport: "no answer: reset", Failure: "the sign-in failed"}
		}, []string{"AUTH-001 error", "AUTH-002 skip", "AUTH-017 pass"}},
		{"timeout", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 0, Timeout: true}}} }, []string{"AUTH-001 error", "AUTH-002 skip", "AUTH-017 pass"}},
		{"over a limit", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 0, OverLimit: "headers"}}} }, []string{"AUTH-001 error", "AUTH-002 skip", "AUTH-017 pass"}},
		{"only redirects", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 302}}, Failure: "no callback"} }, []string{"AUTH-001 fail", "AUTH-002 skip", "AUTH-017 pass"}},
		{"rate limited", func(s *SignIn) { s.Login.Pages = []Page{{Status: 429, RateLimited: "a 429 asks for 10 min"}} }, []string{"AUTH-001 error", "AUTH-002 skip", "AUTH-017 pass"}},
		{"needs javascript", func(s *SignIn) {
			s.Login = Login{Pages: []Page{{Status: 200, MediaType: "text/html"}}, Untestable: true, NeedsJavaScript: true, Err: "javascript: a script"}
		}, []string{"AUTH-001 pass", "AUTH-002 error", "AUTH-017 info"}},
		{"signed in again in the browser", func(s *SignIn) { s.Login.FormJS = &FormRun{Err: "javascript: a script"} }, []string{"AUTH-001 pass", "AUTH-002 pass", "AUTH-017 info"}},
		{"stopped at a limit", func(s *SignIn) {
			s.Login = Login{Pages: []Page{{Status: 200, MediaType: "text/html"}}, AtLimit: true, Err: "limit: 300 forms"}
		}, []string{"AUTH-001 pass", "AUTH-002 error", "AUTH-017 pass"}},
		{"oauth", func(s *SignIn) { s.OAuth = true }, []string{"AUTH-001 skip", "AUTH-002 pass", "AUTH-017 pass"}},
	}
	for _, tt := range tests {
		s := webOK()
		tt.edit(s)
		assert.Equal(t, tt.want, got(JudgeSignInPages(s)), tt.name)
	}
}

func TestJudgeLoginQuery(t *testing.T) {
	s := webOK()
	assert.Nil(t, JudgeLoginQuery(s), "no query: the challenge's judge passes ENR-007")
	s.LoginURL, s.LoginQuery = "https://idp.test/login?tenant=7", "tenant=7"
	assert.Equal(t, []string{"ENR-007 pass"}, got(JudgeLoginQuery(s)))
	s.Login.Pages = []Page{{Status: 400}}
	assert.Equal(t, []string{"ENR-007 warn"}, got(JudgeLoginQuery(s)))
	s.Login.Pages = []Page{{Status: 0}}
	assert.Equal(t, []string{"ENR-007 warn"}, got(JudgeLoginQuery(s)), "no page is no working sign-in, and no panic")
}

func TestJudgeWebCallback(t *testing.T) {
	cb := CallbackScheme + "://authentication-results?access-token="
	tests := []struct {
		name string
		edit func(s *SignIn)
		want []string
	}{
		{"conforming", func(*SignIn) {}, []string{"AUTH-003 pass", "AUTH-004 pass", "AUTH-008 pass", "AUTH-007 pass"}},
		{"303, cacheable, short token", func(s *SignIn) {
			s.Login = webCallback(cb + "abc123")
			s.Login.CallbackStatus, s.Login.CallbackCacheControl = 303, "private"
		}, []string{"AUTH-003 pass", "AUTH-004 warn", "AUTH-008 warn", "AUTH-007 warn"}},
		{"wrong host, no token", func(s *SignIn) { s.Login = webCallback(CallbackScheme + "://elsewhere?x=1") },
			[]string{"AUTH-003 fail", "AUTH-004 pass", "AUTH-008 pass", "AUTH-007 skip"}},
		{"by a refresh on a 200", func(s *SignIn) {
			s.Login.CallbackStatus, s.Login.CallbackByRedirect, s.Login.CallbackVia = 200, false, "a refresh"
		}, []string{"AUTH-003 pass", "AUTH-004 info", "AUTH-008 pass", "AUTH-007 pass"}},
		{"a 200 that claims a redirect", func(s *SignIn) { s.Login.CallbackStatus = 200 },
			[]string{"AUTH-003 fail", "AUTH-004 warn", "AUTH-008 pass", "AUTH-007 pass"}},
		{"the user name as token", func(s *SignIn) { s.Login = webCallback(cb + "alice%40acme.test") },
			[]string{"AUTH-003 pass", "AUTH-004 pass", "AUTH-008 pass", "AUTH-007 warn"}},
		{"no callback", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 200}}} },
			[]string{"AUTH-003 skip", "AUTH-004 skip", "AUTH-007 skip", "AUTH-008 skip"}},
	}
	for _, tt := range tests {
		s := webOK()
		tt.edit(s)
		assert.Equal(t, tt.want, got(JudgeWebCallback(s)), tt.name)
	}
}

func TestJudgeCallbackItems(t *testing.T) {
	s := webOK()
	assert.Nil(t, JudgeCallbackItems(s), "nothing repeated: AUTH-005 is the enroll step's")
	s.Login = webCallback(CallbackScheme + "://authentication-results?access-token=" + goodToken + "&access-token=other")
	v := JudgeCallbackItems(s)
	assert.Equal(t, []string{"AUTH-005 warn"}, got(v))
	assert.NotContains(t, v.Results[0].Actual, goodToken, "values are credentials")
	assert.Equal(t, []string{"AUTH-003 pass", "AUTH-004 pass", "AUTH-008 pass", "AUTH-007 pass"}, got(JudgeWebCallback(s)), "a device takes the first")
}

func TestJudgeWrongPassword(t *testing.T) {
	tokenCallback := webCallback(CallbackScheme + "://authentication-results?access-token=" + goodToken)
	tests := []struct {
		name string
		edit func(s *SignIn)
		want string
	}{
		{"refused", func(*SignIn) {}, "AUTH-006 pass"},
		{"a token", func(s *SignIn) { s.Probes.WrongPassword = &tokenCallback }, "AUTH-006 fail"},
		{"no answer", func(s *SignIn) { s.Probes.WrongPassword = &Login{Transport: "no answer"} }, "AUTH-006 error"},
		{"at a limit", func(s *SignIn) { s.Probes.WrongPassword = &Login{AtLimit: true} }, "AUTH-006 error"},
		{"probes off", func(s *SignIn) { s.NoProbes, s.Probes = true, nil }, "AUTH-006 skip"},
	}
	for _, tt := range tests {
		s := webOK()
		tt.edit(s)
		assert.Equal(t, []string{tt.want}, got(JudgeWrongPassword(s)), tt.name)
	}
}

func TestJudgeSecondFactor(t *testing.T) {
	tests := []struct {
		name string
		edit func(s *SignIn)
		want []string
	}{
		{"conforming", func(*SignIn) {}, []string{"TOTP-001 pass", "TOTP-002 pass", "TOTP-006 pass"}},
		{"no second factor declared", func(s *SignIn) { s.SecondFactor = false }, []string{"TOTP-001 skip", "TOTP-002 skip", "TOTP-006 skip"}},
		{"callback after the password", func(s *SignIn) {
			s.Login.CallbackBeforeSecondFactor, s.Login.SecondFactorSeen = true, false
		}, []string{"TOTP-001 warn", "TOTP-002 skip", "TOTP-006 skip"}},
		{"the code refused", func(s *SignIn) {
			s.Login = Login{SecondFactorSeen: true, Failure: "the sign-in was rejected"}
		}, []string{"TOTP-001 pass", "TOTP-002 warn", "TOTP-006 pass"}},
		{"at a limit", func(s *SignIn) { s.Login = Login{SecondFactorSeen: true, AtLimit: true} }, []string{"TOTP-001 pass", "TOTP-002 error", "TOTP-006 pass"}},
		{"a script after the code", func(s *SignIn) { s.Login = Login{SecondFactorSeen: true, Untestable: true} }, []string{"TOTP-001 pass", "TOTP-002 error", "TOTP-006 pass"}},
		{"the code form needs javascript", func(s *SignIn) {
			s.Login.FormJS = &FormRun{Err: "javascript", FirstFactorDone: true}
		}, []string{"TOTP-001 pass", "TOTP-002 pass", "TOTP-006 info"}},
		{"javascript, no browser", func(s *SignIn) { s.Login = Login{NeedsJavaScript: true} }, []string{"TOTP-001 pass", "TOTP-002 skip", "TOTP-006 info"}},
	}
	for _, tt := range tests {
		s := webOK()
		tt.edit(s)
		assert.Equal(t, tt.want, got(JudgeSecondFactor(s)), tt.name)
	}
}

func TestJudgeCodeProbes(t *testing.T) {
	accepted := webCallback(CallbackScheme + "://authentication-results?access-token=" + goodToken)
	accepted.Codes = 1
	tests := []struct {
		name string
		edit func(s *SignIn)
		want []string
	}{
		{"all refused", func(*SignIn) {}, []string{"TOTP-003 pass", "TOTP-004 pass", "TOTP-005 pass"}},
		{"all accepted", func(s *SignIn) { s.Probes.WrongCode, s.Probes.Replay, s.Probes.Skew = &accepted, &accepted, &accepted },
			[]string{"TOTP-003 warn", "TOTP-004 warn", "TOTP-005 warn"}},
		{"a 5xx for a wrong code", func(s *SignIn) { s.Probes.WrongCode = &Login{Pages: []Page{{Status: 500}}, Codes: 1} },
			[]string{"TOTP-003 warn", "TOTP-004 pass", "TOTP-005 pass"}},
		{"no code form, no own code, no seed", func(s *SignIn) {
			s.Probes.WrongCode, s.Probes.Replay, s.Probes.Skew, s.Probes.SkewErr = &Login{}, nil, nil, "TOTP seed: bad"
		}, []string{"TOTP-003 skip", "TOTP-004 skip", "TOTP-005 error"}},
		{"unreadable and at a limit", func(s *SignIn) {
			s.Probes.WrongCodeErr, s.Probes.WrongCode = "TOTP seed: bad", nil
			s.Probes.Replay = &Login{Codes: 1, Transport: "no answer"}
			s.Probes.Skew = &Login{Codes: 1, AtLimit: true}
		}, []string{"TOTP-003 error", "TOTP-004 error", "TOTP-005 error"}},
		{"no second factor", func(s *SignIn) { s.SecondFactor = false }, []string{"TOTP-003 skip", "TOTP-004 skip", "TOTP-005 skip"}},
		{"probes off", func(s *SignIn) { s.NoProbes, s.Probes = true, nil }, []string{"TOTP-003 skip", "TOTP-004 skip", "TOTP-005 skip"}},
	}
	for _, tt := range tests {
		s := webOK()
		tt.edit(s)
		assert.Equal(t, tt.want, got(JudgeCodeProbes(s)), tt.name)
	}
}

// oauthOK is a conforming apple-oauth2 sign-in without a second factor,
// its code redeemed again and its refresh token used after enrollment.
func oauthOK() *SignIn {
	l := webCallback("apple-remotemanagement-user-login://oauth-redirect?code=c0de&state=S1")
	return &SignIn{OAuth: true, Identifier: "alice@acme.test", RedirectURL: "apple-remotemanagement-user-login://oauth-redirect", State: "S1",
		Login:   l,
		Token:   &TokenReply{Status: 200, CacheControl: "no-store", JSON: true, AccessToken: goodToken},
		Probes:  &Probes{WrongPassword: refusedProbe()},
		Reuse:   &TokenReply{Status: 400, JSON: true, Error: "invalid_grant"},
		Refresh: &Refresh{HadToken: true, Answer: &TokenReply{Status: 200, JSON: true, AccessToken: goodToken + "2"}}}
}

func TestJudgeOAuth(t *testing.T) {
	all := func(s *SignIn) []string {
		var out []string
		for _, j := range []func(*SignIn) *Verdicts{JudgeAuthorization, JudgeOAuthCallback, JudgeTokenRequest, JudgeCodeReuse, JudgeRefresh} {
			out = append(out, got(j(s))...)
		}
		return out
	}
	tests := []struct {
		name string
		edit func(s *SignIn)
		want []string
	}{
		{"conforming", func(*SignIn) {}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 pass", "AUTH-007 pass", "AUTH-014 pass", "AUTH-016 pass", "AUTH-015 pass"}},
		{"pkce required", func(s *SignIn) {
			s.Login = Login{Pages: []Page{{Status: 400, MentionsPKCE: true}}}
			s.Token, s.Reuse, s.Refresh = nil, nil, nil
		}, []string{"AUTH-009 skip", "AUTH-004 skip", "AUTH-011 skip",
			"AUTH-010 warn", "AUTH-007 skip", "AUTH-008 skip", "AUTH-012 skip", "AUTH-013 skip", "AUTH-014 skip", "AUTH-016 skip", "AUTH-015 skip"}},
		{"authorization refused", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 400}}} },
			[]string{"AUTH-009 fail", "AUTH-004 skip", "AUTH-011 skip",
				"AUTH-010 skip", "AUTH-007 skip", "AUTH-008 skip", "AUTH-012 skip", "AUTH-013 skip", "AUTH-014 skip", "AUTH-016 skip", "AUTH-015 pass"}},
		{"unreadable", func(s *SignIn) { s.Login = Login{Pages: []Page{{Status: 0}}, Transport: "no answer"} },
			[]string{"AUTH-009 error", "AUTH-004 skip", "AUTH-011 skip",
				"AUTH-010 skip", "AUTH-007 skip", "AUTH-008 skip", "AUTH-012 skip", "AUTH-013 skip", "AUTH-014 skip", "AUTH-016 skip", "AUTH-015 pass"}},
		{"state changed, code repeated", func(s *SignIn) {
			s.Login = webCallback("apple-remotemanagement-user-login://oauth-redirect?code=c0de&code=c0de&state=S2")
			s.Token, s.Reuse = nil, nil
		}, []string{"AUTH-009 pass", "AUTH-011 warn", "AUTH-011 fail", "AUTH-004 pass",
			"AUTH-007 skip", "AUTH-008 skip", "AUTH-010 skip", "AUTH-012 skip", "AUTH-013 skip", "AUTH-014 skip", "AUTH-016 skip", "AUTH-015 pass"}},
		{"token endpoint unreadable", func(s *SignIn) {
			s.Token, s.Reuse = &TokenReply{Unjudgeable: "no answer"}, &TokenReply{Unjudgeable: "no answer"}
		}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 error", "AUTH-012 error", "AUTH-008 error", "AUTH-013 error", "AUTH-007 skip", "AUTH-014 error", "AUTH-016 error", "AUTH-015 pass"}},
		{"token endpoint wants a verifier", func(s *SignIn) {
			s.Token = &TokenReply{Status: 400, MentionsPKCE: true, JSON: true, Error: "invalid_request", Excerpt: `{"error":"code_verifier"}`}
		}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 warn", "AUTH-012 fail", "AUTH-008 warn", "AUTH-013 skip", "AUTH-007 skip", "AUTH-014 pass", "AUTH-016 pass", "AUTH-015 pass"}},
		{"a bad token response", func(s *SignIn) {
			s.Token = &TokenReply{Status: 200, CacheControl: "no-store", JSON: true, Problems: []string{"token_type mac"}}
		}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 fail", "AUTH-007 skip", "AUTH-014 pass", "AUTH-016 pass", "AUTH-015 pass"}},
		{"a byte-order mark", func(s *SignIn) { s.Token.JSONNote, s.Reuse.JSONNote = "a mark", "a mark" },
			[]string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
				"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 warn", "AUTH-007 pass", "AUTH-014 pass", "AUTH-016 warn", "AUTH-015 pass"}},
		{"a code redeemed twice", func(s *SignIn) { s.Reuse = &TokenReply{Status: 200, JSON: true, AccessToken: "x"} },
			[]string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
				"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 pass", "AUTH-007 pass", "AUTH-014 warn", "AUTH-016 skip", "AUTH-015 pass"}},
		{"errors as 200 and as text", func(s *SignIn) {
			s.Reuse = &TokenReply{Status: 200, JSON: true, Error: "invalid_grant"}
			s.Refresh.Answer = &TokenReply{Status: 400, Problems: []string{"no access_token string"}}
		}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 pass", "AUTH-007 pass", "AUTH-014 pass", "AUTH-016 warn", "AUTH-015 warn"}},
		{"no refresh token, probes off", func(s *SignIn) {
			s.NoProbes, s.Refresh = true, &Refresh{}
		}, []string{"AUTH-009 pass", "AUTH-011 pass", "AUTH-004 pass",
			"AUTH-010 pass", "AUTH-012 pass", "AUTH-008 pass", "AUTH-013 pass", "AUTH-007 pass", "AUTH-014 skip", "AUTH-016 skip", "AUTH-015 skip"}},
	}
	for _, tt := range tests {
		s := oauthOK()
		tt.edit(s)
		assert.Equal(t, tt.want, all(s), tt.name)
	}
	s := oauthOK()
	s.Reuse = &TokenReply{Status: 400, Excerpt: "bad"}
	assert.Equal(t, []string{"AUTH-014 pass", "AUTH-016 warn"}, got(JudgeCodeReuse(s)), "a text error")
	s.Refresh.Answer = &TokenReply{Unjudgeable: "no answer"}
	assert.Equal(t, []string{"AUTH-015 error"}, got(JudgeRefresh(s)))
	assert.Equal(t, []string{"AUTH-015 skip"}, got(JudgeRefresh(webOK())), "not an OAuth 2 enrollment")
	s.Refresh = &Refresh{NoEnrollment: true}
	assert.Equal(t, "no enrollment to refresh", JudgeRefresh(s).Results[0].Detail)
}
