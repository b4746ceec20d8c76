package sim

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/check"
)

// mdmVerdict is what one check-in or connect came to. A refusal is put
// down to one check only: the request's own, or (when a probe shows it)
// the token (TOK-004/005) or the content type or identity (CHK-006), so a
// server with one bug trips one check.
type mdmVerdict struct {
	what      string
	ok        bool
	why       string // the tester could not judge (its timeout, its limit)
	blame     string // the check the refusal is put down to, when not the request's own
	blameWarn bool   // the blame is a reading of the answer's text, not a probe's proof
	unenroll  bool   // 403 com.apple.unrecognized.device
	status    int
	actual    string
	resp      *response
}

// sendMDM sends one check-in message of the device's own and judges it.
func (r *runner) sendMDM(what string, msg map[string]any, o mdmOpts) mdmVerdict {
	return r.exchangeMDM(r.mdm.cfg.checkInURL, ctCheckIn, what, msg, o)
}

// exchangeMDM sends msg, reads the answer, and when it is a refusal asks
// the probes that tell its cause; the request is recorded for TOK-004/005
// and CHK-006.
func (r *runner) exchangeMDM(target, contentType, what string, msg map[string]any, o mdmOpts) mdmVerdict {
	body, err := plist.MarshalIndent(msg, plist.XMLFormat, "\t")
	var resp *response
	if err != nil {
		resp = &response{err: fmt.Errorf("enrollsim bug: encoding the %s plist: %w", what, err)}
	} else {
		resp = r.mdmSend(target, contentType, body, o)
	}
	tokenSent := r.mdmToken(o) != ""
	retried := false
	if tokenSent && resp.status == http.StatusUnauthorized && hasChallenge(resp.header) {
		// §2.14: "sign in again", which the server may ask at any time;
		// not a refusal of the token until the retry is refused too.
		ok, why := r.signInAgainAfter(resp, what)
		if !ok {
			v := mdmVerdict{what: what, status: resp.status, resp: resp,
				why: "the server asked the device to sign in again (401 with a challenge): " + why}
			r.mdm.sent = append(r.mdm.sent, sentMDM{what: what, tokenSent: true, user: o.userChannel, v: v})
			return v
		}
		o.purpose += " (again, after signing in again)"
		resp, retried = r.mdmSend(target, contentType, body, o), true
	}
	v := r.verdictOf(what, resp)
	if !v.ok && v.why == "" && !v.unenroll {
		r.diagnose(&v, target, contentType, body, o, retried)
	}
	r.mdm.sent = append(r.mdm.sent, sentMDM{what: what, tokenSent: tokenSent, user: o.userChannel, v: v})
	return v
}

// signInAgainAfter signs the device in again after resp, a 401 with a
// challenge to one of its own requests, leaving the new token in
// r.enroll.token; why says what stood in the way when it did not.
func (r *runner) signInAgainAfter(resp *response, what string) (ok bool, why string) {
	if r.mdm.signInAgain != nil {
		return r.mdm.signInAgain(resp, what)
	}
	ch := challengeOf(resp)
	if ch == nil {
		return false, "the 401 has no Bearer challenge with a method"
	}
	out := r.reauthenticate(ch, "sign in again ("+what+")")
	return out.ok, out.why
}

func (r *runner) verdictOf(what string, resp *response) mdmVerdict {
	v := mdmVerdict{what: what, status: resp.status, resp: resp}
	if resp.status == 0 && errors.Is(resp.err, errNoIdentity) {
		v.why = resp.err.Error()
		return v
	}
	if why := unjudgeable(resp, r.lim.Timeout, "answer"); why != "" {
		v.why = why
		return v
	}
	if resp.status == http.StatusOK {
		v.ok = true
		return v
	}
	v.actual = answerSummary(resp)
	v.unenroll = resp.status == http.StatusForbidden && bytes.Contains(resp.body, []byte("com.apple.unrecognized.device"))
	return v
}

