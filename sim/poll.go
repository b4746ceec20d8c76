package sim

import (
	"fmt"
	"slices"

	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
)

// Polling: a real device connects when the server pushes (APNs), and this
// simulator cannot receive a push. So after an empty answer the device may
// connect again on a schedule, a tester's stand-in for the push: for its
// first commands always (a real MDM's worker often queues them a moment
// after TokenUpdate), and, with Case.Stay, for as long as it stays.

// Poll defaults: how often the device reconnects while it has had no
// command yet, and for how long (waits added up) before it leaves.
const (
	DefaultPoll    = time.Second
	DefaultPollFor = 10 * time.Second
)

// pushStandIn is said with every poll wait, so that no one takes polling
// for what a real device does.
const pushStandIn = "polling stands in for the APNs push this simulator cannot receive"

// WorkerClock gives each enrollment a server-worker time of its own, so
// that waiting for a delayed command can be a jump of that time instead of
// a real wait. The embedded target's VirtualClock is one; its reference
// server reads the same time (refserver.Config.WorkerNow).
type WorkerClock interface {
	// AdvanceWorker moves the worker time of the enrollment with this
	// EnrollmentID or UDID forward by d.
	AdvanceWorker(enrollment string, d time.Duration)
}

// poller is the commands step's schedule of reconnects without a push.
type poller struct {
	every time.Duration // <= 0: never reconnect after an empty answer
	stay  time.Duration // > 0: keep polling this long, commands or not
	// waited adds up the waits so far, which bound the polling: on the
	// embedded target they are virtual, so wall time cannot bound them.
	waited time.Duration
	// idle counts the Idle connects sent (the first is 1): "poll N" names
	// the N-th, so the first polled one is "poll 2".
	idle   int
	pushed int // connects woken by a push
}

func newPoller(c Case) *poller {
	p := &poller{every: c.Poll, stay: c.Stay, idle: 1}
	for _, a := range c.Actions {
		// The device stays until every action is due and judged.
		p.stay = max(p.stay, a.After+a.within())
	}
	if p.every == 0 {
		p.every = DefaultPoll
	}
	return p
}

// next says how long the device waits before connecting again after an
// empty answer, having answered answered commands, and the wait event's
// message; ok false: it leaves, as a device without a push would.
func (p *poller) next(answered int) (d time.Duration, msg string, ok bool) {
	limit := p.stay
	if limit <= 0 {
		if answered > 0 || p.every <= 0 {
			return 0, "", false
		}
		limit = DefaultPollFor
	}
	if p.every <= 0 || p.waited >= limit {
		return 0, "", false
	}
	d = min(p.every, limit-p.waited)
	if answered == 0 {
		msg = fmt.Sprintf("no command yet: reconnecting in %s (%s; %s of %s waited)", d, pushStandIn, p.waited, limit)
	} else {
		msg = fmt.Sprintf("queue drained: staying, reconnecting in %s (%s; %s of --stay %s waited)", d, pushStandIn, p.waited, limit)
	}
	return d, msg, true
}

// named names the connect a route woke: polling counts as the N-th Idle
// connect ("poll N"), a push as the N-th push-woken one.
func (p *poller) named(route string) (what, purpose, r string) {
	p.idle++
	switch route {
	case check.RoutePush:
		p.pushed++
		return fmt.Sprintf("connect (Idle, push %d)", p.pushed), fmt.Sprintf("connect: Idle (woken by push %d)", p.pushed), route
	case check.RouteLastLook:
		return "connect (Idle, last look)", "connect: Idle (a last look: no push came while waiting)", route
	}
	return fmt.Sprintf("connect (Idle, poll %d)", p.idle), fmt.Sprintf("connect: Idle (poll %d)", p.idle), route
}

// pollWait waits d before a polled connect: a jump of the enrollment's
// virtual worker time against the embedded target, a real wait (Sleep)
// against any other (a run never mixes the two), either way shown as a
// wait event.
func pollWait(r *runner, m *mdmState, d time.Duration, msg string) error {
	r.wait(d, msg)
	if wc := r.e.WorkerClock; wc != nil {
		wc.AdvanceWorker(m.enrollmentKey(), d)
		return r.ctx.Err()
	}
	return r.sleep(d)
}

// enrollmentKey names the enrollment as the server keys it: EnrollmentID
// in user enrollment, UDID in device enrollment.
func (m *mdmState) enrollmentKey() string {
	if m.userEnrollment {
		return m.ids.enrollmentID
	}
	return m.ids.udid
}

// WorkerNow is the worker time of the enrollment with this EnrollmentID or
// UDID: it starts at the Unix epoch and moves only by AdvanceWorker, so a
// command delay on the embedded server is virtual time whatever the load
// (refserver.Config.WorkerNow).
func (v *VirtualClock) WorkerNow(enrollment string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return time.Unix(0, 0).Add(v.workers[enrollment])
}

// AdvanceWorker jumps an enrollment's worker time forward by d instead of
// waiting.
// Then it runs the hooks (OnWorkerAdvance), outside its lock, so a
// server whose worker was due has queued and pushed when it returns.
func (v *VirtualClock) AdvanceWorker(enrollment string, d time.Duration) {
	v.mu.Lock()
	if v.workers == nil {
		v.workers = map[string]time.Duration{}
	}
	v.workers[enrollment] += d
	hooks := slices.Clone(v.workerHooks)
	v.mu.Unlock()
	for _, h := range hooks {
		h(enrollment)
	}
}

// OnWorkerAdvance adds f to what runs after each AdvanceWorker: a
// reference server's worker (refserver.Server.RunWorker), which acts on
// worker time only when asked.
func (v *VirtualClock) OnWorkerAdvance(f func(enrollment string)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.workerHooks = append(v.workerHooks, f)
}

// MinPoll is the shortest poll interval accepted: a device that
// reconnects faster than this would be a load test, not a stand-in for a
// push.
const MinPoll = 100 * time.Millisecond

// ParsePoll reads a poll interval (--poll, poll:) as a Case.Poll: a
// duration of MinPoll or more, or 0 (or "off") for no polling at all.
func ParsePoll(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" || strings.EqualFold(s, "off") {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil || d < 0:
		return 0, fmt.Errorf("%q: want a duration such as 1s or 500ms, or 0 (off) for no polling", s)
	case d == 0:
		return -1, nil
	case d < MinPoll:
		return 0, fmt.Errorf("%q: want %s or more (a device does not reconnect faster), or 0 (off) for no polling", s, MinPoll)
	}
	return d, nil
}

// ParseStay reads how long the device stays (--stay, stay:) as a
// Case.Stay: a duration, or 0 for polling only until the first commands.
func ParseStay(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 30s or 5m, or 0 to poll only until the first commands", s)
	}
	return d, nil
}

// CheckPoll says what is wrong with a poll and stay together: staying
// without polling would end at the first empty answer all the same.
func CheckPoll(poll, stay time.Duration) error {
	if stay > 0 && poll < 0 {
		return fmt.Errorf("stay %s needs polling, but poll is off: the device would leave at the first empty answer", stay)
	}
	return nil
}
