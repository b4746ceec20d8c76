package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
)

// Credentials can reach the web view inside a body as well as in a
// Location: a meta refresh or a script that navigates to the callback, a
// JSON answer of a script's fetch ({"redirect": "apple-remotemanagement-
// user-login://…?access-token=…"}), a link. The drivers find the callback
// only after the exchange that carried it was emitted, so the engine reads
// every body for them first: generously, since registering a value that
// is no credential costs nothing but a [redacted] too many, while missing
// one leaks it.

// callbackSchemePrefix is what a callback URL starts with in a body.
const callbackSchemePrefix = check.CallbackScheme + ":"

// learnHeaderCallbacks registers the credentials of a callback named in
// any response header (Refresh: 0; url=…, Link), not only Location.
func (red *Redactor) learnHeaderCallbacks(h map[string][]string) {
	for _, vs := range h {
		for _, v := range vs {
			if containsFold([]byte(v), check.CallbackScheme) {
				for _, raw := range callbackURLsIn(v, maxBodyCallbacks) {
					red.learnCallbackURL(raw)
				}
			}
		}
	}
}

// maxBodyCallbacks bounds the callback URLs learnt from one response: a
// real page names its callback once or twice, and a hostile one must not
// grow the redactor by a value per kilobyte.
const maxBodyCallbacks = 32

// learnBodyCallbacks registers the credential items of every callback URL
// in body (up to maxBodyCallbacks in each encoding), in each encoding a
// page may hold it in: as is, HTML-escaped (&amp;), JavaScript- or
// JSON-escaped (\/, \u0026) and percent-encoded (a URL inside another
// URL's query).
func (red *Redactor) learnBodyCallbacks(body []byte) {
	if !containsFold(body, check.CallbackScheme) {
		return
	}
	text := string(body)
	seen := map[string]bool{}
	for _, variant := range []string{text, html.UnescapeString(text), jsUnescape(text), jsUnescape(html.UnescapeString(text)), lenientUnescape(text)} {
		if seen[variant] {
			continue
		}
		seen[variant] = true
		for _, raw := range callbackURLsIn(variant, maxBodyCallbacks) {
			red.learnCallbackURL(raw)
		}
	}
}

// urlCredential is a query item whose name says it is a credential, in an
// http(s) URL a page names (a script sent on to /auth/complete?ticket=…).
// "code" is left out here: outside a callback it names too much else.
var urlCredential = regexp.MustCompile(`[?&](?:access[-_]token|refresh_token|id_token|ticket)=([^&"'<>\s\\#]{4,})`)

// learnURLCredentials registers credential query items of any URL in body.
func (red *Redactor) learnURLCredentials(body []byte) {
	if !bytes.Contains(body, []byte("token=")) && !bytes.Contains(body, []byte("ticket=")) {
		return
	}
	for _, m := range urlCredential.FindAllSubmatch(body, maxBodyCallbacks) {
		v := string(m[1])
		red.Add(v)
		if dv, err := url.QueryUnescape(v); err == nil {
			red.Add(dv)
		}
	}
}

// callbackURLsIn returns the first max substrings of s that start with the
// callback scheme (any letter case), each up to the first character that cannot be part
// of a URL in markup or script (quotes, white space, angle brackets).
func callbackURLsIn(s string, max int) []string {
	var out []string
	lower := asciiLower(s)
	for from := 0; len(out) < max; {
		i := strings.Index(lower[from:], callbackSchemePrefix)
		if i < 0 {
			return out
		}
		start := from + i
		end := strings.IndexAny(s[start:], "\"'`<> \t\r\n")
		if end < 0 {
			end = len(s) - start
		}
		out = append(out, s[start:start+end])
		from = start + end
		if from >= len(s) {
			return out
		}
	}
	return out
}

// asciiLower lowers ASCII letters only, so indexes into the result are
// indexes into s (strings.ToLower may change the length of other runes).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// learnCallbackURL registers the credential items of a callback URL, read
// both as a device reads them (percent escapes only) and as Go does, and
// the raw text of each, as the body shows it.
func (red *Redactor) learnCallbackURL(raw string) {
	_, query, found := strings.Cut(raw, "?")
	if !found {
		return
	}
	query, _, _ = strings.Cut(query, "#")
	for _, item := range strings.Split(query, "&") {
		k, v, ok := strings.Cut(item, "=")
		if !ok || v == "" {
			continue
		}
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if !credentialFields[dk] {
			continue
		}
		red.Add(v)
		if dv, err := url.PathUnescape(v); err == nil {
			red.Add(dv)
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			red.Add(dv)
		}
	}
}

