package sim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// unknownTokenService is a TokenServiceType no server issues (CHK-010).
const unknownTokenService = check.TokenServiceUnknown

// tokenLifeStep plays what comes after the first commands. Probes (the
// wrong topic, another enrollment's token) are off with --no-probes; the
// admin-driven checks run when the target has the hook. Every request is
// sent first; the judges then read what each saw.
func (r *runner) tokenLifeStep() (*stop, event.StepStatus, string) {
	m := r.mdm
	if m == nil || !m.checkedIn {
		return nil, event.StepSkipped, "the device did not check in"
	}
	o := &check.TokenLife{NoProbes: r.c.NoProbes, OAuth: r.oauth != nil}
	r.obs.TokenLife = o
	user, noToken := r.tokenChannel()
	if !m.connected && noToken == "" {
		noToken = "blocked: the device could not connect (CHK-008)"
	}
	o.NoToken = noToken
	o.GetToken = r.getToken(user)
	var done []string
	unenrolled := false
	if !r.c.NoProbes {
		o.Topic = r.topicProbe(user)
		var other *otherEnrollment
		if noToken == "" {
			o.Other, other = r.otherEnrollmentProbe(user)
		}
		unenrolled, done = r.serverActs(o, user, other)
	}
	var checkedOut bool
	o.CheckOut, checkedOut = r.checkOut(unenrolled)
	if checkedOut {
		done = append(done, "checked out")
	}
	// The order results have always come in: with probes off the server
	// acts are skipped first.
	acts := check.JudgeServerActs(*o)
	if o.NoProbes {
		r.judged(acts)
	}
	r.judged(check.JudgeTokenLifeCHK(*o))
	r.judged(check.JudgeOtherEnrollment(*o))
	if !o.NoProbes {
		r.judged(acts)
	}
	r.judged(check.JudgeCheckOut(*o))
	if len(done) == 0 {
		return nil, event.StepOK, "token life: nothing the target could be asked to do"
	}
	return nil, event.StepOK, strings.Join(done, "; ")
}

// serverActs asks the server, through the target's admin hooks, to revoke
// and expire the token (TOK-006, TOK-009) and to unenroll (TOK-007).
func (r *runner) serverActs(o *check.TokenLife, user bool, other *otherEnrollment) (bool, []string) {
	// What follows a hook is the tester's doing (the server acts because
	// it was asked), so every request is a probe's.
	r.probing = true
	defer func() { r.probing = false }()
	var done []string
	if o.NoToken == "" {
		var ok bool
		if o.Revoke, ok = r.reauthCheck("TOK-006", r.c.Target.Admin.RevokeToken, "revoke-token", user); ok {
			done = append(done, "signed in again after the server revoked the token")
		}
		if o.OAuth {
			if o.Expire, ok = r.reauthCheck("TOK-009", r.c.Target.Admin.ExpireToken, "expire-token", user); ok {
				done = append(done, "refreshed the expired token")
			}
		}
	}
	// The server unenrolls the probe's second device when there is one,
	// so the case's own enrollment checks out while the server still
	// knows it: CHK-011's harder case, since a server may take a CheckOut
	// without a token only from a device it has already dropped.
	unenrolled := false
	switch {
	case other != nil:
		var ok bool
		if o.Unenroll, ok = r.unenrollCheck(other.ids, other.opts(r, "the second device"), "the probe's second device"); ok {
			done = append(done, "the server unenrolled the probe's second device")
		}
		r.checkOutOther(other)
	case r.mdm.connected:
		o.Unenroll, unenrolled = r.unenrollCheck(r.mdm.ids, mdmOpts{}, "this device")
		if unenrolled {
			done = append(done, "unenrolled by the server")
		}
	default:
		o.Unenroll = &check.Unenroll{Who: "this device", Blocked: "blocked: the device could not connect (CHK-008)"}
	}
	return unenrolled, done
}

