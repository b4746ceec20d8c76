package secret

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	s := New("hunter2-canary")
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s),
		fmt.Sprintf("%v", struct{ P Secret }{s}), fmt.Sprintf("%+v", &struct{ P Secret }{s}),
	} {
		assert.NotContains(t, out, "hunter2")
	}
	b, err := json.Marshal(struct{ P Secret }{s})
	require.NoError(t, err)
	assert.JSONEq(t, `{"P":"[redacted]"}`, string(b))
	assert.Equal(t, "hunter2-canary", s.Reveal())
}

func TestRedactorForms(t *testing.T) {
	var r Redactor
	tok := "tok/en+with=odd chars"
	r.Add(tok)
	r.Add("ab") // too short to redact safely
	for _, in := range []string{
		tok, url.QueryEscape(tok), url.PathEscape(tok),
		base64.StdEncoding.EncodeToString([]byte(tok)), base64.RawURLEncoding.EncodeToString([]byte(tok)),
		"Bearer " + tok,
	} {
		out := r.Redact("x " + in + " y")
		assert.NotContains(t, out, in)
		assert.Contains(t, out, "[redacted]")
	}
	assert.Equal(t, "ab cd", r.Redact("ab cd"))
	var nilR *Redactor
	assert.Equal(t, "same", nilR.Redact("same"))
}

func TestMaskCredential(t *testing.T) {
	assert.Equal(t, "Bearer [redacted]", MaskCredential("Bearer abc.def"))
	assert.Equal(t, "session=[redacted]; Path=/; HttpOnly", MaskCredential("session=abc; Path=/; HttpOnly"))
	assert.Equal(t, "a=[redacted]; b=[redacted]", MaskCredential("a=1; b=2"))
	assert.Equal(t, "sid=[redacted]; Expires=Wed, 21 Oct 2026 07:28:00 GMT", MaskCredential("sid=x; Expires=Wed, 21 Oct 2026 07:28:00 GMT"))
}

// A password posted by fetch() as JSON has its quotes and backslashes
// escaped; the redactor knows that form too.
func TestRedactorJSONForm(t *testing.T) {
	r := &Redactor{}
	pw := `pa"ss\wörd<1>`
	r.Add(pw)
	body, err := json.Marshal(map[string]string{"password": pw})
	require.NoError(t, err)
	// JSON.stringify does not escape <, > and &; Go's Marshal does.
	stringify := `{"password":"pa\"ss\\wörd<1>"}`
	for _, b := range []string{stringify, string(body)} {
		out := r.Redact(b)
		assert.NotContains(t, out, `ss\\w`, b)
		assert.Contains(t, out, "[redacted]", b)
	}
}

// A case's redactor replaces its own secrets and the run's, keeps what it
// learns to itself (once per value), and replaces a token that contains the case's password
// whole (both are its own, so longest first applies across them).
func TestRedactorForCase(t *testing.T) {
	run := &Redactor{}
	pw := New("hunter2-password")
	run.AddSecret(pw)
	run.Add("other-account-seed")
	c := run.ForCase(pw)
	c.Add("tok-hunter2-password-tail")
	c.Add("cookie-value")
	forms := c.Len()
	c.Add("cookie-value") // again: no new form
	assert.Equal(t, forms, c.Len())
	assert.Equal(t, "a [redacted] b [redacted] c [redacted] d [redacted]",
		c.Redact("a tok-hunter2-password-tail b hunter2-password c cookie-value d other-account-seed"))
	assert.Equal(t, "cookie-value [redacted]", run.Redact("cookie-value hunter2-password"),
		"the run's redactor learned a case's secret")
	// An Add after a Redact is seen by the next Redact.
	c.Add("late-token")
	assert.Equal(t, "[redacted]", c.Redact("late-token"))
}

// A case's redactor skips the run's pass while the run holds only the
// case's own account secrets, and resumes it when the run learns more.
func TestRedactorForCaseCoveredRun(t *testing.T) {
	run := &Redactor{}
	pw := New("hunter2-password")
	run.AddSecret(pw)
	c := run.ForCase(pw)
	assert.Equal(t, "[redacted]", c.Redact("hunter2-password"))
	run.Add("late-plan-secret")
	assert.Equal(t, "[redacted] [redacted]", c.Redact("hunter2-password late-plan-secret"))
}
