package weblogin

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
)

// role is what a form control asks the user for.
type role int

const (
	roleOther role = iota // carried with its value as the page set it
	roleUsername
	rolePassword
	roleOTP
)

// Name fragments that mark a field when type and autocomplete say nothing.
// Substrings rather than words, because real names glue them to other words
// (j_username, loginfmt, verificationCode).
var (
	usernameHints = []string{"user", "email", "login", "identifier", "signin"}
	// strongOTPHints mark an OTP field even when it is type=password.
	strongOTPHints = []string{"otp", "totp", "mfa", "2fa", "one-time", "onetime", "one_time", "twofactor", "two-factor"}
	// weakOTPHints mark only plain text fields: "passcode" or "pin" in a
	// password field is more likely the password itself.
	weakOTPHints = []string{"code", "token"}
)

// asks says what a form asks for, which tells the stage of the login it
// belongs to.
type asks struct{ username, password, otp bool }

// stage orders the steps of a login (user name, password, code). A form of
// the same or an earlier stage coming back after a submission on the same
// host means the server refused what was submitted.
func (a asks) stage() int {
	switch {
	case a.otp:
		return 3
	case a.password:
		return 2
	case a.username:
		return 1
	}
	return 0
}

func (a asks) String() string {
	var parts []string
	if a.username {
		parts = append(parts, "username")
	}
	if a.password {
		parts = append(parts, "password")
	}
	if a.otp {
		parts = append(parts, "otp")
	}
	if len(parts) == 0 {
		return "no login fields"
	}
	return strings.Join(parts, ",")
}

// form is an HTML form read for submission.
type form struct {
	sel      *goquery.Selection
	controls []*goquery.Selection // input, select, textarea and button, in tree order
	roles    []role               // parallel to controls
	asks     asks
	// relay: only hidden fields and buttons, as in a SAML HTTP-POST or an
	// OIDC form_post page that scripts submit on load. A browser without
	// JavaScript shows its <noscript> button; the driver presses it.
	relay bool
	// controlCount is how many controls the form has; past maxFormControls
	// only the first are read.
	controlCount int
	// digit is parallel to controls: the position of the control in a code
	// split over one-character boxes, or -1; digits is how many boxes the
	// code is split over (0: no split code).
	digit  []int
	digits int
}

// formScan is what chooseForm looked at, for a verdict that names where it
// stopped.
type formScan struct {
	forms       int // forms on the page
	maxControls int // controls of the largest form examined
}

// limit says which bound kept the driver from reading the whole page, or "".
func (f formScan) limit() string {
	var parts []string
	if f.forms > maxForms {
		parts = append(parts, fmt.Sprintf("the page has %d forms; the driver looks at the first %d", f.forms, maxForms))
	}
	if f.maxControls > maxFormControls {
		parts = append(parts, fmt.Sprintf("a form has %d controls; the driver reads the first %d", f.maxControls, maxFormControls))
	}
	return strings.Join(parts, "; ")
}

// Bounds on what the driver reads of one page. Real login pages have one
// to a few forms of a few dozen controls; past these the page is hostile or
// generated, and the driver says where it stopped rather than reading on.
const (
	maxForms        = 1000
	maxFormControls = 1000
)

func readForm(sel *goquery.Selection, sels selectors) *form {
	f := &form{sel: sel}
	hidden, visible := 0, 0
	all := sel.Find("input, select, textarea, button")
	f.controlCount = all.Length()
	if f.controlCount > maxFormControls {
		all = all.Slice(0, maxFormControls)
	}
	all.Each(func(_ int, c *goquery.Selection) {
		if disabled(c) {
			return
		}
		r := roleOf(c, sels)
		f.controls = append(f.controls, c)
		f.roles = append(f.roles, r)
		switch r {
		case roleUsername:
			f.asks.username = true
		case rolePassword:
			f.asks.password = true
		case roleOTP:
			f.asks.otp = true
		}
		switch kind := controlKind(c); {
		case kind == "hidden":
			if c.AttrOr("name", "") != "" {
				hidden++
			}
		case !isButtonKind(kind):
			visible++
		}
	})
	f.relay = hidden > 0 && visible == 0
	f.findSplitCode()
	return f
}

// Bounds of a code split over one-character boxes: TOTP codes have 6 to 8
// digits, some pages use 4-digit PINs; a longer run of such boxes is not a
// code.
const (
	minSplitDigits = 4
	maxSplitDigits = 10
)

// findSplitCode spots a one-time code split over one box per digit
// (<input maxlength=1> repeated, a common OTP design whose script moves the
// focus along): the first run of consecutive one-character text, tel,
// number or password inputs that is long enough and looks like a code. Its
// boxes become OTP fields, each taking one digit.
func (f *form) findSplitCode() {
	f.digit = make([]int, len(f.controls))
	for i := range f.digit {
		f.digit[i] = -1
	}
	for i := 0; i < len(f.controls); {
		if !singleCharacter(f.controls[i]) {
			i++
			continue
		}
		j := i
		for j < len(f.controls) && singleCharacter(f.controls[j]) {
			j++
		}
		if n := j - i; n >= minSplitDigits && n <= maxSplitDigits && looksLikeCode(f.controls[i:j], f.roles[i:j]) {
			for k := i; k < j; k++ {
				f.roles[k], f.digit[k] = roleOTP, k-i
			}
			f.digits = n
			f.asks.otp = true
			if !slices.Contains(f.roles, roleUsername) {
				f.asks.username = false
			}
			if !slices.Contains(f.roles, rolePassword) {
				f.asks.password = false
			}
			return
		}
		i = j
	}
}

