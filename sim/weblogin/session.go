package weblogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Bounds on the driver's own text: a hostile page's URLs and headers can
// be a megabyte long, and a trail or message quotes them.
const (
	maxTrailLine = 500
	maxMessage   = 1000
)

// session is one login in progress.
type session struct {
	fetch    Fetch
	req      Request
	sels     selectors
	browser  *browser
	redact   *redactor
	res      Result
	scheme   string // the callback scheme, lower case
	maxPages int

	redirects, refreshes int
	// last is the most recent form submission, judged by the next page: the
	// same kind of form again means it was refused.
	last *submitted
	// credentialsSent: a password was submitted at some point, so a callback
	// without an OTP form skipped the second factor.
	credentialsSent bool
	visits          map[string]int // "METHOD URL" → requests, to name a loop
}

type submitted struct {
	asks asks
	host string
}

func newSession(fetch Fetch, req Request, sels selectors) (*session, error) {
	s := &session{
		fetch:    fetch,
		req:      req,
		sels:     sels,
		redact:   &redactor{},
		scheme:   strings.ToLower(req.CallbackScheme),
		maxPages: req.MaxPages,
		visits:   map[string]int{},
	}
	if s.scheme == "" {
		s.scheme = DefaultCallbackScheme
	}
	if s.maxPages <= 0 {
		s.maxPages = DefaultMaxPages
	}
	s.redact.add(req.Password)
	b, err := newBrowser(req.UserAgent, s.cookieReceived)
	if err != nil {
		return nil, err
	}
	s.browser = b
	return s, nil
}

// cookieReceived registers a cookie value as a secret, here and with the
// engine, before anything can print it.
func (s *session) cookieReceived(value string) {
	if len(value) >= minCookieSecret {
		s.redact.add(value)
	}
	if s.req.OnSecret != nil {
		s.req.OnSecret(value)
	}
}

func (s *session) run(ctx context.Context) error {
	start, err := url.Parse(strings.TrimSpace(s.req.StartURL))
	if err != nil || (start.Scheme != "http" && start.Scheme != "https") || start.Host == "" {
		return s.fail(KindBadRedirect, "the start URL %q is not an absolute http(s) URL", s.req.StartURL)
	}
	nav := navigation{method: http.MethodGet, url: start, purpose: "login page"}
	for {
		page, err := s.visit(ctx, nav)
		if err != nil {
			return err
		}
		next, err := s.follow(nav, page)
		if err != nil || next == nil {
			return err
		}
		nav = *next
	}
}

// visit makes one request within the deadline and the page cap, and keeps
// the cookies it sets.
func (s *session) visit(ctx context.Context, nav navigation) (*Page, error) {
	if ctx.Err() != nil {
		return nil, s.fail(KindNoCallback, "the deadline passed after %d requests, before the callback", s.res.Pages)
	}
	if s.res.Pages >= s.maxPages {
		return nil, s.fail(KindNoCallback, "no callback after %d requests (the page limit)%s", s.res.Pages, s.loopHint())
	}
	s.res.Pages++
	s.visits[nav.method+" "+nav.url.String()]++
	page, err := s.fetch(ctx, nav.method, nav.url.String(), s.browser.header(nav), nav.body, nav.purpose)
	if err == nil && page == nil {
		err = errors.New("fetch returned no page")
	}
	if err != nil {
		s.note(nav, nil, "error")
		if ctx.Err() != nil {
			return nil, s.fail(KindNoCallback, "the deadline passed after %d requests, before the callback", s.res.Pages)
		}
		msg := fmt.Sprintf("%s %s: %v", nav.method, nav.url, err)
		if strings.Contains(err.Error(), nav.url.String()) {
			msg = err.Error() // the transport's errors name the request already
		}
		return nil, &redactedError{msg: s.redact.scrub(msg), err: err}
	}
	if page.URL == nil {
		p := *page // the engine's page is not ours to change
		p.URL = nav.url
		page = &p
	}
	s.browser.remember(page.URL, page.Header)
	return page, nil
}

