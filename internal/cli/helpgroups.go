package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagGroupAnnotation, set on a flag, names its group in grouped help; it
// wins over the table below, so whoever adds a flag can place it.
const flagGroupAnnotation = "enrollsim/group"

// A flag group of grouped help: its title and its flags, by name.
type flagGroup struct {
	title string
	flags []string
}

// runFlagGroups order run's flags for --help. The flags are declared where
// they are parsed (run.go); only their place in the help is said here.
// A flag named nowhere is listed under "Other flags".
var runFlagGroups = []flagGroup{
	{"Target flags (where the devices enroll)", []string{"embedded", "fault", "resolve", "connect-to", "cacert", "stock-ca", "axm-url",
		"admin-revoke-token", "admin-expire-token", "admin-unenroll", "admin-queue", "admin-declarations",
		"ddm", "no-push", "command-delay", "apns-listen", "apns-cert-out"}},
	{"Account flags (who signs in, and how)", []string{"email", "type", "username", "managed-apple-id", "password-env", "password-file",
		"totp-secret-env", "totp-secret-file", "totp-digits", "totp-period", "totp-algorithm", "login-driver", "login-form",
		"login-username", "login-password", "login-otp", "login-submit", "login-field", "browser-path", "expect-no-enroll"}},
	{"Device flags (what plays, and its quirks)", []string{"device", "exactly-one-at", "omit-model-family", "no-fallback-on-rejection",
		"form-encoded-body", "append-login-query", "totp-offset", "totp-wrong", "replay-body"}},
	{"Report flags (what is judged and written)", []string{"report", "checks", "strict", "expect-fail", "expectations", "verbose",
		"quiet", "artifacts"}},
	{"Limit flags (how far, how long, how many)", []string{"until", "discovery-only", "no-probes", "timeout", "page-timeout", "poll",
		"stay", "parallel", "shard", "fail-fast"}},
}

// groupFlagHelp makes c's usage list its flags by group.
func groupFlagHelp(c *cobra.Command, groups []flagGroup) {
	c.SetUsageFunc(func(cmd *cobra.Command) error {
		writeGroupedUsage(cmd.OutOrStderr(), cmd, groups, termWidth(cmd.OutOrStdout()))
		return nil
	})
}

func writeGroupedUsage(w io.Writer, cmd *cobra.Command, groups []flagGroup, width int) {
	fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.Example != "" {
		fmt.Fprintf(w, "\nExamples:\n%s\n", cmd.Example)
	}
	sets, order := groupFlags(cmd.LocalFlags(), groups)
	for _, title := range order {
		fmt.Fprintf(w, "\n%s:\n%s", title, sets[title].FlagUsagesWrapped(width))
	}
	if inh := cmd.InheritedFlags(); inh.HasAvailableFlags() {
		fmt.Fprintf(w, "\nGlobal flags:\n%s", inh.FlagUsagesWrapped(width))
	}
}

// groupFlags sorts fs's flags into one flag set per group, in the groups'
// order, "Other flags" last.
func groupFlags(fs *pflag.FlagSet, groups []flagGroup) (map[string]*pflag.FlagSet, []string) {
	byName := map[string]string{}
	var titles []string
	for _, g := range groups {
		titles = append(titles, g.title)
		for _, n := range g.flags {
			byName[n] = g.title
		}
	}
	const other = "Other flags"
	sets := map[string]*pflag.FlagSet{}
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		title := byName[f.Name]
		if a := f.Annotations[flagGroupAnnotation]; len(a) > 0 {
			title = groupTitle(a[0], groups)
		}
		if title == "" {
			title = other
		}
		if sets[title] == nil {
			sets[title] = pflag.NewFlagSet(title, pflag.ContinueOnError)
			sets[title].SortFlags = false
		}
		sets[title].AddFlag(f)
	})
	var order []string
	for _, t := range append(titles, other) {
		if sets[t] != nil {
			order = append(order, t)
		}
	}
	return sets, order
}

// groupTitle finds a group by the first word of its title ("target").
func groupTitle(word string, groups []flagGroup) string {
	for _, g := range groups {
		if strings.EqualFold(strings.Fields(g.title)[0], word) {
			return g.title
		}
	}
	return ""
}
