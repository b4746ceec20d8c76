package cli

import (
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/charmbracelet/x/term"
)

// defaultWidth is the width of output that goes to no terminal.
const defaultWidth = 100

// termWidth is the width of w when it is a terminal, else defaultWidth.
func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
		if cols, _, err := term.GetSize(f.Fd()); err == nil && cols > 0 {
			return cols
		}
	}
	return defaultWidth
}

// clean drops control characters from text that came from outside (a
// scenario's case name), so it cannot move the cursor.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