// answerSummary says what came back, bounded: the status and the start of
// the body, or the transport error.
func answerSummary(resp *response) string {
	if resp.status == 0 {
		return fmt.Sprint(resp.err)
	}
	s := fmt.Sprintf("status %d", resp.status)
	if len(resp.body) > 0 {
		s += ": " + excerpt(resp.body, 200)
	}
	return s
}

// diagnose looks for the cause of a refusal: in the answer itself, then
// (unless probes are off) with at most two probes: the same request
// without (or, on the Mac device channel, with) the token, and under
// Content-Type application/xml.
func (r *runner) diagnose(v *mdmVerdict, target, contentType string, body []byte, o mdmOpts, retried bool) {
	tokenSent := r.mdmToken(o) != ""
	switch {
	case v.status == http.StatusUnsupportedMediaType:
		v.blame, v.actual = "CHK-006", fmt.Sprintf("%s: 415 to Content-Type %s", v.what, contentType)
		return
	case retried && v.status == http.StatusUnauthorized && hasChallenge(v.resp.header):
		v.blame, v.actual = "TOK-004", v.what+": 401 with a challenge again, to the token the device got by signing in again"
		return
	case !tokenSent && r.c.Device.Family == Mac && !o.userChannel && v.status == http.StatusUnauthorized && hasChallenge(v.resp.header):
		v.blame, v.actual = "TOK-005", v.what+": 401 with a challenge to a device-channel request, which a Mac sends without the token"
		return
	case !r.c.NoProbes && r.probeCause(v, target, contentType, body, o, tokenSent):
		return
	}
	if tokenSent && namesToken(v.resp.body) {
		v.blame, v.blameWarn = "TOK-004", true
		v.actual = v.what + ": the refusal names the token: " + v.actual
		return
	}
	if namesIdentity(v.resp.body) {
		v.blame, v.blameWarn = "CHK-006", true
		v.actual = v.what + ": the refusal names the signature or certificate: " + v.actual
	}
}

// probeCause sends the probes of diagnose and reports whether one showed
// the cause. They need no restore (unlike CHK-007's and CHK-009's): each
// resends the device's own message, so whatever one makes the server
// store is what the device's own request would have.
func (r *runner) probeCause(v *mdmVerdict, target, contentType string, body []byte, o mdmOpts, tokenSent bool) bool {
	probe := o
	probe.probe = true
	if tokenSent {
		probe.noToken, probe.token = true, ""
		probe.purpose = "probe: " + v.what + " without the token"
		if p := r.mdmSend(target, contentType, body, probe); p.status == http.StatusOK {
			v.blame, v.actual = "TOK-004", fmt.Sprintf("%s: refused with the token (%s), accepted without it", v.what, v.actual)
			return true
		}
	} else if r.c.Device.Family == Mac && !o.userChannel && r.enroll != nil && r.enroll.token != "" {
		probe.token = r.enroll.token
		probe.purpose = "probe: " + v.what + " with the token"
		if p := r.mdmSend(target, contentType, body, probe); p.status == http.StatusOK {
			v.blame, v.actual = "TOK-005", fmt.Sprintf("%s: the device channel refused without the token (%s), accepted it with the token", v.what, v.actual)
			return true
		}
	}
	if v.status >= 400 && v.status < 500 && v.status != http.StatusUnauthorized {
		probe := o
		probe.probe, probe.purpose = true, "probe: "+v.what+" as Content-Type "+ctXML
		if p := r.mdmSend(target, ctXML, body, probe); p.status == http.StatusOK {
			v.blame, v.actual = "CHK-006", fmt.Sprintf("%s: refused as Content-Type %s (%s), accepted as %s", v.what, contentType, v.actual, ctXML)
			return true
		}
	}
	return false
}

// namesToken: the answer's text speaks of the Authorization header, the
// likeliest reading of which is that the token was refused.
func namesToken(body []byte) bool {
	b := strings.ToLower(string(body[:min(len(body), 4096)]))
	return strings.Contains(b, "authorization") || strings.Contains(b, "bearer")
}

