package sim_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
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

func result(rep sim.CaseReport, id string) check.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return check.Result{}
}

func runOne(t *testing.T, doer sim.Doer, ref string, lim sim.Limits) (sim.CaseReport, []event.Event) {
	t.Helper()
	return runOnTarget(t, doer, ref, sim.Target{}, lim)
}

// runOnTarget is runOne against a target, e.g. one with an AxM endpoint.
func runOnTarget(t *testing.T, doer sim.Doer, ref string, target sim.Target, lim sim.Limits) (sim.CaseReport, []event.Event) {
	t.Helper()
	d, err := device.LookupDevice(ref)
	require.NoError(t, err)
	c := sim.Case{Name: "c", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}, DiscoveryOnly: true, Target: target}
	var evs []event.Event
	eng := &sim.Engine{Doer: doer, Limits: lim}
	done := make(chan struct{})
	var reps []sim.CaseReport
	go func() {
		defer close(done)
		reps, err = eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { evs = append(evs, e) })
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
			// Under the hard cap a document is judged on its content, and
			// its size is SEC-003's: here the content is wrong.
			name: "100 KiB of whitespace around an empty Servers",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers":[`+strings.Repeat(" ", 100<<10)+`]}`))
			},
			outcome: event.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-001": "Servers is empty", "WK-003": "Servers is an empty array", "SEC-003": "(bound 64 KiB)"},
		},
		{
			name: "broken JSON",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `{"Servers": [{"Version": "mdm-byod",`))
			},
			outcome: event.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-001": "not a JSON object", "WK-003": "not a JSON object"},
		},
		{
			name: "JSON array instead of object",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, `[1,2]`))
			},
			outcome: event.OutcomeDiscoveryFailed,
			fails:   map[string]string{"WK-003": "not a JSON object"},
		},
		{
			name: "two-hop redirect loop",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), redirectTo(302, "https://b.acme.test/x"))
				m.RegisterResponder("GET", "https://b.acme.test/x", redirectTo(302, wk+"?user-identifier=alice@acme.test&model-family=iPhone"))
			},
			outcome: event.OutcomeDiscoveryFailed,
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
			outcome: event.OutcomeDiscoveryFailed,
			fails:   map[string]string{"RD-004": "more than 10 redirects"},
		},
		{
			name: "status 300 is not followed",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), redirectTo(300, "https://mdm.acme.test/x"))
			},
			outcome: event.OutcomeDiscoveryFailed,
			fails:   map[string]string{"RD-005": "status 300"},
		},
		{
			name: "relative Location is resolved",
			register: func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice"), redirectTo(308, "/mdm/wk?user-identifier=alice%40acme.test&model-family=iPhone"))
				m.RegisterRegexpResponder("GET", mustRe("https://acme.test/mdm/wk"), jsonResp(200, good).HeaderAdd(http.Header{"Cache-Control": {"no-store"}}))
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, `{"code":"com.apple.well-known.failed"}`))
			},
			outcome: event.OutcomeDiscovered,
			passes:  []string{"RD-002", "RD-003", "RD-004", "RD-005", "WK-001", "WK-002", "WK-003", "WK-004", "WK-016"},
		},
		{
			name:     "nothing answers",
			register: func(m *httpmock.MockTransport) {},
			outcome:  event.OutcomeError,
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
				assert.Equal(t, check.Pass, result(rep, id).Status, id)
			}
		})
	}
}

// utf16Text encodes s as UTF-16 in the given byte order, with a mark or not.
func utf16Text(s string, order binary.AppendByteOrder, bom bool) string {
	var b []byte
	if bom {
		b = order.AppendUint16(b, 0xFEFF)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = order.AppendUint16(b, u)
	}
	return string(b)
}

// wantCheck is a check's exact status and a text its Actual or Detail
// holds ("" for any).
type wantCheck struct {
	status check.Status
	says   string
}

