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
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
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
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,InterestFeedContentSuggestions"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("hide-scrollbars", true),
	}
}

// Browser is one Chromium process, started on the first login that needs
// it and shared by every case of a run; each login gets a fresh browser
// context (its own cookies and storage). Close ends the process.
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
	// setup. Every login still gets a context no other login used.
	spare   chan tab
	warming bool // a spare is opening
	// background are the tabs opening or closing outside a login, which
	// Close waits for.
	background sync.WaitGroup
}

type tab struct {
	ctx    context.Context
	cancel func()
	err    error // a spare that could not open
}

// New returns a browser that runs path (see Find) when first needed.
func New(path string) *Browser { return &Browser{path: path, spare: make(chan tab, 1)} }

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
	tab, cancel, err := b.tab(ctx, bctx)
	if err != nil {
		return &weblogin.Result{}, &weblogin.Error{Kind: weblogin.KindNoBrowser, Msg: "opening a browser tab: " + err.Error()}
	}
	defer b.closeLater(cancel)
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	l := newLogin(ctx, tab, fetch, req)
	// The next login's tab opens while this one waits on its pages, once
	// this one's tab is set up: a login is mostly waiting, and opening a
	// tab (a renderer process) is most of a login's setup.
	l.afterSetup = func() { b.warm(bctx) }
	err = l.run()
	return l.result(), err
}
