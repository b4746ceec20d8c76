package refserver

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/internal/axm"
)

// faultEffects holds one row per fault: the HTTP-level effect of the fault
// on a server running only that fault. Whether the effect trips the listed
// checks is tested with the engine; here it is the wire that counts.
var faultEffects = map[string]func(t *testing.T, s *Server){
	FaultRegistersBaseURL: func(t *testing.T, s *Server) {
		u, _, ok := s.AxM().Registered(AxMServerName)
		require.True(t, ok)
		assert.Equal(t, enrollBYODURL, u)
	},
	FaultRegistersHTTPURL: func(t *testing.T, s *Server) {
		_, _, ok := s.AxM().Registered(AxMServerName)
		assert.False(t, ok, "the stand-in refused the http URL")
	},
	FaultNeverRemovesURL: func(t *testing.T, s *Server) {
		withdraw, _ := s.AxMAdminURLs()
		assert.Equal(t, http.StatusOK, serve(t, s, http.MethodPost, withdraw).Code)
		_, _, ok := s.AxM().Registered(AxMServerName)
		assert.True(t, ok, "still registered after the withdraw")
	},
	FaultSkipsProtocolHeader: func(t *testing.T, s *Server) {
		for _, c := range s.AxM().Calls(AxMServerName) {
			assert.Empty(t, c.Header.Get(axm.ProtocolHeader))
		}
	},
	FaultAxMRetryLoop: func(t *testing.T, s *Server) {
		assert.Len(t, s.AxM().Calls(AxMServerName), 5+axmRetryLoopGets)
	},
	FaultDiscoveryURLSetsCookie: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmSD+aliceQ)
		assertDoc(t, rec, byodDoc)
		assert.Contains(t, rec.Header().Get("Set-Cookie"), "mdm_session=")
	},
	FaultWellKnown404: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.Equal(t, http.StatusNotFound, rec.Code)
		assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
		assert.Empty(t, rec.Header().Get("Location"))
	},
	FaultWellKnownContentType: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+aliceQ)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "text/plain", rec.Header().Get("Content-Type"))
		assert.Equal(t, byodDoc, rec.Body.String())
		// The registered URL is not what this fault breaks.
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+aliceQ), byodDoc)
	},
	FaultWellKnownBadJSON: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+aliceQ)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, `{"Servers": [`, rec.Body.String())
		assert.False(t, json.Valid(rec.Body.Bytes()))
	},
	FaultWellKnownBOM: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), "\xEF\xBB\xBF"+byodDoc)
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+aliceQ), byodDoc)
	},
	FaultWellKnownLarge: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+aliceQ)
		var doc map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
		assert.Greater(t, rec.Body.Len(), 100<<10)
		assert.Less(t, rec.Body.Len(), 1<<20)
		assertDoc(t, rec, strings.TrimSuffix(byodDoc, "}")+`,"Notes":"`+strings.Repeat("n", 100<<10)+`"}`)
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+aliceQ), byodDoc)
	},
	FaultWellKnownEmptyServers: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), `{"Servers":[]}`)
	},
	FaultWellKnownMissingBaseURL: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), `{"Servers":[{"Version":"mdm-byod"}]}`)
	},
	FaultWellKnownTwoServers: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ),
			`{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll/byod"},`+
				`{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll/adde"}]}`)
	},
	FaultWellKnownHTTPBaseURL: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ),
			`{"Servers":[{"Version":"mdm-byod","BaseURL":"http://mdm.acme.test/enroll/byod"}]}`)
	},
	FaultWellKnownUnknownVersion: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ),
			`{"Servers":[{"Version":"mdm-byod-v2","BaseURL":"https://mdm.acme.test/enroll/byod"}]}`)
	},
	FaultWellKnownADDEForAll: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), addeDoc)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=bob%40acme.test&model-family=iPad"), addeDoc)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=carol%40acme.test&model-family=iPhone"), addeDoc)
	},
	FaultWellKnownBYODForAll: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=carol%40acme.test&model-family=iPhone"), byodDoc)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), byodDoc)
	},
	FaultWellKnownAcceptsAnyone: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=nobody%40example.com&model-family=iPhone"), byodDoc)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=carol%40acme.test&model-family=iPhone"), addeDoc)
	},
	FaultWellKnownBadRejection: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+"?user-identifier=nobody%40acme.test&model-family=iPhone")
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		assert.Equal(t, `{"code":"com.apple.well-known.rejected"}`, rec.Body.String())
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), byodDoc)
	},
	FaultWellKnownPlistRejection: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+"?user-identifier=nobody%40acme.test&model-family=iPhone")
		assert.Equal(t, http.StatusForbidden, rec.Code)
		assert.Equal(t, "application/xml", rec.Header().Get("Content-Type"))
		assert.True(t, strings.HasPrefix(rec.Body.String(), "<?xml"), "body: %s", rec.Body.String())
		var body map[string]string
		format, err := plist.Unmarshal(rec.Body.Bytes(), &body)
		require.NoError(t, err)
		assert.Equal(t, plist.XMLFormat, format)
		assert.Equal(t, "com.apple.well-known.failed", body["code"])
		assert.NotEmpty(t, body["message"])
	},
	FaultWellKnownNeedsCookie: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+aliceQ)
		assert.Equal(t, http.StatusFound, rec.Code)
		assert.Equal(t, mdmWK+aliceQ, rec.Header().Get("Location"))
		cookies := rec.Result().Cookies()
		require.Len(t, cookies, 1)
		assert.Equal(t, "session", cookies[0].Name)
		assert.NotEmpty(t, cookies[0].Value)
		assertDoc(t, serve(t, s, http.MethodGet, rec.Header().Get("Location"), withCookie(cookies[0])), byodDoc)
	},
	FaultWellKnownRequiresModelFamily: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+"?user-identifier=alice%40acme.test")
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), byodDoc)
	},
	FaultWellKnownAnyFamily: func(t *testing.T, s *Server) {
		for _, family := range []string{"AppleTV", "Watch", "Toaster"} {
			assertDoc(t, serve(t, s, http.MethodGet, mdmWK+"?user-identifier=alice%40acme.test&model-family="+family), byodDoc)
		}
	},
	FaultWellKnownSlow: func(t *testing.T, s *Server) {
		begin := time.Now()
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.GreaterOrEqual(t, time.Since(begin), 50*time.Millisecond)
		assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
		assert.Equal(t, mdmWK+aliceQ, rec.Header().Get("Location"))
	},
	FaultWellKnownCacheable: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmWK+aliceQ)
		assert.Equal(t, http.StatusOK, rec.Code)
		assert.Equal(t, byodDoc, rec.Body.String())
		assert.NotContains(t, rec.Header(), "Cache-Control")
	},
	FaultRedirectLoop: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
		assert.Equal(t, orgWK+aliceQ, rec.Header().Get("Location"))
	},
	FaultRedirectToHTTP: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
		assert.Equal(t, "http://mdm.acme.test/.well-known/com.apple.remotemanagement"+aliceQ, rec.Header().Get("Location"))
	},
	FaultRedirectDropsQuery: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
		assert.Equal(t, mdmWK, rec.Header().Get("Location"))
		// Without its parameters the target cannot answer for alice.
		assertRejected(t, serve(t, s, http.MethodGet, rec.Header().Get("Location")))
	},
	FaultRedirectNoLocation: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assert.Equal(t, http.StatusFound, rec.Code)
		assert.NotContains(t, rec.Header(), "Location")
	},
	FaultAxMUnregistered: func(t *testing.T, s *Server) {
		assert.Equal(t, http.StatusNotFound, serve(t, s, http.MethodGet, axmProf, axmSession(t, s)).Code)
		assert.Equal(t, http.StatusNotFound, serve(t, s, http.MethodGet, axmLookup+aliceQ).Code)
		// The domain path still works: only the fallback is missing.
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), byodDoc)
	},
	FaultAxMNeedsQuery: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, mdmSD)
		assert.Equal(t, http.StatusInternalServerError, rec.Code)
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+aliceQ), byodDoc)
		assertRejected(t, serve(t, s, http.MethodGet, mdmWK))
	},
	FaultAxMDisagrees: func(t *testing.T, s *Server) {
		assertDoc(t, serve(t, s, http.MethodGet, mdmSD+aliceQ),
			`{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll/other"}]}`)
		assertDoc(t, serve(t, s, http.MethodGet, mdmWK+aliceQ), byodDoc)
	},
	FaultJSCallbackNoToken: jsCallbackNoTokenEffect,
	FaultJSPasswordHTTP:    jsPasswordHTTPEffect,
	FaultJSNoPrefill:       jsNoPrefillEffect,
	FaultDirectWellKnown: func(t *testing.T, s *Server) {
		rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
		assertDoc(t, rec, byodDoc)
		assert.Empty(t, rec.Header().Get("Location"))
		assertRejected(t, serve(t, s, http.MethodGet, orgWK+"?user-identifier=nobody%40acme.test"))
	},
}

