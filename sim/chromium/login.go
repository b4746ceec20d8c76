package chromium

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// Polling: the driver looks at the live page this often, and calls it
// settled when no request is in flight, none ended for settleQuiet, and two
// looks in a row saw the same DOM.
const (
	pollEvery   = 20 * time.Millisecond
	settleQuiet = 30 * time.Millisecond
	// domQuiet: a loaded document whose DOM has not changed for this long
	// is taken as drawn at the first look; one that changed more recently
	// must look the same twice in a row.
	domQuiet    = 20 * time.Millisecond
	actionLimit = 5 * time.Second // one DevTools action (type, click, screenshot)
	// maxSubmissions bounds the forms one login fills: a page that keeps
	// drawing new forms is a loop.
	maxSubmissions = 20
	maxTrailLine   = 500
)

// login is one sign-in in one fresh browser context.
type login struct {
	ctx   context.Context // the engine's deadline for the whole login
	tab   context.Context
	fetch weblogin.Fetch
	req   weblogin.Request

	scheme      string
	maxPages    int
	pageTimeout time.Duration
	red         *scrubber

	fetchMu sync.Mutex // one engine request at a time, as the engine's steps are sequential

	mu           sync.Mutex
	res          weblogin.Result
	inflight     int
	lastActivity time.Time
	done         chan struct{}
	closed       bool
	fatal        error
	origins      []string // for cookie look-ups
	responses    []response
	redirects    int
	submitted    string // what the last submission sent, for purposes
	credentials  bool   // a password was typed at some point

	afterSetup func() // runs once the tab is set up, before the start page loads
	watched    bool   // the tab has the DOM watch from an earlier login
	// hsts: a response set Strict-Transport-Security, which the browser
	// context keeps (it would upgrade a later login's http request before
	// the driver saw it), so the tab serves no other login.
	hsts bool
}

type response struct {
	kind network.ResourceType
	page *weblogin.Page
}

func newLogin(ctx, tab context.Context, f weblogin.Fetch, req weblogin.Request) *login {
	l := &login{ctx: ctx, tab: tab, fetch: f, req: req, done: make(chan struct{}), red: &scrubber{}, lastActivity: time.Now()}
	l.scheme = strings.ToLower(req.CallbackScheme)
	if l.scheme == "" {
		l.scheme = weblogin.DefaultCallbackScheme
	}
	l.maxPages = req.MaxPages
	if l.maxPages <= 0 {
		l.maxPages = weblogin.DefaultBrowserMaxPages
	}
	l.pageTimeout = req.PageTimeout
	if l.pageTimeout <= 0 {
		l.pageTimeout = weblogin.DefaultPageTimeout
	}
	l.red.add(req.Password)
	return l
}

// visited are the origins the login's requests went to.
func (l *login) visited() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.origins)
}

// leavesState: the login left state in its browser context that no wipe
// clears (an HSTS entry).
func (l *login) leavesState() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hsts
}

func (l *login) result() *weblogin.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.res
	r.Trail = slices.Clone(r.Trail)
	return &r
}

func (l *login) run() error {
	start, err := url.Parse(strings.TrimSpace(l.req.StartURL))
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") || start.Host == "" {
		return l.fail(weblogin.KindBadRedirect, "the start URL %q is not an absolute http(s) URL", l.req.StartURL)
	}
	if err := l.setup(); err != nil {
		if l.ctx.Err() != nil {
			return l.deadline()
		}
		return l.fail(weblogin.KindNoBrowser, "setting up the browser tab: %v", err)
	}
	if l.afterSetup != nil {
		l.afterSetup()
	}
	go func() {
		// Page.navigate returns once the document answered; the poll loop
		// keeps its own clock meanwhile.
		_, _ = chromedp.Call(l.tab, page.Navigate, page.NavigateParams{URL: start.String()})
	}()
	return l.drive()
}

// setup makes the tab look like the device's web view and routes every
// request through the engine. The tab's events are subscribed to before
// the domains are enabled, so that none is missed.
func (l *login) setup() error {
	if err := l.listen(); err != nil {
		return err
	}
	return l.emulate()
}

