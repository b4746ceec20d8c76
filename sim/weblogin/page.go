package weblogin

import (
	"bytes"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// maxErrorText caps page text quoted in error messages.
const maxErrorText = 300

// parseHTML parses with scripting off, as a browser without JavaScript does:
// <noscript> content becomes markup, so the "Continue" button of an
// auto-posting form is there to press.
func parseHTML(body []byte) (*goquery.Document, error) {
	root, err := html.ParseWithOptions(bytes.NewReader(body), html.ParseOptionEnableScripting(false))
	if err != nil {
		return nil, err
	}
	return goquery.NewDocumentFromNode(root), nil
}

// baseURL honours the first <base href>; relative links and form actions
// resolve against it.
func baseURL(doc *goquery.Document, docURL *url.URL) *url.URL {
	href, ok := doc.Find("base[href]").First().Attr("href")
	if !ok {
		return docURL
	}
	u, err := docURL.Parse(strings.TrimSpace(href))
	if err != nil {
		return docURL
	}
	return u
}

// metaRefresh returns the URL of the first <meta http-equiv=refresh> that
// names one. A refresh without a URL reloads the page; the driver ignores it.
func metaRefresh(doc *goquery.Document) string {
	var target string
	doc.Find("meta[http-equiv][content]").EachWithBreak(func(_ int, m *goquery.Selection) bool {
		if !strings.EqualFold(strings.TrimSpace(m.AttrOr("http-equiv", "")), "refresh") {
			return true
		}
		target = refreshURL(m.AttrOr("content", ""))
		return target == ""
	})
	return target
}

// refreshURL reads "5; url=/next" and its variants ("0;URL='/next'",
// "0, /next") from a Refresh header or meta content.
func refreshURL(content string) string {
	i := strings.IndexAny(content, ";,")
	if i < 0 {
		return "" // a delay alone
	}
	rest := strings.TrimSpace(content[i+1:])
	if len(rest) >= 3 && strings.EqualFold(rest[:3], "url") {
		if after := strings.TrimSpace(rest[3:]); strings.HasPrefix(after, "=") {
			rest = strings.TrimSpace(after[1:])
		}
	}
	if len(rest) >= 2 && (rest[0] == '\'' || rest[0] == '"') {
		if end := strings.IndexByte(rest[1:], rest[0]); end >= 0 {
			rest = rest[1 : end+1]
		}
	}
	return strings.TrimSpace(rest)
}

// scriptNavigation spots scripts that move the page on: location changes and
// automatic form submission.
var scriptNavigation = regexp.MustCompile(`(?i)\blocation\s*(\.\s*(href|replace|assign)\b|=)|\blocation\.href|\.submit\s*\(\s*\)`)

// needsJavaScript explains why a page without a usable form can only go on
// with JavaScript, or returns "" when nothing says so.
func needsJavaScript(doc *goquery.Document) string {
	if ns := doc.Find("noscript"); ns.Length() > 0 {
		if text := collapse(ns.Text()); text != "" {
			return "the page shows a <noscript> notice: " + quote(text)
		}
		return "the page has a <noscript> element"
	}
	scripts := doc.Find("script")
	navigates := false
	scripts.EachWithBreak(func(_ int, s *goquery.Selection) bool {
		navigates = scriptNavigation.MatchString(s.Text())
		return !navigates
	})
	switch {
	case navigates:
		return "a script changes the location or submits a form"
	case scripts.Length() > 0 && visibleText(doc.Selection) == "":
		return "the page is an empty shell for scripts"
	}
	return ""
}

// errorSelector finds the messages login pages show after a failed attempt.
const errorSelector = `[role=alert], [class*=error], [class*=alert], [class*=danger], [id*=error], .invalid-feedback`

// notErrorBoxes are containers whose class may mention errors ("has-errors")
// without being the message: quoting them would quote the whole page.
const notErrorBoxes = "html, body, main, form, fieldset"

// visibleErrors joins the text of the visible error elements, outermost
// only, so a message inside an alert box is quoted once.
func visibleErrors(doc *goquery.Document) string {
	var texts []string
	doc.Find(errorSelector).Not(notErrorBoxes).Each(func(_ int, s *goquery.Selection) {
		if s.ParentsFiltered(errorSelector).Not(notErrorBoxes).Length() > 0 || hidden(s) {
			return
		}
		if text := visibleText(s); text != "" && !slices.Contains(texts, text) {
			texts = append(texts, text)
		}
	})
	return truncate(strings.Join(texts, "; "))
}

// pageHeadline is the best short description of a page for an error
// message: its error text, else its title, else its first heading.
func pageHeadline(doc *goquery.Document) string {
	if text := visibleErrors(doc); text != "" {
		return text
	}
	for _, sel := range []string{"title", "h1", "h2"} {
		if text := collapse(doc.Find(sel).First().Text()); text != "" {
			return truncate(text)
		}
	}
	return ""
}

// hidden: the element or an ancestor is hidden by attribute or inline style,
// as error templates waiting for JavaScript are.
func hidden(s *goquery.Selection) bool {
	for n := s; n.Length() > 0; n = n.Parent() {
		if _, ok := n.Attr("hidden"); ok {
			return true
		}
		if n.AttrOr("aria-hidden", "") == "true" {
			return true
		}
		style := strings.ReplaceAll(strings.ToLower(n.AttrOr("style", "")), " ", "")
		if strings.Contains(style, "display:none") || strings.Contains(style, "visibility:hidden") {
			return true
		}
		if goquery.NodeName(n) == "template" {
			return true
		}
	}
	return false
}

// visibleText is the text a person would read in s: scripts, styles and
// templates removed, white space collapsed.
func visibleText(s *goquery.Selection) string {
	c := s.Clone()
	c.Find("script, style, template").Remove()
	return collapse(c.Text())
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string) string {
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func quote(s string) string { return `"` + truncate(s) + `"` }
