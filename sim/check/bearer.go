package check

import (
	"fmt"
	"net/url"
	"strings"
)

// BearerReading is a device's reading of a 401's WWW-Authenticate: every
// challenge of every header, and the Bearer challenge it takes (RFC 9110
// §11.6.1: other schemes beside it are legal and no deviation of form).
type BearerReading struct {
	Present bool             // a WWW-Authenticate that is not blank
	All     []*AuthChallenge // every challenge, in order
	// Bound is why the reader stopped at its own bounds before any usable
	// Bearer challenge: the simulator's limit, not a verdict on the server.
	Bound   error
	Chosen  *AuthChallenge // the device's choice (PickBearer), nil when none
	Index   int            // its position among All
	Bearers int            // how many Bearer challenges there were
}

// ReadBearer reads h the way a device looks for its Bearer challenge.
func ReadBearer(h Header) BearerReading {
	b := BearerReading{Present: HasChallenge(h), Index: -1}
	if !b.Present {
		return b
	}
	cs, err := ParseChallenges(h.Values("WWW-Authenticate"))
	b.All = cs
	if c, _, _ := PickBearer(cs); err != nil && !(c != nil && c.Err == nil && KnownMethod(c.Method())) {
		b.Bound = err
		return b
	}
	b.Chosen, b.Index, b.Bearers = PickBearer(cs)
	return b
}

// Usable: a Bearer challenge was read to its end; its method may still be
// unknown.
func (b BearerReading) Usable() bool { return b.Bound == nil && b.Chosen != nil && b.Chosen.Err == nil }

// Note says where the Bearer challenge stood when the 401 carried others
// too, "" when it was alone.
func (b BearerReading) Note() string {
	if !b.Usable() || len(b.All) < 2 {
		return ""
	}
	return fmt.Sprintf("challenge %d of %d (%s)", b.Index+1, len(b.All), schemeList(b.All))
}

// Cancel says why a device stops at this challenge whatever it can do,
// "" when it goes on to sign in. tester: the simulator's own bound, not the
// device, stopped it.
func (b BearerReading) Cancel() (why string, tester bool) {
	if msg := b.unread(); msg != "" {
		return "the device cancels: " + msg, false
	}
	if b.Bound != nil {
		return "the 401's challenge was not read: " + b.Bound.Error(), true
	}
	c := b.Chosen
	switch m := c.Method(); m {
	case "apple-as-web":
		if _, ok := loginURL(c.Params["url"]); !ok {
			return "the device cancels: the apple-as-web challenge has no usable url", false
		}
	case "apple-oauth2":
		if bad := oauth2Problems(c.Params); len(bad) > 0 && (c.Params["authorization-url"] == "" || c.Params["token-url"] == "" || c.Params["redirect-url"] == "" || c.Params["client-id"] == "") {
			return "the device cancels: the apple-oauth2 challenge lacks " + strings.Join(bad, "; "), false
		}
	default:
		return fmt.Sprintf("the device cancels: unknown method %q", m), false
	}
	return "", false
}

// unread is why no Bearer challenge could be taken, as a device says it;
// "" when one was, or when the reader's bound stopped it.
func (b BearerReading) unread() string {
	switch {
	case !b.Present:
		return "the 401 has no WWW-Authenticate challenge"
	case b.Bound != nil:
		return ""
	case b.Chosen == nil && firstErr(b.All) != nil:
		return "the challenge does not parse: " + firstErr(b.All).Error()
	case b.Chosen == nil:
		return "the 401 has no Bearer challenge, only " + schemeList(b.All)
	case b.Chosen.Err != nil:
		return "the challenge does not parse: " + b.Chosen.Err.Error()
	}
	return ""
}

// loginQuery: an apple-as-web url usable but carrying a query, which the
// web login judges (ENR-007).
func (b BearerReading) loginQuery() bool {
	if !b.Usable() || b.Chosen.Method() != "apple-as-web" {
		return false
	}
	u, ok := loginURL(b.Chosen.Params["url"])
	return ok && u.RawQuery != ""
}

// loginURL parses an apple-as-web url: absolute http or https with a host.
func loginURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	return u, err == nil && u.IsAbs() && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http")
}

// oauth2Problems lists what an apple-oauth2 challenge lacks (ENR-005).
func oauth2Problems(p map[string]string) []string {
	var bad []string
	for _, k := range []string{"authorization-url", "token-url"} {
		v, ok := p[k]
		u, err := url.Parse(v)
		if !ok || err != nil || u.Scheme != "https" || u.Host == "" {
			bad = append(bad, fmt.Sprintf("%s %q is not an https URL", k, v))
		}
	}
	ru, err := url.Parse(p["redirect-url"])
	if err != nil || ru.Scheme != CallbackScheme || (ru.Path == "" && ru.Opaque == "") {
		bad = append(bad, fmt.Sprintf("redirect-url %q lacks scheme %s and a path", p["redirect-url"], CallbackScheme))
	}
	for _, k := range []string{"client-id", "scope"} {
		if p[k] == "" {
			bad = append(bad, k+" is missing")
		}
	}
	return bad
}

