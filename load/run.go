package load

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Config is what a load plays.
type Config struct {
	// Closed model: Devices enrollments played by Concurrency workers.
	Devices, Concurrency int
	// Open model (Rate > 0): Rate arrivals a second for Duration, each
	// started on schedule whatever the latency (vegeta's model), so a slow
	// server cannot hide behind fewer requests (coordinated omission).
	// MaxInFlight bounds the cases running at once; an arrival beyond it
	// is dropped and counted.
	Rate        float64
	Duration    time.Duration
	MaxInFlight int

	Mix      Mix
	Accounts Accounts
	Target   sim.Target
	Until    event.Until
	Probes   bool
	// Poll and Stay are each device's Case.Poll and Case.Stay: with Stay
	// it keeps answering pushes (or polling) that long after its queue
	// drains.
	Poll, Stay time.Duration
	// Shard (1-based) of Shards plays the arrivals i with i%Shards ==
	// Shard-1: shards on several machines together play every arrival
	// once.
	Shard, Shards int
	// SampleFailures is how many failing cases keep their exchanges
	// (default 5).
	SampleFailures int
	// Now is the wall clock for latencies (default time.Now).
	Now func() time.Time
	// Observer, when set, sees every measurement as it is folded: the
	// Prometheus exporter of --metrics-addr. Its methods are called from
	// the workers, concurrently.
	Observer Observer
}

// Observer sees a load's measurements live.
type Observer interface {
	CaseStarted()
	StepDone(step event.Step, status event.StepStatus, d time.Duration)
	CheckTripped(id string, status check.Status)
	CaseDone(outcome string, d time.Duration)
	Dropped()
}

type nopObserver struct{}

func (nopObserver) CaseStarted()                                         {}
func (nopObserver) StepDone(event.Step, event.StepStatus, time.Duration) {}
func (nopObserver) CheckTripped(string, check.Status)                    {}
func (nopObserver) CaseDone(string, time.Duration)                       {}
func (nopObserver) Dropped()                                             {}

// Snapshot is the progress so far.
type Snapshot struct {
	Elapsed                                   time.Duration
	Started, Done, Enrolled, Failed, InFlight int
	Dropped                                   int
	Rate                                      float64 // enrollments done per second so far
	P50, P95                                  time.Duration
	// Steps are the per-step latencies so far, in flow order.
	Steps []StepLatency
}

// StepLatency is one step's latency so far.
type StepLatency struct {
	Step     event.Step
	Count    int64
	P50, P95 time.Duration
}

