package check

import "fmt"

// The second factor's judges: the device's own sign-in (TOTP-001, -002,
// -006), then the probes with a wrong, a replayed and an old code.
func init() {
	register(Judge{Group: "TOTP", Reads: "sign-in code", Owns: secondFactorOwns, Run: runSignIn(JudgeSecondFactor)})
	register(Judge{Group: "TOTP", Reads: "sign-in code probes", Owns: codeProbeOwns, Run: runSignIn(JudgeCodeProbes)})
}

var (
	secondFactorOwns = []string{"TOTP-001", "TOTP-002", "TOTP-006"}
	codeProbeOwns    = []string{"TOTP-003", "TOTP-004", "TOTP-005"}
)

// JudgeSecondFactor: TOTP-001, -002, -006 from the device's own sign-in.
func JudgeSecondFactor(s *SignIn) *Verdicts {
	v := NewVerdicts(secondFactorOwns...)
	if !s.SecondFactor {
		v.SkipRest("the scenario declares no second factor")
		return v
	}
	l := &s.Login
	v.Check("TOTP-001", !l.CallbackBeforeSecondFactor, "no callback before the one-time code", "the callback came right after the password, without asking for a code")
	switch {
	case l.SecondFactorSeen && l.HasCallback():
		v.Check("TOTP-002", true, "", "")
	case l.SecondFactorSeen && l.AtLimit:
		// The code was never submitted as the page wants it: the server
		// did not refuse it.
		v.Error("TOTP-002", l.Failure)
	case l.SecondFactorSeen && l.Untestable:
		// The code went through, and the page after it is one the tester
		// cannot run (a script that fetches the callback): that says
		// nothing of the code.
		v.Error("TOTP-002", "the page after the one-time code could not be followed: "+l.Failure)
	case l.SecondFactorSeen:
		v.Check("TOTP-002", false, "a correct RFC 6238 code completes the sign-in", l.Failure)
	default:
		v.Skip("TOTP-002", "no one-time-code form was reached")
	}
	switch {
	case l.FormJS != nil && l.FormJS.FirstFactorDone && !l.FormJS.SecondFactorSeen:
		// The browser reached it, but a page without JavaScript would not
		// have: what TOTP-006 is there to tell.
		v.Note("TOTP-006", "the second factor needs JavaScript: past the password, the form driver found no code form; the browser reached it")
	case l.SecondFactorSeen:
		v.Check("TOTP-006", true, "", "")
	case l.NeedsJavaScript:
		v.Note("TOTP-006", "the second factor could not be reached without JavaScript")
	default:
		v.Skip("TOTP-006", "no second-factor page")
	}
	return v
}

// JudgeCodeProbes: a wrong code (TOTP-003), the code just used (TOTP-004)
// and a code two steps old (TOTP-005) are refused.
func JudgeCodeProbes(s *SignIn) *Verdicts {
	v := NewVerdicts(codeProbeOwns...)
	p := s.Probes
	switch {
	case s.NoProbes || p == nil:
		v.SkipRest("probes are off (--no-probes)")
		return v
	case !s.SecondFactor:
		v.SkipRest("the scenario declares no second factor")
		return v
	}
	if p.WrongCodeErr != "" {
		v.Error("TOTP-003", p.WrongCodeErr)
	} else {
		judgeCodeProbe(v, "TOTP-003", p.WrongCode, "no token for a wrong code; the form again or a lockout", "a wrong code got the callback")
	}
	if p.Replay == nil {
		v.Skip("TOTP-004", "the device's own sign-in used no code")
	} else {
		judgeCodeProbe(v, "TOTP-004", p.Replay, "a used code is refused in the same time step", "the replayed code got a second callback")
	}
	if p.SkewErr != "" {
		v.Error("TOTP-005", p.SkewErr)
	} else {
		judgeCodeProbe(v, "TOTP-005", p.Skew, "a code outside ±1 step is refused", "a code two steps old got the callback")
	}
	return v
}

// judgeCodeProbe judges one probe that typed a code the server must
// refuse. Only the wrong code is held to "never a 5xx" (TOTP-003's rule).
func judgeCodeProbe(v *Verdicts, id string, p *Login, expected, accepted string) {
	switch {
	case p == nil:
		v.Skip(id, "the probe was not played")
	case p.Codes == 0:
		v.Skip(id, "the probe never reached the code form: "+p.Failure)
	case p.HasCallback():
		v.Check(id, false, expected, accepted)
	case id == "TOTP-003" && p.ServerError() != 0:
		v.Check(id, false, expected+", never a 5xx", fmt.Sprintf("status %d", p.ServerError()))
	case p.Transport != "":
		v.Error(id, "the probe could not be read: "+p.Transport)
	case p.AtLimit:
		v.Error(id, "the probe could not submit the code: "+p.Failure)
	default:
		v.Check(id, true, "", "")
	}
}
