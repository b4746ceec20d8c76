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
const maxErrorText = 200

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

// errorSelector finds the messages login pages show after a failed
// attempt: live regions and alerts (what a screen reader announces), and
// the class and id names templates give them, in any letter case. "err"
// alone is common too (class="err", "form-err", "errmsg", "loginErr"), but
// as a bare substring it is in "terrain" or "ferry": it counts as a class
// word or a word's start or end.
const errorSelector = `[role=alert i], [role=alertdialog i], [aria-live=assertive i], [aria-live=polite i], ` +
	`[class*=error i], [class*=alert i], [class*=danger i], [class*=invalid i], [class*=warning i], ` +
	`[class~=err i], [class^=err- i], [class^=err_ i], [class*=" err-" i], [class*=" err_" i], ` +
	`[class*=-err i], [class*=_err i], [class*=errmsg i], [class*=Err], ` +
	`[id*=error i], [id*=alert i], [id*=invalid i], [id~=err i], [id*=-err i], [id*=_err i], [id^=err- i], [id^=err_ i], [id*=errmsg i]`

// notErrorBoxes are containers whose class may mention errors ("has-errors")
// without being the message: quoting them would quote the whole page.
const notErrorBoxes = "html, body, main, form, fieldset, input, select, textarea, button"

// errorWords mark a message as an error when nothing in the markup does
// (`<p style="color:red">Wrong password</p>`).
var errorWords = regexp.MustCompile(`(?i)\b(wrong|incorrect|invalid|failed|failure|error|denied|not recogni[sz]ed|do(es)?n['’]?t match|does not match|not match|try again|unable to|locked|expired|unknown user|not found)\b`)

// maxErrorCandidates bounds the elements examined for error text on one
// page, whatever its size.
const maxErrorCandidates = 2000

// visibleErrors quotes the visible error messages of a page: the elements
// marked as errors, outermost only (a message inside an alert box is
// quoted once), else text near the form that reads as an error.
func visibleErrors(doc *goquery.Document) string {
	var texts []string
	add := func(text string) {
		if text != "" && !slices.Contains(texts, text) && len(texts) < 5 {
			texts = append(texts, text)
		}
	}
	marked := doc.Find(errorSelector).Not(notErrorBoxes)
	if marked.Length() > maxErrorCandidates {
		marked = marked.Slice(0, maxErrorCandidates)
	}
	marked.Each(func(_ int, s *goquery.Selection) {
		if s.ParentsFiltered(errorSelector).Not(notErrorBoxes).Length() > 0 || hidden(s) {
			return
		}
		add(visibleText(s))
	})
	if len(texts) == 0 {
		for _, text := range errorWordsNearForm(doc) {
			add(text)
		}
	}
	return truncate(strings.Join(texts, "; "))
}

// errorWordsNearForm looks at the short text blocks of the form and of the
// container around it, in tree order, for one that reads as an error.
// Labels and buttons are the form's own words, not messages.
func errorWordsNearForm(doc *goquery.Document) []string {
	scope := doc.Find("form").First().Parent()
	if scope.Length() == 0 {
		scope = doc.Find("body")
	}
	var out []string
	seen := 0
	scope.Find("p, span, div, li, strong, b, em, font, small, td, h2, h3, h4").EachWithBreak(func(_ int, s *goquery.Selection) bool {
		seen++
		if goquery.NodeName(s.Parent()) == "label" || s.Closest("label, button, script, style, template, noscript").Length() > 0 || hidden(s) {
			return seen < maxErrorCandidates
		}
		// Only blocks whose own text is short: a whole page's text would
		// match some error word somewhere.
		if s.Children().Length() > 3 {
			return seen < maxErrorCandidates
		}
		text := visibleText(s)
		if text != "" && len(text) <= maxErrorText && errorWords.MatchString(text) {
			out = append(out, text)
			return false
		}
		return seen < maxErrorCandidates
	})
	return out
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
		for _, class := range strings.Fields(strings.ToLower(n.AttrOr("class", ""))) {
			if class == "hidden" || class == "d-none" || class == "is-hidden" || class == "hide" {
				return true
			}
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

func truncate(s string) string { return clip(s, maxErrorText) }

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func quote(s string) string { return `"` + truncate(s) + `"` }
