package weblogin_test

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

func TestLoginWithCSRFAndTOTP(t *testing.T) {
	req := baseRequest("")
	server := newAcme(t, req.Password, "492039")
	base := serve(t, "mdm.test", server.handler())
	req.StartURL = base + "/authenticate?user-identifier=user01%40example.com"
	otpCalls := 0
	req.OTP = fixedOTP("492039", &otpCalls)
	rec := newRecorder(t)

	res, err := weblogin.Login(context.Background(), rec.Fetch, req)

	require.NoError(t, err)
	assert.Equal(t, callbackURL(server.token), res.Callback.String())
	assert.Equal(t, http.StatusPermanentRedirect, res.CallbackStatus)
	assert.Equal(t, "no-store", res.CallbackHeader.Get("Cache-Control"))
	assert.True(t, res.FirstFactorDone)
	assert.True(t, res.SecondFactorSeen)
	assert.False(t, res.CallbackBeforeSecondFactor)
	assert.Equal(t, 4, res.Pages)
	assert.Equal(t, 1, otpCalls)
	assert.Equal(t, []string{"login page", "submit credentials", "redirect 1", "submit one-time code"}, rec.purposes())
	assert.Equal(t, []string{
		"GET " + req.StartURL + " → 200 form (username,password)",
		"POST " + base + "/login → 303 " + base + "/verify",
		"GET " + base + "/verify → 200 form (otp)",
		"POST " + base + "/verify → 308 callback apple-remotemanagement-user-login://authentication-results?access-token=[redacted]",
	}, res.Trail)

	login := server.seen.form("POST /login")
	assert.Equal(t, acmeCSRFLogin, login.Get("csrfmiddlewaretoken"), "the hidden CSRF token is echoed")
	assert.Equal(t, req.Username, login.Get("username"))
	assert.False(t, login.Has("remember"), "an unchecked checkbox is not sent")
	verify := server.seen.form("POST /verify")
	assert.Equal(t, acmeCSRFVerify, verify.Get("csrfmiddlewaretoken"))
	assert.Equal(t, "492039", verify.Get("verification_code"))

	for _, c := range rec.calls {
		assert.Equal(t, safariUA, c.Header.Get("User-Agent"), c.Purpose)
		assert.True(t, strings.HasPrefix(c.Header.Get("Accept"), "text/html"), c.Purpose)
	}
	h := server.seen.header("POST /login")
	assert.Equal(t, "application/x-www-form-urlencoded", h.Get("Content-Type"))
	assert.Equal(t, base, h.Get("Origin"))
	assert.Equal(t, req.StartURL, h.Get("Referer"))
}

func TestFieldNameVariants(t *testing.T) {
	const csrf = "Zm9ybS10b2tlbi0xMjM0"
	oauth := callbackScheme + ":/oauth2/redirection?code=Dek1xYz&state=340B948D-1F3A"
	tests := []struct {
		name, fixture, page, post string
		user, pass                string
		status                    int
		callback                  string
		want                      url.Values // fields the server must receive besides user and password
		absent                    []string
	}{
		{
			name: "j_security_check with base href", fixture: "j_security_check.html",
			page: "/login/form", post: "/auth/j_security_check", user: "j_username", pass: "j_password",
			status: http.StatusPermanentRedirect, callback: callbackURL("token-j"),
			want: url.Values{"action": {"login"}, "domain": {"lab"}},
		},
		{
			name: "email and passwd with two buttons", fixture: "email_passwd.html",
			page: "/signin", post: "/session", user: "email", pass: "passwd",
			status: http.StatusSeeOther, callback: callbackURL("token-e"),
			want:   url.Values{"action": {"login"}, "mode": {"work"}, "authenticity_token": {csrf}},
			absent: []string{"nickname"},
		},
		{
			name: "fallback form inside noscript", fixture: "noscript_fallback.html",
			page: "/app", post: "/login/basic", user: "user", pass: "pass",
			status: http.StatusPermanentRedirect, callback: callbackURL("token-n"),
			want: url.Values{"_csrf": {csrf}},
		},
		{
			name: "loginfmt", fixture: "loginfmt.html",
			page: "/oauth2/authorize", post: "/common/login", user: "loginfmt", pass: "passwd",
			status: http.StatusFound, callback: oauth,
			want:   url.Values{"ctx": {csrf}, "flowToken": {"AQABAAEAAAD--DLA3VO7QrddgJg7WevrCTZ"}, "i13": {"0"}},
			absent: []string{"idSIButton9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := baseRequest("")
			got := newSeen()
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+tt.page, func(w http.ResponseWriter, r *http.Request) {
				render(t, w, http.StatusOK, tt.fixture, pageData{CSRF: csrf})
			})
			mux.HandleFunc("POST "+tt.post, func(w http.ResponseWriter, r *http.Request) {
				f := got.record(t, r)
				if f.Get(tt.user) != req.Username || f.Get(tt.pass) != req.Password {
					render(t, w, http.StatusOK, tt.fixture, pageData{CSRF: csrf})
					return
				}
				w.Header().Set("Location", tt.callback)
				w.WriteHeader(tt.status)
			})
			req.StartURL = serve(t, "login.test", mux) + tt.page

			res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

			require.NoError(t, err)
			assert.Equal(t, tt.callback, res.Callback.String())
			assert.Equal(t, tt.status, res.CallbackStatus)
			assert.True(t, res.FirstFactorDone)
			form := got.form("POST " + tt.post)
			for name, values := range tt.want {
				assert.Equal(t, values, form[name], name)
			}
			for _, name := range tt.absent {
				assert.False(t, form.Has(name), name)
			}
		})
	}
}

