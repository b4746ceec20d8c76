package refserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// Pushes: a real MDM's worker queues commands a moment after TokenUpdate
// and then pushes through APNs, so the device connects. With Config.APNs
// the reference server does the same through an APNs stand-in
// (internal/apns), with a provider certificate whose UID is its Topic, as
// an MDM push certificate's is.

// APNs says where the server pushes.
type APNs struct {
	URL   string         // the provider API's base URL, e.g. https://127.0.0.1:2197
	Roots *x509.CertPool // CAs the server trusts for it; nil: the system's
}

// pushTimeout bounds one push: the stand-in answers on loopback.
const pushTimeout = 10 * time.Second

// stormPushes is how many pushes push-storm sends where one would do.
const stormPushes = 30

// pusher is the server's side of the provider API.
type pusher struct {
	client *apns.Client
	mu     sync.Mutex
	timers []*time.Timer // real-clock workers (no Config.WorkerNow)
	closed bool
}

// providerKey is the push certificates' key, made once per process: a
// suite starts a server per fault set, and RSA-2048 generation costs
// 50-300 ms each (it was most of the negative suite's 14 s start). Each
// server still has a certificate of its own topic.
var providerKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func newPusher(cfg *APNs, topic string) (*pusher, error) {
	if cfg == nil || cfg.URL == "" {
		return nil, nil
	}
	key, err := providerKey()
	if err != nil {
		return nil, fmt.Errorf("refserver: push certificate key: %w", err)
	}
	cert, err := apns.ProviderCertWithKey(topic, key)
	if err != nil {
		return nil, fmt.Errorf("refserver: push certificate: %w", err)
	}
	return &pusher{client: apns.NewClient(cfg.URL, cert, cfg.Roots, pushTimeout)}, nil
}

func (p *pusher) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	for _, t := range p.timers {
		t.Stop()
	}
	p.mu.Unlock()
	p.client.Close()
}

// after runs f after d on the real clock, unless the server closes first.
func (p *pusher) after(d time.Duration, f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.timers = append(p.timers, time.AfterFunc(d, f))
	}
}

// pushesFor are the notifications that tell e's device to connect, as
// the faults shape them; none without a pusher or a TokenUpdate. The
// caller holds reg.mu and sends them after releasing it.
func (s *Server) pushesFor(e *enrollment) []apns.Notification {
	if s.push == nil || !e.tokenUpdate || s.has(FaultPushNone) {
		return nil
	}
	n := apns.Notification{Token: e.push.Token, Topic: s.topic, PushType: "mdm", Priority: "10", Magic: e.push.PushMagic}
	if s.has(FaultPushStaleToken) {
		n.Token = e.firstPush.Token
	}
	if s.has(FaultPushStaleMagic) {
		n.Magic = e.firstPush.PushMagic
	}
	if s.has(FaultPushWrongTopic) {
		n.Topic = "com.apple.mgmt.External." + newUUID()
	}
	if s.has(FaultPushTypeAlert) {
		n.PushType = "alert"
	}
	out := []apns.Notification{n}
	if s.has(FaultPushStorm) {
		for range stormPushes - 1 {
			out = append(out, n)
		}
	}
	return out
}

// sendPushes sends ns, one after another. A push is a hint to connect:
// one the stand-in refuses or cannot take is logged, never retried.
func (s *Server) sendPushes(ns []apns.Notification) {
	for _, n := range ns {
		ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
		res, err := s.push.client.Push(ctx, n)
		cancel()
		switch {
		case err != nil:
			s.logf("push: %v", err)
		case res.Status != 200:
			s.logf("push: APNs answered %d %s", res.Status, res.Reason)
		}
	}
}

// RunWorker is the worker's turn for the enrollment with this
// EnrollmentID or UDID: once its first commands are due (Config.CommandDelay
// after TokenUpdate, on the worker's clock) it queues them and pushes.
// The embedded target calls it whenever it moves an enrollment's worker
// time (sim.VirtualClock); with the real clock a timer set at TokenUpdate
// does. Calling it early or twice does nothing.
func (s *Server) RunWorker(id string) {
	reg := s.mdm
	reg.mu.Lock()
	e, ok := reg.byID[id]
	var ns []apns.Notification
	if ok && s.queueFirst(e) {
		ns = s.pushesFor(e)
	}
	reg.mu.Unlock()
	s.sendPushes(ns)
}

// queueFirst queues e's first commands on the device channel if they are
// due and not queued yet, and reports whether it did. The caller holds
// reg.mu.
func (s *Server) queueFirst(e *enrollment) bool {
	ch := &e.channels[0]
	if ch.queued || !s.workerQueued(e) {
		return false
	}
	// Commands an admin queued before come after the first ones.
	ch.queue, ch.queued = append(s.firstCommands(e), ch.queue...), true
	return true
}

// afterTokenUpdate is the worker's part in the device channel's first
// TokenUpdate when the server pushes: queue and push at once without a
// command delay, else when the delay has passed (a timer on the real
// clock; on a worker clock, RunWorker when it moves). The caller holds
// reg.mu.
func (s *Server) afterTokenUpdate(e *enrollment, first bool) []apns.Notification {
	if s.push == nil {
		return nil
	}
	if s.cfg.CommandDelay <= 0 {
		if s.queueFirst(e) {
			return s.pushesFor(e)
		}
		return nil
	}
	if first && s.cfg.WorkerNow == nil {
		id := e.id
		s.push.after(s.cfg.CommandDelay, func() { s.RunWorker(id) })
	}
	return nil
}
