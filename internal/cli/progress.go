package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// plainEvery is how often a run whose stderr is no terminal (CI logs) gets
// a progress line; a run shorter than that gets none.
const plainEvery = 10 * time.Second

// progress is run's progress line on stderr: cases done of the total, the
// failures so far and the case in flight the longest. On a terminal the
// line is rewritten in place and wiped before anything else is written
// (stdout may be the same terminal); otherwise a plain line is written
// every plainEvery, between two events, so it never splits another line.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	width  int // of the terminal; 0 for 80
	now    func() time.Time
	strict bool

	sum      report.Summary
	total    int
	done     int
	failed   int
	started  time.Time
	inflight map[string]time.Time
	ended    bool      // the run is over: Tick draws nothing more
	shown    bool      // a line sits on the terminal
	last     time.Time // of the last plain line
	drawn    string
}

func newProgress(w io.Writer, tty bool, now func() time.Time, strict bool) *progress {
	return &progress{w: w, tty: tty, now: now, strict: strict, inflight: map[string]time.Time{}}
}

// Event folds an event in around write, which writes whatever else the
// event makes (stdout text, reports): the terminal line is wiped before
// and drawn again after, so the two never share a line.
func (p *progress) Event(ev event.Event, write func()) {
	if p == nil {
		write()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wipe()
	write()
	p.fold(ev)
	if ev.Kind == event.EventRunEnd {
		p.ended = true
		return
	}
	p.show()
}

// Tick redraws the line (elapsed times grow between events) or writes the
// plain line when it is due.
func (p *progress) Tick() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ended {
		p.show()
	}
}

// Stop wipes the terminal line at the end of the run, for good.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	p.wipe()
}

// progress is the run's progress line, nil with --quiet; it ticks until
// ctx ends.
func (o *runOptions) progress(ctx context.Context, f *Factory) *progress {
	if o.Quiet {
		return nil
	}
	p := newProgress(f.IO.ErrOut, f.IO.ErrTTY, f.Now, o.Strict)
	if f.IO.ErrTTY {
		p.width = termWidth(f.IO.ErrOut)
	}
	p.run(ctx, time.Second)
	return p
}

// run ticks every interval until ctx ends.
func (p *progress) run(ctx context.Context, interval time.Duration) {
	if p == nil {
		return
	}
	t := time.NewTicker(interval)
	go func() {
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.Tick()
			}
		}
	}()
}

func (p *progress) fold(ev event.Event) {
	p.sum.Add(ev)
	switch ev.Kind {
	case event.EventRunStart:
		if ev.Run != nil {
			p.total = ev.Run.Cases
		}
		p.started, p.last = p.now(), p.now()
	case event.EventCaseStart:
		p.inflight[ev.Case] = p.now()
	case event.EventCaseEnd:
		delete(p.inflight, ev.Case)
		p.done++
		if c := p.sum.Case(ev.Case); c != nil && !c.Passed(p.strict) {
			p.failed++
		}
	}
}

func (p *progress) wipe() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

func (p *progress) show() {
	if p.total == 0 {
		return
	}
	now := p.now()
	if p.tty {
		w := p.width
		if w <= 0 {
			w = 80
		}
		p.wipe()
		fmt.Fprint(p.w, ansi.Truncate(p.line(now), w-1, "…"))
		p.shown = true
		return
	}
	if now.Sub(p.last) < plainEvery {
		return
	}
	p.last = now
	fmt.Fprintln(p.w, p.line(now))
}

// line is the progress text, e.g. "enrollsim: 12/40 cases, 1 failed ·
// slowest in flight: byod-iphone (1m2s) · 3m10s".
func (p *progress) line(now time.Time) string {
	s := fmt.Sprintf("enrollsim: %d/%d cases, %d failed", p.done, p.total, p.failed)
	if name, since, ok := p.slowest(); ok {
		s += fmt.Sprintf(" · slowest in flight: %s (%s)", clean(name), now.Sub(since).Round(time.Second))
		if n := len(p.inflight); n > 1 {
			s += fmt.Sprintf(" of %d", n)
		}
	}
	return s + " · " + now.Sub(p.started).Round(time.Second).String()
}

func (p *progress) slowest() (string, time.Time, bool) {
	names := make([]string, 0, len(p.inflight))
	for n := range p.inflight {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "", time.Time{}, false
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := p.inflight[names[i]], p.inflight[names[j]]
		return a.Before(b) || (a.Equal(b) && names[i] < names[j])
	})
	return names[0], p.inflight[names[0]], true
}
