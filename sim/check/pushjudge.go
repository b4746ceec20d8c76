package check

import (
	"fmt"
	"time"
)

// The PUSH checks judge what an MDM server sends to Apple's push service
// (APNs) to wake a device, as the APNs stand-in received it. Apple's rules
// (developer.apple.com/documentation/devicemanagement/sending-mdm-commands-to-a-device):
// the service "sends a push notification to the device to initiate
// communication"; the message is JSON that includes "only the PushMagic
// string as the value of the mdm key"; the topic "corresponds to the
// contents of the User ID parameter in the Subject field of the
// push-notification client certificate". Token Update: the server pushes
// only after the first TokenUpdate, and "the device may send additional
// TokenUpdate messages ... at any time".

var pushOwns = []string{"PUSH-001", "PUSH-002", "PUSH-003", "PUSH-004", "PUSH-005", "PUSH-006"}

func init() {
	register(Judge{Group: "PUSH", Reads: "pushes", Owns: pushOwns, Run: func(o *Observations) *Verdicts {
		if o.Push == nil {
			return nil
		}
		return JudgePushes(*o.Push)
	}})
}

// JudgePushes is PUSH-001 to PUSH-006 over one case's push route.
func JudgePushes(p PushLife) *Verdicts {
	v := NewVerdicts(pushOwns...)
	if len(p.Pushes) == 0 {
		judgeNoPush(v, p)
		v.SkipRest("no push reached the APNs stand-in for this device's tokens")
		return v
	}
	judgePushTokens(v, p)
	judgePushTopics(v, p)
	judgePushMagic(v, p)
	judgePushTypes(v, p)
	judgePushLoop(v, p)
	judgePushStorm(v, p)
	return v
}

// judgeNoPush: commands found by the device's last look, after its wait
// for a push ran out, were queued without a push. WARN, not FAIL: the
// server may push to Apple's APNs instead of the stand-in (its APNs host
// is its configuration, README "Pushes and polling").
func judgeNoPush(v *Verdicts, p PushLife) {
	for _, c := range p.Connects {
		if c.Route == RouteLastLook && c.Command != "" {
			v.Add(With("PUSH-001", Warn, fmt.Sprintf("the server queued %s but no push reached the stand-in for the token of the latest TokenUpdate (is the server's APNs host the stand-in? see README, Pushes and polling); the device found it only by a last look", c.Command)))
			return
		}
	}
	v.Skip("PUSH-001", "no push reached the APNs stand-in, and no command was waiting: nothing to judge")
}

// latestAt is the index of the TokenUpdate that was the latest when a
// push arrived at t, and whether a newer one was in flight then (sent,
// not yet answered), when the server may rightly use either.
func latestAt(tokens []PushToken, t time.Time) (latest int, inFlight bool) {
	latest = -1
	for i, tk := range tokens {
		switch {
		case !tk.OK || tk.Sent.After(t):
		case tk.Answered.After(t):
			inFlight = true
		default:
			latest = i
		}
	}
	return latest, inFlight
}

func judgePushTokens(v *Verdicts, p PushLife) {
	for _, x := range p.Pushes {
		i, inFlight := latestAt(p.Tokens, x.At)
		if i < 0 || inFlight || x.Token == p.Tokens[i].Token {
			continue
		}
		which := "a token the device never sent"
		for j, tk := range p.Tokens {
			if tk.Token == x.Token {
				which = fmt.Sprintf("the token of TokenUpdate %d", j+1)
			}
		}
		v.Check("PUSH-001", false, fmt.Sprintf("pushes go to the token of the latest TokenUpdate (%d of %d)", i+1, len(p.Tokens)),
			fmt.Sprintf("a push went to %s (%s) after TokenUpdate %d gave %s", which, short(x.Token), i+1, short(p.Tokens[i].Token)))
		return
	}
	v.Check("PUSH-001", true, "pushes go to the token of the latest TokenUpdate", "")
}

