package sim

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// CallbackScheme is the custom scheme that ends the web session (§2.0).
const CallbackScheme = "apple-remotemanagement-user-login"

// loginRun is one pass through the web login: the driver's result and the
// engine's own record of each page.
type loginRun struct {
	res   *weblogin.Result
	err   error
	pages []*response
	codes []string // OTP codes the driver asked for, in order
	// transport says why a page could not be read (no answer, a body cut
	// off or over the cap): the login then says nothing about the server.
	transport string
	// retried: the first code was refused and the next step's code was
	// used (see deviceLogin).
	retried bool
	// start is the URL this run began at; after a restart in the browser
	// it comes from a fresh challenge.
	start string
	// browser: the run was played in the browser.
	browser bool
	// formJS is the form driver's run that found the page needs
	// JavaScript, when the login started over in the browser (AUTH-017).
	formJS *loginRun
	// restartErr says why the login could not start over in the browser.
	restartErr string
	// noBrowser: the page needs JavaScript and no browser is configured.
	noBrowser bool
}

// needsJavaScript: the run ended because no driver could run the page's
// scripts (the form driver's verdict, or no browser to start).
func (l *loginRun) untestable() bool {
	k := l.kind()
	return k == weblogin.KindJavaScript || k == weblogin.KindNoBrowser
}

func (l *loginRun) kind() weblogin.ErrKind {
	var we *weblogin.Error
	if errors.As(l.err, &we) {
		return we.Kind
	}
	return ""
}

// atLimit: the driver stopped at its own bound (forms, controls, nesting)
// or found a page it cannot fill as a person would (no field fits the
// code, a required field it has nothing for), which is no verdict on the
// server.
func (l *loginRun) atLimit() bool {
	k := l.kind()
	return k == weblogin.KindLimit || k == weblogin.KindUnfillable
}

// callback returns the callback URL when the run ended at one.
func (l *loginRun) callback() *url.URL {
	if l.err != nil || l.res == nil {
		return nil
	}
	return l.res.Callback
}

// firstPage is the first 200 of the run, after any redirects.
func (l *loginRun) firstPage() *response {
	for _, p := range l.pages {
		if p.status == 0 {
			return nil // no answer is no page
		}
		if p.status == http.StatusOK {
			return p
		}
		if p.status == 0 {
			return nil // no answer is no page
		}
		if p.status < 300 || p.status > 399 {
			return p
		}
	}
	return nil
}

func (l *loginRun) serverError() *response {
	for _, p := range l.pages {
		if p.status >= 500 {
			return p
		}
	}
	return nil
}

// otpSource says which code the driver types when the page asks for one.
type otpSource func() (string, error)

// login plays the web view once, with a fresh cookie jar, from start.
func (r *runner) login(start, purpose, password string, otp otpSource, probe bool) *loginRun {
	driver := r.driver
	if driver == nil {
		driver = weblogin.Form
	}
	lr := &loginRun{start: start, browser: driver != weblogin.Form}
	ctx, cancel := context.WithTimeout(r.ctx, r.lim.StepTimeout)
	defer cancel()
	fetch := func(ctx context.Context, method, rawURL string, header http.Header, body []byte, what string) (*weblogin.Page, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp := r.do(request{method: method, url: rawURL, header: header, body: body, purpose: purpose + ": " + what, probe: probe, limit: r.lim.PageBody})
		lr.pages = append(lr.pages, resp)
		if why := unjudgeable(resp, r.lim.Timeout, "page"); why != "" {
			lr.transport = why
			return nil, errors.New(why)
		}
		if resp.status == 0 || resp.err != nil {
			// A TLS failure (the server's, judged as such), or a body cut
			// short (timeout, cap, reset): no page to read.
			return nil, resp.err
		}
		return &weblogin.Page{URL: resp.url, Status: resp.status, Header: resp.header, Body: resp.body}, nil
	}
	req := weblogin.Request{
		StartURL:       start,
		UserAgent:      r.c.Device.WebUserAgent(),
		Username:       r.username(),
		Password:       password,
		CallbackScheme: CallbackScheme,
		OnSecret:       r.red.Add,
		Viewport:       webViewport(r.c.Device),
		Language:       r.c.Device.WebLanguage(),
		PageTimeout:    r.lim.PageTimeout,
		Fields: weblogin.Fields{Form: r.c.Login.Form, Username: r.c.Login.Username, Password: r.c.Login.Password,
			OTP: r.c.Login.OTP, Submit: r.c.Login.Submit, Extra: r.c.Login.Extra},
	}
	if otp != nil {
		req.OTP = func() (string, error) {
			code, err := otp()
			if err == nil {
				lr.codes = append(lr.codes, code)
				r.red.Add(code)
			}
			return code, err
		}
	}
	lr.res, lr.err = driver.Login(ctx, fetch, req)
	if lr.res == nil {
		lr.res = &weblogin.Result{}
	}
	if !probe {
		r.emitScreenshots(lr.res.Screenshots)
		for _, what := range lr.res.Insecure {
			r.insecure = append(r.insecure, what+": the sign-in page sends it over plain http, without TLS (a device's web view blocks it as mixed content)")
		}
	}
	if cb := lr.res.Callback; cb != nil {
		// The token or code is a secret from the moment it arrives.
		q, _ := foundationQuery(cb.RawQuery)
		for k, vs := range q {
			if credentialFields[k] {
				for _, v := range vs {
					r.red.Add(v)
				}
			}
		}
	}
	return lr
}

