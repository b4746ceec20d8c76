package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Odd but legal sign-ins enroll (exit 0); a sign-in page the simulator
// cannot fill is the tester's failure (exit 3), never the server's (1).
func TestSignInPagesExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"split code", []string{"--fault", "login-split-otp"}, 0, "enrolled"},
		{"rate limited once", []string{"--fault", "login-rate-limited-once"}, 0, "enrolled"},
		{"split code the simulator cannot fill", []string{"--fault", "login-split-otp", "--totp-digits", "8"}, 3, "cannot fill the sign-in page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--email", "alice@acme.test", "--device", "iphone@18.2", "--login-driver", "form"}, tc.args...)
			r := execute(t, args...)
			assert.Equal(t, tc.code, r.code, r.out+r.errOut)
			assert.Contains(t, r.out, tc.out)
		})
	}
}