// follow decides what the web view does with a page: the next navigation,
// nil when the callback was reached, or why it cannot go on.
func (s *session) follow(nav navigation, page *Page) (*navigation, error) {
	switch {
	case page.Status >= 300 && page.Status < 400:
		return s.redirect(nav, page)
	case page.Status >= 400:
		return nil, s.errorPage(nav, page)
	}
	if target := refreshURL(page.Header.Get("Refresh")); target != "" {
		s.judge(page, nil)
		return s.refresh(nav, page, page.URL, target)
	}
	doc, err := parseHTML(page.Body)
	if err != nil {
		s.note(nav, page, "not HTML")
		return nil, s.parseFailure(nav, err)
	}
	base := baseURL(doc, page.URL)
	login, relay, scan := chooseForm(doc, s.sels)
	if rejected := s.judge(page, login); rejected {
		s.note(nav, page, "form ("+login.asks.String()+") again: rejected")
		return nil, s.fail(KindRejected, "%s", rejection(s.last.asks, login, page, visibleErrors(doc)))
	}
	if login != nil {
		return s.submitForm(nav, page, base, login)
	}
	if target := metaRefresh(doc); target != "" {
		return s.refresh(nav, page, base, target)
	}
	if target := scriptCallback(doc, s.scheme); target != "" {
		// A script the driver cannot run, but whose one effect is plain:
		// it sends the web view to the callback, which ends the session
		// on a device as a redirect does.
		return s.scriptNavigation(nav, page, base, target)
	}
	if relay != nil {
		return s.submitForm(nav, page, base, relay)
	}
	if limit := scan.limit(); limit != "" {
		s.note(nav, page, "no login form within the driver's limits")
		return nil, s.fail(KindLimit, "%s %s: no login form found, but %s", nav.method, nav.url, limit)
	}
	if why := needsJavaScript(doc); why != "" {
		s.note(nav, page, "needs javascript")
		return nil, s.fail(KindJavaScript, "%s %s: %s", nav.method, nav.url, why)
	}
	s.note(nav, page, "no form")
	return nil, s.fail(KindNoForm, "%s %s: no form to fill, no redirect and no callback%s", nav.method, nav.url, headline(pageHeadline(doc)))
}

// judge compares the page that followed a form submission with that form.
// It reports a rejection (s.last is kept for the message) or settles the
// submission, marking the first factor done when it carried the password.
func (s *session) judge(page *Page, f *form) (rejected bool) {
	last := s.last
	if last == nil {
		return false
	}
	if f != nil && strings.EqualFold(page.URL.Host, last.host) {
		if stage := f.asks.stage(); stage > 0 && stage <= last.asks.stage() {
			return true
		}
	}
	if last.asks.password {
		s.res.FirstFactorDone = true
	}
	s.last = nil
	return false
}

// rejection words the refusal of the last submission for people.
func rejection(last asks, again *form, page *Page, errorText string) string {
	what := "the submitted form was rejected"
	switch {
	case last.otp:
		what = "the one-time code was rejected"
	case last.password:
		what = "the credentials were rejected"
	case last.username:
		what = "the user name was rejected"
	}
	msg := fmt.Sprintf("%s: the form (%s) came back at %s with status %d", what, again.asks, page.URL, page.Status)
	if errorText == "" {
		return msg + ", without error text"
	}
	return msg + ": " + quote(errorText)
}

// redirect follows a 3xx as a browser does: 301/302/303 become a GET,
// 307/308 repeat the method and body. Any 3xx to the callback scheme ends the
// login (AUTH-003 accepts any 3xx; AUTH-004 judges the status).
func (s *session) redirect(nav navigation, page *Page) (*navigation, error) {
	locs := page.Header.Values("Location")
	loc := ""
	if len(locs) > 0 {
		loc = strings.TrimSpace(locs[0])
	}
	repeated := ""
	if slices.ContainsFunc(locs, func(v string) bool { return strings.TrimSpace(v) != loc }) {
		// A web view takes one; which is not documented. The first is what
		// Go's Header.Get and most clients use; the trail says so.
		repeated = fmt.Sprintf("(%d different Location headers; the first is used)", len(locs))
	}
	if loc == "" {
		s.note(nav, page, "without Location")
		return nil, s.fail(KindBadRedirect, "%s %s answered %d without a Location header", nav.method, nav.url, page.Status)
	}
	target, err := page.URL.Parse(loc)
	if err != nil {
		s.note(nav, page, "bad Location")
		return nil, s.fail(KindBadRedirect, "%s %s answered %d with a Location that is not a URL: %q", nav.method, nav.url, page.Status, clip(loc, maxErrorText))
	}
	if strings.EqualFold(target.Scheme, "javascript") {
		// Browsers refuse such a redirect (Chromium: ERR_UNSAFE_REDIRECT):
		// a server bug, not a page that needs a script engine.
		s.note(nav, page, "javascript: Location")
		return nil, s.fail(KindBadRedirect, "%s %s answered %d with a javascript: Location, which no browser follows", nav.method, nav.url, page.Status)
	}
	s.redirects++
	next := navigation{method: http.MethodGet, url: target, referrer: nav.referrer, purpose: fmt.Sprintf("redirect %d", s.redirects)}
	if page.Status == http.StatusTemporaryRedirect || page.Status == http.StatusPermanentRedirect {
		next.method, next.body = nav.method, nav.body
	}
	return s.navigate(nav, page, next, repeated, true)
}

