package weblogin

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// The headers Safari sends on a top-level navigation. Servers pick HTML over
// JSON by Accept, and some refuse requests without a language.
const (
	acceptHTML     = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptLanguage = "en-US,en;q=0.9"
	formEncoding   = "application/x-www-form-urlencoded"
)

// navigation is one request the web view makes.
type navigation struct {
	method string
	url    *url.URL
	body   []byte
	// referrer is the document that started the navigation (nil for the
	// start URL). It survives redirects, as in a browser, and feeds Referer
	// and Origin: CSRF protections such as Django's check them.
	referrer *url.URL
	purpose  string
}

// browser holds what a web view keeps between pages: the cookie jar and the
// identity it announces. Fetch sends no cookies on its own.
type browser struct {
	jar       *cookiejar.Jar
	userAgent string
	onCookie  func(string) // sees every cookie value received
}

func newBrowser(userAgent string, onCookie func(string)) (*browser, error) {
	// No public suffix list: the driver talks to a handful of known hosts,
	// and host-only cookies (the common case) behave the same without it.
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	return &browser{jar: jar, userAgent: userAgent, onCookie: onCookie}, nil
}

// header builds the request header for nav, cookies included.
func (b *browser) header(nav navigation) http.Header {
	h := http.Header{}
	h.Set("User-Agent", b.userAgent)
	h.Set("Accept", acceptHTML)
	h.Set("Accept-Language", acceptLanguage)
	if cookies := b.jar.Cookies(nav.url); len(cookies) > 0 {
		pairs := make([]string, len(cookies))
		for i, c := range cookies {
			pairs[i] = c.Name + "=" + c.Value
		}
		h.Set("Cookie", strings.Join(pairs, "; "))
	}
	if ref := referer(nav.referrer, nav.url); ref != "" {
		h.Set("Referer", ref)
	}
	if nav.method == http.MethodPost {
		h.Set("Origin", origin(nav.referrer))
		h.Set("Content-Type", formEncoding)
	}
	return h
}

// remember stores the cookies a response sets, reporting each value first.
func (b *browser) remember(u *url.URL, h http.Header) {
	var cookies []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue // a browser ignores a malformed Set-Cookie too
		}
		if c.Value != "" && b.onCookie != nil {
			b.onCookie(c.Value)
		}
		cookies = append(cookies, c)
	}
	if len(cookies) > 0 {
		b.jar.SetCookies(u, cookies)
	}
}

// referer applies the default policy, strict-origin-when-cross-origin: the
// full URL within an origin, the origin alone across origins, nothing from
// https to http.
func referer(from, to *url.URL) string {
	if from == nil {
		return ""
	}
	if from.Scheme == "https" && to.Scheme != "https" {
		return ""
	}
	if sameOrigin(from, to) {
		ref := *from
		ref.Fragment, ref.RawFragment, ref.User = "", "", nil
		return ref.String()
	}
	return origin(from) + "/"
}

// origin serialises the origin of u; "null" when there is none, as a
// browser sends for a navigation no document started.
func origin(u *url.URL) string {
	if u == nil || u.Host == "" {
		return "null"
	}
	return u.Scheme + "://" + u.Host
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}