// singleCharacter: a box for one typed character.
func singleCharacter(c *goquery.Selection) bool {
	if goquery.NodeName(c) != "input" {
		return false
	}
	switch controlKind(c) {
	case "text", "tel", "number", "password":
	default:
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.AttrOr("maxlength", "")))
	return err == nil && n == 1
}

// looksLikeCode: a run of one-character boxes is a code when one of them
// says so (a code field's name, autocomplete=one-time-code, a numeric
// keypad) or when it has a code's usual length.
func looksLikeCode(run []*goquery.Selection, roles []role) bool {
	if len(run) == 6 || len(run) == 8 {
		return true
	}
	for i, c := range run {
		if roles[i] == roleOTP || strings.EqualFold(c.AttrOr("inputmode", ""), "numeric") {
			return true
		}
		if kind := controlKind(c); kind == "tel" || kind == "number" {
			return true
		}
	}
	return false
}

// chooseForm picks the form to fill: the Fields.Form match, else the first
// form with a password or OTP field, else the first with a user name field
// (identifier-first logins ask for the name alone). relay is the first form
// that only carries hidden fields, for pages with no login form.
func chooseForm(doc *goquery.Document, sels selectors) (login, relay *form, scan formScan) {
	var username *form
	forms := doc.Find("form")
	scan.forms = forms.Length()
	if scan.forms > maxForms {
		forms = forms.Slice(0, maxForms)
	}
	forms.EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if sels.form != nil && !s.IsMatcher(sels.form) {
			return true
		}
		f := readForm(s, sels)
		scan.maxControls = max(scan.maxControls, f.controlCount)
		switch {
		case sels.form != nil, f.asks.password || f.asks.otp:
			login = f
			return false
		case f.asks.username && username == nil:
			username = f
		case f.relay && relay == nil:
			relay = f
		}
		return true
	})
	if login == nil {
		login = username
	}
	return login, relay, scan
}

// roleOf applies the Fields overrides first: a selector given for a role
// replaces detection for that role.
func roleOf(c *goquery.Selection, sels selectors) role {
	overrides := []struct {
		sel  cascadia.Selector
		role role
	}{{sels.otp, roleOTP}, {sels.password, rolePassword}, {sels.username, roleUsername}}
	for _, o := range overrides {
		if o.sel != nil && c.IsMatcher(o.sel) {
			return o.role
		}
	}
	guess := guessRole(c)
	for _, o := range overrides {
		if o.sel != nil && o.role == guess {
			return roleOther
		}
	}
	return guess
}

// guessRole reads type, autocomplete, inputmode and name/id the way password
// managers do.
func guessRole(c *goquery.Selection) role {
	if goquery.NodeName(c) != "input" {
		return roleOther
	}
	kind := controlKind(c)
	switch kind {
	case "text", "email", "tel", "number", "password", "search", "url":
	default:
		return roleOther // hidden, checkbox, buttons...: never typed into
	}
	autocomplete := strings.Fields(strings.ToLower(c.AttrOr("autocomplete", "")))
	names := strings.ToLower(c.AttrOr("name", "") + " " + c.AttrOr("id", ""))
	switch {
	case slices.Contains(autocomplete, "one-time-code"):
		return roleOTP
	case kind == "password" && (hasAny(names, strongOTPHints) || numericCode(c)):
		return roleOTP
	case kind == "password":
		return rolePassword
	case slices.Contains(autocomplete, "username"), slices.Contains(autocomplete, "email"), kind == "email":
		return roleUsername
	case hasAny(names, strongOTPHints), hasAny(names, weakOTPHints), numericCode(c):
		return roleOTP
	case hasAny(names, usernameHints):
		return roleUsername
	}
	return roleOther
}

// numericCode spots a code field by shape: a numeric keypad and room for 6
// to 8 digits.
func numericCode(c *goquery.Selection) bool {
	if strings.ToLower(c.AttrOr("inputmode", "")) != "numeric" {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(c.AttrOr("maxlength", "")))
	return err == nil && n >= 6 && n <= 8
}

// controlKind is the effective type of a control: the input type (default
// text), or the tag for select and textarea, or "submit"/"button"/"reset"
// for a button (default submit).
func controlKind(c *goquery.Selection) string {
	t := strings.ToLower(strings.TrimSpace(c.AttrOr("type", "")))
	switch goquery.NodeName(c) {
	case "input":
		if t == "" {
			return "text"
		}
		return t
	case "button":
		if t == "button" || t == "reset" {
			return t
		}
		return "submit" // the default, and what an unknown type falls back to
	default:
		return goquery.NodeName(c)
	}
}

func isButtonKind(kind string) bool {
	return kind == "submit" || kind == "image" || kind == "button" || kind == "reset"
}

// disabled controls are not submitted; a disabled fieldset disables its
// controls too.
func disabled(c *goquery.Selection) bool {
	_, ok := c.Attr("disabled")
	return ok || c.ParentsFiltered("fieldset[disabled]").Length() > 0
}

func hasAny(s string, fragments []string) bool {
	for _, f := range fragments {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}
