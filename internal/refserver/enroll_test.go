package refserver

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

func TestDiscoveryRoutesBySignInMethod(t *testing.T) {
	s := start(t)
	for query, want := range map[string]string{
		"?user-identifier=erin%40acme.test&model-family=iPhone": `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll/oauth/byod"}]}`,
		"?user-identifier=frank%40acme.test&model-family=Mac":   `{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll/oauth/adde"}]}`,
		"?user-identifier=carol%40acme.test&model-family=iPad":  addeDoc,
		aliceQ: byodDoc,
	} {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+query), want)
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+query), want)
		rec := serve(t, s, http.MethodGet, axmLookup+query)
		require.Equal(t, http.StatusFound, rec.Code)
		assertDoc(t, serve(t, s, http.MethodGet, rec.Header().Get("Location")), want)
	}
}

func TestFirstPostChallenges(t *testing.T) {
	s := start(t)
	tests := []struct {
		name   string
		target string
		opts   []reqOpt
		want   string
	}{
		{"byod, pkcs7", enrollBYOD, nil, webChallenge},
		{"adde, pkcs7", enrollADDE, nil, webChallenge},
		{"oauth byod", enrollOAuthBYOD, nil, oauthChallenge},
		{"oauth adde", enrollOAuthADDE, nil, oauthChallenge},
		{"form content type (iOS 15)", enrollBYOD, []reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded")}, webChallenge},
		{"xml content type (Apple's example)", enrollBYOD, []reqOpt{withHeader("Content-Type", "application/xml")}, webChallenge},
		{"no content type", enrollBYOD, []reqOpt{func(r *http.Request) { r.Header.Del("Content-Type") }}, webChallenge},
		{"iPad", enrollBYOD, []reqOpt{withBytes(deviceBody("iPad16,3"))}, webChallenge},
		{"Mac", enrollADDE, []reqOpt{withBytes(deviceBody("Mac15,12"))}, webChallenge},
		{"Vision Pro", enrollBYOD, []reqOpt{withBytes(deviceBody("RealityDevice14,1"))}, webChallenge},
		{"random token", enrollBYOD, []reqOpt{bearer("dGhpcyBpcyBub3QgYSB0b2tlbg")}, webChallenge},
		{"random token, oauth", enrollOAuthADDE, []reqOpt{bearer("abc.def~ghi+jkl/mno==")}, oauthChallenge},
		{"lower-case scheme, random token", enrollBYOD, []reqOpt{withHeader("Authorization", "bearer xyz")}, webChallenge},
		{"query on the BaseURL", enrollBYOD + "?x=1", nil, webChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := enrollPost(t, s, tt.target, tt.opts...)
			assertChallenge(t, rec, tt.want)
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
}

func TestEnrollRefusals(t *testing.T) {
	s := start(t)
	notPlist := signCMS([]byte("LANGUAGE=en-US PRODUCT=iPhone17,2"))
	tampered := append([]byte(nil), iPhoneBody()...)
	i := strings.Index(string(tampered), "iPhone17,2")
	require.Positive(t, i)
	tampered[i+len("iPhone")] = '9' // iPhone97,2: content no longer matches the signature
	unsignedPlist, err := plist.Marshal(map[string]string{"LANGUAGE": "en", "PRODUCT": "iPhone17,2", "VERSION": "22C161"}, plist.XMLFormat)
	require.NoError(t, err)

	tests := []struct {
		name   string
		target string
		opts   []reqOpt
		code   int
		body   string // substring
	}{
		{"not CMS", enrollBYOD, []reqOpt{withBody("hello")}, http.StatusBadRequest, "not a signed enrollment request"},
		{"empty body", enrollOAuthBYOD, []reqOpt{withBody("")}, http.StatusBadRequest, "not a signed enrollment request"},
		{"a bare plist", enrollBYOD, []reqOpt{withBytes(unsignedPlist)}, http.StatusBadRequest, "not a signed enrollment request"},
		{"CMS over something else", enrollBYOD, []reqOpt{withBytes(notPlist)}, http.StatusBadRequest, "not a signed enrollment request"},
		{"signature broken", enrollADDE, []reqOpt{withBytes(tampered)}, http.StatusBadRequest, "not a signed enrollment request"},
		{"no PRODUCT", enrollBYOD, []reqOpt{withBytes(bodyWith(map[string]string{"LANGUAGE": "en", "VERSION": "22C161"}))}, http.StatusBadRequest, "PRODUCT"},
		{"too large", enrollBYOD, []reqOpt{withBody(strings.Repeat("x", maxEnrollBodyBytes+1))}, http.StatusBadRequest, "larger than 64 KiB"},
		{"AppleTV", enrollBYOD, []reqOpt{withBytes(deviceBody("AppleTV5,3"))}, http.StatusForbidden, `"AppleTV5,3"`},
		{"Watch", enrollOAuthADDE, []reqOpt{withBytes(deviceBody("Watch7,1"))}, http.StatusForbidden, "cannot enroll"},
		{"iPod", enrollBYOD, []reqOpt{withBytes(deviceBody("iPod9,1"))}, http.StatusForbidden, "cannot enroll"},
		{"empty PRODUCT", enrollBYOD, []reqOpt{withBytes(deviceBody(""))}, http.StatusForbidden, "cannot enroll"},
		{"refused product even with a token", enrollBYOD, []reqOpt{withBytes(deviceBody("AppleTV5,3")), bearer("x")}, http.StatusForbidden, ""},
		{"Basic credentials", enrollBYOD, []reqOpt{withHeader("Authorization", "Basic YWxpY2U6cHc=")}, http.StatusBadRequest, "Bearer <token>"},
		{"Bearer without token", enrollBYOD, []reqOpt{withHeader("Authorization", "Bearer")}, http.StatusBadRequest, "Bearer <token>"},
		{"Bearer and a space", enrollBYOD, []reqOpt{withHeader("Authorization", "Bearer ")}, http.StatusBadRequest, "Bearer <token>"},
		{"two words", enrollBYOD, []reqOpt{withHeader("Authorization", "Bearer a b")}, http.StatusBadRequest, "Bearer <token>"},
		{"empty header", enrollOAuthBYOD, []reqOpt{withHeader("Authorization", "")}, http.StatusBadRequest, "Bearer <token>"},
		{"token with a quote", enrollBYOD, []reqOpt{withHeader("Authorization", `Bearer "abc"`)}, http.StatusBadRequest, "Bearer <token>"},
		{"two Authorization headers", enrollBYOD, []reqOpt{func(r *http.Request) {
			r.Header.Add("Authorization", "Bearer a")
			r.Header.Add("Authorization", "Bearer b")
		}}, http.StatusBadRequest, "Bearer <token>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := enrollPost(t, s, tt.target, tt.opts...)
			assert.Equal(t, tt.code, rec.Code, "body: %s", rec.Body.String())
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Contains(t, rec.Body.String(), tt.body)
			assert.NotContains(t, rec.Header(), "Www-Authenticate", "a refusal is no invitation to sign in")
		})
	}
}

// Tokens are bound to the user's enrollment type and expire after an hour
// by the server's clock.
func TestTokenBinding(t *testing.T) {
	s := start(t)
	alice := webToken(t, s, "alice@acme.test")
	carol := webToken(t, s, "carol@acme.test")
	erin := oauthTokens(t, s, "erin@acme.test")["access_token"].(string)
	last := "A"
	if strings.HasSuffix(alice, last) {
		last = "B"
	}
	altered := alice[:len(alice)-1] + last

	tests := []struct {
		name   string
		target string
		token  string
		user   string // "" means refused with a challenge
	}{
		{"alice at byod", enrollBYOD, alice, "alice@acme.test"},
		{"alice at adde", enrollADDE, alice, ""},
		{"alice at oauth adde", enrollOAuthADDE, alice, ""},
		{"carol at adde", enrollADDE, carol, "carol@acme.test"},
		{"carol at byod", enrollBYOD, carol, ""},
		{"erin at oauth byod", enrollOAuthBYOD, erin, "erin@acme.test"},
		{"erin at oauth adde", enrollOAuthADDE, erin, ""},
		// The type is what the token is bound to; which sign-in minted it
		// does not matter.
		{"alice at oauth byod", enrollOAuthBYOD, alice, "alice@acme.test"},
		{"token with a character changed", enrollBYOD, altered, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.user == "" {
				want := webChallenge
				if strings.Contains(tt.target, "/oauth/") {
					want = oauthChallenge
				}
				assertChallenge(t, enrollPost(t, s, tt.target, bearer(tt.token)), want)
				return
			}
			_, p := fetchProfileWith(t, s, tt.target, tt.token)
			assert.Equal(t, tt.user, p.mdm(t)["AssignedManagedAppleID"])
		})
	}

	t.Run("expiry", func(t *testing.T) {
		clk := clockOf(t, s)
		fresh := webToken(t, s, "bob@acme.test")
		clk.advance(time.Hour - time.Second)
		fetchProfileWith(t, s, enrollBYOD, fresh)
		clk.advance(time.Second)
		assertChallenge(t, enrollPost(t, s, enrollBYOD, bearer(fresh)), webChallenge)
	})
}

func TestNoServerErrorOnEnrollment(t *testing.T) {
	s := start(t)
	bodies := [][]byte{nil, []byte("0"), []byte{0x30, 0x82, 0xff, 0xff}, []byte("<?xml version=\"1.0\"?><plist/>"),
		signCMS(nil), signCMS([]byte("<plist><array/></plist>")), deviceBody("iPhone17,2")}
	auths := []string{"", "Bearer", "Bearer \x00", "Bearer " + strings.Repeat("a", 10000), "Negotiate x", "Bearer a=b"}
	for _, e := range enrollEndpoints {
		for _, b := range bodies {
			for _, a := range auths {
				rec := enrollPost(t, s, "https://mdm.acme.test"+e.path, withBytes(b), withHeader("Authorization", a))
				assert.Less(t, rec.Code, 500, "%s body %q auth %q: %d", e.path, b, a, rec.Code)
				assert.GreaterOrEqual(t, rec.Code, 400)
			}
		}
	}
}

// A discovery fault that hands everyone one enrollment type carries into
// the tokens, so that the flow it starts still enrolls: the fault breaks
// routing only.
func TestDiscoveryFaultsCarryIntoTokens(t *testing.T) {
	s := start(t, FaultWellKnownBYODForAll)
	assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=carol%40acme.test&model-family=iPhone"), byodDoc)
	_, p := fetchProfileWith(t, s, enrollBYOD, webToken(t, s, "carol@acme.test"))
	assert.Equal(t, "BYOD", p.mdm(t)["EnrollmentMode"])
	assert.Equal(t, "carol@acme.test", p.mdm(t)["AssignedManagedAppleID"])

	s = start(t, FaultWellKnownADDEForAll)
	_, p = fetchProfileWith(t, s, enrollADDE, webToken(t, s, "alice@acme.test"))
	assert.Equal(t, "ADDE", p.mdm(t)["EnrollmentMode"])
	assertChallenge(t, enrollPost(t, s, enrollBYOD, bearer(webToken(t, s, "bob@acme.test"))), webChallenge)
}
