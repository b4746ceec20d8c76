package sim

// Steps after the identity (§2.13.2-4).
const (
	StepCheckIn  Step = "check-in" // Authenticate, TokenUpdate (§2.13.2-3)
	StepCommands Step = "commands" // connect and the first commands (§2.13.4)
)

// mdmState is what check-in and connect have learned.
type mdmState struct {
	commands []string // RequestType of each command answered, in order
}

// checkInStep is filled in by the check-in work (issue 14, item 2).
func (r *runner) checkInStep() (*stop, StepStatus, string) {
	return nil, StepSkipped, "check-in: not built yet"
}

// commandsStep is filled in by the commands work (issue 14, item 3).
func (r *runner) commandsStep() (*stop, StepStatus, string) {
	return nil, StepSkipped, "commands: not built yet"
}

// afterProfileSummary says how far the device got after the profile, for
// the case's closing message.
func (r *runner) afterProfileSummary() string {
	return ""
}
