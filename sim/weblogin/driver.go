package weblogin

import (
	"context"
	"strings"
	"time"
)

// Driver plays one web login. The form driver (Form) reads HTML without
// JavaScript; a browser engine (package sim/chromium) runs the page's
// scripts. Both see the network only through the Fetch they are given.
type Driver interface {
	Login(ctx context.Context, fetch Fetch, req Request) (*Result, error)
}

// Form is the driver without JavaScript.
var Form Driver = formDriver{}

type formDriver struct{}

func (formDriver) Login(ctx context.Context, fetch Fetch, req Request) (*Result, error) {
	return Login(ctx, fetch, req)
}

// Viewport is the web view's size in CSS pixels, as the device shows it.
type Viewport struct {
	Width, Height int
	Scale         float64 // device pixels per CSS pixel
	Mobile, Touch bool
}

// Screenshot is what the person saw on one sign-in page, fields filled,
// before pressing submit. Page names it without its query (no secret).
type Screenshot struct {
	Page string // e.g. "password on https://idp.test/login"
	PNG  []byte
}

// DefaultPageTimeout bounds how long the browser waits for one page to show
// a field or to move on after a submission.
const DefaultPageTimeout = 10 * time.Second

// DefaultBrowserMaxPages caps the requests of one browser login: a page
// loads scripts, styles and images besides its documents.
const DefaultBrowserMaxPages = 200

// KindNoBrowser: the browser driver was chosen but no browser could be
// started. The tester could not sign in; this says nothing about the server.
const KindNoBrowser ErrKind = "no-browser"

// InstallHint is the second line of every "no browser" message.
const InstallHint = "install Chromium: make deps, or apt-get install chromium; or pass --browser-path"

// PageName is a page's URL for people and file names: no query, no
// fragment, no user info, which may carry secrets.
func PageName(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		if at := strings.LastIndex(strings.SplitN(rest, "/", 2)[0], "@"); at >= 0 {
			raw = raw[:i+3] + rest[at+1:]
		}
	}
	return raw
}