// jsonCredentialValue is a JSON (or script object) member whose name says
// it is a credential, its string value escapes and all.
var jsonCredentialValue = regexp.MustCompile(`"(access[-_]token|refresh[-_]token|id[-_]token)"\s*:\s*"((?:[^"\\]|\\.)+)"`)

// learnJSONCredentials registers the credential members of a JSON body, as
// the body writes them and decoded.
func (red *Redactor) learnJSONCredentials(body []byte) {
	for _, m := range jsonCredentialValue.FindAllSubmatch(body, -1) {
		raw := string(m[2])
		red.Add(raw)
		var v string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &v); err == nil {
			red.Add(v)
		}
	}
}

// jsUnescape undoes the escapes a JSON encoder or a script puts in a
// string: \/ (PHP's json_encode), \uXXXX (Go's for & < >), \xXX.
func jsUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch n := s[i+1]; {
		case n == 'u' && i+6 <= len(s) && isHex(strings.ToLower(s[i+2:i+6])):
			var v rune
			for _, h := range strings.ToLower(s[i+2 : i+6]) {
				v = v<<4 | hexValue(h)
			}
			b.WriteRune(v)
			i += 5
		case n == 'x' && i+4 <= len(s) && isHex(strings.ToLower(s[i+2:i+4])):
			b.WriteRune(hexValue(rune(strings.ToLower(s[i+2 : i+4])[0]))<<4 | hexValue(rune(strings.ToLower(s[i+2 : i+4])[1])))
			i += 3
		case n == '/' || n == '\\' || n == '"' || n == '\'':
			b.WriteByte(n)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hexValue(h rune) rune {
	if h >= 'a' {
		return h - 'a' + 10
	}
	return h - '0'
}

// lenientUnescape decodes the percent escapes of s that are valid and
// keeps the rest, so one stray % does not hide a nested callback URL.
func lenientUnescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(strings.ToLower(s[i+1:i+3])) {
			l := strings.ToLower(s[i+1 : i+3])
			b.WriteByte(byte(hexValue(rune(l[0]))<<4 | hexValue(rune(l[1]))))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// containsFold reports whether b holds sub in any ASCII letter case,
// without copying b (bodies run to megabytes; most hold no callback).
func containsFold(b []byte, sub string) bool {
	n := len(sub)
	if n == 0 {
		return true
	}
	want := []byte(sub)
	first := sub[0] | 0x20
	for i := 0; i+n <= len(b); i++ {
		if b[i]|0x20 == first && bytes.EqualFold(b[i:i+n], want) {
			return true
		}
	}
	return false
}

// credentialFields name the values in callbacks and token responses that
// are credentials.
var credentialFields = map[string]bool{"access-token": true, "code": true, "ticket": true, "access_token": true, "refresh_token": true, "id_token": true}

// Learn registers the credentials of an answer with the redactor the moment they
// arrive, before the exchange that carries them is emitted: cookies,
// tokens and codes in a Location or another header, tokens in a JSON body,
// and callbacks anywhere in a body (a meta refresh, a script navigation, a
// JSON field of a script's fetch; see bodysecrets.go).
func (red *Redactor) Learn(header http.Header, body []byte) {
	for _, line := range header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil {
			red.Add(c.Value)
		}
	}
	if loc := header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			q, _ := check.FoundationQuery(u.RawQuery)
			for k, vs := range q {
				if credentialFields[k] {
					for _, v := range vs {
						red.Add(v)
					}
				}
			}
			for k, vs := range u.Query() {
				if credentialFields[k] {
					for _, v := range vs {
						red.Add(v)
					}
				}
			}
		}
	}
	red.learnHeaderCallbacks(header)
	red.learnJSONCredentials(body)
	red.learnBodyCallbacks(body)
	red.learnURLCredentials(body)
	// A profile's SCEP challenge (a signed profile carries its XML as is)
	// and a GetToken answer's TokenData, as the excerpt shows them and as
	// the step reads them.
	for _, m := range plistCredential.FindAllSubmatch(body, -1) {
		red.Add(string(m[2]))
		if string(m[1]) == "data" {
			flat := strings.Join(strings.Fields(string(m[2])), "")
			red.Add(flat)
			if d, err := base64.StdEncoding.DecodeString(flat); err == nil {
				red.Add(string(d))
			}
		}
	}
}

var plistCredential = regexp.MustCompile(`<key>(?:Challenge|TokenData)</key>\s*<(string|data)>([^<]+)</(?:string|data)>`)

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CredentialField reports whether a callback's or token answer's field
// carries a credential.
func CredentialField(name string) bool { return credentialFields[name] }
