package sim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// unknownTokenService is a TokenServiceType no server issues (CHK-010).
const unknownTokenService = "com.enrollsim.unknown-service"

// tokenLifeStep plays what comes after the first commands. Probes (the
// wrong topic, another enrollment's token) are off with --no-probes; the
// admin-driven checks run when the target has the hook.
func (r *runner) tokenLifeStep() (*stop, StepStatus, string) {
	m := r.mdm
	if m == nil || !m.checkedIn {
		return nil, StepSkipped, "the device did not check in"
	}
	var done []string
	if r.c.NoProbes {
		// The admin hooks and the sign-ins again are the tester's doing,
		// not the device's: off with the other probes.
		r.skipAll("probes are off (--no-probes): the server is not asked to revoke, expire or unenroll", "TOK-006", "TOK-007", "TOK-009")
	}
	user, noToken := r.tokenChannel()
	if !m.connected && noToken == "" {
		noToken = "blocked: the device could not connect (CHK-008)"
	}
	r.getToken(user)
	var other *otherEnrollment
	if r.c.NoProbes {
		r.skipAll("probes are off (--no-probes)", "CHK-007", "CHK-009")
	} else {
		r.topicProbe(user)
		if noToken != "" {
			r.tokenBlocked(noToken, "CHK-009", "TOK-008")
		} else {
			other = r.otherEnrollmentProbe(user)
		}
	}
	unenrolled := false
	if !r.c.NoProbes {
		unenrolled, done = r.serverActs(user, noToken, other, done)
	}
	if r.checkOut(unenrolled) {
		done = append(done, "checked out")
	}
	if len(done) == 0 {
		return nil, StepOK, "token life: nothing the target could be asked to do"
	}
	return nil, StepOK, strings.Join(done, "; ")
}

// serverActs asks the server, through the target's admin hooks, to revoke
// and expire the token (TOK-006, TOK-009) and to unenroll (TOK-007).
func (r *runner) serverActs(user bool, noToken string, other *otherEnrollment, done []string) (bool, []string) {
	// What follows a hook is the tester's doing (the server acts because
	// it was asked), so every request is a probe's.
	r.probing = true
	defer func() { r.probing = false }()
	m := r.mdm
	switch {
	case noToken != "":
		r.tokenBlocked(noToken, "TOK-006")
	case r.reauthCheck("TOK-006", r.c.Target.Admin.RevokeToken, "revoke-token", user):
		done = append(done, "signed in again after the server revoked the token")
	}
	switch {
	case r.oauth == nil:
		r.skip("TOK-009", "not an OAuth 2 enrollment: an apple-as-web token has no expires_in")
	case noToken != "":
		r.tokenBlocked(noToken, "TOK-009")
	case r.reauthCheck("TOK-009", r.c.Target.Admin.ExpireToken, "expire-token", user):
		done = append(done, "refreshed the expired token")
	}
	// The server unenrolls the probe's second device when there is one,
	// so the case's own enrollment checks out while the server still
	// knows it: CHK-011's harder case, since a server may take a CheckOut
	// without a token only from a device it has already dropped.
	unenrolled := false
	switch {
	case other != nil:
		if r.unenrollCheck(other.ids, other.opts(r, "the second device"), "the probe's second device") {
			done = append(done, "the server unenrolled the probe's second device")
		}
		r.checkOutOther(other)
	case m.connected:
		unenrolled = r.unenrollCheck(m.ids, mdmOpts{}, "this device")
		if unenrolled {
			done = append(done, "unenrolled by the server")
		}
	default:
		r.cannotJudge("TOK-007", "blocked: the device could not connect (CHK-008)")
	}
	return unenrolled, done
}

// tokenChannel says which channel carries the token in token life: every
// request on iOS, iPadOS and visionOS; on a Mac the user channel only, and
// why not when the Mac has none that works.
func (r *runner) tokenChannel() (user bool, why string) {
	m := r.mdm
	switch {
	case r.c.Device.Family != Mac:
		return false, ""
	case !m.cfg.has(capPerUser):
		return false, "the Mac has no user channel (the profile lacks com.apple.mdm.per-user-connections): no request carries the token"
	case !m.userChannelOK:
		return false, "blocked: the user channel's TokenUpdate was refused (CHK-004/CHK-005), and only the user channel carries the token"
	}
	return true, ""
}

// tokenBlocked reports checks that need a token-bearing request: skipped
// where the device sends none, error where the server refused the channel.
func (r *runner) tokenBlocked(why string, ids ...string) {
	for _, id := range ids {
		if strings.HasPrefix(why, "blocked") {
			r.cannotJudge(id, why)
		} else {
			r.skip(id, why)
		}
	}
}

