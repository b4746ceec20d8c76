package sim

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// exchangeMDM sends msg, reads the answer, and when it is a refusal sends
// the probes that tell its cause; the observation says what each saw, the
// judges (check.MDMExchange.Refusal) put the refusal down to its cause.
// resp is the answer, for the step to read a command from.
func (r *runner) exchangeMDM(target, contentType, what string, msg map[string]any, o mdmOpts) (x check.MDMExchange, resp *response) {
	body, err := plist.MarshalIndent(msg, plist.XMLFormat, "\t")
	if err != nil {
		resp = &response{err: fmt.Errorf("enrollsim bug: encoding the %s plist: %w", what, err)}
	} else {
		resp = r.mdmSend(target, contentType, body, o)
	}
	x = check.MDMExchange{What: what, ContentType: contentType, TokenSent: r.mdmToken(o) != "", UserChannel: o.userChannel,
		MacDeviceChannel: r.c.Device.Family == device.Mac && !o.userChannel}
	if x.TokenSent && resp.status == http.StatusUnauthorized && hasChallenge(resp.header) {
		// §2.14: "sign in again", which the server may ask at any time;
		// not a refusal of the token until the retry is refused too.
		ok, why := r.signInAgainAfter(resp, what)
		if !ok {
			x.Status = resp.status
			x.Why = "the server asked the device to sign in again (401 with a challenge): " + why
			return x, resp
		}
		o.purpose += " (again, after signing in again)"
		resp, x.Retried = r.mdmSend(target, contentType, body, o), true
	}
	r.observeAnswer(&x, resp)
	if x.Refused() && !x.CauseInAnswer() && !r.c.NoProbes {
		r.probeCause(&x, target, contentType, body, o)
	}
	return x, resp
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

// observeAnswer records what resp says: accepted, refused (and what the
// refusal's text names), or not judged (the tester's own limit).
func (r *runner) observeAnswer(x *check.MDMExchange, resp *response) {
	x.Status = resp.status
	if resp.status == 0 && errors.Is(resp.err, errNoIdentity) {
		x.Why = resp.err.Error()
		return
	}
	if why := unjudgeable(resp, r.lim.Timeout, "answer"); why != "" {
		x.Why = why
		return
	}
	if resp.status == http.StatusOK {
		x.OK = true
		return
	}
	x.Summary = answerSummary(resp)
	x.Unenroll = resp.status == http.StatusForbidden && bytes.Contains(resp.body, []byte("com.apple.unrecognized.device"))
	x.Challenge = hasChallenge(resp.header)
	x.NamesToken, x.NamesIdentity = check.NamesToken(resp.body), check.NamesIdentity(resp.body)
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

// probeCause sends at most two probes for the cause of a refusal the
// answer does not explain: the same request without (or, on the Mac
// device channel, with) the token, and under Content-Type
// application/xml. They need no restore (unlike CHK-007's and CHK-009's):
// each resends the device's own message, so whatever one makes the server
// store is what the device's own request would have.
func (r *runner) probeCause(x *check.MDMExchange, target, contentType string, body []byte, o mdmOpts) {
	probe := o
	probe.probe = true
	if x.TokenSent {
		probe.noToken, probe.token = true, ""
		probe.purpose = "probe: " + x.What + " without the token"
		p := r.mdmSend(target, contentType, body, probe)
		x.Probes = append(x.Probes, check.MDMProbe{Kind: check.ProbeWithoutToken, Status: p.status})
		if p.status == http.StatusOK {
			return
		}
	} else if x.MacDeviceChannel && r.enroll != nil && r.enroll.token != "" {
		probe.token = r.enroll.token
		probe.purpose = "probe: " + x.What + " with the token"
		p := r.mdmSend(target, contentType, body, probe)
		x.Probes = append(x.Probes, check.MDMProbe{Kind: check.ProbeWithToken, Status: p.status})
		if p.status == http.StatusOK {
			return
		}
	}
	if x.Status >= 400 && x.Status < 500 && x.Status != http.StatusUnauthorized {
		probe := o
		probe.probe, probe.purpose = true, "probe: "+x.What+" as Content-Type "+ctXML
		p := r.mdmSend(target, ctXML, body, probe)
		x.Probes = append(x.Probes, check.MDMProbe{Kind: check.ProbeContentType, ContentType: ctXML, Status: p.status})
	}
}

// mdmStop is what a refused or unjudged exchange means to the device: nil
// when it was accepted.
func mdmStop(x check.MDMExchange) *stop {
	msg := x.StopMessage()
	switch {
	case msg == "":
		return nil
	case x.Why != "":
		return &stop{event.OutcomeError, msg}
	case x.Unenroll:
		return &stop{event.OutcomeUnenrolled, msg}
	}
	return &stop{event.OutcomeCheckInFailed, msg}
}
