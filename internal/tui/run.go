package tui

import (
	"context"
	"io"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// RunFunc plays one run: it calls gate.Before before every step and emit for
// every event, and returns when the run is over or ctx is cancelled. The
// model calls it in a goroutine of its own, once at the start and again at
// every restart (r), so it must build whatever it needs afresh.
type RunFunc func(ctx context.Context, gate sim.Gate, emit func(event.Event)) error

// EngineBuild makes what one run needs: a fresh plan and the engine to play
// it (its Gate is set by the TUI), and a cleanup that stops any servers.
type EngineBuild func() (plan sim.Plan, eng *sim.Engine, cleanup func(), err error)

// Engine plays plans on the simulation engine, one fresh build per run.
func Engine(build EngineBuild) RunFunc {
	return func(ctx context.Context, gate sim.Gate, emit func(event.Event)) error {
		plan, eng, cleanup, err := build()
		if err != nil {
			return err
		}
		if cleanup != nil {
			defer cleanup()
		}
		e := *eng
		e.Gate = gate
		_, err = e.Run(ctx, plan, emit)
		return err
	}
}

// Replay releases a recorded event stream step by step: the same gate holds
// it before every step-start, as it holds the engine.
func Replay(events []event.Event) RunFunc {
	return func(ctx context.Context, gate sim.Gate, emit func(event.Event)) error {
		for _, ev := range events {
			if ev.Kind == event.EventStepStart {
				if err := gate.Before(ctx, ev.Case, ev.Step); err != nil {
					return err
				}
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			emit(ev)
		}
		return nil
	}
}

// The messages a run sends the model, one type per outside event. Run tells
// which run sent it: messages of a run that was restarted away are dropped.

// EventMsg carries one event of the run.
type EventMsg struct {
	Run   int
	Event event.Event
}

// WaitMsg says the run waits at the gate before a step.
type WaitMsg struct {
	Run  int
	Case string
	Step event.Step
}

// DoneMsg says the run is over; Err is why it stopped early, if it did.
type DoneMsg struct {
	Run int
	Err error
}

// runHandle is one run in its goroutine.
type runHandle struct {
	id      int
	gate    *Gate
	cancel  context.CancelFunc
	msgs    chan tea.Msg
	abandon chan struct{} // closed when the model stops listening
	done    chan struct{} // closed when the RunFunc has returned
	once    sync.Once

	mu  sync.Mutex
	log []event.Event
	err error
}

func startRun(parent context.Context, id int, fn RunFunc) *runHandle {
	ctx, cancel := context.WithCancel(parent)
	h := &runHandle{id: id, cancel: cancel, msgs: make(chan tea.Msg, 64),
		abandon: make(chan struct{}), done: make(chan struct{})}
	h.gate = NewGate(func(c string, s event.Step) { h.send(WaitMsg{Run: id, Case: c, Step: s}) })
	go func() {
		defer close(h.done)
		err := fn(ctx, h.gate, func(ev event.Event) {
			h.mu.Lock()
			h.log = append(h.log, ev)
			h.mu.Unlock()
			h.send(EventMsg{Run: id, Event: ev})
		})
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		h.send(DoneMsg{Run: id, Err: err})
	}()
	return h
}

// send hands a message to the model unless it has stopped listening.
func (h *runHandle) send(msg tea.Msg) {
	if h.abandoned() {
		return
	}
	select {
	case h.msgs <- msg:
	case <-h.abandon:
	}
}

func (h *runHandle) abandoned() bool {
	select {
	case <-h.abandon:
		return true
	default:
		return false
	}
}

// next is the command that waits for the run's next message.
func (h *runHandle) next() tea.Cmd {
	return func() tea.Msg {
		if h.abandoned() {
			return nil
		}
		select {
		case msg := <-h.msgs:
			return msg
		case <-h.abandon:
			return nil
		}
	}
}

// stop cancels the run and stops listening to it.
func (h *runHandle) stop() {
	h.once.Do(func() {
		h.cancel()
		close(h.abandon)
	})
}

// wait waits for the RunFunc to return, at most d, and returns its events.
func (h *runHandle) wait(d time.Duration) ([]event.Event, bool) {
	finished := true
	select {
	case <-h.done:
	case <-time.After(d):
		finished = false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event.Event(nil), h.log...), finished
}

// Result is what the TUI leaves behind.
type Result struct {
	// Events are every event of the last run, including the interrupted
	// ending when the user quit before the run was over.
	Events []event.Event
	// Completed says the last run reached its end before the user quit.
	Completed bool
}

// Program runs the TUI on a terminal until the user quits, then stops the
// run and returns its events (for --report).
func Program(ctx context.Context, opts Options, in io.Reader, out io.Writer) (Result, error) {
	opts.Context = ctx
	if opts.Output == nil {
		opts.Output = out
	}
	m := NewModel(opts)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out),
		tea.WithAltScreen(), tea.WithMouseCellMotion())
	_, err := p.Run()
	// A cancelled ctx comes back wrapped in tea.ErrProgramKilled;
	// errors.Is still finds context.Canceled in it.
	return m.Finish(5 * time.Second), err
}

// Finish stops the current run, waits for it at most d and returns its
// events; Program calls it when the user has quit.
func (m *Model) Finish(d time.Duration) Result {
	h := m.handle
	if h == nil {
		return Result{Events: append([]event.Event(nil), m.log...), Completed: m.done}
	}
	completed := m.done
	h.stop()
	evs, _ := h.wait(d)
	return Result{Events: evs, Completed: completed}
}
