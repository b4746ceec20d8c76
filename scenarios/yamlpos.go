package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// yaml.v3 reports a syntax error with a line at most (none on the first
// line, none for encoding errors), and that line is sometimes where the
// enclosing block starts rather than where the mistake is. validate promises
// file:line:col for every problem, so this file finds the position itself:
// encoding problems exactly, before the YAML parser sees them; syntax errors
// from the parser's line and words.

// maxFileSize bounds a scenario file: it is read whole, and a suite is a
// few kilobytes.
const maxFileSize = 4 << 20

// source is a file's text as the YAML parser reads it, for positions.
type source struct {
	text  string
	lines []string
}

// newSource decodes what yaml.v3 decodes: UTF-8 with or without a byte
// order mark, and UTF-16 with one. Lines end where YAML says they do.
func newSource(data []byte) source {
	text := string(data)
	switch {
	case len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF:
		text = string(data[3:])
	case len(data) >= 2 && (data[0] == 0xFF && data[1] == 0xFE || data[0] == 0xFE && data[1] == 0xFF):
		text = decodeUTF16(data[2:], data[0] == 0xFE)
	}
	return source{text: text, lines: splitLines(text)}
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		if bigEndian {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(u))
}

// splitLines splits at YAML's line breaks: LF, CR LF, CR, NEL, LS and PS.
func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\r':
			lines = append(lines, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				size = 2
			}
			start = i + size
		case '\n', '\u0085', '\u2028', '\u2029':
			lines = append(lines, s[start:i])
			start = i + size
		}
		i += size
	}
	return append(lines, s[start:])
}

