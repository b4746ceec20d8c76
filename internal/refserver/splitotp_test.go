package refserver

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

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
