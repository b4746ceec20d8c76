// Package cli is enrollsim's command layer: cobra commands that turn flags
// into a plan, hand it to the engine, and pick the exit code. Everything
// outside (streams, clock, HTTP) comes from a Factory so tests can swap it.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
)

// IOStreams are the command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// OutTTY and ErrTTY say whether the stream is a terminal (colours,
	// live progress).
	OutTTY, ErrTTY bool
}

// Factory holds what commands need from the outside world.
type Factory struct {
	IO     IOStreams
	Now    func() time.Time
	Getenv func(string) string
	// Version is the build's version string.
	Version string
	// Self is how a printed command calls this binary again (invokedAs);
	// "" for "enrollsim".
	Self string
	// Limits bound what no flag sets (the browser's page timeout, a
	// sign-in's step timeout); zero fields take sim.DefaultLimits. Tests
	// give them room, so that no verdict depends on a loaded machine's
	// speed; --timeout always sets the per-request timeout.
	Limits sim.Limits
	// totpClock, set by tests only, is a TOTP time that 'serve' judges
	// codes by and that a run against a deployed server jumps instead of
	// waiting for a fresh code (as the embedded target does): a test of
	// what serve prints need not wait 30 s per sign-in.
	totpClock *sim.VirtualClock
}

// limits are the engine's limits for a run with the given --timeout and
// --page-timeout (0: the Factory's, else the default).
func (f *Factory) limits(timeout, page time.Duration) sim.Limits {
	l := f.Limits
	l.Timeout = timeout
	if page > 0 {
		l.PageTimeout = page
	}
	return l
}

// NewFactory returns the real streams and environment.
func NewFactory(version string) *Factory {
	return &Factory{
		IO: IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
			OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr)},
		Now:     time.Now,
		Getenv:  os.Getenv,
		Version: version,
		Self:    invokedAs(os.Args[0], exec.LookPath),
	}
}

// isTerminal asks the terminal itself (an ioctl), not the file mode:
// /dev/null is a character device too, but no terminal.
func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(f.Fd())
}

// colorOn honours NO_COLOR (https://no-color.org) and terminals.
func (f *Factory) colorOn(tty bool) bool {
	return tty && f.Getenv("NO_COLOR") == "" && f.Getenv("TERM") != "dumb"
}

// ExitError carries an exit code and an optional hint line.
type ExitError struct {
	Code int
	Err  error
	Hint string
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func usageErr(format string, args ...any) error {
	return &ExitError{Code: report.ExitUsage, Err: fmt.Errorf(format, args...)}
}

func usageHint(err error, hint string) error {
	return &ExitError{Code: report.ExitUsage, Err: err, Hint: hint}
}

func incompleteErr(err error, hint string) error {
	return &ExitError{Code: report.ExitIncomplete, Err: err, Hint: hint}
}

// silentExit ends with a code after the command has said all it has to say.
type silentExit struct{ code int }

func (s silentExit) Error() string { return fmt.Sprintf("exit %d", s.code) }

// exitCode maps an error to the process exit code and prints it.
func exitCode(err error, errOut io.Writer) int {
	if err == nil {
		return 0
	}
	var se silentExit
	if errors.As(err, &se) {
		return se.code
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		fmt.Fprintf(errOut, "enrollsim: %v\n", ee.Err)
		if ee.Hint != "" {
			fmt.Fprintf(errOut, "  %s\n", ee.Hint)
		}
		return ee.Code
	}
	// Errors cobra raises for flags and arguments are usage errors.
	fmt.Fprintf(errOut, "enrollsim: %v\n  run 'enrollsim --help' for usage\n", err)
	return report.ExitUsage
}