// getToken is CHK-010: GetToken only when com.apple.mdm.token is
// advertised; com.apple.maid answered, an unknown service refused with 400.
func (r *runner) getToken(user bool) {
	m := r.mdm
	if !m.cfg.has(capToken) {
		r.skip("CHK-010", "the profile does not advertise com.apple.mdm.token: the device sends no GetToken")
		return
	}
	o := mdmOpts{userChannel: user, purpose: "GetToken com.apple.maid"}
	msg := r.checkInMessage("GetToken", m.ids, o.userChannel)
	msg["TokenServiceType"] = "com.apple.maid"
	resp := r.checkIn(msg, o)
	if why := unjudgeable(resp, r.lim.Timeout, "GetToken answer"); why != "" {
		r.cannotJudge("CHK-010", why)
		return
	}
	data, problem := tokenData(r, resp)
	if problem != "" {
		r.check("CHK-010", false, "200 with a plist carrying TokenData for com.apple.maid", problem)
		return
	}
	// learnSecrets has registered it from the answer's body already; this
	// covers a TokenData the body spelled in a form it does not read.
	r.red.Add(string(data))
	said := fmt.Sprintf("com.apple.maid: TokenData of %d bytes", len(data))
	var problems []string
	if p := jwtProblem(data); p != "" {
		said = fmt.Sprintf("com.apple.maid: TokenData of %d bytes that is not a signed JWT (%s)", len(data), p)
		problems = append(problems, said)
	}
	const jwtExpected = "TokenData for com.apple.maid that is a signed JWT (three base64url parts separated by dots, the first a JSON header with alg)"
	if r.c.NoProbes {
		r.judgeGetToken(problems, jwtExpected, said)
		return
	}
	o = mdmOpts{userChannel: user, probe: true, purpose: "probe CHK-010: GetToken for an unknown TokenServiceType"}
	msg = r.checkInMessage("GetToken", m.ids, o.userChannel)
	msg["TokenServiceType"] = unknownTokenService
	bad := r.checkIn(msg, o)
	if why := unjudgeable(bad, r.lim.Timeout, "GetToken answer"); why != "" {
		r.cannotJudge("CHK-010", why)
		return
	}
	said += fmt.Sprintf("; %s: %s", unknownTokenService, answerSummary(bad))
	if bad.status != http.StatusBadRequest {
		problems = append(problems, unknownTokenService+": "+answerSummary(bad))
	}
	r.judgeGetToken(problems, jwtExpected+", and 400 for an unknown TokenServiceType", said)
}

// judgeGetToken reports CHK-010: a WARN at most, whatever the catalogue's
// level, since a TokenData that is no JWT may still be one the server's
// own services read (Apple documents the JWT, not a device's refusal).
func (r *runner) judgeGetToken(problems []string, expected, actual string) {
	if len(problems) == 0 {
		r.check("CHK-010", true, "", actual)
		return
	}
	res := check.Verdict("CHK-010", false, expected, actual)
	if res.Status == Fail {
		res.Status = Warn
	}
	r.report(res)
}

