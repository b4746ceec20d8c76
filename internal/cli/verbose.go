package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// verboseHint explains a -v given where there is nothing to be verbose
// about: -v means --verbose, never --version (cobra's default), as in curl
// and kubectl, so 'enrollsim -v' asks for something the root command does
// not do.
func verboseHint(c *cobra.Command, err error) string {
	if !strings.Contains(err.Error(), "'v' in -v") {
		return ""
	}
	return "-v is --verbose (of 'enrollsim run' and 'enrollsim step'; -vv adds headers and bodies); the version is 'enrollsim --version'"
}
