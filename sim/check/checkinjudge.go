package check

import "strings"

// The checks of the steps after the identity, by judge. A check-in that
// cannot be played gives all of them its reason, in this order.
var (
	checkInOwns      = []string{"CHK-002", "CHK-003", "CHK-004", "CHK-005"}
	requestsCHK      = []string{"CHK-006"}
	requestsTOK      = []string{"TOK-004", "TOK-005"}
	firstConnectOwns = []string{"CHK-008", "CHK-012"}
)

// Media types of the MDM protocol, named in results.
const (
	MediaCheckIn = "application/x-apple-aspen-mdm-checkin"
	MediaConnect = "application/x-apple-aspen-mdm"
)

func init() {
	register(Judge{Group: "CHK", Reads: "check-in", Owns: checkInOwns, Run: func(o *Observations) *Verdicts {
		if o.CheckIn == nil {
			return nil
		}
		return JudgeCheckIn(*o.CheckIn)
	}})
	register(Judge{Group: "CHK", Reads: "check-in and commands (the requests)", Owns: requestsCHK, Run: func(o *Observations) *Verdicts {
		return JudgeRequestsCHK(o.CheckIn, o.Commands)
	}})
	register(Judge{Group: "TOK", Reads: "check-in and commands (the requests)", Owns: requestsTOK, Run: func(o *Observations) *Verdicts {
		return JudgeRequestsTOK(o.CheckIn, o.Commands)
	}})
	register(Judge{Group: "CHK", Reads: "check-in (no connect)", Owns: firstConnectOwns, Run: func(o *Observations) *Verdicts {
		if o.CheckIn == nil {
			return nil
		}
		return JudgeNoConnect(*o.CheckIn)
	}})
	register(Judge{Group: "CHK", Reads: "commands", Owns: firstConnectOwns, Run: func(o *Observations) *Verdicts {
		if o.Commands == nil {
			return nil
		}
		return JudgeCommands(*o.Commands)
	}})
}

// notPlayed gives every check of v the reason check-in could not be
// played; false when it was.
func notPlayed(v *Verdicts, c CheckIn) bool {
	switch {
	case c.NoCheckIn != "":
		v.SkipRest(c.NoCheckIn)
	case c.CannotSend != "":
		errorRest(v, c.CannotSend)
	default:
		return false
	}
	return true
}

func (c CheckIn) kind() string {
	if c.UserEnrollment {
		return "user enrollment"
	}
	return "device enrollment"
}

// JudgeCheckIn is CHK-002/003 (Authenticate of the enrollment's type),
// CHK-004 (TokenUpdate) and CHK-005 (the user enrollment's user channel).
func JudgeCheckIn(c CheckIn) *Verdicts {
	v := NewVerdicts(checkInOwns...)
	if notPlayed(v, c) {
		return v
	}
	ownID, otherID := "CHK-002", "CHK-003"
	if !c.UserEnrollment {
		ownID, otherID = otherID, ownID
	}
	v.Skip(otherID, "the enrollment is "+c.kind()+": "+otherID+" is the other type's Authenticate")
	if c.Authenticate == nil {
		v.SkipRest("Authenticate was not sent")
		return v
	}
	judgeSent(v, ownID, *c.Authenticate, "200 to Authenticate ("+c.kind()+" keys)")
	if !c.Authenticate.OK {
		v.SkipRest("Authenticate was not accepted")
		return v
	}
	tu := c.TokenUpdate
	if tu == nil {
		v.SkipRest("TokenUpdate was not sent")
		return v
	}
	perUser := c.Mac && c.PerUserCap
	if !tu.OK || !perUser {
		judgeSent(v, "CHK-004", *tu, "200 to TokenUpdate")
		if !tu.OK {
			v.Skip("CHK-005", "the device-channel TokenUpdate was not accepted")
			return v
		}
	}
	if !perUser {
		v.Skip("CHK-005", c.noUserChannel())
		return v
	}
	utu := c.UserTokenUpdate
	if utu == nil {
		v.SkipRest("the user-channel TokenUpdate was not sent")
		return v
	}
	if c.UserEnrollment {
		v.Check("CHK-004", true, "", "")
		judgeSent(v, "CHK-005", *utu, "200 to the user-channel TokenUpdate with EnrollmentUserID")
	} else {
		v.Skip("CHK-005", "device enrollment: CHK-005 is the user enrollment's user channel (this one sends UserID)")
		judgeSent(v, "CHK-004", *utu, "200 to the user-channel TokenUpdate")
	}
	return v
}

