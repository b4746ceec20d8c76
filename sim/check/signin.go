package check

import (
	"errors"
	"net/url"
	"strings"
	"time"
)

// SignIn is what the web-login or oauth2 step observed: the device's own
// sign-in, what the endpoints around it answered, and what each probe saw.
// The enroll step adds the OAuth 2 probes it makes after enrollment
// (Reuse, Refresh). Callback URLs and tokens are credentials: the engine
// redacts results, an observation is never emitted as such.
type SignIn struct {
	OAuth        bool   `json:"oauth,omitempty"`         // apple-oauth2, else apple-as-web
	Identifier   string `json:"identifier"`              // what the user typed
	SecondFactor bool   `json:"second_factor,omitempty"` // the scenario declares a TOTP seed
	NoProbes     bool   `json:"no_probes,omitempty"`     // --no-probes
	// Timeout is the simulator's own, named when a page did not answer.
	Timeout time.Duration `json:"timeout,omitempty"`
	// LoginQuery is the query of the challenge's url, which the device
	// replaces with user-identifier (ENR-007); "" when it had none.
	LoginQuery string `json:"login_query,omitempty"`
	LoginURL   string `json:"login_url,omitempty"` // the challenge's url as given
	// RedirectURL and State are what the OAuth 2 device sent: the
	// callback must start with the one and carry the other back.
	RedirectURL string `json:"redirect_url,omitempty"`
	State       string `json:"state,omitempty"`

	Login  Login       `json:"login"`            // the device's own sign-in
	Token  *TokenReply `json:"token,omitempty"`  // OAuth 2: the token request, when the callback was usable
	Probes *Probes     `json:"probes,omitempty"` // nil with --no-probes
	// Reuse is the second redemption of the code (AUTH-014, AUTH-016),
	// Refresh the refresh grant after enrollment (AUTH-015).
	Reuse   *TokenReply `json:"reuse,omitempty"`
	Refresh *Refresh    `json:"refresh,omitempty"`
}

// Login is one pass through the sign-in pages, as the step saw it: the
// device's own or a probe's.
type Login struct {
	Pages []Page `json:"pages,omitempty"`
	// Transport says why a page could not be read (no answer, a body cut
	// off or over the cap).
	Transport string `json:"transport,omitempty"`
	Err       string `json:"err,omitempty"`     // why the driver stopped, "" at a callback
	Failure   string `json:"failure,omitempty"` // that for people: why the run gave no usable callback
	// AtLimit: the driver stopped at its own bound or at a page it cannot
	// fill as a person would; Untestable: no driver could run the page's
	// scripts; NeedsJavaScript: the driver's verdict was that the page
	// needs JavaScript. None is a verdict on the server.
	AtLimit         bool `json:"at_limit,omitempty"`
	Untestable      bool `json:"untestable,omitempty"`
	NeedsJavaScript bool `json:"needs_javascript,omitempty"`
	// FormJS is the form driver's run that found the page needs
	// JavaScript, when the login started over in the browser.
	FormJS *FormRun `json:"form_js,omitempty"`
	Codes  int      `json:"codes,omitempty"` // one-time codes typed

	// The callback the run ended at, "" when none: the URL and its parts
	// as read, the status and header of the response that led to it, and
	// how the page handed it over.
	Callback             string `json:"callback,omitempty"`
	CallbackScheme       string `json:"callback_scheme,omitempty"`
	CallbackHost         string `json:"callback_host,omitempty"`
	CallbackRawQuery     string `json:"callback_raw_query,omitempty"`
	CallbackStatus       int    `json:"callback_status,omitempty"`
	CallbackCacheControl string `json:"callback_cache_control,omitempty"`
	// CallbackByRedirect: a 3xx Location (else a refresh, a script or a
	// form, which CallbackVia words for people).
	CallbackByRedirect bool   `json:"callback_by_redirect,omitempty"`
	CallbackVia        string `json:"callback_via,omitempty"`

	FirstFactorDone            bool `json:"first_factor_done,omitempty"`
	SecondFactorSeen           bool `json:"second_factor_seen,omitempty"`
	CallbackBeforeSecondFactor bool `json:"callback_before_second_factor,omitempty"`
}

// FormRun is what the form driver saw before the login started over in the
// browser.
type FormRun struct {
	Err              string `json:"err"`
	FirstFactorDone  bool   `json:"first_factor_done,omitempty"`
	SecondFactorSeen bool   `json:"second_factor_seen,omitempty"`
}

// Page is one response of a sign-in, in order.
type Page struct {
	Status      int    `json:"status"` // 0: no answer
	MediaType   string `json:"media_type,omitempty"`
	Timeout     bool   `json:"timeout,omitempty"`
	OverLimit   string `json:"over_limit,omitempty"`
	RateLimited string `json:"rate_limited,omitempty"`
	// ShowsIdentifier: the body or the Location carries the identifier
	// (ShowsIdentifier); MentionsPKCE: the body asks for PKCE.
	ShowsIdentifier bool `json:"shows_identifier,omitempty"`
	MentionsPKCE    bool `json:"mentions_pkce,omitempty"`
}

