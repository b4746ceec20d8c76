package check

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

var (
	tokenLifeCHK = []string{"CHK-010", "CHK-007", "CHK-009"}
	otherTOK     = []string{"TOK-008"}
	serverActs   = []string{"TOK-006", "TOK-009", "TOK-007"}
	checkOutCHK  = []string{"CHK-011"}
)

func init() {
	tl := func(j func(TokenLife) *Verdicts) func(o *Observations) *Verdicts {
		return func(o *Observations) *Verdicts {
			if o.TokenLife == nil {
				return nil
			}
			return j(*o.TokenLife)
		}
	}
	register(Judge{Group: "CHK", Reads: "token-life", Owns: tokenLifeCHK, Run: tl(JudgeTokenLifeCHK)})
	register(Judge{Group: "CHK", Reads: "token-life (CheckOut)", Owns: checkOutCHK, Run: tl(JudgeCheckOut)})
	register(Judge{Group: "TOK", Reads: "token-life (the other enrollment)", Owns: otherTOK, Run: tl(JudgeOtherEnrollment)})
	register(Judge{Group: "TOK", Reads: "token-life (the server acts)", Owns: serverActs, Run: tl(JudgeServerActs)})
}

// tokenBlocked judges a check that needs a token-bearing request: skipped
// where the device sends none, error where the server refused the channel.
func tokenBlocked(v *Verdicts, id, why string) {
	if strings.HasPrefix(why, "blocked") {
		v.Error(id, why)
	} else {
		v.Skip(id, why)
	}
}

func joinNote(s, note string) string {
	if note == "" {
		return s
	}
	return s + "; " + note
}

func refused(status int) bool { return status < 200 || status > 299 }

// JudgeTokenLifeCHK is CHK-010 (GetToken), CHK-007 (another Topic is
// refused) and CHK-009 (another enrollment's token is refused).
func JudgeTokenLifeCHK(o TokenLife) *Verdicts {
	v := NewVerdicts(tokenLifeCHK...)
	judgeGetToken(v, o.GetToken)
	if o.NoProbes {
		v.SkipRest("probes are off (--no-probes)")
		return v
	}
	switch p := o.Topic; {
	case p == nil:
		v.Skip("CHK-007", "the probe was not sent")
	case p.Why != "":
		v.Error("CHK-007", joinNote(p.Why, p.Restore))
	default:
		res := Verdict("CHK-007", refused(p.Answer.Status), "a refusal (not 2xx) for Topic "+p.Topic, p.Answer.Summary)
		res.Detail = p.Restore
		v.Add(res)
	}
	judgeOther(v, "CHK-009", "a refusal for this enrollment's request carrying another enrollment's token", o)
	return v
}

// JudgeOtherEnrollment is TOK-008's second half (the profile step judges
// the first): a token bound to another enrollment does not serve this
// one. Nil with probes off.
func JudgeOtherEnrollment(o TokenLife) *Verdicts {
	if o.NoProbes {
		return nil
	}
	v := NewVerdicts(otherTOK...)
	judgeOther(v, "TOK-008", "a token bound to another enrollment is refused from this one", o)
	return v
}

func judgeOther(v *Verdicts, id, expected string, o TokenLife) {
	p := o.Other
	switch {
	case o.NoToken != "":
		tokenBlocked(v, id, o.NoToken)
		return
	case p == nil:
		v.Skip(id, "the probe was not sent")
		return
	case p.NoSecond != "":
		v.Error(id, "no second enrollment to take a token from: "+p.NoSecond)
		return
	case p.Why != "":
		v.Error(id, joinNote(p.Why, p.Restore))
		return
	}
	no := refused(p.Answer.Status)
	same, whose := p.tokenUser()
	res := Verdict(id, no, expected, "accepted "+whose+": "+p.Answer.Summary)
	if !no && same {
		// Apple says a server "can" keep checking which enrollment a
		// token belongs to: one that knows the device by its identity
		// certificate and the user by the token is within the rules.
		// Another user's token stays a finding.
		res = With(id, Noted, res.Actual+"; Apple lets a server tell devices apart by their identity certificate, so this is noted, not warned (enrollsim holds no other user's token to try)")
		res.Detail = joinNote(res.Detail, p.Restore)
	} else {
		res.Detail = p.Restore
	}
	v.Add(res)
}

