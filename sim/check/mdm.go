package check

import (
	"fmt"
	"strings"
)

// MDMExchange is one check-in or connect of the device's own and what came
// of it, with what the probes for the cause of a refusal saw. A refusal is
// put down to one check only (Refusal): the request's own, or (when a probe
// or the answer shows it) the token (TOK-004/005) or the content type or
// identity (CHK-006), so a server with one bug trips one check.
type MDMExchange struct {
	What        string `json:"what"`
	ContentType string `json:"content_type"`
	TokenSent   bool   `json:"token_sent,omitempty"`
	UserChannel bool   `json:"user_channel,omitempty"`
	// MacDeviceChannel: a Mac's device channel, which carries no token.
	MacDeviceChannel bool `json:"mac_device_channel,omitempty"`
	// Why says the tester could not judge the answer (its timeout, its
	// limit, no identity, a sign-in again that could not be played).
	Why    string `json:"why,omitempty"`
	Status int    `json:"status,omitempty"`
	OK     bool   `json:"ok,omitempty"` // 200
	// Summary is the answer, bounded: the status and the start of the
	// body, or the transport error.
	Summary   string `json:"summary,omitempty"`
	Challenge bool   `json:"challenge,omitempty"` // the answer has a WWW-Authenticate challenge
	Unenroll  bool   `json:"unenroll,omitempty"`  // 403 com.apple.unrecognized.device
	// Retried: the server asked the device to sign in again (401 with a
	// challenge) and this is the answer to the request sent again.
	Retried       bool       `json:"retried,omitempty"`
	NamesToken    bool       `json:"names_token,omitempty"`    // the refusal's text speaks of the Authorization header
	NamesIdentity bool       `json:"names_identity,omitempty"` // the refusal's text speaks of the signature or certificate
	Probes        []MDMProbe `json:"probes,omitempty"`
	// Route says what woke a connect: RoutePoll for a reconnect on the
	// tester's schedule after an empty answer; empty for the first connect
	// and the answers, which need no waking.
	Route string `json:"route,omitempty"`
}

// RoutePoll is MDMExchange.Route of a connect woken by polling, the
// tester's stand-in for an APNs push.
const RoutePoll = "poll"

// MDMProbe is one probe for the cause of a refusal: the same request with
// one thing changed, and the status it got.
type MDMProbe struct {
	Kind        string `json:"kind"` // ProbeWithoutToken, ProbeWithToken, ProbeContentType
	ContentType string `json:"content_type,omitempty"`
	Status      int    `json:"status"`
}

// Probe kinds.
const (
	ProbeWithoutToken = "without-token"
	ProbeWithToken    = "with-token"
	ProbeContentType  = "content-type"
)

// Refusal is what a refused exchange is put down to.
type Refusal struct {
	Blame  string // the check, when not the request's own
	Warn   bool   // the blame is a reading of the answer's text, not a probe's proof
	Actual string
}

// Refused: the server answered, and not 200, and did not ask the device
// to unenroll.
func (x MDMExchange) Refused() bool { return !x.OK && x.Why == "" && !x.Unenroll }

// CauseInAnswer reports whether the answer alone shows the cause of the
// refusal, so no probe is needed.
func (x MDMExchange) CauseInAnswer() bool {
	_, ok := x.answerCause()
	return ok
}

func (x MDMExchange) answerCause() (Refusal, bool) {
	switch {
	case x.Status == 415:
		return Refusal{Blame: "CHK-006", Actual: fmt.Sprintf("%s: 415 to Content-Type %s", x.What, x.ContentType)}, true
	case x.Retried && x.Status == 401 && x.Challenge:
		return Refusal{Blame: "TOK-004", Actual: x.What + ": 401 with a challenge again, to the token the device got by signing in again"}, true
	case !x.TokenSent && x.MacDeviceChannel && x.Status == 401 && x.Challenge:
		return Refusal{Blame: "TOK-005", Actual: x.What + ": 401 with a challenge to a device-channel request, which a Mac sends without the token"}, true
	}
	return Refusal{}, false
}

