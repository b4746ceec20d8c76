package refserver

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/enrollsim/enrollsim/sim/chromium"
	"github.com/stretchr/testify/require"
)

// One headless Chromium serves every browser test of this binary. Its
// resolver sends every host of the reference server (and any other name
// to nowhere) to a loopback forwarder, which passes each connection on to
// whichever server the running test selected. The servers are made up
// front, because Chromium trusts each one's leaf by its SPKI hash, given
// at launch; TLS is the servers' own, end to end.

// chromeFaults are the servers the browser tests can select: the
// conforming one ("") and one per JavaScript fault.
var chromeFaults = []string{"", FaultJSCallbackNoToken, FaultJSPasswordHTTP, FaultJSNoPrefill}

type chromeRig struct {
	cancel  func()          // stops the browser
	browser context.Context // the browser's first tab; new contexts derive from it
	servers map[string]*Server
	totp    *totpClock
	fwd     net.Listener

	mu     sync.Mutex
	target string // the selected server's address
}

var (
	rigOnce sync.Once
	rig     *chromeRig
	rigErr  error
)

// TestMain closes the shared browser and its servers when the tests end,
// so that no Chromium outlives the binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if rig != nil {
		rig.close()
	}
	os.Exit(code)
}

// chrome starts the shared browser on first use. A missing Chromium fails
// the test with the install command: the browser tests are never skipped.
func chrome(t *testing.T) *chromeRig {
	t.Helper()
	rigOnce.Do(func() { rig, rigErr = startChrome() })
	require.NoError(t, rigErr)
	return rig
}

func chromePath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium on PATH\ninstall it with: sudo apt-get install chromium (or run make deps)")
}

func startChrome() (*chromeRig, error) {
	path, err := chromePath()
	if err != nil {
		return nil, err
	}
	r := &chromeRig{servers: map[string]*Server{}, totp: &totpClock{at: map[string]time.Time{}}}
	var spkis []string
	for _, fault := range chromeFaults {
		cfg := Config{TOTPNow: r.totp.now}
		if fault != "" {
			cfg.Faults = []string{fault}
		}
		s, err := Start(cfg)
		if err != nil {
			r.close()
			return nil, err
		}
		r.servers[fault] = s
		leaf, err := x509.ParseCertificate(s.ca.leaf.Certificate[0])
		if err != nil {
			r.close()
			return nil, err
		}
		sum := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
		spkis = append(spkis, base64.StdEncoding.EncodeToString(sum[:]))
	}
	if r.fwd, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		r.close()
		return nil, err
	}
	go r.forward()
	var rules []string
	for _, h := range []string{OrgDomain, MDMHost, IdPHost, AxMHost} {
		rules = append(rules, "MAP "+h+" "+r.fwd.Addr().String())
	}
	// Nothing else resolves: a page that reaches for another host (the
	// http origin of js-password-http) goes nowhere.
	rules = append(rules, "MAP * ~NOTFOUND")
	// No UserDataDir: the allocator makes a fresh one and, when the browser
	// ends, kills any child process still using it and removes it.
	opts := append(chromium.QuietFlags(path),
		chromedp.Flag("host-resolver-rules", strings.Join(rules, ", ")),
		chromedp.Flag("ignore-certificate-errors-spki-list", strings.Join(spkis, ",")),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	r.cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	// The first Do starts the browser and must run without a deadline of
	// its own (that would stop the browser when it ends); a timer that
	// cancels the allocator bounds it instead.
	stuck := time.AfterFunc(2*time.Minute, cancelAlloc)
	err = chromedp.Do(browser)
	stuck.Stop()
	if err != nil {
		r.close()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	r.browser = browser
	return r, nil
}

func (r *chromeRig) close() {
	if r.cancel != nil {
		r.cancel()
	}
	if r.fwd != nil {
		r.fwd.Close()
	}
	for _, s := range r.servers {
		s.Close()
	}
}

// forward passes each connection to the selected server.
func (r *chromeRig) forward() {
	for {
		c, err := r.fwd.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		target := r.target
		r.mu.Unlock()
		go func() {
			defer c.Close()
			up, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			done := make(chan struct{}, 2)
			go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
			go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
			<-done
		}()
	}
}

// use selects the server with fault ("" for the conforming one) for the
// next browser context. Browser tests run one after another (no
// t.Parallel), and each context opens its own connections.
func (r *chromeRig) use(t *testing.T, fault string) *Server {
	t.Helper()
	s, ok := r.servers[fault]
	require.True(t, ok, "no browser-test server for fault %q", fault)
	r.mu.Lock()
	r.target = s.Addr()
	r.mu.Unlock()
	return s
}

// totpClock gives each sign-in its own TOTP time step, so that the same
// account can sign in many times on one server without replaying a code.
type totpClock struct {
	mu   sync.Mutex
	at   map[string]time.Time // by seed
	next time.Time
}

func (c *totpClock) now(seed string) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.at[seed]; ok {
		return at
	}
	return time.Now()
}