func TestIdentityProviderOnAnotherHost(t *testing.T) {
	const (
		mdmState  = "mdm-state-5c2a7e9f0b1d"
		idpPre    = "idp-pre-8e1f2a3b4c5d"
		idpAuth   = "idp-auth-0a9b8c7d6e5f"
		xsrf      = "idp-xsrf-4d5e6f7a8b9c"
		assertion = "PHNhbWxwOlJlc3BvbnNlPi4uLjwvc2FtbHA6UmVzcG9uc2U+"
		relay     = "enroll-42"
		token     = "aWRwLWlzc3VlZC10b2tlbi0xMjM0NTY="
	)
	req := baseRequest("")
	mdmSeen, idpSeen := newSeen(), newSeen()
	var mdm, idp string // base URLs, set before the first request

	mdmMux := http.NewServeMux()
	mdmMux.HandleFunc("GET /authenticate", func(w http.ResponseWriter, r *http.Request) {
		mdmSeen.record(t, r)
		http.SetCookie(w, &http.Cookie{Name: "mdm_state", Value: mdmState, Path: "/", HttpOnly: true})
		http.Redirect(w, r, idp+"/sso?return="+url.QueryEscape(mdm+"/acs")+"&login_hint="+url.QueryEscape(r.URL.Query().Get("user-identifier")), http.StatusFound)
	})
	mdmMux.HandleFunc("POST /acs", func(w http.ResponseWriter, r *http.Request) {
		f := mdmSeen.record(t, r)
		if cookie(r, "mdm_state") != mdmState || f.Get("SAMLResponse") != assertion || f.Get("RelayState") != relay {
			http.Error(w, "bad assertion", http.StatusBadRequest)
			return
		}
		w.Header().Set("Location", callbackURL(token))
		w.WriteHeader(http.StatusPermanentRedirect)
	})
	idpMux := http.NewServeMux()
	idpMux.HandleFunc("GET /sso", func(w http.ResponseWriter, r *http.Request) {
		idpSeen.record(t, r)
		http.SetCookie(w, &http.Cookie{Name: "idp_session", Value: idpPre, Path: "/", HttpOnly: true})
		render(t, w, http.StatusOK, "idp_login.html", pageData{CSRF: xsrf, Return: r.URL.Query().Get("return"), Hint: r.URL.Query().Get("login_hint")})
	})
	idpMux.HandleFunc("POST /sso/login", func(w http.ResponseWriter, r *http.Request) {
		f := idpSeen.record(t, r)
		if cookie(r, "idp_session") != idpPre || f.Get("_xsrfToken") != xsrf ||
			f.Get("identifier") != req.Username || f.Get("credentials.passcode") != req.Password {
			http.Error(w, "sign-in failed", http.StatusUnauthorized)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "idp_auth", Value: idpAuth, Path: "/", HttpOnly: true})
		render(t, w, http.StatusOK, "saml_post.html", pageData{ACS: template.URL(f.Get("return")), Assertion: assertion, Relay: relay})
	})
	mdm = serve(t, "mdm.test", mdmMux)
	idp = serve(t, "idp.test", idpMux)
	req.StartURL = mdm + "/authenticate?user-identifier=user01%40example.com"
	var secrets []string
	req.OnSecret = func(v string) { secrets = append(secrets, v) }

	res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

	require.NoError(t, err)
	assert.Equal(t, callbackURL(token), res.Callback.String())
	assert.True(t, res.FirstFactorDone)
	assert.False(t, res.SecondFactorSeen)
	assert.ElementsMatch(t, []string{mdmState, idpPre, idpAuth}, secrets)
	assert.Equal(t, []string{"GET " + hostOf(mdm) + "/authenticate", "POST " + hostOf(mdm) + "/acs"}, mdmSeen.all())
	assert.Equal(t, []string{"GET " + hostOf(idp) + "/sso", "POST " + hostOf(idp) + "/sso/login"}, idpSeen.all())

	// Cookies go back only to the host that set them, whatever the port.
	for _, c := range mdmSeen.cookieHeaders() {
		assert.NotContains(t, c, "idp_")
	}
	for _, c := range idpSeen.cookieHeaders() {
		assert.NotContains(t, c, "mdm_")
	}
	assert.Equal(t, []string{"", "mdm_state=" + mdmState}, mdmSeen.cookieHeaders())
	assert.Equal(t, []string{"", "idp_session=" + idpPre}, idpSeen.cookieHeaders())

	// The auto-post from the IdP page is a cross-origin form post.
	acs := mdmSeen.header("POST /acs")
	assert.Equal(t, idp, acs.Get("Origin"))
	assert.Equal(t, idp+"/", acs.Get("Referer"))
	assert.Contains(t, res.Trail, "POST "+idp+"/sso/login → 200 form (hidden fields only)")
}