// refresh follows a Refresh header or <meta http-equiv=refresh> at once: the
// driver does not wait out the delay a person would.
func (s *session) refresh(nav navigation, page *Page, base *url.URL, target string) (*navigation, error) {
	u, err := base.Parse(target)
	if err != nil {
		s.note(nav, page, "bad refresh")
		return nil, s.fail(KindBadRedirect, "%s %s: the refresh URL is not a URL: %q", nav.method, nav.url, target)
	}
	s.refreshes++
	next := navigation{method: http.MethodGet, url: u, referrer: page.URL, purpose: fmt.Sprintf("refresh %d", s.refreshes)}
	return s.navigate(nav, page, next, "refresh", true)
}

// scriptNavigation follows a script's assignment of the callback to the
// location (scriptCallback decides what counts).
func (s *session) scriptNavigation(nav navigation, page *Page, base *url.URL, target string) (*navigation, error) {
	u, err := base.Parse(target)
	if err != nil {
		s.note(nav, page, "bad script navigation")
		return nil, s.fail(KindBadRedirect, "%s %s: a script navigates to a URL that does not parse: %q", nav.method, nav.url, clip(target, maxErrorText))
	}
	next := navigation{method: http.MethodGet, url: u, referrer: page.URL, purpose: "script navigation"}
	return s.navigate(nav, page, next, "script navigation", true)
}

// submitForm fills and sends a form.
func (s *session) submitForm(nav navigation, page *Page, base *url.URL, f *form) (*navigation, error) {
	what := "form (" + f.asks.String() + ")"
	if f.relay && f.asks.stage() == 0 {
		what = "form (hidden fields only)"
	}
	if f.asks.otp && s.req.OTP == nil {
		s.note(nav, page, what)
		return nil, s.fail(KindSecondFactor, "%s %s asks for a one-time code but no second factor is configured", nav.method, nav.url)
	}
	if f.asks.stage() > 0 {
		if why := f.unfillable(s.sels.extra); why != "" {
			s.note(nav, page, what+": cannot be filled")
			return nil, s.fail(KindUnfillable, "%s %s: %s", nav.method, nav.url, why)
		}
	}
	next, err := s.submit(page, base, f)
	if err != nil {
		var r *redactedError
		var u *unfillableError
		switch {
		case errors.As(err, &r):
			s.note(nav, page, what)
			return nil, err
		case errors.As(err, &u):
			s.note(nav, page, what+": cannot be filled")
			return nil, s.fail(KindUnfillable, "%s %s: %s", nav.method, nav.url, u.msg)
		}
		s.note(nav, page, what)
		return nil, s.fail(KindBadRedirect, "%s %s: %v", nav.method, nav.url, err)
	}
	s.last = &submitted{asks: f.asks, host: page.URL.Host}
	s.credentialsSent = s.credentialsSent || f.asks.password
	return s.navigate(nav, page, next, what, false)
}

// navigate goes on to next unless it is the callback (done) or a scheme a
// web view cannot load. what describes the page for the trail ("" for a
// redirect); showTarget adds where it leads.
func (s *session) navigate(nav navigation, page *Page, next navigation, what string, showTarget bool) (*navigation, error) {
	switch scheme := strings.ToLower(next.url.Scheme); scheme {
	case s.scheme:
		s.finish(page, next.url, routeOf(page, what))
		s.note(nav, page, strings.TrimSpace(what+" callback "+ElideQuery(next.url)))
		return nil, nil
	case "http", "https":
		if showTarget {
			what = strings.TrimSpace(what + " " + next.url.String())
		}
		s.note(nav, page, what)
		return &next, nil
	case "javascript":
		s.note(nav, page, strings.TrimSpace(what+" javascript: URL"))
		return nil, s.fail(KindJavaScript, "%s %s leads to a javascript: URL", nav.method, nav.url)
	default:
		s.note(nav, page, strings.TrimSpace(what+" "+scheme+": URL"))
		return nil, s.fail(KindBadRedirect, "%s %s leads to %q, neither http(s) nor the callback scheme %s", nav.method, nav.url, ElideQuery(next.url), s.scheme)
	}
}

