package weblogin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefreshURL(t *testing.T) {
	for content, want := range map[string]string{
		"0; url=/next":          "/next",
		"0;URL='/next?a=1'":     "/next?a=1",
		`5 ; Url = "/next"`:     "/next",
		"0, https://idp.test/x": "https://idp.test/x",
		"30":                    "",
		"0; url=":               "",
	} {
		assert.Equal(t, want, refreshURL(content), content)
	}
}

func TestGuessRole(t *testing.T) {
	for input, want := range map[string]role{
		`<input name="j_username">`:                                        roleUsername,
		`<input type="email" name="loginfmt">`:                             roleUsername,
		`<input name="whatever" autocomplete="section-a username">`:        roleUsername,
		`<input type="password" name="passwd">`:                            rolePassword,
		`<input type="password" name="credentials.passcode">`:              rolePassword,
		`<input type="password" name="otp">`:                               roleOTP,
		`<input name="x" autocomplete="one-time-code">`:                    roleOTP,
		`<input name="verificationCode">`:                                  roleOTP,
		`<input name="answer" inputmode="numeric" maxlength="6">`:          roleOTP,
		`<input name="answer" inputmode="numeric" maxlength="4">`:          roleOther,
		`<input type="hidden" name="csrf_token" value="x">`:                roleOther,
		`<input type="hidden" name="username" value="user01@example.com">`: roleOther,
		`<input type="search" name="q">`:                                   roleOther,
		`<input type="checkbox" name="remember_user">`:                     roleOther,
	} {
		doc, err := parseHTML([]byte("<form>" + input + "</form>"))
		require.NoError(t, err)
		assert.Equal(t, want, guessRole(doc.Find("input")), input)
	}
}

func TestWithExtra(t *testing.T) {
	pairs := []pair{{"locale", "fr"}, {"a", "1"}, {"locale", "de"}}
	got := withExtra(pairs, map[string]string{"locale": "en", "z": "26"})
	assert.Equal(t, []pair{{"locale", "en"}, {"a", "1"}, {"z", "26"}}, got)
}

func TestRedactor(t *testing.T) {
	r := &redactor{}
	r.add("a b&c")
	r.add("a b&c-longer")
	assert.Equal(t, "x=[redacted] y=[redacted] z=[redacted]", r.scrub("x=a b&c-longer y=a+b%26c z=a b&c"))
	assert.Equal(t, "sid=[redacted]; Path=/; HttpOnly", redactSetCookie("sid=abc; Path=/; HttpOnly"))
	assert.Equal(t, "nothing secret", r.scrub("nothing secret"))
}
