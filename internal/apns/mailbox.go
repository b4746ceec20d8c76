package apns

import (
	"encoding/hex"
	"slices"
	"sync"

	"github.com/enrollsim/enrollsim/sim/check"
)

// Mailbox is what a simulated device receives from the stand-in: every
// push to its token, accepted or not (a device reads Status and Magic to
// tell a push Apple would have delivered from one it would not).
type Mailbox struct {
	s     *Server
	token string
	wake  chan struct{}

	mu     sync.Mutex
	pushes []check.Push
}

// Subscribe opens a mailbox for a device token. Several may subscribe the
// same token; each sees every push to it from now on.
func (s *Server) Subscribe(token []byte) *Mailbox {
	mb := &Mailbox{s: s, token: hex.EncodeToString(token), wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.boxes[mb.token] = append(s.boxes[mb.token], mb)
	s.mu.Unlock()
	return mb
}

// Wait is signalled after each push to the token; signals that find one
// already pending merge into it, so read Pushes after each wake.
func (mb *Mailbox) Wait() <-chan struct{} { return mb.wake }

// Pushes is every push to the token since Subscribe, in order (the last
// 10 000).
func (mb *Mailbox) Pushes() []check.Push {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(tail(mb.pushes))
}

// Close stops delivery to this mailbox; what it holds stays readable.
func (mb *Mailbox) Close() {
	s := mb.s
	s.mu.Lock()
	defer s.mu.Unlock()
	boxes := slices.DeleteFunc(s.boxes[mb.token], func(b *Mailbox) bool { return b == mb })
	if len(boxes) == 0 {
		delete(s.boxes, mb.token)
	} else {
		s.boxes[mb.token] = boxes
	}
}

// deliver is called with the server's lock held, so every mailbox of a
// token sees its pushes in the server's record order.
func (mb *Mailbox) deliver(p check.Push) {
	mb.mu.Lock()
	mb.pushes = trim(append(mb.pushes, p))
	mb.mu.Unlock()
	select {
	case mb.wake <- struct{}{}:
	default:
	}
}
