package refserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOrgDomainRedirectsWithRawQuery(t *testing.T) {
	s := start(t)
	tests := []struct {
		name   string
		target string
		host   string // overrides the target's host when set
		want   string
	}{
		{"percent-encoded @", orgWK + aliceQ, "",
			mdmWK + aliceQ},
		{"raw @ and extra parameter kept as sent", orgWK + "?user-identifier=alice@acme.test&model-family=iPhone&x=1", "",
			mdmWK + "?user-identifier=alice@acme.test&model-family=iPhone&x=1"},
		{"unknown user is the MDM's business", orgWK + "?user-identifier=nobody%40acme.test", "",
			mdmWK + "?user-identifier=nobody%40acme.test"},
		{"no query", orgWK, "", mdmWK},
		{"host with port", orgWK + aliceQ, "acme.test:443", mdmWK + aliceQ},
		{"upper-case host", orgWK + aliceQ, "ACME.TEST", mdmWK + aliceQ},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []reqOpt
			if tt.host != "" {
				opts = append(opts, func(r *http.Request) { r.Host = tt.host })
			}
			rec := serve(t, s, http.MethodGet, tt.target, opts...)
			assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
			assert.Equal(t, tt.want, rec.Header().Get("Location"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		})
	}
}

func TestDiscoveryConforming(t *testing.T) {
	s := start(t)
	tests := []struct {
		name  string
		query string
		opts  []reqOpt
		want  string // "" means a 403 rejection
		msg   string // expected rejection message, when it is fixed
	}{
		{name: "byod user, percent-encoded @", query: aliceQ, want: byodDoc},
		{name: "byod user, raw @", query: "?user-identifier=alice@acme.test&model-family=iPhone", want: byodDoc},
		{name: "identifier in other case", query: "?user-identifier=Alice%40ACME.test&model-family=iPhone", want: byodDoc},
		{name: "second byod user", query: "?user-identifier=bob%40acme.test&model-family=iPad", want: byodDoc},
		{name: "adde user", query: "?user-identifier=carol%40acme.test&model-family=Mac", want: addeDoc},
		{name: "identifier on the MDM host itself", query: "?user-identifier=dave%40mdm.acme.test&model-family=iPhone", want: byodDoc},
		{name: "vision pro", query: "?user-identifier=alice%40acme.test&model-family=RealityDevice", want: byodDoc},
		{name: "model-family absent", query: "?user-identifier=alice%40acme.test", want: byodDoc},
		{name: "model-family empty", query: "?user-identifier=alice%40acme.test&model-family=", want: byodDoc},
		{name: "parameters reversed and extra ones", query: "?lang=de&model-family=iPhone&user-identifier=alice%40acme.test&foo", want: byodDoc},
		{name: "cookies and authorization ignored", query: aliceQ, want: byodDoc, opts: []reqOpt{
			withCookie(&http.Cookie{Name: "session", Value: "abc"}),
			withHeader("Authorization", "Bearer whatever"),
		}},
		{name: "unknown user", query: "?user-identifier=nobody%40acme.test&model-family=iPhone"},
		{name: "foreign domain", query: "?user-identifier=alice%40example.com&model-family=iPhone"},
		{name: "no @ at all", query: "?user-identifier=alice&model-family=iPhone"},
		{name: "apple tv", query: "?user-identifier=alice%40acme.test&model-family=AppleTV"},
		{name: "watch", query: "?user-identifier=alice%40acme.test&model-family=Watch"},
		{name: "family is case-sensitive", query: "?user-identifier=alice%40acme.test&model-family=iphone"},
		{name: "no user-identifier", query: "?model-family=iPhone", msg: "user-identifier is required"},
		{name: "no query at all", query: "", msg: "user-identifier is required"},
		{name: "empty user-identifier", query: "?user-identifier=&model-family=iPhone", msg: "user-identifier is required"},
	}
	// The registered URL must give the same answers as the well-known.
	for _, base := range []string{mdmWK, mdmSD} {
		for _, tt := range tests {
			t.Run(base+" "+tt.name, func(t *testing.T) {
				rec := serve(t, s, http.MethodGet, base+tt.query, tt.opts...)
				if tt.want != "" {
					assertDoc(t, rec, tt.want)
					return
				}
				msg := assertRejected(t, rec)
				assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
				if tt.msg != "" {
					assert.Equal(t, tt.msg, msg)
				}
			})
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	s := start(t)
	tests := []struct {
		name   string
		method string
		target string
		host   string
		code   int
		body   string // substring
	}{
		{"unknown host", http.MethodGet, orgWK + aliceQ, "evil.example", http.StatusMisdirectedRequest, `"evil.example"`},
		{"unknown path on the identity provider", http.MethodGet, "https://idp.acme.test/", "", http.StatusNotFound, "404"},
		{"GET to a BaseURL", http.MethodGet, "https://mdm.acme.test/enroll/byod", "", http.StatusMethodNotAllowed, ""},
		{"GET to the token endpoint", http.MethodGet, "https://idp.acme.test/oauth2/token", "", http.StatusMethodNotAllowed, ""},
		{"enrollment paths are not on the identity provider", http.MethodPost, "https://idp.acme.test/enroll/byod", "", http.StatusNotFound, "404"},
		{"login forms are not on the organisation domain", http.MethodGet, "https://acme.test/auth/login", "", http.StatusNotFound, "404"},
		{"unknown path on the MDM", http.MethodGet, "https://mdm.acme.test/nope", "", http.StatusNotFound, "404"},
		{"unknown path on the org domain", http.MethodGet, "https://acme.test/", "", http.StatusNotFound, "404"},
		{"well-known with a trailing slash", http.MethodGet, mdmWK + "/" + aliceQ, "", http.StatusNotFound, "404"},
		{"POST to the well-known", http.MethodPost, mdmWK + aliceQ, "", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []reqOpt
			if tt.host != "" {
				opts = append(opts, func(r *http.Request) { r.Host = tt.host })
			}
			rec := serve(t, s, tt.method, tt.target, opts...)
			assert.Equal(t, tt.code, rec.Code)
			assert.Contains(t, rec.Body.String(), tt.body)
		})
	}
}

func TestSlowRespectsCancellation(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		// A delay far beyond the bound: returning within the bound shows
		// the handler did not wait, however busy the machine.
		s := startCfg(t, Config{Faults: []string{FaultWellKnownSlow}, SlowDelay: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, orgWK+aliceQ, nil)
		rec := httptest.NewRecorder()
		begin := time.Now()
		s.Handler().ServeHTTP(rec, req)
		assert.Less(t, time.Since(begin), 10*time.Second)
		assert.Empty(t, rec.Header().Get("Location"), "a cancelled request gets no redirect")
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		s := startCfg(t, Config{Faults: []string{FaultWellKnownSlow}, SlowDelay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, orgWK+aliceQ, nil)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			s.Handler().ServeHTTP(rec, req)
			close(done)
		}()
		select {
		case <-done:
			assert.Empty(t, rec.Header().Get("Location"))
		case <-time.After(30 * time.Second): // half the delay: a hang's bound
			require.FailNow(t, "handler kept sleeping after the request context ended")
		}
	})
}
