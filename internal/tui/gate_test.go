package tui

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/event"
)

// before calls g.Before in a goroutine and reports its result.
func before(ctx context.Context, g *Gate, step event.Step) <-chan error {
	done := make(chan error, 1)
	go func() { done <- g.Before(ctx, "case", step) }()
	return done
}

func blocked(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		t.Fatalf("Before returned (%v) before the step was released", err)
	case <-time.After(50 * time.Millisecond):
	}
}

func returned(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second): // a wait that ends at once, unless it hangs
		t.Fatal("Before did not return")
		return nil
	}
}

func TestGateBlocksUntilReleased(t *testing.T) {
	waits := make(chan event.Step, 4)
	g := NewGate(func(c string, s event.Step) {
		assert.Equal(t, "case", c)
		waits <- s
	})
	done := before(context.Background(), g, event.StepDiscovery)
	assert.Equal(t, event.StepDiscovery, <-waits, "the gate says where it holds the run")
	blocked(t, done)
	g.Release()
	require.NoError(t, returned(t, done))

	// One release lets one step through, not two.
	done = before(context.Background(), g, event.StepFallback)
	<-waits
	blocked(t, done)
	g.Release()
	require.NoError(t, returned(t, done))
	done = before(context.Background(), g, event.StepDocument)
	<-waits
	blocked(t, done)
	g.Release()
	require.NoError(t, returned(t, done))
}

func TestGateReleaseAhead(t *testing.T) {
	g := NewGate(func(string, event.Step) { t.Error("a released step must not wait") })
	g.Release()
	require.NoError(t, returned(t, before(context.Background(), g, event.StepSignIn)))
}

func TestGateReleaseAll(t *testing.T) {
	g := NewGate(nil)
	done := before(context.Background(), g, event.StepSignIn)
	blocked(t, done)
	g.ReleaseAll()
	require.NoError(t, returned(t, done))
	for _, s := range []event.Step{event.StepDiscovery, event.StepFallback, event.StepProfile} {
		require.NoError(t, returned(t, before(context.Background(), g, s)), "after a, %s runs at once", s)
	}
}

func TestGateCancel(t *testing.T) {
	g := NewGate(nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := before(ctx, g, event.StepSignIn)
	blocked(t, done)
	cancel()
	err := returned(t, done)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	// A cancelled run never gets through, released or not.
	g.Release()
	assert.ErrorIs(t, g.Before(ctx, "case", event.StepDiscovery), context.Canceled)
}

// TestRunHandleReplay drives a replay through the gate the way the program
// does, message by message.
func TestRunHandleReplay(t *testing.T) {
	evs := loadEvents(t, "refused.jsonl")
	h := startRun(context.Background(), 7, Replay(evs))
	next := func() any {
		t.Helper()
		select {
		case msg := <-h.msgs:
			return msg
		case <-time.After(30 * time.Second): // a wait that ends at once, unless it hangs
			t.Fatal("no message from the run")
			return nil
		}
	}
	assert.Equal(t, EventMsg{Run: 7, Event: evs[0]}, next(), "run-start")
	assert.Equal(t, EventMsg{Run: 7, Event: evs[1]}, next(), "case-start")
	assert.Equal(t, WaitMsg{Run: 7, Case: evs[2].Case, Step: event.StepSignIn}, next())
	select {
	case msg := <-h.msgs:
		t.Fatalf("the replay went on before the release: %v", msg)
	case <-time.After(50 * time.Millisecond):
	}
	h.gate.Release()
	for _, ev := range evs[2:] {
		assert.Equal(t, EventMsg{Run: 7, Event: ev}, next())
	}
	assert.Equal(t, DoneMsg{Run: 7}, next())
	log, finished := h.wait(time.Second)
	assert.True(t, finished)
	assert.Equal(t, evs, log)
}

// TestRunHandleStop: restart and quit cancel a run held at the gate; its
// goroutine ends and nobody blocks on the messages nobody reads.
func TestRunHandleStop(t *testing.T) {
	h := startRun(context.Background(), 1, Replay(loadEvents(t, "byod.jsonl")))
	for {
		if _, ok := (<-h.msgs).(WaitMsg); ok {
			break
		}
	}
	h.stop()
	log, finished := h.wait(2 * time.Second)
	assert.True(t, finished, "the run ends once cancelled")
	assert.Len(t, log, 2, "run-start and case-start, nothing after the gate")
	assert.Nil(t, h.next()(), "a stopped run sends the model nothing")
}
