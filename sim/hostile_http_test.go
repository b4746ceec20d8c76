package sim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// rewriteDoer passes every request to the conforming reference server and
// lets a test change the answers on the way back: the rest of the flow
// stays correct, so anything tripped beyond the case's own is a false
// verdict.
type rewriteDoer struct {
	inner   sim.Doer
	rewrite func(req *http.Request, resp *http.Response)
}

func (d rewriteDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.inner.Do(req)
	if err == nil {
		d.rewrite(req, resp)
	}
	return resp, err
}

// playRewritten plays one case against the reference server through
// rewrite, under a deadline so a regression fails instead of hanging.
func playRewritten(t *testing.T, identifier string, rewrite func(*http.Request, *http.Response)) (sim.CaseReport, []event.Event) {
	t.Helper()
	r := startRef(t, 5*time.Second)
	r.target.Doer = rewriteDoer{inner: r.target.Doer, rewrite: rewrite}
	c := caseFor(t, "iphone@18.2", identifier, sim.TypeUser)
	var reps []sim.CaseReport
	var evs []event.Event
	done := make(chan struct{})
	go func() {
		defer close(done)
		reps, evs = play(t, r, 5*time.Second, c)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the engine hung")
	}
	require.Len(t, reps, 1)
	return reps[0], evs
}

// caseMessage is the message the case ended with.
func caseMessage(evs []event.Event) string {
	for _, e := range evs {
		if e.Kind == event.EventCaseEnd {
			return e.Message
		}
	}
	return ""
}

// isChallenge401 is the answer to the first enrollment POST.
func isChallenge401(resp *http.Response) bool {
	return resp.StatusCode == http.StatusUnauthorized && strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer")
}

// A 401 may carry several WWW-Authenticate headers and a header several
// challenges (RFC 9110 §11.6.1). The device finds its Bearer challenge
// wherever it stands; other schemes are no deviation of form.
func TestChallengeAmongOthers(t *testing.T) {
	tests := []struct {
		name    string
		account string
		headers func(bearer string) []string
		warn6   string // ENR-006 must warn with this; "" means it must pass
	}{
		{name: "Bearer in the second header", account: "alice@acme.test",
			headers: func(b string) []string { return []string{`Basic realm="acme"`, b} }},
		{name: "Basic and Bearer in one header", account: "alice@acme.test",
			headers: func(b string) []string { return []string{`Basic realm="acme", ` + b} }},
		{name: "token68 scheme first", account: "alice@acme.test",
			headers: func(b string) []string { return []string{`Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXeg==, ` + b} }},
		{name: "oauth2 Bearer after Digest", account: "erin@acme.test",
			headers: func(b string) []string { return []string{`Digest realm="acme", nonce="abc", qop="auth"`, b} }},
		{name: "an empty header first", account: "alice@acme.test",
			headers: func(b string) []string { return []string{"", b} }},
		{name: "an unknown Bearer method first", account: "alice@acme.test",
			headers: func(b string) []string { return []string{`Bearer method="apple-maid"`, b} },
			warn6:   "2 Bearer challenges; the simulator used challenge 2 of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := playRewritten(t, tt.account, func(req *http.Request, resp *http.Response) {
				if isChallenge401(resp) {
					resp.Header["Www-Authenticate"] = tt.headers(resp.Header.Get("WWW-Authenticate"))
				}
			})
			assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
			assert.Equal(t, check.Pass, result(rep, "ENR-002").Status, describe(rep))
			if tt.warn6 == "" {
				assert.Empty(t, tripped(rep), describe(rep))
			} else {
				assert.Equal(t, []string{"ENR-006"}, tripped(rep), describe(rep))
				assert.Equal(t, check.Warn, result(rep, "ENR-006").Status)
				assert.Contains(t, result(rep, "ENR-006").Actual, tt.warn6)
			}
		})
	}
}

