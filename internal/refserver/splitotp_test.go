package refserver

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, loginPageEffects) }

// The sign-in page faults that a device gets through: a split code box by
// box, and one 429 whose Retry-After is short.
var loginPageEffects = map[string]func(t *testing.T, s *Server){
	FaultLoginSplitOTP: func(t *testing.T, s *Server) {
		clockOf(t, s).advance(totpPeriod * time.Second)
		acct := account(t, s, "alice@acme.test")
		b := newBrowser(t, s)
		l := b.startLogin(loginURL + "?user-identifier=alice%40acme.test")
		require.Equal(t, http.StatusSeeOther, l.password(acct.Identifier, acct.Password).Code)
		page := l.page.Body.String()
		for i := 1; i <= totpDigits; i++ {
			assert.Contains(t, page, fmt.Sprintf(`name="digit%d"`, i))
		}
		assert.Equal(t, totpDigits, strings.Count(page, `maxlength="1"`), page)
		code := totpAt(t, acct, s.cfg.Now())
		action, csrf := form(t, l.pageURL, l.page)
		whole := b.post(action, url.Values{"csrf": {csrf}, "digit1": {code}})
		require.Equal(t, http.StatusOK, whole.Code, "the whole code in the first box is no code")
		assert.Contains(t, whole.Body.String(), `class="err"`)
		action, csrf = form(t, l.pageURL, whole)
		boxes := url.Values{"csrf": {csrf}}
		for i, d := range code {
			boxes.Set(fmt.Sprintf("digit%d", i+1), string(d))
		}
		rec := b.post(action, boxes)
		if rec.Code == http.StatusSeeOther && strings.HasPrefix(rec.Header().Get("Location"), completeURL) {
			rec = b.get(rec.Header().Get("Location"))
		}
		fetchProfileWith(t, s, enrollBYOD, callbackToken(t, rec))
	},
	FaultLoginRateLimitedOnce: func(t *testing.T, s *Server) {
		b := newBrowser(t, s)
		first := b.get(loginURL + "?user-identifier=alice%40acme.test")
		assert.Equal(t, http.StatusTooManyRequests, first.Code)
		assert.Equal(t, "1", first.Header().Get("Retry-After"))
		again := b.get(loginURL + "?user-identifier=alice%40acme.test")
		assert.Equal(t, http.StatusOK, again.Code, "one 429 only")
		webToken(t, s, "alice@acme.test")
	},
}

// login-split-otp takes the code one digit per box, as its page asks;
// the whole code in the first box is no code.
func TestSplitCodeBoxes(t *testing.T) {
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"digit1": {"4"}, "digit2": {"9"}, "digit3": {"3"}, "digit4": {"8"}, "digit5": {"1"}, "digit6": {"7"}}, "493817"},
		{url.Values{"digit1": {"493817"}, "digit2": {""}, "digit3": {""}, "digit4": {""}, "digit5": {""}, "digit6": {""}}, ""},
		{url.Values{"digit1": {"4"}, "digit2": {"9"}, "digit3": {"3"}, "digit4": {"8"}, "digit5": {"1"}}, ""},
		{url.Values{"digit1": {"4"}, "digit2": {"x"}, "digit3": {"3"}, "digit4": {"8"}, "digit5": {"1"}, "digit6": {"7"}}, ""},
		{url.Values{"otp": {"493817"}}, ""},
	} {
		assert.Equal(t, tc.want, splitCode(tc.form), "%v", tc.form)
	}
}