// deviceLogin is the device's own sign-in. A code refused at the second
// factor is tried once more with the next step's code, as a person would:
// an earlier run may have used this step's code, and servers refuse
// replays (TOTP-004).
//
// With the auto driver, a page that needs JavaScript starts the login over
// in the browser, from a fresh challenge (restart): the form driver's
// session is half used (cookies, a consumed code), a device never resumes
// one in another web view.
func (r *runner) deviceLogin(start, purpose string, restart func() (string, error)) *loginRun {
	mode := r.c.Login.Driver
	r.driver = weblogin.Form
	if mode == DriverBrowser {
		r.driver = r.browser()
	}
	lr := r.deviceLoginWith(start, purpose)
	if (mode != "" && mode != DriverAuto) || lr.kind() != weblogin.KindJavaScript {
		return lr
	}
	if r.e.Browser == nil {
		lr.noBrowser = true
		return lr
	}
	again, err := restart()
	if err != nil {
		lr.restartErr = err.Error()
		return lr
	}
	r.driver = r.browser()
	next := r.deviceLoginWith(again, purpose+" in the browser")
	next.formJS = lr
	return next
}

// browser is the engine's browser driver, or one that says there is none.
func (r *runner) browser() weblogin.Driver {
	if r.e.Browser == nil {
		return noBrowser{}
	}
	return r.e.Browser
}

type noBrowser struct{}

func (noBrowser) Login(context.Context, weblogin.Fetch, weblogin.Request) (*weblogin.Result, error) {
	return &weblogin.Result{}, &weblogin.Error{Kind: weblogin.KindNoBrowser, Msg: "no browser driver is configured\n" + weblogin.InstallHint}
}

// emitScreenshots hands the pictures of a login to the consumers.
func (r *runner) emitScreenshots(shots []weblogin.Screenshot) {
	for _, s := range shots {
		r.artifacts++
		role, _, _ := strings.Cut(s.Page, " on ")
		file := fmt.Sprintf("%02d-%s.png", r.artifacts, strings.NewReplacer(",", "-", " ", "-", "/", "-").Replace(role))
		r.emit(Event{Kind: EventArtifact, Time: r.clock(), Case: r.c.Name, Step: r.step, Artifact: &Artifact{
			Name: fmt.Sprintf("screenshot %d: %s", r.artifacts, r.red.Redact(s.Page)), File: file, MediaType: "image/png", Data: s.PNG,
		}})
	}
}

// freshChallenge posts the enrollment body again without a token, for a
// new 401 challenge to start a sign-in over.
func (r *runner) freshChallenge() (*Challenge, error) {
	es := r.enroll
	resp, _ := r.postEnroll(r.discovery.baseURL, es.body, es.contentType, "", "enrollment request again: the page needs JavaScript, signing in again in the browser", false)
	if resp.status != http.StatusUnauthorized {
		if resp.err != nil {
			return nil, fmt.Errorf("a fresh challenge: %w", resp.err)
		}
		return nil, fmt.Errorf("a fresh challenge: the enrollment request got %d, not 401", resp.status)
	}
	cs, _ := ParseChallenges(resp.header.Values("WWW-Authenticate"))
	for _, c := range cs {
		if c.isBearer() && c.Method() == es.method {
			return c, nil
		}
	}
	return nil, fmt.Errorf("a fresh challenge: the 401 has no Bearer challenge with method %s", es.method)
}

