package cli

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
)

// decorate gives every command of the tree, whoever declared its flags,
// what they share: shell completion of flag values and suite names, "did
// you mean" for a mistyped fault or suite, and run's grouped help. Flags
// are found by name, so a flag added later gets its completion too.
func decorate(root *cobra.Command) {
	root.SuggestionsMinimumDistance = 2
	walk(root, func(c *cobra.Command) {
		for name, fn := range flagCompletions {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		switch c.CommandPath() {
		case "enrollsim run", "enrollsim step", "enrollsim validate":
			c.ValidArgsFunction = completeSuites
		case "enrollsim list checks":
			c.ValidArgsFunction = completeCheckArgs
		}
		if c.Flags().Lookup("fault") != nil || c.ValidArgsFunction != nil {
			prev := c.PreRunE
			c.PreRunE = func(cmd *cobra.Command, args []string) error {
				if err := checkTypos(cmd, args); err != nil {
					return err
				}
				if prev != nil {
					return prev(cmd, args)
				}
				return nil
			}
		}
		if p := c.CommandPath(); p == "enrollsim run" || p == "enrollsim step" {
			groupFlagHelp(c, runFlagGroups)
		}
	})
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

type completeFunc = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective)

// flagCompletions complete flag values by flag name.
var flagCompletions = map[string]completeFunc{
	"fault":        completeFaults,
	"device":       completeDevices,
	"checks":       completeCheckList,
	"expect-fail":  completeCheckIDs,
	"until":        fixed("profile\tstop once the profile is judged", "identity\tand the SCEP certificate", "checkin\tand Authenticate, TokenUpdate", "commands\tand the first commands (the default)", "ddm\tand the declarative-management sync"),
	"report":       completeReports,
	"type":         fixed("user\tuser enrollment (BYOD)", "device\tdevice enrollment (ADDE)", "auto\twhatever the server offers"),
	"login-driver": fixed("form\tHTML forms, no JavaScript", "browser\tChromium", "auto\tform first, then the browser"),
}

func fixed(values ...string) completeFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

func completeFaults(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, ft := range refserver.Faults() {
		out = append(out, cobra.CompletionWithDesc(ft.Name, ft.Doc))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeDevices(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	seen := map[string]bool{}
	for _, d := range device.Catalogue() {
		if ref := d.Ref(); !seen[ref] {
			seen[ref] = true
			out = append(out, cobra.CompletionWithDesc(ref, d.Name+", "+d.Family.Platform()+" "+d.OS.String()))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func completeCheckIDs(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, c := range check.Checks() {
		out = append(out, cobra.CompletionWithDesc(c.ID, shortRule(c.Rule)))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeCheckList completes the last item of a comma list of check IDs
// and family patterns (WK-*,RD-002).
func completeCheckList(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	head := ""
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		head = toComplete[:i+1]
	}
	var out []cobra.Completion
	families := map[string]bool{}
	for _, c := range check.Checks() {
		fam, _, _ := strings.Cut(c.ID, "-")
		if !families[fam] {
			families[fam] = true
			out = append(out, cobra.CompletionWithDesc(head+fam+"-*", "every "+fam+" check"))
		}
		out = append(out, cobra.CompletionWithDesc(head+c.ID, shortRule(c.Rule)))
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

func completeCheckArgs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return completeCheckIDs(cmd, args, toComplete)
}

func shortRule(rule string) string {
	r := []rune(plainRule(rule))
	if len(r) > 70 {
		return string(r[:69]) + "…"
	}
	return string(r)
}

// completeReports offers FORMAT= first, then files for the path.
func completeReports(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []cobra.Completion
	for _, f := range report.FormatNames() {
		out = append(out, f+"=")
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeSuites offers the built-in suites, and files and directories.
func completeSuites(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	// Names only: describing a suite means loading it, too slow for a
	// key press.
	return scenarios.BuiltInNames(), cobra.ShellCompDirectiveDefault
}

// checkTypos refuses a fault or a suite name that is a typo of a known
// one, saying which; names that are no typo are left to the command.
func checkTypos(cmd *cobra.Command, args []string) error {
	if fl := cmd.Flags().Lookup("fault"); fl != nil {
		if sv, ok := fl.Value.(pflag.SliceValue); ok {
			names := faultNames()
			for _, v := range sv.GetSlice() {
				if !slices.Contains(names, strings.TrimSpace(v)) {
					return usageHint(fmt.Errorf("--fault %q: no such fault%s", v, didYouMean(v, names)), "'enrollsim list faults' lists them")
				}
			}
		}
	}
	if cmd.ValidArgsFunction == nil || cmd.CommandPath() == "enrollsim list checks" {
		return nil
	}
	suites := scenarios.BuiltInNames()
	for _, a := range args {
		if slices.Contains(suites, a) {
			continue
		}
		if _, err := os.Stat(a); err == nil {
			continue
		}
		if m := scenarios.Suggest(a, suites); m != "" {
			return usageHint(fmt.Errorf("%s: no such file or directory, and no built-in suite of that name; did you mean %q?", a, m), "'enrollsim list scenarios' lists the built-in suites")
		}
	}
	return nil
}

func faultNames() []string {
	var out []string
	for _, ft := range refserver.Faults() {
		out = append(out, ft.Name)
	}
	return out
}

// cobra words an unknown flag "unknown flag: --emial".
var unknownFlag = regexp.MustCompile(`^unknown flag: --([\w-]+)`)

// suggestFlag adds "did you mean --email?" to an unknown flag's error.
func suggestFlag(c *cobra.Command, err error) error {
	m := unknownFlag.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	var names []string
	add := func(f *pflag.Flag) { names = append(names, f.Name) }
	c.Flags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	if s := scenarios.Suggest(m[1], names); s != "" {
		return fmt.Errorf("%w; did you mean --%s?", err, s)
	}
	return err
}