// Discovery documents odd in their encoding, size or shape, each served by
// the organisation domain (an 18.1 device, no fallback) and by the
// AxM-registered URL after the domain failed (an 18.2 device falls back):
// every check that judges the document gets the same verdict both ways.
// Legal-but-odd documents (a byte-order mark, UTF-16, a large document)
// enroll with a WARN and no FAIL; beyond the simulator's bounds an object
// is error, never FAIL; a root that is no object fails whatever its depth
// or size.
func TestHostileDiscoveryEncodingsAndSizes(t *testing.T) {
	const entry = `{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}`
	good := `{"Servers":[` + entry + `]}`
	withVendor := func(n int) string { return `{"Servers":[` + entry + `],"Vendor":"` + strings.Repeat("x", n) + `"}` }
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	const bom = "\xEF\xBB\xBF"
	tests := []struct {
		name    string
		body    string
		outcome string
		domain  map[string]wantCheck // the organisation domain serves it
		axm     map[string]wantCheck // the registered URL serves it
		noFail  bool                 // legal or beyond the simulator's bounds: nothing may FAIL
	}{
		{name: "UTF-8 byte-order mark", body: bom + good, outcome: event.OutcomeDiscovered, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Pass, ""}, "WK-002": {check.Pass, ""}, "WK-003": {check.Warn, "starts with a UTF-8 byte-order mark (EF BB BF)"},
				"WK-004": {check.Pass, ""}, "WK-005": {check.Pass, ""}, "WK-007": {check.Pass, ""}, "SEC-003": {check.Pass, ""}},
			axm: map[string]wantCheck{"WK-001": {check.Noted, "the AxM fallback covered it"}, "ABM-003": {check.Warn, "WK-003: the body starts with a UTF-8 byte-order mark"}, "SEC-003": {check.Pass, ""}}},
		{name: "UTF-16LE with a byte-order mark", body: utf16Text(good, binary.LittleEndian, true), outcome: event.OutcomeDiscovered, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Pass, ""}, "WK-003": {check.Warn, "is UTF-16LE text with a byte-order mark, not UTF-8"}, "WK-004": {check.Pass, ""}},
			axm:    map[string]wantCheck{"WK-001": {check.Noted, ""}, "ABM-003": {check.Warn, "UTF-16LE text with a byte-order mark"}}},
		{name: "UTF-16BE without a mark", body: utf16Text(good, binary.BigEndian, false), outcome: event.OutcomeDiscovered, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Pass, ""}, "WK-003": {check.Warn, "is UTF-16BE text, not UTF-8"}},
			axm:    map[string]wantCheck{"ABM-003": {check.Warn, "UTF-16BE text"}}},
		{name: "byte-order mark and broken JSON", body: bom + `{"Servers": [` + entry, outcome: event.OutcomeDiscoveryFailed,
			domain: map[string]wantCheck{"WK-001": {check.Fail, "not a JSON object"}, "WK-003": {check.Fail, "unexpected end of JSON input (the body starts with a UTF-8 byte-order mark"}},
			axm:    map[string]wantCheck{"WK-001": {check.Fail, "the AxM fallback failed"}, "ABM-003": {check.Fail, "byte-order mark"}}},
		{name: "100 KiB valid document", body: withVendor(100 << 10), outcome: event.OutcomeDiscovered, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Pass, ""}, "WK-003": {check.Pass, ""}, "WK-004": {check.Pass, ""}, "SEC-003": {check.Warn, "(bound 64 KiB)"}},
			axm:    map[string]wantCheck{"WK-001": {check.Noted, ""}, "ABM-003": {check.Pass, ""}, "SEC-003": {check.Warn, "(bound 64 KiB)"}}},
		{name: "object over the hard cap", body: withVendor(1<<20 + 1024), outcome: event.OutcomeError, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Error, "larger than the simulator's 1 MiB read limit"}, "WK-002": {check.Pass, ""},
				"WK-003": {check.Error, "larger than the simulator's 1 MiB read limit"}, "WK-004": {check.Skip, ""}, "SEC-003": {check.Warn, "over the 1 MiB read limit"}},
			axm: map[string]wantCheck{"WK-001": {check.Error, "larger than the simulator's 1 MiB read limit"}, "ABM-003": {check.Error, "read limit"}, "SEC-003": {check.Warn, "over the 1 MiB read limit"}}},
		{name: "array over the hard cap", body: "[" + strings.Repeat(`"x",`, 300_000) + `"x"]`, outcome: event.OutcomeDiscoveryFailed,
			domain: map[string]wantCheck{"WK-001": {check.Fail, "the document is an array, not an object"}, "WK-003": {check.Fail, "the document is an array, not an object"}, "SEC-003": {check.Warn, "read limit"}},
			axm:    map[string]wantCheck{"ABM-003": {check.Fail, "the document is an array, not an object"}}},
		{name: "deep array root", body: deep, outcome: event.OutcomeDiscoveryFailed,
			domain: map[string]wantCheck{"WK-001": {check.Fail, "the document is an array, not an object"}, "WK-003": {check.Fail, "the document is an array, not an object"}},
			axm:    map[string]wantCheck{"WK-001": {check.Fail, "the document is an array"}, "ABM-003": {check.Fail, "the document is an array, not an object"}}},
		{name: "shallow array root", body: "[" + good + "]", outcome: event.OutcomeDiscoveryFailed,
			domain: map[string]wantCheck{"WK-001": {check.Fail, "the document is an array, not an object"}, "WK-003": {check.Fail, "the document is an array, not an object"}},
			axm:    map[string]wantCheck{"ABM-003": {check.Fail, "the document is an array, not an object"}}},
		{name: "number root", body: "42", outcome: event.OutcomeDiscoveryFailed,
			domain: map[string]wantCheck{"WK-003": {check.Fail, "the document is a number, not an object"}},
			axm:    map[string]wantCheck{"ABM-003": {check.Fail, "the document is a number, not an object"}}},
		{name: "deep object root", body: `{"Servers":[` + entry + `],"x":` + deep + `}`, outcome: event.OutcomeError, noFail: true,
			domain: map[string]wantCheck{"WK-001": {check.Error, "nested deeper than 64 levels"}, "WK-003": {check.Error, "nested deeper than 64 levels (the simulator's limit)"}},
			axm:    map[string]wantCheck{"WK-001": {check.Error, "nested deeper than 64 levels"}, "ABM-003": {check.Error, "nested deeper than 64 levels"}}},
	}
	serve := func(body string) httpmock.Responder {
		return jsonResp(200, body).HeaderAdd(http.Header{"Cache-Control": {"no-store"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertChecks := func(rep sim.CaseReport, want map[string]wantCheck, outcome string) {
				t.Helper()
				assert.Equal(t, outcome, rep.Outcome, describe(rep))
				for id, w := range want {
					r := result(rep, id)
					assert.Equal(t, w.status, r.Status, "%s: %s%s", id, r.Actual, r.Detail)
					assert.Contains(t, r.Actual+r.Detail, w.says, id)
				}
				if tt.noFail {
					for _, r := range rep.Results {
						assert.NotEqual(t, check.Fail, r.Status, "%s: %s", r.ID, r.Actual)
					}
				}
			}
			t.Run("organisation domain", func(t *testing.T) {
				doer := mockDoer(t, func(m *httpmock.MockTransport) {
					m.RegisterRegexpResponder("GET", mustRe(wk), serve(tt.body))
				})
				rep, _ := runOne(t, doer, "iphone@18.1", sim.Limits{})
				assertChecks(rep, tt.domain, tt.outcome)
			})
			t.Run("AxM fallback", func(t *testing.T) {
				doer := mockDoer(t, func(m *httpmock.MockTransport) {
					m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(404, `{}`))
					m.RegisterRegexpResponder("GET", mustRe("https://axm.test/mdmBaseURL"), func(r *http.Request) (*http.Response, error) {
						return redirectTo(302, "https://reg.acme.test/wk?"+r.URL.RawQuery)(r)
					})
					m.RegisterRegexpResponder("GET", mustRe("https://reg.acme.test/wk"), serve(tt.body))
				})
				rep, _ := runOnTarget(t, doer, "iphone@18.2", sim.Target{AxMURL: "https://axm.test/mdmBaseURL", AxMDeclared: true}, sim.Limits{})
				assertChecks(rep, tt.axm, tt.outcome)
			})
		})
	}
}

