package refserver

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With Config.TOTPNow, codes are judged at the account's own TOTP time
// while the sign-in session still ages by Now: an hour's jump of alice's
// second factor neither expires her session nor moves bob's codes.
func TestTOTPNowIsPerAccount(t *testing.T) {
	clk := &testClock{now: fixedNow}
	jump := time.Hour
	var alice, bob Account
	s := startCfg(t, Config{Now: clk.Now, TOTPNow: func(seed string) time.Time {
		if seed == alice.TOTPSecret {
			return clk.Now().Add(jump)
		}
		return clk.Now()
	}})
	alice, bob = account(t, s, "alice@acme.test"), account(t, s, "bob@acme.test")

	l := newBrowser(t, s).startLogin(loginURL)
	require.Equal(t, http.StatusSeeOther, l.password(alice.Identifier, alice.Password).Code)
	assert.Equal(t, http.StatusOK, l.otp(totpAt(t, alice, fixedNow)).Code, "a code of the wall clock's step is refused")
	assert.Equal(t, http.StatusPermanentRedirect, l.otp(totpAt(t, alice, fixedNow.Add(jump))).Code,
		"a code of alice's own time is accepted in a session an hour of jumps did not expire")

	l = newBrowser(t, s).startLogin(loginURL)
	require.Equal(t, http.StatusSeeOther, l.password(bob.Identifier, bob.Password).Code)
	assert.Equal(t, http.StatusPermanentRedirect, l.otp(totpAt(t, bob, fixedNow)).Code, "bob's codes follow Now")
}
