package refserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

var jsAccounts = []string{"grace@acme.test", "heidi@acme.test", "ivan@acme.test"}

// handlerFetch is the form driver's Fetch over the server's handler.
func handlerFetch(s *Server) weblogin.Fetch {
	return func(ctx context.Context, method, rawURL string, header http.Header, body []byte, _ string) (*weblogin.Page, error) {
		req := httptest.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
		req.Header = header.Clone()
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return &weblogin.Page{URL: req.URL, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}, nil
	}
}

// The form driver, which runs no JavaScript, stops on every page here with
// KindJavaScript (AUTH-017), on the conforming server and under each
// JavaScript fault, whatever the device.
func TestFormDriverNeedsJavaScript(t *testing.T) {
	for _, fault := range chromeFaults {
		for _, id := range jsAccounts {
			for _, device := range []string{"iphone@18.2", "mac@15.2"} {
				t.Run(fault+"/"+id+"/"+device, func(t *testing.T) {
					var s *Server
					if fault == "" {
						s = start(t)
					} else {
						s = start(t, fault)
					}
					acct := account(t, s, id)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					res, err := weblogin.Login(ctx, handlerFetch(s), weblogin.Request{
						StartURL: startURL(id), UserAgent: webUA(t, device), Username: id, Password: acct.Password,
						OTP: func() (string, error) { return totpAt(t, acct, fixedNow), nil },
					})
					var we *weblogin.Error
					require.True(t, errors.As(err, &we), "err: %v", err)
					assert.Equal(t, weblogin.KindJavaScript, we.Kind, we.Msg)
					assert.Contains(t, we.Msg, "<noscript>")
					require.NotNil(t, res)
					assert.Nil(t, res.Callback)
					assert.False(t, res.FirstFactorDone)
				})
			}
		}
	}
}

func TestJSAccountsRouteToTheirPages(t *testing.T) {
	s := start(t)
	for id, want := range map[string]string{
		"grace@acme.test": spaLoginURL, "heidi@acme.test": xhrLoginURL, "ivan@acme.test": mobileLoginURL,
	} {
		t.Run(id, func(t *testing.T) {
			rec := serve(t, s, http.MethodGet, startURL(id))
			assert.Equal(t, http.StatusFound, rec.Code)
			assert.Equal(t, want+"?login_hint="+url.QueryEscape(id), rec.Header().Get("Location"))

			// Typed on the MDM's own form, the name leads there too.
			l := newBrowser(t, s).startLogin(loginURL)
			rec = l.password(id, account(t, s, id).Password)
			assert.Equal(t, http.StatusSeeOther, rec.Code)
			assert.Equal(t, want+"?login_hint="+url.QueryEscape(id), rec.Header().Get("Location"))

			page := serve(t, s, http.MethodGet, want+"?login_hint="+url.QueryEscape(id), withHeader("User-Agent", webUA(t, "iphone@18.2")))
			require.Equal(t, http.StatusOK, page.Code)
			body := page.Body.String()
			assert.NotContains(t, body, "<form", "the form is the script's to build")
			assert.Contains(t, body, "<noscript>")
			assert.Contains(t, body, `data-login-hint="`+id+`"`)
			assert.Equal(t, "no-store", page.Header().Get("Cache-Control"))
		})
	}
	// The classic identity-provider form does not sign them in.
	l := newBrowser(t, s).startLogin(idpLoginFor("grace@acme.test"))
	rec := l.password("grace@acme.test", account(t, s, "grace@acme.test").Password)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), msgBadCredentials)
}

// spa is a single-page sign-in in progress, driven through the handler.
type spa struct {
	t    *testing.T
	b    *browser
	csrf string
}

func openSPA(t *testing.T, s *Server, hint string) *spa {
	t.Helper()
	b := newBrowser(t, s)
	rec := b.get(spaLoginURL + "?login_hint=" + url.QueryEscape(hint))
	require.Equal(t, http.StatusOK, rec.Code)
	return &spa{t: t, b: b, csrf: spaCSRF(t, rec.Body.String())}
}

