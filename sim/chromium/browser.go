// Package chromium is the web login driver that runs the sign-in pages in
// a real browser engine: Chromium over the DevTools protocol (chromedp), for
// identity providers whose pages build their forms in JavaScript, post them
// with fetch/XHR and navigate by script.
//
// The browser never touches the network itself. Every request it makes
// (documents, scripts, XHR, images, redirects) is paused with the DevTools
// Fetch domain and answered with the weblogin.Fetch the engine passes in, so
// each one is an exchange event with the engine's timeouts, size caps, TLS
// checks, resolve overrides and redaction. The browser needs no certificate
// flags: it never sees TLS.
package chromium

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// Names looked up in PATH when no binary is given, Debian's first.
var binaries = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the browser binary to run: path when set, else the first of
// chromium, chromium-browser, google-chrome in PATH.
func Find(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("browser %s: %w\n%s", path, err, weblogin.InstallHint)
		}
		return p, nil
	}
	for _, name := range binaries {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no browser found in PATH (looked for chromium, chromium-browser, google-chrome)\n%s", weblogin.InstallHint)
}

// Flags every browser of a run gets. The sandbox needs privileges a
// container or CI runner rarely grants; the pages run against a test target.
// Background services are off: they would dial out (this tool's runs often
// have no internet, and the requests would not be the device's).
func flags(dir, bin string) []chromedp.ExecAllocatorOption {
	return append(QuietFlags(bin), chromedp.UserDataDir(dir))
}

// QuietFlags start bin headless, unsandboxed and with every background
// service off: the browser makes no request of its own. Tests that drive
// Chromium without this package's driver use them too.
func QuietFlags(bin string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Site isolation off: a renderer process per site visited (the MDM,
		// the identity provider, about:blank between logins) cost a process
		// start each, about a fifth of a browser sign-in's CPU. Pages cannot
		// tell; each login still has a browser context of its own (or a
		// wiped one), so no cookie or storage crosses logins.
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions,IsolateOrigins,site-per-process"),
		chromedp.Flag("disable-site-isolation-trials", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
	}
}

// Browser is one Chromium process, started on the first login that needs
// it and shared by every case of a run. Each login gets a tab of its own:
// a fresh browser context, or the tab of an earlier login that stayed on
// one origin and was redirected to its callback, wiped of cookies,
// storage, cache and history (used, wipe). Close ends the process.
type Browser struct {
	path string

	mu         sync.Mutex
	started    bool
	closed     bool
	err        error
	dir        string
	browserCtx context.Context
	cancel     func()

	// spare is a tab in a fresh browser context, opened while the last
	// login ran: opening one (a renderer process) is most of a login's
	// setup.
	spare   chan tab
	warming bool // a spare is opening
	// used are the tabs of logins redirected to their callback, left on
	// about:blank and wiped (cookies, storage, cache, history: see wipe)
	// for the next login, which costs a fraction of opening a tab: a
	// renderer process started for every sign-in was most of the CPU of
	// a browser enrollment.
	used chan tab
	// leaving counts the tabs being left in the background; left is
	// closed (and replaced) each time one is done.
	leaving int
	left    chan struct{}
	opened  atomic.Int32 // tabs opened, for tests
	// background are the tabs opening or closing outside a login, which
	// Close waits for.
	background sync.WaitGroup
}

type tab struct {
	ctx    context.Context
	cancel func()
	err    error // a spare that could not open
	// origins the last login visited, whose storage the wipe clears;
	// watched: the DOM watch (watchDOMJS) is installed.
	origins []string
	watched bool
}

// usedTabs bounds the wiped tabs kept between logins: one per login that
// may run at once in a usual run; more are closed.
const usedTabs = 4

// New returns a browser that runs path (see Find) when first needed.
func New(path string) *Browser {
	return &Browser{path: path, spare: make(chan tab, 1), used: make(chan tab, usedTabs), left: make(chan struct{})}
}

// tab is a tab in a browser context of its own: the spare one (waited for
// when it is opening), else a new one.
func (b *Browser) tab(ctx, bctx context.Context) (context.Context, func(), error) {
	b.mu.Lock()
	warming := b.warming
	b.mu.Unlock()
	if warming {
		// The spare is on its way: opening another would only race it.
		select {
		case t := <-b.spare:
			if t.err == nil {
				return t.ctx, t.cancel, nil
			}
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	} else {
		select {
		case t := <-b.spare:
			if t.err == nil {
				return t.ctx, t.cancel, nil
			}
		default:
		}
	}
	b.opened.Add(1)
	t, err := open(bctx)
	return t.ctx, t.cancel, err
}

// open makes a browser context and its tab, and waits for the tab.
func open(bctx context.Context) (tab, error) {
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	// Bounded by a timer, not a derived context: the tab lives as long as
	// the context its first action ran on.
	bound := time.AfterFunc(3*actionLimit, cancel)
	defer bound.Stop()
	// The Page and Network domains now, not when the login turns them on:
	// Network's first enable costs tens of milliseconds. The login
	// subscribes to their events before the page makes a request.
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, page.Enable, page.EnableParams{}); err != nil {
			return err
		}
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		return nil
	}))
	if err != nil {
		cancel()
		return tab{}, err
	}
	return tab{ctx: ctx, cancel: cancel}, nil
}

