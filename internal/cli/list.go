package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
)

func newListCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List checks, devices, reference-server faults or built-in scenario suites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErr("list what? say 'enrollsim list checks', 'list devices', 'list faults' or 'list scenarios'")
		},
	}
	var all, markdown, asJSON bool
	checks := &cobra.Command{
		Use:   "checks [ID]...",
		Short: "Print the conformance checks: ID, level, rule, source; with IDs, those checks in full",
		Example: `  enrollsim list checks
  enrollsim list checks PROF-004 TOK-006
  enrollsim list checks --json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list := check.Checks()
			if all {
				list = check.AllChecks()
			}
			if len(args) > 0 {
				var err error
				if list, err = lookupChecks(args); err != nil {
					return err
				}
			}
			switch {
			case asJSON:
				return writeChecksJSON(f.IO.Out, list)
			case markdown:
				writeChecksMarkdown(f.IO.Out, list)
			case len(args) > 0:
				writeCheckEntries(f.IO.Out, list, termWidth(f.IO.Out))
			default:
				writeChecks(f.IO.Out, list, termWidth(f.IO.Out))
			}
			return nil
		},
	}
	checks.Flags().BoolVar(&all, "all", false, "include catalogue checks the engine does not judge yet")
	checks.Flags().BoolVar(&markdown, "markdown", false, "print a Markdown table (the README's table is made this way)")
	checks.Flags().BoolVar(&asJSON, "json", false, "print the checks as a JSON array (id, level, starred, group, rule, source, implemented)")
	checks.MarkFlagsMutuallyExclusive("json", "markdown")
	devices := &cobra.Command{
		Use:   "devices",
		Short: "Print the device catalogue with each device's capabilities",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeDevices(f.IO.Out)
			return nil
		},
	}
	faults := &cobra.Command{
		Use:   "faults",
		Short: "Print the reference server's faults and the checks each must trip",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeFaults(f.IO.Out, termWidth(f.IO.Out))
			return nil
		},
	}
	suites := &cobra.Command{
		Use:   "scenarios",
		Short: "Print the built-in scenario suites",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeSuites(f)
			return nil
		},
	}
	cmd.AddCommand(checks, devices, faults, suites)
	return cmd
}

func levelLabel(c check.Spec) string {
	if c.Starred {
		return string(c.Level) + "*"
	}
	return string(c.Level)
}

// writeChecks prints the catalogue as a table whose rules wrap at width,
// each with its source under it.
func writeChecks(w io.Writer, list []check.Spec, width int) {
	idW, levelW := len("ID"), len("LEVEL")
	for _, c := range list {
		idW, levelW = max(idW, len(c.ID)), max(levelW, len(levelLabel(c)))
	}
	indent := idW + 2 + levelW + 2
	fmt.Fprintf(w, "%-*s  %-*s  %s\n", idW, "ID", levelW, "LEVEL", "RULE (SOURCE)")
	for _, c := range list {
		rule := plainRule(c.Rule)
		if !check.Implemented(c.ID) {
			rule = "(not judged yet) " + rule
		}
		lines := wrapWords(rule, width-indent)
		if c.Source != "" {
			lines = append(lines, wrapWords("source: "+c.Source, width-indent)...)
		}
		fmt.Fprintf(w, "%-*s  %-*s  %s\n", idW, c.ID, levelW, levelLabel(c), lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", indent), l)
		}
	}
	fmt.Fprintln(w)
	for _, l := range wrapWords("Levels: a failed MUST fails; a failed SHOULD or starred MUST (basis only observed or inferred) warns; INFO is only reported. 'enrollsim list checks ID' prints one check in full.", width) {
		fmt.Fprintln(w, l)
	}
}

func plainRule(rule string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(rule, "`", "")), " ")
}

func writeChecksMarkdown(w io.Writer, list []check.Spec) {
	fmt.Fprintln(w, "| ID | Level | Rule | Source |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, c := range list {
		rule := strings.ReplaceAll(c.Rule, "|", `\|`)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", c.ID, levelLabel(c), rule, strings.ReplaceAll(c.Source, "|", `\|`))
	}
}

func writeDevices(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	caps := device.AllCapabilities()
	header := []string{"REF", "PRODUCT", "NAME", "OS", "BUILD"}
	for _, c := range caps {
		header = append(header, string(c))
	}
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, d := range device.Catalogue() {
		build := d.Build
		if d.Note != "" {
			build += "*"
		}
		row := []string{d.Ref(), d.Product, d.Name, d.Family.Platform() + " " + d.OS.String(), build}
		for _, c := range caps {
			if d.Has(c) {
				row = append(row, "yes")
			} else {
				row = append(row, "-")
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	// Builds and products that are not Apple's published data are marked
	// and explained, so nobody takes a beta or reported build for Apple's.
	first := true
	for _, d := range device.Catalogue() {
		if d.Note == "" {
			continue
		}
		if first {
			fmt.Fprintln(w)
			first = false
		}
		fmt.Fprintf(w, "* %s %s: %s\n", d.Ref(), d.Build, d.Note)
	}
	fmt.Fprintln(w, "\nA device refers as FAMILY@VERSION (iphone, ipad, mac, vision) or PRODUCT@VERSION; other versions of a family are simulated on the nearest catalogue product.")
}
