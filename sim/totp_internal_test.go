package sim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// A seed from RFC 6238's test vectors, in base32.
const testSeed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func turnRunner(ctx context.Context, e *Engine, l *totpLedger, name string, emit func(event.Event)) *runner {
	if emit == nil {
		emit = func(event.Event) {}
	}
	c := Case{Name: name, Account: Account{Identifier: "alice@acme.test", TOTPSecret: secret.New(testSeed)}}
	return &runner{e: e, c: c, ctx: ctx, emit: emit, clock: time.Now, red: &secret.Redactor{}, ledger: l}
}

// A case that has its account's turn and needs fresh codes jumps its own
// account's TOTP time: it never waits for a lock it holds, and taking the
// turn again is a no-op. A second case of the account waits for the turn
// and then finds the steps the first one used taken.
func TestTurnCannotDeadlockItself(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clock := &VirtualClock{}
	e := &Engine{TOTPClock: clock}
	l := newTOTPLedger()
	a := turnRunner(ctx, e, l, "a", nil)

	done := make(chan []int64)
	go func() {
		release, err := a.takeTurn()
		assert.NoError(t, err)
		again, err := a.takeTurn() // the turn is not taken twice
		assert.NoError(t, err)
		var steps []int64
		for i := 0; i < 5; i++ {
			_, step, err := a.freshTOTP()
			assert.NoError(t, err)
			steps = append(steps, step)
		}
		again()
		release()
		done <- steps
	}()
	var steps []int64
	select {
	case steps = <-done:
	case <-ctx.Done():
		t.Fatal("a case holding its account's turn waited for itself")
	}
	for i := 1; i < len(steps); i++ {
		assert.Greater(t, steps[i], steps[i-1], "each fresh code has a step of its own")
	}
	assert.GreaterOrEqual(t, clock.Simulated(), 3*30*time.Second, "the waits were jumps")

	b := turnRunner(ctx, e, l, "b", nil)
	release, err := a.takeTurn()
	require.NoError(t, err)
	got := make(chan int64)
	go func() {
		rel, err := b.takeTurn()
		assert.NoError(t, err)
		defer rel()
		_, step, err := b.freshTOTP()
		assert.NoError(t, err)
		got <- step
	}()
	select {
	case <-got:
		t.Fatal("a second case of the account signed in during the first one's turn")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	select {
	case step := <-got:
		assert.Greater(t, step, steps[len(steps)-1])
	case <-ctx.Done():
		t.Fatal("the second case never got the turn")
	}
}

// Waiting for a turn or a step ends with the run's context.
func TestTurnWaitEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{TOTPClock: &VirtualClock{}}
	l := newTOTPLedger()
	a := turnRunner(ctx, e, l, "a", nil)
	release, err := a.takeTurn()
	require.NoError(t, err)
	defer release()
	b := turnRunner(ctx, e, l, "b", nil)
	errc := make(chan error)
	go func() { _, err := b.takeTurn(); errc <- err }()
	cancel()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("takeTurn ignored the cancelled context")
	}
}

// Against a deployed server the wait for a fresh step is real and shown:
// a wait event says how long, for which account and whose code it was.
func TestRealWaitIsShown(t *testing.T) {
	var mu sync.Mutex
	// 13 s into a step, so the next one is 17 s away.
	now := time.Now().Truncate(30 * time.Second).Add(13 * time.Second)
	var slept []time.Duration
	e := &Engine{Sleep: func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		now = now.Add(d)
		return nil
	}}
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l := newTOTPLedger()
	var events []event.Event
	emit := func(ev event.Event) { events = append(events, ev) }
	a := turnRunner(context.Background(), e, l, "iphone@18.2/first", emit)
	a.clock = clock
	b := turnRunner(context.Background(), e, l, "iphone@18.2/second", emit)
	b.clock = clock

	_, s1, err := a.freshTOTP()
	require.NoError(t, err)
	_, s2, err := b.freshTOTP()
	require.NoError(t, err)
	assert.Equal(t, s1+1, s2)
	assert.Equal(t, []time.Duration{17 * time.Second}, slept)
	require.Len(t, events, 1)
	assert.Equal(t, event.EventWait, events[0].Kind)
	assert.Equal(t, 17*time.Second, events[0].Wait)
	assert.Equal(t, "waiting 17 s for the next TOTP step of alice@acme.test: its current code was used by case iphone@18.2/first", events[0].Message)
}

// One seed however it is written: authenticators ignore case, padding and
// surrounding space, so the virtual clock must too.
func TestVirtualClockKeysSeedsAsAuthenticatorsDo(t *testing.T) {
	v := &VirtualClock{}
	v.Advance(testSeed, time.Hour)
	// Two readings of the wall clock apart: a minute's tolerance holds on
	// any machine and still tells an hour's jump from none.
	const near = time.Minute
	for _, s := range []string{testSeed, " gezdgnbvgy3tqojqgezdgnbvgy3tqojq ", testSeed + "===="} {
		assert.WithinDuration(t, time.Now().Add(time.Hour), v.TOTPNow(s), near, s)
	}
	assert.WithinDuration(t, time.Now(), v.TOTPNow("JBSWY3DPEHPK3PXP"), near, "another seed keeps its own time")
	assert.WithinDuration(t, time.Now(), v.Now(), near, "Now is the wall clock")
}