// The registered URL's document is device-facing even when only the
// tester's probe fetched it (the domain worked): its size is SEC-003's, and
// past the hard cap ABM-003 is error while the device, which used the
// domain, still discovers.
func TestRegisteredURLSizeWhenOnlyProbed(t *testing.T) {
	const entry = `{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}`
	good := `{"Servers":[` + entry + `]}`
	for _, tt := range []struct {
		name   string
		size   int
		abm003 check.Status
		sec003 string
	}{
		{"100 KiB", 100 << 10, check.Pass, "https://reg.acme.test/wk?user-identifier=alice@acme.test&model-family=iPhone: 100 KiB (bound 64 KiB)"},
		{"over the hard cap", 1<<20 + 1024, check.Error, "over the 1 MiB read limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doer := mockDoer(t, func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice"), jsonResp(200, good).HeaderAdd(http.Header{"Cache-Control": {"no-store"}}))
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, `{"code":"com.apple.well-known.failed"}`))
				m.RegisterRegexpResponder("GET", mustRe("https://axm.test/mdmBaseURL"), func(r *http.Request) (*http.Response, error) {
					return redirectTo(302, "https://reg.acme.test/wk?"+r.URL.RawQuery)(r)
				})
				big := `{"Servers":[` + entry + `],"Vendor":"` + strings.Repeat("x", tt.size-len(good)-12) + `"}`
				m.RegisterRegexpResponder("GET", mustRe("https://reg.acme.test/wk"), jsonResp(200, big).HeaderAdd(http.Header{"Cache-Control": {"no-store"}}))
			})
			rep, _ := runOnTarget(t, doer, "iphone@18.1", sim.Target{AxMURL: "https://axm.test/mdmBaseURL", AxMDeclared: true}, sim.Limits{})
			assert.Equal(t, event.OutcomeDiscovered, rep.Outcome, describe(rep))
			assert.Equal(t, tt.abm003, result(rep, "ABM-003").Status, describe(rep))
			assert.Equal(t, check.Warn, result(rep, "SEC-003").Status, describe(rep))
			assert.Contains(t, result(rep, "SEC-003").Actual, tt.sec003)
			for _, r := range rep.Results {
				assert.NotEqual(t, check.Fail, r.Status, "%s: %s", r.ID, r.Actual)
			}
		})
	}
}

