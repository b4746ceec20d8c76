package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/refserver"
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
	var all, markdown bool
	checks := &cobra.Command{
		Use:   "checks",
		Short: "Print the conformance checks: ID, level, rule, source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			list := check.Checks()
			if all {
				list = check.AllChecks()
			}
			if markdown {
				writeChecksMarkdown(f.IO.Out, list)
				return nil
			}
			writeChecks(f.IO.Out, list)
			return nil
		},
	}
	checks.Flags().BoolVar(&all, "all", false, "include catalogue checks the engine does not judge yet")
	checks.Flags().BoolVar(&markdown, "markdown", false, "print a Markdown table (the README's table is made this way)")
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
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FAULT\tTRIPS\tPROBE\tWHAT IT DOES")
			for _, ft := range refserver.Faults() {
				trips := strings.Join(ft.Trips, ",")
				if trips == "" {
					trips = "-"
				}
				probe := ft.Probe + " " + ft.Account
				if ft.Driver != "" {
					probe += " (" + ft.Driver + ")" // the sign-in needs that login driver
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ft.Name, trips, probe, ft.Doc)
			}
			return tw.Flush()
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

func writeChecks(w io.Writer, list []check.Spec) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tRULE\tSOURCE")
	for _, c := range list {
		rule := strings.Join(strings.Fields(strings.ReplaceAll(c.Rule, "`", "")), " ")
		if !check.Implemented(c.ID) {
			rule = "(not judged yet) " + rule
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, levelLabel(c), rule, c.Source)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nLevels: a failed MUST fails; a failed SHOULD or starred MUST (basis only observed or inferred) warns; INFO is only reported.")
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
