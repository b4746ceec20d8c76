package refserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthorizeRequest(t *testing.T) {
	s := start(t)
	valid := url.Values{
		"response_type": {"code"},
		"client_id":     {OAuthClientID},
		"redirect_uri":  {oauthRedirectURL},
		"scope":         {"MDM"},
		"state":         {"340B948D-6D4A-4C16"},
		"login_hint":    {"erin@acme.test"},
	}
	with := func(k, v string) string {
		q := url.Values{}
		for key, vals := range valid {
			q[key] = append([]string(nil), vals...)
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return authorizeBase + "?" + q.Encode()
	}
	tests := []struct {
		name   string
		target string
		code   int
		hint   string
	}{
		{"the device's request", authorizeURLFor("erin@acme.test", "340B948D"), http.StatusOK, "erin@acme.test"},
		{"unknown parameters and PKCE are ignored", authorizeURLFor("frank@acme.test", "s", "prompt=login", "code_challenge=abc", "code_challenge_method=S256"), http.StatusOK, "frank@acme.test"},
		{"no scope", with("scope", ""), http.StatusOK, "erin@acme.test"},
		{"no login_hint", with("login_hint", ""), http.StatusOK, ""},
		{"response_type token", with("response_type", "token"), http.StatusBadRequest, ""},
		{"no response_type", with("response_type", ""), http.StatusBadRequest, ""},
		{"unknown client", with("client_id", "someone-else"), http.StatusBadRequest, ""},
		{"no client", with("client_id", ""), http.StatusBadRequest, ""},
		{"other redirect_uri", with("redirect_uri", "https://evil.example/cb"), http.StatusBadRequest, ""},
		{"redirect_uri with another path", with("redirect_uri", "apple-remotemanagement-user-login:/other"), http.StatusBadRequest, ""},
		{"no state", with("state", ""), http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, http.MethodGet, tt.target)
			require.Equal(t, tt.code, rec.Code, rec.Body.String())
			assert.Empty(t, rec.Header().Get("Location"), "errors are shown, not redirected")
			if tt.code != http.StatusOK {
				assert.Contains(t, rec.Body.String(), "invalid authorization request")
				assert.Empty(t, rec.Result().Cookies())
				return
			}
			action, _ := form(t, tt.target, rec)
			assert.Equal(t, "https://idp.acme.test/login", action)
			assert.Equal(t, tt.hint, prefilled(rec.Body.String()))
			require.Len(t, rec.Result().Cookies(), 1)
			assert.Equal(t, "acme_idp_login", rec.Result().Cookies()[0].Name)
		})
	}
}

func TestAuthorizationResponse(t *testing.T) {
	s := start(t)
	for _, state := range []string{"340B948D-6D4A-4C16-9B8C-3C0E4F5A6B7C", "a b&c=d/é?#"} {
		rec := oauthLogin(t, s, authorizeURLFor("erin@acme.test", state), "erin@acme.test")
		code, got := codeOf(t, rec)
		assert.Equal(t, state, got, "state comes back unchanged")
		assert.Len(t, code, 43)
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "0", rec.Header().Get("Content-Length"))
		assert.Empty(t, rec.Body.String())
		assert.Equal(t, redirectPrefix+url.QueryEscape(code)+"&state="+url.QueryEscape(state), rec.Header().Get("Location"))
	}

	t.Run("wrong password and wrong code show the forms again", func(t *testing.T) {
		erin := account(t, s, "erin@acme.test")
		clockOf(t, s).advance(30 * time.Second) // the last sign-in used this step's code
		l := newBrowser(t, s).startLogin(authorizeURLFor(erin.Identifier, "s"))
		assert.Contains(t, l.password(erin.Identifier, "nope").Body.String(), `<p class="error">`)
		require.Equal(t, http.StatusSeeOther, l.password(erin.Identifier, erin.Password).Code)
		rec := l.otp(wrongCode(t, erin, s.cfg.Now()))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		codeOf(t, l.otp(totpAt(t, erin, s.cfg.Now())))
	})
}