func (r *runner) deviceLoginWith(start, purpose string) *loginRun {
	lr := r.login(start, purpose, r.c.Account.Password.Reveal(), r.deviceOTP(), false)
	if !r.hasSecondFactor() || r.c.Account.TOTP.Wrong || lr.callback() != nil || lr.kind() != weblogin.KindRejected || !lr.res.SecondFactorSeen {
		return lr
	}
	retry := r.login(start, purpose+" (again, with the next code)", r.c.Account.Password.Reveal(), r.deviceOTP(), false)
	retry.retried = true
	return retry
}

func (r *runner) username() string {
	if r.c.Account.Username != "" {
		return r.c.Account.Username
	}
	return r.c.Account.Identifier
}

func (r *runner) hasSecondFactor() bool { return !r.c.Account.TOTPSecret.IsZero() }

// deviceOTP gives the real login a code of a step this run has not used.
func (r *runner) deviceOTP() otpSource {
	if !r.hasSecondFactor() {
		return nil
	}
	return func() (string, error) {
		if r.c.Account.TOTP.Wrong {
			return r.wrongCode()
		}
		code, _, err := r.freshTOTP()
		return code, err
	}
}

// loginURL builds the apple-as-web URL: the challenge's url with its query
// replaced by user-identifier (the iOS 26.1 client), or with the item added
// (Apple's wording) as a device option.
func (r *runner) loginURL(raw string) string {
	u, _ := url.Parse(raw)
	id := "user-identifier=" + queryValue(r.c.Account.Identifier)
	if r.c.Options.AppendLoginQuery && u.RawQuery != "" {
		u.RawQuery += "&" + id
	} else {
		u.RawQuery = id
	}
	return u.String()
}

// webLogin is steps 6–11 for apple-as-web.
func (r *runner) webLogin() (*stop, StepStatus, string) {
	es := r.enroll
	raw := es.challenge.Params["url"]
	start := r.loginURL(raw)
	// The turn spans the device's sign-in and the probes (totpLedger).
	release, err := r.takeTurn()
	if err != nil {
		return &stop{OutcomeInterrupted, "interrupted while waiting to sign in"}, StepError, err.Error()
	}
	defer release()
	lr := r.deviceLogin(start, "sign-in", func() (string, error) {
		c, err := r.freshChallenge()
		if err != nil {
			return "", err
		}
		if c.Params["url"] == "" {
			return "", errors.New("a fresh challenge: no url")
		}
		return r.loginURL(c.Params["url"]), nil
	})

	r.judgeLoginQuery(raw, lr)
	r.judgeLoginPages(lr, false)
	cb := lr.callback()
	if cb != nil {
		q, qerr := foundationQuery(cb.RawQuery)
		problems := []string{}
		if cb.Scheme != CallbackScheme {
			problems = append(problems, "scheme "+cb.Scheme)
		}
		if cb.Host != "authentication-results" {
			problems = append(problems, fmt.Sprintf("host %q instead of authentication-results", cb.Host))
		}
		if qerr != nil {
			problems = append(problems, "query does not parse: "+qerr.Error())
		}
		// Foundation's URLComponents lists every item; a device's lookup by
		// name takes the first match, as url.Values.Get does.
		tok := q.Get("access-token")
		r.judgeRepeatedItems("AUTH-005", q, "access-token")
		if tok == "" {
			problems = append(problems, "no access-token")
		}
		// A meta refresh or a script's navigation to the callback ends the
		// web session as a redirect does (ASWebAuthenticationSession
		// watches navigations), so the URL is judged the same whichever
		// route it came by, and whichever driver found it.
		r.check("AUTH-003", len(problems) == 0 && callbackDelivered(lr.res),
			CallbackScheme+"://authentication-results?access-token=… in a 3xx Location (or a navigation to it)",
			fmt.Sprintf("%s to %s", callbackHow(lr.res), redactedURL(cb, r.red)+" "+strings.Join(problems, "; ")))
		r.judgeCallbackStatus(lr)
		r.check("AUTH-008", strings.Contains(strings.ToLower(lr.res.CallbackHeader.Get("Cache-Control")), "no-store"),
			"Cache-Control: no-store on the response carrying the token", fmt.Sprintf("Cache-Control %q", lr.res.CallbackHeader.Get("Cache-Control")))
		if tok != "" {
			es.token, es.tokenRaw, es.callback = tok, rawQueryValue(cb.RawQuery, "access-token"), cb
			r.judgeTokenEntropy(tok)
		} else {
			r.skip("AUTH-007", "no token")
		}
	} else {
		r.skipAll("no callback", "AUTH-003", "AUTH-004", "AUTH-007", "AUTH-008")
	}
	r.judgeSecondFactor(lr, cb != nil)
	if !r.c.NoProbes {
		r.authProbes(lr.start, lr)
	} else {
		r.skipAll("probes are off (--no-probes)", "AUTH-006", "TOTP-003", "TOTP-004", "TOTP-005")
	}
	if es.token == "" && lr.transport != "" {
		why := "the sign-in could not be judged: " + lr.transport
		return &stop{OutcomeError, why}, StepError, why
	}
	if es.token == "" {
		why := loginFailure(lr)
		if lr.atLimit() || lr.untestable() {
			// The driver's own bound: no verdict on the server.
			return &stop{OutcomeError, why}, StepError, why
		}
		return &stop{OutcomeAuthFailed, why}, StepFailed, why
	}
	msg := fmt.Sprintf("signed in (%d pages): callback %s with an access token", lr.res.Pages, callbackHow(lr.res))
	if lr.retried {
		msg += "; the first one-time code was refused, the next one worked"
	}
	msg += lr.driverNote()
	return nil, StepOK, msg
}