// namesIdentity: the answer's text speaks of the identity, the likeliest
// reading of which is that the signature or certificate was refused.
func namesIdentity(body []byte) bool {
	b := strings.ToLower(string(body[:min(len(body), 4096)]))
	for _, w := range []string{"signature", "client certificate", "identity certificate"} {
		if strings.Contains(b, w) {
			return true
		}
	}
	return false
}

// judgeSent reports the request's own check and returns the stop a refusal
// means to the device, or nil when it was accepted.
func (r *runner) judgeSent(id string, v mdmVerdict, expected string) *stop {
	switch {
	case v.why != "":
		r.cannotJudge(id, v.why)
		return &stop{OutcomeError, v.what + " could not be judged: " + v.why}
	case v.ok:
		r.check(id, true, "", "")
		return nil
	case v.blame != "":
		r.skip(id, fmt.Sprintf("the refusal is put down to %s: %s", v.blame, v.actual))
	default:
		r.check(id, false, expected, v.actual)
	}
	said := v.actual
	if !strings.HasPrefix(said, v.what+": ") {
		said = v.what + ": " + said
	}
	if v.unenroll {
		return &stop{OutcomeUnenrolled, "the server asked the device to unenroll at " + said}
	}
	return &stop{OutcomeCheckInFailed, "the server refused " + said}
}

// judgeMDMRequests judges TOK-004, TOK-005 and CHK-006 over every request
// the device itself sent in check-in and connect, once.
func (r *runner) judgeMDMRequests() {
	m := r.mdm
	if m == nil || m.judged {
		return
	}
	m.judged = true
	var tok, bare []sentMDM
	for _, s := range m.sent {
		if s.tokenSent {
			tok = append(tok, s)
		} else {
			bare = append(bare, s)
		}
	}
	r.judgeGroup("TOK-004", tok, "200 to check-in and connect requests with the enrollment's token",
		"no request carried the token (on a Mac only user-channel requests do)")
	if r.c.Device.Family == Mac {
		r.judgeGroup("TOK-005", bare, "200 to device-channel requests without a token", "no device-channel request was sent")
	} else {
		r.skip("TOK-005", "only a Mac sends device-channel requests without the token; this is "+r.c.Device.Family.Platform())
	}
	r.judgeGroup("CHK-006", m.sent, "check-in as "+ctCheckIn+" and connect as "+ctConnect+", the identity as the profile's SignMessage says", "no request was sent")
}

// judgeGroup: a refusal put down to id fails it (warns when only the
// answer's text says so); one accepted request passes it.
func (r *runner) judgeGroup(id string, group []sentMDM, expected, none string) {
	var blamed, hinted, whys, others []string
	ok := false
	for _, s := range group {
		switch {
		case s.v.blame == id && s.v.blameWarn:
			hinted = append(hinted, s.v.actual)
		case s.v.blame == id:
			blamed = append(blamed, s.v.actual)
		case s.v.ok:
			ok = true
		case s.v.why != "":
			whys = append(whys, s.what+": "+s.v.why)
		default:
			others = append(others, s.what+" (put down to "+firstNonEmpty(s.v.blame, "its own check")+")")
		}
	}
	switch {
	case len(blamed) > 0:
		r.check(id, false, expected, strings.Join(blamed, "; "))
	case len(hinted) > 0:
		res := check.Verdict(id, true, "", "")
		res.Status, res.Expected, res.Actual = Warn, expected, strings.Join(hinted, "; ")
		r.report(res)
	case ok:
		r.check(id, true, "", "")
	case len(group) == 0:
		r.skip(id, none)
	case len(whys) > 0:
		r.cannotJudge(id, "not judged: "+strings.Join(whys, "; "))
	default:
		r.skip(id, "not judged: every such request was refused for another reason ("+strings.Join(others, "; ")+")")
	}
}
