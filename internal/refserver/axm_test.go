package refserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/gomodule/oauth1/oauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/axm"
	"github.com/enrollsim/enrollsim/sim"
)

type axmProfileResponse struct {
	URL         string `json:"mdm_service_discovery_url"`
	LastUpdated string `json:"last_updated_timestamp"`
}

// axmSession signs in to the stand-in with the server's own token, as its
// client does, and returns the session header for raw calls.
func axmSession(t *testing.T, s *Server) reqOpt {
	t.Helper()
	c := s.axmClient.Creds
	oc := oauth.Client{SignatureMethod: oauth.HMACSHA1, Credentials: oauth.Credentials{Token: c.ConsumerKey, Secret: c.ConsumerSecret}}
	hdr := http.Header{}
	u, _ := url.Parse("https://axm.test/session")
	require.NoError(t, oc.SetAuthorizationHeader(hdr, &oauth.Credentials{Token: c.AccessToken, Secret: c.AccessSecret}, http.MethodGet, u, nil))
	rec := serve(t, s, http.MethodGet, "https://axm.test/session", withHeader("Authorization", hdr.Get("Authorization")))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out struct {
		Token string `json:"auth_session_token"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	return withHeader(axm.SessionHeader, out.Token)
}

func fetchProfile(t *testing.T, s *Server) (int, axmProfileResponse) {
	t.Helper()
	rec := serve(t, s, http.MethodGet, axmProf, axmSession(t, s))
	var got axmProfileResponse
	if rec.Code == http.StatusOK {
		assert.Equal(t, "application/json;charset=UTF8", rec.Header().Get("Content-Type"))
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	}
	return rec.Code, got
}

func TestStartRegistersWithAxM(t *testing.T) {
	s := start(t)
	code, got := fetchProfile(t, s)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, axmProfileResponse{
		URL:         "https://mdm.acme.test/mdm/service-discovery",
		LastUpdated: "2025-03-14T09:26:53Z",
	}, got)
}

func TestAxMProfileLifecycle(t *testing.T) {
	s := start(t, FaultAxMUnregistered)

	session := axmSession(t, s)
	rec := serve(t, s, http.MethodGet, axmProf, session)
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "NOT_FOUND", rec.Body.String())

	rec = serve(t, s, http.MethodPost, axmProf, session,
		withHeader("Content-Type", "application/json;charset=UTF8"),
		withBody(`{"mdm_service_discovery_url":"https://mdm.acme.test/discover?tenant=7"}`))
	assert.Equal(t, http.StatusOK, rec.Code)

	code, got := fetchProfile(t, s)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "https://mdm.acme.test/discover?tenant=7", got.URL)
	assert.Equal(t, "2025-03-14T09:26:53Z", got.LastUpdated)

	rec = serve(t, s, http.MethodDelete, axmProf, session)
	assert.Equal(t, http.StatusOK, rec.Code)
	code, _ = fetchProfile(t, s)
	assert.Equal(t, http.StatusNotFound, code)

	rec = serve(t, s, http.MethodGet, axmLookup+aliceQ)
	assert.Equal(t, http.StatusNotFound, rec.Code, "nothing registered after DELETE")
}

func TestAxMAssignValidation(t *testing.T) {
	s := start(t)
	session := axmSession(t, s)
	tests := []struct {
		name string
		opts []reqOpt
		body string
		code int
		want string
	}{
		{"no session header", nil, `{"mdm_service_discovery_url":"https://x.test/"}`, http.StatusUnauthorized, "UNAUTHORIZED"},
		{"blank session header", []reqOpt{withHeader("X-ADM-Auth-Session", "  ")}, `{"mdm_service_discovery_url":"https://x.test/"}`, http.StatusUnauthorized, "UNAUTHORIZED"},
		{"empty object", []reqOpt{session}, `{}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"},
		{"null", []reqOpt{session}, `null`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"},
		{"empty url", []reqOpt{session}, `{"mdm_service_discovery_url":""}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_REQUIRED"},
		{"http url", []reqOpt{session}, `{"mdm_service_discovery_url":"http://mdm.acme.test/d"}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"},
		{"relative url", []reqOpt{session}, `{"mdm_service_discovery_url":"/mdm/service-discovery"}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"},
		{"no host", []reqOpt{session}, `{"mdm_service_discovery_url":"https:///d"}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"},
		{"not a url", []reqOpt{session}, `{"mdm_service_discovery_url":"mdm dot acme"}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"},
		{"bad escape", []reqOpt{session}, `{"mdm_service_discovery_url":"https://mdm.acme.test/%zz"}`, http.StatusBadRequest, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"},
		{"truncated json", []reqOpt{session}, `{"mdm_service_discovery_url":`, http.StatusBadRequest, "MALFORMED_REQUEST_BODY"},
		{"array", []reqOpt{session}, `[]`, http.StatusBadRequest, "MALFORMED_REQUEST_BODY"},
		{"number instead of string", []reqOpt{session}, `{"mdm_service_discovery_url":5}`, http.StatusBadRequest, "MALFORMED_REQUEST_BODY"},
		{"empty body", []reqOpt{session}, ``, http.StatusBadRequest, "MALFORMED_REQUEST_BODY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, s, http.MethodPost, axmProf, append(tt.opts, withBody(tt.body))...)
			assert.Equal(t, tt.code, rec.Code)
			assert.Equal(t, tt.want, rec.Body.String())
			assert.Equal(t, "text/plain;charset=UTF8", rec.Header().Get("Content-Type"))

			// A refused call leaves the registration alone.
			code, got := fetchProfile(t, s)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, ServiceDiscoveryURL, got.URL)
		})
	}
}

func TestAxMProfileNeedsSession(t *testing.T) {
	s := start(t)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		rec := serve(t, s, method, axmProf)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, method)
	}
	code, _ := fetchProfile(t, s)
	assert.Equal(t, http.StatusOK, code, "an unauthorised DELETE removed the registration")
}

func TestAxMFallbackLookup(t *testing.T) {
	tests := []struct {
		name       string
		registered string // "" keeps the server's own registration
		query      string
		code       int
		location   string
	}{
		{"own registration", "", aliceQ, http.StatusFound,
			mdmSD + "?user-identifier=alice%40acme.test&model-family=iPhone"},
		{"raw @ re-encoded", "", "?user-identifier=alice@acme.test&model-family=Mac", http.StatusFound,
			mdmSD + "?user-identifier=alice%40acme.test&model-family=Mac"},
		{"no model-family", "", "?user-identifier=bob%40acme.test", http.StatusFound,
			mdmSD + "?user-identifier=bob%40acme.test"},
		{"MDM host domain is verified too", "", "?user-identifier=dave%40mdm.acme.test&model-family=iPhone", http.StatusFound,
			mdmSD + "?user-identifier=dave%40mdm.acme.test&model-family=iPhone"},
		{"domain compared without case", "", "?user-identifier=Alice%40ACME.TEST&model-family=iPad", http.StatusFound,
			mdmSD + "?user-identifier=Alice%40ACME.TEST&model-family=iPad"},
		{"registered query kept", "https://mdm.acme.test/discover?tenant=7&b=a%2Fb", aliceQ, http.StatusFound,
			"https://mdm.acme.test/discover?tenant=7&b=a%2Fb&user-identifier=alice%40acme.test&model-family=iPhone"},
		{"unverified domain", "", "?user-identifier=alice%40example.com&model-family=iPhone", http.StatusNotFound, ""},
		{"no domain", "", "?user-identifier=alice&model-family=iPhone", http.StatusNotFound, ""},
		{"no user-identifier", "", "?model-family=iPhone", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t)
			if tt.registered != "" {
				rec := serve(t, s, http.MethodPost, axmProf, axmSession(t, s),
					withBody(`{"mdm_service_discovery_url":"`+tt.registered+`"}`))
				require.Equal(t, http.StatusOK, rec.Code)
			}
			rec := serve(t, s, http.MethodGet, axmLookup+tt.query)
			assert.Equal(t, tt.code, rec.Code)
			assert.Equal(t, tt.location, rec.Header().Get("Location"))
		})
	}
}

// Following the stand-in's redirect must land on the same document as the
// well-known: that is what an 18.2 device does after the domain failed.
func TestAxMFallbackReachesDocument(t *testing.T) {
	s := start(t)
	for query, want := range map[string]string{
		aliceQ: byodDoc,
		"?user-identifier=carol%40acme.test&model-family=iPad": addeDoc,
	} {
		rec := serve(t, s, http.MethodGet, axmLookup+query)
		require.Equal(t, http.StatusFound, rec.Code)
		assertDoc(t, serve(t, s, http.MethodGet, rec.Header().Get("Location")), want)
	}
	assert.Equal(t, axmLookup, s.AxMURL())
}

// The server registers as a careful DEP client does, through its own
// HTTPS listener: a signed session, the account, a GET (404 at first), the
// POST with its discovery URL and a GET to confirm, every call with the
// protocol header.
func TestStartRegistersThroughTheAPI(t *testing.T) {
	s := start(t)
	calls := s.AxM().Calls(AxMServerName)
	var seq []string
	for _, c := range calls {
		seq = append(seq, c.Method+" "+c.Path+" "+http.StatusText(c.Status))
		assert.NotEmpty(t, c.Header.Get(axm.ProtocolHeader), "%s %s", c.Method, c.Path)
		assert.True(t, c.SessionOK)
	}
	assert.Equal(t, []string{"GET /session OK", "GET /account OK", "GET /account-driven-enrollment/profile Not Found",
		"POST /account-driven-enrollment/profile OK", "GET /account-driven-enrollment/profile OK"}, seq)
	assert.JSONEq(t, `{"mdm_service_discovery_url":"`+ServiceDiscoveryURL+`"}`, string(calls[3].Body))
	assert.Equal(t, "[redacted]", calls[0].Header.Get("Authorization"), "credentials never reach the log")
	assert.Empty(t, s.AxM().Calls(AxMOtherServer))
}

// Each AxM fault changes what the server sends, and only that.
func TestAxMFaultsChangeTheRegistration(t *testing.T) {
	posted := func(s *Server) []string {
		var out []string
		for _, c := range s.AxM().Calls(AxMServerName) {
			if c.Method == http.MethodPost {
				var b map[string]string
				_ = json.Unmarshal(c.Body, &b)
				out = append(out, b["mdm_service_discovery_url"]+" "+c.Code)
			}
		}
		return out
	}
	s := start(t, FaultRegistersBaseURL)
	assert.Equal(t, []string{enrollBYODURL + " "}, posted(s))

	s = start(t, FaultRegistersHTTPURL)
	assert.Equal(t, []string{"http://mdm.acme.test/mdm/service-discovery " + axm.CodeURLNotValid}, posted(s))
	_, _, ok := s.AxM().Registered(AxMServerName)
	assert.False(t, ok)

	s = start(t, FaultSkipsProtocolHeader)
	for _, c := range s.AxM().Calls(AxMServerName) {
		assert.Empty(t, c.Header.Get(axm.ProtocolHeader))
	}

	s = start(t, FaultAxMRetryLoop)
	gets := 0
	for _, c := range s.AxM().Calls(AxMServerName) {
		if c.Method == http.MethodGet && c.Code == axm.CodeNotFound {
			gets++
		}
	}
	assert.Equal(t, 1+axmRetryLoopGets, gets)

	s = start(t, FaultAxMUnregistered)
	assert.Empty(t, s.AxM().Calls(AxMServerName))
}

// The withdraw trigger removes the registration (DELETE) and restore
// registers again; under never-removes-url the withdraw does nothing, which
// ObserveAxM reports as a withdrawal that nothing followed.
func TestObserveAxMProbesTheConfigurationChange(t *testing.T) {
	for _, tt := range []struct {
		fault        string
		withdrawSeen bool
	}{{"", true}, {FaultNeverRemovesURL, false}} {
		t.Run(tt.fault, func(t *testing.T) {
			var faults []string
			if tt.fault != "" {
				faults = append(faults, tt.fault)
			}
			s := start(t, faults...)
			reg := s.ObserveAxM(context.Background(), s.dialSelf())
			assert.False(t, reg.TimedOut)
			require.Len(t, reg.Changes, 2)
			assert.Equal(t, sim.AxMWithdraw, reg.Changes[0].Kind)
			assert.Empty(t, reg.Changes[0].HookErr)
			assert.Equal(t, tt.withdrawSeen, reg.Changes[0].Followed != nil)
			if tt.withdrawSeen {
				assert.Equal(t, http.MethodDelete, reg.Changes[0].Followed.Method)
			}
			require.NotNil(t, reg.Changes[1].Followed, "restore registers again")
			assert.Equal(t, http.MethodPost, reg.Changes[1].Followed.Method)
			u, _, ok := s.AxM().Registered(AxMServerName)
			assert.True(t, ok)
			assert.Equal(t, ServiceDiscoveryURL, u)
		})
	}
}