func TestMultiPageLogin(t *testing.T) {
	const state, flow, code = "st-1f2e3d4c", "flow-9a8b7c6d5e", "771204"
	req := baseRequest("")
	got := newSeen()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", func(w http.ResponseWriter, r *http.Request) {
		got.record(t, r)
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: flow, Path: "/"})
		render(t, w, http.StatusOK, "identifier.html", pageData{CSRF: state, Hint: r.URL.Query().Get("user-identifier")})
	})
	mux.HandleFunc("POST /identify", func(w http.ResponseWriter, r *http.Request) {
		f := got.record(t, r)
		if cookie(r, "flow") != flow || f.Get("state") != state || f.Get("identifier") != req.Username {
			render(t, w, http.StatusOK, "identifier.html", pageData{CSRF: state, Error: "Unknown user"})
			return
		}
		http.Redirect(w, r, "/password", http.StatusFound)
	})
	mux.HandleFunc("GET /password", func(w http.ResponseWriter, r *http.Request) {
		got.record(t, r)
		render(t, w, http.StatusOK, "password.html", pageData{CSRF: state, Hint: req.Username})
	})
	mux.HandleFunc("POST /password", func(w http.ResponseWriter, r *http.Request) {
		f := got.record(t, r)
		if f.Get("password") != req.Password || f.Get("username") != req.Username {
			render(t, w, http.StatusOK, "password.html", pageData{CSRF: state, Hint: req.Username, Error: "Wrong password"})
			return
		}
		http.Redirect(w, r, "/mfa", http.StatusFound)
	})
	mux.HandleFunc("GET /mfa", func(w http.ResponseWriter, r *http.Request) {
		got.record(t, r)
		render(t, w, http.StatusOK, "mfa.html", pageData{CSRF: state})
	})
	mux.HandleFunc("POST /mfa", func(w http.ResponseWriter, r *http.Request) {
		f := got.record(t, r)
		if f.Get("otp") != code || f.Get("trust_device") != "yes" {
			render(t, w, http.StatusOK, "mfa.html", pageData{CSRF: state})
			return
		}
		w.Header().Set("Location", callbackURL("multi"))
		w.WriteHeader(http.StatusPermanentRedirect)
	})
	base := serve(t, "mdm.test", mux)
	req.StartURL = base + "/start?user-identifier=user01%40example.com"
	calls := 0
	req.OTP = fixedOTP(code, &calls)
	rec := newRecorder(t)

	res, err := weblogin.Login(context.Background(), rec.Fetch, req)

	require.NoError(t, err)
	assert.Equal(t, callbackURL("multi"), res.Callback.String())
	assert.True(t, res.FirstFactorDone)
	assert.True(t, res.SecondFactorSeen)
	assert.Equal(t, []string{
		"login page", "submit user name", "redirect 1", "submit credentials", "redirect 2", "submit one-time code",
	}, rec.purposes())
	assert.False(t, got.form("POST /identify").Has("q"), "the help search form is not the login form")
}

