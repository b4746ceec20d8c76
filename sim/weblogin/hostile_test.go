package weblogin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

const loginForm = `<form method="post" action="/login"><input name="username"><input type="password" name="password"><button>Sign in</button></form>`

// pages is a Fetch over fixed pages: GET shows first, any POST shows
// after. No network: these cases are about what the driver reads.
func pages(first, after string) weblogin.Fetch {
	return func(ctx context.Context, method, rawURL string, _ http.Header, _ []byte, _ string) (*weblogin.Page, error) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, err
		}
		body := first
		if method == http.MethodPost {
			body = after
		}
		return &weblogin.Page{URL: u, Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(body)}, nil
	}
}

// loginWithin runs one login under a deadline, so a driver that hangs on a
// hostile page fails the test instead of the suite.
func loginWithin(t *testing.T, d time.Duration, fetch weblogin.Fetch) (*weblogin.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req := baseRequest("https://idp.test/login")
	var res *weblogin.Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = weblogin.Login(ctx, fetch, req)
	}()
	select {
	case <-done:
	case <-time.After(d + 5*time.Second):
		t.Fatal("the driver hung on a hostile page")
	}
	return res, err
}

// The page after a wrong password shows the message in the many ways real
// pages do; the rejection quotes it instead of "without error text".
func TestRejectionQuotesErrorText(t *testing.T) {
	tests := map[string]string{
		"red paragraph above the form":   `<p style="color:red">Wrong password</p>` + loginForm,
		"paragraph inside the form":      `<form method="post"><p>Wrong password</p><input name="username"><input type="password" name="password"></form>`,
		"aria-live region":               `<div aria-live="assertive"><span>Wrong password</span></div>` + loginForm,
		"class in capitals":              `<div class="Msg-ERROR">Wrong password</div>` + loginForm,
		"class naming invalid":           `<div class="notice notice--invalid">Wrong password</div>` + loginForm,
		"id naming an alert":             `<section id="loginAlert">Wrong password</section>` + loginForm,
		"strong after the form":          loginForm + `<div><strong>Wrong password</strong></div>`,
		"message in a table cell":        `<table><tr><td><font color="red">Wrong password</font></td></tr></table>` + loginForm,
		"error class beside a help text": `<p class="help">Forgot it? Ask IT.</p><span class="field-error">Wrong password</span>` + loginForm,
	}
	for name, after := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := loginWithin(t, 5*time.Second, pages(loginForm, after))
			e := asError(t, err)
			assert.Equal(t, weblogin.KindRejected, e.Kind)
			assert.Contains(t, e.Msg, `"Wrong password"`)
			assert.NotContains(t, e.Msg, "without error text")
		})
	}
	t.Run("no message at all", func(t *testing.T) {
		_, err := loginWithin(t, 5*time.Second, pages(loginForm, `<h1>Sign in</h1><p>Use your work account.</p>`+loginForm))
		e := asError(t, err)
		assert.Contains(t, e.Msg, "without error text")
	})
	t.Run("long message is bounded and keeps secrets out", func(t *testing.T) {
		after := `<div role="alert">Wrong password ` + baseRequest("").Password + strings.Repeat(" blah", 500) + `</div>` + loginForm
		_, err := loginWithin(t, 5*time.Second, pages(loginForm, after))
		e := asError(t, err)
		assert.Contains(t, e.Msg, "Wrong password [redacted] blah")
		assert.NotContains(t, e.Msg, baseRequest("").Password)
		assert.Less(t, len(e.Msg), 500)
	})
}

// Hostile pages end in a clear verdict within the deadline.
func TestHostilePages(t *testing.T) {
	many := strings.Repeat(`<form><input type="hidden" name="a" value="1"><input type="search" name="q"></form>`, 5000)
	tests := []struct {
		name  string
		first string
		kind  weblogin.ErrKind
		msg   string
	}{
		{name: "5000 forms without a login form", first: many, kind: weblogin.KindLimit, msg: "the page has 5000 forms; the driver looks at the first 1000"},
		{name: "the login form after 1000 others", first: many + loginForm, kind: weblogin.KindLimit, msg: "the page has 5001 forms; the driver looks at the first 1000"},
		{name: "no closing tags", first: strings.Repeat(`<p>some text<li>item`, 20000) + `<form><input name="q">`, kind: weblogin.KindNoForm, msg: "no form to fill"},
		{name: "1 MiB of nested divs", first: strings.Repeat("<div>", 200000), kind: weblogin.KindLimit, msg: "nests elements deeper than the HTML parser's limit of 512"},
		{name: "a form with 100000 inputs", first: `<form method="post">` + strings.Repeat(`<input name="x">`, 100000) + `<input type="password" name="p"></form>`, kind: weblogin.KindLimit, msg: "a form has 100001 controls; the driver reads the first 1000"},
		{name: "a script of 200000 string literals", first: `<script>var a = [` + strings.Repeat(`"apple-remotemanagement-user-login://x", `, 200000) + `]; location.href = "/next"</script>`, kind: weblogin.KindJavaScript, msg: "a script changes the location"},
		{name: "an unterminated callback literal", first: `<script>location.href = "apple-remotemanagement-user-login://authentication-results?access-token=` + strings.Repeat("x", 1<<20), kind: weblogin.KindJavaScript, msg: "a script changes the location"},
		{name: "a comment that never ends", first: `<script>/* location.href = "apple-remotemanagement-user-login://authentication-results?access-token=t"` + strings.Repeat(" ", 1<<20) + `</script>`, kind: weblogin.KindJavaScript, msg: "a script changes the location"},
		{name: "invalid UTF-8 and NUL bytes", first: "<html>\xff\xfe\x00<title>\x00bad\xc3</title><p>\x00</p>", kind: weblogin.KindNoForm, msg: "no form to fill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A hang's bounds, not a measure of speed: the worst page takes
			// a fifth of a second alone, and many times that on a loaded
			// machine; a parser gone quadratic would take minutes.
			start := time.Now()
			_, err := loginWithin(t, time.Minute, pages(tt.first, loginForm))
			e := asError(t, err)
			assert.Equal(t, tt.kind, e.Kind, e.Msg)
			assert.Contains(t, e.Msg, tt.msg)
			assert.Less(t, len(e.Msg), 2000)
			assert.Less(t, time.Since(start), 30*time.Second)
		})
	}
}
