package weblogin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// boxes is n one-character inputs with the given attributes, named d1..dn.
func boxes(n int, attrs string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(`<input name="d` + string(rune('0'+i)) + `" maxlength="1" ` + attrs + `>`)
	}
	return b.String()
}

// A code split over one-character boxes is found, each box taking one
// digit; a run that is not a code is left alone.
func TestSplitCodeDetection(t *testing.T) {
	tests := []struct {
		name   string
		form   string
		digits int // 0: no split code
		asks   string
	}{
		{"six boxes, autocomplete on the first", `<input name="c1" maxlength="1" autocomplete="one-time-code" inputmode="numeric">` + boxes(5, `inputmode="numeric"`), 6, "otp"},
		{"six plain text boxes", boxes(6, ""), 6, "otp"},
		{"eight boxes", boxes(8, `type="text"`), 8, "otp"},
		{"six tel boxes", boxes(6, `type="tel"`), 6, "otp"},
		{"six number boxes", boxes(6, `type="number"`), 6, "otp"},
		{"six password boxes (masked digits)", boxes(6, `type="password"`), 6, "otp"},
		{"four numeric boxes (a PIN)", boxes(4, `inputmode="numeric"`), 4, "otp"},
		{"boxes wrapped in divs", `<div>` + strings.ReplaceAll(boxes(6, ""), "><", "></div><div><") + `</div>`, 6, "otp"},
		{"hidden csrf then boxes and a button", `<input type="hidden" name="csrf" value="x">` + boxes(6, "") + `<button>Verify</button>`, 6, "otp"},
		{"four plain boxes: not a code", boxes(4, ""), 0, "no login fields"},
		{"three boxes: too few", boxes(3, `inputmode="numeric"`), 0, "no login fields"},
		{"twelve boxes: too many", boxes(12, `inputmode="numeric"`), 0, "no login fields"},
		{"maxlength 2: not a box per digit", strings.ReplaceAll(boxes(6, ""), `maxlength="1"`, `maxlength="2"`), 0, "no login fields"},
		{"checkboxes with maxlength 1", boxes(6, `type="checkbox"`), 0, "no login fields"},
		{"user name and password untouched", `<input name="username"><input type="password" name="password">`, 0, "username,password"},
		{"one whole-code field", `<input name="otp" autocomplete="one-time-code" maxlength="6">`, 0, "otp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parseHTML([]byte(`<form method="post">` + tc.form + `</form>`))
			require.NoError(t, err)
			f := readForm(doc.Find("form"), selectors{})
			assert.Equal(t, tc.digits, f.digits)
			assert.Equal(t, tc.asks, f.asks.String())
			var positions []int
			for i, d := range f.digit {
				if d >= 0 {
					positions = append(positions, d)
					assert.Equal(t, roleOTP, f.roles[i])
				}
			}
			assert.Len(t, positions, tc.digits)
			for i, p := range positions {
				assert.Equal(t, i, p, "boxes take the digits in tree order")
			}
		})
	}
}

func TestFitCode(t *testing.T) {
	tests := []struct {
		code          string
		digit, digits int
		maxlength     string
		want, err     string
	}{
		{"123456", -1, 0, "6", "123456", ""},
		{"123456", -1, 0, "", "123456", ""},
		{"123456", -1, 0, "bogus", "123456", ""},
		{"12345678", -1, 0, "6", "", "takes at most 6 characters"},
		{"123456", -1, 0, "1", "", "takes at most 1 characters"},
		{"123456", 0, 6, "1", "1", ""},
		{"123456", 5, 6, "1", "6", ""},
		{"12345678", 2, 6, "1", "", "splits the one-time code over 6 one-character boxes, but the code has 8 digits"},
	}
	for _, tc := range tests {
		got, err := fitCode(tc.code, tc.digit, tc.digits, tc.maxlength)
		if tc.err != "" {
			require.Error(t, err, "%+v", tc)
			assert.Contains(t, err.Error(), tc.err)
			assert.NotContains(t, err.Error(), tc.code, "the code is a secret")
			continue
		}
		require.NoError(t, err, "%+v", tc)
		assert.Equal(t, tc.want, got, "%+v", tc)
	}
}

func TestFitText(t *testing.T) {
	for _, tc := range []struct {
		v, maxlength, err string
	}{
		{"correct horse", "", ""},
		{"correct horse", "64", ""},
		{"correct horse", "13", ""},
		{"correct horse", "12", "the password field takes at most 12 characters (maxlength), but the password has 13"},
		{"pässwörd", "8", ""}, // characters, not bytes
		{"correct horse", "0", ""},
		{"correct horse", "x", ""},
	} {
		got, err := fitText("password", tc.v, tc.maxlength)
		if tc.err == "" {
			require.NoError(t, err, "%+v", tc)
			assert.Equal(t, tc.v, got)
			continue
		}
		require.Error(t, err, "%+v", tc)
		assert.Equal(t, tc.err, err.Error())
	}
}

