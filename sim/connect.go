package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/mdmcmd"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// maxCommands bounds the commands one case answers: a server may queue
// many, and a hostile one may never stop.
const maxCommands = 20

// connectMessage is a connect body of this enrollment: Status and the keys
// that say who sends it.
func (m *mdmState) connectMessage(ids deviceIDs, userChannel bool, status string) map[string]any {
	msg := m.idKeys(ids, userChannel)
	msg["Status"] = status
	return msg
}

// commandsStep is §2.13.4: connect with Status Idle, answer each command
// the server sends, connect again, up to maxCommands and the step's time
// bound. After an empty answer the device may connect again on the
// poller's schedule (poll.go), in place of the push it cannot receive.
// CHK-008 judges the first connect, CHK-012 what the commands ask, and
// TOK-004/005 and CHK-006 every request the device sent.
func (r *runner) commandsStep() (*stop, event.StepStatus, string) {
	m := r.mdm
	if m == nil || !m.checkedIn {
		return nil, event.StepSkipped, "no connect: the device did not check in"
	}
	o := &check.Commands{UserEnrollment: m.userEnrollment}
	r.obs.Commands = o
	if m.push != nil {
		r.obs.Push = m.push.life
	}
	defer func() {
		o.Withheld, o.Forbidden, o.Unavailable = m.withheld, m.forbidden, m.unavailable
		for _, p := range m.cmds.ForbiddenPayloads() {
			o.ForbiddenPayloads = append(o.ForbiddenPayloads, check.ForbiddenPayload{PayloadType: p.PayloadType, PayloadIdentifier: p.PayloadIdentifier, Platform: p.Platform, CommandUUID: p.CommandUUID})
		}
		r.judged(check.JudgeCommands(*o))
		r.judged(check.JudgeRequestsTOK(r.obs.CheckIn, o))
		r.judged(check.JudgeRequestsCHK(r.obs.CheckIn, o))
		r.judged(check.JudgeForbiddenCommands(*o))
		if ps := m.push; ps != nil {
			ps.life.Pushes = ps.pushes()
			r.judged(check.JudgePushes(*ps.life))
		}
	}()
	m.played = true
	m.actions = actionsOf(r.c)
	r.rotatePushToken(m)
	st, status, msg := r.connectLoop(m, o)
	return st, status, commandsSummary(m, msg)
}

// connectLoop connects with Idle and answers each command until an empty
// answer, then waits for what wakes the device again: a push (push.go) or
// its poll schedule (poll.go).
func (r *runner) connectLoop(m *mdmState, o *check.Commands) (*stop, event.StepStatus, string) {
	deadline := time.Now().Add(r.lim.StepTimeout)
	dev := r.commandDevice()
	p := newPoller(r.c)
	body := m.connectMessage(m.ids, false, "Idle")
	what, purpose, route := "connect (Idle)", "connect: Idle", ""
	for i := 0; ; i++ {
		pushedAt := m.push.wokeAt(route) // before connecting marks the push heard
		m.push.connecting(route)
		x, resp := r.exchangeMDM(m.cfg.serverURL, ctConnect, what, body, mdmOpts{purpose: purpose, pushedAt: pushedAt})
		x.Route = route
		o.Connects = append(o.Connects, x)
		cmd, done, bad := readCommand(x, resp)
		m.push.found(cmd.RequestType)
		if i == 0 {
			o.FirstBad = bad
			m.connected = x.OK && bad == ""
		}
		switch {
		case x.Unenroll:
			msg := "the server asked the device to unenroll at " + what + ": " + x.Summary
			return &stop{event.OutcomeUnenrolled, msg}, event.StepFailed, msg
		case x.Why != "":
			return nil, event.StepError, what + " could not be judged: " + x.Why
		case !x.OK || bad != "":
			return nil, event.StepFailed, what + ": " + firstNonEmpty(bad, x.Refusal().Actual)
		case !done && (len(m.commands) == maxCommands || time.Now().After(deadline)):
			return nil, event.StepOK, fmt.Sprintf("stopped with %s unanswered: the simulator answers at most %d commands within %s (its bounds)", cmd.RequestType, maxCommands, r.lim.StepTimeout)
		case !done:
			m.actionAnswered(cmd.UUID, cmd.RequestType, p.waited)
			body = m.answerMessage(cmd, dev)
			what, purpose, route = "connect (answer "+cmd.RequestType+")", "connect: answer "+cmd.RequestType, ""
			continue
		}
		next, err := r.wake(m, p, &deadline)
		if err != nil {
			return nil, event.StepError, "interrupted while waiting to reconnect: " + err.Error()
		}
		if next == "" {
			return nil, event.StepOK, ""
		}
		body = m.connectMessage(m.ids, false, "Idle")
		what, purpose, route = p.named(next)
	}
}