// jwtProblem says why data is not shaped as a signed JWT (JWS compact
// serialisation, RFC 7515 §7.1): three non-empty base64url parts separated
// by dots, the first decoding to a JSON object header naming its alg; ""
// when it is. It never quotes the data: a TokenData is a credential.
func jwtProblem(data []byte) string {
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

// topicProbe is CHK-007: a TokenUpdate whose Topic is not the profile's
// must be refused; a server that takes it would push on a topic the device
// never listens to.
func (r *runner) topicProbe(user bool) {
	m := r.mdm
	o := mdmOpts{userChannel: user, probe: true, purpose: "probe CHK-007: TokenUpdate with another Topic"}
	msg := r.checkInMessage("TokenUpdate", m.ids, o.userChannel)
	other := m.cfg.topic + ".enrollsim-other"
	msg["Topic"] = other
	resp := r.checkIn(msg, o)
	restored := r.restoreTokenUpdate(user, "probe CHK-007")
	if why := unjudgeable(resp, r.lim.Timeout, "check-in answer"); why != "" {
		r.cannotJudge("CHK-007", joinNote(why, restored))
		return
	}
	res := check.Verdict("CHK-007", resp.status < 200 || resp.status > 299, "a refusal (not 2xx) for Topic "+other, answerSummary(resp))
	res.Detail = restored
	r.report(res)
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
	msg := r.checkInMessage("TokenUpdate", r.mdm.ids, user)
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

func joinNote(s, note string) string {
	if note == "" {
		return s
	}
	return s + "; " + note
}

// otherEnrollmentProbe is CHK-009 and the second half of TOK-008: a token
// bound to another enrollment must not serve this one. The other
// enrollment is made as a second device of the same user would make it:
// sign in, POST for a profile, SCEP, Authenticate; then this enrollment
// connects with that token. The second device stays enrolled for TOK-007
// (the caller checks it out).
func (r *runner) otherEnrollmentProbe(user bool) *otherEnrollment {
	tok, other, why := r.secondEnrollment()
	if why != "" {
		r.cannotJudge("CHK-009", "no second enrollment to take a token from: "+why)
		r.cannotJudge("TOK-008", "no second enrollment to take a token from: "+why)
		if other != nil {
			r.checkOutOther(other)
		}
		return nil
	}
	o := mdmOpts{userChannel: user, probe: true, token: tok, purpose: "probe CHK-009: connect with another enrollment's token"}
	resp := r.connect(r.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	// A server that took the token may have bound it to this enrollment.
	restored := r.restoreTokenUpdate(user, "probe CHK-009")
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		why = joinNote(firstNonEmpty(why, fmt.Sprintf("the connect failed: %v", resp.err)), restored)
		r.cannotJudge("CHK-009", why)
		r.cannotJudge("TOK-008", why)
		return other
	}
	refused := resp.status < 200 || resp.status > 299
	same, whose := r.foreignTokenUser(other)
	for _, c := range []struct{ id, expected string }{
		{"CHK-009", "a refusal for this enrollment's request carrying another enrollment's token"},
		{"TOK-008", "a token bound to another enrollment is refused from this one"},
	} {
		res := check.Verdict(c.id, refused, c.expected, "accepted "+whose+": "+answerSummary(resp))
		if !refused && same {
			// Apple says a server "can" keep checking which enrollment
			// a token belongs to: one that knows the device by its
			// identity certificate and the user by the token is within
			// the rules. Another user's token stays a finding.
			res = check.With(c.id, Noted, res.Actual+"; Apple lets a server tell devices apart by their identity certificate, so this is noted, not warned (enrollsim holds no other user's token to try)")
			res.Detail = joinNote(res.Detail, restored)
		} else {
			res.Detail = restored
		}
		r.report(res)
	}
	return other
}

// foreignTokenUser says whose the second device's token is. It was got by
// signing in with this case's own account, so it is the same user's
// unless the server says otherwise: its profile for the second device
// names another AssignedManagedAppleID than this one's.
func (r *runner) foreignTokenUser(other *otherEnrollment) (same bool, whose string) {
	own := ""
	if mdm := r.enroll.profile.MDM(); len(mdm) > 0 {
		own, _ = mdm[0].String("AssignedManagedAppleID")
	}
	if own != "" && other.assigned != "" && !strings.EqualFold(own, other.assigned) {
		return false, fmt.Sprintf("a token of another user (the second enrollment's profile is for %s, this one's for %s)", other.assigned, own)
	}
	who := firstNonEmpty(own, other.assigned, r.c.Account.Identifier)
	return true, fmt.Sprintf("a token of another enrollment of the same user (%s; the probe's second device signed in with this case's account)", who)
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
	if r.c.Device.Family == Mac {
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
	if r.c.Device.Family == Mac {
		o.token = "" // the Mac's device channel carries no token
	}
	if a := r.checkIn(r.checkInMessage("Authenticate", other.ids, false), o); a.status != http.StatusOK {
		return "", nil, "the second device's Authenticate got " + answerSummary(a)
	}
	o.purpose = "probe CHK-009: the second device's TokenUpdate"
	if t := r.checkIn(r.checkInMessage("TokenUpdate", other.ids, false), o); t.status != http.StatusOK {
		return "", other, "the second device's TokenUpdate got " + answerSummary(t)
	}
	if r.c.Device.Family == Mac && r.mdm.cfg.has(capPerUser) {
		o.userChannel, o.token = true, tok
		o.purpose = "probe CHK-009: the second device's user-channel TokenUpdate"
		if t := r.checkIn(r.checkInMessage("TokenUpdate", other.ids, true), o); t.status != http.StatusOK {
			return "", other, "the second device's user-channel TokenUpdate got " + answerSummary(t)
		}
	}
	return tok, other, ""
}

// checkOutOther removes the probe's second device from the server.
func (r *runner) checkOutOther(other *otherEnrollment) {
	r.checkIn(r.checkInMessage("CheckOut", other.ids, false), other.opts(r, "the probe's second device checks out"))
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

// reauthCheck is TOK-006 (revoke) or TOK-009 (expire): after the server
// drops the token, the next MDM request gets a 401 with a challenge; the
// device signs in again (a silent refresh first with OAuth 2) and the
// request, retried once, is accepted.
func (r *runner) reauthCheck(id, hook, what string, user bool) bool {
	if hook == "" {
		r.skip(id, "the target has no "+what+" hook (target.admin."+strings.ReplaceAll(what, "-", "_")+")")
		return false
	}
	if why := r.trigger(hook, what, r.mdm.ids); why != "" {
		r.cannotJudge(id, why)
		return false
	}
	o := mdmOpts{userChannel: user, purpose: "connect after the server's " + what}
	resp := r.connect(r.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		r.cannotJudge(id, firstNonEmpty(why, fmt.Sprintf("the connect failed: %v (the connect itself is CHK-008's)", resp.err)))
		return false
	}
	expected := "401 with a WWW-Authenticate Bearer challenge, then the request retried with the new token accepted"
	if id == "TOK-009" {
		expected = "401 with a WWW-Authenticate Bearer challenge, then the request retried with the refreshed token accepted"
	}
	ch := challengeOf(resp)
	switch {
	case resp.status == http.StatusUnauthorized && ch == nil:
		r.check(id, false, expected, "a bare 401, which makes a device remove its profile")
		return false
	case ch == nil:
		r.check(id, false, expected, answerSummary(resp)+" to a request with the "+strings.TrimSuffix(what, "-token")+"d token")
		return false
	}
	out := r.reauthenticate(ch, "sign in again ("+id+")")
	if !out.ok {
		if !out.blame {
			r.cannotJudge(id, "401 with a challenge; signing in again could not be judged: "+out.why)
			return false
		}
		r.check(id, false, expected, "401 with a challenge, but "+out.why)
		return false
	}
	// A refresh grant that fails is AUTH-015's finding; the device then
	// authorizes again, and TOK-009 judges what the server does with the
	// token that gives.
	o.purpose = "connect again with the new token (" + out.how + ")"
	retry := r.connect(r.connectMessage(r.mdm.ids, o.userChannel, "Idle"), o)
	if why := unjudgeable(retry, r.lim.Timeout, "connect answer"); why != "" {
		r.cannotJudge(id, why)
		return false
	}
	ok := retry.status == http.StatusOK
	r.check(id, ok, expected, fmt.Sprintf("401 with a %s challenge; after the %s the retried request got %s", ch.Method(), out.how, answerSummary(retry)))
	return ok
}

// unenrollCheck is TOK-007: when the server unenrolls the device, the next
// request gets 403 {"code":"com.apple.unrecognized.device"}, not a bare
// 401. It reports whether the server unenrolled the device.
func (r *runner) unenrollCheck(ids deviceIDs, o mdmOpts, who string) bool {
	hook := r.c.Target.Admin.Unenroll
	if hook == "" {
		r.skip("TOK-007", "the target has no unenroll hook (target.admin.unenroll)")
		return false
	}
	if why := r.trigger(hook, "unenroll "+who, ids); why != "" {
		r.cannotJudge("TOK-007", why)
		return false
	}
	o.purpose = "connect of " + who + " after the server's unenroll"
	resp := r.connect(r.connectMessage(ids, false, "Idle"), o)
	if why := unjudgeable(resp, r.lim.Timeout, "connect answer"); why != "" || resp.status == 0 {
		r.cannotJudge("TOK-007", firstNonEmpty(why, fmt.Sprintf("the connect failed: %v (the connect itself is CHK-008's)", resp.err)))
		return false
	}
	ok := unenrollAsked(resp)
	actual := answerSummary(resp)
	if resp.status == http.StatusUnauthorized && challengeOf(resp) == nil {
		actual = "a bare 401 (" + actual + ")"
	}
	r.check("TOK-007", ok, `403 with {"code":"com.apple.unrecognized.device"}`, actual)
	return ok || resp.status == http.StatusUnauthorized
}

// checkOut is CHK-011: when the profile goes (the server unenrolled the
// device, or the case ends, as when a user removes it) a device whose
// profile sets CheckOutWhenRemoved sends CheckOut, with no valid token:
// the iOS 26.1 client sends it whatever its authenticator says.
func (r *runner) checkOut(unenrolled bool) bool {
	p := r.enroll.profile.MDM()[0]
	if when, _ := p.Bool("CheckOutWhenRemoved"); !when {
		r.skip("CHK-011", "the profile does not set CheckOutWhenRemoved: the device sends no CheckOut")
		return false
	}
	why := "the profile is removed at the end of the case"
	if unenrolled {
		why = "the server unenrolled the device"
	}
	o := mdmOpts{noToken: true, purpose: "CheckOut without a token (" + why + ")"}
	resp := r.checkIn(r.checkInMessage("CheckOut", r.mdm.ids, false), o)
	if w := unjudgeable(resp, r.lim.Timeout, "CheckOut answer"); w != "" {
		r.cannotJudge("CHK-011", w)
		return false
	}
	ok := resp.status == http.StatusOK
	r.check("CHK-011", ok, "200 to a CheckOut that carries no token", answerSummary(resp))
	return ok
}