// tokenChannel says which channel carries the token in token life: every
// request on iOS, iPadOS and visionOS; on a Mac the user channel only, and
// why not when the Mac has none that works.
func (r *runner) tokenChannel() (user bool, why string) {
	m := r.mdm
	switch {
	case r.c.Device.Family != device.Mac:
		return false, ""
	case !m.cfg.has(capPerUser):
		return false, "the Mac has no user channel (the profile lacks com.apple.mdm.per-user-connections): no request carries the token"
	case !m.userChannelOK:
		return false, "blocked: the user channel's TokenUpdate was refused (CHK-004/CHK-005), and only the user channel carries the token"
	}
	return true, ""
}

// getToken sends GetToken for com.apple.maid when com.apple.mdm.token is
// advertised, and (with probes) for a service no server issues (CHK-010).
func (r *runner) getToken(user bool) (g check.GetToken) {
	m := r.mdm
	if !m.cfg.has(capToken) {
		g.NotAdvertised = true
		return g
	}
	o := mdmOpts{userChannel: user, purpose: "GetToken com.apple.maid"}
	msg := r.mdm.checkInMessage("GetToken", m.ids, o.userChannel)
	msg["TokenServiceType"] = "com.apple.maid"
	resp := r.checkIn(msg, o)
	if why := unjudgeable(resp, r.lim.Timeout, "GetToken answer"); why != "" {
		g.Why = why
		return g
	}
	data, problem := tokenData(r, resp)
	if problem != "" {
		g.Problem = problem
		return g
	}
	// learnSecrets has registered it from the answer's body already; this
	// covers a TokenData the body spelled in a form it does not read.
	r.red.Add(string(data))
	g.Size, g.JWTProblem = len(data), check.JWTProblem(data)
	if r.c.NoProbes {
		return g
	}
	o = mdmOpts{userChannel: user, probe: true, purpose: "probe CHK-010: GetToken for an unknown TokenServiceType"}
	msg = r.mdm.checkInMessage("GetToken", m.ids, o.userChannel)
	msg["TokenServiceType"] = unknownTokenService
	bad := r.checkIn(msg, o)
	if why := unjudgeable(bad, r.lim.Timeout, "GetToken answer"); why != "" {
		g.Why = why
		return g
	}
	g.Unknown = &check.ReplyAnswer{Status: bad.status, Summary: answerSummary(bad)}
	return g
}

// tokenData reads a GetToken answer: 200 and {TokenData: data}.
func tokenData(r *runner, resp *response) ([]byte, string) {
	if resp.status != http.StatusOK {
		return nil, answerSummary(resp)
	}
	v, err := profile.DecodePlist(r.ctx, resp.body, profile.Limits{MaxBytes: mdmBody, MaxDepth: 16, MaxObjects: 1000})
	if err != nil {
		return nil, "200, but the body is no plist: " + err.Error()
	}
	d, _ := v.(map[string]any)
	data, ok := d["TokenData"].([]byte)
	if !ok || len(data) == 0 {
		return nil, "200, but no TokenData (data) in the answer"
	}
	return data, ""
}

// topicProbe is CHK-007's: a TokenUpdate whose Topic is not the
// profile's, which a server must refuse, since it would push on a topic
// the device never listens to.
func (r *runner) topicProbe(user bool) *check.TopicProbe {
	m := r.mdm
	o := mdmOpts{userChannel: user, probe: true, purpose: "probe CHK-007: TokenUpdate with another Topic"}
	msg := r.mdm.checkInMessage("TokenUpdate", m.ids, o.userChannel)
	p := &check.TopicProbe{Topic: m.cfg.topic + ".enrollsim-other"}
	msg["Topic"] = p.Topic
	resp := r.checkIn(msg, o)
	p.Restore = r.restoreTokenUpdate(user, "probe CHK-007")
	if why := unjudgeable(resp, r.lim.Timeout, "check-in answer"); why != "" {
		p.Why = why
		return p
	}
	p.Answer = check.ReplyAnswer{Status: resp.status, Summary: answerSummary(resp)}
	return p
}

