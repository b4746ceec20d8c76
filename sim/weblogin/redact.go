package weblogin

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const redacted = "[redacted]"

// minCookieSecret is the shortest cookie value the driver scrubs from its own
// text. Shorter values ("1", "en") cannot be secrets, and replacing them
// everywhere would garble the trail; the engine still gets every value
// through OnSecret.
const minCookieSecret = 6

// redactor removes secrets the driver knows about (password, OTP codes,
// cookie values) from the text it hands back: trail lines, error messages,
// the callback header. Servers echo input in surprising places (a GET form
// puts the password in the URL; an error page may repeat it), so the driver
// scrubs its output rather than trusting every code path to avoid them.
type redactor struct {
	secrets []string // longest first, so a secret containing another is removed whole
}

func (r *redactor) add(secret string) {
	if secret == "" {
		return
	}
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if !slices.Contains(r.secrets, form) {
			r.secrets = append(r.secrets, form)
		}
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

func (r *redactor) scrub(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, redacted)
	}
	return s
}

// header returns a copy of h fit for the Result: Set-Cookie values replaced
// (name and attributes kept for the checks) and every value scrubbed.
func (r *redactor) header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			if http.CanonicalHeaderKey(k) == "Set-Cookie" {
				v = redactSetCookie(v)
			}
			out[k] = append(out[k], r.scrub(v))
		}
	}
	return out
}

// redactSetCookie keeps "name=" and the attributes of a Set-Cookie line.
func redactSetCookie(line string) string {
	name, rest, ok := strings.Cut(line, "=")
	if !ok {
		return redacted
	}
	_, attrs, hasAttrs := strings.Cut(rest, ";")
	if !hasAttrs {
		return name + "=" + redacted
	}
	return name + "=" + redacted + ";" + attrs
}
