package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// CallbackScheme is the custom scheme that ends the web session (§2.0).
const CallbackScheme = check.CallbackScheme

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
		Username:       r.c.Account.loginName(),
		Password:       password,
		CallbackScheme: CallbackScheme,
		OnSecret:       r.red.Add,
		Viewport:       webViewport(r.c.Device),
		Language:       r.c.Device.WebLanguage(),
		PageTimeout:    r.lim.PageTimeout,
		NoScreenshots:  probe || r.e.NoScreenshots, // a probe's pictures are never emitted
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
			if secret.CredentialField(k) {
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
		r.driver = r.e.browser()
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
	r.driver = r.e.browser()
	next := r.deviceLoginWith(again, purpose+" in the browser")
	next.formJS = lr
	return next
}

// browser is the engine's browser driver, or one that says there is none.
func (e *Engine) browser() weblogin.Driver {
	if e.Browser == nil {
		return noBrowser{}
	}
	return e.Browser
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
		r.emit(event.Event{Kind: event.EventArtifact, Time: r.clock(), Case: r.c.Name, Step: r.step, Artifact: &event.Artifact{
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
	if !r.c.Account.hasSecondFactor() || r.c.Account.TOTP.Wrong || lr.callback() != nil || lr.kind() != weblogin.KindRejected || !lr.res.SecondFactorSeen {
		return lr
	}
	retry := r.login(start, purpose+" (again, with the next code)", r.c.Account.Password.Reveal(), r.deviceOTP(), false)
	retry.retried = true
	return retry
}

// loginName is what the user types into the sign-in form.
func (a Account) loginName() string {
	if a.Username != "" {
		return a.Username
	}
	return a.Identifier
}

func (a Account) hasSecondFactor() bool { return !a.TOTPSecret.IsZero() }

// deviceOTP gives the real login a code of a step this run has not used.
func (r *runner) deviceOTP() otpSource {
	if !r.c.Account.hasSecondFactor() {
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
func loginURL(c Case, raw string) string {
	u, _ := url.Parse(raw)
	id := "user-identifier=" + queryValue(c.Account.Identifier)
	if c.Options.AppendLoginQuery && u.RawQuery != "" {
		u.RawQuery += "&" + id
	} else {
		u.RawQuery = id
	}
	return u.String()
}

// webLogin is steps 6–11 for apple-as-web: the device's sign-in and the
// probes, then the judges of what they saw, in the order they were always
// reported (ENR-007, AUTH, TOTP, AUTH, TOTP).
func (r *runner) webLogin() (*stop, event.StepStatus, string) {
	es := r.enroll
	raw := es.challenge.Params["url"]
	start := loginURL(r.c, raw)
	// The turn spans the device's sign-in and the probes (totpLedger).
	release, err := r.takeTurn()
	if err != nil {
		return &stop{event.OutcomeInterrupted, "interrupted while waiting to sign in"}, event.StepError, err.Error()
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
		return loginURL(r.c, c.Params["url"]), nil
	})
	s := newSignIn(r.c, r.lim.Timeout, lr)
	if u, err := url.Parse(raw); err == nil && u.RawQuery != "" {
		s.LoginURL, s.LoginQuery = raw, u.RawQuery
	}
	r.obs.SignIn = s
	s.Probes = r.authProbes(lr.start, lr)
	if cb := lr.callback(); cb != nil {
		q, _ := foundationQuery(cb.RawQuery)
		if tok := q.Get("access-token"); tok != "" {
			es.token, es.tokenRaw, es.callback = tok, rawQueryValue(cb.RawQuery, "access-token"), cb
		}
	}
	for _, judge := range []func(*check.SignIn) *check.Verdicts{check.JudgeLoginQuery, check.JudgeSignInPages,
		check.JudgeCallbackItems, check.JudgeWebCallback, check.JudgeSecondFactor, check.JudgeWrongPassword, check.JudgeCodeProbes} {
		r.judged(judge(s))
	}
	if es.token == "" && lr.transport != "" {
		why := "the sign-in could not be judged: " + lr.transport
		return &stop{event.OutcomeError, why}, event.StepError, why
	}
	if es.token == "" {
		why := loginFailure(lr)
		if lr.atLimit() || lr.untestable() {
			// The driver's own bound: no verdict on the server.
			return &stop{event.OutcomeError, why}, event.StepError, why
		}
		return &stop{event.OutcomeAuthFailed, why}, event.StepFailed, why
	}
	msg := fmt.Sprintf("signed in (%d pages): callback %s with an access token", lr.res.Pages, check.CallbackHow(&s.Login))
	if lr.retried {
		msg += "; the first one-time code was refused, the next one worked"
	}
	msg += lr.driverNote()
	return nil, event.StepOK, msg
}

// newSignIn starts the sign-in's observation from the device's own login.
func newSignIn(c Case, timeout time.Duration, lr *loginRun) *check.SignIn {
	return &check.SignIn{Identifier: c.Account.Identifier, SecondFactor: c.Account.hasSecondFactor(), NoProbes: c.NoProbes,
		Timeout: timeout, Login: loginFacts(lr, c.Account.Identifier)}
}

// loginFacts are what a judge needs of a login run. identifier is looked
// for in the pages of the device's own login ("" for a probe).
func loginFacts(lr *loginRun, identifier string) check.Login {
	l := check.Login{Transport: lr.transport, Failure: loginFailure(lr), Codes: len(lr.codes),
		AtLimit: lr.atLimit(), Untestable: lr.untestable(), NeedsJavaScript: lr.kind() == weblogin.KindJavaScript,
		FirstFactorDone: lr.res.FirstFactorDone, SecondFactorSeen: lr.res.SecondFactorSeen,
		CallbackBeforeSecondFactor: lr.res.CallbackBeforeSecondFactor}
	if lr.err != nil {
		l.Err = lr.err.Error()
	}
	for _, p := range lr.pages {
		l.Pages = append(l.Pages, check.Page{Status: p.status, MediaType: p.mediaType(), Timeout: p.timeout, OverLimit: p.overLimit,
			RateLimited:     p.rateLimited,
			ShowsIdentifier: identifier != "" && check.ShowsIdentifier(p.body, p.header.Get("Location"), identifier),
			MentionsPKCE:    p.status == http.StatusBadRequest && check.MentionsPKCE(p.body)})
	}
	if js := lr.formJS; js != nil && js.err != nil {
		l.FormJS = &check.FormRun{Err: js.err.Error(), FirstFactorDone: js.res.FirstFactorDone, SecondFactorSeen: js.res.SecondFactorSeen}
	}
	if cb := lr.callback(); cb != nil {
		l.Callback, l.CallbackScheme, l.CallbackHost, l.CallbackRawQuery = cb.String(), cb.Scheme, cb.Host, cb.RawQuery
		l.CallbackStatus, l.CallbackCacheControl = lr.res.CallbackStatus, lr.res.CallbackHeader.Get("Cache-Control")
		l.CallbackByRedirect, l.CallbackVia = lr.res.CallbackRoute.IsRedirect(), lr.res.CallbackRoute.Describe()
	}
	return l
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

// foundationQuery decodes a query as a device does (check.FoundationQuery).
func foundationQuery(raw string) (url.Values, error) { return check.FoundationQuery(raw) }

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

// authProbes try what a device would not: a wrong password (AUTH-006), a
// wrong code (TOTP-003), the code just used (TOTP-004) and a code two steps
// old (TOTP-005). Each is a new login in a fresh cookie jar; what each saw
// is for the judges. Nil with --no-probes.
func (r *runner) authProbes(start string, real *loginRun) *check.Probes {
	if r.c.NoProbes {
		return nil
	}
	a := r.c.Account
	ps := &check.Probes{}
	// AUTH-006 gives a correct code if a code is asked for at all, so only
	// the password can make it fail; the code is then spent.
	p := r.login(start, "probe AUTH-006: wrong password", wrongPassword(a.Password.Reveal()), r.deviceOTP(), true)
	ps.WrongPassword = probeFacts(p)
	if !a.hasSecondFactor() {
		return ps
	}
	pw := a.Password.Reveal()
	if wrong, err := r.wrongCode(); err != nil {
		ps.WrongCodeErr = err.Error()
	} else {
		ps.WrongCode = probeFacts(r.login(start, "probe TOTP-003: wrong code", pw, func() (string, error) { return wrong, nil }, true))
	}
	if len(real.codes) > 0 && real.callback() != nil {
		used := real.codes[len(real.codes)-1]
		ps.Replay = probeFacts(r.login(start, "probe TOTP-004: the code just used", pw, func() (string, error) { return used, nil }, true))
	}
	if old, err := totpCode(a.TOTPSecret, a.TOTP, r.totpNow(), -2); err != nil {
		ps.SkewErr = err.Error()
	} else {
		ps.Skew = probeFacts(r.login(start, "probe TOTP-005: a code two steps old", pw, func() (string, error) { return old, nil }, true))
	}
	return ps
}

func probeFacts(lr *loginRun) *check.Login {
	l := loginFacts(lr, "")
	return &l
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

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidateLoginFields checks the CSS selectors of a form map before a run.
func ValidateLoginFields(l LoginFields) error {
	f := weblogin.Fields{Form: l.Form, Username: l.Username, Password: l.Password, OTP: l.OTP, Submit: l.Submit, Extra: l.Extra}
	return f.Validate()
}

// webViewport is the web view's size in CSS pixels: the screen of a recent
// model of the family in portrait (iPhone 16: 393×852 @3x; iPad Air 11":
// 820×1180 @2x), a sign-in sheet on a Mac (a 1440×900 @2x display), and
// the Vision Pro's default Safari window (1280×720 @2x).
func webViewport(d device.Device) weblogin.Viewport {
	switch d.Family {
	case device.IPhone:
		return weblogin.Viewport{Width: 393, Height: 852, Scale: 3, Mobile: true, Touch: true}
	case device.IPad:
		return weblogin.Viewport{Width: 820, Height: 1180, Scale: 2, Mobile: true, Touch: true}
	case device.RealityDevice:
		return weblogin.Viewport{Width: 1280, Height: 720, Scale: 2}
	}
	return weblogin.Viewport{Width: 1440, Height: 900, Scale: 2}
}
