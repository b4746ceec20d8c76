package refserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/profile"
)

func init() { maps.Copy(faultEffects, enrollFaultEffects) }

// enrollFaultEffects holds one row per fault of the enrollment half: what a
// server running only that fault does on the wire, and that the rest of the
// flow still works where the fault should break one thing only.
var enrollFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultNoWWWAuthenticate: func(t *testing.T, s *Server) {
		for _, target := range []string{enrollBYOD, enrollOAuthBYOD} {
			rec := enrollPost(t, s, target)
			assert.Equal(t, http.StatusUnauthorized, rec.Code)
			assert.NotContains(t, rec.Header(), "Www-Authenticate")
			assert.Equal(t, "0", rec.Header().Get("Content-Length"))
		}
		rec := enrollPost(t, s, enrollBYOD, bearer("not-a-token"))
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.NotContains(t, rec.Header(), "Www-Authenticate")
	},
	FaultUnknownMethod: func(t *testing.T, s *Server) {
		assert.Equal(t, `Bearer method="apple-magic", url="https://mdm.acme.test/auth/login"`,
			enrollPost(t, s, enrollBYOD).Header().Get("WWW-Authenticate"))
		assert.Equal(t, strings.Replace(oauthChallenge, "apple-oauth2", "apple-magic", 1),
			enrollPost(t, s, enrollOAuthBYOD).Header().Get("WWW-Authenticate"))
	},
	FaultCommalessChallenge: func(t *testing.T, s *Server) {
		assertChallenge(t, enrollPost(t, s, enrollBYOD), `Bearer method="apple-as-web" url="https://mdm.acme.test/auth/login"`)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD), strings.ReplaceAll(oauthChallenge, `", `, `" `))
	},
	FaultHTTPLoginURL: func(t *testing.T, s *Server) {
		assertChallenge(t, enrollPost(t, s, enrollBYOD), `Bearer method="apple-as-web", url="http://mdm.acme.test/auth/login"`)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD), oauthChallenge)
	},
	FaultLoginURLQuery: func(t *testing.T, s *Server) {
		assertChallenge(t, enrollPost(t, s, enrollBYOD), `Bearer method="apple-as-web", url="https://mdm.acme.test/auth/login?tenant=acme"`)
		// The query replaced by user-identifier (iOS 26.1): the page fails.
		rec := serve(t, s, http.MethodGet, loginURL+"?user-identifier=alice%40acme.test")
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		// The query kept and user-identifier added (Apple's text): it works.
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?tenant=acme&user-identifier=alice%40acme.test")
		action, _ := form(t, l.pageURL, l.page)
		assert.Equal(t, loginURL+"?tenant=acme", action)
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		assert.Equal(t, http.StatusPermanentRedirect, l.otp(totpAt(t, acct, s.cfg.Now())).Code)
	},
	FaultESSOWrongMediaType: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, essoDocumentURL)
		assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
	},
	FaultESSONoStoreID: func(t *testing.T, s *Server) {
		assert.NotContains(t, essoDoc(t, s), "iTunesStoreID")
	},
	FaultESSOAppIDsInStandard: func(t *testing.T, s *Server) {
		assert.Contains(t, essoDoc(t, s), "AppIDs")
	},
	FaultESSOForbiddenPayload: func(t *testing.T, s *Server) {
		profile, _ := base64.StdEncoding.DecodeString(essoDoc(t, s)["ConfigurationProfile"].(string))
		assert.Contains(t, string(profile), "com.apple.wifi.managed")
	},
	FaultESSONoActivation: func(t *testing.T, s *Server) {
		for _, d := range essoDoc(t, s)["Declarations"].([]any) {
			b, _ := base64.StdEncoding.DecodeString(d.(string))
			assert.NotContains(t, string(b), "com.apple.activation.simple")
		}
	},
	FaultESSOHTTP: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD)
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Equal(t, "http://mdm.acme.test/esso", rec.Header().Get("X-Apple-MDM-ESSO"))
		assert.Equal(t, webChallenge, rec.Header().Get("WWW-Authenticate"))
	},
	FaultProfileWithoutAuth: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD)
		require.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, profileContentType, rec.Header().Get("Content-Type"))
		assert.Equal(t, "alice@acme.test", parseProfile(t, s, rec.Body.Bytes()).mdm(t)["AssignedManagedAppleID"])
		assert.Equal(t, "frank@acme.test", parseProfile(t, s, enrollPost(t, s, enrollOAuthADDE).Body.Bytes()).mdm(t)["AssignedManagedAppleID"])
	},
	FaultEnrollRejectsPKCS7: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD)
		assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
		assert.NotContains(t, rec.Header(), "Www-Authenticate")
		assertChallenge(t, enrollPost(t, s, enrollBYOD, withHeader("Content-Type", "application/x-www-form-urlencoded")), webChallenge)
		assertChallenge(t, enrollPost(t, s, enrollBYOD, withHeader("Content-Type", "application/xml")), webChallenge)
	},
	FaultEnrollAcceptsGarbage: func(t *testing.T, s *Server) {
		assertChallenge(t, enrollPost(t, s, enrollBYOD, withBody("hello, server")), webChallenge)
		assertChallenge(t, enrollPost(t, s, enrollBYOD, withBody("")), webChallenge)
		// A real body is still judged: an AppleTV is refused.
		assert.Equal(t, http.StatusForbidden, enrollPost(t, s, enrollBYOD, withBytes(deviceBody("AppleTV5,3"))).Code)
	},
	FaultEnrollAppleSignatureOnly: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD, withBytes(deviceBody("iPhone17,2")))
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	},
	FaultEnrollAnyProduct: func(t *testing.T, s *Server) {
		for _, product := range []string{"AppleTV5,3", "Watch7,1", "iPod9,1"} {
			assertChallenge(t, enrollPost(t, s, enrollBYOD, withBytes(deviceBody(product))), webChallenge)
		}
		assert.Equal(t, http.StatusBadRequest, enrollPost(t, s, enrollBYOD, withBody("garbage")).Code)
	},
	FaultEnrollRedirects: func(t *testing.T, s *Server) {
		for from, to := range map[string]string{
			enrollBYOD:      "https://mdm.acme.test/enrollment/byod",
			enrollOAuthADDE: "https://mdm.acme.test/enrollment/oauth/adde",
		} {
			rec := enrollPost(t, s, from)
			assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
			assert.Equal(t, to, rec.Header().Get("Location"))
		}
		assertChallenge(t, enrollPost(t, s, "https://mdm.acme.test/enrollment/byod"), webChallenge)
		_, p := fetchProfileWith(t, s, "https://mdm.acme.test/enrollment/byod", webToken(t, s, "alice@acme.test"))
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
	FaultErrorWithChallenge: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD, withBody("garbage"))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, webChallenge, rec.Header().Get("WWW-Authenticate"))
		rec = enrollPost(t, s, enrollOAuthBYOD, withBytes(deviceBody("AppleTV5,3")))
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Equal(t, oauthChallenge, rec.Header().Get("WWW-Authenticate"))
		rec = enrollPost(t, s, enrollBYOD, withHeader("Authorization", "Basic YTpi"))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, webChallenge, rec.Header().Get("WWW-Authenticate"))
	},

	FaultCallback302: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusFound, rec.Code)
		fetchProfileWith(t, s, enrollBYOD, callbackToken(t, rec))
	},
	FaultCallback303: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusSeeOther, rec.Code)
		fetchProfileWith(t, s, enrollBYOD, callbackToken(t, rec))
		// The identity provider's own hand-over is a 303 anyway; the
		// callback it leads to is what the fault changes.
		assert.Equal(t, http.StatusSeeOther, webLogin(t, s, "carol@acme.test").Code)
	},
	FaultCallbackNoToken: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
		assert.Equal(t, "apple-remotemanagement-user-login://authentication-results", rec.Header().Get("Location"))
	},
	FaultCallbackWrongHost: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
		loc := rec.Header().Get("Location")
		require.True(t, strings.HasPrefix(loc, "apple-remotemanagement-user-login://login-results?access-token="), loc)
		u, err := url.Parse(loc)
		require.NoError(t, err)
		fetchProfileWith(t, s, enrollBYOD, u.Query().Get("access-token"))
	},
	FaultCallbackCacheable: func(t *testing.T, s *Server) {
		rec := webLogin(t, s, "alice@acme.test")
		assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
		callbackToken(t, rec)
		assert.NotContains(t, rec.Header(), "Cache-Control")
	},
	FaultTokenPredictable: func(t *testing.T, s *Server) {
		token := webToken(t, s, "alice@acme.test")
		assert.Equal(t, base64.RawURLEncoding.EncodeToString([]byte("alice@acme.test")), token)
		assert.Equal(t, token, webToken(t, s, "alice@acme.test"), "the same token every time")
		fetchProfileWith(t, s, enrollBYOD, token)
	},
	FaultWrongPasswordAccepted: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		rec := l.password(acct.Identifier, "not her password")
		require.Equal(t, http.StatusSeeOther, rec.Code)
		assert.Equal(t, otpPath, rec.Header().Get("Location"))
		callbackToken(t, l.otp(totpAt(t, acct, s.cfg.Now())))
		// Unknown users still get nowhere.
		l = newBrowser(t, s).startLogin(loginURL)
		assert.Contains(t, l.password("nobody@acme.test", "x").Body.String(), `<p class="error">`)
	},

	FaultTOTPNotEnforced: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=alice%40acme.test")
		rec := l.password(acct.Identifier, acct.Password)
		assert.Equal(t, http.StatusPermanentRedirect, rec.Code)
		callbackToken(t, rec)
		// The password is still checked.
		l = newBrowser(t, s).startLogin(loginURL)
		assert.Equal(t, http.StatusOK, l.password(acct.Identifier, "wrong").Code)
	},
	FaultTOTPReplayAccepted: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		code := totpAt(t, acct, s.cfg.Now())
		for range 2 {
			l := newBrowser(t, s).startLogin(loginURL)
			require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
			callbackToken(t, l.otp(code))
		}
	},
	FaultTOTPAnyCode: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		now := s.cfg.Now()
		for _, code := range []string{wrongCode(t, acct, now), totpAt(t, acct, now.Add(-2*time.Minute))} {
			l := newBrowser(t, s).startLogin(loginURL)
			require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
			callbackToken(t, l.otp(code))
		}
		// Not a code at all, or a replay of a real one: still refused.
		real := totpAt(t, acct, now)
		for i, code := range []string{"12345a", real, real} {
			l := newBrowser(t, s).startLogin(loginURL)
			require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
			rec := l.otp(code)
			if i == 1 {
				callbackToken(t, rec)
				continue
			}
			assert.Equal(t, http.StatusOK, rec.Code, code)
			assert.Contains(t, rec.Body.String(), `<p class="error">`)
		}
	},
	FaultTOTPWideSkew: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		for _, steps := range []int{-5, 4} {
			l := newBrowser(t, s).startLogin(loginURL)
			require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
			callbackToken(t, l.otp(totpAt(t, acct, s.cfg.Now().Add(time.Duration(steps)*30*time.Second))))
		}
		l := newBrowser(t, s).startLogin(loginURL)
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		assert.Equal(t, http.StatusOK, l.otp(totpAt(t, acct, s.cfg.Now().Add(6*30*time.Second))).Code)
	},
	FaultTOTP5xx: func(t *testing.T, s *Server) {
		acct := account(t, s, "alice@acme.test")
		l := newBrowser(t, s).startLogin(loginURL)
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		rec := l.otp(wrongCode(t, acct, s.cfg.Now()))
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		assert.Empty(t, rec.Header().Get("Location"))
		callbackToken(t, l.otp(totpAt(t, acct, s.cfg.Now())))
	},

	FaultOAuthStateMangled: func(t *testing.T, s *Server) {
		_, state := codeOf(t, oauthLogin(t, s, authorizeURLFor("erin@acme.test", "340B948D-6D4A"), "erin@acme.test"))
		assert.Equal(t, "340B94", state, "the first half of 340B948D-6D4A")
	},
	FaultOAuthRequiresPKCE: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, authorizeURLFor("erin@acme.test", "s1"))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Contains(t, rec.Body.String(), "code_challenge")
		code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor("erin@acme.test", "s1", "code_challenge=abc", "code_challenge_method=S256"), "erin@acme.test"))
		rec, _ = tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusOK, rec.Code, "no code_verifier needed at the token endpoint")
	},
	FaultOAuthBadTokenType: func(t *testing.T, s *Server) {
		body := oauthTokens(t, s, "erin@acme.test")
		assert.Equal(t, "mac", body["token_type"])
		fetchProfileWith(t, s, enrollOAuthBYOD, body["access_token"].(string))
	},
	FaultOAuthCodeReuse: func(t *testing.T, s *Server) {
		code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor("erin@acme.test", "s"), "erin@acme.test"))
		rec1, body1 := tokenRequest(t, s, codeGrant(code))
		rec2, body2 := tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusOK, rec1.Code)
		assert.Equal(t, http.StatusOK, rec2.Code)
		assert.NotEqual(t, body1["access_token"], body2["access_token"])
		fetchProfileWith(t, s, enrollOAuthBYOD, body1["access_token"].(string))
	},
	FaultOAuthNoRefresh: func(t *testing.T, s *Server) {
		body := oauthTokens(t, s, "erin@acme.test")
		rec, errBody := tokenRequest(t, s, url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {body["refresh_token"].(string)}, "client_id": {OAuthClientID}})
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "unsupported_grant_type", errBody["error"])
	},
	FaultOAuthError200: func(t *testing.T, s *Server) {
		rec, body := tokenRequest(t, s, codeGrant("no-such-code"))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "invalid_grant", body["error"])
		assert.NotContains(t, body, "access_token")
		assert.Equal(t, "Bearer", oauthTokens(t, s, "erin@acme.test")["token_type"])
	},
	FaultOAuthTokenBOM: func(t *testing.T, s *Server) {
		code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor("erin@acme.test", "s"), "erin@acme.test"))
		for _, form := range []url.Values{codeGrant(code), codeGrant("no-such-code")} {
			rec := serve(t, s, http.MethodPost, tokenEndpoint, withHeader("Content-Type", "application/x-www-form-urlencoded"), withBody(form.Encode()))
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			require.True(t, strings.HasPrefix(rec.Body.String(), "\xEF\xBB\xBF"), rec.Body.String())
			assert.True(t, json.Valid(rec.Body.Bytes()[3:]))
		}
	},
	FaultOAuthKeepsQuery: func(t *testing.T, s *Server) {
		want := strings.Replace(oauthChallenge, "/oauth2/authorize", "/oauth2/authorize?realm=acme", 1)
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD), want)
		assert.Equal(t, http.StatusBadRequest, serve(t, s, http.MethodGet, authorizeURLFor("erin@acme.test", "s")).Code)
		// The device keeps the query and appends its own parameters.
		kept := authorizeBase + "?realm=acme&" + strings.TrimPrefix(authorizeURLFor("erin@acme.test", "s"), authorizeBase+"?")
		code, _ := codeOf(t, oauthLogin(t, s, kept, "erin@acme.test"))
		rec, _ := tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusOK, rec.Code)
	},
	FaultOAuthClientAuth: func(t *testing.T, s *Server) {
		code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor("erin@acme.test", "s"), "erin@acme.test"))
		rec, body := tokenRequest(t, s, codeGrant(code))
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Equal(t, "invalid_client", body["error"])
		assert.Equal(t, `Basic realm="idp.acme.test"`, rec.Header().Get("WWW-Authenticate"))
		rec, body = tokenRequest(t, s, codeGrant(code), func(r *http.Request) { r.SetBasicAuth(OAuthClientID, "secret") })
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.NotEmpty(t, body["access_token"])
	},

	FaultTokenIgnored: func(t *testing.T, s *Server) {
		_, p := fetchProfileWith(t, s, enrollBYOD, "random-token")
		assert.Equal(t, "alice@acme.test", p.mdm(t)["AssignedManagedAppleID"])
		_, p = fetchProfileWith(t, s, enrollADDE, "random-token")
		assert.Equal(t, "carol@acme.test", p.mdm(t)["AssignedManagedAppleID"])
		// Still a challenge without a token, still a 400 for a malformed one.
		assertChallenge(t, enrollPost(t, s, enrollBYOD), webChallenge)
		assert.Equal(t, http.StatusBadRequest, enrollPost(t, s, enrollBYOD, withHeader("Authorization", "Bearer")).Code)
	},
	FaultTokenCrossUser: func(t *testing.T, s *Server) {
		token := oauthTokens(t, s, "erin@acme.test")["access_token"].(string)
		_, p := fetchProfileWith(t, s, enrollOAuthBYOD, token)
		assert.Equal(t, "alice@acme.test", p.mdm(t)["AssignedManagedAppleID"])
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
		// Invalid tokens are still refused.
		assertChallenge(t, enrollPost(t, s, enrollOAuthBYOD, bearer("random")), oauthChallenge)
	},

	FaultProfileEmpty: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD, bearer(webToken(t, s, "alice@acme.test")))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, profileContentType, rec.Header().Get("Content-Type"))
		assert.Empty(t, rec.Body.Bytes())
	},
	FaultProfileNotPlist: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD, bearer(webToken(t, s, "alice@acme.test")))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.True(t, json.Valid(rec.Body.Bytes()), rec.Body.String())
		assert.True(t, bytes.HasPrefix(rec.Body.Bytes(), []byte("{")))
		_, err := pkcs7.Parse(rec.Body.Bytes())
		assert.Error(t, err, "not CMS either")
	},
	FaultProfileTwoMDM: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		mdm := p.payloads("com.apple.mdm")
		require.Len(t, mdm, 2)
		assert.NotEqual(t, mdm[0]["PayloadUUID"], mdm[1]["PayloadUUID"])
	},
	FaultProfileWrongMode: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "ADDE", p.mdm(t)["EnrollmentMode"])
		assert.NotContains(t, p.mdm(t), "AccessRights")
		_, p = fetchProfileWith(t, s, enrollADDE, webToken(t, s, "carol@acme.test"))
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
	FaultProfileNoAssignedID: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.NotContains(t, p.mdm(t), "AssignedManagedAppleID")
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
	FaultProfileWrongUser: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "bob@acme.test", p.mdm(t)["AssignedManagedAppleID"])
	},
	FaultProfileBYODAccessRights: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, uint64(8191), p.mdm(t)["AccessRights"])
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
	FaultProfileBadAccessRights: func(t *testing.T, s *Server) {
		_, p := fetchProfileWith(t, s, enrollADDE, webToken(t, s, "carol@acme.test"))
		assert.Equal(t, uint64(2), p.mdm(t)["AccessRights"])
		_, p = aliceProfile(t, s)
		assert.NotContains(t, p.mdm(t), "AccessRights")
	},
	FaultProfileManagedAppleID: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "alice@acme.test", p.mdm(t)["ManagedAppleID"])
		assert.Equal(t, "alice@acme.test", p.mdm(t)["AssignedManagedAppleID"])
	},
	FaultProfileIdentityMismatch: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		id := p.mdm(t)["IdentityCertificateUUID"]
		assert.NotEmpty(t, id)
		content, _ := p.top["PayloadContent"].([]any)
		for _, c := range content {
			assert.NotEqual(t, id, c.(map[string]any)["PayloadUUID"])
		}
	},
	FaultProfileBadTopic: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "com.acme.mdm.push", p.mdm(t)["Topic"])
	},
	FaultProfileHTTPServerURL: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "http://mdm.acme.test/mdm/connect", p.mdm(t)["ServerURL"])
		assert.Equal(t, "https://mdm.acme.test/mdm/checkin", p.mdm(t)["CheckInURL"])
	},
	FaultProfileMacNoPerUser: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, []any{"com.apple.mdm.bootstraptoken", "com.apple.mdm.token"}, p.mdm(t)["ServerCapabilities"])
	},
	FaultProfileRequiredAppIDString: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "1234567890", p.mdm(t)["RequiredAppIDForMDM"])
	},
	FaultProfileBYODDisallowedPayload: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Len(t, p.payloads("com.apple.domains"), 1)
		assert.Len(t, p.top["PayloadContent"], 3)
	},
	FaultProfileACMEHardwareRSA: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		acme := p.payloads("com.apple.security.acme")
		require.Len(t, acme, 1)
		assert.Equal(t, true, acme[0]["HardwareBound"])
		assert.Equal(t, "RSA", acme[0]["KeyType"])
	},
	FaultProfileUnsigned: func(t *testing.T, s *Server) {
		rec, p := aliceProfile(t, s)
		assert.True(t, bytes.HasPrefix(rec.Body.Bytes(), []byte("<?xml")))
		assert.False(t, p.signed)
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
	FaultProfileOtherTenant: func(t *testing.T, s *Server) {
		_, p := aliceProfile(t, s)
		assert.Equal(t, "https://mdm.globex.test/mdm/connect", p.mdm(t)["ServerURL"])
	},
	FaultProfileContentType: func(t *testing.T, s *Server) {
		rec, p := aliceProfile(t, s)
		assert.Equal(t, "text/xml", rec.Header().Get("Content-Type"))
		assert.True(t, p.signed)
	},
	FaultProfileBomb: func(t *testing.T, s *Server) {
		rec := enrollPost(t, s, enrollBYOD, bearer(webToken(t, s, "alice@acme.test")))
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Less(t, rec.Body.Len(), 8<<10, "a small body")
		p7, err := pkcs7.Parse(rec.Body.Bytes())
		require.NoError(t, err)
		assert.True(t, bytes.HasPrefix(p7.Content, []byte("bplist00")))
		_, err = profile.Parse(rec.Body.Bytes())
		assert.ErrorIs(t, err, profile.ErrLimit)
		assert.ErrorContains(t, err, "shared references")
	},
	FaultProfileHuge: func(t *testing.T, s *Server) {
		rec, p := aliceProfile(t, s)
		assert.Greater(t, rec.Body.Len(), 2<<20)
		assert.True(t, p.signed)
		assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	},
}
