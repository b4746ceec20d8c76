package refserver

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workerClock is a per-enrollment worker time that moves only when the
// test moves it, as sim.VirtualClock's does.
type workerClock struct {
	mu  sync.Mutex
	now map[string]time.Duration
}

func (w *workerClock) Now(id string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return time.Unix(0, 0).Add(w.now[id])
}

func (w *workerClock) advance(id string, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now[id] += d
}

// With CommandDelay the worker queues the first commands that long after
// TokenUpdate on the worker's clock: a connect before gets the empty 200,
// one after the due time the first command. The server's wall clock
// (Now) does not move at all, so the worker's clock alone is the cause.
func TestCommandDelayQueuesAfterTokenUpdate(t *testing.T) {
	clk := &testClock{now: fixedNow}
	wc := &workerClock{now: map[string]time.Duration{}}
	s := startCfg(t, Config{Now: clk.Now, CommandDelay: 3 * time.Second, WorkerNow: wc.Now})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()

	assertEmptyOK(t, d.connect("Idle", nil, send{}))
	wc.advance(d.id, 2*time.Second)
	assertEmptyOK(t, d.connect("Idle", nil, send{}))
	wc.advance("someone-else", time.Hour)
	assertEmptyOK(t, d.connect("Idle", nil, send{})) // another enrollment's worker time changes nothing
	e, ok := s.LookupEnrollment(d.id)
	require.True(t, ok)
	assert.Empty(t, e.Commands, "nothing handed before the due time")

	wc.advance(d.id, time.Second)
	types, _ := d.drain(send{})
	assert.Equal(t, wantCommands, types)
	assertEmptyOK(t, d.connect("Idle", nil, send{}))
}

// Without a WorkerNow the worker's clock is Now.
func TestCommandDelayDefaultsToNow(t *testing.T) {
	clk := &testClock{now: fixedNow}
	s := startCfg(t, Config{Now: clk.Now, CommandDelay: 3 * time.Second})
	testClocks.Store(s, clk)
	t.Cleanup(func() { testClocks.Delete(s) })
	d := newDevice(t, s, "iPhone17,3", KindADDE, webToken(t, s, "carol@acme.test"))
	d.enroll()
	assertEmptyOK(t, d.connect("Idle", nil, send{}))
	clk.advance(3 * time.Second)
	types, _ := d.drain(send{})
	assert.Equal(t, wantCommands, types)
}