func isRedirect(status int) bool { return status >= 300 && status <= 399 }

// callbackDelivered: the callback reached the web view by a route that
// ends a device's web session: a 3xx, or a navigation the page made by
// itself (refresh, script, form).
func callbackDelivered(res *weblogin.Result) bool {
	return !res.CallbackRoute.IsRedirect() || isRedirect(res.CallbackStatus)
}

// callbackHow is the route for people: "308", or "by a refresh (…) on a
// 200 page".
func callbackHow(res *weblogin.Result) string {
	if res.CallbackRoute.IsRedirect() {
		return fmt.Sprint(res.CallbackStatus)
	}
	return fmt.Sprintf("by %s on a %d page", res.CallbackRoute.Describe(), res.CallbackStatus)
}

// judgeCallbackStatus is AUTH-004. A callback delivered by a refresh,
// script or form has no redirect status to judge. The device follows it
// all the same (the web session completes on any navigation to the
// callback scheme), so it is noted, not warned, and the same for both
// drivers: Apple documents a 308, and a reader should know the server
// does something else.
func (r *runner) judgeCallbackStatus(lr *loginRun) {
	if route := lr.res.CallbackRoute; !route.IsRedirect() {
		r.note("AUTH-004", fmt.Sprintf("the callback came by %s on a %d page, not an HTTP redirect; a device's web session completes on any navigation to the callback scheme, and Apple documents a 308", route.Describe(), lr.res.CallbackStatus))
		return
	}
	r.check("AUTH-004", lr.res.CallbackStatus == http.StatusPermanentRedirect, "308 Permanent Redirect", fmt.Sprintf("%d", lr.res.CallbackStatus))
}

// driverNote tells people the login ran in the browser, and why.
func (l *loginRun) driverNote() string {
	switch {
	case l.formJS != nil:
		return "; the page needs JavaScript: signed in again in the browser"
	case l.browser:
		return " (in the browser)"
	}
	return ""
}

func redactedURL(u *url.URL, red *Redactor) string { return red.Redact(u.String()) }

// foundationQuery decodes a query the way Foundation's URLComponents does:
// percent escapes only, so a '+' stays a '+' (Go's ParseQuery would make it
// a space and blame a token the device reads fine).
func foundationQuery(raw string) (url.Values, error) {
	v := url.Values{}
	if raw == "" {
		return v, nil
	}
	var firstErr error
	for _, kv := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(kv, "=")
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(val)
		if err := errors.Join(err1, err2); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		v[dk] = append(v[dk], dv)
	}
	return v, firstErr
}