// line is line n (1-based), or "".
func (s source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// col turns a byte offset in line n into a 1-based column in characters,
// as yaml.v3 counts them.
func (s source) col(n, offset int) int {
	l := s.line(n)
	if offset > len(l) {
		offset = len(l)
	}
	return utf8.RuneCountInString(l[:max(offset, 0)]) + 1
}

// clamp returns line n and the column of its first text, or the end of
// the file's last line of text when n lies beyond it (an error at the end
// of the stream).
func (s source) clamp(n int) (int, int) {
	last := len(s.lines)
	for last > 1 && strings.TrimSpace(s.lines[last-1]) == "" {
		last--
	}
	if n > last {
		return last, s.col(last, len(s.line(last)))
	}
	return max(n, 1), s.firstText(max(n, 1))
}

// firstText is the column of a line's first character that is not a space.
func (s source) firstText(n int) int {
	l := s.line(n)
	return s.col(n, len(l)-len(strings.TrimLeft(l, " \t")))
}

// encodingProblem finds what the YAML reader refuses before parsing: bytes
// that are not UTF-8, and control characters YAML does not allow.
func encodingProblem(file string, data []byte, src source) (Problem, bool) {
	if len(data) > maxFileSize {
		return Problem{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("the file is %d bytes; a scenario file may have at most %d (4 MiB)", len(data), maxFileSize)}, true
	}
	for n, l := range src.lines {
		col := 0 // counted as we go: a long line must not cost its square
		for off := 0; off < len(l); {
			r, size := utf8.DecodeRuneInString(l[off:])
			col++
			at := Problem{File: file, Line: n + 1, Col: col}
			switch {
			case r == utf8.RuneError && size == 1:
				at.Msg = fmt.Sprintf("not UTF-8 text: byte 0x%02X cannot start or continue a character (save the file as UTF-8)", l[off])
				return at, true
			case !yamlPrintable(r):
				at.Msg = fmt.Sprintf("control character U+%04X: YAML allows tab, line breaks and printable characters only", r)
				if r == 0 {
					at.Msg += " (a NUL: is the file UTF-16 without a byte order mark? save it as UTF-8)"
				}
				return at, true
			}
			off += size
		}
	}
	return Problem{}, false
}

// yamlPrintable mirrors the YAML reader's set of allowed characters.
func yamlPrintable(r rune) bool {
	switch {
	case r == 0x09, r == 0x0A, r == 0x0D, r >= 0x20 && r <= 0x7E, r == 0x85,
		r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// parserErrors are yaml.v3's parser messages (parserc.go); the rest of
// its syntax errors come from the scanner.
var parserErrors = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected <document start>": true,
	"did not find expected <stream-start>": true, "did not find expected key": true,
	"did not find expected node content": true, "found duplicate %TAG directive": true,
	"found duplicate %YAML directive": true, "found incompatible YAML document": true,
	"found undefined tag handle": true,
}

var (
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
	validEscapes  = "0abt\tnvfre \"/\\N_LPxuU"
)

// yamlProblem turns a yaml.v3 error into a problem with a line and column.
func yamlProblem(file string, src source, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1 // yaml.v3 leaves the line out when it is the first
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserErrors[msg] {
			// yaml.v3 counts lines from 0 for the parser's errors and
			// from 1 for the scanner's.
			line++
		}
	}
	p := Problem{File: file, Msg: "YAML syntax: " + msg}
	p.Line, p.Col = src.clamp(line)
	if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		p.Msg = fmt.Sprintf("YAML: alias *%s names no anchor &%s defined before it", m[1], m[1])
		p.Line, p.Col = src.find(1, "*"+m[1], p.Line, p.Col)
		return p
	}
	if tl, tc, ok := src.tabIndent(line); ok && (strings.Contains(msg, "tab") || strings.Contains(msg, "cannot start any token")) {
		p.Line, p.Col = tl, tc
		p.Msg = "YAML syntax: a tab in the indentation: YAML indents with spaces only"
		return p
	}
	l := src.line(line)
	switch {
	case strings.Contains(msg, "cannot start any token"):
		if i := strings.IndexAny(l, "@`%"); i >= 0 {
			p.Col = src.col(line, i)
			p.Msg += fmt.Sprintf(" (%q is reserved in YAML: quote the value)", l[i])
		}
	case strings.Contains(msg, "mapping values are not allowed"):
		if i := strings.LastIndex(l, ": "); i >= 0 {
			p.Col = src.col(line, i)
		} else if strings.HasSuffix(l, ":") {
			p.Col = src.col(line, len(l)-1)
		}
		p.Msg += " (a value with ': ' in it must be quoted; or is this line indented too far?)"
	case strings.Contains(msg, "unknown escape character"):
		if i := badEscape(l); i >= 0 {
			p.Col = src.col(line, i)
			p.Msg += " (in double quotes, write \\\\ for a backslash, or use single quotes)"
		}
	case strings.Contains(msg, "expected ',' or ']'"):
		p.Col = src.unclosed(line, '[', ']', p.Col)
		p.Msg += " (the list opened here is not closed)"
	case strings.Contains(msg, "expected ',' or '}'"):
		p.Col = src.unclosed(line, '{', '}', p.Col)
		p.Msg += " (the mapping opened here is not closed)"
	case strings.Contains(msg, "unexpected end of stream"):
		if i := strings.LastIndexAny(l, `"'`); i >= 0 {
			p.Col = src.col(line, i)
			p.Msg += " (a quoted string starting here is not closed)"
		}
	case strings.Contains(msg, "expected alphabetic or numeric character"):
		if i := strings.LastIndexAny(l, "&*"); i >= 0 {
			p.Col = src.col(line, i)
			p.Msg += " (an anchor & or alias * needs a name)"
		}
	}
	return p
}

// find locates the first occurrence of s at or after line from, or
// returns the fallback position.
func (src source) find(from int, s string, line, col int) (int, int) {
	for n := from; n <= len(src.lines); n++ {
		if i := strings.Index(src.line(n), s); i >= 0 {
			return n, src.col(n, i)
		}
	}
	return line, col
}

// tabIndent finds a tab in the leading whitespace of line n or the next one
// (yaml.v3 reports the line before the tab for some of these).
func (src source) tabIndent(n int) (int, int, bool) {
	for _, ln := range []int{n, n + 1} {
		l := src.line(ln)
		lead := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if i := strings.IndexByte(lead, '\t'); i >= 0 {
			return ln, src.col(ln, i), true
		}
	}
	return 0, 0, false
}

// unclosed is the column of the last bracket on line n that the line does
// not close.
func (src source) unclosed(n int, open, close byte, fallback int) int {
	l := src.line(n)
	var stack []int
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case open:
			stack = append(stack, i)
		case close:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return fallback
	}
	return src.col(n, stack[len(stack)-1])
}

// badEscape is the offset of the first backslash in l whose escape YAML
// does not know, or -1.
func badEscape(l string) int {
	for i := 0; i+1 < len(l); i++ {
		if l[i] != '\\' {
			continue
		}
		if !strings.ContainsRune(validEscapes, rune(l[i+1])) {
			return i
		}
		i++
	}
	return -1
}
