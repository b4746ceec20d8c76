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
	Role     string // "username", "password" or "otp"
	Value    string // what the page holds now
	ReadOnly bool
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
	lf := &LiveForm{Stage: login.asks.stage(), Asks: login.asks.String(), OTP: login.asks.otp, Password: login.asks.password}
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
		lf.Controls = append(lf.Controls, LiveControl{Selector: controlSelector(idx), Role: name, Value: c.AttrOr("value", ""), ReadOnly: ro})
	}
	if b := liveSubmitter(login, sels); b != nil {
		if idx, ok := b.Attr(ControlAttr); ok {
			lf.Submit = controlSelector(idx)
		}
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