func (c *Config) validate() error {
	if c.Rate < 0 || c.Devices < 0 || c.Concurrency < 0 {
		return errors.New("negative devices, concurrency or rate")
	}
	if c.Rate > 0 {
		if c.Duration <= 0 {
			return errors.New("an open model (a rate) needs a duration")
		}
		if c.Devices > 0 {
			return errors.New("give devices and concurrency (closed model) or a rate and a duration (open model), not both")
		}
	} else if c.Devices <= 0 {
		return errors.New("give a number of devices (closed model) or a rate and a duration (open model)")
	}
	if len(c.Mix) == 0 {
		return errors.New("no device mix")
	}
	if err := c.Accounts.Validate(); err != nil {
		return err
	}
	if c.Shards == 0 {
		c.Shard, c.Shards = 1, 1
	}
	if c.Shard < 1 || c.Shard > c.Shards {
		return fmt.Errorf("shard %d/%d: want 1 to %d", c.Shard, c.Shards, c.Shards)
	}
	if c.Concurrency == 0 {
		c.Concurrency = 1
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 10000
	}
	if c.SampleFailures == 0 {
		c.SampleFailures = 5
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	return nil
}

// agg folds events into the result; one lock, taken once per case end and
// once per step, which at thousands of cases a second is no contention.
type agg struct {
	mu      sync.Mutex
	res     *Result
	started time.Time
	now     func() time.Time
	samples int
	obs     Observer
	// inFlight and done feed progress without the lock.
	inFlight, done, enrolled, startedN atomic.Int64
}

func (a *agg) bucket(t time.Time) *Bucket {
	s := int(t.Sub(a.started) / time.Second)
	if s < 0 {
		s = 0
	}
	for len(a.res.Throughput) <= s {
		a.res.Throughput = append(a.res.Throughput, Bucket{Second: len(a.res.Throughput)})
	}
	return &a.res.Throughput[s]
}

// StepPushToConnect is the latency from a push's arrival at the APNs
// stand-in to the answer of the connect it woke, reported with the steps.
const StepPushToConnect event.Step = "push-to-connect"

// record adds one latency of step to its histogram.
func (a *agg) record(step event.Step, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.res.Steps[step]
	if h == nil {
		h = newHistogram()
		a.res.Steps[step] = h
	}
	h.Record(d)
}

// caseFold is one case's state while it plays: step start times, and for
// a possible failure sample a bounded list of exchange lines.
type caseFold struct {
	a         *agg
	stepStart map[event.Step]time.Time
	start     time.Time
	exchanges []string
	tripped   []string
	lastStep  event.Step
	lastBad   string
	requests  int64
}

func (f *caseFold) emit(ev event.Event) {
	now := f.a.now()
	switch ev.Kind {
	case event.EventStepStart:
		f.stepStart[ev.Step] = now
	case event.EventStepEnd:
		if t, ok := f.stepStart[ev.Step]; ok {
			f.a.record(ev.Step, now.Sub(t))
			f.a.obs.StepDone(ev.Step, ev.Status, now.Sub(t))
		}
		if ev.Status == event.StepFailed || ev.Status == event.StepError {
			f.lastStep, f.lastBad = ev.Step, string(ev.Status)
		}
	case event.EventExchange:
		f.requests++
		if x := ev.Exchange; x != nil && x.PushedAt != nil {
			f.a.record(StepPushToConnect, now.Sub(*x.PushedAt))
		}
		if x := ev.Exchange; x != nil && len(f.exchanges) < 40 {
			f.exchanges = append(f.exchanges, fmt.Sprintf("%s %s %s → %d", ev.Step, x.Method, x.URL, x.Status))
		}
	case event.EventCheck:
		if r := ev.Result; r != nil && (r.Tripped() || r.Status == check.Error) {
			f.a.mu.Lock()
			c := f.a.res.Checks[r.ID]
			switch r.Status {
			case check.Fail:
				c.Fail++
			case check.Warn:
				c.Warn++
			default:
				c.Error++
			}
			f.a.res.Checks[r.ID] = c
			f.a.mu.Unlock()
			f.a.obs.CheckTripped(r.ID, r.Status)
			if len(f.tripped) < 10 {
				f.tripped = append(f.tripped, fmt.Sprintf("%s %s: %s", r.ID, strings.ToUpper(string(r.Status)), firstOf(r.Actual, r.Detail)))
			}
		}
	}
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			if len(v) > 200 {
				return v[:200] + "…"
			}
			return v
		}
	}
	return ""
}

func (a *agg) end(f *caseFold, name, outcome, message string) {
	now := a.now()
	a.obs.CaseDone(outcome, now.Sub(f.start))
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.res
	r.Cases++
	r.Requests += f.requests
	r.Outcomes[outcome]++
	r.Total.Record(now.Sub(f.start))
	b := a.bucket(now)
	b.Done++
	ok := outcome == event.OutcomeEnrolled || outcome == event.OutcomeDiscovered
	if ok {
		b.Enrolled++
		a.enrolled.Add(1)
		return
	}
	b.Failed++
	cause := outcome
	if f.lastStep != "" {
		cause = fmt.Sprintf("%s: %s (%s)", f.lastStep, f.lastBad, outcome)
	}
	r.Causes[cause]++
	if len(r.Failures) < a.samples {
		r.Failures = append(r.Failures, FailureSample{Case: name, Outcome: outcome, Message: firstOf(message), Checks: f.tripped, Exchanges: f.exchanges})
	}
}

// Run plays the load and returns its aggregates. When ctx ends it starts
// no new case, lets the running ones end (each is bounded by the engine's
// limits) and returns what it has, with Interrupted set.
func Run(ctx context.Context, eng *sim.Engine, cfg Config, progress func(Snapshot)) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &loadRun{ctx: ctx, cfg: cfg, player: eng.Player(), seq: cfg.Mix.sequence(), a: newAgg(cfg)}
	a := r.a
	stopProgress := reportProgress(a, progress)
	if cfg.Rate == 0 {
		r.closed()
	} else {
		r.open()
	}
	r.wg.Wait()
	stopProgress()
	a.res.Ended = cfg.Now()
	a.res.Interrupted = ctx.Err() != nil
	if progress != nil {
		progress(a.snapshot())
	}
	return a.res, nil
}

// newAgg is the aggregate of a load about to start, its result stamped
// with the configuration it plays.
func newAgg(cfg Config) *agg {
	a := &agg{res: newResult(), now: cfg.Now, samples: cfg.SampleFailures, obs: cfg.Observer}
	a.started = cfg.Now()
	a.res.Started = a.started
	model := "closed"
	if cfg.Rate > 0 {
		model = "open"
	}
	a.res.Config = ResultConfig{Model: model, Devices: cfg.Devices, Concurrency: cfg.Concurrency, Rate: cfg.Rate, Duration: cfg.Duration,
		Mix: cfg.Mix.String(), Accounts: cfg.Accounts.Size(), Until: string(cfg.Until), Probes: cfg.Probes,
		Target: cfg.Target.Name, Shards: []string{fmt.Sprintf("%d/%d", cfg.Shard, cfg.Shards)}}
	return a
}