// Probes are the sign-ins a device would not make, each in a fresh cookie
// jar: a wrong password (AUTH-006), and with a second factor a wrong code
// (TOTP-003), the code just used (TOTP-004) and one two steps old
// (TOTP-005). A nil Login was not played: its *Err says why when the
// tester could not make the code.
type Probes struct {
	WrongPassword *Login `json:"wrong_password,omitempty"`
	WrongCode     *Login `json:"wrong_code,omitempty"`
	WrongCodeErr  string `json:"wrong_code_err,omitempty"`
	Replay        *Login `json:"replay,omitempty"`
	Skew          *Login `json:"skew,omitempty"`
	SkewErr       string `json:"skew_err,omitempty"`
}

// TokenReply is a token endpoint's answer, as the device reads it.
type TokenReply struct {
	// Unjudgeable says why the answer is no verdict on the server (no
	// answer, a body cut short); "" when it is one.
	Unjudgeable  string `json:"unjudgeable,omitempty"`
	Status       int    `json:"status"`
	Excerpt      string `json:"excerpt,omitempty"` // the body's first 200 bytes, for people
	CacheControl string `json:"cache_control,omitempty"`
	MentionsPKCE bool   `json:"mentions_pkce,omitempty"`
	// JSON: the body is JSON the device reads; JSONNote what a strict
	// reader would stumble on (a byte-order mark, UTF-16).
	JSON     bool   `json:"json,omitempty"`
	JSONNote string `json:"json_note,omitempty"`
	Error    string `json:"error,omitempty"` // its "error" member
	// AccessToken is the token it issued; Problems what the device
	// refuses in it as a token response.
	AccessToken string   `json:"access_token,omitempty"`
	Problems    []string `json:"problems,omitempty"`
}

// Refresh is the refresh grant after enrollment (AUTH-015).
type Refresh struct {
	// NoEnrollment: the enrollment failed, so there is nothing to refresh.
	NoEnrollment bool        `json:"no_enrollment,omitempty"`
	HadToken     bool        `json:"had_token,omitempty"` // the token response carried a refresh_token
	Answer       *TokenReply `json:"answer,omitempty"`    // nil when not sent
}

// FirstPage is the first 200 of the run after any redirects, or its first
// answer that is no redirect; nil when a page did not answer first.
func (l *Login) FirstPage() *Page {
	for i, p := range l.Pages {
		if p.Status == 0 {
			return nil // no answer is no page
		}
		if p.Status == 200 || p.Status < 300 || p.Status > 399 {
			return &l.Pages[i]
		}
	}
	return nil
}

// ServerError is the first 5xx of the run, 0 when none.
func (l *Login) ServerError() int {
	for _, p := range l.Pages {
		if p.Status >= 500 {
			return p.Status
		}
	}
	return 0
}

// HasCallback: the run ended at a callback.
func (l *Login) HasCallback() bool { return l != nil && l.Callback != "" }

// HasCredential: the callback carries a token or a code.
func (l *Login) HasCredential() bool {
	if !l.HasCallback() {
		return false
	}
	q, _ := FoundationQuery(l.CallbackRawQuery)
	return q.Get("access-token") != "" || q.Get("code") != ""
}

// ShowsIdentifier says whether a sign-in page uses the identifier: its
// body holds it (or with '@' as an HTML entity), or its Location does once
// decoded.
func ShowsIdentifier(body []byte, location, identifier string) bool {
	id := strings.ToLower(identifier)
	b := strings.ToLower(string(body))
	if strings.Contains(b, id) || strings.Contains(b, strings.ReplaceAll(id, "@", "&#64;")) {
		return true
	}
	if location != "" {
		if dec, err := url.QueryUnescape(location); err == nil && strings.Contains(strings.ToLower(dec), id) {
			return true
		}
	}
	return false
}

// MentionsPKCE: a body that asks for PKCE, which devices do not send.
func MentionsPKCE(b []byte) bool {
	s := strings.ToLower(string(b))
	return strings.Contains(s, "code_challenge") || strings.Contains(s, "pkce") || strings.Contains(s, "code_verifier")
}

// FoundationQuery decodes a query the way Foundation's URLComponents does:
// percent escapes only, so a '+' stays a '+' (Go's ParseQuery would make it
// a space and blame a token the device reads fine).
func FoundationQuery(raw string) (url.Values, error) {
	v := url.Values{}
	if raw == "" {
		return v, nil
	}
	var firstErr error
	for _, kv := range strings.Split(raw, "&") {
		k, val, _ := strings.Cut(kv, "=")
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(val)
		if err := errors.Join(err1, err2); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		v[dk] = append(v[dk], dv)
	}
	return v, firstErr
}
