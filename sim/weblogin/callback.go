package weblogin

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
)

// Route says how a page handed the web view the callback. A device's
// ASWebAuthenticationSession completes on any navigation to the callback
// scheme, so each route ends the sign-in; only RouteRedirect is what Apple
// documents (a 308).
type Route string

const (
	// RouteRedirect: a 3xx whose Location is the callback.
	RouteRedirect Route = "redirect"
	// RouteRefresh: a Refresh header or <meta http-equiv=refresh>.
	RouteRefresh Route = "refresh"
	// RouteScript: a script set the location (location.href = "…",
	// location.replace("…"), window.location = "…").
	RouteScript Route = "script"
	// RouteForm: a form whose action is the callback was submitted.
	RouteForm Route = "form"
)

// Describe words the route for people: "a meta refresh".
func (r Route) Describe() string {
	switch r {
	case RouteRefresh:
		return "a refresh (<meta http-equiv=refresh> or a Refresh header)"
	case RouteScript:
		return "a script navigation (window.location)"
	case RouteForm:
		return "a form submission"
	}
	return "an HTTP redirect"
}

// IsRedirect: the callback came as a 3xx Location, or the route is unknown
// (a Result filled by an older driver).
func (r Route) IsRedirect() bool { return r == RouteRedirect || r == "" }

// PageCallback reads a page the way the form driver does and returns the
// callback it navigates to by itself, without a person: a Refresh header, a
// <meta http-equiv=refresh>, or a script that assigns a string literal of
// the callback scheme to the location. A browser driver uses it to name the
// route of a navigation Chromium reported.
func PageCallback(page *Page, scheme string) (*url.URL, Route) {
	if page == nil {
		return nil, ""
	}
	scheme = strings.ToLower(scheme)
	if scheme == "" {
		scheme = DefaultCallbackScheme
	}
	if target := refreshURL(page.Header.Get("Refresh")); target != "" {
		if u := callbackIn(page.URL, target, scheme); u != nil {
			return u, RouteRefresh
		}
	}
	doc, err := parseHTML(page.Body)
	if err != nil {
		return nil, ""
	}
	base := page.URL
	if base != nil {
		base = baseURL(doc, base)
	}
	if target := metaRefresh(doc); target != "" {
		if u := callbackIn(base, target, scheme); u != nil {
			return u, RouteRefresh
		}
	}
	if target := scriptCallback(doc, scheme); target != "" {
		if u := callbackIn(base, target, scheme); u != nil {
			return u, RouteScript
		}
	}
	return nil, ""
}

func callbackIn(base *url.URL, target, scheme string) *url.URL {
	var u *url.URL
	var err error
	if base != nil {
		u, err = base.Parse(target)
	} else {
		u, err = url.Parse(target)
	}
	if err != nil || strings.ToLower(u.Scheme) != scheme {
		return nil
	}
	return u
}

// scriptCallback returns the first callback URL a page's scripts navigate
// to on their own. The recognition is deliberately narrow, because a
// script the driver cannot run is only read: a string literal that starts
// with the callback scheme, assigned to location or location.href (of
// window, document, self or top), or passed to location.replace or
// location.assign. Comments are ignored; window.open (a new window, which
// the web session does not watch), a link a person must tap, an http(s)
// URL, a URL built by concatenation and scripts that are not JavaScript
// (type=application/json, text/template) do not count. A <body onload>
// handler runs without a person and counts.
func scriptCallback(doc *goquery.Document, scheme string) string {
	var found string
	doc.Find("script").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if _, external := s.Attr("src"); external || !javaScriptType(s.AttrOr("type", "")) {
			return true
		}
		found = ScriptNavigation(s.Text(), scheme)
		return found == ""
	})
	if found == "" {
		if onload, ok := doc.Find("body").First().Attr("onload"); ok {
			found = ScriptNavigation(onload, scheme)
		}
	}
	return found
}

// javaScriptType: the type attributes under which a browser runs a script
// (HTML §4.12.1.1); anything else is data.
func javaScriptType(t string) bool {
	t = strings.ToLower(strings.TrimSpace(t))
	switch t {
	case "", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript",
		"application/x-javascript", "text/x-javascript", "text/jscript", "text/livescript", "application/x-ecmascript", "text/x-ecmascript":
		return true
	}
	return strings.HasPrefix(t, "text/javascript;")
}

// navigationSink matches, at the end of the code before a string literal,
// what makes that literal a navigation: "location =", "location.href =",
// "location.replace(", "location.assign(", with an optional window.,
// document., self. or top. in front (and "window.top." and the like).
var navigationSink = regexp.MustCompile(`(?:^|[^\w$.])(?:(?:window|document|self|top|parent)\s*\.\s*)*location\s*(?:\.\s*href\s*)?(?:=|\.\s*(?:replace|assign)\s*\(\s*)\s*$`)

