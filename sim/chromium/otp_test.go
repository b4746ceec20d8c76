package chromium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// The reference server's split one-time-code page (six one-character
// boxes and a script that moves the focus) signs in through the browser
// with no finding, and the code never shows in the events, whole or digit
// by digit.
func TestSplitCodeInTheBrowser(t *testing.T) {
	t.Parallel()
	ref := startRef(t, refserver.FaultLoginSplitOTP)
	d, err := device.LookupDevice("iphone@26.1")
	if err != nil {
		t.Fatal(err)
	}
	// Until the profile: the sign-ins with the split code are the device's
	// and its probes'; what follows the profile is other tests' business.
	c := sim.Case{Name: "split", Device: d, Account: ref.account("alice@acme.test"), Target: ref.target,
		Login: sim.LoginFields{Driver: sim.DriverBrowser}, Until: event.UntilProfile}
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 10 * time.Second}, Clock: ref.clock.Now, TOTPClock: ref.clock, Browser: shared}
	var events []event.Event
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	reps, err := eng.Run(ctx, sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	rep := reps[0]
	if rep.Outcome != event.OutcomeEnrolled {
		for _, ev := range events {
			if ev.Kind == event.EventStepEnd {
				t.Logf("%s: %s", ev.Step, ev.Message)
			}
		}
		t.Fatalf("outcome %s, want enrolled", rep.Outcome)
	}
	for _, r := range rep.Results {
		if r.Status == check.Fail || r.Status == check.Warn || r.Status == check.Error {
			t.Errorf("%s %s: %s %s", r.ID, r.Status, r.Actual, r.Detail)
		}
	}
	digits := regexp.MustCompile(`digit1=\d`)
	codeSubmissions := 0
	for _, ev := range events {
		if ev.Kind != event.EventExchange || !strings.Contains(ev.Exchange.Purpose, "submit one-time code (browser") {
			continue
		}
		codeSubmissions++
		if digits.MatchString(ev.Exchange.RequestBody) || !strings.Contains(ev.Exchange.RequestBody, "[redacted]") {
			t.Errorf("the split code shows in the exchange: %q", ev.Exchange.RequestBody)
		}
	}
	if codeSubmissions == 0 {
		t.Error("no one-time code was submitted in the browser")
	}
	assertNoSecrets(t, events, ref)
}

// boxesPage serves a password-less page of six one-character code boxes,
// plus extra markup, and counts the POSTs it gets.
type boxesPage struct {
	extra string
	mu    sync.Mutex
	posts int
}

func (p *boxesPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		_, _ = io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.posts++
		p.mu.Unlock()
		w.Header().Set("Location", callback)
		w.WriteHeader(http.StatusPermanentRedirect)
		return
	}
	var boxes strings.Builder
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&boxes, `<input name="d%d" maxlength="1" inputmode="numeric">`, i)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Code</title><form method="post" action="/verify">%s%s<button>Verify</button></form>`, boxes.String(), p.extra)
}

// A page the browser cannot fill as a person would ends in KindUnfillable
// at once, with nothing submitted.
func TestUnfillablePagesInTheBrowser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, extra, code, want string
	}{
		{"split code of another length", "", "12345678", "splits the one-time code over 6 one-character boxes, but the code has 8 digits"},
		{"required field nobody can fill", `<input name="captcha" required>`, testCode, `required text field "captcha"`},
		{"password longer than its field", `<input type="password" name="pw" maxlength="4">`, testCode, "the password field takes at most 4 characters (maxlength), but the password has 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			page := &boxesPage{extra: tc.extra}
			srv := httptest.NewServer(page)
			t.Cleanup(srv.Close)
			var secrets []string
			req := request(srv.URL+"/code", &secrets)
			req.OTP = func() (string, error) { return tc.code, nil }
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			res, err := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
			var we *weblogin.Error
			if !errors.As(err, &we) || we.Kind != weblogin.KindUnfillable {
				t.Fatalf("err %v, want unfillable; trail:\n%s", err, strings.Join(res.Trail, "\n"))
			}
			if !strings.Contains(we.Msg, tc.want) || strings.Contains(we.Msg, tc.code) {
				t.Errorf("message %q", we.Msg)
			}
			page.mu.Lock()
			defer page.mu.Unlock()
			if page.posts != 0 {
				t.Errorf("%d submissions of a form that cannot be filled", page.posts)
			}
		})
	}
}

// The browser types one digit per box: the page's own script sees each.
func TestSplitCodeTypedPerBox(t *testing.T) {
	t.Parallel()
	var got url.Values
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			_ = r.ParseForm()
			mu.Lock()
			got = r.PostForm
			mu.Unlock()
			w.Header().Set("Location", callback)
			w.WriteHeader(http.StatusPermanentRedirect)
			return
		}
		(&boxesPage{}).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var secrets []string
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), request(srv.URL+"/code", &secrets))
	if err != nil {
		t.Fatalf("%v; trail:\n%s", err, strings.Join(res.Trail, "\n"))
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range 6 {
		if v := got.Get(fmt.Sprintf("d%d", i+1)); v != testCode[i:i+1] {
			t.Errorf("box %d holds %q, want digit %d of the code", i+1, v, i+1)
		}
	}
	run := "d1=" + testCode[0:1]
	found := false
	for _, s := range secrets {
		if strings.HasPrefix(s, run) && len(s) > 20 {
			found = true
		}
	}
	if !found {
		t.Errorf("the split code's body was not registered as a secret: %q", secrets)
	}
}
