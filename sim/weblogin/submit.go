package weblogin

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

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
	var pairs []pair
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
			pairs = append(pairs, pair{name, v})
		}
	}
	return pairs, nil
}

// value is what the user leaves in a text-like control.
func (s *session) value(r role, c *goquery.Selection, code func() (string, error)) (string, error) {
	current := c.AttrOr("value", "")
	switch r {
	case roleUsername:
		// A read-only name was chosen by the server (often from
		// user-identifier); the user cannot change it.
		if _, ro := c.Attr("readonly"); ro || s.req.Username == "" {
			return current, nil
		}
		return s.req.Username, nil
	case rolePassword:
		return s.req.Password, nil
	case roleOTP:
		return code()
	}
	return current, nil
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
