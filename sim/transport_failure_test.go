package sim_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// failing plays the reference server but breaks the nth request that match
// accepts: no answer (a reset connection), a 200 whose body breaks off, or
// one whose body never ends.
type failing struct {
	inner sim.Doer
	match func(r *http.Request, body string) bool
	nth   int
	mode  string // "reset", "cut", "hang"

	mu   sync.Mutex
	seen int
	hits int
}

var errReset = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

type cutBody struct {
	r    io.Reader
	ctx  context.Context
	hang bool
}

func (c *cutBody) Read(p []byte) (int, error) {
	if n, _ := c.r.Read(p); n > 0 {
		return n, nil
	}
	if c.hang {
		<-c.ctx.Done()
		return 0, c.ctx.Err()
	}
	return 0, errReset
}

func (f *failing) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	f.mu.Lock()
	hit := false
	if f.match(req, string(body)) {
		f.seen++
		hit = f.seen == f.nth
		if hit {
			f.hits++
		}
	}
	f.mu.Unlock()
	if !hit {
		return f.inner.Do(req)
	}
	if f.mode == "reset" {
		return nil, errReset
	}
	resp, err := f.inner.Do(req)
	if err != nil {
		return resp, err
	}
	full, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(&cutBody{r: bytes.NewReader(full[:min(len(full), 100)]), ctx: req.Context(), hang: f.mode == "hang"})
	resp.ContentLength = -1
	resp.Header.Del("Content-Length")
	return resp, nil
}

// registered matches the AxM-registered discovery URL, with the device's
// query or (the ABM-004 probe) without one.
func registered(withQuery bool) func(*http.Request, string) bool {
	return func(r *http.Request, _ string) bool {
		return r.Method == http.MethodGet && r.URL.Path == "/mdm/service-discovery" && (r.URL.RawQuery != "") == withQuery
	}
}

func post(path string) func(*http.Request, string) bool {
	return func(r *http.Request, _ string) bool { return r.Method == http.MethodPost && r.URL.Path == path }
}

// failureTimeout is the per-request timeout of the transport-failure runs:
// a hung body ends at it. Every other request of the run must answer
// within it too, on a machine other work keeps busy (1 s left little room).
const failureTimeout = 3 * time.Second

