package event

import "fmt"

// Until says how far a case goes after the profile (--until, scenario key
// until). A real device does not stop at the profile: it gets its identity,
// checks in and answers the server's first commands, and many server bugs
// live there. The zero value goes all the way.
type Until string

// How far a case goes, in flow order.
const (
	UntilProfile  Until = "profile"  // stop once the profile is judged
	UntilIdentity Until = "identity" // and the identity certificate is obtained (§2.13.1)
	UntilCheckIn  Until = "checkin"  // and Authenticate, TokenUpdate are sent (§2.13.2-3)
	UntilCommands Until = "commands" // and the first connects answer the first commands (§2.13.4)
	// UntilDDM is commands, and the declarative-management sync is due:
	// a case whose server sends no DeclarativeManagement command in the
	// first commands ends in error, as nothing could be synced.
	UntilDDM Until = "ddm"
)

var untilOrder = map[Until]int{UntilProfile: 1, UntilIdentity: 2, UntilCheckIn: 3, UntilCommands: 4, UntilDDM: 5, "": 4}

// ParseUntil reads an --until value.
func ParseUntil(s string) (Until, error) {
	switch u := Until(s); u {
	case "":
		return UntilCommands, nil
	case UntilProfile, UntilIdentity, UntilCheckIn, UntilCommands, UntilDDM:
		return u, nil
	case "check-in":
		return UntilCheckIn, nil
	}
	return "", fmt.Errorf("until %q: want profile, identity (the SCEP certificate), checkin (Authenticate and TokenUpdate), commands (connect and the first commands, the default) or ddm (and the declarative-management sync, which the server must ask for)", s)
}

// Reaches reports whether a case that goes until u plays stage v.
func (u Until) Reaches(v Until) bool { return untilOrder[u] >= untilOrder[v] }

// String is the stage's name, commands for the zero value.
func (u Until) String() string {
	if u == "" {
		return string(UntilCommands)
	}
	return string(u)
}

// stage is the Until a step after the profile belongs to; steps before it
// play whatever the Until.
var stage = map[Step]Until{
	StepIdentity: UntilIdentity, StepCheckIn: UntilCheckIn,
	StepCommands: UntilCommands, StepDDM: UntilCommands, StepTokenLife: UntilCommands,
}

// Plays reports whether a case that goes until u plays step s at all.
func (u Until) Plays(s Step) bool {
	v, after := stage[s]
	return !after || u.Reaches(v)
}

// Planned is the flow a case plays when nothing stops it, in Flow order:
// the AxM registration only when it is under test (registration), and
// web-login for the sign-in, which oauth2 replaces when the server asks
// for it; Enrollment SSO only comes when the 401 names a document, and the
// DDM sync when the server asks for it, or the case goes until ddm.
func Planned(u Until, registration bool) []Step {
	var out []Step
	for _, s := range Flow {
		if (s == StepRegistration && !registration) || s == StepOAuth2 || s == StepESSO || (s == StepDDM && u != UntilDDM) || !u.Plays(s) {
			continue
		}
		out = append(out, s)
	}
	return out
}
