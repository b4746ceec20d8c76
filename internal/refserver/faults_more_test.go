package refserver

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, moreFaultEffects) }

// jsCSRF finds the CSRF token in the script of otp-needs-javascript's page.
var jsCSRF = regexp.MustCompile(`csrf\.value = "([^"\\]+)";`)

// noIdentifier asserts that a page shows id in none of the forms AUTH-002
// looks for.
func noIdentifier(t *testing.T, rec interface{ Header() http.Header }, body, id string) {
	t.Helper()
	lower := strings.ToLower(body)
	assert.NotContains(t, lower, id)
	assert.NotContains(t, lower, strings.ReplaceAll(id, "@", "&#64;"))
	assert.NotContains(t, lower, url.QueryEscape(id))
	assert.NotContains(t, strings.ToLower(rec.Header().Get("Location")), url.QueryEscape(id))
}

// moreFaultEffects: the challenge, sign-in, second-factor and token faults
// added after the first enrollment set, and the transport faults (whose
// real-TLS checks live in tls_test.go).
var moreFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultChallengeNoURL: func(t *testing.T, s *Server) {
		assertChallenge(t, enrollPost(t, s, enrollBYOD), `Bearer method="apple-as-web"`)
		assertChallenge(t, enrollPost(t, s, enrollADDE, bearer("unknown")), `Bearer method="apple-as-web"`)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD), oauthChallenge)
		// The login page is still there, for whoever knows its address.
		fetchProfileWith(t, s, enrollBYOD, webToken(t, s, "alice@acme.test"))
	},
	FaultOAuthNoScope: func(t *testing.T, s *Server) {
		want := strings.TrimSuffix(oauthChallenge, `, scope="MDM"`)
		require.NotEqual(t, oauthChallenge, want)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD), want)
		assertChallenge(t, enrollPost(t, s, enrollOAuthADDE), want)
		assertChallenge(t, enrollPost(t, s, enrollBYOD), webChallenge)
		// The device leaves scope out of the authorization request too, and
		// the sign-in still completes.
		noScope := strings.Replace(authorizeURLFor("erin@acme.test", "s"), "&scope=MDM", "", 1)
		require.NotContains(t, noScope, "scope")
		code, _ := codeOf(t, oauthLogin(t, s, noScope, "erin@acme.test"))
		rec, body := tokenRequest(t, s, codeGrant(code))
		require.Equal(t, http.StatusOK, rec.Code)
		fetchProfileWith(t, s, enrollOAuthBYOD, body["access_token"].(string))
	},
	FaultLoginPage404: func(t *testing.T, s *Server) {
		for _, target := range []string{loginURL + "?user-identifier=alice%40acme.test", loginURL} {
			rec := serve(t, s, http.MethodGet, target)
			assert.Equal(t, http.StatusNotFound, rec.Code)
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Empty(t, rec.Result().Cookies())
		}
		// The challenge still points there; the identity provider's own
		// form is unaffected.
		assertChallenge(t, enrollPost(t, s, enrollBYOD), webChallenge)
		idp := idpLoginFor("carol@acme.test")
		form(t, idp, serve(t, s, http.MethodGet, idp))
	},
	FaultLoginNoPrefill: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		form(t, l.pageURL, l.page)
		assert.Empty(t, prefilled(l.page.Body.String()))
		noIdentifier(t, l.page, l.page.Body.String(), acct.Identifier)

		// A wrong password does not echo the name either.
		rec := l.password(acct.Identifier, "wrong")
		assert.Contains(t, rec.Body.String(), `<p class="error">`)
		noIdentifier(t, rec, rec.Body.String(), acct.Identifier)

		rec = l.password(acct.Identifier, acct.Password)
		require.Equal(t, http.StatusSeeOther, rec.Code)
		noIdentifier(t, rec, "", acct.Identifier)
		assert.Contains(t, l.page.Body.String(), `<input name="otp"`)
		noIdentifier(t, l.page, l.page.Body.String(), acct.Identifier)
		callbackToken(t, l.otp(totpAt(t, acct, s.cfg.Now())))

		// Nor does the identity provider's form use login_hint.
		rec = serve(t, s, http.MethodGet, authorizeURLFor("erin@acme.test", "s"))
		form(t, authorizeBase, rec)
		assert.Empty(t, prefilled(rec.Body.String()))
		noIdentifier(t, rec, rec.Body.String(), "erin@acme.test")
	},
	FaultCallbackDoubleEncoded: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		require.Equal(t, http.StatusPermanentRedirect, rec.Code)
		loc := rec.Header().Get("Location")
		require.True(t, strings.HasPrefix(loc, callbackPrefix), loc)
		raw := strings.TrimPrefix(loc, callbackPrefix)
		once, err := url.PathUnescape(raw)
		require.NoError(t, err)
		token, err := url.PathUnescape(once)
		require.NoError(t, err)
		assert.Equal(t, url.QueryEscape(url.QueryEscape(token)), raw)
		assert.Contains(t, raw, "%25", "the escapes are escaped again")
		assert.Len(t, token, 44, "32 random bytes, standard base64 with padding")
		assert.True(t, strings.HasSuffix(token, "="))
		assert.True(t, strings.ContainsAny(token, "/+"), token)

		// What a device decodes once is not the token: it draws the usual
		// refusal of an unknown token. The token itself works.
		assertChallenge(t, enrollPost(t, s, enrollBYOD, bearer(once)), webChallenge)
		fetchProfileWith(t, s, enrollBYOD, token)

		// OAuth tokens travel in JSON and are only re-encoded in form.
		access := oauthTokens(t, s, "erin@acme.test")["access_token"].(string)
		assert.Len(t, access, 44)
		fetchProfileWith(t, s, enrollOAuthBYOD, access)
	},
	FaultOAuthRejectsLoginHint: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, authorizeURLFor("erin@acme.test", "s"))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Contains(t, rec.Body.String(), "<!DOCTYPE html>")
		assert.Contains(t, rec.Body.String(), "login_hint")
		assert.NotContains(t, rec.Body.String(), "<form")
		assert.False(t, mentionsPKCEWord(rec.Body.String()), "the refusal is not about PKCE")
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Empty(t, rec.Result().Cookies())
		// An empty login_hint is present too.
		assert.Equal(t, http.StatusBadRequest, serve(t, s, http.MethodGet, authorizeURLFor("", "s")).Code)

		noHint := strings.Replace(authorizeURLFor("erin@acme.test", "s"), "&login_hint=erin%40acme.test", "", 1)
		require.NotContains(t, noHint, "login_hint")
		code, _ := codeOf(t, oauthLogin(t, s, noHint, "erin@acme.test"))
		rec, _ = tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusOK, rec.Code)
	},
	FaultTOTPRejectsValid: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		rec := l.otp(totpAt(t, acct, s.cfg.Now()))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		assert.Contains(t, rec.Body.String(), `<p class="error">That code is not right.`)
		assert.Contains(t, rec.Body.String(), `<input name="otp"`)

		// The server's (wrong) SHA-256 code is what it takes.
		sha256Code, err := totp.GenerateCodeCustom(acct.TOTPSecret, s.cfg.Now(),
			totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA256})
		require.NoError(t, err)
		callbackToken(t, l.otp(sha256Code))
	},
	FaultTokenRefusal5xx: func(t *testing.T, s *Server) {
		for _, target := range []string{enrollBYOD, enrollOAuthADDE} {
			rec := enrollPost(t, s, target, bearer("dGhpcyBpcyBub3QgYSB0b2tlbg"))
			assert.Equal(t, http.StatusInternalServerError, rec.Code)
			assert.NotContains(t, rec.Header(), "Www-Authenticate")
		}
		// No token, or a malformed header, is refused as before.
		assertChallenge(t, enrollPost(t, s, enrollBYOD), webChallenge)
		assert.Equal(t, http.StatusBadRequest, enrollPost(t, s, enrollBYOD, withHeader("Authorization", "Bearer")).Code)
		// Real tokens still work; a real token of the other type still gets
		// a challenge.
		token := webToken(t, s, "alice@acme.test")
		assertChallenge(t, enrollPost(t, s, enrollADDE, bearer(token)), webChallenge)
		fetchProfileWith(t, s, enrollBYOD, token)
	},
	FaultOTPNeedsJavaScript: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		page := l.page
		require.Equal(t, http.StatusOK, page.Code)
		assert.Equal(t, "text/html; charset=utf-8", page.Header().Get("Content-Type"))
		body := page.Body.String()
		assert.NotContains(t, body, "<form")
		assert.NotContains(t, body, "<input")
		assert.Contains(t, body, "<noscript>This page needs JavaScript.</noscript>")
		assert.Contains(t, body, "<script>")
		assert.Contains(t, body, "location.href = ")
		m := jsCSRF.FindStringSubmatch(body)
		require.NotNil(t, m, body)

		// A browser that runs the script posts the same form as ever.
		b := l.b
		rec := b.post(otpURL(), url.Values{"csrf": {m[1]}, "otp": {wrongCode(t, acct, s.cfg.Now())}})
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.NotContains(t, rec.Body.String(), "<form")
		assert.Contains(t, rec.Body.String(), "That code is not right.")
		callbackToken(t, b.post(otpURL(), url.Values{"csrf": {m[1]}, "otp": {totpAt(t, acct, s.cfg.Now())}}))

		// The password page is plain HTML as ever.
		form(t, loginURL, serve(t, s, http.MethodGet, loginURL))
	},
	FaultTLSLegacy: func(t *testing.T, s *Server) {
		checkTLSLegacy(t, s)
	},
	FaultPrivateCA: func(t *testing.T, s *Server) {
		checkPrivateCA(t, s)
	},
}

func otpURL() string { return "https://" + MDMHost + otpPath }

func mentionsPKCEWord(body string) bool {
	b := strings.ToLower(body)
	return strings.Contains(b, "pkce") || strings.Contains(b, "code_challenge") || strings.Contains(b, "code_verifier")
}