// wake waits for what makes the device connect again after an empty
// answer: the route ("" when it leaves).
func (r *runner) wake(m *mdmState, p *poller, deadline *time.Time) (string, error) {
	answered := len(m.commands)
	r.fireActions(m, p.waited)
	if ps := m.push; ps != nil && !ps.life.Loop {
		// After a push loop the device polls: it no longer heeds pushes.
		ok, err := r.awaitPush(m, p, answered)
		switch {
		case err != nil:
			return "", err
		case ok:
			ps.woken++
			return check.RoutePush, nil
		case answered == 0 && !ps.lookedLast:
			ps.lookedLast = true
			return check.RouteLastLook, nil
		}
		return "", nil
	}
	wait, waitMsg, again := p.next(answered)
	if !again {
		return "", nil
	}
	if err := pollWait(r, m, wait, waitMsg); err != nil {
		return "", err
	}
	if r.e.WorkerClock == nil {
		// A real wait: the step's time bound does not count it.
		*deadline = deadline.Add(wait)
	}
	p.waited += wait
	m.polled++
	return check.RoutePoll, nil
}

// commandsSummary is the commands step's message: what was answered, how
// many connects a push or polling woke, and why the step stopped early.
func commandsSummary(m *mdmState, msg string) string {
	summary := fmt.Sprintf("answered %d commands", len(m.commands))
	if len(m.commands) > 0 {
		summary += ": " + strings.Join(m.commands, ", ")
	}
	if m.push != nil && m.push.woken > 0 {
		summary += fmt.Sprintf("; %d connects woke by a push", m.push.woken)
	}
	if m.polled > 0 {
		summary += fmt.Sprintf("; %d connects woke by polling (a real device waits for a push)", m.polled)
	}
	if acts, _ := actionsSummary(m); acts != "" {
		summary += "; scenario actions: " + acts
	}
	if msg != "" {
		summary += "; " + msg
	}
	return summary
}

// answerMessage records cmd and builds the device's answer to it: the
// answer's Status and result keys, the keys naming the enrollment (never
// the answer's), and the CommandUUID.
func (m *mdmState) answerMessage(cmd mdmcmd.Command, dev mdmcmd.Device) map[string]any {
	m.commands = append(m.commands, cmd.RequestType)
	if cmd.RequestType == "DeclarativeManagement" {
		m.ddmRequested = true
		m.ddmCommands++
		m.ddmData, _ = cmd.Body["Data"].([]byte)
	}
	if w := mdmcmd.Withheld(cmd, m.userEnrollment); len(w) > 0 {
		m.withheld = append(m.withheld, fmt.Sprintf("%s asks for %s", cmd.RequestType, strings.Join(w, ", ")))
	}
	if ok, why := mdmcmd.Available(cmd.RequestType, dev.Family, dev.OSVersion); !ok {
		m.unavailable = append(m.unavailable, fmt.Sprintf("%s (%s): %s", cmd.RequestType, why, commandText(cmd)))
	}
	if no, platform := mdmcmd.ForbiddenInUserEnrollment(cmd.RequestType, dev.Family); no && m.userEnrollment {
		m.forbidden = append(m.forbidden, check.ForbiddenCommand{RequestType: cmd.RequestType, Platform: platform, Text: commandText(cmd)})
	}
	body := map[string]any{}
	for k, v := range m.cmds.Answer(cmd, dev) {
		body[k] = v
	}
	for k, v := range m.idKeys(m.ids, false) {
		body[k] = v
	}
	if _, ok := body["Status"]; !ok {
		body["Status"] = "Acknowledged"
	}
	body["CommandUUID"] = cmd.UUID
	return body
}