// code moves acct to a fresh time step and returns its code there.
func (c *totpClock) code(t *testing.T, acct Account) string {
	t.Helper()
	c.mu.Lock()
	if c.next.IsZero() {
		c.next = time.Now()
	}
	c.next = c.next.Add(time.Duration(totpPeriod) * time.Second)
	at := c.next
	c.at[acct.TOTPSecret] = at
	c.mu.Unlock()
	return totpAt(t, acct, at)
}

// tab is one fresh browser context (no cookies shared) with what it saw.
type tab struct {
	ctx context.Context

	mu        sync.Mutex
	callbacks []string          // custom-scheme URLs the page navigated or was redirected to
	requests  []sentRequest     // every request the page sent (or tried to)
	blocked   map[string]string // request ID → blocked reason
	documents map[string]int    // document URL → status of its answer
}

type sentRequest struct {
	id, method, url string
	body            bool
}

// newTab opens a fresh browser context (no cookies shared) with the
// device's agent and an iPhone's viewport, and starts recording. Every
// action in it ends within tabDeadline, and the tab closes with the test.
func (r *chromeRig) newTab(t *testing.T, userAgent string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(r.browser, chromedp.WithNewBrowserContext())
	stop := time.AfterFunc(tabDeadline, cancel)
	t.Cleanup(func() { stop.Stop(); cancel() })
	tb := &tab{ctx: ctx, blocked: map[string]string{}, documents: map[string]int{}}
	require.NoError(t, chromedp.Do(ctx))
	require.NoError(t, chromedp.Listen(ctx, tb.observe))
	_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
	require.NoError(t, err)
	_, err = chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: userAgent})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(393, 852)))
	return tb
}

// Waits, not measures of speed: they end at once when the page is done,
// and only a page that hangs pays them in full. A browser on two cores
// other work keeps busy can take many seconds for what takes one alone.
const (
	tabDeadline  = 2 * time.Minute
	callbackWait = time.Minute // for the page to head for the callback
)

func (tb *tab) observe(ev any) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch e := ev.(type) {
	case *cdppage.EventFrameRequestedNavigation:
		if strings.HasPrefix(e.URL, callbackScheme+":") {
			tb.callbacks = append(tb.callbacks, e.URL)
		}
	case *network.EventRequestWillBeSent:
		if strings.HasPrefix(e.Request.URL, callbackScheme+":") {
			tb.callbacks = append(tb.callbacks, e.Request.URL)
		}
		if !strings.HasPrefix(e.Request.URL, "data:") {
			tb.requests = append(tb.requests, sentRequest{id: string(e.RequestID), method: e.Request.Method, url: e.Request.URL,
				body: e.Request.HasPostData})
		}
	case *network.EventResponseReceivedExtraInfo:
		// A server redirect to the callback (the Safari-only page's 308)
		// is never requested, so only the raw answer shows it.
		if e.StatusCode >= 300 && e.StatusCode < 400 {
			for k, v := range e.Headers {
				if loc, ok := v.(string); ok && strings.EqualFold(k, "location") && strings.HasPrefix(loc, callbackScheme+":") {
					tb.callbacks = append(tb.callbacks, loc)
				}
			}
		}
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeDocument {
			u := e.Response.URL
			if i := strings.IndexByte(u, '?'); i >= 0 {
				u = u[:i]
			}
			tb.documents[u] = int(e.Response.Status)
		}
	case *network.EventLoadingFailed:
		if e.BlockedReason != "" {
			tb.blocked[string(e.RequestID)] = string(e.BlockedReason)
		}
	}
}

// callback waits for the page to head for the callback scheme.
func (tb *tab) callback(t *testing.T, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		tb.mu.Lock()
		if len(tb.callbacks) > 0 {
			cb := tb.callbacks[0]
			tb.mu.Unlock()
			return cb
		}
		tb.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no navigation to %s: within %s; requests: %v", callbackScheme, within, tb.sent())
	return ""
}

func (tb *tab) callbacksSeen() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.callbacks...)
}

// documentStatus is the status of the document answer for u (without its
// query).
func (tb *tab) documentStatus(t *testing.T, u string) int {
	t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	status, ok := tb.documents[u]
	require.True(t, ok, "no document answer for %s: %v", u, tb.documents)
	return status
}

func (tb *tab) sent() []sentRequest {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]sentRequest(nil), tb.requests...)
}

func (tb *tab) blockedReason(id string) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.blocked[id]
}

// run runs actions in the tab. A page that stops moving fails at the tab's
// deadline, with the requests the page made.
func (tb *tab) run(t *testing.T, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(tb.ctx, actions...), "requests so far: %v", tb.sent())
}