// judgeRepeatedItems warns under id about callback items given more than
// once. A device resolves them silently (the first match), so this is never
// a failure; the warning says which one was used. Values are not quoted:
// they are credentials.
func (r *runner) judgeRepeatedItems(id string, q url.Values, names ...string) {
	var repeats []string
	for _, name := range names {
		vs := q[name]
		if len(vs) < 2 {
			continue
		}
		distinct := map[string]bool{}
		for _, v := range vs {
			distinct[v] = true
		}
		repeats = append(repeats, fmt.Sprintf("%d %s items (%d different values); the first is used, as a device's first match by name", len(vs), name, len(distinct)))
	}
	if len(repeats) == 0 {
		return
	}
	res := check.With(id, Warn, "")
	res.Expected = "each of " + strings.Join(names, ", ") + " once in the callback"
	res.Actual = "the callback carries " + strings.Join(repeats, "; ")
	r.report(res)
}

// rawQueryValue returns a query item as it stood on the wire.
func rawQueryValue(raw, key string) string {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v
		}
	}
	return ""
}

// loginFailure explains a login that did not end at a usable callback.
func loginFailure(lr *loginRun) string {
	if lr.err != nil {
		var we *weblogin.Error
		if errors.As(lr.err, &we) {
			switch we.Kind {
			case weblogin.KindRejected:
				return "the sign-in was rejected: " + we.Msg
			case weblogin.KindSecondFactor:
				return "the page asks for a one-time code but the scenario gives no TOTP seed (--totp-secret-env or --totp-secret-file)"
			case weblogin.KindJavaScript:
				why := "the tester could not sign in: the page needs JavaScript (" + we.Msg + ")"
				if lr.restartErr != "" {
					return why + "; signing in again in the browser failed: " + lr.restartErr
				}
				if lr.noBrowser {
					return why + "\n" + weblogin.InstallHint
				}
				return why + "\npass --login-driver auto or browser to run it in Chromium, or map a plain form with --login-form and friends"
			case weblogin.KindNoBrowser:
				return "the tester could not sign in: the page needs JavaScript, and no browser could be started: " + we.Msg
			case weblogin.KindLimit:
				return "the simulator could not read the sign-in page: " + we.Msg
			case weblogin.KindUnfillable:
				return "the tester could not sign in: the simulator cannot fill the sign-in page: " + we.Msg
			}
		}
		return "the sign-in failed: " + lr.err.Error()
	}
	if lr.res != nil && lr.res.Callback != nil {
		return "the callback carries no access-token"
	}
	return "the sign-in ended without a callback"
}

// judgeLoginQuery is ENR-007: a url whose query the device replaces must
// not be needed.
func (r *runner) judgeLoginQuery(raw string, lr *loginRun) {
	u, _ := url.Parse(raw)
	if u.RawQuery == "" {
		return // judged pass in the challenge step
	}
	first := lr.firstPage()
	broken := first == nil || first.status >= 400
	if !broken {
		r.report(check.With("ENR-007", Pass, "the url carries a query the device replaces, but the sign-in works without it"))
		return
	}
	r.check("ENR-007", false, "a login url that works when the device replaces its query with user-identifier",
		fmt.Sprintf("url %s carries ?%s; without it the sign-in page answered %d", raw, u.RawQuery, first.status))
}