// warm opens the next spare tab in the background, unless there is one
// or the browser is closing.
func (b *Browser) warm(bctx context.Context) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.warming || len(b.spare) > 0 {
		return
	}
	b.warming = true
	b.background.Add(1)
	go func() {
		defer b.background.Done()
		b.opened.Add(1)
		t, err := open(bctx)
		t.err = err
		b.mu.Lock()
		b.warming = false
		b.mu.Unlock()
		// Sent even when it failed: a login waiting for it then opens
		// its own.
		select {
		case b.spare <- t:
		default:
			if err == nil {
				t.cancel()
			}
		}
	}()
}

// closeLater closes a login's tab and its context in the background: the
// login's result does not wait for the browser to tear them down.
func (b *Browser) closeLater(cancel func()) {
	b.background.Add(1)
	go func() {
		defer b.background.Done()
		cancel()
	}()
}

// Available says whether a browser binary can be found, without starting it.
func (b *Browser) Available() error {
	_, err := Find(b.path)
	return err
}

// Started reports whether Chromium started and ran: some sign-in needed
// it, and it was there to take it.
func (b *Browser) Started() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started && b.err == nil
}

// UserDataDir is the profile directory of the running browser ("" before
// the start): tests find the browser's processes by it.
func (b *Browser) UserDataDir() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dir
}

func (b *Browser) start() (context.Context, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("the browser was closed")
	}
	if b.started {
		return b.browserCtx, b.err
	}
	b.started = true
	bin, err := Find(b.path)
	if err != nil {
		b.err = err
		return nil, err
	}
	dir, err := os.MkdirTemp("", "enrollsim-chromium-")
	if err != nil {
		b.err = fmt.Errorf("browser profile directory: %w", err)
		return nil, b.err
	}
	b.dir = dir
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), flags(dir, bin)...)
	bctx, bcancel := chromedp.NewContext(allocCtx)
	b.browserCtx = bctx
	b.cancel = func() { bcancel(); allocCancel() }
	if err := chromedp.Do(bctx); err != nil {
		b.err = fmt.Errorf("starting %s: %w\n%s", bin, err, weblogin.InstallHint)
		return nil, b.err
	}
	return bctx, nil
}

// Close ends the browser process and removes its profile. It is safe to
// call more than once, and on a browser never started.
func (b *Browser) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	// The tabs closing or opening end first, then the spare one is closed;
	// a browser too wedged to close them within the bound is ended anyway.
	waited := make(chan struct{})
	go func() { b.background.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(3 * actionLimit):
	}
	select {
	case t := <-b.spare:
		if t.err == nil {
			t.cancel()
		}
	default:
	}
	for len(b.used) > 0 {
		(<-b.used).cancel()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Read while the browser still runs: the link goes with the profile.
	sockets := socketDir(b.dir)
	if b.cancel != nil {
		b.cancel() // waits for the process to exit
		b.cancel = nil
	}
	if b.dir != "" {
		removeAll(b.dir)
	}
	removeSocketDir(sockets)
	return nil
}