// listen subscribes to the tab's events: paused requests go to the engine,
// navigations and blocked requests to the login's record, dialogs are
// accepted.
func (l *login) listen() error {
	paused := chromedp.Events(l.tab, fetch.RequestPaused)
	requested := chromedp.Events(l.tab, page.FrameRequestedNavigation)
	started := chromedp.Events(l.tab, page.FrameStartedNavigating)
	dialogs := chromedp.Events(l.tab, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			go l.handle(ev)
		}
	}()
	go func() {
		for ev, err := range requested {
			if err != nil {
				return
			}
			if ev.Disposition != "" && ev.Disposition != page.ClientNavigationDispositionCurrentTab {
				// window.open or a download: the web session watches its
				// own page's navigations only.
				continue
			}
			l.navigation(ev.URL, ev.Reason)
		}
	}()
	go func() {
		for ev, err := range started {
			if err != nil {
				return
			}
			l.navigation(ev.URL, "")
		}
	}()
	// Requests the browser blocks as mixed content never reach the Fetch
	// domain; the network domain still announces them. Listen, not an
	// Events iterator: its fn runs before any later reply returns, so a
	// page that shows its error the moment the request is blocked cannot
	// end the login before the request is recorded (on a busy machine the
	// iterator's goroutine can lag behind the driver, and SEC-001 would go
	// unseen).
	if err := chromedp.Listen(l.tab, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			l.insecure(*e)
		}
	}); err != nil {
		return err
	}
	go func() {
		// A dialog blocks the page's scripts until someone answers it.
		for _, err := range dialogs {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(l.tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return nil
}

// emulate makes the tab look like the device's web view: its user agent,
// language, platform, viewport and touch; and turns on the domains the
// login listens to, Fetch for every request.
func (l *login) emulate() error {
	vp := l.req.Viewport
	if vp.Width == 0 {
		vp = weblogin.Viewport{Width: 393, Height: 852, Scale: 3, Mobile: true, Touch: true}
	}
	ua := l.req.UserAgent
	if ua == "" {
		ua = weblogin.DefaultUserAgent
	}
	lang := l.req.Language
	if lang == "" {
		lang = "en-US"
	}
	platform := "MacIntel"
	switch {
	case strings.Contains(ua, "iPhone"):
		platform = "iPhone"
	case strings.Contains(ua, "iPad"):
		platform = "iPad"
	}
	ctx, cancel := context.WithTimeout(l.tab, 3*actionLimit)
	defer cancel()
	scale := vp.Scale
	if scale == 0 {
		scale = 1
	}
	return chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if l.watched {
				return nil
			}
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchDOMJS})
			return err
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			// Page and Network are on since the tab opened (open); Fetch
			// now, after the login's listeners, as it pauses requests.
			_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*", RequestStage: fetch.RequestStageRequest}}})
			return err
		}),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: acceptLanguage(lang), Platform: platform})
			if err != nil {
				return err
			}
			_, err = chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(lang, "-", "_")})
			return err
		}),
		chromedp.EmulateViewport(int64(vp.Width), int64(vp.Height), chromedp.EmulateScale(scale), func(p1 *emulation.SetDeviceMetricsOverrideParams, p2 *emulation.SetTouchEmulationEnabledParams) {
			p1.Mobile = vp.Mobile
			p2.Enabled = vp.Touch
			if vp.Touch {
				p2.MaxTouchPoints = 5
			}
			if vp.Height > vp.Width {
				chromedp.EmulatePortrait(p1, p2)
			}
		}),
	)
}

// acceptLanguage lists the language and its base, as Safari does; Chromium
// adds the q-values itself ("en-US,en;q=0.9").
func acceptLanguage(lang string) string {
	base, _, found := strings.Cut(lang, "-")
	if !found {
		return lang
	}
	return lang + "," + base
}