// A 401 whose only challenges are other schemes still fails ENR-002, and
// one over the parser's bounds ends in error naming the limit.
func TestChallengeWithoutBearer(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		status  check.Status
		outcome string
		actual  string
	}{
		{name: "Basic only", headers: []string{`Basic realm="acme"`, `Negotiate`}, status: check.Fail, outcome: event.OutcomeEnrollFailed, actual: "schemes Basic, Negotiate"},
		{name: "a 1 MiB challenge", headers: []string{`Bearer method="apple-as-web", url="https://x.test/` + strings.Repeat("a", 1<<20) + `"`},
			status: check.Error, outcome: event.OutcomeError, actual: "over the simulator's limit of 16 KiB"},
		{name: "10,000 challenges", headers: manyChallenges(10000), status: check.Error, outcome: event.OutcomeError, actual: "over the simulator's limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
				if isChallenge401(resp) {
					resp.Header["Www-Authenticate"] = tt.headers
				}
			})
			assert.Equal(t, tt.outcome, rep.Outcome)
			r := result(rep, "ENR-002")
			assert.Equal(t, tt.status, r.Status, describe(rep))
			assert.Contains(t, r.Actual+r.Detail, tt.actual)
			assert.Less(t, len(r.Actual+r.Detail), 1000, "the verdict quotes a bounded part of the header")
		})
	}
}

func manyChallenges(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = `Basic realm="r"`
	}
	return out
}

// The callback with ten access-token items (or OAuth's code and state
// repeated): the device reads the first (URLComponents.queryItems, first
// match), so the run enrolls with it and the check warns naming the choice.
func TestCallbackRepeatedItems(t *testing.T) {
	tests := []struct {
		account, item, check, actual string
	}{
		{"alice@acme.test", "access-token", "AUTH-005", "10 access-token items (2 different values); the first is used"},
		{"erin@acme.test", "code", "AUTH-011", "10 code items (2 different values); the first is used"},
		{"erin@acme.test", "state", "AUTH-011", "10 state items (2 different values); the first is used"},
	}
	for _, tt := range tests {
		t.Run(tt.item, func(t *testing.T) {
			rep, _ := playRewritten(t, tt.account, func(req *http.Request, resp *http.Response) {
				loc := resp.Header.Get("Location")
				if !strings.HasPrefix(loc, sim.CallbackScheme+":") {
					return
				}
				u, err := url.Parse(loc)
				require.NoError(t, err)
				u.RawQuery += strings.Repeat("&"+tt.item+"=decoy", 9)
				resp.Header.Set("Location", u.String())
			})
			assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
			assert.Equal(t, []string{tt.check}, tripped(rep), describe(rep))
			r := result(rep, tt.check)
			assert.Equal(t, check.Warn, r.Status)
			assert.Contains(t, r.Actual, tt.actual)
			assert.NotContains(t, r.Actual, "decoy", "values are not quoted")
		})
	}
}

// Repeated Location headers on a redirect the engine follows: the first is
// used, as Foundation and Go do; different values are reported, never failed.
func TestRepeatedLocation(t *testing.T) {
	rep, _ := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
		if loc := resp.Header.Get("Location"); loc != "" && strings.HasPrefix(loc, sim.CallbackScheme+":") {
			resp.Header["Location"] = []string{loc, loc}
		}
	})
	assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
	assert.Empty(t, tripped(rep), "identical repeats are resolved silently:%s", describe(rep))
}

// Sign-in pages beyond the driver's bounds end the case in error naming
// the bound, never in a verdict on the server.
func TestSignInPageBeyondLimits(t *testing.T) {
	tests := map[string]string{
		"5000 forms":        strings.Repeat(`<form><input type="search" name="q"></form>`, 5000),
		"1 MiB nested divs": strings.Repeat("<div>", 200000),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			rep, evs := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
				if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
					resp.Body = io.NopCloser(strings.NewReader(body))
					resp.ContentLength = int64(len(body))
					resp.Header.Del("Content-Length")
				}
			})
			assert.Equal(t, event.OutcomeError, rep.Outcome, describe(rep))
			assert.Contains(t, caseMessage(evs), "the simulator could not read the sign-in page")
			for _, r := range rep.Results {
				assert.NotEqual(t, check.Fail, r.Status, "%s: %s", r.ID, r.Actual)
			}
		})
	}
}