// spaCSRF reads the token from the page's script configuration.
func spaCSRF(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `"csrf":"`)
	require.GreaterOrEqual(t, i, 0, body)
	rest := body[i+len(`"csrf":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

func (p *spa) step(path string, body map[string]string, opts ...reqOpt) (int, map[string]string) {
	p.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(p.t, err)
	base := []reqOpt{withHeader("Content-Type", "application/json"), withHeader(csrfHeader, p.csrf)}
	rec := p.b.do(http.MethodPost, "https://"+IdPHost+path, bytes.NewReader(b), append(base, opts...)...)
	assert.Equal(p.t, "no-store", rec.Header().Get("Cache-Control"))
	var out map[string]string
	require.NoError(p.t, json.Unmarshal(rec.Body.Bytes(), &out), rec.Body.String())
	return rec.Code, out
}

func TestSPASteps(t *testing.T) {
	s := start(t)
	grace := account(t, s, "grace@acme.test")

	t.Run("the whole flow", func(t *testing.T) {
		p := openSPA(t, s, grace.Identifier)
		code, out := p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier})
		require.Equal(t, http.StatusOK, code, out)
		assert.Equal(t, map[string]string{"next": "password"}, out)
		code, out = p.step(spaPasswordAPI, map[string]string{"password": grace.Password})
		require.Equal(t, http.StatusOK, code, out)
		assert.Equal(t, map[string]string{"next": "otp"}, out)
		code, out = p.step(spaOTPAPI, map[string]string{"otp": totpAt(t, grace, fixedNow)})
		require.Equal(t, http.StatusOK, code, out)
		cb, err := url.Parse(out["callback"])
		require.NoError(t, err)
		assert.Equal(t, callbackScheme, cb.Scheme)
		assert.Equal(t, callbackHost, cb.Host)
		fetchProfileWith(t, s, enrollBYOD, cb.Query().Get("access-token"))
	})
	t.Run("refusals", func(t *testing.T) {
		tests := []struct {
			name string
			run  func(p *spa) (int, map[string]string)
			code int
		}{
			{"no csrf header", func(p *spa) (int, map[string]string) {
				return p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier}, withHeader(csrfHeader, ""))
			}, http.StatusBadRequest},
			{"wrong csrf header", func(p *spa) (int, map[string]string) {
				return p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier}, withHeader(csrfHeader, "x"+p.csrf))
			}, http.StatusBadRequest},
			{"form body", func(p *spa) (int, map[string]string) {
				return p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier}, withHeader("Content-Type", "application/x-www-form-urlencoded"))
			}, http.StatusUnsupportedMediaType},
			{"password before user name", func(p *spa) (int, map[string]string) {
				return p.step(spaPasswordAPI, map[string]string{"password": grace.Password})
			}, http.StatusBadRequest},
			{"code before password", func(p *spa) (int, map[string]string) {
				p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier})
				return p.step(spaOTPAPI, map[string]string{"otp": totpAt(t, grace, fixedNow)})
			}, http.StatusBadRequest},
			{"another page's user", func(p *spa) (int, map[string]string) {
				return p.step(spaUsernameAPI, map[string]string{"username": "alice@acme.test"})
			}, http.StatusUnauthorized},
			{"wrong password", func(p *spa) (int, map[string]string) {
				p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier})
				return p.step(spaPasswordAPI, map[string]string{"password": grace.Password + "x"})
			}, http.StatusUnauthorized},
			{"wrong code", func(p *spa) (int, map[string]string) {
				p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier})
				p.step(spaPasswordAPI, map[string]string{"password": grace.Password})
				return p.step(spaOTPAPI, map[string]string{"otp": wrongCode(t, grace, fixedNow)})
			}, http.StatusUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				code, out := tt.run(openSPA(t, s, grace.Identifier))
				assert.Equal(t, tt.code, code, out)
				assert.NotEmpty(t, out["error"])
				assert.NotContains(t, out, "callback")
			})
		}
	})
}

// xhrLogin posts heidi's form as the page's script does, with the header
// given (the cookie's value when want is "").
func xhrLogin(t *testing.T, s *Server, form url.Values, header func(cookie string) string) *httptest.ResponseRecorder {
	t.Helper()
	b := newBrowser(t, s)
	page := b.get(xhrLoginURL + "?login_hint=heidi%40acme.test")
	require.Equal(t, http.StatusOK, page.Code)
	var xsrf string
	for _, c := range page.Result().Cookies() {
		if c.Name == xsrfCookie {
			xsrf = c.Value
			assert.False(t, c.HttpOnly, "the script must read the CSRF cookie")
			assert.True(t, c.Secure)
		}
	}
	require.NotEmpty(t, xsrf)
	return b.do(http.MethodPost, "https://"+IdPHost+xhrSessionAPI, strings.NewReader(form.Encode()),
		withHeader("Content-Type", "application/x-www-form-urlencoded"), withHeader(csrfHeader, header(xsrf)))
}

func TestXHRSession(t *testing.T) {
	s := start(t)
	heidi := account(t, s, "heidi@acme.test")
	good := func() url.Values {
		return url.Values{"username": {heidi.Identifier}, "password": {heidi.Password}, "otp": {totpAt(t, heidi, fixedNow)}}
	}
	echo := func(c string) string { return c }

	rec := xhrLogin(t, s, good(), echo)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	var out map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	cb, err := url.Parse(out["location"])
	require.NoError(t, err)
	fetchProfileWith(t, s, enrollADDE, cb.Query().Get("access-token"))

	for name, tt := range map[string]struct {
		form   url.Values
		header func(string) string
		code   int
	}{
		"no header":       {good(), func(string) string { return "" }, http.StatusBadRequest},
		"header ≠ cookie": {good(), func(c string) string { return c + "x" }, http.StatusBadRequest},
		"wrong password":  {url.Values{"username": {heidi.Identifier}, "password": {"nope"}, "otp": {"123456"}}, echo, http.StatusUnauthorized},
		"another page's user": {url.Values{"username": {"grace@acme.test"}, "password": {account(t, s, "grace@acme.test").Password}},
			echo, http.StatusUnauthorized},
	} {
		t.Run(name, func(t *testing.T) {
			rec := xhrLogin(t, s, tt.form, tt.header)
			assert.Equal(t, tt.code, rec.Code, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), callbackScheme)
		})
	}
}

// Every catalogue device's web view opens the Safari-only page; other
// browsers, desktop Chrome first, do not.
func TestSafariUA(t *testing.T) {
	for _, d := range device.Catalogue() {
		assert.True(t, safariUA(d.WebUserAgent()), "%s: %s", d.Ref(), d.WebUserAgent())
	}
	assert.True(t, safariUA(weblogin.DefaultUserAgent))
	for _, ua := range []string{
		desktopChrome,
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
		"curl/8.5.0",
		"",
	} {
		assert.False(t, safariUA(ua), ua)
	}
}

func TestMobilePageRefusesOtherBrowsers(t *testing.T) {
	s := start(t)
	ivan := account(t, s, "ivan@acme.test")
	rec := serve(t, s, http.MethodGet, mobileLoginURL+"?login_hint=ivan%40acme.test", withHeader("User-Agent", desktopChrome))
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Contains(t, rec.Body.String(), "Unsupported browser")
	assert.NotContains(t, rec.Body.String(), "<script")

	// The form's target refuses them too, even with a session opened by
	// Safari.
	b := newBrowser(t, s)
	page := b.do(http.MethodGet, mobileLoginURL, nil, withHeader("User-Agent", webUA(t, "iphone@18.2")))
	require.Equal(t, http.StatusOK, page.Code)
	form := url.Values{"csrf": {spaCSRF(t, page.Body.String())}, "username": {ivan.Identifier}, "password": {ivan.Password},
		"otp": {totpAt(t, ivan, fixedNow)}}
	post := func(ua string) *httptest.ResponseRecorder {
		return b.do(http.MethodPost, mobileLoginURL, strings.NewReader(form.Encode()),
			withHeader("Content-Type", "application/x-www-form-urlencoded"), withHeader("User-Agent", ua))
	}
	assert.Equal(t, http.StatusForbidden, post(desktopChrome).Code)
	rec = post(webUA(t, "iphone@18.2"))
	assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
	fetchProfileWith(t, s, enrollBYOD, callbackToken(t, rec))
}

// The fault effects of the JavaScript faults, as the wire shows them; the
// browser tests show what a browser does with them.
func jsCallbackNoTokenEffect(t *testing.T, s *Server) {
	grace := account(t, s, "grace@acme.test")
	p := openSPA(t, s, grace.Identifier)
	p.step(spaUsernameAPI, map[string]string{"username": grace.Identifier})
	p.step(spaPasswordAPI, map[string]string{"password": grace.Password})
	code, out := p.step(spaOTPAPI, map[string]string{"otp": totpAt(t, grace, fixedNow)})
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, callbackScheme+"://"+callbackHost, out["callback"])
	// The other sign-ins keep their tokens.
	assert.NotEmpty(t, webToken(t, s, "alice@acme.test"))
}

func jsPasswordHTTPEffect(t *testing.T, s *Server) {
	rec := serve(t, s, http.MethodGet, spaLoginURL+"?login_hint=grace%40acme.test")
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Contains(t, body, `"password":"http://sso.acme-login.test/spa/api/password"`)
	assert.Contains(t, body, `"username":"/spa/api/username"`)
}

func jsNoPrefillEffect(t *testing.T, s *Server) {
	rec := serve(t, s, http.MethodGet, startURL("grace@acme.test"))
	assert.Equal(t, http.StatusFound, rec.Code)
	assert.Equal(t, spaLoginURL, rec.Header().Get("Location"))
	page := serve(t, s, http.MethodGet, spaLoginURL+"?login_hint=grace%40acme.test")
	assert.NotContains(t, page.Body.String(), "grace")
	// heidi's and ivan's pages, and the classic forms, still pre-fill.
	assert.Contains(t, serve(t, s, http.MethodGet, startURL("heidi@acme.test")).Header().Get("Location"), "login_hint=heidi")
	assert.Equal(t, "alice@acme.test", prefilled(serve(t, s, http.MethodGet, startURL("alice@acme.test")).Body.String()))
}