// reportProgress calls progress with a snapshot every second until the
// returned func is called; that func returns once the last call is over,
// so the final snapshot Run reports comes after every periodic one.
func reportProgress(a *agg, progress func(Snapshot)) (stop func()) {
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if progress == nil {
			return
		}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				progress(a.snapshot())
			case <-stopProgress:
				return
			}
		}
	}()
	return func() {
		close(stopProgress)
		<-progressDone
	}
}

// loadRun is one Run while it plays: what every arrival needs to play its
// case, and the cases still playing.
type loadRun struct {
	ctx    context.Context
	cfg    Config
	player *sim.Player
	seq    []int
	a      *agg
	wg     sync.WaitGroup
}

// mine tells whether arrival i belongs to this shard.
func (r *loadRun) mine(i int) bool { return i%r.cfg.Shards == r.cfg.Shard-1 }

// play plays arrival i's case to its end and folds its events in.
func (r *loadRun) play(i int) {
	cfg, a := r.cfg, r.a
	e := cfg.Mix[r.seq[i%len(r.seq)]]
	acct := cfg.Accounts.At(i)
	c := sim.Case{Name: fmt.Sprintf("load-%d/%s", i+1, e.Device.Ref()), Device: e.Device, Type: e.Type,
		Account: acct, Target: cfg.Target, Expect: sim.Expect{Enroll: true}, NoProbes: !cfg.Probes, Until: cfg.Until, Poll: cfg.Poll, Stay: cfg.Stay,
		Scenario: "load", Suite: "load"}
	f := &caseFold{a: a, stepStart: map[event.Step]time.Time{}, start: cfg.Now()}
	a.startedN.Add(1)
	a.inFlight.Add(1)
	a.obs.CaseStarted()
	a.mu.Lock()
	a.bucket(f.start).Started++
	a.mu.Unlock()
	var msg string
	outcome := r.player.Play(r.ctx, c, func(ev event.Event) {
		if ev.Kind == event.EventCaseEnd {
			msg = ev.Message
		}
		f.emit(ev)
	})
	a.end(f, c.Name, outcome, msg)
	a.inFlight.Add(-1)
	a.done.Add(1)
}

// closed starts the closed model: Concurrency workers take the next
// arrival as each finishes its case, until Devices or ctx ends.
func (r *loadRun) closed() {
	next := atomic.Int64{}
	for w := 0; w < r.cfg.Concurrency; w++ {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for r.ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= r.cfg.Devices {
					return
				}
				if r.mine(i) {
					r.play(i)
				}
			}
		}()
	}
}

// open plays the open model: each arrival starts on its schedule, however
// long the earlier ones take, and is dropped (and counted) when
// MaxInFlight cases already run. It returns when the last arrival has
// started or ctx ends.
func (r *loadRun) open() {
	cfg, a := r.cfg, r.a
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	total := int(cfg.Rate * cfg.Duration.Seconds())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; i < total; i++ {
		due := a.started.Add(time.Duration(i) * interval)
		if d := due.Sub(cfg.Now()); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.ctx.Done():
				return
			}
		}
		if !r.mine(i) {
			continue
		}
		if a.inFlight.Load() >= int64(cfg.MaxInFlight) {
			a.mu.Lock()
			a.res.Dropped++
			a.mu.Unlock()
			a.obs.Dropped()
			continue
		}
		r.wg.Add(1)
		go func(i int) {
			defer r.wg.Done()
			r.play(i)
		}(i)
	}
}

func (a *agg) snapshot() Snapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	el := a.now().Sub(a.started)
	s := Snapshot{Elapsed: el, Started: int(a.startedN.Load()), Done: int(a.done.Load()), Enrolled: int(a.enrolled.Load()),
		InFlight: int(a.inFlight.Load()), Dropped: a.res.Dropped, P50: a.res.Total.Quantile(.5), P95: a.res.Total.Quantile(.95)}
	for _, st := range a.res.orderedSteps() {
		h := a.res.Steps[st]
		s.Steps = append(s.Steps, StepLatency{Step: st, Count: h.Count(), P50: h.Quantile(.5), P95: h.Quantile(.95)})
	}
	s.Failed = s.Done - s.Enrolled
	if el > 0 {
		s.Rate = float64(s.Done) / el.Seconds()
	}
	return s
}
