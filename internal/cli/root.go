package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

const exitCodesHelp = `Exit codes:
  0    every check passed (and every expected failure happened)
  1    a check failed (warnings count too with --strict)
  2    usage or input error: a bad flag, device, identifier or file
  3    the run could not complete: target unreachable, TLS setup
  130  interrupted`

// NewRoot builds the command tree.
func NewRoot(f *Factory) *cobra.Command {
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
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageHint(flagError(c, err), fmt.Sprintf("run '%s --help' for the flags", c.CommandPath()))
	})
	root.AddCommand(newRunCmd(f, nil), newServeCmd(f, nil), newListCmd(f), newReportCmd(f), newMatrixCmd(f), newStepCmd(f),
		newValidateCmd(f), newNewCmd(f), newSchemaCmd(f))
	return root
}

// Execute runs the CLI with args and returns the exit code.
func Execute(ctx context.Context, f *Factory, args []string) int {
	root := NewRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintln(f.IO.ErrOut, "enrollsim: interrupted")
		return 130
	}
	return exitCode(err, f.IO.ErrOut)
}