// insecure records a request over plain http that carries the sign-in: a
// document, a fetch/XHR, or anything with a body. A passive image over http
// is no endpoint the device talks to, so it is left out.
func (l *login) insecure(ev network.EventRequestWillBeSent) {
	if ev.Request == nil {
		return
	}
	u, err := url.Parse(ev.Request.URL)
	if err != nil || strings.ToLower(u.Scheme) != "http" {
		return
	}
	switch {
	case ev.Type == network.ResourceTypeDocument, ev.Type == network.ResourceTypeXHR, ev.Type == network.ResourceTypeFetch:
	case ev.Request.Method != http.MethodGet && ev.Request.Method != http.MethodHead:
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	what := ev.Request.Method + " " + weblogin.ElideQuery(u)
	if !slices.Contains(l.res.Insecure, what) {
		l.res.Insecure = append(l.res.Insecure, what)
	}
}

// navigation watches for the callback scheme: a script that sets
// window.location to it, or a meta refresh, makes no request the Fetch
// domain could pause. reason is Chromium's, when the event carries one.
func (l *login) navigation(raw string, reason page.ClientNavigationReason) {
	u, err := url.Parse(raw)
	if err != nil || strings.ToLower(u.Scheme) != l.scheme {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	last := l.lastDocument()
	carrier := l.carrier(u)
	l.res.Callback = u
	l.res.CallbackRoute = l.route(reason, last, u)
	if last != nil {
		l.res.CallbackStatus = last.Status
	}
	if carrier != nil {
		l.res.CallbackHeader = l.red.header(carrier.Header)
	}
	l.settleFactors()
	l.noteLocked(string(l.res.CallbackRoute) + " navigation → callback " + weblogin.ElideQuery(u))
	l.closeLocked(nil)
}

// route names how the page reached the callback, as the form driver would:
// Chromium's reason when the event gave one, else what the last document
// says (the same reading as the form driver's), else a script.
func (l *login) route(reason page.ClientNavigationReason, last *weblogin.Page, cb *url.URL) weblogin.Route {
	switch reason {
	case page.ClientNavigationReasonMetaTagRefresh, page.ClientNavigationReasonHTTPHeaderRefresh:
		return weblogin.RouteRefresh
	case page.ClientNavigationReasonFormSubmissionGet, page.ClientNavigationReasonFormSubmissionPost:
		return weblogin.RouteForm
	case page.ClientNavigationReasonScriptInitiated:
		return weblogin.RouteScript
	}
	if found, route := weblogin.PageCallback(last, l.scheme); found != nil && found.String() == cb.String() {
		return route
	}
	return weblogin.RouteScript
}

func (l *login) lastDocument() *weblogin.Page {
	for i := len(l.responses) - 1; i >= 0; i-- {
		if l.responses[i].kind == network.ResourceTypeDocument {
			return l.responses[i].page
		}
	}
	return nil
}

// carrier is the response that brought the callback's token to the page: the
// latest one whose body holds a credential of the callback, else the latest
// document. AUTH-008 reads its Cache-Control.
func (l *login) carrier(cb *url.URL) *weblogin.Page {
	var values []string
	for _, k := range []string{"access-token", "code"} {
		if v := cb.Query().Get(k); len(v) >= 8 {
			values = append(values, v)
		}
	}
	for i := len(l.responses) - 1; i >= 0; i-- {
		for _, v := range values {
			if strings.Contains(string(l.responses[i].page.Body), v) {
				return l.responses[i].page
			}
		}
	}
	return l.lastDocument()
}

// settleFactors fills what the callback says about the factors, as the
// form driver's finish does.
func (l *login) settleFactors() {
	if l.credentials {
		l.res.FirstFactorDone = true
	}
	l.res.CallbackBeforeSecondFactor = l.req.OTP != nil && l.credentials && !l.res.SecondFactorSeen
}

// closeLocked ends the login once: with the callback (err nil) or an error.
func (l *login) closeLocked(err error) {
	if l.closed {
		return
	}
	l.closed, l.fatal = true, err
	close(l.done)
}

func (l *login) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// handle answers one paused request with the engine's Fetch.
func (l *login) handle(ev fetch.EventRequestPaused) {
	l.activity(+1)
	defer l.activity(-1)
	rq := ev.Request
	u, err := url.Parse(rq.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || l.isClosed() {
		l.failRequest(ev.RequestID)
		return
	}
	l.fetchMu.Lock()
	defer l.fetchMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.failRequest(ev.RequestID)
		return
	}
	if l.res.Pages >= l.maxPages {
		l.closeLocked(l.failLocked(weblogin.KindNoCallback, "no callback after %d requests (the browser's request limit)", l.res.Pages))
		l.mu.Unlock()
		l.failRequest(ev.RequestID)
		return
	}
	l.res.Pages++
	purpose := l.purposeLocked(ev, u)
	if !slices.Contains(l.origins, u.Scheme+"://"+u.Host) {
		l.origins = append(l.origins, u.Scheme+"://"+u.Host)
	}
	l.mu.Unlock()

	header := l.requestHeader(rq, u)
	var body []byte
	for _, e := range rq.PostDataEntries {
		body = append(body, e.Bytes...)
	}
	if !rq.HasPostData {
		body = nil
	}
	pg, err := l.fetch(l.ctx, rq.Method, rq.URL, header, body, purpose)
	if err == nil && pg == nil {
		err = errors.New("fetch returned no page")
	}
	if err != nil {
		l.mu.Lock()
		l.noteLocked(rq.Method + " " + rq.URL + " → error")
		if vital(ev.ResourceType) {
			if l.ctx.Err() != nil {
				l.closeLocked(l.failLocked(weblogin.KindNoCallback, "the deadline passed after %d requests, before the callback%s", l.res.Pages, l.lastPageLocked()))
			} else {
				msg := fmt.Sprintf("%s %s: %v", rq.Method, rq.URL, err)
				if strings.Contains(err.Error(), rq.URL) {
					msg = err.Error()
				}
				l.closeLocked(&transportError{msg: l.red.scrub(msg), err: err})
			}
		}
		l.mu.Unlock()
		l.failRequest(ev.RequestID)
		return
	}
	if pg.URL == nil {
		p := *pg
		p.URL = u
		pg = &p
	}
	l.cookies(pg.Header)
	if pg.Header.Get("Strict-Transport-Security") != "" {
		l.mu.Lock()
		l.hsts = true
		l.mu.Unlock()
	}
	if pg.Status >= 300 && pg.Status < 400 {
		if target, ok := l.location(u, pg); ok && strings.ToLower(target.Scheme) == l.scheme {
			l.mu.Lock()
			l.res.Callback, l.res.CallbackStatus, l.res.CallbackRoute = target, pg.Status, weblogin.RouteRedirect
			l.res.CallbackHeader = l.red.header(pg.Header)
			l.settleFactors()
			l.noteLocked(fmt.Sprintf("%s %s → %d callback %s", rq.Method, rq.URL, pg.Status, weblogin.ElideQuery(target)))
			l.closeLocked(nil)
			l.mu.Unlock()
			l.failRequest(ev.RequestID)
			return
		}
	}
	l.mu.Lock()
	l.responses = append(l.responses, response{kind: ev.ResourceType, page: pg})
	if len(l.responses) > 50 {
		l.responses = slices.Delete(l.responses, 0, len(l.responses)-50)
	}
	l.noteLocked(fmt.Sprintf("%s %s → %d %s", rq.Method, rq.URL, pg.Status, strings.ToLower(string(ev.ResourceType))))
	l.mu.Unlock()
	l.fulfil(ev.RequestID, pg)
}

// vital requests end the login when they fail: without them the page
// cannot go on. A missing image or favicon does not.
func vital(t network.ResourceType) bool {
	switch t {
	case network.ResourceTypeDocument, network.ResourceTypeXHR, network.ResourceTypeFetch, network.ResourceTypeScript:
		return true
	}
	return false
}

func (l *login) location(base *url.URL, pg *weblogin.Page) (*url.URL, bool) {
	loc := strings.TrimSpace(pg.Header.Get("Location"))
	if loc == "" {
		return nil, false
	}
	t, err := base.Parse(loc)
	return t, err == nil
}

// purposeLocked labels a request for people: the first document is the
// login page, later ones say what led to them.
func (l *login) purposeLocked(ev fetch.EventRequestPaused, u *url.URL) string {
	kind := strings.ToLower(string(ev.ResourceType))
	switch {
	case l.res.Pages == 1:
		return "login page (browser)"
	case ev.RedirectedRequestID != "":
		l.redirects++
		return fmt.Sprintf("redirect %d (browser %s)", l.redirects, kind)
	case ev.Request.Method == http.MethodPost && l.submitted != "":
		return l.submitted + " (browser " + kind + ")"
	}
	return "browser " + kind
}

// requestHeader is what the browser sends, minus what a device's Safari
// would not (client hints), plus its cookies when Chromium left them to
// the network stack. Accept-Encoding is the engine's transport's business.
func (l *login) requestHeader(rq *network.Request, u *url.URL) http.Header {
	h := http.Header{}
	for k, v := range rq.Headers {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "sec-ch-") || lk == "accept-encoding" {
			continue
		}
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		for _, line := range strings.Split(s, "\n") {
			h.Add(k, line)
		}
	}
	if h.Get("Cookie") == "" {
		if c := l.cookieHeader(u); c != "" {
			h.Set("Cookie", c)
		}
	}
	return h
}

func (l *login) cookieHeader(u *url.URL) string {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u.String()}})
	if err != nil {
		return ""
	}
	pairs := make([]string, 0, len(res.Cookies))
	for _, c := range res.Cookies {
		l.secret(c.Value)
		pairs = append(pairs, c.Name+"="+c.Value)
	}
	return strings.Join(pairs, "; ")
}

