package tui

import (
	"context"
	"sync"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Gate holds the engine before each step until the model releases it. The
// engine calls Before from its own goroutine; the model calls Release (n,
// enter) or ReleaseAll (a) from the program's.
type Gate struct {
	mu      sync.Mutex
	credits int           // released steps not taken yet
	all     bool          // run to the end
	wake    chan struct{} // closed and replaced at every release
	// onWait, when set, is told each time Before is about to block, from
	// the engine's goroutine and so in order with its events.
	onWait func(caseName string, step event.Step)
}

var _ sim.Gate = (*Gate)(nil)

// NewGate returns a closed gate; onWait may be nil.
func NewGate(onWait func(caseName string, step event.Step)) *Gate {
	return &Gate{wake: make(chan struct{}), onWait: onWait}
}

// Before blocks until a step is released or ctx ends; it returns ctx's error
// in the second case, which stops the case.
func (g *Gate) Before(ctx context.Context, caseName string, step event.Step) error {
	told := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.mu.Lock()
		if g.all {
			g.mu.Unlock()
			return nil
		}
		if g.credits > 0 {
			g.credits--
			g.mu.Unlock()
			return nil
		}
		wake := g.wake
		g.mu.Unlock()
		if !told && g.onWait != nil {
			g.onWait(caseName, step)
			told = true
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release lets one step through: the one waiting now, or else the next.
func (g *Gate) Release() {
	g.mu.Lock()
	g.credits++
	g.signal()
	g.mu.Unlock()
}

// ReleaseAll opens the gate for the rest of the run.
func (g *Gate) ReleaseAll() {
	g.mu.Lock()
	g.all = true
	g.signal()
	g.mu.Unlock()
}

// signal wakes every waiter; the caller holds mu.
func (g *Gate) signal() {
	close(g.wake)
	g.wake = make(chan struct{})
}