// judgeLoginPages: AUTH-001 (a page a browser renders), AUTH-002 (the
// identifier is used), AUTH-017 (no JavaScript needed).
func (r *runner) judgeLoginPages(lr *loginRun, oauth bool) {
	first := lr.firstPage()
	switch {
	case oauth:
		r.skip("AUTH-001", "apple-oauth2: the authorization endpoint is judged by AUTH-009")
	case first == nil && lr.transport != "":
		r.cannotJudge("AUTH-001", "the sign-in page could not be read: "+lr.transport)
	case first == nil && lr.untestable():
		r.cannotJudge("AUTH-001", "the tester could not load the sign-in page: "+loginFailure(lr))
	case first == nil && len(lr.pages) > 0 && lr.pages[len(lr.pages)-1].timeout:
		r.cannotJudge("AUTH-001", fmt.Sprintf("the sign-in page did not answer within the simulator's %s timeout: raise --timeout to judge", r.lim.Timeout))
	case first == nil && len(lr.pages) > 0 && lr.pages[len(lr.pages)-1].overLimit != "":
		r.cannotJudge("AUTH-001", "the sign-in page broke a limit of the simulator's: "+lr.pages[len(lr.pages)-1].overLimit)
	case first == nil:
		r.check("AUTH-001", false, "200 text/html", "no page: "+loginFailure(lr))
	case first.rateLimited != "":
		r.cannotJudge("AUTH-001", first.rateLimited)
	default:
		mt := first.mediaType()
		r.check("AUTH-001", first.status == 200 && (mt == "text/html" || mt == "application/xhtml+xml"), "200 text/html (after any redirects)", fmt.Sprintf("%d %s", first.status, mt))
	}
	id := strings.ToLower(r.c.Account.Identifier)
	used := false
	for _, p := range lr.pages {
		if strings.Contains(strings.ToLower(string(p.body)), id) || strings.Contains(strings.ToLower(string(p.body)), strings.ReplaceAll(id, "@", "&#64;")) {
			used = true
		}
		if loc := p.header.Get("Location"); loc != "" {
			if dec, err := url.QueryUnescape(loc); err == nil && strings.Contains(strings.ToLower(dec), id) {
				used = true
			}
		}
	}
	if first != nil && first.status == 200 && !used && lr.atLimit() {
		r.cannotJudge("AUTH-002", "the sign-in stopped at a page the simulator could not read or fill, before the identifier could show: "+lr.err.Error())
	} else if !used && lr.untestable() {
		r.cannotJudge("AUTH-002", "the tester could not run the sign-in page (it needs JavaScript), so it cannot tell whether the page uses user-identifier")
	} else if first != nil && first.status == 200 {
		r.check("AUTH-002", used, "the sign-in pre-fills or routes by user-identifier", "the identifier appears in no page or redirect of the sign-in")
	} else {
		r.skip("AUTH-002", "no sign-in page")
	}
	if js := lr.formJS; js != nil {
		r.note("AUTH-017", "the sign-in needs JavaScript: "+js.err.Error()+"; signing in again in the browser")
	} else if lr.kind() == weblogin.KindJavaScript {
		r.note("AUTH-017", "the sign-in needs JavaScript: "+lr.err.Error())
	} else {
		r.check("AUTH-017", true, "", "")
	}
}

// judgeTokenEntropy is AUTH-007: an opaque token of at least 128 bits.
func (r *runner) judgeTokenEntropy(tok string) {
	bits := entropyBits(tok)
	var why []string
	if bits < 128 {
		why = append(why, fmt.Sprintf("about %.0f bits (%d characters)", bits, len(tok)))
	}
	if containsGuessableUser(tok, r.c.Account.Identifier) {
		why = append(why, "it is the user name and too little else")
	}
	if _, err := strconv.ParseInt(tok, 10, 64); err == nil {
		why = append(why, "it is a number")
	}
	r.check("AUTH-007", len(why) == 0, "an opaque token of at least 128 bits", strings.Join(why, "; "))
}

// containsGuessableUser says the token is built from the user name: it holds
// the identifier, its local part or their base64, and what is left without
// them is under 128 bits. A random token may hold a short name by chance
// ("bob" in one 43-character token of some 600), which makes it no easier to
// guess: judging containment alone warned working servers at random.
func containsGuessableUser(tok, identifier string) bool {
	user := strings.ToLower(identifier)
	rest, found := strings.ToLower(tok), false
	for _, form := range []string{user, strings.SplitN(user, "@", 2)[0], strings.ToLower(b64(user)), strings.ToLower(b64(strings.SplitN(user, "@", 2)[0]))} {
		if form != "" && strings.Contains(rest, form) {
			rest, found = strings.ReplaceAll(rest, form, ""), true
		}
	}
	return found && entropyBits(rest) < 128
}