// Refusal puts a refusal down to its cause: the answer itself, then the
// probes, then (a warning only) what the answer's text names.
func (x MDMExchange) Refusal() Refusal {
	if !x.Refused() {
		return Refusal{Actual: x.Summary}
	}
	if c, ok := x.answerCause(); ok {
		return c
	}
	for _, p := range x.Probes {
		if p.Status != 200 {
			continue
		}
		switch p.Kind {
		case ProbeWithoutToken:
			return Refusal{Blame: "TOK-004", Actual: fmt.Sprintf("%s: refused with the token (%s), accepted without it", x.What, x.Summary)}
		case ProbeWithToken:
			return Refusal{Blame: "TOK-005", Actual: fmt.Sprintf("%s: the device channel refused without the token (%s), accepted it with the token", x.What, x.Summary)}
		case ProbeContentType:
			return Refusal{Blame: "CHK-006", Actual: fmt.Sprintf("%s: refused as Content-Type %s (%s), accepted as %s", x.What, x.ContentType, x.Summary, p.ContentType)}
		}
	}
	if x.TokenSent && x.NamesToken {
		return Refusal{Blame: "TOK-004", Warn: true, Actual: x.What + ": the refusal names the token: " + x.Summary}
	}
	if x.NamesIdentity {
		return Refusal{Blame: "CHK-006", Warn: true, Actual: x.What + ": the refusal names the signature or certificate: " + x.Summary}
	}
	return Refusal{Actual: x.Summary}
}

// StopMessage is what a refusal means to the device, for the step's
// outcome: "" when the exchange was accepted.
func (x MDMExchange) StopMessage() string {
	switch {
	case x.Why != "":
		return x.What + " could not be judged: " + x.Why
	case x.OK:
		return ""
	}
	said := x.Refusal().Actual
	if !strings.HasPrefix(said, x.What+": ") {
		said = x.What + ": " + said
	}
	if x.Unenroll {
		return "the server asked the device to unenroll at " + said
	}
	return "the server refused " + said
}

// judgeSent judges id, the exchange's own check.
func judgeSent(v *Verdicts, id string, x MDMExchange, expected string) {
	r := x.Refusal()
	switch {
	case x.Why != "":
		v.Error(id, x.Why)
	case x.OK:
		v.Check(id, true, "", "")
	case r.Blame != "":
		v.Skip(id, fmt.Sprintf("the refusal is put down to %s: %s", r.Blame, r.Actual))
	default:
		v.Check(id, false, expected, r.Actual)
	}
}

// judgeGroup: a refusal put down to id fails it (warns when only the
// answer's text says so); one accepted request passes it.
func judgeGroup(v *Verdicts, id string, group []MDMExchange, expected, none string) {
	var blamed, hinted, whys, others []string
	ok := false
	for _, s := range group {
		r := s.Refusal()
		switch {
		case r.Blame == id && r.Warn:
			hinted = append(hinted, r.Actual)
		case r.Blame == id:
			blamed = append(blamed, r.Actual)
		case s.OK:
			ok = true
		case s.Why != "":
			whys = append(whys, s.What+": "+s.Why)
		default:
			blame := r.Blame
			if blame == "" {
				blame = "its own check"
			}
			others = append(others, s.What+" (put down to "+blame+")")
		}
	}
	switch {
	case len(blamed) > 0:
		v.Check(id, false, expected, strings.Join(blamed, "; "))
	case len(hinted) > 0:
		res := Verdict(id, true, "", "")
		res.Status, res.Expected, res.Actual = Warn, expected, strings.Join(hinted, "; ")
		v.Add(res)
	case ok:
		v.Check(id, true, "", "")
	case len(group) == 0:
		v.Skip(id, none)
	case len(whys) > 0:
		v.Error(id, "not judged: "+strings.Join(whys, "; "))
	default:
		v.Skip(id, "not judged: every such request was refused for another reason ("+strings.Join(others, "; ")+")")
	}
}

// NamesToken: the answer's text speaks of the Authorization header, the
// likeliest reading of which is that the token was refused.
func NamesToken(body []byte) bool {
	b := strings.ToLower(string(body[:min(len(body), 4096)]))
	return strings.Contains(b, "authorization") || strings.Contains(b, "bearer")
}

// NamesIdentity: the answer's text speaks of the identity, the likeliest
// reading of which is that the signature or certificate was refused.
func NamesIdentity(body []byte) bool {
	b := strings.ToLower(string(body[:min(len(body), 4096)]))
	for _, w := range []string{"signature", "client certificate", "identity certificate"} {
		if strings.Contains(b, w) {
			return true
		}
	}
	return false
}