// restoreTokenUpdate undoes what a probe may have made the server store:
// it resends the device's own TokenUpdate on the probe's channel, with the
// case's identity and token, as the device sends it whenever its push
// details change, so that a server that stored the probe's (another
// Topic, another enrollment's token) holds the device's own again. It
// returns "" when the server took it, else an error note for the probe's
// result: the restore failing is no finding against the server's check.
func (r *runner) restoreTokenUpdate(user bool, after string) string {
	o := mdmOpts{userChannel: user, probe: true, purpose: "restore after " + after + ": the device's own TokenUpdate again"}
	msg := r.mdm.checkInMessage("TokenUpdate", r.mdm.ids, user)
	resp := r.checkIn(msg, o)
	if resp.status == http.StatusUnauthorized && challengeOf(resp) != nil && r.mdmToken(o) != "" {
		// A server may ask for a sign-in at any time (§2.14); the
		// device would sign in and send it again.
		if ok, _ := r.signInAgainAfter(resp, "the restoring TokenUpdate"); ok {
			o.purpose += " (again, after signing in again)"
			resp = r.checkIn(msg, o)
		}
	}
	if resp.status == http.StatusOK {
		return ""
	}
	return fmt.Sprintf("error: after %s the device's own TokenUpdate, resent to restore what the server stores, was not accepted (%s): the server may still hold what the probe sent", after, answerSummary(resp))
}

// otherEnrollmentProbe is CHK-009's and TOK-008's: a token bound to
// another enrollment must not serve this one. The other enrollment is made
// as a second device of the same user would make it: sign in, POST for a
// profile, SCEP, Authenticate; then this enrollment connects with that
// token. The second device stays enrolled for TOK-007 (the caller checks
// it out).
func (r *runner) otherEnrollmentProbe(user bool) (*check.OtherProbe, *otherEnrollment) {
	tok, other, why := r.secondEnrollment()
	if why != "" {
		if other != nil {
			r.checkOutOther(other)
		}
		return &check.OtherProbe{NoSecond: why}, nil
	}
	p := &check.OtherProbe{Assigned: other.assigned, Account: r.c.Account.Identifier}
	if mdm := r.enroll.profile.MDM(); len(mdm) > 0 {
		p.Own, _ = mdm[0].String("AssignedManagedAppleID")
	}
	o := mdmOpts{userChannel: user, probe: true, token: tok, purpose: "probe CHK-009: connect with another enrollment's token"}
	resp := r.connect(r.mdm.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	// A server that took the token may have bound it to this enrollment.
	p.Restore = r.restoreTokenUpdate(user, "probe CHK-009")
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		p.Why = firstNonEmpty(why, fmt.Sprintf("the connect failed: %v", resp.err))
		return p, other
	}
	p.Answer = check.ReplyAnswer{Status: resp.status, Summary: answerSummary(resp)}
	return p, other
}

// otherEnrollment is the probe's second device.
type otherEnrollment struct {
	ids   deviceIDs
	ident *identityState
	token string
	// assigned is the second profile's AssignedManagedAppleID: whose the
	// server says the token is.
	assigned string
}

// opts are the second device's own device-channel request options: its
// identity, and its token where the family sends one there.
func (o *otherEnrollment) opts(r *runner, purpose string) mdmOpts {
	op := mdmOpts{ident: o.ident, token: o.token, probe: true, purpose: purpose}
	if r.c.Device.Family == device.Mac {
		op.token, op.noToken = "", true
	}
	return op
}

