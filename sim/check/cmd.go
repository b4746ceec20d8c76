package check

import (
	"fmt"
	"strings"
)

var commandOwns = []string{"CMD-001"}

func init() {
	register(Judge{Group: "CMD", Reads: "commands", Owns: commandOwns, Run: func(o *Observations) *Verdicts {
		if o.Commands == nil {
			return nil
		}
		return JudgeForbiddenCommands(*o.Commands)
	}})
}

// JudgeForbiddenCommands is CMD-001: a user enrollment (a personal
// device) gets no command that Apple's schema forbids in user enrollment
// on its platform. The device refuses each; the server is judged for
// sending it, with the command's text.
func JudgeForbiddenCommands(c Commands) *Verdicts {
	v := NewVerdicts(commandOwns...)
	if !c.UserEnrollment {
		v.Skip("CMD-001", "a device enrollment: the user-enrollment command rules do not apply")
		return v
	}
	var sent []string
	for _, f := range c.Forbidden {
		sent = append(sent, fmt.Sprintf("%s, which user enrollment forbids on %s: %s", f.RequestType, f.Platform, f.Text))
	}
	v.Check("CMD-001", len(sent) == 0, "no command that Apple's schema forbids in user enrollment (EraseDevice, ClearPasscode, DeviceLock on macOS...)",
		"the server sent "+strings.Join(sent, "; "))
	return v
}