// A required field that is none of the login's fields leaves the form
// unfillable, unless it is pre-filled, optional, read-only or given.
func TestUnfillableForm(t *testing.T) {
	tests := []struct {
		name  string
		form  string
		extra map[string]string
		want  string // "" fillable, else a fragment of the reason
	}{
		{"plain login", `<input name="username" required><input type="password" name="password" required>`, nil, ""},
		{"required captcha", `<input type="password" name="password"><input name="captcha" required>`, nil, `required text field "captcha"`},
		{"required captcha given", `<input type="password" name="password"><input name="captcha" required>`, map[string]string{"captcha": "x"}, ""},
		{"pre-filled tenant", `<input type="password" name="password"><input name="tenant" value="acme" required>`, nil, ""},
		{"optional field", `<input type="password" name="password"><input name="nickname">`, nil, ""},
		{"read-only field", `<input type="password" name="password"><input name="nickname" readonly required>`, nil, ""},
		{"hidden by style", `<input type="password" name="password"><input name="trap" style="display:none" required>`, nil, ""},
		{"terms checkbox", `<input type="password" name="password"><input type="checkbox" name="terms" required>`, nil, `required checkbox field "terms"`},
		{"terms checkbox ticked", `<input type="password" name="password"><input type="checkbox" name="terms" checked required>`, nil, ""},
		{"radio group with one checked", `<input type="password" name="password"><input type="radio" name="m" value="a" required><input type="radio" name="m" value="b" checked>`, nil, ""},
		{"required textarea", `<input type="password" name="password"><textarea name="why" required></textarea>`, nil, `required textarea field "why"`},
		{"required hidden", `<input type="password" name="password"><input type="hidden" name="h" required>`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parseHTML([]byte(`<form method="post">` + tc.form + `</form>`))
			require.NoError(t, err)
			got := readForm(doc.Find("form"), selectors{}).unfillable(tc.extra)
			if tc.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tc.want)
			}
		})
	}
}

// The page's own error markup is quoted, whatever words its message uses;
// classes that merely contain the letters "err" are not error markup.
func TestErrorMarkup(t *testing.T) {
	const msg = "Please check the code and enter it once more"
	require.False(t, errorWords.MatchString(msg), "the message must carry no error word, or the markup would not be what is tested")
	tests := []struct {
		markup string
		found  bool
	}{
		{`<p class="err">` + msg + `</p>`, true},
		{`<p class="ERR">` + msg + `</p>`, true},
		{`<div class="form-err">` + msg + `</div>`, true},
		{`<div class="err-msg">` + msg + `</div>`, true},
		{`<div class="box err_text">` + msg + `</div>`, true},
		{`<span class="errmsg">` + msg + `</span>`, true},
		{`<span class="loginErr">` + msg + `</span>`, true},
		{`<div class="form-error">` + msg + `</div>`, true},
		{`<div class="alert alert-danger">` + msg + `</div>`, true},
		{`<div class="invalid-feedback">` + msg + `</div>`, true},
		{`<div class="is-invalid">` + msg + `</div>`, true},
		{`<div role="alert">` + msg + `</div>`, true},
		{`<div role="ALERT">` + msg + `</div>`, true},
		{`<div aria-live="polite">` + msg + `</div>`, true},
		{`<div aria-live="assertive">` + msg + `</div>`, true},
		{`<div id="err">` + msg + `</div>`, true},
		{`<div id="otp-err">` + msg + `</div>`, true},
		{`<p class="terrain">` + msg + `</p>`, false},
		{`<p class="ferry">` + msg + `</p>`, false},
		{`<p class="deferred">` + msg + `</p>`, false},
		{`<div aria-live="off">` + msg + `</div>`, false},
		{`<p class="err" hidden>` + msg + `</p>`, false},
		{`<p class="err" style="display: none">` + msg + `</p>`, false},
		{`<p class="hint">` + msg + `</p>`, false},
	}
	for _, tc := range tests {
		doc, err := parseHTML([]byte(`<main>` + tc.markup + `<form><input name="otp"></form></main>`))
		require.NoError(t, err)
		got := visibleErrors(doc)
		if tc.found {
			assert.Equal(t, msg, got, tc.markup)
		} else {
			assert.Empty(t, got, tc.markup)
		}
	}
}