// The well-known document under the size cap but hostile in shape: each
// ends in a verdict naming what was wrong or the simulator's limit.
func TestHostileWellKnownDocument(t *testing.T) {
	const entry = `{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}`
	deep := `{"Servers":[` + entry + `],"x":` + strings.Repeat("[", 30000) + strings.Repeat("]", 30000) + `}`
	tests := []struct {
		name    string
		body    string
		outcome string
		status  map[string]check.Status // check → status
		actual  map[string]string       // check → text its Actual or Detail contains
	}{
		{name: "60 KiB of nesting", body: deep, outcome: event.OutcomeError,
			status: map[string]check.Status{"WK-003": check.Error, "WK-001": check.Error},
			actual: map[string]string{"WK-003": "nested deeper than 64 levels (the simulator's limit)", "WK-001": "deeper than 64 levels"}},
		{name: "nesting the device does not read", body: `{"Servers":[` + entry + `],"x":` + strings.Repeat("[", 20) + strings.Repeat("]", 20) + `}`,
			outcome: event.OutcomeDiscovered, status: map[string]check.Status{"WK-003": check.Pass, "WK-001": check.Pass}},
		{name: "Servers twice", body: `{"Servers":[{"Version":"mdm-adde","BaseURL":"https://other.acme.test/x"}],"Servers":[` + entry + `]}`,
			outcome: event.OutcomeDiscovered, status: map[string]check.Status{"WK-003": check.Warn, "WK-001": check.Pass},
			actual: map[string]string{"WK-003": `key "Servers" appears 2 times in the document; the simulator used the last`}},
		{name: "thousands of Servers", body: `{"Servers":[` + entry + strings.Repeat(`,{}`, 20000) + `]}`,
			outcome: event.OutcomeDiscovered, status: map[string]check.Status{"WK-004": check.Fail, "WK-006": check.Fail},
			actual: map[string]string{"WK-004": "and 39990 more", "WK-006": "20001 entries"}},
		{name: "invalid UTF-8 in a string", body: `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll","Name":"Acme ` + "\xff\xfe" + `"}]}`,
			outcome: event.OutcomeDiscovered, status: map[string]check.Status{"WK-003": check.Warn, "WK-001": check.Pass},
			actual: map[string]string{"WK-003": "not valid UTF-8 at byte 88"}},
		{name: "NUL byte in a string", body: `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll` + "\x00" + `"}]}`,
			outcome: event.OutcomeDiscoveryFailed, status: map[string]check.Status{"WK-003": check.Fail},
			actual: map[string]string{"WK-003": "invalid character '\\x00' in string literal"}},
		{name: "NUL bytes around the object", body: "\x00\x00" + `{"Servers":[` + entry + `]}`,
			outcome: event.OutcomeDiscoveryFailed, status: map[string]check.Status{"WK-003": check.Fail},
			actual: map[string]string{"WK-003": "not a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Less(t, len(tt.body), 64<<10, "the case is about shape, not size")
			doer := mockDoer(t, func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(200, tt.body).HeaderAdd(http.Header{"Cache-Control": {"no-store"}}))
			})
			start := time.Now()
			rep, _ := runOne(t, doer, "iphone@18.1", sim.Limits{})
			assert.Less(t, time.Since(start), 10*time.Second)
			assert.Equal(t, tt.outcome, rep.Outcome, describe(rep))
			for id, st := range tt.status {
				assert.Equal(t, st, result(rep, id).Status, "%s: %s", id, describe(rep))
			}
			for id, text := range tt.actual {
				r := result(rep, id)
				assert.Contains(t, r.Actual+r.Detail, text, id)
			}
			for _, r := range rep.Results {
				assert.Less(t, len(r.Actual+r.Detail), 2000, "%s quotes a bounded part", r.ID)
			}
		})
	}
}

// Repeated single-field headers in discovery: the first is used, as Go and
// a device's lookup by name do; different values are noted, never failed.
func TestRepeatedDiscoveryHeaders(t *testing.T) {
	good := `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`
	doer := mockDoer(t, func(m *httpmock.MockTransport) {
		m.RegisterRegexpResponder("GET", mustRe(wk+"?user-identifier=alice"), func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(302, "")
			r.Header["Location"] = []string{"https://mdm.acme.test/wk?user-identifier=alice%40acme.test&model-family=iPhone", "https://evil.test/x"}
			return r, nil
		})
		m.RegisterRegexpResponder("GET", mustRe("https://mdm.acme.test/wk"), func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(200, good)
			r.Header["Content-Type"] = []string{"application/json", "text/html"}
			r.Header.Set("Cache-Control", "no-store")
			return r, nil
		})
		m.RegisterRegexpResponder("GET", mustRe(wk), jsonResp(403, `{"code":"com.apple.well-known.failed"}`))
	})
	rep, _ := runOne(t, doer, "iphone@18.1", sim.Limits{})
	assert.Equal(t, event.OutcomeDiscovered, rep.Outcome, describe(rep))
	for _, id := range []string{"RD-005", "WK-002"} {
		var noted, passed bool
		for _, r := range rep.Results {
			if r.ID != id {
				continue
			}
			assert.NotEqual(t, check.Fail, r.Status, id)
			noted = noted || (r.Status == check.Noted && strings.Contains(r.Detail, "headers with different values; the first is used"))
			passed = passed || r.Status == check.Pass
		}
		assert.True(t, noted && passed, "%s noted and passed:%s", id, describe(rep))
	}
}

