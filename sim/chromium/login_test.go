package chromium

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim/weblogin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// One browser for the whole test binary: starting Chromium costs about a
// second, a fresh context per login almost nothing.
var shared *Browser

func TestMain(m *testing.M) {
	shared = New("")
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// exchange is one request as the engine would record it.
type exchange struct {
	method, url, purpose string
	header               http.Header
	body                 string
	status               int
}

// Bounds for tests on a machine other work keeps busy: a browser sign-in
// that takes a second alone can take many on two loaded cores. Tests of
// what a page does get bounds no loaded machine reaches, so that they fail
// only for a wrong outcome; a test of a bound sets its own short one and
// proves by the error which bound ended the login.
const (
	loginBound   = 2 * time.Minute // the engine's deadline for one login
	pageBound    = 2 * time.Minute // Request.PageTimeout
	requestBound = time.Minute     // one request of the recorder's
)

func loginCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), loginBound)
}

// recorder is a Fetch over a plain client, as the engine's, that keeps
// every exchange. timeout bounds each request (requestBound when zero).
type recorder struct {
	timeout time.Duration
	mu      sync.Mutex
	exs     []exchange
}

func (rec *recorder) fetch(client *http.Client) weblogin.Fetch {
	return func(ctx context.Context, method, rawURL string, header http.Header, body []byte, purpose string) (*weblogin.Page, error) {
		req, err := http.NewRequestWithContext(ctx, method, rawURL, strings.NewReader(string(body)))
		if err != nil {
			return nil, err
		}
		req.Header = header.Clone()
		timeout := rec.timeout
		if timeout == 0 {
			timeout = requestBound
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		resp, err := client.Do(req.WithContext(ctx))
		ex := exchange{method: method, url: rawURL, purpose: purpose, header: header, body: string(body)}
		if err != nil {
			rec.add(ex)
			return nil, err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		ex.status = resp.StatusCode
		rec.add(ex)
		if err != nil {
			return nil, err
		}
		return &weblogin.Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
	}
}

func (rec *recorder) add(ex exchange) {
	rec.mu.Lock()
	rec.exs = append(rec.exs, ex)
	rec.mu.Unlock()
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func newIDP(t *testing.T) (*idp, *httptest.Server) {
	t.Helper()
	p := &idp{hang: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { close(p.hang); srv.Close() })
	return p, srv
}

func request(start string, secrets *[]string) weblogin.Request {
	return weblogin.Request{
		StartURL:    start,
		UserAgent:   "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1",
		Username:    testUser,
		Password:    testPassword,
		OTP:         func() (string, error) { return testCode, nil },
		Viewport:    weblogin.Viewport{Width: 393, Height: 852, Scale: 3, Mobile: true, Touch: true},
		Language:    "en-US",
		PageTimeout: pageBound,
		OnSecret:    func(s string) { *secrets = append(*secrets, s) },
	}
}

func TestSinglePageFlow(t *testing.T) {
	t.Parallel()
	p, srv := newIDP(t)
	var secrets []string
	rec := &recorder{}
	ctx, cancel := loginCtx()
	defer cancel()
	res, err := shared.Login(ctx, rec.fetch(noRedirects()), request(srv.URL+"/spa?user-identifier=alice%40acme.test", &secrets))
	if err != nil {
		t.Fatalf("login: %v\ntrail:\n%s\nserver saw:\n%s", err, strings.Join(res.Trail, "\n"), p.all())
	}
	if res.Callback == nil || res.Callback.Query().Get("access-token") != testToken {
		t.Fatalf("callback %v", res.Callback)
	}
	if res.CallbackRoute != weblogin.RouteScript || res.CallbackStatus != 200 {
		t.Errorf("callback route %q status %d, want a script navigation from a 200 page", res.CallbackRoute, res.CallbackStatus)
	}
	if !strings.Contains(res.CallbackHeader.Get("Cache-Control"), "no-store") {
		t.Errorf("CallbackHeader %v: want the header of the fetch() answer carrying the token", res.CallbackHeader)
	}
	if !res.FirstFactorDone || !res.SecondFactorSeen || res.CallbackBeforeSecondFactor {
		t.Errorf("factors: first %v second %v before %v", res.FirstFactorDone, res.SecondFactorSeen, res.CallbackBeforeSecondFactor)
	}
	if len(res.Screenshots) != 3 {
		t.Errorf("%d screenshots, want one per page (user name, password, code)", len(res.Screenshots))
	}
	for _, s := range res.Screenshots {
		if !strings.HasPrefix(string(s.PNG), "\x89PNG") || strings.Contains(s.Page, "?") {
			t.Errorf("screenshot %q: not a PNG or named with a query", s.Page)
		}
	}
	for _, want := range []string{testSession, "scriptset-9f8e7d6c"} {
		if !contains(secrets, want) {
			t.Errorf("cookie %q was not registered with OnSecret (got %d secrets)", want, len(secrets))
		}
	}
	for _, ex := range rec.exs {
		if ex.header.Get("User-Agent") != request("", nil).UserAgent {
			t.Errorf("%s %s: User-Agent %q", ex.method, ex.url, ex.header.Get("User-Agent"))
		}
		for k := range ex.header {
			if strings.HasPrefix(strings.ToLower(k), "sec-ch-") {
				t.Errorf("%s %s sends %s, which Safari does not", ex.method, ex.url, k)
			}
		}
	}
	trail := strings.Join(res.Trail, "\n")
	for _, secret := range []string{testPassword, testCode, testToken, testSession} {
		if strings.Contains(trail, secret) {
			t.Errorf("trail holds secret %q:\n%s", secret, trail)
		}
	}
}

// A sign-in whose pictures nobody will see (a probe's) takes none, and
// still reaches its callback.
func TestSignInWithoutScreenshots(t *testing.T) {
	t.Parallel()
	p, srv := newIDP(t)
	var secrets []string
	ctx, cancel := loginCtx()
	defer cancel()
	req := request(srv.URL+"/spa?user-identifier=alice%40acme.test", &secrets)
	req.NoScreenshots = true
	res, err := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
	if err != nil {
		t.Fatalf("login: %v\ntrail:\n%s\nserver saw:\n%s", err, strings.Join(res.Trail, "\n"), p.all())
	}
	if res.Callback == nil || !res.SecondFactorSeen {
		t.Fatalf("callback %v, second factor seen %v: the login must go the whole way", res.Callback, res.SecondFactorSeen)
	}
	if len(res.Screenshots) != 0 {
		t.Errorf("%d screenshots taken for a login that asked for none", len(res.Screenshots))
	}
}

// A page that disables its button and sends what was typed only later is
// at work, not refusing: the user name form it still shows, with the
// button disabled, is no rejection. The page's own delay (1.5 s, ten times
// the driver's settle window) makes the page look settled before its
// request leaves on every machine, so this fails whenever a disabled button
// is read as a refusal.
func TestPageThatSendsAfterDisablingItsButton(t *testing.T) {
	t.Parallel()
	p, srv := newIDP(t)
	var secrets []string
	ctx, cancel := loginCtx()
	defer cancel()
	res, err := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), request(srv.URL+"/slowspa", &secrets))
	if err != nil {
		t.Fatalf("login: %v\ntrail:\n%s\nserver saw:\n%s", err, strings.Join(res.Trail, "\n"), p.all())
	}
	if res.Callback == nil || res.Callback.Query().Get("access-token") != testToken {
		t.Fatalf("callback %v", res.Callback)
	}
}

// Every login has a browser context no other login used, the spare tab
// opened ahead included: a cookie the first login got is not sent by the
// next ones.
func TestEveryLoginStartsWithoutCookies(t *testing.T) {
	_, srv := newIDP(t)
	b := New("")
	defer b.Close()
	for i := range 3 {
		var secrets []string
		ctx, cancel := loginCtx()
		res, err := b.Login(ctx, (&recorder{}).fetch(noRedirects()), request(srv.URL+"/cookiestart", &secrets))
		cancel()
		require.NoError(t, err, "login %d", i)
		assert.Equal(t, "fresh", res.Callback.Query().Get("state"), "login %d was sent an earlier login's cookie", i)
	}
}

// A tab serves the next login once its login was redirected to the
// callback, and the next login finds nothing of the earlier one: no
// cookie, no local or session storage, no page to go back to.
func TestUsedTabsKeepNothingOfTheirLogin(t *testing.T) {
	_, srv := newIDP(t)
	b := New("")
	defer b.Close()
	var history string
	for i := range 4 {
		var secrets []string
		ctx, cancel := loginCtx()
		res, err := b.Login(ctx, (&recorder{}).fetch(noRedirects()), request(srv.URL+"/storagestart", &secrets))
		cancel()
		require.NoError(t, err, "login %d", i)
		assert.Equal(t, "fresh", res.Callback.Query().Get("state"), "login %d found what an earlier login left", i)
		if i == 0 {
			history = res.Callback.Query().Get("history")
		}
		assert.Equal(t, history, res.Callback.Query().Get("history"), "login %d has another history than a fresh tab", i)
		assert.Equal(t, weblogin.RouteRedirect, res.CallbackRoute)
	}
	// The first login opened its tab and a spare; the others used the
	// first one's.
	assert.Equal(t, int32(2), b.opened.Load(), "tabs opened for four logins")
}

// A browser context keeps HSTS, which no wipe clears: a tab that saw
// Strict-Transport-Security serves no other login.
func TestTabThatSawHSTSServesNoOtherLogin(t *testing.T) {
	_, srv := newIDP(t)
	b := New("")
	defer b.Close()
	for i, start := range []string{"/hstsstart", "/storagestart"} {
		var secrets []string
		ctx, cancel := loginCtx()
		_, err := b.Login(ctx, (&recorder{}).fetch(noRedirects()), request(srv.URL+start, &secrets))
		cancel()
		require.NoError(t, err, "login %d", i)
	}
	// The first login's tab and its spare, then a spare for the second,
	// which took the first spare.
	assert.Equal(t, int32(3), b.opened.Load(), "tabs opened for two logins")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestScriptFormWithCSRFHeader(t *testing.T) {
	t.Parallel()
	p, srv := newIDP(t)
	var secrets []string
	rec := &recorder{}
	ctx, cancel := loginCtx()
	defer cancel()
	req := request(srv.URL+"/xhr", &secrets)
	req.OTP = nil
	res, err := shared.Login(ctx, rec.fetch(noRedirects()), req)
	if err != nil {
		t.Fatalf("login: %v\ntrail:\n%s\nserver saw:\n%s", err, strings.Join(res.Trail, "\n"), p.all())
	}
	if res.CallbackRoute != weblogin.RouteRedirect || res.CallbackStatus != http.StatusPermanentRedirect {
		t.Errorf("callback route %q status %d, want the server's 308", res.CallbackRoute, res.CallbackStatus)
	}
	if !contains(secrets, testCSRF) {
		t.Errorf("the CSRF cookie was not registered")
	}
	if got := p.requests(); !contains(got, "POST /xhr/login") {
		t.Errorf("server saw %v", got)
	}
}

func TestWrongPasswordIsRejected(t *testing.T) {
	t.Parallel()
	_, srv := newIDP(t)
	var secrets []string
	rec := &recorder{}
	ctx, cancel := loginCtx()
	defer cancel()
	req := request(srv.URL+"/spa", &secrets)
	req.Password = "wrong-password-1"
	res, err := shared.Login(ctx, rec.fetch(noRedirects()), req)
	var we *weblogin.Error
	if !errors.As(err, &we) || we.Kind != weblogin.KindRejected {
		t.Fatalf("err %v, want a rejection; trail:\n%s", err, strings.Join(res.Trail, "\n"))
	}
	if !strings.Contains(we.Msg, "credentials were rejected") || !strings.Contains(we.Msg, "Your password is incorrect") {
		t.Errorf("message %q", we.Msg)
	}
	if strings.Contains(we.Msg, "wrong-password-1") {
		t.Errorf("message holds the password")
	}
}

// A refusal that leaves the typed password in its field is told from a
// page still at work by the error text that appears. The cause is proved
// by the outcome, not by the clock: had the driver waited for the page
// timeout, the login would end "did not move within" (KindNoCallback), and
// the page timeout here is longer than the login's deadline, so a refusal
// seen only at a timeout cannot pass.
func TestRejectionWithThePasswordKept(t *testing.T) {
	t.Parallel()
	_, srv := newIDP(t)
	var secrets []string
	ctx, cancel := context.WithTimeout(context.Background(), loginBound)
	defer cancel()
	req := request(srv.URL+"/xhr", &secrets)
	req.OTP, req.Password = nil, "wrong-password-2"
	req.PageTimeout = 2 * loginBound
	res, err := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
	var we *weblogin.Error
	if !errors.As(err, &we) || we.Kind != weblogin.KindRejected {
		t.Fatalf("err %v, want a rejection told by the page's error text; trail:\n%s", err, strings.Join(res.Trail, "\n"))
	}
	if !strings.HasPrefix(we.Msg, "the credentials were rejected") || !strings.Contains(we.Msg, `"Invalid user name or password."`) {
		t.Errorf("message %q: the refusal must be told by the page's error text", we.Msg)
	}
}

// A page that never draws a form ends at the page timeout: the message
// names that bound, which the login's deadline (far longer) would not. The
// wall-clock bound is generous (ten times the page timeout): it only
// catches a hang.
func TestPageThatStopsMoving(t *testing.T) {
	t.Parallel()
	_, srv := newIDP(t)
	var secrets []string
	rec := &recorder{}
	ctx, cancel := loginCtx()
	defer cancel()
	req := request(srv.URL+"/empty", &secrets)
	req.PageTimeout = 3 * time.Second
	start := time.Now()
	res, err := shared.Login(ctx, rec.fetch(noRedirects()), req)
	var we *weblogin.Error
	if !errors.As(err, &we) || we.Kind != weblogin.KindNoForm {
		t.Fatalf("err %v, want no form; trail:\n%s", err, strings.Join(res.Trail, "\n"))
	}
	if want := "no user name or password field appeared on " + srv.URL + "/empty within 3s"; !strings.Contains(we.Msg, want) {
		t.Errorf("message %q, want %q", we.Msg, want)
	}
	if d := time.Since(start); d > 10*req.PageTimeout {
		t.Errorf("took %s, over ten times the page timeout", d)
	}
}

// A page whose server never answers ends at the request's own timeout
// (the engine's per-request bound), as a transport error naming the page:
// not at the login's deadline, which is far longer, and not as a finding.
// The wall-clock bound (ten times the request timeout) only catches a hang.
func TestPageThatNeverAnswers(t *testing.T) {
	t.Parallel()
	_, srv := newIDP(t)
	var secrets []string
	rec := &recorder{timeout: 3 * time.Second}
	ctx, cancel := loginCtx()
	defer cancel()
	start := time.Now()
	res, err := shared.Login(ctx, rec.fetch(noRedirects()), request(srv.URL+"/hang", &secrets))
	var te *transportError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(te.msg, srv.URL+"/hang") {
		t.Fatalf("err %v, want the request's timeout on %s/hang; trail:\n%s", err, srv.URL, strings.Join(res.Trail, "\n"))
	}
	if d := time.Since(start); d > 10*rec.timeout {
		t.Errorf("took %s, over ten times the request timeout: %v", d, err)
	}
}