// Every step that can see a transport failure reports the real cause as
// `error`: a reset, a cut or an endless body is never judged as the
// server's refusal.
func TestTransportFailuresAreNotVerdicts(t *testing.T) {
	enrollPOST := func(auth func(string) bool) func(*http.Request, string) bool {
		return func(r *http.Request, _ string) bool {
			return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/enroll") && auth(r.Header.Get("Authorization"))
		}
	}
	bearer := func(a string) bool { return strings.HasPrefix(a, "Bearer ") }
	grant := func(g string) func(*http.Request, string) bool {
		return func(r *http.Request, body string) bool {
			return post("/oauth2/token")(r, body) && strings.Contains(body, "grant_type="+g)
		}
	}
	tests := []struct {
		name, device, account string
		match                 func(*http.Request, string) bool
		nth                   int
		mode                  string
		outcome               string
		errors                map[string]string // check ID → text of its error
		passes                []string
	}{
		{"first enrollment POST reset", "iphone@26.1", "alice@acme.test", enrollPOST(func(a string) bool { return a == "" }), 1, "reset",
			event.OutcomeError, map[string]string{"ENR-001": "connection reset"}, nil},
		{"sign-in page reset", "iphone@26.1", "alice@acme.test",
			func(r *http.Request, _ string) bool { return r.Method == http.MethodGet && r.URL.Path == "/auth/login" }, 1, "reset",
			event.OutcomeError, map[string]string{"AUTH-001": "no answer: read tcp: connection reset"}, nil},
		{"sign-in page cut", "iphone@26.1", "alice@acme.test",
			func(r *http.Request, _ string) bool { return r.Method == http.MethodGet && r.URL.Path == "/auth/login" }, 1, "cut",
			event.OutcomeError, nil, []string{"AUTH-001"}},
		{"wrong-password probe reset", "iphone@26.1", "alice@acme.test",
			func(r *http.Request, body string) bool {
				return post("/auth/login")(r, body) && strings.Contains(body, "enrollsim-wrong")
			}, 1, "reset",
			event.OutcomeEnrolled, map[string]string{"AUTH-006": "the probe could not be read: no answer"}, []string{"TOK-001"}},
		{"token probe reset", "iphone@26.1", "alice@acme.test", enrollPOST(func(a string) bool { return strings.HasPrefix(a, "Basic ") }), 1, "reset",
			event.OutcomeEnrolled, map[string]string{"TOK-002": "another scheme: no answer", "TOK-003": "connection reset"}, []string{"TOK-001"}},
		{"token POST reset", "iphone@26.1", "alice@acme.test", enrollPOST(bearer), 2, "reset",
			event.OutcomeError, map[string]string{"TOK-001": "no answer: read tcp: connection reset", "PROF-001": "connection reset"}, nil},
		{"token POST body cut", "iphone@26.1", "alice@acme.test", enrollPOST(bearer), 2, "cut",
			event.OutcomeError, map[string]string{"TOK-001": "the server answered 200, but the profile body broke off after 100 bytes", "PROF-001": "broke off"}, []string{"AUTH-005"}},
		{"token POST body endless", "iphone@26.1", "alice@acme.test", enrollPOST(bearer), 2, "hang",
			event.OutcomeError, map[string]string{"TOK-001": "the profile body did not complete within " + failureTimeout.String()}, nil},
		{"OAuth token request reset", "iphone@26.1", "erin@acme.test", grant("authorization_code"), 1, "reset",
			event.OutcomeError, map[string]string{"AUTH-012": "connection reset", "AUTH-013": "connection reset", "AUTH-008": "connection reset"}, nil},
		{"OAuth token response cut", "iphone@26.1", "erin@acme.test", grant("authorization_code"), 1, "cut",
			event.OutcomeError, map[string]string{"AUTH-013": "the token response broke off after 100 bytes"}, nil},
		{"OAuth code reuse probe reset", "iphone@26.1", "erin@acme.test", grant("authorization_code"), 2, "reset",
			event.OutcomeEnrolled, map[string]string{"AUTH-014": "connection reset", "AUTH-016": "connection reset"}, []string{"AUTH-012", "TOK-001"}},
		{"OAuth refresh grant reset", "iphone@26.1", "erin@acme.test", grant("refresh_token"), 1, "reset",
			event.OutcomeEnrolled, map[string]string{"AUTH-015": "connection reset"}, []string{"TOK-001"}},
		{"AxM-registered URL reset", "iphone@18.2", "alice@acme.test", registered(true), 1, "reset",
			event.OutcomeEnrolled, map[string]string{"ABM-003": "the registered URL did not answer"}, []string{"TOK-001"}},
		{"ABM-004 probe reset", "iphone@18.2", "alice@acme.test", registered(false), 1, "reset",
			event.OutcomeEnrolled, map[string]string{"ABM-004": "no answer without the query"}, []string{"ABM-003", "TOK-001"}},
		{"authorization page reset", "iphone@26.1", "erin@acme.test",
			func(r *http.Request, _ string) bool {
				return r.Method == http.MethodGet && r.URL.Path == "/oauth2/authorize"
			}, 1, "reset",
			event.OutcomeError, map[string]string{"AUTH-009": "connection reset"}, nil},
	}
	r := startRef(t, failureTimeout)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := caseFor(t, tc.device, tc.account, sim.TypeUser)
			c.Account = r.account(tc.account)
			f := &failing{inner: r.target.Doer, match: tc.match, nth: tc.nth, mode: tc.mode}
			c.Target = r.target
			c.Target.Doer = f
			eng := &sim.Engine{Limits: sim.Limits{Timeout: failureTimeout}, Clock: r.clock.Now, TOTPClock: r.clock}
			var reps []sim.CaseReport
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				reps, err = eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(event.Event) {})
			}()
			select {
			case <-done:
			case <-time.After(20 * failureTimeout):
				t.Fatal("the run hung")
			}
			require.NoError(t, err)
			require.Equal(t, 1, f.hits, "the failure was injected once")
			rep := reps[0]
			assert.Equal(t, tc.outcome, rep.Outcome, describe(rep))
			for id, text := range tc.errors {
				res := result(rep, id)
				assert.Equal(t, check.Error, res.Status, "%s: %+v", id, res)
				assert.Contains(t, res.Actual+res.Detail, text, id)
			}
			for _, id := range tc.passes {
				assert.Equal(t, check.Pass, result(rep, id).Status, "%s: %+v", id, result(rep, id))
			}
			for _, res := range rep.Results {
				assert.NotEqual(t, check.Fail, res.Status, "%s failed on a transport failure: %s", res.ID, res.Actual)
			}
		})
	}
}
