package refserver

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/device"
)

// These tests sign in to the pages that need JavaScript in a real browser
// (headless Chromium, chrome_test.go), as a person would: type into the
// fields with key events, click, and watch the page head for the callback
// scheme. They need no driver of the simulator's.

// webUA is the agent of the device's web view for ref (e.g. "iphone@18.2").
func webUA(t *testing.T, ref string) string {
	t.Helper()
	d, err := device.LookupDevice(ref)
	require.NoError(t, err)
	return d.WebUserAgent()
}

// desktopChrome is what a desktop browser on Linux announces.
const desktopChrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// startURL is the page the device's web view opens for id: the challenge's
// url with user-identifier added.
func startURL(id string) string { return loginURL + "?user-identifier=" + url.QueryEscape(id) }

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

const (
	userField = `input[autocomplete="username"]`
	passField = `input[type="password"]`
	codeField = `input[autocomplete="one-time-code"]`
	submit    = `button[type="submit"]`
)

// signInSPA walks grace's three steps. typeName says whether the user
// name must be typed (the step starts empty) or is pre-filled.
func signInSPA(t *testing.T, r *chromeRig, tb *tab, acct Account, typeName bool) {
	t.Helper()
	tb.run(t, chromedp.Navigate(startURL(acct.Identifier)), chromedp.WaitVisible(css(userField)))
	value, err := chromedp.Run(tb.ctx, chromedp.Value(css(userField)))
	require.NoError(t, err)
	if typeName {
		assert.Empty(t, value, "the user-name step is pre-filled")
		tb.run(t, chromedp.SendKeys(css(userField), acct.Identifier))
	} else {
		assert.Equal(t, acct.Identifier, value, "the user-name step is pre-filled from login_hint")
	}
	tb.run(t, chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(passField)), chromedp.SendKeys(css(passField), acct.Password), chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(codeField)), chromedp.SendKeys(css(codeField), r.totp.code(t, acct)), chromedp.Click(css(submit)))
}

// signInForm fills heidi's and ivan's one-page forms and submits them.
func signInForm(t *testing.T, r *chromeRig, tb *tab, acct Account) {
	t.Helper()
	tb.run(t, chromedp.Navigate(startURL(acct.Identifier)), chromedp.WaitVisible(css(passField)))
	value, err := chromedp.Run(tb.ctx, chromedp.Value(css(userField)))
	require.NoError(t, err)
	assert.Equal(t, acct.Identifier, value, "the user name is pre-filled from login_hint")
	tb.run(t, chromedp.SendKeys(css(passField), acct.Password), chromedp.SendKeys(css(codeField), r.totp.code(t, acct)),
		chromedp.Click(css(submit)))
}

// enrollWith checks the callback the browser reached and spends its token
// on the enrollment POST, as the device does next.
func enrollWith(t *testing.T, s *Server, acct Account, callback string) {
	t.Helper()
	require.True(t, strings.HasPrefix(callback, callbackPrefix), callback)
	u, err := url.Parse(callback)
	require.NoError(t, err)
	assert.Equal(t, []string{"access-token"}, keys(u.Query()), "the callback carries the token and nothing else")
	token := u.Query().Get("access-token")
	require.NotEmpty(t, token)
	assert.Equal(t, url.QueryEscape(token), strings.TrimPrefix(u.RawQuery, "access-token="), "the token is percent-encoded once")
	target := enrollBYOD
	if acct.Kind == KindADDE {
		target = enrollADDE
	}
	_, p := fetchProfileWith(t, s, target, token)
	assert.Equal(t, acct.ManagedAppleID, p.mdm(t)["AssignedManagedAppleID"])
}

func keys(q url.Values) []string {
	var out []string
	for k := range q {
		out = append(out, k)
	}
	return out
}

// Each account whose sign-in needs JavaScript enrolls from a browser that
// presents the device's web-view agent, on every device family.
func TestJavaScriptAccountsSignInInChromium(t *testing.T) {
	r := chrome(t)
	tests := []struct {
		id, device string
		spa        bool
	}{
		{"grace@acme.test", "iphone@18.2", true},
		{"grace@acme.test", "mac@15.2", true},
		{"heidi@acme.test", "ipad@18.2", false},
		{"heidi@acme.test", "vision@2.2", false},
		{"ivan@acme.test", "iphone@26.1", false},
		{"ivan@acme.test", "ipad@18.2", false},
		{"ivan@acme.test", "mac@15.2", false},
		{"ivan@acme.test", "vision@2.2", false},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.device, func(t *testing.T) {
			s := r.use(t, "")
			acct := account(t, s, tt.id)
			require.True(t, acct.NeedsJavaScript)
			tb := r.newTab(t, webUA(t, tt.device))
			if tt.spa {
				signInSPA(t, r, tb, acct, false)
			} else {
				signInForm(t, r, tb, acct)
			}
			enrollWith(t, s, acct, tb.callback(t, callbackWait))
		})
	}
}