// The probes that compare documents (RD-002, WK-013) cannot compare one
// the simulator could not read: past the hard cap they are error, never the
// server's FAIL or WARN.
func TestDocumentProbesPastTheCap(t *testing.T) {
	const entry = `{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}`
	good := `{"Servers":[` + entry + `]}`
	huge := `{"Servers":[` + entry + `],"Vendor":"` + strings.Repeat("x", 1<<20) + `"}`
	noStore := http.Header{"Cache-Control": {"no-store"}}
	t.Run("RD-002: the target without the query answers past the cap", func(t *testing.T) {
		doer := mockDoer(t, func(m *httpmock.MockTransport) {
			m.RegisterRegexpResponder("GET", mustRe(wk), redirectTo(302, "https://mdm.acme.test/wk"))
			m.RegisterRegexpResponder("GET", mustRe("https://mdm.acme.test/wk?"), jsonResp(200, good).HeaderAdd(noStore))
			m.RegisterResponder("GET", "https://mdm.acme.test/wk", jsonResp(200, huge).HeaderAdd(noStore))
		})
		rep, _ := runOne(t, doer, "iphone@18.1", sim.Limits{})
		assert.Equal(t, event.OutcomeError, rep.Outcome, describe(rep))
		assert.Equal(t, check.Error, result(rep, "RD-002").Status, describe(rep))
		assert.Contains(t, result(rep, "RD-002").Detail+result(rep, "RD-002").Actual, "1 MiB read limit")
	})
	t.Run("WK-013: a variant answers past the cap", func(t *testing.T) {
		doer := mockDoer(t, func(m *httpmock.MockTransport) {
			m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice%40"), jsonResp(200, huge).HeaderAdd(noStore))
			m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice"), jsonResp(200, good).HeaderAdd(noStore))
			m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, `{"code":"com.apple.well-known.failed"}`))
		})
		rep, _ := runOne(t, doer, "iphone@18.1", sim.Limits{})
		assert.Equal(t, event.OutcomeDiscovered, rep.Outcome, describe(rep))
		assert.Equal(t, check.Error, result(rep, "WK-013").Status, describe(rep))
		assert.Contains(t, result(rep, "WK-013").Detail+result(rep, "WK-013").Actual, "'@' percent-encoded")
	})
}

// A 403 rejection with a byte-order mark is still the documented
// rejection: a device reads it and shows its message; WK-011 names the mark.
func TestRejectionWithAByteOrderMark(t *testing.T) {
	doer := mockDoer(t, func(m *httpmock.MockTransport) {
		m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, "\xEF\xBB\xBF"+`{"code":"com.apple.well-known.failed","message":"Ask IT"}`))
	})
	rep, evs := runOne(t, doer, "iphone@18.1", sim.Limits{})
	assert.Equal(t, event.OutcomeDiscoveryFailed, rep.Outcome)
	assert.Equal(t, check.Pass, result(rep, "WK-010").Status, describe(rep))
	assert.Equal(t, check.Warn, result(rep, "WK-011").Status, describe(rep))
	assert.Contains(t, result(rep, "WK-011").Actual, "the device's own request: the body starts with a UTF-8 byte-order mark")
	assert.Contains(t, caseMessage(evs), `the device shows "Ask IT"`)
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
	assert.Equal(t, event.OutcomeError, rep.Outcome, "%+v", result(rep, "WK-001"))
	assert.Equal(t, check.Error, result(rep, "WK-001").Status)
	assert.Equal(t, check.Warn, result(rep, "WK-015").Status)
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