// cookies registers every cookie a response sets, before anything prints.
func (l *login) cookies(h http.Header) {
	for _, line := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil {
			l.secret(c.Value)
		}
	}
}

// learnCookies registers the cookies of the browser context, including
// those set by script (document.cookie), which no response carried.
func (l *login) learnCookies() {
	l.mu.Lock()
	origins := slices.Clone(l.origins)
	l.mu.Unlock()
	if len(origins) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: origins})
	if err != nil {
		return
	}
	for _, c := range res.Cookies {
		l.secret(c.Value)
	}
}

func (l *login) secret(v string) {
	if v == "" {
		return
	}
	if len(v) >= minSecret {
		l.mu.Lock()
		l.red.add(v)
		l.mu.Unlock()
	}
	if l.req.OnSecret != nil {
		l.req.OnSecret(v)
	}
}

func (l *login) fulfil(id fetch.RequestID, pg *weblogin.Page) {
	var headers []*fetch.HeaderEntry
	for k, vs := range pg.Header {
		switch strings.ToLower(k) {
		case "content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive":
			continue // the engine hands over the decoded body, whole
		}
		for _, v := range vs {
			headers = append(headers, &fetch.HeaderEntry{Name: k, Value: v})
		}
	}
	slices.SortStableFunc(headers, func(a, b *fetch.HeaderEntry) int { return strings.Compare(a.Name, b.Name) })
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	status := pg.Status
	if status < 100 || status > 999 {
		status = 502
	}
	_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: id, ResponseCode: int64(status), ResponseHeaders: headers, Body: pg.Body})
}

