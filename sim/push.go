package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
)

// The push route: a real device connects when its MDM server sends an
// APNs push. A run with a push receiver (the APNs stand-in, internal/apns,
// which a server must be pointed at) subscribes each simulated device to
// the pushes for its tokens, and after an empty answer the device waits
// for one instead of polling. The PUSH checks judge what the server sent.

// PushReceiver is where the pushes to simulated devices land.
type PushReceiver interface {
	// Subscribe starts collecting the pushes to token.
	Subscribe(token []byte) PushMailbox
}

// PushReceiverFunc is a PushReceiver made of a function, so that a
// stand-in whose mailbox type is its own can be one.
type PushReceiverFunc func(token []byte) PushMailbox

// Subscribe calls f.
func (f PushReceiverFunc) Subscribe(token []byte) PushMailbox { return f(token) }

// PushMailbox holds the pushes to one token.
type PushMailbox interface {
	// Wait is signalled when a push arrives; Pushes then has it.
	Wait() <-chan struct{}
	// Pushes are all pushes to the token since Subscribe, in order.
	Pushes() []check.Push
	Close()
}

// pushState is one case's side of the push route.
type pushState struct {
	life  *check.PushLife
	boxes []PushMailbox
	// heard counts the pushes already seen when the device last sent a
	// connect: a push that came before a connect is answered by it.
	heard int
	// emptyWakes counts push-woken connects in a row that found nothing.
	emptyWakes int
	woken      int  // connects woken by a push
	lookedLast bool // the one last-look connect was sent
}

// pushOn reports whether this case's device listens for pushes.
func (r *runner) pushOn() bool { return r.c.Target.Push != nil }

// subscribe listens for pushes to the token a TokenUpdate is about to
// give, and records that TokenUpdate.
func (r *runner) subscribe(m *mdmState, token []byte, magic string) *check.PushToken {
	if !r.pushOn() {
		return nil
	}
	if m.push == nil {
		// r.obs.Push is set by the commands step, which judges it.
		m.push = &pushState{life: &check.PushLife{Topic: m.cfg.topic}}
	}
	m.push.boxes = append(m.push.boxes, r.c.Target.Push.Subscribe(token))
	m.push.life.Tokens = append(m.push.life.Tokens, check.PushToken{Token: hex.EncodeToString(token), Magic: magic, Sent: time.Now()})
	return &m.push.life.Tokens[len(m.push.life.Tokens)-1]
}

// answered marks a recorded TokenUpdate's answer.
func tokenAnswered(tk *check.PushToken, ok bool) {
	if tk != nil {
		tk.Answered, tk.OK = time.Now(), ok
	}
}

// pushes are every push to any of the device's tokens, in arrival order.
func (ps *pushState) pushes() []check.Push {
	var all []check.Push
	for _, b := range ps.boxes {
		all = append(all, b.Pushes()...)
	}
	slices.SortStableFunc(all, func(a, b check.Push) int { return a.At.Compare(b.At) })
	return all
}

// closePush stops listening.
func (r *runner) closePush() {
	m := r.mdm
	if m == nil || m.push == nil {
		return
	}
	for _, b := range m.push.boxes {
		b.Close()
	}
	m.push.boxes = nil
}

// rotatePushToken sends a second device-channel TokenUpdate with a new
// token and PushMagic, as a device may at any time (Apple, Token Update),
// so that PUSH-001 and PUSH-003 can tell a server that pushes with what
// it was told last from one that keeps the first.
func (r *runner) rotatePushToken(m *mdmState) {
	if m.push == nil || len(m.push.life.Tokens) != 1 {
		return
	}
	sum := sha256.Sum256(append([]byte("enrollsim/rotated/"), m.ids.pushToken...))
	m.ids.userPushToken, m.ids.userPushMagic = m.ids.pushToken, m.ids.pushMagic
	m.ids.pushToken, m.ids.pushMagic = sum[:], uuidOf(sha256.New().Sum(sum[:]))
	tk := r.subscribe(m, m.ids.pushToken, m.ids.pushMagic)
	x, _ := r.exchangeMDM(m.cfg.checkInURL, ctCheckIn, "TokenUpdate (a new push token)", m.checkInMessage("TokenUpdate", m.ids, false),
		mdmOpts{purpose: "push: TokenUpdate with a new token and PushMagic (a device may send one at any time)"})
	tokenAnswered(tk, x.OK)
}