// judgeBearer is ENR-002..007 and ENR-012 on a 401.
func judgeBearer(v *Verdicts, h Header, b BearerReading) {
	methodIDs := []string{"ENR-003", "ENR-004", "ENR-005", "ENR-006", "ENR-007"}
	switch {
	case !b.Present:
		v.Check("ENR-002", false, "WWW-Authenticate: Bearer method=\"apple-as-web\"|\"apple-oauth2\", ...", "no WWW-Authenticate header")
		v.SkipAll("no challenge", methodIDs...)
		return
	case b.Bound != nil:
		// The simulator's own bound, not a verdict on the server.
		v.Error("ENR-002", b.Bound.Error())
		v.SkipAll("the challenge was not read", methodIDs...)
		return
	case b.Chosen == nil && firstErr(b.All) != nil:
		v.Check("ENR-002", false, "a parsable Bearer challenge", fmt.Sprintf("%q: %v", ChallengeHeader(h), firstErr(b.All)))
		v.SkipAll("no parsable challenge", methodIDs...)
		return
	case b.Chosen == nil:
		v.Check("ENR-002", false, "auth-scheme Bearer", "schemes "+schemeList(b.All))
		v.SkipAll("no Bearer challenge", methodIDs...)
		return
	case b.Chosen.Err != nil:
		v.Check("ENR-002", false, "a parsable Bearer challenge", fmt.Sprintf("%q: %v", b.Chosen.Raw, b.Chosen.Err))
		v.SkipAll("no parsable challenge", methodIDs...)
		return
	}
	c, method := b.Chosen, b.Chosen.Method()
	switch {
	case method == "apple-maid":
		v.Check("ENR-002", false, "method apple-as-web or apple-oauth2", `method "apple-maid": undocumented, Apple's own, unknown to the third-party spec`)
	case !KnownMethod(method):
		v.Check("ENR-002", false, "method apple-as-web or apple-oauth2", fmt.Sprintf("method %q", method))
	default:
		v.Check("ENR-002", true, "", "")
	}
	var form []string
	if c.Scheme != "Bearer" {
		form = append(form, fmt.Sprintf("scheme %q (the iOS 26.1 client compares with Bearer exactly)", c.Scheme))
	}
	form = append(form, c.Lenient...)
	if b.Bearers > 1 {
		// Which one a device takes is not documented: the simulator takes
		// the first it can use and says so.
		form = append(form, fmt.Sprintf("%d Bearer challenges; the simulator used challenge %d of %d, the first with method apple-as-web or apple-oauth2 (method %q)", b.Bearers, b.Index+1, len(b.All), method))
	}
	v.Check("ENR-006", len(form) == 0, `one Bearer method="...", name="value", ... (commas, double quotes)`, strings.Join(form, "; "))
	judgeESSO(v, h)
	judgeMethod(v, c)
}

// judgeMethod is ENR-003, 004, 005 and 007: the parameters of the method.
func judgeMethod(v *Verdicts, c *AuthChallenge) {
	switch c.Method() {
	case "apple-as-web":
		v.Skip("ENR-005", "the method is apple-as-web")
		lu, ok := loginURL(c.Params["url"])
		v.Check("ENR-003", ok, "an absolute http or https url parameter", fmt.Sprintf("url %q", c.Params["url"]))
		if !ok {
			v.SkipAll("no usable url", "ENR-004", "ENR-007")
			return
		}
		v.Check("ENR-004", lu.Scheme == "https", "an https url", c.Params["url"])
		if lu.RawQuery == "" {
			v.Check("ENR-007", true, "", "")
		}
	case "apple-oauth2":
		v.SkipAll("the method is apple-oauth2", "ENR-003", "ENR-004", "ENR-007")
		bad := oauth2Problems(c.Params)
		v.Check("ENR-005", len(bad) == 0, "https authorization-url and token-url, redirect-url "+CallbackScheme+":/path, client-id, scope", strings.Join(bad, "; "))
	default:
		v.SkipAll("no known method", "ENR-003", "ENR-004", "ENR-005", "ENR-007")
	}
}

func firstErr(cs []*AuthChallenge) error {
	for _, c := range cs {
		if c.Err != nil {
			return c.Err
		}
	}
	return nil
}

// schemeList names the schemes of the challenges, bounded.
func schemeList(cs []*AuthChallenge) string {
	var names []string
	for i, c := range cs {
		if i == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(cs)-5))
			break
		}
		names = append(names, Truncate(c.Scheme, 40))
	}
	return strings.Join(names, ", ")
}