func (l *login) failRequest(id fetch.RequestID) {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: id, ErrorReason: network.ErrorReasonAborted})
}

func (l *login) activity(d int) {
	l.mu.Lock()
	l.inflight += d
	l.lastActivity = time.Now()
	l.mu.Unlock()
}

func (l *login) settled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight == 0 && time.Since(l.lastActivity) >= settleQuiet
}

// watchDOMJS runs in every document before its own scripts: it notes when
// the DOM last changed, so that the driver can tell a drawn page from one
// still being drawn without waiting to see it twice. The driver's own
// tagging of controls (ControlAttr) is not a change of the page.
const watchDOMJS = `(() => {
  const mark = () => { window.__enrollsimChanged = performance.now(); };
  mark();
  new MutationObserver(records => {
    if (records.some(r => r.type !== 'attributes' || r.attributeName !== '` + weblogin.ControlAttr + `')) mark();
  }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
})()`

// snapshotJS tags each control with its index, then returns a copy of the
// document without invisible controls, and with controls outside any form
// gathered into one form, for weblogin.ReadLivePage. Typed values become
// value attributes so the copy shows what is filled in.
const snapshotJS = `(() => {
  const q = 'input,select,textarea,button';
  const orig = Array.from(document.querySelectorAll(q));
  orig.forEach((el, i) => el.setAttribute('` + weblogin.ControlAttr + `', String(i)));
  const clone = document.documentElement.cloneNode(true);
  const copies = Array.from(clone.querySelectorAll(q));
  const orphans = [];
  orig.forEach((el, i) => {
    const c = copies[i];
    if (!c) return;
    const hiddenInput = el.tagName === 'INPUT' && (el.type || '').toLowerCase() === 'hidden';
    const st = getComputedStyle(el);
    const shown = hiddenInput || (el.getClientRects().length > 0 && st.visibility !== 'hidden' && st.display !== 'none');
    if (!shown) { c.remove(); return; }
    if (el.tagName === 'INPUT' && !hiddenInput && 'value' in el) c.setAttribute('value', el.value);
    if (!el.form) orphans.push(c);
  });
  if (orphans.length) {
    const f = document.createElement('form');
    f.setAttribute('data-enrollsim-synthetic', '');
    orphans.forEach(c => f.appendChild(c));
    (clone.querySelector('body') || clone).appendChild(f);
  }
  const changed = window.__enrollsimChanged;
  const quiet = document.readyState === 'complete' && typeof changed === 'number' ? performance.now() - changed : -1;
  return JSON.stringify({url: location.href, html: clone.outerHTML, quiet: quiet});
})()`