func TestFaultEffects(t *testing.T) {
	for _, f := range Faults() {
		t.Run(f.Name, func(t *testing.T) {
			if _, ok := pushFaultEffects[f.Name]; ok {
				return // TestPushFaultEffects: a server that pushes
			}
			if _, ok := ddmFaultEffects[f.Name]; ok {
				return // TestDDMFaultEffects: a device that syncs
			}
			effect, ok := faultEffects[f.Name]
			require.True(t, ok, "fault %s has no row in faultEffects or pushFaultEffects", f.Name)
			effect(t, start(t, f.Name))
		})
	}
	assert.Len(t, faultEffects, len(Faults())-len(pushFaultEffects)-len(ddmFaultEffects), "faultEffects has rows for faults that do not exist")
}

// The conforming server must show none of the fault effects; spot-check the
// org domain answers that faults replace.
func TestFaultsOffByDefault(t *testing.T) {
	s := start(t)
	rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
	assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
	assert.Equal(t, mdmWK+aliceQ, rec.Header().Get("Location"))
	assert.Empty(t, rec.Result().Cookies())
}

func TestFaultsCombine(t *testing.T) {
	s := start(t, FaultDirectWellKnown, FaultWellKnownContentType, FaultWellKnownCacheable, FaultWellKnownHTTPBaseURL)
	rec := serve(t, s, http.MethodGet, orgWK+aliceQ)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/plain", rec.Header().Get("Content-Type"))
	assert.NotContains(t, rec.Header(), "Cache-Control")
	assert.Equal(t, `{"Servers":[{"Version":"mdm-byod","BaseURL":"http://mdm.acme.test/enroll/byod"}]}`, rec.Body.String())
}

