package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
)

const exitCodesHelp = `Exit codes:
  0    every check passed (and every expected failure happened)
  1    a check failed (warnings count too with --strict)
  2    usage or input error: a bad flag, device, identifier or file
  3    the run could not complete: target unreachable, TLS setup, a bug in enrollsim
  130  interrupted by SIGINT or SIGTERM (reports hold what was played)`

// versionOf is the build's version: the one the build stamped (-ldflags
// "-X main.version=v1.2.3"), else the module version the Go toolchain
// recorded (go install …@v1.2.3, or a VCS pseudo-version), else "dev".
func versionOf(stamped string, info func() (*debug.BuildInfo, bool)) string {
	if stamped != "" && stamped != "dev" {
		return stamped
	}
	if bi, ok := info(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// NewRoot builds the command tree.
func NewRoot(f *Factory) *cobra.Command {
	f.Version = versionOf(f.Version, debug.ReadBuildInfo)
	root := &cobra.Command{
		Use:   "enrollsim",
		Short: "Play Apple devices through account-driven MDM enrollment and check the server",
		Long: `enrollsim plays iPhone, iPad, Mac and Apple Vision Pro clients of given OS
versions through account-driven enrollment (user enrollment for BYOD, device
enrollment for company-owned devices) against an MDM server, and checks every
step against the spec's conformance catalogue.

With no target flags it runs against its own embedded reference server.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       f.Version,
	}
	// -v is --verbose in every command, as in curl and kubectl: the
	// version is --version alone (cobra would take -v for it).
	root.Flags().Bool("version", false, "print enrollsim's version")
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if hint := verboseHint(c, err); hint != "" {
			return usageHint(err, hint)
		}
		return usageHint(flagError(c, err), fmt.Sprintf("run '%s --help' for the flags", c.CommandPath()))
	})
	root.AddCommand(newRunCmd(f, nil), newServeCmd(f, nil), newListCmd(f), newReportCmd(f), newMatrixCmd(f), newStepCmd(f),
		newValidateCmd(f), newNewCmd(f), newSchemaCmd(f), newAxMCmd(f), newLoadCmd(f), newAPNsCmd(f))
	decorate(root)
	return root
}

// Execute runs the CLI with args and returns the exit code. A panic (the
// engine recovers its own per case; this is for the command layer) ends
// with a clear message and exit code 3 instead of a Go trace.
func Execute(ctx context.Context, f *Factory, args []string) (code int) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(f.IO.ErrOut, "enrollsim: internal error: panic: %v (at %s)\n  this is a bug in enrollsim: please report it at %s with the command line you ran\n",
				v, panicSite(), sim.IssueTracker)
			code = report.ExitIncomplete
		}
	}()
	root := NewRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var se silentExit
	if err != nil && (errors.Is(err, context.Canceled) || errors.As(err, &se) && se.code == report.ExitInterrupted) {
		fmt.Fprintln(f.IO.ErrOut, "enrollsim: interrupted")
		return report.ExitInterrupted
	}
	return exitCode(err, f.IO.ErrOut)
}

// panicSite is the function and line that panicked, for the bug report: the
// first frame below runtime.gopanic that is not the runtime's own. Call it
// from the deferred function that recovers.
func panicSite() string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	panicking := false
	for {
		fr, more := frames.Next()
		switch {
		case fr.Function == "runtime.gopanic":
			panicking = true
		case panicking && !strings.HasPrefix(fr.Function, "runtime."):
			return fmt.Sprintf("%s, %s:%d", fr.Function, filepath.Base(fr.File), fr.Line)
		}
		if !more {
			return "unknown place"
		}
	}
}
