package sim

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

// Excerpts go into every report format and to terminals: whatever a body
// holds, they are valid UTF-8 without control bytes other than tab and
// newline, and they never split a character.
func TestExcerptIsSafeText(t *testing.T) {
	tests := []struct {
		name string
		body string
		n    int
		want string
	}{
		{"plain", "hello\tworld\r\n", 100, "hello\tworld\r\n"},
		{"invalid UTF-8", "caf\xe9 ok", 100, "caf\ufffd ok"},
		{"escape sequence", "\x1b[31mred", 100, `\x1b[31mred`},
		{"NUL after the sniffed prefix", strings.Repeat("a", 512) + "\x00b", 1000, strings.Repeat("a", 512) + `\x00b`},
		{"NUL at the start is binary", "\x00\x01\x02", 100, "(3 bytes of binary data)"},
		{"C1 control", "a\u0085b", 100, `a\x85b`},
		{"cut inside a character", "ab€cd", 3, "ab… (5 more bytes)"},
		{"cut after a character", "ab€cd", 5, "ab€… (2 more bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := excerpt([]byte(tt.body), tt.n)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got))
		})
	}
}

func TestClipKeepsCharacters(t *testing.T) {
	assert.Equal(t, "short", clip("short", 10))
	assert.Equal(t, "ab… (5 more bytes)", clip("ab€cd", 3))
	long := clip(strings.Repeat("a", 200<<10), 2048)
	assert.Len(t, long, 2048+len("… (202752 more bytes)"))
}
