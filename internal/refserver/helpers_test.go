package refserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

func clock() time.Time { return fixedNow }

const (
	byodDoc = `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll/byod"}]}`
	addeDoc = `{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll/adde"}]}`

	orgWK     = "https://acme.test/.well-known/com.apple.remotemanagement"
	mdmWK     = "https://mdm.acme.test/.well-known/com.apple.remotemanagement"
	mdmSD     = "https://mdm.acme.test/mdm/service-discovery"
	aliceQ    = "?user-identifier=alice%40acme.test&model-family=iPhone"
	axmProf   = "https://axm.test/account-driven-enrollment/profile"
	axmLookup = "https://axm.test/mdmBaseURL"
)

// start runs a server for one test and closes it afterwards. Its clock
// stands at fixedNow until the test moves it (clockOf).
func start(t *testing.T, faults ...string) *Server {
	t.Helper()
	clk := &testClock{now: fixedNow}
	s := startCfg(t, Config{Faults: faults, Now: clk.Now, SlowDelay: 50 * time.Millisecond})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	return s
}

func startCfg(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

type reqOpt func(*http.Request)

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

func withCookie(c *http.Cookie) reqOpt { return func(r *http.Request) { r.AddCookie(c) } }

func withBody(body string) reqOpt {
	return func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
	}
}

// serve sends one request through Handler; httptest.NewRequest takes the
// Host from the absolute target, as a client would send it.
func serve(t *testing.T, s *Server, method, target string, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec
}

// assertDoc checks a conforming 200 discovery answer.
func assertDoc(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, want, rec.Body.String())
}

// assertRejected checks a 403 ErrorWellKnownFailed answer and returns its
// message.
func assertRejected(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	require.Equal(t, http.StatusForbidden, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "com.apple.well-known.failed", body["code"])
	for k := range body {
		assert.Contains(t, []string{"code", "message", "description"}, k)
	}
	msg, ok := body["message"].(string)
	assert.True(t, ok, "message is a string")
	assert.NotEmpty(t, msg)
	desc, ok := body["description"].(string)
	assert.True(t, ok, "description is a string")
	assert.NotEmpty(t, desc)
	return msg
}