// secondEnrollment signs in again and enrolls a second device with the
// new token, leaving the case's own token and OAuth state as they were.
func (r *runner) secondEnrollment() (string, *otherEnrollment, string) {
	r.probing = true
	defer func() { r.probing = false }()
	es := r.enroll
	ownToken, ownChallenge := es.token, es.challenge
	var ownOAuth *oauthState
	if r.oauth != nil {
		o := *r.oauth
		ownOAuth = &o
	}
	defer func() {
		es.token, es.challenge = ownToken, ownChallenge
		if ownOAuth != nil {
			*r.oauth = *ownOAuth
		}
	}()
	ch, err := r.freshChallenge()
	if err != nil {
		return "", nil, err.Error()
	}
	release, err := r.takeTurn()
	if err != nil {
		return "", nil, "interrupted while waiting to sign in"
	}
	var out reauthOutcome
	if ch.Method() == "apple-oauth2" {
		saved := r.oauth
		r.oauth = &oauthState{}
		out = r.authorizeAgain(ch, "probe CHK-009: a second device")
		r.oauth = saved
	} else {
		out = r.signInAgain(ch, "probe CHK-009: a second device")
	}
	release()
	if !out.ok {
		return "", nil, out.why
	}
	tok := es.token
	resp, _ := r.postEnroll(r.discovery.baseURL, es.body, es.contentType, tok, "probe CHK-009: a second device's enrollment request", true)
	if resp.status != http.StatusOK {
		return "", nil, "the second enrollment request got " + answerSummary(resp)
	}
	p, err := profile.ParseContext(r.ctx, resp.body, profile.Limits{MaxBytes: r.lim.ProfileBody})
	if err != nil || len(p.MDM()) == 0 {
		return "", nil, "the second profile does not parse"
	}
	var ident *identityState
	for _, pl := range p.OfType("com.apple.security.scep") {
		cfg, err := readSCEPPayload(pl.Dict)
		if err != nil {
			return "", nil, "the second profile's SCEP payload: " + err.Error()
		}
		if c, ok := pl.Dict.Dict("PayloadContent"); ok {
			if v, ok := c.String("Challenge"); ok {
				r.red.Add(v)
			}
		}
		id, finding, _, _ := r.scepEnroll(cfg)
		if finding != "" {
			return "", nil, "the second device's identity: " + finding
		}
		ident = id
	}
	if ident == nil {
		return "", nil, "the second profile has no SCEP identity"
	}
	other := &otherEnrollment{ids: r.otherDeviceIDs(1), ident: ident, token: tok}
	other.assigned, _ = p.MDM()[0].String("AssignedManagedAppleID")
	o := mdmOpts{ident: ident, token: tok, probe: true, purpose: "probe CHK-009: the second device's Authenticate"}
	if r.c.Device.Family == device.Mac {
		o.token = "" // the Mac's device channel carries no token
	}
	if a := r.checkIn(r.mdm.checkInMessage("Authenticate", other.ids, false), o); a.status != http.StatusOK {
		return "", nil, "the second device's Authenticate got " + answerSummary(a)
	}
	o.purpose = "probe CHK-009: the second device's TokenUpdate"
	if t := r.checkIn(r.mdm.checkInMessage("TokenUpdate", other.ids, false), o); t.status != http.StatusOK {
		return "", other, "the second device's TokenUpdate got " + answerSummary(t)
	}
	if r.c.Device.Family == device.Mac && r.mdm.cfg.has(capPerUser) {
		o.userChannel, o.token = true, tok
		o.purpose = "probe CHK-009: the second device's user-channel TokenUpdate"
		if t := r.checkIn(r.mdm.checkInMessage("TokenUpdate", other.ids, true), o); t.status != http.StatusOK {
			return "", other, "the second device's user-channel TokenUpdate got " + answerSummary(t)
		}
	}
	return tok, other, ""
}

// checkOutOther removes the probe's second device from the server.
func (r *runner) checkOutOther(other *otherEnrollment) {
	r.checkIn(r.mdm.checkInMessage("CheckOut", other.ids, false), other.opts(r, "the probe's second device checks out"))
}

// trigger asks the target to act on this enrollment through an admin hook.
func (r *runner) trigger(tmpl, what string, ids deviceIDs) string {
	id := ids.udid
	if r.mdm.userEnrollment {
		id = ids.enrollmentID
	}
	target := strings.ReplaceAll(tmpl, "{id}", url.QueryEscape(id))
	resp := r.do(request{method: http.MethodPost, url: target, purpose: "admin: " + what + " (the target's hook)", probe: true, limit: 64 << 10, classicTLS: true})
	if resp.err != nil {
		return fmt.Sprintf("the %s hook %s: %v", what, target, resp.err)
	}
	if resp.status < 200 || resp.status > 299 {
		return fmt.Sprintf("the %s hook %s answered %d %s", what, target, resp.status, excerpt(resp.body, 200))
	}
	return ""
}