// readCommand reads a connect's answer: done when the body is empty (no
// command queued), bad says why a 200 is no command plist.
func readCommand(x check.MDMExchange, resp *response) (cmd mdmcmd.Command, done bool, bad string) {
	if !x.OK {
		return cmd, false, ""
	}
	if len(strings.TrimSpace(string(resp.body))) == 0 {
		return cmd, true, ""
	}
	cmd, err := mdmcmd.Parse(resp.body)
	if err != nil {
		return cmd, false, "200 with a body that is no command plist: " + truncate(err.Error(), 300)
	}
	return cmd, false, ""
}

// commandDevice is what the command answers may tell about the device.
func (r *runner) commandDevice() mdmcmd.Device {
	m, d := r.mdm, r.c.Device
	dev := mdmcmd.Device{
		Family: string(d.Family), Product: d.Product, OSVersion: d.OS.String(), BuildVersion: d.Build,
		DeviceName: d.Name, UserEnrollment: m.userEnrollment,
	}
	if !m.userEnrollment {
		// Withheld in user enrollment: not even handed to the answers.
		dev.SerialNumber, dev.UDID = m.ids.serial, m.ids.udid
	}
	if p := r.enroll.profile; p != nil {
		if id, ok := p.Top.String("PayloadIdentifier"); ok {
			dev.ProfileIdentifiers = []string{id}
		}
	}
	if r.identity != nil && r.identity.cert != nil {
		dev.IdentityDER = r.identity.cert.Raw
	}
	return dev
}

// afterProfileSummary says how far the device got after the profile, for
// the case's closing message.
func (r *runner) afterProfileSummary() string {
	m := r.mdm
	if m == nil || !m.checkedIn {
		return ""
	}
	if !m.played {
		return "checked in"
	}
	if len(m.commands) == 0 {
		return "checked in, no commands queued"
	}
	return fmt.Sprintf("checked in, answered %d commands: %s", len(m.commands), strings.Join(m.commands, ", "))
}

// mdmFacts adds what check-in and connect learned to the case's facts.
func (r *runner) mdmFacts(f map[string]string) {
	m := r.mdm
	if m == nil || !m.checkedIn {
		return
	}
	f["checkin"] = "ok"
	if m.played {
		f["commands"] = fmt.Sprint(len(m.commands))
		f["command_types"] = strings.Join(m.commands, ",")
		if m.polled > 0 {
			f["connects_polled"] = fmt.Sprint(m.polled)
		}
		if m.push != nil && m.push.woken > 0 {
			f["connects_pushed"] = fmt.Sprint(m.push.woken)
		}
		if acts, failed := actionsSummary(m); acts != "" {
			f["actions"] = acts
			if failed != "" {
				f["actions_failed"] = failed
			}
		}
	}
}

// commandText is a command as a report shows it: its RequestType, its
// keys with their values (those that unlock or authorise something
// masked) and its CommandUUID.
func commandText(cmd mdmcmd.Command) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(cmd.Body)) {
		if k == "RequestType" {
			continue
		}
		v := cmd.Body[k]
		switch lk := strings.ToLower(k); {
		case strings.Contains(lk, "pin") || strings.Contains(lk, "passcode") || strings.Contains(lk, "password") ||
			strings.Contains(lk, "token") || strings.Contains(lk, "code"):
			v = secret.Redacted
		default:
			switch x := v.(type) {
			case map[string]any:
				v = fmt.Sprintf("{%d keys}", len(x))
			case []any:
				v = fmt.Sprintf("[%d items]", len(x))
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %v", k, v))
	}
	return truncate(fmt.Sprintf("%s {%s} (CommandUUID %s)", cmd.RequestType, strings.Join(parts, ", "), cmd.UUID), 500)
}