// tokenUser says whose the second device's token is. It was got by
// signing in with this case's own account, so it is the same user's
// unless the server says otherwise: its profile for the second device
// names another AssignedManagedAppleID than this one's.
func (p OtherProbe) tokenUser() (same bool, whose string) {
	if p.Own != "" && p.Assigned != "" && !strings.EqualFold(p.Own, p.Assigned) {
		return false, fmt.Sprintf("a token of another user (the second enrollment's profile is for %s, this one's for %s)", p.Assigned, p.Own)
	}
	who := p.Account
	for _, s := range []string{p.Assigned, p.Own} {
		if s != "" {
			who = s
		}
	}
	return true, fmt.Sprintf("a token of another enrollment of the same user (%s; the probe's second device signed in with this case's account)", who)
}

// judgeGetToken is CHK-010: GetToken only when com.apple.mdm.token is
// advertised; com.apple.maid answered with TokenData that is a signed JWT,
// an unknown service refused with 400. A WARN at most, whatever the
// catalogue's level, for the JWT and the unknown service, since a
// TokenData that is no JWT may still be one the server's own services
// read (Apple documents the JWT, not a device's refusal).
func judgeGetToken(v *Verdicts, g GetToken) {
	switch {
	case g.NotAdvertised:
		v.Skip("CHK-010", "the profile does not advertise com.apple.mdm.token: the device sends no GetToken")
		return
	case g.Why != "":
		v.Error("CHK-010", g.Why)
		return
	case g.Problem != "":
		v.Check("CHK-010", false, "200 with a plist carrying TokenData for com.apple.maid", g.Problem)
		return
	}
	said := fmt.Sprintf("com.apple.maid: TokenData of %d bytes", g.Size)
	var problems []string
	if g.JWTProblem != "" {
		said = fmt.Sprintf("com.apple.maid: TokenData of %d bytes that is not a signed JWT (%s)", g.Size, g.JWTProblem)
		problems = append(problems, said)
	}
	expected := "TokenData for com.apple.maid that is a signed JWT (three base64url parts separated by dots, the first a JSON header with alg)"
	if u := g.Unknown; u != nil {
		expected += ", and 400 for an unknown TokenServiceType"
		said += fmt.Sprintf("; %s: %s", TokenServiceUnknown, u.Summary)
		if u.Status != 400 {
			problems = append(problems, TokenServiceUnknown+": "+u.Summary)
		}
	}
	if len(problems) == 0 {
		v.Check("CHK-010", true, "", said)
		return
	}
	res := Verdict("CHK-010", false, expected, said)
	if res.Status == Fail {
		res.Status = Warn
	}
	v.Add(res)
}

// JWTProblem says why data is not shaped as a signed JWT (JWS compact
// serialisation, RFC 7515 §7.1): three non-empty base64url parts separated
// by dots, the first decoding to a JSON object header naming its alg; ""
// when it is. It never quotes the data: a TokenData is a credential.
func JWTProblem(data []byte) string {
	s := strings.TrimSpace(string(data))
	parts := strings.Split(s, ".")
	switch {
	case len(parts) == 1:
		return "no dot: one part where a JWT has three"
	case len(parts) != 3:
		return fmt.Sprintf("%d dot-separated parts where a JWT has three", len(parts))
	}
	names := []string{"header", "payload", "signature"}
	for i, p := range parts {
		if p == "" {
			return "the " + names[i] + " part is empty"
		}
		if _, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(p, "=")); err != nil {
			return "the " + names[i] + " part is not base64url"
		}
	}
	head, _ := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	var header map[string]any
	if err := json.Unmarshal(head, &header); err != nil || header == nil {
		return "the header part does not decode to a JSON object"
	}
	if alg, _ := header["alg"].(string); alg == "" {
		return "the JSON header has no alg"
	}
	return ""
}