func TestRejection(t *testing.T) {
	tests := []struct {
		name         string
		password     string // the server's
		code         string // the server's
		rejectStatus int
		wantMsg      []string
		firstDone    bool
		secondSeen   bool
	}{
		{
			name: "wrong password", password: "something else", code: "111111",
			wantMsg: []string{"credentials were rejected", "Invalid password"},
		},
		{
			name: "wrong password answered 401", password: "something else", code: "111111", rejectStatus: http.StatusUnauthorized,
			wantMsg: []string{"credentials were rejected", "status 401", "Invalid password"},
		},
		{
			name: "wrong code", code: "222222",
			wantMsg:   []string{"one-time code was rejected", "Invalid code. Try again."},
			firstDone: true, secondSeen: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := baseRequest("")
			if tt.password == "" {
				tt.password = req.Password
			}
			server := newAcme(t, tt.password, tt.code)
			server.rejectStatus = tt.rejectStatus
			req.StartURL = serve(t, "mdm.test", server.handler()) + "/authenticate"
			calls := 0
			req.OTP = fixedOTP("999999", &calls)

			res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

			e := asError(t, err)
			assert.Equal(t, weblogin.KindRejected, e.Kind)
			for _, want := range tt.wantMsg {
				assert.Contains(t, e.Msg, want)
			}
			assert.Nil(t, res.Callback)
			assert.Equal(t, tt.firstDone, res.FirstFactorDone)
			assert.Equal(t, tt.secondSeen, res.SecondFactorSeen)
			assert.Equal(t, res.Trail, e.Trail)
			assert.True(t, strings.HasSuffix(e.Trail[len(e.Trail)-1], "again: rejected"), e.Trail)
		})
	}
}

// TestDeadEnds covers the pages a JavaScript-less web view cannot get past.
func TestDeadEnds(t *testing.T) {
	tests := []struct {
		name    string
		page    func(t *testing.T, w http.ResponseWriter, r *http.Request)
		kind    weblogin.ErrKind
		wantMsg string
	}{
		{"no form", fixture("no_form.html", http.StatusOK), weblogin.KindNoForm, "Scheduled maintenance"},
		{"single-page app", fixture("js_only.html", http.StatusOK), weblogin.KindJavaScript, "You need to enable JavaScript to run this app."},
		{"script redirect", fixture("js_redirect.html", http.StatusOK), weblogin.KindJavaScript, "a script changes the location"},
		{"server error", fixture("server_error.html", http.StatusInternalServerError), weblogin.KindHTTP, "answered 500"},
		{"redirect without Location", status(http.StatusFound, ""), weblogin.KindBadRedirect, "without a Location"},
		{"redirect to another scheme", status(http.StatusFound, "msauth://login?code=1"), weblogin.KindBadRedirect, "neither http(s) nor the callback scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/authenticate" {
					t.Errorf("unexpected request %s %s", r.Method, r.URL)
				}
				tt.page(t, w, r)
			})
			req := baseRequest(serve(t, "mdm.test", mux) + "/authenticate")

			res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

			e := asError(t, err)
			assert.Equal(t, tt.kind, e.Kind)
			assert.Contains(t, e.Msg, tt.wantMsg)
			assert.Equal(t, 1, res.Pages)
			assert.Len(t, e.Trail, 1)
		})
	}
}

func fixture(name string, code int) func(*testing.T, http.ResponseWriter, *http.Request) {
	return func(t *testing.T, w http.ResponseWriter, _ *http.Request) {
		render(t, w, code, name, pageData{})
	}
}

func status(code int, location string) func(*testing.T, http.ResponseWriter, *http.Request) {
	return func(_ *testing.T, w http.ResponseWriter, _ *http.Request) {
		if location != "" {
			w.Header().Set("Location", location)
		}
		w.WriteHeader(code)
	}
}

