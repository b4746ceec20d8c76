package weblogin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
)

// pair is one form field as submitted. Forms keep tree order, which a
// url.Values map would lose.
type pair struct{ name, value string }

// submit fills f as a person would and returns the navigation that sends it.
func (s *session) submit(page *Page, base *url.URL, f *form) (navigation, error) {
	button := f.submitter(s.sels)
	pairs, err := s.fill(f, button)
	if err != nil {
		return navigation{}, err
	}
	pairs = withExtra(pairs, s.sels.extra)
	method, action, err := formTarget(f, button, page.URL, base)
	if err != nil {
		return navigation{}, err
	}
	nav := navigation{method: method, referrer: page.URL, purpose: submitPurpose(f.asks)}
	encoded := encodePairs(pairs)
	if method == http.MethodGet {
		// A GET form replaces the action's query with its fields.
		u := *action
		u.RawQuery, u.Fragment, u.RawFragment = encoded, "", ""
		nav.url = &u
	} else {
		nav.url = action
		nav.body = []byte(encoded)
	}
	return nav, nil
}

// submitter is the button a person presses: the Fields.Submit match inside
// the form, else the first submit button, which is also what pressing Enter
// uses. A form without one is still submitted (Enter in a text field).
func (f *form) submitter(sels selectors) *goquery.Selection {
	if sels.submit != nil {
		if m := f.sel.FindMatcher(sels.submit).First(); m.Length() > 0 {
			return m
		}
	}
	for _, c := range f.controls {
		if kind := controlKind(c); kind == "submit" || kind == "image" {
			return c
		}
	}
	return nil
}

// fill lists the fields a browser sends: every enabled, named control with
// its value as the page set it (hidden CSRF tokens, pre-filled values), the
// user's input in the fields detected as user name, password and code, and
// the pressed button.
func (s *session) fill(f *form, button *goquery.Selection) ([]pair, error) {
	var pairs, digits []pair
	code := s.codeOnce() // one code per submission, even when a form has several code fields
	for i, c := range f.controls {
		name, kind := c.AttrOr("name", ""), controlKind(c)
		switch {
		case isButtonKind(kind):
			if button != nil && c.Get(0) == button.Get(0) {
				pairs = append(pairs, buttonPairs(c, name, kind)...)
			}
		case name == "", kind == "file":
			// not sent in a urlencoded body
		case kind == "checkbox", kind == "radio":
			if _, checked := c.Attr("checked"); checked {
				pairs = append(pairs, pair{name, c.AttrOr("value", "on")})
			}
		case kind == "select":
			for _, v := range selectedOptions(c) {
				pairs = append(pairs, pair{name, v})
			}
		case kind == "textarea":
			pairs = append(pairs, pair{name, c.Text()})
		default:
			v, err := s.value(f.roles[i], c, code)
			if err != nil {
				return nil, err
			}
			if f.roles[i] == roleOTP {
				if v, err = fitCode(v, f.digit[i], f.digits, c.AttrOr("maxlength", "")); err != nil {
					return nil, err
				}
				if f.digit[i] >= 0 {
					digits = append(digits, pair{name, v})
				}
			}
			pairs = append(pairs, pair{name, v})
		}
	}
	s.splitSecret(digits)
	return pairs, nil
}

// splitSecret registers a split code as it goes over the wire, one digit
// per field ("d1=4&d2=9&…"), before anything can print the body: each
// digit alone is no secret, the run of them is the code.
func (s *session) splitSecret(digits []pair) {
	if len(digits) == 0 {
		return
	}
	run := encodePairs(digits)
	s.redact.add(run)
	if s.req.OnSecret != nil {
		s.req.OnSecret(run)
	}
}

// SplitCodeBody is how a form body carries a code split over the given
// boxes (tree order): "d1=4&d2=9&…". A driver registers it as a secret.
func SplitCodeBody(boxes []LiveControl, code string) string {
	var digits []pair
	for _, b := range boxes {
		if b.Digit >= 0 && b.Digit < len(code) && b.Name != "" {
			digits = append(digits, pair{b.Name, code[b.Digit : b.Digit+1]})
		}
	}
	return encodePairs(digits)
}