// socketDir is the folder Chromium made in $TMPDIR for its singleton
// socket (org.chromium.Chromium.XXXXXX; the profile's SingletonSocket links
// there), or "". Chromium keeps the socket out of the profile because a
// socket's path is short (108 bytes), and leaves the folder behind when it
// is ended: one per run, until Close removes it.
func socketDir(profile string) string {
	if profile == "" {
		return ""
	}
	target, err := os.Readlink(filepath.Join(profile, "SingletonSocket"))
	if err != nil || !filepath.IsAbs(target) {
		return ""
	}
	return filepath.Dir(target)
}

// removeSocketDir removes Chromium's singleton files and then the folder,
// only if nothing else is in it: it is outside the profile, so nothing
// unknown is deleted.
func removeSocketDir(dir string) {
	if dir == "" {
		return
	}
	for range 20 {
		for _, name := range []string{"SingletonSocket", "SingletonCookie"} {
			_ = os.Remove(filepath.Join(dir, name))
		}
		if err := os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return
		}
		sleep(50)
	}
}

// removeAll retries: Chromium's helpers may write into the profile for a
// moment after the browser exits.
func removeAll(dir string) {
	for range 20 {
		if err := os.RemoveAll(dir); err == nil {
			return
		}
		sleep(50)
	}
}

// Login plays the web view from req.StartURL to the callback in a fresh
// browser context.
func (b *Browser) Login(ctx context.Context, fetch weblogin.Fetch, req weblogin.Request) (*weblogin.Result, error) {
	if err := req.Fields.Validate(); err != nil {
		return nil, err
	}
	bctx, err := b.start()
	if err != nil {
		return &weblogin.Result{}, &weblogin.Error{Kind: weblogin.KindNoBrowser, Msg: err.Error()}
	}
	t, reused := b.takeUsed(ctx)
	if !reused {
		tctx, cancel, err := b.tab(ctx, bctx)
		if err != nil {
			return &weblogin.Result{}, &weblogin.Error{Kind: weblogin.KindNoBrowser, Msg: "opening a browser tab: " + err.Error()}
		}
		t = tab{ctx: tctx, cancel: cancel}
	}
	// The login's actions and subscriptions live on a context of its own,
	// so that they end with it and the tab can serve the next login.
	lctx, lcancel := context.WithCancel(t.ctx)
	stop := context.AfterFunc(ctx, lcancel)
	l := newLogin(ctx, lctx, fetch, req)
	l.watched = t.watched
	if !reused {
		// The next login's tab opens while this one waits on its pages,
		// once this one's tab is set up: a login is mostly waiting, and
		// opening a tab (a renderer process) is most of a login's setup.
		l.afterSetup = func() { b.warm(bctx) }
	}
	err = l.run()
	stop()
	t.origins, t.watched = l.visited(), true
	res := l.result()
	// Only a tab whose login ended at the callback by an HTTP redirect
	// serves again: one that failed may hold a page in any state, and one
	// whose page navigated to the callback scheme itself has asked for an
	// external app, after which Chromium may block the next such request
	// from the tab (a second login would never see its callback). Nor does
	// a tab whose context keeps what no wipe clears (leavesState).
	b.leave(t, lcancel, err == nil && ctx.Err() == nil && res.CallbackRoute == weblogin.RouteRedirect && !l.leavesState())
	return res, err
}

// takeUsed takes a used tab, waiting for one being left; false when there
// is none, or none came within actionLimit (a wedged tab being left must
// not hold up the next login, which then opens one).
func (b *Browser) takeUsed(ctx context.Context) (tab, bool) {
	bound := time.NewTimer(actionLimit)
	defer bound.Stop()
	for {
		select {
		case t := <-b.used:
			return t, true
		default:
		}
		b.mu.Lock()
		leaving, left := b.leaving, b.left
		b.mu.Unlock()
		if leaving == 0 {
			return tab{}, false
		}
		select {
		case <-left:
		case <-bound.C:
			return tab{}, false
		case <-ctx.Done():
			return tab{}, false
		}
	}
}

