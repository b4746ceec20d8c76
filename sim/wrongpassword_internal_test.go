package sim

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// AUTH-006's wrong password fits the real one's field: same length, never
// the same value.
func TestWrongPasswordFitsTheField(t *testing.T) {
	for _, real := range []string{"alice-Tr0ub4dor-7", "pw", "x", "enrollsim-wrong-", "enrollsim-wrongx", "a very long passphrase of many words", "pässwörd"} {
		w := wrongPassword(real)
		assert.NotEqual(t, real, w)
		assert.Equal(t, utf8.RuneCountInString(real), utf8.RuneCountInString(w), real)
	}
	assert.Equal(t, "enrollsim-wrong-x", wrongPassword("alice-Tr0ub4dor-7"))
}