// value is what the user leaves in a text-like control.
func (s *session) value(r role, c *goquery.Selection, code func() (string, error)) (string, error) {
	current := c.AttrOr("value", "")
	switch r {
	case roleUsername:
		// A read-only name was chosen by the server (often from
		// user-identifier); the user cannot change it.
		if _, ro := c.Attr("readonly"); ro || s.req.Username == "" || current == s.req.Username {
			return current, nil // pre-filled as it should be: nothing to type
		}
		return fitText("user name", s.req.Username, c.AttrOr("maxlength", ""))
	case rolePassword:
		return fitText("password", s.req.Password, c.AttrOr("maxlength", ""))
	case roleOTP:
		return code()
	}
	return current, nil
}

// unfillableError: the page cannot be filled as a person would fill it.
type unfillableError struct{ msg string }

func (e *unfillableError) Error() string { return e.msg }

// fitCode is what goes into one code field: the whole code, or one digit of
// it in a box of a code split over digits boxes (digit is the position, -1
// for a whole-code field). A code that fits no field leaves the page
// unfillable: a person could not type it either.
func fitCode(code string, digit, digits int, maxlength string) (string, error) {
	if digit >= 0 {
		if len(code) != digits {
			return "", &unfillableError{fmt.Sprintf("the page splits the one-time code over %d one-character boxes, but the code has %d digits (is the scenario's TOTP length, --totp-digits, the server's?)", digits, len(code))}
		}
		return code[digit : digit+1], nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(maxlength)); err == nil && n > 0 && len(code) > n {
		return "", &unfillableError{fmt.Sprintf("the one-time-code field takes at most %d characters (maxlength), but the code has %d (is the scenario's TOTP length, --totp-digits, the server's?)", n, len(code))}
	}
	return code, nil
}

// fitText checks that the user name or password fits its field: a
// browser cuts what is typed at maxlength, and the server would then refuse
// a credential the tester never sent. The message names lengths only.
func fitText(what, v, maxlength string) (string, error) {
	n, err := strconv.Atoi(strings.TrimSpace(maxlength))
	if err != nil || n <= 0 {
		return v, nil
	}
	if have := utf8.RuneCountInString(v); have > n {
		return "", &unfillableError{fmt.Sprintf("the %s field takes at most %d characters (maxlength), but the %s has %d", what, n, what, have)}
	}
	return v, nil
}

// FitText is fitText for a browser driver: what to type into a user name
// or password field (role "username" or "password"), or why it does not fit.
func (c LiveControl) FitText(v string) (string, error) {
	what := "password"
	if c.Role == "username" {
		what = "user name"
	}
	return fitText(what, v, c.MaxLength)
}

// unfillable says why a login form cannot be filled as a person would,
// or "": a required field that is none of user name, password or code, is
// empty and is not given by Fields.Extra. A browser would not submit the
// form; the driver would send it incomplete and blame the server's refusal.
func (f *form) unfillable(extra map[string]string) string {
	for i, c := range f.controls {
		if f.roles[i] != roleOther {
			continue
		}
		if _, required := c.Attr("required"); !required || hidden(c) {
			continue
		}
		if _, ro := c.Attr("readonly"); ro {
			continue // read-only fields are not validated
		}
		name := c.AttrOr("name", "")
		if _, given := extra[name]; given && name != "" {
			continue
		}
		kind := controlKind(c)
		empty := false
		switch {
		case kind == "checkbox" || kind == "radio":
			_, checked := c.Attr("checked")
			empty = !checked && (kind == "checkbox" || !radioChecked(f, name))
		case kind == "hidden", kind == "file", kind == "select", isButtonKind(kind):
		case kind == "textarea":
			empty = strings.TrimSpace(c.Text()) == ""
		default:
			empty = c.AttrOr("value", "") == ""
		}
		if empty {
			return fmt.Sprintf("the form has a required %s field %s that is none of user name, password or one-time code, and the driver has nothing to put there (give it with --login-field NAME=VALUE, or the scenario's login.fields)", kind, quote(fieldLabel(c)))
		}
	}
	return ""
}

// radioChecked: some radio button of the group is checked.
func radioChecked(f *form, name string) bool {
	for _, c := range f.controls {
		if controlKind(c) == "radio" && c.AttrOr("name", "") == name {
			if _, checked := c.Attr("checked"); checked {
				return true
			}
		}
	}
	return false
}