type snapshot struct {
	URL  string `json:"url"`
	HTML string `json:"html"`
	// Quiet is how long, in milliseconds, the loaded document's DOM has not
	// changed; negative while it loads, or when the page's watch is
	// missing (a document that replaced itself by document.write).
	Quiet float64 `json:"quiet"`
}

// drawn: the document has loaded and its DOM has not changed for domQuiet.
func (s *snapshot) drawn() bool {
	return s.Quiet >= float64(domQuiet.Milliseconds())
}

func (l *login) snapshot() (*snapshot, error) {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](snapshotJS))
	if err != nil {
		return nil, err
	}
	var s snapshot
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// submission is a form the driver filled and sent, waiting for the page
// to move.
type submission struct {
	form   *weblogin.LiveForm
	url    string
	html   string
	errors string // the page's error text before the submission
	at     time.Time
}

// drive polls the live page: it fills each login form that appears, and
// ends at the callback, a rejection, or a page that stops moving.
func (l *login) drive() error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var (
		last     *submission
		prev     string
		waitFrom = time.Now()
		forms    int
		where    = l.req.StartURL
	)
	for {
		select {
		case <-l.done:
			return l.end()
		case <-l.ctx.Done():
			return l.deadline()
		case <-tick.C:
		}
		if !l.settled() {
			continue
		}
		snap, err := l.snapshot()
		if err != nil {
			continue // a navigation replaced the document under the script
		}
		// Seen twice alike, or loaded and unchanged for a while: a page
		// is not acted on while its scripts are still drawing it.
		stable := snap.HTML == prev || snap.drawn()
		prev = snap.HTML
		if !stable || !l.settled() {
			continue
		}
		where = snap.URL
		if l.isClosed() {
			continue
		}
		live, err := weblogin.ReadLivePage(snap.HTML, l.req.Fields)
		if err != nil {
			return l.fail(weblogin.KindNoForm, "%s: the page does not parse as HTML: %v", weblogin.PageName(snap.URL), err)
		}
		if last != nil {
			if snap.HTML == last.html && snap.URL == last.url {
				if time.Since(last.at) > l.pageTimeout {
					return l.fail(weblogin.KindNoCallback, "the page did not move within %s after submitting the %s on %s", l.pageTimeout, last.form.Asks, weblogin.PageName(last.url))
				}
				continue
			}
			if f := live.Form; f != nil && f.Stage <= last.form.Stage && sameHost(snap.URL, last.url) {
				newError := live.Errors != "" && live.Errors != last.errors
				if (filled(f) || f.Busy) && !newError {
					// Still what the driver typed, or its button disabled,
					// and no new message: the page's script is at work. A
					// page may disable its button before its request leaves,
					// and on a busy machine that request reaches the driver
					// after the page has looked settled.
					if time.Since(last.at) > l.pageTimeout {
						return l.fail(weblogin.KindNoCallback, "the page did not move within %s after submitting the %s on %s", l.pageTimeout, last.form.Asks, weblogin.PageName(last.url))
					}
					continue
				}
				return l.fail(weblogin.KindRejected, "%s", rejection(last.form, f, snap.URL, live.Errors))
			}
			l.learnCookies()
			if last.form.Password {
				l.mu.Lock()
				l.res.FirstFactorDone = true
				l.mu.Unlock()
			}
			last, waitFrom = nil, time.Now()
		}
		if live.Form == nil {
			if time.Since(waitFrom) > l.pageTimeout {
				return l.fail(weblogin.KindNoForm, "no %s field appeared on %s within %s%s", l.expected(), weblogin.PageName(where), l.pageTimeout, headline(live.Headline))
			}
			continue
		}
		if forms++; forms > maxSubmissions {
			return l.fail(weblogin.KindNoCallback, "no callback after %d forms filled; a loop?", maxSubmissions)
		}
		sub, err := l.submit(live.Form, snap)
		if err != nil {
			return err
		}
		sub.errors = live.Errors
		last = sub
	}
}