// leave ends a login on its tab: the tab goes to about:blank, which stops
// the page's scripts, while the login still fails what the page asks;
// then the login's subscriptions end, and the tab is wiped. A tab to keep
// joins the used ones, and any other is closed. In the background, while
// the engine goes on with the token: the next login waits for a tab
// being left rather than open one.
//
// Only a login that stayed on one origin leaves its tab to another: a
// tab's session storage outlives its pages, and DevTools clears it only
// for a loaded frame, so it is cleared on the last page before the tab
// leaves (clearSessionStorage).
func (b *Browser) leave(t tab, endLogin func(), keep bool) {
	b.mu.Lock()
	b.leaving++
	b.mu.Unlock()
	b.background.Add(1)
	go func() {
		defer b.background.Done()
		keep := b.leaveTab(t, endLogin, keep)
		b.mu.Lock()
		if keep && !b.closed {
			select {
			case b.used <- t:
			default:
				keep = false
			}
		} else {
			keep = false
		}
		b.leaving--
		close(b.left)
		b.left = make(chan struct{})
		b.mu.Unlock()
		if !keep {
			t.cancel()
		}
	}()
}

// leaveTab does leave's work; false when the tab is not to serve again.
func (b *Browser) leaveTab(t tab, endLogin func(), keep bool) bool {
	if !keep || len(t.origins) != 1 {
		endLogin()
		return false
	}
	ctx, cancel := context.WithTimeout(t.ctx, actionLimit)
	defer cancel()
	origin, err := clearSessionStorage(ctx)
	if err != nil || origin != t.origins[0] {
		endLogin()
		return false
	}
	_, err = chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: "about:blank"})
	endLogin()
	return err == nil && wipeSoon(t) == nil
}

// clearSessionStorage clears the top document's session storage and
// returns its origin. It runs in a world of its own: the page's scripts
// share the document with it, not their globals, so a page that replaced
// Storage's methods cannot keep its session storage for the next login.
func clearSessionStorage(ctx context.Context) (string, error) {
	tree, err := chromedp.Call(ctx, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		return "", err
	}
	if tree.FrameTree == nil || tree.FrameTree.Frame == nil {
		return "", errors.New("the tab has no frame")
	}
	world, err := chromedp.Call(ctx, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: tree.FrameTree.Frame.ID, WorldName: "enrollsim"})
	if err != nil {
		return "", err
	}
	byValue := true
	res, err := chromedp.Call(ctx, runtime.Evaluate, runtime.EvaluateParams{
		Expression: `(() => { sessionStorage.clear(); return sessionStorage.length === 0 ? location.origin : '' })()`,
		ContextID:  world.ExecutionContextID, ReturnByValue: &byValue})
	if err != nil {
		return "", err
	}
	if res.ExceptionDetails != nil || res.Result == nil {
		return "", errors.New("clearing the session storage threw")
	}
	var origin string
	if err := json.Unmarshal([]byte(res.Result.Value), &origin); err != nil || origin == "" {
		return "", errors.New("the session storage did not clear")
	}
	return origin, nil
}

// wipeSoon wipes a tab just left: for a moment after about:blank, DevTools
// may find no page to act on ("Not attached to an active page"), longer on
// a busy machine. Each step of the wipe may be done again; it tries for
// actionLimit in all.
func wipeSoon(t tab) error {
	deadline := time.Now().Add(actionLimit)
	for attempt := 1; ; attempt++ {
		err := wipe(t)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		sleep(min(10*attempt, 100))
	}
}

// wipe makes a used tab what a new browser context is to a page: no
// cookies (of any site), no storage of the origin the last login visited
// (local storage, IndexedDB, caches, service workers; leave cleared its
// session storage), no HTTP cache, and no history to go back to.
func wipe(t tab) error {
	ctx, cancel := context.WithTimeout(t.ctx, actionLimit)
	defer cancel()
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(ctx, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		return err
	}
	for _, o := range t.origins {
		if _, err := chromedp.Call(ctx, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: o, StorageTypes: "all"}); err != nil {
			return err
		}
	}
	_, err := chromedp.Call(ctx, page.ResetNavigationHistory, cdp.Empty{})
	return err
}