func TestRedirectLoop(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("GET /b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/a", http.StatusFound) })
	base := serve(t, "mdm.test", mux)

	for _, tt := range []struct{ maxPages, want int }{{6, 6}, {0, weblogin.DefaultMaxPages}} {
		req := baseRequest(base + "/a")
		req.MaxPages = tt.maxPages

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		e := asError(t, err)
		assert.Equal(t, weblogin.KindNoCallback, e.Kind)
		assert.Equal(t, tt.want, res.Pages)
		assert.Len(t, e.Trail, tt.want)
		assert.Contains(t, e.Msg, "a loop? GET "+base+"/a was requested")
	}
}

func TestContextDone(t *testing.T) {
	server := newAcme(t, "pw", "123456")
	req := baseRequest(serve(t, "mdm.test", server.handler()) + "/authenticate")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	res, err := weblogin.Login(ctx, newRecorder(t).Fetch, req)

	assert.Equal(t, weblogin.KindNoCallback, asError(t, err).Kind)
	assert.Equal(t, 0, res.Pages)
	assert.Empty(t, server.seen.all())
}

func TestSecondFactor(t *testing.T) {
	t.Run("asked but not configured", func(t *testing.T) {
		req := baseRequest("")
		server := newAcme(t, req.Password, "123456")
		req.StartURL = serve(t, "mdm.test", server.handler()) + "/authenticate"

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		e := asError(t, err)
		assert.Equal(t, weblogin.KindSecondFactor, e.Kind)
		assert.Contains(t, e.Msg, "asks for a one-time code")
		assert.True(t, res.FirstFactorDone)
		assert.Nil(t, server.seen.form("POST /verify"), "nothing is submitted")
	})
	t.Run("source fails", func(t *testing.T) {
		req := baseRequest("")
		server := newAcme(t, req.Password, "123456")
		req.StartURL = serve(t, "mdm.test", server.handler()) + "/authenticate"
		errNoSeed := errors.New("totp seed file unreadable")
		req.OTP = func() (string, error) { return "", errNoSeed }

		_, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		require.ErrorIs(t, err, errNoSeed)
		var e *weblogin.Error
		assert.False(t, errors.As(err, &e), "a tester-side failure is not a server verdict")
		assert.Nil(t, server.seen.form("POST /verify"))
	})
	t.Run("configured but skipped by the server", func(t *testing.T) {
		req := baseRequest("")
		server := newAcme(t, req.Password, "123456")
		server.skipOTP = true
		req.StartURL = serve(t, "mdm.test", server.handler()) + "/authenticate"
		calls := 0
		req.OTP = fixedOTP("123456", &calls)

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		require.NoError(t, err)
		assert.True(t, res.CallbackBeforeSecondFactor)
		assert.True(t, res.FirstFactorDone)
		assert.False(t, res.SecondFactorSeen)
		assert.Zero(t, calls)
	})
}

func TestSelectorOverridesAndExtra(t *testing.T) {
	const code = "605118"
	newServer := func(t *testing.T, got *seen) string {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
			render(t, w, http.StatusOK, "custom.html", pageData{})
		})
		mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
			got.record(t, r)
			w.Header().Set("Location", callbackURL("custom"))
			w.WriteHeader(http.StatusPermanentRedirect)
		})
		mux.HandleFunc("POST /recover", func(w http.ResponseWriter, r *http.Request) {
			got.record(t, r)
			http.Error(w, "recovery is disabled", http.StatusForbidden)
		})
		return serve(t, "mdm.test", mux) + "/login"
	}

	t.Run("detection alone picks the wrong form", func(t *testing.T) {
		got := newSeen()
		req := baseRequest(newServer(t, got))

		_, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		assert.Equal(t, weblogin.KindHTTP, asError(t, err).Kind)
		assert.NotNil(t, got.form("POST /recover"))
	})
	t.Run("selectors", func(t *testing.T) {
		got := newSeen()
		req := baseRequest(newServer(t, got))
		calls := 0
		req.OTP = fixedOTP(code, &calls)
		req.Fields = weblogin.Fields{
			Form:     "form#signin",
			Username: "input[name=principal]",
			OTP:      "#response",
			Submit:   "button[value=verify]",
			Extra:    map[string]string{"locale": "en", "client": "enrollsim"},
		}

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		require.NoError(t, err)
		assert.Equal(t, callbackURL("custom"), res.Callback.String())
		assert.True(t, res.SecondFactorSeen)
		f := got.form("POST /signin")
		assert.Equal(t, url.Values{
			"locale":    {"en"},
			"principal": {req.Username},
			"secret":    {req.Password},
			"resp":      {code},
			"op":        {"verify"},
			"client":    {"enrollsim"},
		}, f)
	})
	t.Run("bad selector", func(t *testing.T) {
		fields := weblogin.Fields{OTP: "input[name="}
		err := fields.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "fields.otp")

		_, err = weblogin.Login(context.Background(), newRecorder(t).Fetch, weblogin.Request{StartURL: "http://mdm.test/", Fields: fields})
		assert.Error(t, err)
	})
}

