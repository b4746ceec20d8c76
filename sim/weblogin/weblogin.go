// Package weblogin plays the web view (ASWebAuthenticationSession) of
// account-driven enrollment without JavaScript: it opens the login URL, reads
// the HTML forms a person would fill in, submits them with the account's
// credentials and second-factor codes, keeps cookies as a browser would, and
// stops at the first navigation to the callback scheme
// (apple-remotemanagement-user-login, spec §2.7 and §2.8).
//
// The driver never touches the network: every request goes through the Fetch
// the engine passes in, so the engine sees, limits and records each page.
package weblogin

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// DefaultCallbackScheme is the custom scheme Apple devices register for the
// end of the web login (simple flow and OAuth 2 alike).
const DefaultCallbackScheme = "apple-remotemanagement-user-login"

// DefaultMaxPages caps the requests of one login when Request.MaxPages is 0.
const DefaultMaxPages = 20

// DefaultUserAgent is sent when Request.UserAgent is empty: Safari on iOS,
// which is what a web view on a device announces.
const DefaultUserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1"

// Page is one HTTP exchange as the engine performed it. The engine emits the
// event, applies size limits and redaction; the driver only reads the page.
type Page struct {
	URL    *url.URL // the requested URL
	Status int
	Header http.Header
	Body   []byte
}

// Fetch performs one request without following redirects. purpose is a short
// label for people ("login page", "submit credentials", "redirect 2").
type Fetch func(ctx context.Context, method, rawURL string, header http.Header, body []byte, purpose string) (*Page, error)

// Fields overrides the driver's guesses with CSS selectors (goquery/cascadia
// syntax) for pages whose forms it cannot read on its own. An empty selector
// keeps detection for that role; a set one replaces it.
type Fields struct {
	Username, Password, OTP, Submit, Form string
	Extra                                 map[string]string // fixed fields added to every submitted form (name → value)
}

// Request describes one login.
type Request struct {
	StartURL  string
	UserAgent string // Safari-like, sent on every request
	Username  string
	Password  string // secret: never put into errors or results
	// OTP returns the current second-factor code; nil means no second factor
	// is configured. It is called each time an OTP field must be filled, so a
	// retry after a new time step gets a fresh code.
	OTP            func() (string, error)
	Fields         Fields
	CallbackScheme string // DefaultCallbackScheme when empty
	MaxPages       int    // DefaultMaxPages when 0: cap on requests in one login
	// OnSecret is called with every cookie value received, the moment it
	// arrives, so the engine can redact it from its events.
	OnSecret func(string)
	// The web view's look, for a browser driver (the form driver sends
	// only UserAgent): viewport, language ("en-US"), and how long one page
	// may take to show a field or move on (DefaultPageTimeout when 0).
	Viewport    Viewport
	Language    string
	PageTimeout time.Duration
	// NoScreenshots: nobody will see this login's pictures (a probe's
	// sign-in), so a browser driver does not take them: each costs the
	// page a paint and an encode before its submit.
	NoScreenshots bool
}

// Result is how the login went. Login returns it with errors too, filled as
// far as the flow got, so checks can tell a rejected first factor from a
// rejected second one.
type Result struct {
	Callback       *url.URL    // the custom-scheme URL the flow ended at
	CallbackStatus int         // the status of the response that led to the callback (308 expected; 200 for a meta refresh or script)
	CallbackHeader http.Header // that response's header, Set-Cookie values redacted
	Pages          int         // requests made
	// FirstFactorDone: credentials were submitted and accepted (the page
	// after them was not the same login form).
	FirstFactorDone bool
	// SecondFactorSeen: an OTP field was found and filled.
	SecondFactorSeen bool
	// CallbackBeforeSecondFactor: the callback came after the credentials
	// without any OTP form although Request.OTP != nil (TOTP-001).
	CallbackBeforeSecondFactor bool
	// Trail has one line per request for people, secrets removed:
	// "GET https://... → 200 form (username,password)".
	Trail []string
	// CallbackRoute says how the page handed over the callback: a 3xx
	// (RouteRedirect), a refresh, a script navigation or a form. For the
	// others CallbackStatus is the status of the page that did it.
	// ASWebAuthenticationSession completes whichever it is.
	CallbackRoute Route
	// Screenshots of each sign-in page (browser driver only).
	Screenshots []Screenshot
	// Insecure lists the requests a page made, or tried and the browser
	// blocked as mixed content, over plain http: documents, fetch/XHR and
	// anything that sends a body (browser driver only; query left out).
	Insecure []string
}

// Login plays the web view from req.StartURL to the callback.
//
// On failure the error is an *Error, except for a Fetch transport error or a
// failing OTP source, which are wrapped (errors.Is/As see them) with secrets
// scrubbed from the text. The Result comes back with errors too, reporting
// the pages, factors and trail so far; it is nil only when req.Fields has a
// selector that does not compile.
func Login(ctx context.Context, fetch Fetch, req Request) (*Result, error) {
	sels, err := req.Fields.compile()
	if err != nil {
		return nil, err
	}
	s, err := newSession(fetch, req, sels)
	if err != nil {
		return nil, err
	}
	err = s.run(ctx)
	return &s.res, err
}
