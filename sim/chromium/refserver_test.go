package chromium

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// spy is the target's Doer, noting every credential the server hands out
// so the test can look for them in the events.
type spy struct {
	next    sim.Doer
	mu      sync.Mutex
	secrets map[string]bool
}

var tokenInJSON = regexp.MustCompile(`"(access_token|refresh_token|id_token)"\s*:\s*"([^"]+)"`)

func (s *spy) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.next.Do(req)
	if err != nil {
		return resp, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, line := range resp.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && len(c.Value) >= 8 {
			s.secrets[c.Value] = true
		}
	}
	if u, err := url.Parse(resp.Header.Get("Location")); err == nil {
		for _, k := range []string{"access-token", "code"} {
			if v := u.Query().Get(k); len(v) >= 8 {
				s.secrets[v] = true
			}
		}
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		for _, m := range tokenInJSON.FindAllStringSubmatch(string(body), -1) {
			s.secrets[m[2]] = true
		}
	}
	return resp, nil
}

// engineLimits give the browser's page timeout and a sign-in's step
// timeout room no loaded machine needs (the production 10 s and 60 s can
// expire on two busy cores and end a sign-in that would have worked).
var engineLimits = sim.Limits{Timeout: 10 * time.Second, PageTimeout: pageBound, StepTimeout: 5 * time.Minute}

type refTarget struct {
	srv    *refserver.Server
	target sim.Target
	clock  *sim.VirtualClock
	spy    *spy
}