// expected names the field the login waits for next.
func (l *login) expected() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.res.SecondFactorSeen:
		return "further"
	case l.credentials && l.req.OTP != nil:
		return "one-time code"
	case l.submitted == "submit user name":
		return "password"
	case l.credentials:
		return "further"
	}
	return "user name or password"
}

// filled: the form still holds what the driver typed, so it is the same
// form waiting on a script, not the form drawn again after a refusal.
func filled(f *weblogin.LiveForm) bool {
	for _, c := range f.Controls {
		if c.Role == "password" && c.Value != "" {
			return true
		}
	}
	return false
}

// submit types into the form as a person would, takes the screenshot, and
// presses the submit button (or Enter).
func (l *login) submit(f *weblogin.LiveForm, snap *snapshot) (*submission, error) {
	if f.OTP && l.req.OTP == nil {
		return nil, l.fail(weblogin.KindSecondFactor, "%s asks for a one-time code but no second factor is configured", weblogin.PageName(snap.URL))
	}
	if f.Unfillable != "" {
		return nil, l.fail(weblogin.KindUnfillable, "%s: %s", weblogin.PageName(snap.URL), f.Unfillable)
	}
	var code string
	lastField := ""
	for _, c := range f.Controls {
		var v string
		var err error
		switch c.Role {
		case "username":
			if c.ReadOnly || l.req.Username == "" || c.Value == l.req.Username {
				continue
			}
			v, err = c.FitText(l.req.Username)
		case "password":
			v, err = c.FitText(l.req.Password)
		case "otp":
			if code == "" {
				got, err := l.req.OTP()
				if err != nil {
					return nil, &transportError{msg: "second factor: " + l.red.scrub(err.Error()), err: err}
				}
				code = got
				l.mu.Lock()
				l.red.add(code)
				l.res.SecondFactorSeen = true
				l.mu.Unlock()
			}
			v, err = c.Code(code)
		}
		if err != nil {
			// The page cannot take what a person would type: nothing
			// more is typed, nothing is submitted.
			return nil, l.fail(weblogin.KindUnfillable, "%s: %v", weblogin.PageName(snap.URL), err)
		}
		// A code split over a box per digit is typed: such pages move
		// from box to box on key events.
		if err := l.typeInto(c.Selector, v, c.Role != "otp" || c.Digits <= 1); err != nil {
			return nil, l.actionFailed("typing into the "+c.Role+" field", snap.URL, err)
		}
		lastField = c.Selector
	}
	if code != "" {
		if run := weblogin.SplitCodeBody(f.Controls, code); run != "" {
			l.secret(run) // the body posts the code one digit per field
		}
	}
	if !l.req.NoScreenshots {
		l.screenshot(f, snap.URL)
	}
	after, err := l.snapshot()
	if err != nil {
		after = snap
	}
	l.mu.Lock()
	l.submitted = submitPurpose(f)
	l.credentials = l.credentials || f.Password
	l.noteLocked(fmt.Sprintf("form (%s) on %s: filled and submitted", f.Asks, snap.URL))
	l.mu.Unlock()
	if err := l.press(f.Submit, lastField); err != nil {
		return nil, l.actionFailed("pressing submit", snap.URL, err)
	}
	return &submission{form: f, url: after.URL, html: after.HTML, at: time.Now()}, nil
}

