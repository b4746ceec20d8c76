package weblogin_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

const splitOTPForm = `<form method="post" action="/otp"><input type="hidden" name="csrf" value="c5">
<input name="d1" maxlength="1" inputmode="numeric" autocomplete="one-time-code"><input name="d2" maxlength="1" inputmode="numeric">
<input name="d3" maxlength="1" inputmode="numeric"><input name="d4" maxlength="1" inputmode="numeric">
<input name="d5" maxlength="1" inputmode="numeric"><input name="d6" maxlength="1" inputmode="numeric">
<button>Verify</button></form>`

// posted is a Fetch over fixed pages that keeps the bodies it was sent:
// GET shows the first page, a POST the next of after (the last repeats).
type posted struct {
	mu     sync.Mutex
	bodies []url.Values
}

func (p *posted) fetch(first string, after ...string) weblogin.Fetch {
	return func(ctx context.Context, method, rawURL string, _ http.Header, body []byte, _ string) (*weblogin.Page, error) {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, err
		}
		page := first
		if method == http.MethodPost {
			form, _ := url.ParseQuery(string(body))
			p.mu.Lock()
			p.bodies = append(p.bodies, form)
			n := len(p.bodies)
			p.mu.Unlock()
			page = after[min(n, len(after))-1]
			if strings.HasPrefix(page, "callback:") {
				return &weblogin.Page{URL: u, Status: http.StatusPermanentRedirect,
					Header: http.Header{"Location": {callbackURL(strings.TrimPrefix(page, "callback:"))}}}, nil
			}
		}
		return &weblogin.Page{URL: u, Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html"}}, Body: []byte(page)}, nil
	}
}

// The form driver types a split code one digit per box, as a person does.
func TestSplitCodeFilledOneDigitPerBox(t *testing.T) {
	p := &posted{}
	req := baseRequest("https://idp.test/login")
	calls := 0
	req.OTP = fixedOTP("493817", &calls)
	var secrets []string
	req.OnSecret = func(s string) { secrets = append(secrets, s) }
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	res, err := weblogin.Login(ctx, p.fetch(loginForm, splitOTPForm, "callback:tok-0123456789abcdef"), req)

	require.NoError(t, err)
	assert.Contains(t, secrets, "d1=4&d2=9&d3=3&d4=8&d5=1&d6=7", "the code as the body carries it is a secret")
	require.NotNil(t, res.Callback)
	require.Len(t, p.bodies, 2)
	otp := p.bodies[1]
	assert.Equal(t, "c5", otp.Get("csrf"))
	for i, want := range []string{"4", "9", "3", "8", "1", "7"} {
		assert.Equal(t, want, otp.Get("d"+string(rune('1'+i))), "box %d", i+1)
	}
	assert.Equal(t, 1, calls, "one code for all the boxes")
	assert.True(t, res.SecondFactorSeen)
}

// A page the driver cannot fill ends in KindUnfillable, which is no
// verdict on the server, and nothing is submitted from it.
func TestUnfillablePages(t *testing.T) {
	tests := []struct {
		name, page, code, want string
	}{
		{"split code of another length", splitOTPForm, "12345678", "splits the one-time code over 6 one-character boxes, but the code has 8 digits"},
		{"code field too short", `<form method="post"><input name="otp" autocomplete="one-time-code" maxlength="4"><button>Go</button></form>`, "123456", "takes at most 4 characters"},
		{"required field nobody can fill", `<form method="post"><input name="otp" autocomplete="one-time-code"><input name="captcha" required><button>Go</button></form>`, "123456", `required text field "captcha"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &posted{}
			req := baseRequest("https://idp.test/login")
			calls := 0
			req.OTP = fixedOTP(tc.code, &calls)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()

			res, err := weblogin.Login(ctx, p.fetch(loginForm, tc.page, "callback:tok-0123456789abcdef"), req)

			e := asError(t, err)
			assert.Equal(t, weblogin.KindUnfillable, e.Kind, e.Msg)
			assert.Contains(t, e.Msg, tc.want)
			assert.NotContains(t, e.Msg, tc.code)
			assert.Len(t, p.bodies, 1, "only the password form was sent")
			assert.Nil(t, res.Callback)
			assert.Contains(t, e.Trail[len(e.Trail)-1], "cannot be filled")
		})
	}
}

// After a refused code the page's own error markup is quoted, not called
// "without error text".
func TestRejectedSplitCodeQuotesTheMessage(t *testing.T) {
	p := &posted{}
	req := baseRequest("https://idp.test/login")
	calls := 0
	req.OTP = fixedOTP("493817", &calls)
	again := `<p class="err">That code did not work. Wait for the next one.</p>` + splitOTPForm

	_, err := weblogin.Login(context.Background(), p.fetch(loginForm, splitOTPForm, again), req)

	e := asError(t, err)
	assert.Equal(t, weblogin.KindRejected, e.Kind)
	assert.Contains(t, e.Msg, `"That code did not work. Wait for the next one."`)
	assert.NotContains(t, e.Msg, "without error text")
}

// A password longer than its field's maxlength would be cut by a browser
// and refused: the page cannot be filled, nothing is sent.
func TestPasswordLongerThanItsField(t *testing.T) {
	p := &posted{}
	req := baseRequest("https://idp.test/login")
	page := `<form method="post"><input name="username"><input type="password" name="pin" maxlength="8"><button>Go</button></form>`

	_, err := weblogin.Login(context.Background(), p.fetch(page, "callback:tok-0123456789abcdef"), req)

	e := asError(t, err)
	assert.Equal(t, weblogin.KindUnfillable, e.Kind, e.Msg)
	assert.Contains(t, e.Msg, "the password field takes at most 8 characters (maxlength), but the password has 28")
	assert.NotContains(t, e.Msg, req.Password)
	assert.Empty(t, p.bodies)
}