func startRef(t testing.TB, faults ...string) *refTarget {
	t.Helper()
	clock := &sim.VirtualClock{}
	srv, err := refserver.Start(refserver.Config{Faults: faults, Now: clock.Now, TOTPNow: clock.TOTPNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	sp := &spy{next: client, secrets: map[string]bool{}}
	return &refTarget{srv: srv, clock: clock, spy: sp,
		target: sim.Target{Name: "ref", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: sp, StockRoots: srv.StockPool(), Admin: adminHooks(srv), Keys: keys.Reused}}
}

func (r *refTarget) account(id string) sim.Account {
	a := sim.Account{Identifier: id}
	for _, d := range r.srv.Accounts() {
		if d.Identifier == id {
			a.Password, a.TOTPSecret, a.ManagedAppleID = secret.New(d.Password), secret.New(d.TOTPSecret), d.ManagedAppleID
		}
	}
	return a
}

// The reference server's form accounts sign in through the browser on
// every device family, and nothing secret reaches the events.
func TestReferenceAccountsInTheBrowser(t *testing.T) {
	ref := startRef(t)
	var cases []sim.Case
	for _, tc := range []struct{ device, account string }{
		{"iphone@26.1", "alice@acme.test"},
		{"ipad@18.2", "bob@acme.test"},
		{"mac@26.1", "carol@acme.test"},
		{"vision@26.1", "alice@acme.test"},
		{"iphone@26.1", "erin@acme.test"}, // OAuth 2: the authorization pages in the browser too
	} {
		d, err := device.LookupDevice(tc.device)
		if err != nil {
			t.Fatal(err)
		}
		// The first case goes the whole way, probes and token life's
		// sign-ins again included; the others sign in once, until the
		// profile.
		c := sim.Case{Name: tc.device + "/" + tc.account, Device: d, Account: ref.account(tc.account), Target: ref.target,
			Login: sim.LoginFields{Driver: sim.DriverBrowser}}
		if len(cases) > 0 {
			c.NoProbes, c.Until = true, event.UntilProfile
		}
		cases = append(cases, c)
	}
	var events []event.Event
	var mu sync.Mutex
	eng := &sim.Engine{Limits: engineLimits, Clock: ref.clock.Now, TOTPClock: ref.clock, Browser: shared, Parallel: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reps, err := eng.Run(ctx, sim.Plan{Cases: cases}, func(e event.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range reps {
		if rep.Outcome != event.OutcomeEnrolled {
			var why []string
			for _, ev := range events {
				if ev.Case == rep.Name && ev.Kind == event.EventStepEnd {
					why = append(why, string(ev.Step)+": "+ev.Message)
				}
			}
			t.Errorf("%s: outcome %s: %s\n%s", rep.Name, rep.Outcome, rep.Message, strings.Join(why, "\n"))
		}
		for _, r := range rep.Results {
			if r.Status == check.Fail || r.Status == check.Warn || r.Status == check.Error {
				t.Errorf("%s: %s %s: %s %s", rep.Name, r.ID, r.Status, r.Actual, r.Detail)
			}
		}
	}
	browserPages, shots := map[string]int{}, map[string]int{}
	for _, ev := range events {
		if ev.Kind == event.EventExchange && strings.Contains(ev.Exchange.Purpose, "(browser") {
			browserPages[ev.Case]++
		}
		if ev.Kind == event.EventArtifact {
			shots[ev.Case]++
			if !strings.HasPrefix(string(ev.Artifact.Data), "\x89PNG") || strings.ContainsAny(ev.Artifact.File, "?&=/@") {
				t.Errorf("%s: artifact %q (%s) is no PNG or has an unsafe file name", ev.Case, ev.Artifact.Name, ev.Artifact.File)
			}
		}
	}
	for _, c := range cases {
		if browserPages[c.Name] == 0 || shots[c.Name] == 0 {
			t.Errorf("%s: %d browser exchanges, %d screenshots", c.Name, browserPages[c.Name], shots[c.Name])
		}
	}
	assertNoSecrets(t, events, ref)
}

func assertNoSecrets(t *testing.T, events []event.Event, ref *refTarget) {
	t.Helper()
	secrets := map[string]string{}
	for _, d := range ref.srv.Accounts() {
		secrets[d.Password] = "password of " + d.Identifier
		if d.TOTPSecret != "" {
			secrets[d.TOTPSecret] = "TOTP seed of " + d.Identifier
		}
	}
	ref.spy.mu.Lock()
	if len(ref.spy.secrets) < 3 {
		t.Errorf("the spy saw %d cookies or tokens: the test would prove nothing", len(ref.spy.secrets))
	}
	for s := range ref.spy.secrets {
		secrets[s] = "a cookie or token the server sent"
	}
	ref.spy.mu.Unlock()
	for _, ev := range events {
		if ev.Artifact != nil {
			a := *ev.Artifact
			a.Data = nil
			ev.Artifact = &a
		}
		b, _ := json.Marshal(ev)
		text := string(b)
		for s, what := range secrets {
			if len(s) >= 6 && (strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s))) {
				t.Errorf("%s leaks in a %s event: %.300s", what, ev.Kind, text)
			}
		}
	}
}

// auto: the form driver meets a page that needs JavaScript, and the sign-in
// starts over in the browser from a fresh challenge; form alone ends in
// error (the tester could not sign in), not in a failure of the server.
func TestAutoStartsOverInTheBrowser(t *testing.T) {
	t.Parallel()
	d, err := device.LookupDevice("iphone@26.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		driver, outcome string
		browser         weblogin.Driver
		message         string
	}{
		{sim.DriverAuto, event.OutcomeEnrolled, shared, "the page needs JavaScript: signed in again in the browser"},
		{sim.DriverForm, event.OutcomeError, shared, "the tester could not sign in: the page needs JavaScript"},
		{sim.DriverAuto, event.OutcomeError, nil, weblogin.InstallHint},
		{sim.DriverBrowser, event.OutcomeError, New("/nonexistent/chromium"), weblogin.InstallHint},
	} {
		ref := startRef(t, refserver.FaultOTPNeedsJavaScript)
		c := sim.Case{Name: "c", Device: d, Account: ref.account("alice@acme.test"), Target: ref.target, Login: sim.LoginFields{Driver: tc.driver}, NoProbes: true}
		eng := &sim.Engine{Limits: engineLimits, Clock: ref.clock.Now, TOTPClock: ref.clock, Browser: tc.browser}
		var events []event.Event
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		reps, err := eng.Run(ctx, sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { events = append(events, e) })
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		msg, challenges := "", 0
		results := map[string]check.Status{}
		for _, ev := range events {
			if ev.Kind == event.EventStepEnd && ev.Step == event.StepWebLogin {
				msg = ev.Message
			}
			if ev.Kind == event.EventExchange && strings.HasPrefix(ev.Exchange.Purpose, "enrollment request") {
				challenges++
			}
			if ev.Kind == event.EventCheck {
				results[ev.Result.ID] = ev.Result.Status
			}
		}
		name := tc.driver
		if tc.browser == nil {
			name += " without a browser"
		}
		if reps[0].Outcome != tc.outcome || !strings.Contains(msg, tc.message) {
			t.Errorf("%s: outcome %s (%s), web-login %q; want %s and %q", name, reps[0].Outcome, reps[0].Message, msg, tc.outcome, tc.message)
		}
		if results["AUTH-002"] == check.Warn || results["AUTH-002"] == check.Fail || results["AUTH-001"] == check.Fail {
			t.Errorf("%s: AUTH-001 %s, AUTH-002 %s: a page the tester could not read is no verdict on the server", name, results["AUTH-001"], results["AUTH-002"])
		}
		if tc.outcome == event.OutcomeEnrolled && challenges != 3 {
			// the first POST, the fresh challenge, and the enrollment with the token
			t.Errorf("%s: %d enrollment requests, want 3 (a fresh challenge before the browser)", name, challenges)
		}
	}
}

// adminHooks are the reference server's admin triggers, for the token-life
// checks (TOK-006, TOK-007, TOK-009).
func adminHooks(srv *refserver.Server) sim.AdminHooks {
	revoke, expire, unenroll := srv.AdminURLs()
	return sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll}
}

// An engine whose pictures nobody keeps (a run without --artifacts or a
// report) signs in through the browser without taking any.
func TestEngineWithoutScreenshotsTakesNone(t *testing.T) {
	t.Parallel()
	ref := startRef(t)
	d, err := device.LookupDevice("iphone@26.1")
	if err != nil {
		t.Fatal(err)
	}
	c := sim.Case{Name: "no-pictures", Device: d, Account: ref.account("alice@acme.test"), Target: ref.target,
		Login: sim.LoginFields{Driver: sim.DriverBrowser}, NoProbes: true}
	eng := &sim.Engine{Limits: engineLimits, Clock: ref.clock.Now, TOTPClock: ref.clock, Browser: shared, NoScreenshots: true}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var browserPages, shots int
	reps, err := eng.Run(ctx, sim.Plan{Cases: []sim.Case{c}}, func(ev event.Event) {
		if ev.Kind == event.EventExchange && strings.Contains(ev.Exchange.Purpose, "(browser") {
			browserPages++
		}
		if ev.Kind == event.EventArtifact {
			shots++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if reps[0].Outcome != event.OutcomeEnrolled || browserPages == 0 {
		t.Fatalf("outcome %s after %d browser exchanges: the sign-in must run in the browser", reps[0].Outcome, browserPages)
	}
	if shots != 0 {
		t.Errorf("%d screenshots taken by an engine that keeps none", shots)
	}
}
