package refserver

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginPage(t *testing.T) {
	s := start(t)
	tests := []struct {
		name  string
		query string
		want  string // pre-filled username
	}{
		{"user-identifier pre-fills", "?user-identifier=alice%40acme.test", "alice@acme.test"},
		{"unknown identifier is shown as given", "?user-identifier=nobody%40acme.test", "nobody@acme.test"},
		{"markup in the identifier is escaped", "?user-identifier=%22%3E%3Cscript%3E", `"><script>`},
		{"no query", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, http.MethodGet, loginURL+tt.query)
			action, csrf := form(t, loginURL, rec)
			assert.Equal(t, loginURL, action)
			assert.NotEmpty(t, csrf)
			assert.Equal(t, tt.want, prefilled(rec.Body.String()))
			assert.NotContains(t, rec.Body.String(), "<script>")
			assert.Contains(t, rec.Body.String(), `name="password"`)
			assert.NotContains(t, rec.Body.String(), `class="error"`)
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			cookies := rec.Result().Cookies()
			require.Len(t, cookies, 1)
			c := cookies[0]
			assert.Equal(t, "acme_mdm_login", c.Name)
			assert.True(t, c.Secure)
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
		})
	}
}

func TestPasswordStep(t *testing.T) {
	s := start(t)
	alice := account(t, s, "alice@acme.test")
	open := func(t *testing.T) *login {
		return newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
	}

	t.Run("right password", func(t *testing.T) {
		l := open(t)
		rec := l.password(alice.Identifier, alice.Password)
		assert.Equal(t, http.StatusSeeOther, rec.Code)
		assert.Equal(t, "/auth/otp", rec.Header().Get("Location"))
		assert.Equal(t, http.StatusOK, l.page.Code)
		body := l.page.Body.String()
		assert.Contains(t, body, `<input name="otp" autocomplete="one-time-code" inputmode="numeric"`)
		assert.Contains(t, body, `name="csrf"`)
		action, _ := form(t, l.pageURL, l.page)
		assert.Equal(t, "https://mdm.acme.test/auth/otp", action)
	})
	t.Run("identifier in other case", func(t *testing.T) {
		assert.Equal(t, http.StatusSeeOther, open(t).password("ALICE@acme.test ", alice.Password).Code)
	})
	for name, creds := range map[string][2]string{
		"wrong password":                {alice.Identifier, "alice-Tr0ub4dor-8"},
		"empty password":                {alice.Identifier, ""},
		"unknown user":                  {"nobody@acme.test", alice.Password},
		"another user's password":       {"bob@acme.test", alice.Password},
		"identity provider user at MDM": {"erin@acme.test", account(t, s, "erin@acme.test").Password},
	} {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			rec := l.password(creds[0], creds[1])
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Contains(t, rec.Body.String(), `<p class="error">The username or password is incorrect.</p>`)
			assert.Equal(t, creds[0], prefilled(rec.Body.String()))
			assert.Empty(t, rec.Header().Get("Location"))
			// The form can be tried again in the same session.
			assert.Equal(t, http.StatusSeeOther, l.password(alice.Identifier, alice.Password).Code)
		})
	}
	t.Run("wrong csrf", func(t *testing.T) {
		l := open(t)
		rec := l.b.post(loginURL, url.Values{"csrf": {"forged"}, "username": {alice.Identifier}, "password": {alice.Password}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "csrf")
	})
	t.Run("csrf of another session", func(t *testing.T) {
		_, other := form(t, loginURL, serve(t, s, http.MethodGet, loginURL))
		l := open(t)
		rec := l.b.post(loginURL, url.Values{"csrf": {other}, "username": {alice.Identifier}, "password": {alice.Password}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	})
	t.Run("no session cookie", func(t *testing.T) {
		_, csrf := form(t, loginURL, serve(t, s, http.MethodGet, loginURL))
		rec := newBrowser(t, s).post(loginURL, url.Values{"csrf": {csrf}, "username": {alice.Identifier}, "password": {alice.Password}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "session")
	})
	t.Run("session expired", func(t *testing.T) {
		l := open(t)
		clockOf(t, s).advance(loginSessionTTL)
		action, csrf := form(t, l.pageURL, l.page)
		rec := l.b.post(action, url.Values{"csrf": {csrf}, "username": {alice.Identifier}, "password": {alice.Password}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	})
	t.Run("OTP page before the password", func(t *testing.T) {
		l := open(t)
		assert.Equal(t, http.StatusBadRequest, l.b.get("https://mdm.acme.test/auth/otp").Code)
		_, csrf := form(t, l.pageURL, l.page)
		assert.Equal(t, http.StatusBadRequest, l.b.post("https://mdm.acme.test/auth/otp", url.Values{"csrf": {csrf}, "otp": {"123456"}}).Code)
	})
}

func TestOTPStep(t *testing.T) {
	s := start(t)
	alice := account(t, s, "alice@acme.test")
	afterPassword := func(t *testing.T) *login {
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		require.Equal(t, http.StatusSeeOther, l.password(alice.Identifier, alice.Password).Code)
		return l
	}
	refused := func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Contains(t, rec.Body.String(), `<p class="error">That code is not right.`)
		assert.Contains(t, rec.Body.String(), `<input name="otp" autocomplete="one-time-code" inputmode="numeric"`)
	}

	for _, code := range []string{wrongCode(t, alice, s.cfg.Now()), "", "12345", "1234567", "abcdef",
		totpAt(t, alice, s.cfg.Now().Add(-2*30*time.Second)), totpAt(t, alice, s.cfg.Now().Add(2*30*time.Second))} {
		t.Run("refused "+code, func(t *testing.T) {
			refused(t, afterPassword(t).otp(code))
		})
	}

	t.Run("wrong csrf", func(t *testing.T) {
		l := afterPassword(t)
		rec := l.b.post("https://mdm.acme.test/auth/otp", url.Values{"csrf": {"x"}, "otp": {totpAt(t, alice, s.cfg.Now())}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	})

	t.Run("right code after a wrong one", func(t *testing.T) {
		l := afterPassword(t)
		refused(t, l.otp(wrongCode(t, alice, s.cfg.Now())))
		rec := l.otp(totpAt(t, alice, s.cfg.Now()))
		assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
		token := callbackToken(t, rec)
		assert.Equal(t, callbackPrefix+token, rec.Header().Get("Location"), "nothing but the token in the query")
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "0", rec.Header().Get("Content-Length"))
		assert.Empty(t, rec.Body.String())
		assert.Len(t, token, 43, "32 random bytes, base64url")
		// The session is over: the cookie is cleared and the form is dead.
		action, csrf := form(t, l.pageURL, l.page)
		assert.Equal(t, http.StatusBadRequest, l.b.post(action, url.Values{"csrf": {csrf}, "otp": {"000000"}}).Code)
	})
}

// A code accepted once is refused for a second sign-in in the same time
// step; the neighbouring steps' codes still work.
func TestTOTPReplayRefused(t *testing.T) {
	s := start(t)
	alice := account(t, s, "alice@acme.test")
	now := s.cfg.Now()
	try := func(code string) (int, string) {
		l := newBrowser(t, s).startLogin(loginURL)
		require.Equal(t, http.StatusSeeOther, l.password(alice.Identifier, alice.Password).Code)
		rec := l.otp(code)
		return rec.Code, rec.Body.String()
	}
	current := totpAt(t, alice, now)
	code, _ := try(current)
	assert.Equal(t, http.StatusPermanentRedirect, code)
	code, body := try(current)
	assert.Equal(t, http.StatusOK, code, "replay refused")
	assert.Contains(t, body, `<p class="error">`)
	for _, step := range []int{-1, 1} {
		c, _ := try(totpAt(t, alice, now.Add(time.Duration(step)*30*time.Second)))
		assert.Equal(t, http.StatusPermanentRedirect, c, "step %+d", step)
	}
	// Another user's ledger is their own.
	bob := account(t, s, "bob@acme.test")
	l := newBrowser(t, s).startLogin(loginURL)
	require.Equal(t, http.StatusSeeOther, l.password(bob.Identifier, bob.Password).Code)
	assert.Equal(t, http.StatusPermanentRedirect, l.otp(totpAt(t, bob, now)).Code)
	// The next step brings a fresh code.
	clockOf(t, s).advance(2 * 30 * time.Second)
	c, _ := try(totpAt(t, alice, s.cfg.Now()))
	assert.Equal(t, http.StatusPermanentRedirect, c)
}

// carol's apple-as-web login is federated: the MDM hands her to the
// identity provider, whose forms and cookie are its own, and takes her back
// with a one-time ticket.
func TestFederatedLogin(t *testing.T) {
	s := start(t)
	carol := account(t, s, "carol@acme.test")
	b := newBrowser(t, s)

	rec := b.get(loginURL + "?user-identifier=carol%40acme.test")
	require.Equal(t, http.StatusFound, rec.Code)
	wantIdP := "https://idp.acme.test/login?return=https%3A%2F%2Fmdm.acme.test%2Fauth%2Fcomplete&login_hint=carol%40acme.test"
	assert.Equal(t, wantIdP, rec.Header().Get("Location"))
	assert.Empty(t, rec.Result().Cookies(), "no MDM session for a federated user")

	rec = b.get(wantIdP)
	action, _ := form(t, wantIdP, rec)
	assert.Equal(t, "https://idp.acme.test/login", action)
	assert.Equal(t, "carol@acme.test", prefilled(rec.Body.String()))
	assert.Contains(t, rec.Body.String(), "<title>Acme ID</title>")
	require.Len(t, rec.Result().Cookies(), 1)
	assert.Equal(t, "acme_idp_login", rec.Result().Cookies()[0].Name)

	l := &login{b: b, pageURL: wantIdP, page: rec}
	rec = l.password(carol.Identifier, carol.Password)
	require.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Equal(t, "/otp", rec.Header().Get("Location"))
	action, csrf := form(t, l.pageURL, l.page)
	assert.Equal(t, "https://idp.acme.test/otp", action)

	rec = b.post(action, url.Values{"csrf": {csrf}, "otp": {totpAt(t, carol, s.cfg.Now())}})
	require.Equal(t, http.StatusSeeOther, rec.Code)
	back := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(back, "https://mdm.acme.test/auth/complete?ticket="), back)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))

	rec = b.get(back)
	assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	token := callbackToken(t, rec)
	_, p := fetchProfileWith(t, s, enrollADDE, token)
	assert.Equal(t, "carol@acme.test", p.mdm(t)["AssignedManagedAppleID"])

	again := b.get(back)
	assert.Equal(t, http.StatusBadRequest, again.Code, "tickets work once")
	assert.Empty(t, again.Header().Get("Location"))

	t.Run("the identity provider's cookie is not the MDM's", func(t *testing.T) {
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=carol%40acme.test")
		_, csrf := form(t, l.pageURL, l.page)
		rec := l.b.post(loginURL, url.Values{"csrf": {csrf}, "username": {carol.Identifier}, "password": {carol.Password}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
	})
	t.Run("carol typing her name on the MDM's form is sent to the identity provider", func(t *testing.T) {
		l := newBrowser(t, s).startLogin(loginURL)
		rec := l.password(carol.Identifier, "anything")
		assert.Equal(t, http.StatusSeeOther, rec.Code)
		assert.Equal(t, wantIdP, rec.Header().Get("Location"))
	})
	t.Run("MDM users do not sign in at the identity provider", func(t *testing.T) {
		alice := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(wantIdP)
		assert.Contains(t, l.password(alice.Identifier, alice.Password).Body.String(), `<p class="error">`)
	})
	t.Run("expired ticket", func(t *testing.T) {
		g := s.issueTicket(carol)
		clockOf(t, s).advance(ticketTTL)
		assert.Equal(t, http.StatusBadRequest, serve(t, s, http.MethodGet, completeURL+"?ticket="+g).Code)
	})
	for name, target := range map[string]string{
		"no return":        "https://idp.acme.test/login",
		"foreign return":   "https://idp.acme.test/login?return=https%3A%2F%2Fevil.example%2F",
		"return elsewhere": "https://idp.acme.test/login?return=https%3A%2F%2Fmdm.acme.test%2Fauth%2Fcomplete%2Fx",
		"unknown ticket":   completeURL + "?ticket=abc",
		"no ticket":        completeURL,
	} {
		t.Run(name, func(t *testing.T) {
			rec := serve(t, s, http.MethodGet, target)
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.Empty(t, rec.Header().Get("Location"))
		})
	}
}