// wantFaults is the lead's table, kept here so that an edit to the catalogue
// is a deliberate one: name → probe, account, trips.
var wantFaults = map[string]string{
	"wellknown-404":                   "iphone@18.1 alice WK-001",
	"wellknown-content-type":          "iphone@18.1 alice WK-001 WK-002",
	"wellknown-bad-json":              "iphone@18.1 alice WK-001 WK-003",
	"wellknown-empty-servers":         "iphone@18.1 alice WK-001 WK-003",
	"wellknown-missing-baseurl":       "iphone@18.1 alice WK-001 WK-004",
	"wellknown-two-servers":           "iphone@18.1 alice WK-006",
	"wellknown-http-baseurl":          "iphone@18.1 alice WK-007 ABM-009",
	"wellknown-unknown-version":       "iphone@18.1 alice WK-001 WK-005",
	"wellknown-adde-for-all":          "iphone@16.7 alice WK-008 WK-017 ABM-009",
	"wellknown-accepts-anyone":        "iphone@18.1 alice WK-009",
	"wellknown-bad-rejection":         "iphone@18.1 alice WK-010",
	"wellknown-plist-rejection":       "iphone@18.1 alice WK-011",
	"wellknown-needs-cookie":          "iphone@18.1 alice WK-001 WK-012 RD-004",
	"wellknown-requires-model-family": "iphone@18.1 alice WK-013",
	"wellknown-any-family":            "iphone@18.1 alice WK-014",
	"wellknown-slow":                  "iphone@18.2 alice WK-015 SEC-003",
	"wellknown-cacheable":             "iphone@18.1 alice WK-016",
	"wellknown-bom":                   "iphone@18.1 alice WK-003",
	"wellknown-large":                 "iphone@18.1 alice SEC-003",
	"wellknown-byod-for-all":          "iphone@18.1 carol WK-017 ABM-009",
	"redirect-loop":                   "iphone@18.1 alice WK-001 RD-004",
	"redirect-to-http":                "iphone@18.1 alice WK-001 RD-003",
	"scep-wrong-challenge":            "iphone@18.2 alice CHK-001",
	"redirect-drops-query":            "iphone@18.2 alice RD-002",
	"redirect-no-location":            "iphone@18.1 alice WK-001 RD-005",
	"axm-retry-loop":                  "iphone@18.2 alice ABM-006",
	"discovery-url-sets-cookie":       "iphone@18.2 alice ABM-005",
	"never-removes-url":               "iphone@18.2 alice ABM-001",
	"registers-baseurl":               "iphone@18.2 alice ABM-003",
	"registers-http-url":              "iphone@18.2 alice ABM-002 ABM-003",
	"skips-protocol-header":           "iphone@18.2 alice ABM-001",
	"axm-unregistered":                "iphone@18.2 alice ABM-001 ABM-003",
	"axm-needs-query":                 "iphone@18.2 alice ABM-004",
	"axm-disagrees":                   "iphone@18.2 alice ABM-009",
	"direct-wellknown":                "iphone@18.1 alice",

	"no-www-authenticate":                  "iphone@18.2 alice ENR-002",
	"unknown-method":                       "iphone@18.2 alice ENR-002",
	"commaless-challenge":                  "iphone@18.2 alice ENR-006",
	"http-login-url":                       "iphone@18.2 alice ENR-004 AUTH-001",
	"login-url-query":                      "iphone@18.2 alice ENR-007 AUTH-001",
	"esso-http":                            "iphone@18.2 alice ENR-012",
	"esso-wrong-media-type":                "iphone@18.2 judy ESSO-001",
	"esso-no-itunesstoreid":                "iphone@18.2 judy ESSO-002",
	"esso-appids-in-standard":              "iphone@18.2 judy ESSO-003",
	"esso-forbidden-payload":               "iphone@18.2 judy ESSO-004",
	"esso-declarations-without-activation": "iphone@26.1 judy ESSO-005",
	"profile-without-auth":                 "iphone@18.2 alice ENR-001",
	"enroll-rejects-pkcs7":                 "iphone@18.2 alice ENR-001 ENR-008",
	"enroll-accepts-garbage":               "iphone@18.2 alice ENR-009",
	"enroll-any-product":                   "iphone@18.2 alice ENR-010",
	"enroll-redirects":                     "iphone@18.2 alice ENR-011",
	"error-with-challenge":                 "iphone@18.2 alice ENR-013",
	"callback-302":                         "iphone@18.2 alice AUTH-004",
	"callback-303":                         "iphone@18.2 alice AUTH-004",
	"callback-no-token":                    "iphone@18.2 alice AUTH-003",
	"callback-wrong-host":                  "iphone@18.2 alice AUTH-003",
	"callback-cacheable":                   "iphone@18.2 alice AUTH-008",
	"callback-meta-refresh":                "iphone@18.2 alice",
	"callback-script-navigation":           "iphone@18.2 alice",
	"callback-in-json-body":                "iphone@18.2 alice",
	"token-predictable":                    "iphone@18.2 alice AUTH-007",
	"wrong-password-accepted":              "iphone@18.2 alice AUTH-006",
	"totp-not-enforced":                    "iphone@18.2 alice TOTP-001",
	"totp-replay-accepted":                 "iphone@18.2 alice TOTP-004",
	"totp-any-code":                        "iphone@18.2 alice TOTP-003 TOTP-005",
	"totp-wide-skew":                       "iphone@18.2 alice TOTP-005",
	"totp-5xx":                             "iphone@18.2 alice TOTP-003",
	"oauth-state-mangled":                  "iphone@18.2 erin AUTH-011",
	"oauth-requires-pkce":                  "iphone@18.2 erin AUTH-010",
	"oauth-bad-token-type":                 "iphone@18.2 erin AUTH-013",
	"oauth-code-reuse":                     "iphone@18.2 erin AUTH-014",
	"oauth-no-refresh":                     "iphone@18.2 erin AUTH-015",
	"oauth-error-200":                      "iphone@18.2 erin AUTH-016",
	"oauth-token-bom":                      "iphone@18.2 erin AUTH-013 AUTH-016",
	"oauth-keeps-query":                    "iphone@18.2 erin",
	"oauth-client-auth":                    "iphone@18.2 erin AUTH-012",
	"token-ignored":                        "iphone@18.2 alice TOK-002",
	"token-cross-user":                     "iphone@18.2 erin TOK-008 PROF-006",
	"profile-empty":                        "iphone@18.2 alice PROF-001 TOK-001",
	"profile-not-plist":                    "iphone@18.2 alice PROF-002",
	"profile-two-mdm":                      "iphone@18.2 alice PROF-003",
	"profile-wrong-mode":                   "iphone@18.2 alice PROF-004",
	"profile-no-assigned-id":               "iphone@18.2 alice PROF-005",
	"profile-wrong-user":                   "iphone@18.2 alice PROF-006 TOK-008",
	"profile-byod-accessrights":            "iphone@18.2 alice PROF-007",
	"profile-bad-accessrights":             "iphone@18.2 carol PROF-008",
	"profile-managedappleid":               "iphone@18.2 alice PROF-009",
	"profile-identity-mismatch":            "iphone@18.2 alice PROF-010",
	"profile-bad-topic":                    "iphone@18.2 alice PROF-011",
	"profile-bomb":                         "iphone@18.2 alice SEC-003",
	"profile-http-serverurl":               "iphone@18.2 alice PROF-012",
	"profile-mac-no-per-user":              "mac@15.2 alice PROF-013",
	"profile-requiredappid-string":         "iphone@18.2 alice PROF-014",
	"profile-byod-disallowed-payload":      "iphone@18.2 alice PROF-016",
	"profile-unsigned":                     "iphone@18.2 alice PROF-017",
	"profile-other-tenant":                 "iphone@18.2 alice PROF-018 CHK-008 SEC-002",
	"profile-content-type":                 "iphone@18.2 alice PROF-019",
	"profile-huge":                         "iphone@18.2 alice SEC-003",

	"challenge-no-url":            "iphone@18.2 alice ENR-003",
	"oauth-no-scope":              "iphone@18.2 erin ENR-005",
	"login-page-404":              "iphone@18.2 alice AUTH-001",
	"login-no-prefill":            "iphone@18.2 alice AUTH-002",
	"login-rate-limited-once":     "iphone@18.2 alice",
	"login-split-otp":             "iphone@18.2 alice",
	"callback-double-encoded":     "iphone@18.2 alice AUTH-005 TOK-001 PROF-001",
	"oauth-rejects-login-hint":    "iphone@18.2 erin AUTH-009",
	"totp-rejects-valid":          "iphone@18.2 alice TOTP-002",
	"token-refusal-5xx":           "iphone@18.2 alice TOK-003",
	"tls-legacy":                  "iphone@18.1 alice WK-001 SEC-001 ABM-003 ABM-004",
	"tls-rsa-1024":                "iphone@18.2 alice WK-001 SEC-006 ABM-003 ABM-004",
	"tls-sha1-cert":               "iphone@18.2 alice WK-001 SEC-006 ABM-003 ABM-004",
	"tls12-cbc-only":              "iphone@18.2 alice SEC-004",
	"tls-ecdsa-224-ca":            "iphone@18.2 alice SEC-006",
	"profile-acme-hardware-rsa":   "iphone@18.2 alice PROF-015",
	"enroll-apple-signature-only": "iphone@18.2 alice",
	"private-ca":                  "iphone@18.2 alice SEC-002",
	"tls12-no-ems":                "iphone@18.2 alice SEC-005",
	"otp-needs-javascript":        "iphone@18.2 alice AUTH-017 TOTP-006",

	"checkin-requires-udid-for-byod":    "iphone@18.2 alice CHK-002",
	"adde-authenticate-refused":         "iphone@18.2 carol CHK-003",
	"tokenupdate-refused":               "iphone@18.2 alice CHK-004",
	"user-channel-refused":              "mac@15.2 alice CHK-005",
	"checkin-content-type":              "iphone@18.2 alice CHK-006",
	"topic-not-checked":                 "iphone@18.2 alice CHK-007",
	"connect-bad-command":               "iphone@18.2 alice CHK-008",
	"checkin-ignores-token":             "iphone@18.2 alice",
	"gettoken-opaque-tokendata":         "iphone@18.2 alice CHK-010",
	"gettoken-unknown-type-200":         "iphone@18.2 alice CHK-010",
	"checkout-requires-token":           "iphone@18.2 alice CHK-011",
	"queries-serial-in-byod":            "iphone@18.2 alice CHK-012",
	"erase-byod":                        "iphone@18.2 alice CMD-001",
	"forbidden-payload-byod":            "iphone@18.2 alice CMD-002",
	"command-not-on-platform":           "iphone@18.2 alice CMD-003",
	"push-none":                         "iphone@18.2 alice PUSH-001",
	"push-stale-token":                  "iphone@18.2 alice PUSH-001",
	"push-stale-magic":                  "iphone@18.2 alice PUSH-003",
	"push-wrong-topic":                  "iphone@18.2 alice PUSH-002",
	"push-type-alert":                   "iphone@18.2 alice PUSH-004",
	"push-storm":                        "iphone@18.2 alice PUSH-006",
	"push-loop":                         "iphone@18.2 alice PUSH-005",
	"checkin-rejects-bearer":            "iphone@18.2 alice TOK-004",
	"mac-device-channel-requires-token": "mac@15.2 alice TOK-005",
	"revoked-token-bare-401":            "iphone@18.2 alice TOK-006",
	"unenroll-bare-401":                 "iphone@18.2 alice TOK-007",
	"expired-token-accepted":            "iphone@18.2 erin TOK-009",

	"ddm-content-type":              "iphone@18.2 alice DDM-001",
	"ddm-token-never-changes":       "iphone@18.2 alice DDM-002",
	"ddm-item-not-fetchable":        "iphone@18.2 alice DDM-003",
	"ddm-unknown-500":               "iphone@18.2 alice DDM-004",
	"ddm-status-body":               "iphone@18.2 alice DDM-005",
	"ddm-software-update-byod":      "iphone@18.2 alice DDM-006",
	"ddm-activation-missing-config": "iphone@18.2 alice DDM-007",
	"ddm-esso-not-prestaged":        "iphone@26.1 judy DDM-008",
	"ddm-no-resync-command":         "iphone@18.2 alice DDM-009",

	// Played with the browser driver (Fault.Driver): their pages need JavaScript.
	"js-callback-no-token":         "iphone@18.2 grace AUTH-003",
	"js-password-http":             "iphone@18.2 grace SEC-001",
	"js-no-prefill":                "iphone@18.2 grace AUTH-002",
	"second-enrollment-other-user": "iphone@18.2 alice CHK-009 TOK-008",
}