// entropyBits estimates from length and alphabet: generous to the server.
func entropyBits(s string) float64 {
	var lower, upper, digit, other bool
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			other = true
		}
	}
	n := 0
	if lower {
		n += 26
	}
	if upper {
		n += 26
	}
	if digit {
		n += 10
	}
	if other {
		n += 4
	}
	if n < 2 {
		return 0
	}
	// Hex tokens use 16 symbols, not 36.
	if !upper && !other && isHex(s) {
		n = 16
	}
	return float64(len(s)) * math.Log2(float64(n))
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// judgeSecondFactor: TOTP-001, -002, -006 from the device's own login.
func (r *runner) judgeSecondFactor(lr *loginRun, gotCallback bool) {
	if !r.hasSecondFactor() {
		r.skipAll("the scenario declares no second factor", "TOTP-001", "TOTP-002", "TOTP-006")
		return
	}
	r.check("TOTP-001", !lr.res.CallbackBeforeSecondFactor, "no callback before the one-time code", "the callback came right after the password, without asking for a code")
	switch {
	case lr.res.SecondFactorSeen && gotCallback:
		r.check("TOTP-002", true, "", "")
	case lr.res.SecondFactorSeen && lr.atLimit():
		// The code was never submitted as the page wants it: the server
		// did not refuse it.
		r.cannotJudge("TOTP-002", loginFailure(lr))
	case lr.res.SecondFactorSeen && lr.untestable():
		// The code went through, and the page after it is one the
		// tester cannot run (a script that fetches the callback): that
		// says nothing of the code.
		r.cannotJudge("TOTP-002", "the page after the one-time code could not be followed: "+loginFailure(lr))
	case lr.res.SecondFactorSeen:
		r.check("TOTP-002", false, "a correct RFC 6238 code completes the sign-in", loginFailure(lr))
	default:
		r.skip("TOTP-002", "no one-time-code form was reached")
	}
	switch {
	case lr.formJS != nil && lr.formJS.res != nil && lr.formJS.res.FirstFactorDone && !lr.formJS.res.SecondFactorSeen:
		// The browser reached it, but a page without JavaScript would not
		// have: what TOTP-006 is there to tell.
		r.note("TOTP-006", "the second factor needs JavaScript: past the password, the form driver found no code form; the browser reached it")
	case lr.res.SecondFactorSeen:
		r.check("TOTP-006", true, "", "")
	case lr.kind() == weblogin.KindJavaScript:
		r.note("TOTP-006", "the second factor could not be reached without JavaScript")
	default:
		r.skip("TOTP-006", "no second-factor page")
	}
}

// authProbes try what a device would not: a wrong password (AUTH-006), a
// wrong code (TOTP-003), the code just used (TOTP-004) and a code two steps
// old (TOTP-005). Each is a new login in a fresh cookie jar.
func (r *runner) authProbes(start string, real *loginRun) {
	a := r.c.Account
	// AUTH-006 gives a correct code if a code is asked for at all, so only
	// the password can make it fail; the code is then spent.
	p := r.login(start, "probe AUTH-006: wrong password", wrongPassword(a.Password.Reveal()), r.deviceOTP(), true)
	if cb := p.callback(); cb != nil && hasCredential(cb) {
		r.check("AUTH-006", false, "no callback with a token after a wrong password", "the wrong password got a callback with a token")
	} else if p.transport != "" {
		r.cannotJudge("AUTH-006", "the probe could not be read: "+p.transport)
	} else if p.atLimit() {
		r.cannotJudge("AUTH-006", "the probe could not go through the sign-in: "+loginFailure(p))
	} else {
		r.check("AUTH-006", true, "", "")
	}
	if !r.hasSecondFactor() {
		r.skipAll("the scenario declares no second factor", "TOTP-003", "TOTP-004", "TOTP-005")
		return
	}
	pw := a.Password.Reveal()

	wrong, err := r.wrongCode()
	if err != nil {
		r.cannotJudge("TOTP-003", err.Error())
	} else {
		p = r.login(start, "probe TOTP-003: wrong code", pw, func() (string, error) { return wrong, nil }, true)
		switch {
		case len(p.codes) == 0:
			r.skip("TOTP-003", "the probe never reached the code form: "+loginFailure(p))
		case p.callback() != nil:
			r.check("TOTP-003", false, "no token for a wrong code; the form again or a lockout", "a wrong code got the callback")
		case p.serverError() != nil:
			r.check("TOTP-003", false, "no token for a wrong code; the form again or a lockout, never a 5xx", fmt.Sprintf("status %d", p.serverError().status))
		case p.transport != "":
			r.cannotJudge("TOTP-003", "the probe could not be read: "+p.transport)
		case p.atLimit():
			r.cannotJudge("TOTP-003", "the probe could not submit the code: "+loginFailure(p))
		default:
			r.check("TOTP-003", true, "", "")
		}
	}

	if len(real.codes) == 0 || real.callback() == nil {
		r.skip("TOTP-004", "the device's own sign-in used no code")
	} else {
		used := real.codes[len(real.codes)-1]
		p = r.login(start, "probe TOTP-004: the code just used", pw, func() (string, error) { return used, nil }, true)
		if len(p.codes) == 0 {
			r.skip("TOTP-004", "the probe never reached the code form: "+loginFailure(p))
		} else if p.callback() != nil {
			r.check("TOTP-004", false, "a used code is refused in the same time step", "the replayed code got a second callback")
		} else if p.transport != "" {
			r.cannotJudge("TOTP-004", "the probe could not be read: "+p.transport)
		} else if p.atLimit() {
			r.cannotJudge("TOTP-004", "the probe could not submit the code: "+loginFailure(p))
		} else {
			r.check("TOTP-004", true, "", "")
		}
	}

	old, err := totpCode(a.TOTPSecret, a.TOTP, r.totpNow(), -2)
	if err != nil {
		r.cannotJudge("TOTP-005", err.Error())
		return
	}
	p = r.login(start, "probe TOTP-005: a code two steps old", pw, func() (string, error) { return old, nil }, true)
	if len(p.codes) == 0 {
		r.skip("TOTP-005", "the probe never reached the code form: "+loginFailure(p))
	} else if p.callback() != nil {
		r.check("TOTP-005", false, "a code outside ±1 step is refused", "a code two steps old got the callback")
	} else if p.transport != "" {
		r.cannotJudge("TOTP-005", "the probe could not be read: "+p.transport)
	} else if p.atLimit() {
		r.cannotJudge("TOTP-005", "the probe could not submit the code: "+loginFailure(p))
	} else {
		r.check("TOTP-005", true, "", "")
	}
}