func judgePushTopics(v *Verdicts, p PushLife) {
	for _, x := range p.Pushes {
		switch {
		case x.CertUID != p.Topic:
			v.Check("PUSH-002", false, "the push certificate's UID is the profile's Topic "+p.Topic,
				fmt.Sprintf("the provider certificate's UID is %q", x.CertUID))
			return
		case x.Topic != "" && x.Topic != p.Topic:
			v.Check("PUSH-002", false, "apns-topic is the profile's Topic "+p.Topic,
				fmt.Sprintf("apns-topic %q (the stand-in answered %d %s)", Printable(x.Topic), x.Status, x.Reason))
			return
		}
	}
	v.Check("PUSH-002", true, "apns-topic and the certificate's UID are the profile's Topic", "")
}

func judgePushMagic(v *Verdicts, p PushLife) {
	for _, x := range p.Pushes {
		i, inFlight := latestAt(p.Tokens, x.At)
		if i < 0 || inFlight || x.Magic == p.Tokens[i].Magic {
			continue
		}
		actual := fmt.Sprintf("the payload %s has no mdm string", Excerpt([]byte(x.Payload), 120))
		if x.Magic != "" {
			actual = fmt.Sprintf("the payload's mdm is %q, not the PushMagic of TokenUpdate %d", Printable(x.Magic), i+1)
			for j, tk := range p.Tokens {
				if tk.Magic == x.Magic {
					actual = fmt.Sprintf("the payload carries the PushMagic of TokenUpdate %d, not of the latest (%d): the device ignores it", j+1, i+1)
				}
			}
		}
		v.Check("PUSH-003", false, `the payload is {"mdm":"<PushMagic of the latest TokenUpdate>"}`, actual)
		return
	}
	v.Check("PUSH-003", true, "the payload carries the PushMagic of the latest TokenUpdate", "")
}

func judgePushTypes(v *Verdicts, p PushLife) {
	for _, x := range p.Pushes {
		if x.PushType != "mdm" {
			got := "no apns-push-type"
			if x.PushType != "" {
				got = fmt.Sprintf("apns-push-type %q", Printable(x.PushType))
			}
			v.Check("PUSH-004", false, "apns-push-type: mdm", got)
			return
		}
	}
	v.Check("PUSH-004", true, "apns-push-type: mdm", "")
}

// judgePushLoop is PUSH-005: a push is sent because a command is queued.
// What counts as a loop: LoopLimit connects in a row, each woken by a
// push, that found nothing queued.
func judgePushLoop(v *Verdicts, p PushLife) {
	run, most := 0, 0
	for _, c := range p.Connects {
		switch {
		case c.Route != RoutePush:
		case c.Command == "":
			run++
			most = max(most, run)
		default:
			run = 0
		}
	}
	v.Check("PUSH-005", most < LoopLimit && !p.Loop, fmt.Sprintf("a push follows a queued command (fewer than %d pushes in a row that wake a connect to an empty queue)", LoopLimit),
		fmt.Sprintf("%d pushes in a row woke a connect that found nothing queued: the server pushes in a loop", most))
}

// judgePushStorm is PUSH-006: at most StormLimit pushes within a minute
// to a device that has not connected since the first of them.
func judgePushStorm(v *Verdicts, p PushLife) {
	var connects []time.Time
	for _, c := range p.Connects {
		connects = append(connects, c.At)
	}
	for i, x := range p.Pushes {
		n := 0
		for _, y := range p.Pushes[i:] {
			if y.At.Sub(x.At) >= time.Minute || connectedBetween(connects, x.At, y.At) {
				break
			}
			n++
		}
		if n > StormLimit {
			v.Check("PUSH-006", false, fmt.Sprintf("at most %d pushes a minute to a device that has not connected", StormLimit),
				fmt.Sprintf("%d pushes within a minute before the device connected again", n))
			return
		}
	}
	v.Check("PUSH-006", true, fmt.Sprintf("at most %d pushes a minute to a device that has not connected", StormLimit), "")
}

func connectedBetween(connects []time.Time, from, to time.Time) bool {
	for _, c := range connects {
		if c.After(from) && c.Before(to) {
			return true
		}
	}
	return false
}

// short is a token as reports show it: enough to tell tokens apart.
func short(token string) string {
	if len(token) <= 12 {
		return token
	}
	return token[:12] + "…"
}