// wakingPush is the first push since the device last connected that
// would wake it: accepted by the stand-in, to its latest token, with its
// latest PushMagic. A real device never sees the others.
func (ps *pushState) wakingPush() (check.Push, bool) {
	all := ps.pushes()
	var latest check.PushToken
	for _, tk := range ps.life.Tokens {
		if tk.OK {
			latest = tk
		}
	}
	if latest.Token == "" {
		return check.Push{}, false
	}
	for _, x := range all[min(ps.heard, len(all)):] {
		if x.Status == 200 && x.Token == latest.Token && x.Magic == latest.Magic {
			return x, true
		}
	}
	return check.Push{}, false
}

// wokeAt is when the push that woke a connect of this route came; nil
// for a connect no push woke.
func (ps *pushState) wokeAt(route string) *time.Time {
	if ps == nil || route != check.RoutePush {
		return nil
	}
	if x, ok := ps.wakingPush(); ok {
		return &x.At
	}
	return nil
}

// connecting marks every push heard so far as answered by the connect
// about to be sent, and records that connect.
func (ps *pushState) connecting(route string) {
	if ps == nil {
		return
	}
	ps.heard = len(ps.pushes())
	ps.life.Connects = append(ps.life.Connects, check.PushWake{At: time.Now(), Route: route})
}

// found records what the connect just sent got, and counts push-woken
// connects in a row that found nothing (check.LoopLimit of them and the
// device stops heeding pushes, as PUSH-005 reports).
func (ps *pushState) found(command string) {
	if ps == nil || len(ps.life.Connects) == 0 {
		return
	}
	c := &ps.life.Connects[len(ps.life.Connects)-1]
	c.Command = command
	if c.Route != check.RoutePush {
		return
	}
	if command == "" {
		ps.emptyWakes++
	} else {
		ps.emptyWakes = 0
	}
	if ps.emptyWakes >= check.LoopLimit {
		ps.life.Loop = true
	}
}

// awaitPush waits, within the poller's limits, for a push that wakes the
// device, in ticks of the poll interval: against the embedded target each
// tick is a jump of the enrollment's worker time (whose worker then
// queues and pushes), against another a real wait on the mailbox. It
// returns false when the wait ran out or the device stopped heeding
// pushes (a loop).
func (r *runner) awaitPush(m *mdmState, p *poller, answered int) (bool, error) {
	ps := m.push
	if ps.life.Loop {
		return false, nil
	}
	if _, ok := ps.wakingPush(); ok {
		return true, nil
	}
	tick := p.every
	if tick <= 0 {
		tick = DefaultPoll
	}
	limit := p.stay
	if limit <= 0 {
		if answered > 0 {
			return false, nil
		}
		limit = DefaultPollFor
	}
	if p.waited >= limit {
		return false, nil
	}
	r.wait(limit-p.waited, fmt.Sprintf("waiting up to %s for a push from the server through the APNs stand-in (%s of %s waited)", limit-p.waited, p.waited, limit))
	for p.waited < limit {
		d := min(tick, limit-p.waited)
		if err := r.pushTick(m, ps, d); err != nil {
			return false, err
		}
		p.waited += d
		r.fireActions(m, p.waited)
		if _, ok := ps.wakingPush(); ok {
			return true, nil
		}
	}
	return false, nil
}

// pushTick lets d pass: a jump of worker time on the embedded target, a
// real wait for the mailboxes (woken early by a push) on any other.
func (r *runner) pushTick(m *mdmState, ps *pushState, d time.Duration) error {
	if wc := r.e.WorkerClock; wc != nil {
		wc.AdvanceWorker(m.enrollmentKey(), d)
		return r.ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	wake := make(chan struct{}, 1)
	stop := make(chan struct{})
	defer close(stop)
	for _, b := range ps.boxes {
		go func(c <-chan struct{}) {
			select {
			case <-c:
				select {
				case wake <- struct{}{}:
				default:
				}
			case <-stop:
			}
		}(b.Wait())
	}
	select {
	case <-t.C:
	case <-wake:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	return nil
}
