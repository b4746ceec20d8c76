package cli

import (
	"os"
	"path/filepath"
	"strings"
)

// invokedAs is how to call this binary again in a command the user pastes:
// "enrollsim" when that name on PATH finds this very binary (or arg0 came
// from PATH), else the absolute path it was started by, such as
// /home/me/enrollsim/bin/enrollsim after 'make build', which works from any
// directory another terminal opens in.
func invokedAs(arg0 string, lookPath func(string) (string, error)) string {
	const name = "enrollsim"
	if arg0 == "" || !strings.ContainsRune(arg0, filepath.Separator) {
		return name
	}
	if p, err := lookPath(name); err == nil && sameFile(p, arg0) {
		return name
	}
	abs, err := filepath.Abs(arg0)
	if err != nil {
		return arg0
	}
	return abs
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// asInvoked puts the way the binary was invoked in place of the leading
// "enrollsim" of a printed command line.
func (f *Factory) asInvoked(line string) string {
	if f.Self == "" || f.Self == "enrollsim" {
		return line
	}
	if rest, ok := strings.CutPrefix(line, "enrollsim "); ok {
		return shellQuote(f.Self) + " " + rest
	}
	return line
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`*?[]{}()<>|&;#~!") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func orName(self string) string {
	if self == "" {
		return "enrollsim"
	}
	return self
}