func TestTokenEndpoint(t *testing.T) {
	s := start(t)
	newCode := func(t *testing.T, id string) string {
		code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor(id, "st"), id))
		return code
	}

	t.Run("authorization code", func(t *testing.T) {
		code := newCode(t, "erin@acme.test")
		rec, body := tokenRequest(t, s, codeGrant(code))
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, []string{"access_token", "expires_in", "refresh_token", "scope", "token_type"}, sortedKeys(body))
		assert.Equal(t, "Bearer", body["token_type"])
		assert.Equal(t, float64(3600), body["expires_in"])
		assert.Equal(t, "MDM", body["scope"])
		assert.Regexp(t, `^"token_type":"Bearer","access_token":"[A-Za-z0-9_-]{43}","expires_in":3600,"refresh_token":"[A-Za-z0-9_-]{43}","scope":"MDM"$`,
			strings.Trim(rec.Body.String(), "{}"))
		_, p := fetchProfileWith(t, s, enrollOAuthBYOD, body["access_token"].(string))
		assert.Equal(t, "erin@acme.test", p.mdm(t)["AssignedManagedAppleID"])
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	})

	t.Run("codes work once, and reuse revokes what the first use issued", func(t *testing.T) {
		code := newCode(t, "erin@acme.test")
		rec, body := tokenRequest(t, s, codeGrant(code))
		require.Equal(t, http.StatusOK, rec.Code)
		access, refresh := body["access_token"].(string), body["refresh_token"].(string)
		fetchProfileWith(t, s, enrollOAuthBYOD, access)

		rec, errBody := tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_grant", errBody["error"])
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD, bearer(access)), oauthChallenge)
		rec, errBody = tokenRequest(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {OAuthClientID}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_grant", errBody["error"])
	})

	t.Run("frank's token is for ADDE", func(t *testing.T) {
		_, body := tokenRequest(t, s, codeGrant(newCode(t, "frank@acme.test")))
		token := body["access_token"].(string)
		_, p := fetchProfileWith(t, s, enrollOAuthADDE, token)
		assert.Equal(t, "ADDE", p.mdm(t)["EnrollmentMode"])
		assert.Equal(t, uint64(8191), p.mdm(t)["AccessRights"])
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD, bearer(token)), oauthChallenge)
	})

	t.Run("refresh", func(t *testing.T) {
		first := oauthTokens(t, s, "erin@acme.test")
		refresh := first["refresh_token"].(string)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {OAuthClientID}}
		rec, body := tokenRequest(t, s, form)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, "Bearer", body["token_type"])
		assert.NotEqual(t, first["access_token"], body["access_token"])
		assert.NotEqual(t, refresh, body["refresh_token"])
		fetchProfileWith(t, s, enrollOAuthBYOD, body["access_token"].(string))

		// Refresh tokens rotate: the old one is spent, the new one works
		// (here without client_id, which a public client may leave out).
		rec, errBody := tokenRequest(t, s, form)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_grant", errBody["error"])
		rec, _ = tokenRequest(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}})
		assert.Equal(t, http.StatusOK, rec.Code)
	})

	t.Run("expired access token, then a refreshed one", func(t *testing.T) {
		body := oauthTokens(t, s, "erin@acme.test")
		clockOf(t, s).advance(accessTokenTTL)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD, bearer(body["access_token"].(string))), oauthChallenge)
		rec, fresh := tokenRequest(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}, "client_id": {OAuthClientID}})
		require.Equal(t, http.StatusOK, rec.Code)
		fetchProfileWith(t, s, enrollOAuthBYOD, fresh["access_token"].(string))
	})

	t.Run("expired code", func(t *testing.T) {
		code := newCode(t, "erin@acme.test")
		clockOf(t, s).advance(authCodeTTL)
		rec, body := tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_grant", body["error"])
	})

	t.Run("a code survives a refused request", func(t *testing.T) {
		code := newCode(t, "erin@acme.test")
		form := codeGrant(code)
		form.Set("redirect_uri", "apple-remotemanagement-user-login:/other")
		rec, body := tokenRequest(t, s, form)
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "invalid_grant", body["error"])
		rec, _ = tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusOK, rec.Code)
	})

	code := newCode(t, "erin@acme.test")
	errorCases := []struct {
		name  string
		form  url.Values
		opts  []reqOpt
		error string
	}{
		{"no grant_type", url.Values{"code": {code}}, nil, "invalid_request"},
		{"password grant", url.Values{"grant_type": {"password"}}, nil, "unsupported_grant_type"},
		{"client credentials", url.Values{"grant_type": {"client_credentials"}}, nil, "unsupported_grant_type"},
		{"unknown code", codeGrant("not-a-code"), nil, "invalid_grant"},
		{"no code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {oauthRedirectURL}, "client_id": {OAuthClientID}}, nil, "invalid_request"},
		{"no redirect_uri", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {OAuthClientID}}, nil, "invalid_request"},
		{"no client_id", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oauthRedirectURL}}, nil, "invalid_request"},
		{"other client_id", func() url.Values { f := codeGrant(code); f.Set("client_id", "other"); return f }(), nil, "invalid_client"},
		{"mismatched redirect_uri", func() url.Values { f := codeGrant(code); f.Set("redirect_uri", "https://evil.example/"); return f }(), nil, "invalid_grant"},
		{"a refresh token is not a code", codeGrant(oauthTokens(t, s, "erin@acme.test")["refresh_token"].(string)), nil, "invalid_grant"},
		{"an access token is not a refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {oauthTokens(t, s, "erin@acme.test")["access_token"].(string)}}, nil, "invalid_grant"},
		{"no refresh_token", url.Values{"grant_type": {"refresh_token"}}, nil, "invalid_request"},
		{"refresh with another scope", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "scope": {"admin"}}, nil, "invalid_scope"},
		{"query instead of form body", url.Values{}, []reqOpt{func(r *http.Request) { r.URL.RawQuery = codeGrant(code).Encode() }}, "invalid_request"},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			rec, body := tokenRequest(t, s, tt.form, tt.opts...)
			assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.Equal(t, tt.error, body["error"])
			assert.NotEmpty(t, body["error_description"])
			assert.NotContains(t, body, "access_token")
		})
	}
	// None of the refused requests spent the code.
	rec, _ := tokenRequest(t, s, codeGrant(code))
	assert.Equal(t, http.StatusOK, rec.Code)

	t.Run("client authentication is not needed, and ignored when sent", func(t *testing.T) {
		rec, _ := tokenRequest(t, s, codeGrant(newCode(t, "erin@acme.test")), func(r *http.Request) { r.SetBasicAuth("who", "ever") })
		assert.Equal(t, http.StatusOK, rec.Code)
	})
	t.Run("code_verifier is ignored", func(t *testing.T) {
		f := codeGrant(newCode(t, "erin@acme.test"))
		f.Set("code_verifier", "abc")
		rec, _ := tokenRequest(t, s, f)
		assert.Equal(t, http.StatusOK, rec.Code)
	})
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
