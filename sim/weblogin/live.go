package weblogin

import (
	"bytes"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// ControlAttr marks each form control of a live DOM with its index, so the
// detection below can name the control a browser driver types into.
const ControlAttr = "data-enrollsim-i"

// LiveControl is one field to type into, by a CSS selector on the live DOM.
type LiveControl struct {
	Selector string
	Name     string // the name attribute, as the form submits it
	Role     string // "username", "password" or "otp"
	Value    string // what the page holds now
	ReadOnly bool
	// Digit is the box's position in a code split over Digits
	// one-character boxes, or -1 for a field that takes the whole code.
	Digit, Digits int
	// MaxLength is the field's maxlength attribute as written.
	MaxLength string
}

// Code is what a person types into this code field: the whole code, or
// its one digit for a box of a split code. The error (no secret in it)
// says why the code fits no field: the page cannot be filled, and a
// driver ends with KindUnfillable.
func (c LiveControl) Code(code string) (string, error) {
	return fitCode(code, c.Digit, c.Digits, c.MaxLength)
}

// LiveForm is the login form of a live DOM, read by the same detection and
// Fields overrides as the form driver.
type LiveForm struct {
	Controls []LiveControl
	Submit   string // selector of the button a person presses; "" means Enter
	Stage    int    // 1 user name, 2 password, 3 code (as asks.stage)
	Asks     string // "username,password" for people
	OTP      bool
	Password bool
	// Unfillable says why the form cannot be filled as a person would (a
	// required field that is none of the login's), or "".
	Unfillable string
	// Busy: the form's button is disabled and no other can be pressed, as
	// pages do while their script sends what was typed. A person waits.
	Busy bool
}

// LivePage is what a browser driver needs to know of the page it shows.
type LivePage struct {
	Form     *LiveForm // nil when no login form is visible
	Errors   string    // visible error text
	Headline string
}

// ReadLivePage runs the form driver's detection on a snapshot of a live
// DOM: controls carry ControlAttr, invisible controls are removed, and
// controls outside any form are gathered into one form (single-page flows
// draw fields without a <form>). Scripting is on: <noscript> is not shown.
func ReadLivePage(snapshot string, f Fields) (*LivePage, error) {
	sels, err := f.compile()
	if err != nil {
		return nil, err
	}
	root, err := html.ParseWithOptions(bytes.NewReader([]byte(snapshot)), html.ParseOptionEnableScripting(true))
	if err != nil {
		return nil, err
	}
	doc := goquery.NewDocumentFromNode(root)
	page := &LivePage{Errors: visibleErrors(doc), Headline: pageHeadline(doc)}
	login, _, _ := chooseForm(doc, sels)
	if login == nil || login.asks.stage() == 0 {
		return page, nil
	}
	lf := &LiveForm{Stage: login.asks.stage(), Asks: login.asks.String(), OTP: login.asks.otp, Password: login.asks.password,
		Unfillable: login.unfillable(sels.extra)}
	for i, c := range login.controls {
		var name string
		switch login.roles[i] {
		case roleUsername:
			name = "username"
		case rolePassword:
			name = "password"
		case roleOTP:
			name = "otp"
		default:
			continue
		}
		idx, ok := c.Attr(ControlAttr)
		if !ok {
			continue
		}
		_, ro := c.Attr("readonly")
		lf.Controls = append(lf.Controls, LiveControl{Selector: controlSelector(idx), Name: c.AttrOr("name", ""), Role: name, Value: c.AttrOr("value", ""), ReadOnly: ro,
			Digit: login.digit[i], Digits: login.digits, MaxLength: c.AttrOr("maxlength", "")})
	}
	if b := liveSubmitter(login, sels); b != nil {
		if idx, ok := b.Attr(ControlAttr); ok {
			lf.Submit = controlSelector(idx)
		}
	} else {
		lf.Busy = login.sel.Find("button, input").FilterFunction(func(_ int, c *goquery.Selection) bool {
			k := controlKind(c)
			return (k == "button" || k == "submit" || k == "image") && disabled(c)
		}).Length() > 0
	}
	page.Form = lf
	return page, nil
}

// liveSubmitter is the form driver's submitter, else a plain button: pages
// drawn by script often wire a type=button to their handler.
func liveSubmitter(f *form, sels selectors) *goquery.Selection {
	if b := f.submitter(sels); b != nil {
		return b
	}
	for _, c := range f.controls {
		if controlKind(c) == "button" {
			return c
		}
	}
	return nil
}

func controlSelector(idx string) string {
	return "[" + ControlAttr + `="` + strings.ReplaceAll(idx, `"`, "") + `"]`
}