func (c CheckIn) noUserChannel() string {
	switch {
	case !c.Mac:
		return "only a Mac has a user channel; this is " + c.Platform
	case !c.UserEnrollment:
		return "device enrollment: CHK-005 is the user enrollment's user channel"
	}
	return "ServerCapabilities lacks com.apple.mdm.per-user-connections: the Mac opens no user channel"
}

// JudgeRequestsTOK judges TOK-004 and TOK-005 over every request the
// device itself sent in check-in and connect; nil before check-in.
func JudgeRequestsTOK(c *CheckIn, m *Commands) *Verdicts {
	if c == nil {
		return nil
	}
	v := NewVerdicts(requestsTOK...)
	if notPlayed(v, *c) {
		return v
	}
	var tok, bare []MDMExchange
	for _, s := range sent(c, m) {
		if s.TokenSent {
			tok = append(tok, s)
		} else {
			bare = append(bare, s)
		}
	}
	judgeGroup(v, "TOK-004", tok, "200 to check-in and connect requests with the enrollment's token",
		"no request carried the token (on a Mac only user-channel requests do)")
	if c.Mac {
		judgeGroup(v, "TOK-005", bare, "200 to device-channel requests without a token", "no device-channel request was sent")
	} else {
		v.Skip("TOK-005", "only a Mac sends device-channel requests without the token; this is "+c.Platform)
	}
	return v
}

// JudgeRequestsCHK judges CHK-006 (content type and identity) over every
// request the device itself sent in check-in and connect.
func JudgeRequestsCHK(c *CheckIn, m *Commands) *Verdicts {
	if c == nil {
		return nil
	}
	v := NewVerdicts(requestsCHK...)
	if notPlayed(v, *c) {
		return v
	}
	judgeGroup(v, "CHK-006", sent(c, m), "check-in as "+MediaCheckIn+" and connect as "+MediaConnect+", the identity as the profile's SignMessage says", "no request was sent")
	return v
}

// JudgeNoConnect gives CHK-008 and CHK-012 their reason when check-in
// ended the flow; nil when the device went on to connect.
func JudgeNoConnect(c CheckIn) *Verdicts {
	v := NewVerdicts(firstConnectOwns...)
	switch {
	case notPlayed(v, c):
	case c.Stopped != "":
		v.SkipRest("no connect: " + c.Stopped)
	default:
		return nil
	}
	return v
}

// JudgeCommands is CHK-008 (the first connect: 200 with an empty body or a
// command plist) and CHK-012 (in user enrollment the server does not ask
// for what the device withholds).
func JudgeCommands(m Commands) *Verdicts {
	v := NewVerdicts(firstConnectOwns...)
	const expected = "200 with an empty body or a command plist {CommandUUID, Command: {RequestType}}"
	switch {
	case len(m.Connects) == 0:
		v.Skip("CHK-008", "no connect was sent")
	case m.Connects[0].OK && m.FirstBad != "":
		v.Check("CHK-008", false, expected, m.FirstBad)
	default:
		judgeSent(v, "CHK-008", m.Connects[0], expected)
	}
	switch {
	case !m.UserEnrollment:
		v.Skip("CHK-012", "device enrollment: the device may report its identifiers")
	case len(m.Withheld) > 0:
		v.Note("CHK-012", "commands asked for identifiers user enrollment withholds (the device left them out): "+strings.Join(m.Withheld, "; "))
	default:
		v.Check("CHK-012", true, "", "")
	}
	return v
}