func TestFaultCatalogue(t *testing.T) {
	faults := Faults()
	names := make([]string, len(faults))
	for i, f := range faults {
		names[i] = f.Name
	}
	assert.True(t, slices.IsSorted(names), "Faults() is sorted by name")

	got := map[string]string{}
	checkID := regexp.MustCompile(`^(WK|RD|ABM|ENR|AUTH|TOTP|TOK|PROF|CHK|SEC|CMD|PUSH|ESSO|DDM)-\d{3}$`)
	s := start(t)
	for _, f := range faults {
		_, dup := got[f.Name]
		assert.False(t, dup, "duplicate fault %s", f.Name)
		assert.NotEmpty(t, f.Doc, f.Name)
		assert.NotContains(t, f.Doc, "\n", "%s: Doc is one line", f.Name)
		for _, id := range f.Trips {
			assert.Regexp(t, checkID, id, f.Name)
		}
		acct, known := s.dir.lookup(f.Account)
		assert.True(t, known, "%s: probe account %s is in the directory", f.Name, f.Account)
		assert.Equal(t, acct.NeedsJavaScript, f.Driver == DriverBrowser, "%s: the browser driver exactly when the probe account's sign-in needs JavaScript", f.Name)
		got[f.Name] = strings.Join(append([]string{f.Probe, strings.TrimSuffix(f.Account, "@acme.test")}, f.Trips...), " ")
	}
	assert.Equal(t, wantFaults, got)

	// Callers get copies.
	faults[0].Trips = append(faults[0].Trips[:0], "XX-999")
	assert.NotEqual(t, "XX-999", Faults()[0].Trips[0])
}