// ScriptNavigation returns the first string literal in a script that starts
// with scheme: (any letter case) and is assigned to the location, or "".
// See scriptCallback for what counts.
func ScriptNavigation(script, scheme string) string {
	if scheme == "" {
		scheme = DefaultCallbackScheme
	}
	prefix := strings.ToLower(scheme) + ":"
	var code strings.Builder // the script so far, comments and literals left out
	toks := jsTokens(script)
	candidates := 0
	for i, tok := range toks {
		if !tok.literal {
			code.WriteString(tok.text)
			continue
		}
		if len(tok.text) >= len(prefix) && strings.EqualFold(tok.text[:len(prefix)], prefix) {
			before := code.String()
			if len(before) > 200 {
				before = before[len(before)-200:]
			}
			if strings.Contains(before, "location") {
				if candidates++; candidates > maxSinkCandidates {
					return "" // a hostile script: no verdict from reading it
				}
				if navigationSink.MatchString(before) && literalEnds(toks[i+1:]) {
					return tok.text
				}
			}
		}
		code.WriteString(`""`)
	}
	return ""
}

// maxSinkCandidates bounds the literals of one script matched against
// navigationSink: a real page has one or two.
const maxSinkCandidates = 100

// literalEnds: the code after a literal ends the expression (; ) } , or
// a new statement on the next line), so the literal is the whole URL, not
// the start of a concatenation or a method call.
func literalEnds(rest []jsToken) bool {
	if len(rest) == 0 {
		return true
	}
	if rest[0].literal {
		return false
	}
	text := rest[0].text
	trimmed := strings.TrimLeft(text, " \t\r\n")
	if trimmed == "" {
		return len(rest) == 1 || strings.ContainsAny(text, "\n\r")
	}
	switch c := trimmed[0]; {
	case strings.IndexByte(";)},", c) >= 0:
		return true
	case c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		// Automatic semicolon insertion: a statement on the next line.
		return strings.ContainsAny(text[:len(text)-len(trimmed)], "\n\r")
	}
	return false
}

// jsToken is a piece of script: code, or the value of a string literal.
type jsToken struct {
	text    string
	literal bool
}

// jsTokens splits a script into code and string literals (decoded), and
// drops comments. It knows no regular-expression literals: a quote inside
// one may pair wrongly, which can only hide a navigation, never invent one
// whose literal starts with the callback scheme right after a sink.
// A template literal with a substitution (${…}) is code, not a literal.
func jsTokens(src string) []jsToken {
	var toks []jsToken
	var code strings.Builder
	flush := func() {
		if code.Len() > 0 {
			toks = append(toks, jsToken{text: code.String()})
			code.Reset()
		}
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			end := strings.IndexAny(src[i:], "\n\r")
			if end < 0 {
				i = len(src)
			} else {
				i += end
			}
			code.WriteByte(' ')
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				i = len(src)
			} else {
				i += end + 4
			}
			code.WriteByte(' ')
		case c == '<' && strings.HasPrefix(src[i:], "<!--"):
			// An HTML-like comment: JavaScript in browsers treats the line
			// as a comment.
			end := strings.IndexAny(src[i:], "\n\r")
			if end < 0 {
				i = len(src)
			} else {
				i += end
			}
		case c == '"' || c == '\'' || c == '`':
			value, n, ok := jsLiteral(src[i:])
			if !ok {
				code.WriteString(src[i : i+n])
				i += n
				continue
			}
			flush()
			toks = append(toks, jsToken{text: value, literal: true})
			i += n
		default:
			code.WriteByte(c)
			i++
		}
	}
	flush()
	return toks
}

// jsLiteral reads the string literal at the start of s, decoding its
// escapes. It returns the value, the bytes consumed and whether it was a
// plain literal (a template literal with ${…} or an unterminated literal
// is not).
func jsLiteral(s string) (string, int, bool) {
	quote := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == quote:
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			r, n := jsEscape(s[i+1:])
			b.WriteString(r)
			i += 1 + n
		case (c == '\n' || c == '\r') && quote != '`':
			return "", i, false
		case c == '$' && quote == '`' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '`')
			if end < 0 {
				return "", len(s), false
			}
			return "", i + end + 1, false
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", len(s), false
}

// jsEscape decodes the escape after a backslash: \n, \xHH, \uHHHH, \u{H…},
// a line continuation, or the character itself (\/ is /).
func jsEscape(s string) (string, int) {
	switch s[0] {
	case 'n':
		return "\n", 1
	case 't':
		return "\t", 1
	case 'r':
		return "\r", 1
	case 'b', 'f', 'v':
		return " ", 1
	case '0':
		return "\x00", 1
	case '\n':
		return "", 1
	case 'x':
		if len(s) >= 3 {
			if v, err := strconv.ParseUint(s[1:3], 16, 8); err == nil {
				return string(rune(v)), 3
			}
		}
	case 'u':
		if len(s) >= 2 && s[1] == '{' {
			if end := strings.IndexByte(s, '}'); end > 2 {
				if v, err := strconv.ParseUint(s[2:end], 16, 32); err == nil && utf8.ValidRune(rune(v)) {
					return string(rune(v)), end + 1
				}
			}
		} else if len(s) >= 5 {
			if v, err := strconv.ParseUint(s[1:5], 16, 16); err == nil {
				return string(rune(v)), 5
			}
		}
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(r), n
}