// A wrong password keeps the single-page flow on its password step with
// the error shown, and no callback.
func TestSPAWrongPasswordInChromium(t *testing.T) {
	r := chrome(t)
	s := r.use(t, "")
	grace := account(t, s, "grace@acme.test")
	tb := r.newTab(t, webUA(t, "iphone@18.2"))
	tb.run(t, chromedp.Navigate(startURL(grace.Identifier)), chromedp.WaitVisible(css(userField)), chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(passField)), chromedp.SendKeys(css(passField), "not-"+grace.Password), chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(`p.error`)))
	msg, err := chromedp.Run(tb.ctx, chromedp.Text(css(`p.error`)))
	require.NoError(t, err)
	assert.Equal(t, msgBadCredentials, msg)
	assert.Empty(t, tb.callbacksSeen())
}

// The Safari-only page turns a desktop browser away, and so does its form
// target.
func TestDesktopBrowserRefusedInChromium(t *testing.T) {
	r := chrome(t)
	s := r.use(t, "")
	tb := r.newTab(t, desktopChrome)
	tb.run(t, chromedp.Navigate(startURL("ivan@acme.test")), chromedp.WaitVisible(css(`h1`)))
	h1, err := chromedp.Run(tb.ctx, chromedp.Text(css(`h1`)))
	require.NoError(t, err)
	assert.Equal(t, "Unsupported browser", h1)
	assert.Equal(t, 403, tb.documentStatus(t, mobileLoginURL))
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll("input").length`))
	require.NoError(t, err)
	assert.Zero(t, n, "no form for a desktop browser")
	_ = s
}

// js-callback-no-token: the script navigates to the callback, without
// the token.
func TestJSCallbackNoTokenInChromium(t *testing.T) {
	r := chrome(t)
	s := r.use(t, FaultJSCallbackNoToken)
	tb := r.newTab(t, webUA(t, "iphone@18.2"))
	signInSPA(t, r, tb, account(t, s, "grace@acme.test"), false)
	assert.Equal(t, callbackScheme+"://"+callbackHost, tb.callback(t, callbackWait))
}

// js-no-prefill: nothing carries the identifier to the identity
// provider; once typed, the sign-in works.
func TestJSNoPrefillInChromium(t *testing.T) {
	r := chrome(t)
	s := r.use(t, FaultJSNoPrefill)
	grace := account(t, s, "grace@acme.test")
	tb := r.newTab(t, webUA(t, "iphone@18.2"))
	signInSPA(t, r, tb, grace, true)
	enrollWith(t, s, grace, tb.callback(t, callbackWait))
	for _, req := range tb.sent() {
		if strings.Contains(req.url, IdPHost) {
			assert.NotContains(t, req.url, "login_hint", "request %s %s", req.method, req.url)
		}
	}
}

// js-password-http: the password step goes to another origin in clear
// text. The browser blocks it as mixed content, so the password never
// leaves it, the identity provider never sees the step and the sign-in
// stalls on the password page.
func TestJSPasswordHTTPInChromium(t *testing.T) {
	r := chrome(t)
	s := r.use(t, FaultJSPasswordHTTP)
	grace := account(t, s, "grace@acme.test")
	tb := r.newTab(t, webUA(t, "iphone@18.2"))
	tb.run(t, chromedp.Navigate(startURL(grace.Identifier)), chromedp.WaitVisible(css(userField)), chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(passField)), chromedp.SendKeys(css(passField), grace.Password), chromedp.Click(css(submit)),
		chromedp.WaitVisible(css(`p.error`)))
	var attempt *sentRequest
	for _, req := range tb.sent() {
		assert.NotEqual(t, "https://"+IdPHost+spaPasswordAPI, req.url, "the password step reached the identity provider")
		if req.url == httpPasswordURL {
			attempt = &req
		}
	}
	require.NotNil(t, attempt, "the page sent the password step to %s; requests: %v", httpPasswordURL, tb.sent())
	assert.Equal(t, "POST", attempt.method)
	assert.True(t, attempt.body)
	assert.Equal(t, "mixed-content", tb.blockedReason(attempt.id))
	n, err := chromedp.Run(tb.ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[autocomplete="one-time-code"]').length`))
	require.NoError(t, err)
	assert.Zero(t, n, "no code step after a password step that never arrived")
	assert.Empty(t, tb.callbacksSeen())
}
