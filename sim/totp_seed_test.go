package sim

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/secret"
)

func TestValidateTOTPSeedMessages(t *testing.T) {
	const seed = "JBSWY3DPEHPK3PXP" // a well-known example seed, not a real one
	tests := []struct {
		seed string
		want string // "" accepted
	}{
		{seed, ""},
		{strings.ToLower(seed), ""},
		{"  " + seed + "\n", ""},
		{seed + "====", "the '=' padding at character 17 does not fit"},
		{"JBSWY3D=", ""},
		{"JBSWY3DPEHPK3PX", ""},
		{"JBSWY3D1EHPK3PXP", "character 8 is a digit 0, 1, 8 or 9"},
		{"  JBSW0Y3DP", "character 7 is a digit 0, 1, 8 or 9"},
		{"JBSW Y3DP EHPK 3PXP", "character 5 is a space or tab inside the seed"},
		{"JBSW-Y3DP", "character 5 is a '-'"},
		{"JBSWY3DP=EHPK3PX", "character 10 follows '=' padding"},
		{" JBSWY3DP====", "the '=' padding at character 10 does not fit"},
		{"JBSWY3DP\x00", "character 9 is a control character"},
		{"JBSWY3DP\nEHPK3PXP", "character 9 is a line break inside the seed"},
		{"JBSWY3DP!", "character 9 is a punctuation mark or symbol"},
		{"JBSWÉY3DP", "character 5 is a non-ASCII letter or digit"},
		{"JBSWY\xff3DP", "character 6 is a byte that is not UTF-8 text"},
		{"   ", "the TOTP seed is empty or only spaces"},
		{"JBSWY3DPE", "its 9 characters are not a whole number of bytes"},
	}
	for _, tt := range tests {
		err := ValidateTOTP(secret.New(tt.seed), TOTPOptions{})
		if tt.want == "" {
			assert.NoError(t, err, "%q", tt.seed)
			continue
		}
		require.Error(t, err, "%q", tt.seed)
		assert.Contains(t, err.Error(), tt.want, "%q", tt.seed)
		assert.Contains(t, err.Error(), "accepted: letters A-Z in either case, digits 2-7")
		for _, part := range strings.Fields(tt.seed) {
			if len(part) >= 4 {
				assert.NotContains(t, err.Error(), part, "the message must not show the seed")
			}
		}
	}
}

// ValidateTOTP must accept exactly the seeds the generator can use, or a
// run fails at sign-in for a seed that validate passed (or refuses one that
// works). Validation is stricter in two ways: it refuses letters outside
// ASCII and line breaks inside the seed, because the generator pads by the
// byte count before it upper-cases and before the decoder drops line
// breaks, so what it makes of them is not the key that was written.
func TestValidateTOTPAgreesWithGenerator(t *testing.T) {
	alphabet := []rune("ABCXYZabcxyz234567=01 89-\n\r\t\u0131é!")
	rng := rand.New(rand.NewPCG(1, 2))
	v := totp.ValidateOpts{Digits: otp.DigitsSix, Period: 30, Algorithm: otp.AlgorithmSHA1}
	for i := 0; i < 20000; i++ {
		var b strings.Builder
		for n := rng.IntN(20); n > 0; n-- {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		_, genErr := totp.GenerateCodeCustom(s, time.Unix(0, 0), v)
		usable := genErr == nil && strings.TrimSpace(s) != ""
		err := ValidateTOTP(secret.New(s), TOTPOptions{})
		if err == nil {
			require.True(t, usable, "seed %q passed validation, but the generator says %v", s, genErr)
		} else if isASCII(s) && !strings.ContainsAny(strings.TrimSpace(s), "\r\n") {
			require.False(t, usable, "seed %q works with the generator, but validation says %v", s, err)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
