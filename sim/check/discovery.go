package check

import (
	"mime"
	"net/url"
	"strings"
	"time"
)

// DiscoveryHop is one response of a discovery chain as the device saw it.
type DiscoveryHop struct {
	Status int    `json:"status"` // 0: no answer (Err says why)
	Header Header `json:"header,omitempty"`
	// Body is the final answer's body (a redirect's is not kept); when
	// TooLarge, its first bytes up to the read cap.
	Body     []byte `json:"body,omitempty"`
	TooLarge bool   `json:"too_large,omitempty"`
	Err      string `json:"err,omitempty"` // the transport or body error's text
	Timeout  bool   `json:"timeout,omitempty"`
	// OverLimit names a transport limit the response broke before its
	// body; RateLimited says why a 429 was not waited out.
	OverLimit   string `json:"over_limit,omitempty"`
	RateLimited string `json:"rate_limited,omitempty"`
	// RefusedTLS: the device refuses the host's TLS under Apple's rules.
	RefusedTLS bool `json:"refused_tls,omitempty"`
	// Unjudged says why the answer is no verdict on the server (no
	// answer, a 200 cut short or past the read cap), "" when it is.
	Unjudged string `json:"unjudged,omitempty"`
	// RepeatedLocation notes Location headers with different values
	// (the first was followed).
	RepeatedLocation string `json:"repeated_location,omitempty"`
	// Rejection is a final non-200 answer's error body, when it is a JSON
	// or plist object carrying code.
	Rejection *WellKnownRejection `json:"rejection,omitempty"`
}

// WellKnownRejection is a 403 error body (ErrorWellKnownFailed, §2.2), as
// the step read it (JSON, or a plist within bounds).
type WellKnownRejection struct {
	Format      string   `json:"format"` // "json" or "plist"
	Code        string   `json:"code,omitempty"`
	Message     string   `json:"message,omitempty"`
	Description string   `json:"description,omitempty"`
	BadTypes    []string `json:"bad_types,omitempty"` // keys whose value is not a string
	Note        string   `json:"note,omitempty"`      // a byte-order mark or non-UTF-8 JSON (JSONText)
}

// mediaType is the Content-Type's media type, lower-cased.
func (h *DiscoveryHop) mediaType() string {
	if h == nil {
		return ""
	}
	return mediaTypeOf(h.Header)
}

func mediaTypeOf(h Header) string {
	ct := h.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// DiscoveryChain is one discovery request followed hop by hop, as a
// device follows it, and what the device made of the final answer.
type DiscoveryChain struct {
	Hops []DiscoveryHop `json:"hops"`
	// URLs are the URL of each hop, and after a downgrade or a loop the
	// URL the device refused to go to.
	URLs []string `json:"urls"`
	// Reached: the last hop is the final answer (not a redirect, not a
	// transport failure).
	Reached   bool `json:"reached,omitempty"`
	Loop      bool `json:"loop,omitempty"`
	HopCap    bool `json:"hop_cap,omitempty"`
	Downgrade bool `json:"downgrade,omitempty"`
	// BadRedirect says why a redirect could not be followed.
	BadRedirect string        `json:"bad_redirect,omitempty"`
	Doc         *WellKnownDoc `json:"doc,omitempty"`
	Failure     string        `json:"failure,omitempty"` // why the device gives up; "" on success
}

// Final is the final answer, nil when the chain ended before one.
func (c *DiscoveryChain) Final() *DiscoveryHop {
	if c == nil || !c.Reached || len(c.Hops) == 0 {
		return nil
	}
	return &c.Hops[len(c.Hops)-1]
}

// Last is the last response of the chain, nil when there is none.
func (c *DiscoveryChain) Last() *DiscoveryHop {
	if c == nil || len(c.Hops) == 0 {
		return nil
	}
	return &c.Hops[len(c.Hops)-1]
}

// OK reports whether the device got a document it uses.
func (c *DiscoveryChain) OK() bool { return c != nil && c.Failure == "" && c.Doc != nil }

// Redirected reports whether the chain met a redirect.
func (c *DiscoveryChain) Redirected() bool {
	return len(c.Hops) > 1 || c.BadRedirect != "" || c.Loop || c.HopCap || c.Downgrade
}

// FinalURL is the last URL of the chain.
func (c *DiscoveryChain) FinalURL() string {
	if len(c.URLs) == 0 {
		return ""
	}
	return c.URLs[len(c.URLs)-1]
}

// Limit says why the simulator's own bound, not the server, ended a
// chain: a transport limit (the headers), or, on a 200 JSON answer, the
// read cap or the document bounds of an object root; "" otherwise. Past
// any of them the step's checks are error and SEC-003 judges the size.
func (c *DiscoveryChain) Limit() string {
	if c == nil || len(c.Hops) == 0 {
		return ""
	}
	last, at := c.Last(), c.URLs[len(c.Hops)-1]
	if last.OverLimit != "" {
		return at + ": " + last.OverLimit + " (the simulator's limit)"
	}
	f := c.Final()
	if f == nil || f.Status != 200 || c.Doc != nil || (f.Err != "" && !f.TooLarge) {
		return ""
	}
	if _, _, err := readDocument(f.Body, f.TooLarge); isDocLimit(err) && c.Failure == docFailure(err) {
		return at + ": " + err.Error()
	}
	return ""
}

// DroppedQuery reports whether the chain was redirected to a target
// whose URL lacks the discovery parameters: only a probe with them tells
// whether the target needs them (RD-002).
func (c *DiscoveryChain) DroppedQuery() bool {
	if !c.Redirected() || c.Loop || c.HopCap || c.Downgrade || c.BadRedirect != "" || c.Final() == nil {
		return false
	}
	target, err := url.Parse(c.FinalURL())
	return err == nil && !target.Query().Has("user-identifier")
}

// Discovery is what the discovery step observed: the device's chain from
// the organisation domain, and what each of the tester's probes saw.
type Discovery struct {
	Chain    DiscoveryChain `json:"chain"`
	MaxHops  int            `json:"max_hops"`
	Timeout  time.Duration  `json:"timeout"`
	NoProbes bool           `json:"no_probes,omitempty"`
	// TargetProbe is the redirect target asked with the parameters
	// (RD-002); nil when the target got them or probes are off.
	TargetProbe *DiscoveryChain `json:"target_probe,omitempty"`
	// UnknownUser is the identifier of the unknown-user probe (WK-009),
	// UnknownUserProbe what it got.
	UnknownUser      string          `json:"unknown_user,omitempty"`
	UnknownUserProbe *DiscoveryChain `json:"unknown_user_probe,omitempty"`
	// Variants are the device's request in other forms (WK-013), asked
	// only when the device's own request worked.
	Variants []DiscoveryVariant `json:"variants,omitempty"`
	// FamilyProbe asked for model-family AppleTV (WK-014), only when the
	// device's own request worked.
	FamilyProbe *DiscoveryChain `json:"family_probe,omitempty"`
}

// DiscoveryVariant is one form of the device's request and its answer.
type DiscoveryVariant struct {
	What  string         `json:"what"`
	Chain DiscoveryChain `json:"chain"`
}

// discoveryProbesOff is why a check that needs a tester's probe is skipped under
// --no-probes: a server with a lockout or rate limit must see only what a
// device sends.
const discoveryProbesOff = "probes are off (--no-probes)"