// A 1 MiB Location and 10,000 headers on a discovery redirect: the verdict
// quotes a bounded part and the run ends within its deadline.
func TestHugeRedirectHeaders(t *testing.T) {
	tests := map[string]func(r *http.Response){
		"1 MiB Location to a custom scheme": func(r *http.Response) {
			r.Header.Set("Location", "x-custom://"+strings.Repeat("a", 1<<20))
		},
		"1 MiB Location that is not a URL": func(r *http.Response) {
			r.Header.Set("Location", "https://[::1"+strings.Repeat("a", 1<<20))
		},
		"10,000 Location headers": func(r *http.Response) {
			for i := range 10000 {
				r.Header.Add("Location", fmt.Sprintf("https://h%d.acme.test/x", i))
			}
		},
	}
	for name, set := range tests {
		t.Run(name, func(t *testing.T) {
			doer := mockDoer(t, func(m *httpmock.MockTransport) {
				m.RegisterRegexpResponder("GET", mustRe(wk), func(*http.Request) (*http.Response, error) {
					r := httpmock.NewStringResponse(302, "")
					set(r)
					return r, nil
				})
			})
			start := time.Now()
			rep, evs := runOne(t, doer, "iphone@18.1", sim.Limits{})
			assert.Less(t, time.Since(start), 10*time.Second)
			assert.NotEqual(t, event.OutcomeDiscovered, rep.Outcome)
			for _, e := range evs {
				assert.Less(t, len(e.Message), 4000, "event messages are bounded")
			}
			for _, r := range rep.Results {
				assert.Less(t, len(r.Actual+r.Detail), 4000, "%s quotes a bounded part", r.ID)
			}
		})
	}
}

// Repeated Content-Type headers on the profile: PROF-019 judges the first,
// as WK-002 does in discovery; different values are noted, never failed,
// and identical repeats are resolved silently.
func TestRepeatedProfileContentType(t *testing.T) {
	const aspen = "application/x-apple-aspen-config"
	const note = "2 Content-Type headers with different values; the first is used"
	tests := []struct {
		name   string
		values []string
		status check.Status // PROF-019's verdict
		noted  bool
	}{
		{"the profile type first", []string{aspen, "text/plain"}, check.Pass, true},
		{"another type first", []string{"text/plain", aspen}, check.Warn, true},
		{"identical repeats", []string{aspen, aspen}, check.Pass, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, _ := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
				if resp.Header.Get("Content-Type") == aspen {
					resp.Header["Content-Type"] = tt.values
				}
			})
			assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
			var verdicts []check.Status
			noted := false
			for _, r := range rep.Results {
				if r.ID != "PROF-019" {
					continue
				}
				assert.NotEqual(t, check.Fail, r.Status)
				if r.Status == check.Noted {
					noted = true
					assert.Contains(t, r.Detail, note)
					assert.Contains(t, r.Detail, fmt.Sprintf("%q", tt.values[0]))
					continue
				}
				verdicts = append(verdicts, r.Status)
			}
			assert.Equal(t, []check.Status{tt.status}, verdicts, describe(rep))
			assert.Equal(t, tt.noted, noted, describe(rep))
			if tt.status == check.Warn {
				assert.Equal(t, `"text/plain"`, result(rep, "PROF-019").Actual)
				assert.Equal(t, []string{"PROF-019"}, tripped(rep), describe(rep))
			} else {
				assert.Empty(t, tripped(rep), describe(rep))
			}
		})
	}
}
