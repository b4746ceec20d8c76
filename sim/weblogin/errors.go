package weblogin

// ErrKind says why a login failed, so the engine can map it to a check.
type ErrKind string

const (
	// KindNoForm: a page with neither a form to fill, a redirect nor a
	// callback.
	KindNoForm ErrKind = "no-form"
	// KindRejected: the same kind of form came back after submitting it:
	// wrong credentials or code. Msg carries the visible error text.
	KindRejected ErrKind = "rejected"
	// KindNoCallback: MaxPages or the context deadline was reached first.
	KindNoCallback ErrKind = "no-callback"
	// KindHTTP: a 4xx/5xx page that is not the login form again.
	KindHTTP ErrKind = "http"
	// KindJavaScript: the page can only go on with JavaScript (no form, but
	// scripts that navigate or a <noscript> notice).
	KindJavaScript ErrKind = "javascript"
	// KindBadRedirect: a 3xx without a usable Location, or a navigation to a
	// scheme that is neither http(s) nor the callback scheme.
	KindBadRedirect ErrKind = "bad-redirect"
	// KindSecondFactor: the page asks for a one-time code but Request.OTP is
	// nil. This is a mismatch between scenario and server, not a rejection.
	KindSecondFactor ErrKind = "second-factor"
	// KindLimit: the page is beyond what the driver reads (forms, controls,
	// nesting). The driver could not judge it: this is no verdict on the
	// server.
	KindLimit ErrKind = "limit"
	// KindUnfillable: the driver found the page but cannot fill it as a
	// person would: no field fits the code (a box too short, a split code
	// of another length), or a required field it has nothing to type into.
	// The tester could not sign in: this is no verdict on the server.
	KindUnfillable ErrKind = "unfillable"
)

// Error is a login failure with the trail of pages that led to it. Msg and
// Trail never hold the password, OTP codes or cookie values.
type Error struct {
	Kind  ErrKind
	Msg   string
	Trail []string
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Msg }

// redactedError wraps an error from outside the driver (Fetch, the OTP
// source) whose text may hold a secret, e.g. a *url.Error naming a GET form
// submission with the password in its query.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