// JudgeServerActs is TOK-006 (revoke) and TOK-009 (expire): after the
// server drops the token, the next request gets a 401 with a challenge,
// the device signs in again and the retried request is accepted; and
// TOK-007: a device the server unenrolled gets 403
// com.apple.unrecognized.device, not a bare 401.
func JudgeServerActs(o TokenLife) *Verdicts {
	v := NewVerdicts(serverActs...)
	if o.NoProbes {
		// The admin hooks and the sign-ins again are the tester's doing,
		// not the device's: off with the other probes.
		v.SkipAll("probes are off (--no-probes): the server is not asked to revoke, expire or unenroll", "TOK-006", "TOK-007", "TOK-009")
		return v
	}
	switch {
	case o.NoToken != "":
		tokenBlocked(v, "TOK-006", o.NoToken)
	default:
		judgeReauth(v, "TOK-006", "new", o.Revoke)
	}
	switch {
	case !o.OAuth:
		v.Skip("TOK-009", "not an OAuth 2 enrollment: an apple-as-web token has no expires_in")
	case o.NoToken != "":
		tokenBlocked(v, "TOK-009", o.NoToken)
	default:
		judgeReauth(v, "TOK-009", "refreshed", o.Expire)
	}
	judgeUnenroll(v, o.Unenroll)
	return v
}

func judgeReauth(v *Verdicts, id, token string, a *Reauth) {
	expected := "401 with a WWW-Authenticate Bearer challenge, then the request retried with the " + token + " token accepted"
	switch {
	case a == nil:
		v.Skip(id, "the server was not asked to drop the token")
	case a.NoHook:
		v.Skip(id, "the target has no "+a.What+" hook (target.admin."+strings.ReplaceAll(a.What, "-", "_")+")")
	case a.Why != "":
		v.Error(id, a.Why)
	case a.Answer.Status == 401 && !a.Challenged:
		v.Check(id, false, expected, "a bare 401, which makes a device remove its profile")
	case !a.Challenged:
		v.Check(id, false, expected, a.Answer.Summary+" to a request with the "+strings.TrimSuffix(a.What, "-token")+"d token")
	case !a.SignedIn && !a.SignInBlame:
		v.Error(id, "401 with a challenge; signing in again could not be judged: "+a.SignInWhy)
	case !a.SignedIn:
		v.Check(id, false, expected, "401 with a challenge, but "+a.SignInWhy)
	default:
		v.Check(id, a.Retry.Status == 200, expected, fmt.Sprintf("401 with a %s challenge; after the %s the retried request got %s", a.Method, a.How, a.Retry.Summary))
	}
}

func judgeUnenroll(v *Verdicts, u *Unenroll) {
	switch {
	case u == nil:
		v.Skip("TOK-007", "the server was not asked to unenroll")
	case u.Blocked != "":
		v.Error("TOK-007", u.Blocked)
	case u.NoHook:
		v.Skip("TOK-007", "the target has no unenroll hook (target.admin.unenroll)")
	case u.Why != "":
		v.Error("TOK-007", u.Why)
	default:
		actual := u.Answer.Summary
		if u.Bare401 {
			actual = "a bare 401 (" + actual + ")"
		}
		v.Check("TOK-007", u.Asked, `403 with {"code":"com.apple.unrecognized.device"}`, actual)
	}
}

// JudgeCheckOut is CHK-011: a device whose profile sets
// CheckOutWhenRemoved sends CheckOut when the profile goes, with no valid
// token, and the server takes it.
func JudgeCheckOut(o TokenLife) *Verdicts {
	v := NewVerdicts(checkOutCHK...)
	c := o.CheckOut
	switch {
	case c.NotSet:
		v.Skip("CHK-011", "the profile does not set CheckOutWhenRemoved: the device sends no CheckOut")
	case c.Why != "":
		v.Error("CHK-011", c.Why)
	default:
		v.Check("CHK-011", c.Answer.Status == 200, "200 to a CheckOut that carries no token", c.Answer.Summary)
	}
	return v
}