func TestUnknownFaultListsKnownNames(t *testing.T) {
	_, err := Start(Config{Faults: []string{"wellknown-404", "wellknown-teapot", "nope"}})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `"wellknown-teapot"`)
	assert.Contains(t, msg, `"nope"`)
	for _, f := range Faults() {
		assert.Contains(t, msg, f.Name)
	}
	assert.Equal(t, strings.ToLower(msg[:1]), msg[:1], "errors start lower-case")
}

func TestHasPanicsOnUndocumentedFault(t *testing.T) {
	s := start(t)
	assert.PanicsWithValue(t, "refserver: fault no-such-fault is not in the fault table", func() { s.has("no-such-fault") })
	assert.False(t, s.has(FaultWellKnown404))
}

// axmRegistrationFaults break the registration itself, not the domain path.
var axmRegistrationFaults = map[string]bool{FaultRegistersBaseURL: true, FaultRegistersHTTPURL: true,
	FaultNeverRemovesURL: true, FaultSkipsProtocolHeader: true, FaultDiscoveryURLSetsCookie: true}

// Faults of the domain path leave the URL registered with AxM conforming, so
// that each fault trips only its own checks on devices that also walk the
// fallback.
func TestDomainFaultsLeaveRegisteredURLAlone(t *testing.T) {
	for _, f := range Faults() {
		if strings.HasPrefix(f.Name, "axm-") || axmRegistrationFaults[f.Name] {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			s := start(t, f.Name)
			rec := serve(t, s, http.MethodGet, axmLookup+aliceQ)
			require.Equal(t, http.StatusFound, rec.Code)
			assertDoc(t, serve(t, s, http.MethodGet, rec.Header().Get("Location")), byodDoc)
			assertRejected(t, serve(t, s, http.MethodGet, mdmSD+"?user-identifier=nobody%40acme.test&model-family=iPhone"))
			assertRejected(t, serve(t, s, http.MethodGet, mdmSD+"?user-identifier=alice%40acme.test&model-family=AppleTV"))
			assertRejected(t, serve(t, s, http.MethodGet, mdmSD))
		})
	}
}