// routeOf names how navigate was reached, from the page's status and the
// trail word its caller gave.
func routeOf(page *Page, what string) Route {
	switch {
	case page.Status >= 300 && page.Status < 400:
		return RouteRedirect
	case what == "refresh":
		return RouteRefresh
	case what == "script navigation":
		return RouteScript
	}
	return RouteForm
}

// finish records the callback, the route it came by, and what it says
// about the factors.
func (s *session) finish(page *Page, callback *url.URL, route Route) {
	s.judge(page, nil)
	s.res.Callback = callback
	s.res.CallbackRoute = route
	s.res.CallbackStatus = page.Status
	s.res.CallbackHeader = s.redact.header(page.Header)
	s.res.CallbackBeforeSecondFactor = s.req.OTP != nil && s.credentialsSent && !s.res.SecondFactorSeen
}

// errorPage turns a 4xx/5xx into an error. A 4xx that shows the form just
// submitted again is a rejection (some servers answer wrong credentials with
// 401 and the form); anything else is an HTTP failure.
func (s *session) errorPage(nav navigation, page *Page) error {
	doc, err := parseHTML(page.Body)
	if err != nil {
		s.note(nav, page, "error")
		return s.fail(KindHTTP, "%s %s answered %d (the page does not parse as HTML: %v)", nav.method, nav.url, page.Status, err)
	}
	if page.Status < 500 {
		login, _, _ := chooseForm(doc, s.sels)
		if s.judge(page, login) {
			s.note(nav, page, "form ("+login.asks.String()+") again: rejected")
			return s.fail(KindRejected, "%s", rejection(s.last.asks, login, page, visibleErrors(doc)))
		}
	}
	s.note(nav, page, "error")
	return s.fail(KindHTTP, "%s %s answered %d%s", nav.method, nav.url, page.Status, headline(pageHeadline(doc)))
}

// parseFailure words a page the HTML parser gave up on. Its one bound is
// nesting (x/net/html stops at 512 open elements, where WebKit flattens the
// tree instead): the driver cannot read the page, which says nothing about
// the server, so it is a limit, not a missing form.
func (s *session) parseFailure(nav navigation, err error) *Error {
	if strings.Contains(err.Error(), "open stack of elements exceeds") {
		return s.fail(KindLimit, "%s %s: the page nests elements deeper than the HTML parser's limit of 512 levels; the driver cannot read it (%v)", nav.method, nav.url, err)
	}
	return s.fail(KindNoForm, "%s %s: the page does not parse as HTML: %v", nav.method, nav.url, err)
}

// note adds the trail line for one request; page is nil when it failed.
func (s *session) note(nav navigation, page *Page, what string) {
	line := nav.method + " " + nav.url.String() + " →"
	if page != nil {
		line += fmt.Sprintf(" %d", page.Status)
	}
	if what != "" {
		line += " " + what
	}
	s.res.Trail = append(s.res.Trail, clip(s.redact.scrub(line), maxTrailLine))
}

// fail builds an *Error carrying the trail so far, secrets scrubbed.
func (s *session) fail(kind ErrKind, format string, args ...any) *Error {
	return &Error{
		Kind:  kind,
		Msg:   clip(s.redact.scrub(fmt.Sprintf(format, args...)), maxMessage),
		Trail: slices.Clone(s.res.Trail),
	}
}

// loopHint names the request repeated most, when one was.
func (s *session) loopHint() string {
	top, n := "", 1
	for k, v := range s.visits {
		if v > n || (v == n && v > 1 && k < top) {
			top, n = k, v
		}
	}
	if top == "" {
		return ""
	}
	return fmt.Sprintf("; a loop? %s was requested %d times", top, n)
}

func headline(text string) string {
	if text == "" {
		return ""
	}
	return ": " + quote(text)
}

// ElideQuery shows a callback without its values: the access token or
// authorization code is for the engine, not for the trail.
func ElideQuery(u *url.URL) string {
	c := *u
	c.Fragment, c.RawFragment = "", ""
	q := c.Query()
	if len(q) == 0 {
		return c.String()
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = url.QueryEscape(k) + "=" + redacted
	}
	c.RawQuery = strings.Join(parts, "&")
	return c.String()
}