// fieldLabel names a control for people: its name, id or placeholder.
func fieldLabel(c *goquery.Selection) string {
	for _, a := range []string{"name", "id", "placeholder", "aria-label"} {
		if v := strings.TrimSpace(c.AttrOr(a, "")); v != "" {
			return v
		}
	}
	return goquery.NodeName(c)
}

// codeOnce returns a function that asks the OTP source for a code the first
// time it is called and repeats that code afterwards. The code is registered
// as a secret before it can reach any text the driver produces.
func (s *session) codeOnce() func() (string, error) {
	var code string
	asked := false
	return func() (string, error) {
		if asked {
			return code, nil
		}
		v, err := s.req.OTP()
		if err != nil {
			return "", &redactedError{msg: "second factor: " + s.redact.scrub(err.Error()), err: err}
		}
		code, asked = v, true
		s.redact.add(code)
		s.res.SecondFactorSeen = true
		return code, nil
	}
}

// buttonPairs is what the pressed button adds: name=value, or the click
// coordinates of an image button.
func buttonPairs(c *goquery.Selection, name, kind string) []pair {
	if kind == "image" {
		prefix := ""
		if name != "" {
			prefix = name + "."
		}
		return []pair{{prefix + "x", "0"}, {prefix + "y", "0"}}
	}
	if name == "" {
		return nil
	}
	value, ok := c.Attr("value")
	if !ok && goquery.NodeName(c) == "input" {
		value = "Submit" // the label a browser shows and sends for <input type=submit>
	}
	return []pair{{name, value}}
}

// selectedOptions follows the browser: the selected options, else the first
// enabled option of a single-choice list.
func selectedOptions(c *goquery.Selection) []string {
	var selected, first []string
	_, multiple := c.Attr("multiple")
	c.Find("option").Each(func(_ int, o *goquery.Selection) {
		if _, off := o.Attr("disabled"); off {
			return
		}
		v, ok := o.Attr("value")
		if !ok {
			v = strings.Join(strings.Fields(o.Text()), " ")
		}
		if _, sel := o.Attr("selected"); sel {
			selected = append(selected, v)
		}
		if first == nil {
			first = []string{v}
		}
	})
	if len(selected) > 0 || multiple {
		return selected
	}
	return first
}

// withExtra sets the Fields.Extra values: a field the form already has takes
// the fixed value once, others are appended (in name order, so bodies are
// reproducible).
func withExtra(pairs []pair, extra map[string]string) []pair {
	names := make([]string, 0, len(extra))
	for name := range extra {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		i := slices.IndexFunc(pairs, func(p pair) bool { return p.name == name })
		if i < 0 {
			pairs = append(pairs, pair{name, extra[name]})
			continue
		}
		pairs[i].value = extra[name]
		rest := slices.DeleteFunc(slices.Clone(pairs[i+1:]), func(p pair) bool { return p.name == name })
		pairs = append(pairs[:i+1], rest...)
	}
	return pairs
}

// formTarget resolves method and action, letting the pressed button's
// formmethod/formaction win. A missing or empty action means the document's
// own URL, not the <base>.
func formTarget(f *form, button *goquery.Selection, docURL, base *url.URL) (string, *url.URL, error) {
	method := f.sel.AttrOr("method", "")
	action, hasAction := f.sel.Attr("action")
	if button != nil {
		if m, ok := button.Attr("formmethod"); ok {
			method = m
		}
		if a, ok := button.Attr("formaction"); ok {
			action, hasAction = a, true
		}
	}
	verb := http.MethodGet
	if strings.EqualFold(strings.TrimSpace(method), "post") {
		verb = http.MethodPost
	}
	action = strings.TrimSpace(action)
	if !hasAction || action == "" {
		u := *docURL
		return verb, &u, nil
	}
	u, err := base.Parse(action)
	if err != nil {
		return "", nil, fmt.Errorf("form action %q: %w", action, err)
	}
	return verb, u, nil
}

func encodePairs(pairs []pair) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = url.QueryEscape(p.name) + "=" + url.QueryEscape(p.value)
	}
	return strings.Join(parts, "&")
}

func submitPurpose(a asks) string {
	switch {
	case a.otp:
		return "submit one-time code"
	case a.password:
		return "submit credentials"
	case a.username:
		return "submit user name"
	}
	return "submit form"
}
