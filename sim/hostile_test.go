package sim_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
)

const wk = "https://acme.test/.well-known/com.apple.remotemanagement"

func mockDoer(t *testing.T, register func(m *httpmock.MockTransport)) sim.Doer {
	t.Helper()
	m := httpmock.NewMockTransport()
	register(m)
	// Anything unregistered is a refusal, as an unreachable host would be.
	m.RegisterNoResponder(httpmock.NewErrorResponder(fmt.Errorf("connection refused")))
	return &http.Client{Transport: m, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func result(rep sim.CaseReport, id string) sim.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return sim.Result{}
}

func runOne(t *testing.T, doer sim.Doer, ref string, lim sim.Limits) (sim.CaseReport, []sim.Event) {
	t.Helper()
	d, err := sim.LookupDevice(ref)
	require.NoError(t, err)
	c := sim.Case{Name: "c", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}, DiscoveryOnly: true}
	var evs []sim.Event
	eng := &sim.Engine{Doer: doer, Limits: lim}
	done := make(chan struct{})
	var reps []sim.CaseReport
	go func() {
		defer close(done)
		reps, err = eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e sim.Event) { evs = append(evs, e) })
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a hang's bound; discovery takes milliseconds
		t.Fatal("the engine hung on a hostile server")
	}
	require.NoError(t, err)
	return reps[0], evs
}

func jsonResp(status int, body string) httpmock.Responder {
	r := httpmock.NewStringResponder(status, body)
	return r.HeaderSet(http.Header{"Content-Type": {"application/json"}})
}

func TestHostileDiscoveryAnswers(t *testing.T) {
	good := `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`
	tests := []struct {
		name     string
		register func(m *httpmock.MockTransport)
		outcome  string
		fails    map[string]string // check ID → text its Actual must contain
		passes   []string
	}{
		{
			name: "oversize body",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers":[`+strings.Repeat(" ", 100<<10)+`]}`))
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-001": "over the size limit: more than 64 KiB"},
		},
		{
			name: "broken JSON",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers": [{"Version": "mdm-byod",`))
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-001": "not a JSON object", "WK-003": "not a JSON object"},
		},
		{
			name: "JSON array instead of object",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `[1,2]`))
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-003": "not a JSON object"},
		},
		{
			name: "two-hop redirect loop",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), redirectTo(302, "https://b.acme.test/x"))
				m.RegisterResponder("GET", "https://b.acme.test/x", redirectTo(302, wk+"?user-identifier=alice@acme.test&model-family=iPhone"))
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"RD-004": "", "WK-001": "redirect loop"},
		},
		{
			name: "endless distinct redirects",
			register: func(m *httpmock.MockTransport) {
				n := 0
				m.RegisterRegexpResponder("GET", mustRe("https://acme.test/"), func(*http.Request) (*http.Response, error) {
					n++
					return redirectTo(307, fmt.Sprintf("/hop/%d", n))(nil)
				})
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"RD-004": "more than 10 redirects"},
		},
		{
			name: "status 300 is not followed",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), redirectTo(300, "https://mdm.acme.test/x"))
			},
			outcome: sim.OutcomeDiscoveryFailed,
			fails:   map[string]string{"RD-005": "status 300"},
		},
		{
			name: "relative Location is resolved",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice"), redirectTo(308, "/mdm/wk?user-identifier=alice%40acme.test&model-family=iPhone"))
				m.RegisterRegexpResponder("GET", mustRe("https://acme.test/mdm/wk"), jsonResp(200, good).HeaderAdd(http.Header{"Cache-Control": {"no-store"}}))
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, `{"code":"com.apple.well-known.failed"}`))
			},
			outcome: sim.OutcomeDiscovered,
			passes:  []string{"RD-002", "RD-003", "RD-004", "RD-005", "WK-001", "WK-002", "WK-003", "WK-004", "WK-016"},
		},
		{
			name:     "nothing answers",
			register: func(m *httpmock.MockTransport) {},
			outcome:  sim.OutcomeError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := runOne(t, mockDoer(t, tt.register), "iphone@18.1", sim.Limits{})
			assert.Equal(t, tt.outcome, rep.Outcome)
			for id, text := range tt.fails {
				r := result(rep, id)
				assert.True(t, r.Tripped(), "%s should trip, got %q", id, r.Status)
				assert.Contains(t, r.Actual, text, id)
			}
			for _, id := range tt.passes {
				assert.Equal(t, sim.Pass, result(rep, id).Status, id)
			}
		})
	}
}

// A server that sends headers and then stalls the body must not hang the
// run: the per-request timeout covers the body, and WK-015 reports it.
func TestSlowBodyTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.Write([]byte(`{"Servers":`))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	srv.Listener.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv.Listener = ln
	srv.StartTLS()
	defer srv.Close()
	defer close(release)
	client := srv.Client()
	tr := client.Transport.(*http.Transport)
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
	}
	tr.TLSClientConfig.ServerName = "example.com"
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	// The timeout must also cover the TLS handshake and the headers on a
	// loaded machine (300 ms left little room); the wall-clock bound, ten
	// times what the stalled requests cost, only catches a hang.
	const timeout = time.Second
	start := time.Now()
	rep, _ := runOne(t, client, "iphone@18.1", sim.Limits{Timeout: timeout})
	assert.Less(t, time.Since(start), 30*timeout)
	// Devices wait 90 s: a timeout of the simulator's is no proof that
	// discovery fails, so the case ends in error, not in a WK-001 failure.
	assert.Equal(t, sim.OutcomeError, rep.Outcome, "%+v", result(rep, "WK-001"))
	assert.Equal(t, sim.Error, result(rep, "WK-001").Status)
	assert.Equal(t, sim.Warn, result(rep, "WK-015").Status)
	assert.Contains(t, result(rep, "WK-015").Actual, "not complete within "+timeout.String())
}

// mustRe matches URLs that start with prefix.
func mustRe(prefix string) *regexp.Regexp { return regexp.MustCompile("^" + regexp.QuoteMeta(prefix)) }

func redirectTo(status int, loc string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, "")
		r.Header.Set("Location", loc)
		return r, nil
	}
}
