package cli

import (
	"fmt"
	"regexp"

	"github.com/spf13/cobra"
)

// pflag words a bad value as `invalid argument "abc" for "--parallel"
// flag: strconv.ParseInt: parsing "abc": invalid syntax`: the flag and the
// value, then Go's parser. What people need instead is what is accepted.
var invalidFlagValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: `)

// flagError rewrites a bad flag value into "--flag "value": want ...".
// Other flag errors (unknown flag, missing value) are cobra's words, an
// unknown flag with the flag it may be a typo of.
func flagError(c *cobra.Command, err error) error {
	m := invalidFlagValue.FindStringSubmatch(err.Error())
	if m == nil {
		return suggestFlag(c, err)
	}
	value, name := m[1], m[2]
	fl := c.Flags().Lookup(name)
	if fl == nil {
		return err
	}
	var want string
	switch fl.Value.Type() {
	case "int", "int64", "uint", "uint64":
		want = "a whole number, e.g. " + exampleOr(fl.DefValue, "4")
	case "duration":
		want = "a duration such as 15s, 1m30s or 500ms (units: ms, s, m, h)"
	case "bool":
		want = "true or false (or the flag alone for true)"
	default:
		return err
	}
	return fmt.Errorf("--%s %q: want %s", name, value, want)
}

func exampleOr(def, fallback string) string {
	if def == "" || def == "0" {
		return fallback
	}
	return def
}
