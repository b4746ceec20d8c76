package check

import (
	"fmt"
	"strings"
)

var commandOwns = []string{"CMD-001", "CMD-002", "CMD-003"}

// againstTheOwner are the commands that act against a personal device's
// owner: its data erased, the device locked, its passcode removed. CMD-001
// judges these where Apple's schema forbids them in user enrollment. Other
// commands the schema forbids there (InstalledApplicationList on macOS...)
// are refused by the device at no cost to its owner, and are not judged.
var againstTheOwner = map[string]bool{"EraseDevice": true, "DeviceLock": true, "ClearPasscode": true}

func init() {
	register(Judge{Group: "CMD", Reads: "commands", Owns: commandOwns, Run: func(o *Observations) *Verdicts {
		if o.Commands == nil {
			return nil
		}
		return JudgeForbiddenCommands(*o.Commands)
	}})
}

// JudgeForbiddenCommands is CMD-001: a user enrollment (a personal
// device) gets no command against its owner (EraseDevice, DeviceLock,
// ClearPasscode) where Apple's schema forbids it in user enrollment on its
// platform. The device refuses each; the server is judged for sending it,
// with the command's text.
func JudgeForbiddenCommands(c Commands) *Verdicts {
	v := NewVerdicts(commandOwns...)
	if !c.UserEnrollment {
		v.SkipAll("a device enrollment: the user-enrollment command rules do not apply", "CMD-001", "CMD-002")
		judgeUnavailable(v, c)
		return v
	}
	var sent []string
	for _, f := range c.Forbidden {
		if !againstTheOwner[f.RequestType] {
			continue
		}
		sent = append(sent, fmt.Sprintf("%s, which user enrollment forbids on %s: %s", f.RequestType, f.Platform, f.Text))
	}
	v.Check("CMD-001", len(sent) == 0, "no EraseDevice, DeviceLock or ClearPasscode where Apple's schema forbids it in user enrollment",
		"the server sent "+strings.Join(sent, "; "))
	var payloads []string
	for _, p := range c.ForbiddenPayloads {
		payloads = append(payloads, fmt.Sprintf("%s (%s) in InstallProfile %s, which user enrollment forbids on %s", p.PayloadType, Printable(p.PayloadIdentifier), p.CommandUUID, p.Platform))
	}
	v.Check("CMD-002", len(payloads) == 0, "no InstallProfile with a payload Apple's schema forbids in user enrollment on the device's platform",
		"the server sent "+strings.Join(payloads, "; ")+"; the device refused the whole profile")
	judgeUnavailable(v, c)
	return v
}

// judgeUnavailable is CMD-003: the server sends only commands the device's
// platform and OS version have (Apple's schema: supportedOS introduced and
// removed). The device answers the others with an error; a SHOULD, since
// a server may send first and learn from the answer.
func judgeUnavailable(v *Verdicts, c Commands) {
	v.Check("CMD-003", len(c.Unavailable) == 0, "only commands the device's platform and OS version have",
		"the server sent "+strings.Join(c.Unavailable, "; ")+"; the device answered each with an error")
}