// typeInto fills one field. With autofill the text goes in whole, as the
// device's Passwords and one-time-code AutoFill put it (an input event, no
// key strokes), unless the page keeps it from the field; then, and
// without autofill, it is typed key by key.
func (l *login) typeInto(sel, v string, autofill bool) error {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	// A field the page pre-filled is cleared first, as a person selects
	// all and types over it.
	clear := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](`(() => { const e = document.querySelector(`+jsString(sel)+`); if (e && e.value) { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); } return null })()`)(ctx, t)
		return err
	})
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(sel)), clear); err != nil {
		return err
	}
	if autofill {
		if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: v}); err != nil {
			return err
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? String(e.value) : '' })()`))
		if err == nil && got == v {
			return nil
		}
		if err := chromedp.Do(ctx, clear); err != nil {
			return err
		}
	}
	return chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v))
}

func (l *login) press(submit, lastField string) error {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	if submit != "" {
		return chromedp.Do(ctx, chromedp.Click(chromedp.CSS(submit)))
	}
	if lastField == "" {
		return errors.New("the form has neither a submit button nor a field to press Enter in")
	}
	return chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(lastField), "\r"))
}

// screenshot keeps what the person sees before pressing submit. A failed
// capture costs the picture, not the login.
func (l *login) screenshot(f *weblogin.LiveForm, at string) {
	ctx, cancel := context.WithTimeout(l.tab, actionLimit)
	defer cancel()
	// A one-time code is a secret like the password, which the browser
	// draws masked: mask the code fields the same way for the picture only.
	var masked []string
	for _, c := range f.Controls {
		if c.Role == "otp" {
			masked = append(masked, c.Selector)
		}
	}
	mask := func(on bool) {
		if len(masked) == 0 {
			return
		}
		sels, _ := json.Marshal(masked)
		style := map[bool]string{true: "disc", false: ""}[on]
		js := fmt.Sprintf(`(() => { for (const s of %s) { const e = document.querySelector(s); if (e) e.style.webkitTextSecurity = %q; } return null })()`, sels, style)
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[any](js))
	}
	mask(true)
	// From the view, as laid out in CSS pixels (393×852 on an iPhone),
	// not the surface at the device's scale: the picture a person sees,
	// in about half the time, and a ninth of the pixels in the report;
	// encoded for speed.
	on, off := true, false
	shot, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{FromSurface: &off, OptimizeForSpeed: &on})
	mask(false)
	if err != nil || len(shot.Data) == 0 {
		return
	}
	png := shot.Data
	l.mu.Lock()
	l.res.Screenshots = append(l.res.Screenshots, weblogin.Screenshot{Page: f.Asks + " on " + weblogin.PageName(at), PNG: png})
	l.mu.Unlock()
}

func (l *login) actionFailed(what, at string, err error) error {
	if l.ctx.Err() != nil {
		return l.deadline()
	}
	if l.isClosed() {
		return l.end()
	}
	return l.fail(weblogin.KindNoForm, "%s on %s: %v", what, weblogin.PageName(at), err)
}

// end is the outcome once the login closed: the callback, or its error.
func (l *login) end() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}

func (l *login) deadline() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.fatal
	}
	err := l.failLocked(weblogin.KindNoCallback, "the deadline passed after %d requests, before the callback%s", l.res.Pages, l.lastPageLocked())
	l.closeLocked(err)
	return err
}

// lastPageLocked names the document the browser was on, without its query
// (which may carry a code), so a login that ran out of time says where.
func (l *login) lastPageLocked() string {
	if d := l.lastDocument(); d != nil && d.URL != nil {
		return " (last page: " + weblogin.PageName(d.URL.String()) + ")"
	}
	return ""
}

func (l *login) fail(kind weblogin.ErrKind, format string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed && l.fatal != nil {
		return l.fatal
	}
	if l.closed {
		return nil // the callback came first
	}
	err := l.failLocked(kind, format, args...)
	l.closeLocked(err)
	return err
}

func (l *login) failLocked(kind weblogin.ErrKind, format string, args ...any) *weblogin.Error {
	msg := l.red.scrub(fmt.Sprintf(format, args...))
	if len(msg) > 1000 {
		msg = msg[:1000] + "…"
	}
	return &weblogin.Error{Kind: kind, Msg: msg, Trail: slices.Clone(l.res.Trail)}
}

func (l *login) noteLocked(line string) {
	line = l.red.scrub(line)
	if len(line) > maxTrailLine {
		line = line[:maxTrailLine] + "…"
	}
	l.res.Trail = append(l.res.Trail, line)
}

func rejection(last, again *weblogin.LiveForm, at, errorText string) string {
	what := "the submitted form was rejected"
	switch {
	case last.OTP:
		what = "the one-time code was rejected"
	case last.Password:
		what = "the credentials were rejected"
	case last.Stage == 1:
		what = "the user name was rejected"
	}
	msg := fmt.Sprintf("%s: the form (%s) came back at %s", what, again.Asks, weblogin.PageName(at))
	if errorText == "" {
		return msg + ", without error text"
	}
	return msg + `: "` + errorText + `"`
}

func submitPurpose(f *weblogin.LiveForm) string {
	switch {
	case f.OTP:
		return "submit one-time code"
	case f.Password:
		return "submit credentials"
	}
	return "submit user name"
}

func headline(text string) string {
	if text == "" {
		return ""
	}
	return `: "` + text + `"`
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// transportError wraps an error from outside the driver with its text
// scrubbed, as the form driver does.
type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }
