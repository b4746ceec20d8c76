package refserver

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// pushing is a server that pushes through a stand-in, its worker on a
// clock the test moves, and one enrolled BYOD device listening.
type pushing struct {
	s      *Server
	apns   *apns.Server
	wc     *workerClock
	d      *mdmDevice
	box    *apns.Mailbox // the device's first token
	second *apns.Mailbox // its second, after rotate
}

func startPushing(t *testing.T, delay time.Duration, faults ...string) *pushing {
	t.Helper()
	standIn, err := apns.Start("127.0.0.1:0", apns.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { standIn.Close() })
	clk := &testClock{now: fixedNow}
	wc := &workerClock{now: map[string]time.Duration{}}
	s := startCfg(t, Config{Faults: faults, Now: clk.Now, CommandDelay: delay, WorkerNow: wc.Now,
		APNs: &APNs{URL: standIn.URL(), Roots: standIn.CertPool()}})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	p := &pushing{s: s, apns: standIn, wc: wc}
	p.d = newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	p.box = standIn.Subscribe([]byte("push-token-" + p.d.id))
	p.d.enroll()
	return p
}

// rotate sends a second TokenUpdate with a new token and PushMagic.
func (p *pushing) rotate(t *testing.T) {
	p.second = p.apns.Subscribe([]byte("rotated-" + p.d.id))
	assertOK(t, p.d.checkin(p.d.message("TokenUpdate", false, map[string]any{
		"Token": []byte("rotated-" + p.d.id), "PushMagic": "rotated-magic-" + p.d.id, "AwaitingConfiguration": false,
	}), send{}))
}

// due moves the worker past the command delay and runs it.
func (p *pushing) due(d time.Duration) {
	p.wc.advance(p.d.id, d)
	p.s.RunWorker(p.d.id)
}

// Without a delay the TokenUpdate queues the first commands and pushes
// before it answers: the push is in the mailbox when enroll returns.
func TestTokenUpdatePushesWithoutDelay(t *testing.T) {
	p := startPushing(t, 0)
	pushes := p.box.Pushes()
	require.Len(t, pushes, 1)
	x := pushes[0]
	assert.Equal(t, 200, x.Status, x.Reason)
	assert.Equal(t, hex.EncodeToString([]byte("push-token-"+p.d.id)), x.Token)
	assert.Equal(t, "magic-"+p.d.id, x.Magic)
	assert.Equal(t, p.s.Topic(), x.Topic)
	assert.Equal(t, p.s.Topic(), x.CertUID, "the provider certificate's UID is the Topic")
	assert.Equal(t, "mdm", x.PushType)
	types, _ := p.d.drain(send{})
	assert.Equal(t, wantCommands, types)
}

// With a delay the worker queues and pushes when its clock reaches the due
// time, to the latest TokenUpdate's token and PushMagic, once.
func TestWorkerPushesWhenDue(t *testing.T) {
	p := startPushing(t, 3*time.Second)
	p.rotate(t)
	p.due(2 * time.Second)
	assert.Empty(t, p.second.Pushes(), "nothing before the due time")
	p.due(time.Second)
	require.Len(t, p.second.Pushes(), 1)
	assert.Equal(t, "rotated-magic-"+p.d.id, p.second.Pushes()[0].Magic)
	assert.Empty(t, p.box.Pushes(), "the first token is not the latest")
	p.due(time.Second)
	assert.Len(t, p.second.Pushes(), 1, "queued once, pushed once")
	types, _ := p.d.drain(send{})
	assert.Equal(t, wantCommands, types)
}

// pushFaultEffects show each push fault on the server: what it pushes.
var pushFaultEffects = map[string]func(t *testing.T, p *pushing){
	FaultPushNone: func(t *testing.T, p *pushing) {
		assert.Empty(t, p.box.Pushes())
		assert.Empty(t, p.second.Pushes())
		types, _ := p.d.drain(send{})
		assert.Equal(t, wantCommands, types, "queued all the same")
	},
	FaultPushStaleToken: func(t *testing.T, p *pushing) {
		assert.Empty(t, p.second.Pushes())
		require.Len(t, p.box.Pushes(), 1)
		assert.Equal(t, "rotated-magic-"+p.d.id, p.box.Pushes()[0].Magic)
	},
	FaultPushStaleMagic: func(t *testing.T, p *pushing) {
		require.Len(t, p.second.Pushes(), 1)
		assert.Equal(t, "magic-"+p.d.id, p.second.Pushes()[0].Magic)
	},
	FaultPushWrongTopic: func(t *testing.T, p *pushing) {
		require.Len(t, p.second.Pushes(), 1)
		x := p.second.Pushes()[0]
		assert.NotEqual(t, p.s.Topic(), x.Topic)
		assert.Equal(t, 400, x.Status)
		assert.Equal(t, "TopicDisallowed", x.Reason)
	},
	FaultPushTypeAlert: func(t *testing.T, p *pushing) {
		require.Len(t, p.second.Pushes(), 1)
		assert.Equal(t, "alert", p.second.Pushes()[0].PushType)
	},
	FaultPushStorm: func(t *testing.T, p *pushing) {
		assert.Len(t, p.second.Pushes(), stormPushes)
	},
	FaultPushLoop: func(t *testing.T, p *pushing) {
		require.Len(t, p.second.Pushes(), 1)
		p.d.drain(send{})
		n := len(p.second.Pushes())
		assertEmptyOK(t, p.d.connect("Idle", nil, send{}))
		assert.Len(t, p.second.Pushes(), n+1, "an empty answer brings another push")
	},
}

func TestPushFaultEffects(t *testing.T) {
	for name, effect := range pushFaultEffects {
		t.Run(name, func(t *testing.T) {
			p := startPushing(t, 3*time.Second, name)
			p.rotate(t)
			p.due(3 * time.Second)
			effect(t, p)
		})
	}
}
