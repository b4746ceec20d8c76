package sim

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"howett.net/plist"
)

// Scripted server actions: a scenario can make the server act during the
// device's stay ("queue DeviceLock 5 s in, and expect the device to answer
// it within 10 s") through the target's Queue admin hook. The device
// answers the command as any other; the case records how long it took.

// DefaultWithin is how long a device may take to answer a scripted
// command when the action gives no bound.
const DefaultWithin = 30 * time.Second

// Action is one scripted server action.
type Action struct {
	// After is how long the device has waited in its commands step
	// (waits added up) when the action is taken.
	After time.Duration
	// Queue is the RequestType of the command the server queues; Keys are
	// its other keys.
	Queue string
	Keys  map[string]any
	// Within bounds the waiting between the action and the device's
	// answer; zero: DefaultWithin.
	Within time.Duration
}

func (a Action) within() time.Duration {
	if a.Within > 0 {
		return a.Within
	}
	return DefaultWithin
}

// actionState is one action as the case plays it.
type actionState struct {
	Action
	uuid     string
	fired    bool
	firedAt  time.Duration // waited when it was taken
	answered bool
	took     time.Duration // waited between the action and the answer
	failed   string        // why it could not be taken
}

// actionsOf are the case's actions, not yet taken.
func actionsOf(c Case) []*actionState {
	var out []*actionState
	for i, a := range c.Actions {
		out = append(out, &actionState{Action: a, uuid: fmt.Sprintf("enrollsim-action-%d-%s", i+1, newUUIDv4())})
	}
	return out
}

// fireActions takes every action that is due at waited, through the
// target's Queue hook.
func (r *runner) fireActions(m *mdmState, waited time.Duration) {
	for _, a := range m.actions {
		if a.fired || waited < a.After {
			continue
		}
		a.fired, a.firedAt = true, waited
		a.failed = r.queueHook(m, a)
	}
}

// queueHook asks the server to queue a's command for this enrollment.
func (r *runner) queueHook(m *mdmState, a *actionState) string {
	tmpl := r.c.Target.Admin.Queue
	if tmpl == "" {
		return "the target has no queue hook (--admin-queue, or the scenario target's admin.queue)"
	}
	method := http.MethodPost
	if rest, ok := strings.CutPrefix(tmpl, "PUT "); ok {
		method, tmpl = http.MethodPut, strings.TrimSpace(rest)
	}
	cmd := maps.Clone(a.Keys)
	if cmd == nil {
		cmd = map[string]any{}
	}
	cmd["RequestType"] = a.Queue
	body, err := plist.MarshalIndent(map[string]any{"CommandUUID": a.uuid, "Command": cmd}, plist.XMLFormat, "\t")
	if err != nil {
		return fmt.Sprintf("the %s command cannot be written as a plist: %v", a.Queue, err)
	}
	target := strings.ReplaceAll(tmpl, "{id}", url.QueryEscape(m.enrollmentKey()))
	h := http.Header{"Content-Type": {"application/x-apple-aspen-mdm"}}
	resp := r.do(request{method: method, url: target, header: h, body: body, purpose: fmt.Sprintf("admin: queue %s (scenario action after %s)", a.Queue, a.firedAt),
		probe: true, limit: 64 << 10, classicTLS: true})
	switch {
	case resp.err != nil:
		return fmt.Sprintf("the queue hook %s: %v", target, resp.err)
	case resp.status < 200 || resp.status > 299:
		return fmt.Sprintf("the queue hook %s answered %d %s", target, resp.status, excerpt(resp.body, 200))
	}
	return ""
}

// actionAnswered marks the action whose command the device is answering.
func (m *mdmState) actionAnswered(uuid, requestType string, waited time.Duration) {
	for _, a := range m.actions {
		if a.fired && !a.answered && a.failed == "" && (a.uuid == uuid || a.Queue == requestType) {
			a.answered, a.took = true, waited-a.firedAt
			return
		}
	}
}

// actionsSummary says what came of the actions, and why the case fails
// its scripted expectations ("" when none failed).
func actionsSummary(m *mdmState) (summary, failed string) {
	var done, bad []string
	for _, a := range m.actions {
		switch {
		case !a.fired:
			bad = append(bad, fmt.Sprintf("queue %s after %s: not taken (the device left before)", a.Queue, a.After))
		case a.failed != "":
			bad = append(bad, fmt.Sprintf("queue %s: %s", a.Queue, a.failed))
		case !a.answered || a.took > a.within():
			bad = append(bad, fmt.Sprintf("queue %s after %s: not answered within %s", a.Queue, a.firedAt, a.within()))
		default:
			done = append(done, fmt.Sprintf("queued %s after %s, answered %s later", a.Queue, a.firedAt, a.took))
		}
	}
	return strings.Join(append(done, bad...), "; "), strings.Join(bad, "; ")
}

// newUUIDv4 is a random UUID, for the CommandUUID of a scripted command.
func newUUIDv4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return uuidOf(b)
}