// wrongPassword is AUTH-006's password: never the real one, and exactly as
// long, so it fits whatever field the real one fits (a longer one would be
// cut at maxlength and leave the probe unjudged, a shorter one may fail
// minlength).
func wrongPassword(real string) string {
	const base = "enrollsim-wrong-"
	n := utf8.RuneCountInString(real)
	w := base + strings.Repeat("x", max(n-len(base), 0))
	w = w[:max(n, 1)]
	if w == real {
		w = w[:len(w)-1] + "y"
	}
	return w
}

func hasCredential(cb *url.URL) bool {
	q, _ := foundationQuery(cb.RawQuery)
	return q.Get("access-token") != "" || q.Get("code") != ""
}

// wrongCode is a code that matches no step a lenient server accepts.
func (r *runner) wrongCode() (string, error) {
	a := r.c.Account
	near := map[string]bool{}
	for off := -3; off <= 3; off++ {
		c, err := totpCode(a.TOTPSecret, a.TOTP, r.totpNow(), off)
		if err != nil {
			return "", err
		}
		near[c] = true
	}
	c, _ := totpCode(a.TOTPSecret, a.TOTP, r.totpNow(), 0)
	n, _ := strconv.Atoi(c)
	mod := int(math.Pow10(len(c)))
	for i := 1; ; i++ {
		w := fmt.Sprintf("%0*d", len(c), (n+i*7919)%mod)
		if !near[w] {
			return w, nil
		}
	}
}

func b64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

// ValidateLoginFields checks the CSS selectors of a form map before a run.
func ValidateLoginFields(l LoginFields) error {
	f := weblogin.Fields{Form: l.Form, Username: l.Username, Password: l.Password, OTP: l.OTP, Submit: l.Submit, Extra: l.Extra}
	return f.Validate()
}

// webViewport is the web view's size in CSS pixels: the screen of a recent
// model of the family in portrait (iPhone 16: 393×852 @3x; iPad Air 11":
// 820×1180 @2x), a sign-in sheet on a Mac (a 1440×900 @2x display), and
// the Vision Pro's default Safari window (1280×720 @2x).
func webViewport(d Device) weblogin.Viewport {
	switch d.Family {
	case IPhone:
		return weblogin.Viewport{Width: 393, Height: 852, Scale: 3, Mobile: true, Touch: true}
	case IPad:
		return weblogin.Viewport{Width: 820, Height: 1180, Scale: 2, Mobile: true, Touch: true}
	case RealityDevice:
		return weblogin.Viewport{Width: 1280, Height: 720, Scale: 2}
	}
	return weblogin.Viewport{Width: 1440, Height: 900, Scale: 2}
}
