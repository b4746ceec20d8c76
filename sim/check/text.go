package check

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Excerpt keeps the first n bytes of a body as text for a report: binary
// bodies are summarised, never dumped, a character is never split, and the
// text is made safe for every report (Printable), so a hostile body cannot
// break a JSON or HTML report or send escape sequences to a terminal.
func Excerpt(b []byte, n int) string {
	if len(b) == 0 {
		return ""
	}
	for _, c := range b[:min(len(b), 512)] {
		if c == 0 || (c < 0x09) {
			return fmt.Sprintf("(%d bytes of binary data)", len(b))
		}
	}
	if len(b) > n {
		cut := n
		for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(b[cut]) {
			cut-- // never split a character
		}
		return Printable(string(b[:cut])) + fmt.Sprintf("… (%d more bytes)", len(b)-cut)
	}
	return Printable(string(b))
}

// Printable replaces what a report cannot show as is: invalid UTF-8 and
// control characters except tab, newline and carriage return.
func Printable(s string) string {
	clean := true
	for _, c := range s {
		if c == utf8.RuneError || (unicode.IsControl(c) && c != '\t' && c != '\n' && c != '\r') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		c, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		switch {
		case c == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case unicode.IsControl(c) && c != '\t' && c != '\n' && c != '\r':
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// Distinct keeps the first of each repeated string, in order.
func Distinct(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