// reauthCheck plays TOK-006 (revoke) or TOK-009 (expire): the server
// drops the token, the next MDM request should get a 401 with a challenge;
// the device signs in again (a silent refresh first with OAuth 2) and
// retries the request once. ok: the retry was accepted.
func (r *runner) reauthCheck(id, hook, what string, user bool) (a *check.Reauth, ok bool) {
	a = &check.Reauth{What: what}
	if hook == "" {
		a.NoHook = true
		return a, false
	}
	if why := r.trigger(hook, what, r.mdm.ids); why != "" {
		a.Why = why
		return a, false
	}
	o := mdmOpts{userChannel: user, purpose: "connect after the server's " + what}
	resp := r.connect(r.mdm.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		a.Why = firstNonEmpty(why, fmt.Sprintf("the connect failed: %v (the connect itself is CHK-008's)", resp.err))
		return a, false
	}
	a.Answer = check.ReplyAnswer{Status: resp.status, Summary: answerSummary(resp)}
	ch := challengeOf(resp)
	if ch == nil {
		return a, false
	}
	a.Challenged, a.Method = true, ch.Method()
	out := r.reauthenticate(ch, "sign in again ("+id+")")
	a.SignedIn, a.How, a.SignInWhy, a.SignInBlame = out.ok, out.how, out.why, out.blame
	if !out.ok {
		return a, false
	}
	// A refresh grant that fails is AUTH-015's finding; the device then
	// authorizes again, and TOK-009 judges what the server does with the
	// token that gives.
	o.purpose = "connect again with the new token (" + out.how + ")"
	retry := r.connect(r.mdm.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	if why := unjudgeable(retry, r.lim.Timeout, "connect answer"); why != "" {
		a.Why = why
		return a, false
	}
	a.Retry = check.ReplyAnswer{Status: retry.status, Summary: answerSummary(retry)}
	return a, retry.status == http.StatusOK
}

// unenrollCheck plays TOK-007: the server unenrolls the device, whose next
// request should get 403 {"code":"com.apple.unrecognized.device"}, not a
// bare 401. unenrolled: the server dropped the device.
func (r *runner) unenrollCheck(ids deviceIDs, o mdmOpts, who string) (u *check.Unenroll, unenrolled bool) {
	u = &check.Unenroll{Who: who}
	hook := r.c.Target.Admin.Unenroll
	if hook == "" {
		u.NoHook = true
		return u, false
	}
	if why := r.trigger(hook, "unenroll "+who, ids); why != "" {
		u.Why = why
		return u, false
	}
	o.purpose = "connect of " + who + " after the server's unenroll"
	resp := r.connect(r.mdm.connectMessage(ids, false, "Idle"), o)
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		u.Why = firstNonEmpty(why, fmt.Sprintf("the connect failed: %v (the connect itself is CHK-008's)", resp.err))
		return u, false
	}
	u.Answer = check.ReplyAnswer{Status: resp.status, Summary: answerSummary(resp)}
	u.Asked = unenrollAsked(resp)
	u.Bare401 = resp.status == http.StatusUnauthorized && challengeOf(resp) == nil
	return u, u.Asked || resp.status == http.StatusUnauthorized
}

// checkOut plays CHK-011: when the profile goes (the server unenrolled the
// device, or the case ends, as when a user removes it) a device whose
// profile sets CheckOutWhenRemoved sends CheckOut, with no valid token:
// the iOS 26.1 client sends it whatever its authenticator says.
func (r *runner) checkOut(unenrolled bool) (c check.CheckOut, ok bool) {
	p := r.enroll.profile.MDM()[0]
	if when, _ := p.Bool("CheckOutWhenRemoved"); !when {
		c.NotSet = true
		return c, false
	}
	why := "the profile is removed at the end of the case"
	if unenrolled {
		why = "the server unenrolled the device"
	}
	o := mdmOpts{noToken: true, purpose: "CheckOut without a token (" + why + ")"}
	resp := r.checkIn(r.mdm.checkInMessage("CheckOut", r.mdm.ids, false), o)
	if w := unjudgeable(resp, r.lim.Timeout, "CheckOut answer"); w != "" {
		c.Why = w
		return c, false
	}
	c.Answer = check.ReplyAnswer{Status: resp.status, Summary: answerSummary(resp)}
	return c, resp.status == http.StatusOK
}