func TestCallbackStatusAndRefresh(t *testing.T) {
	t.Run("302 callback", func(t *testing.T) {
		req := baseRequest("")
		server := newAcme(t, req.Password, "")
		server.skipOTP, server.callbackStatus = true, http.StatusFound
		req.StartURL = serve(t, "mdm.test", server.handler()) + "/authenticate"

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

		require.NoError(t, err)
		assert.Equal(t, http.StatusFound, res.CallbackStatus)
		assert.Equal(t, callbackURL(server.token), res.Callback.String())
	})
	t.Run("meta refresh interstitial, then 308", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /authenticate", func(w http.ResponseWriter, r *http.Request) {
			render(t, w, http.StatusOK, "interstitial.html", pageData{Next: "/done?step=2"})
		})
		mux.HandleFunc("GET /done", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("step") != "2" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Location", callbackURL("after-refresh"))
			w.WriteHeader(http.StatusPermanentRedirect)
		})
		base := serve(t, "mdm.test", mux)
		rec := newRecorder(t)

		res, err := weblogin.Login(context.Background(), rec.Fetch, baseRequest(base+"/authenticate"))

		require.NoError(t, err)
		assert.Equal(t, callbackURL("after-refresh"), res.Callback.String())
		assert.Equal(t, []string{"login page", "refresh 1"}, rec.purposes())
		assert.Equal(t, "GET "+base+"/authenticate → 200 refresh "+base+"/done?step=2", res.Trail[0])
	})
	t.Run("meta refresh to the callback", func(t *testing.T) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /authenticate", func(w http.ResponseWriter, r *http.Request) {
			render(t, w, http.StatusOK, "interstitial.html", pageData{Next: template.URL(callbackURL("by-refresh"))})
		})
		base := serve(t, "mdm.test", mux)

		res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, baseRequest(base+"/authenticate"))

		require.NoError(t, err)
		assert.Equal(t, callbackURL("by-refresh"), res.Callback.String())
		assert.Equal(t, http.StatusOK, res.CallbackStatus, "a refresh is no redirect")
		assert.Equal(t, 1, res.Pages)
		assert.Equal(t, []string{
			"GET " + base + "/authenticate → 200 refresh callback apple-remotemanagement-user-login://authentication-results?access-token=[redacted]",
		}, res.Trail)
	})
}

func TestRedirectMethods(t *testing.T) {
	tests := []struct {
		status     int
		wantMethod string
		wantBody   bool
	}{
		{http.StatusMovedPermanently, http.MethodGet, false},
		{http.StatusSeeOther, http.MethodGet, false},
		{http.StatusTemporaryRedirect, http.MethodPost, true},
		{http.StatusPermanentRedirect, http.MethodPost, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			req := baseRequest("")
			got := newSeen()
			mux := http.NewServeMux()
			mux.HandleFunc("GET /signin", func(w http.ResponseWriter, r *http.Request) {
				render(t, w, http.StatusOK, "email_passwd.html", pageData{CSRF: "c"})
			})
			mux.HandleFunc("POST /session", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/session/moved", tt.status)
			})
			mux.HandleFunc("/session/moved", func(w http.ResponseWriter, r *http.Request) {
				got.record(t, r)
				w.Header().Set("Location", callbackURL("moved"))
				w.WriteHeader(http.StatusPermanentRedirect)
			})
			req.StartURL = serve(t, "mdm.test", mux) + "/signin"

			_, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, req)

			require.NoError(t, err)
			form := got.form(tt.wantMethod + " /session/moved")
			require.NotNil(t, form, "the redirect is followed with %s", tt.wantMethod)
			assert.Equal(t, tt.wantBody, form.Get("passwd") == req.Password, "body kept")
		})
	}
}
