package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/enrollsim/enrollsim/internal/tui"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// stepOptions are the flags of `enrollsim step`: run's, and --replay.
type stepOptions struct {
	runOptions
	Replay string
}

func newStepCmd(f *Factory) *cobra.Command {
	o := &stepOptions{}
	cmd := &cobra.Command{
		Use:   "step [FILE|DIR|SUITE]...",
		Short: "Walk an audience through an enrollment, one step at a time, in the terminal",
		Long: `Walk through account-driven enrollment one step at a time, in a terminal UI:
what the person does on the device, what the device sends, what the server
answers and what the spec expects. The engine and the checks are those of
'enrollsim run'.

With no arguments and no --email, step plays the built-in demo suite against
the embedded reference server ('enrollsim list scenarios'). With FILE, DIR or
SUITE arguments it plays those scenarios. With --email it plays that account
on each --device against any target, with every target flag of 'run'. With --replay it steps through a recorded run (a jsonl report) and
contacts no server.

Keys: n or enter runs the next step, a runs to the end, s skips the rest of the
case, c picks a case, o shows the run's summary, r restarts, tab moves between
the step list and the step's detail, up/down (and the mouse wheel) scroll, ]
and [ go to the next and previous exchange, e expands the marked (▸) exchange
to its full headers and body, ? shows every key, q quits (q and r ask first
while the run goes on).

--report FORMAT=PATH writes the last run's events when you leave, as 'run'
does; --expectations FILE marks the deployment's known findings as expected
and puts each entry's state (expected, stale, expired, unused) in them. step needs a terminal; in scripts, CI and pipes use 'enrollsim run'.

` + exitCodesHelp,
		Example: `  enrollsim step
  enrollsim step thresholds
  enrollsim step qa/enrollment/byod-iphone.yaml
  enrollsim step --fault wellknown-404 --email carol@acme.test --device iphone@18.2 --type device
  enrollsim step --email alice@acme.com --device mac@15.2 --type user --report jsonl=run.jsonl
  enrollsim step --replay run.jsonl`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			return runStep(cmd.Context(), f, cmd.Flags(), o)
		},
	}
	addRunFlags(cmd.Flags(), &o.runOptions)
	cmd.Flags().StringVar(&o.Replay, "replay", "", "step through a recorded run (a jsonl report of 'run' or 'step') instead of playing one; no server is contacted")
	return cmd
}

// replayFlags are the flags that make sense with --replay.
var replayFlags = map[string]bool{"replay": true, "report": true, "strict": true, "verbose": true}

func runStep(ctx context.Context, f *Factory, flags *pflag.FlagSet, o *stepOptions) error {
	filter, err := o.checkFlags()
	if err != nil {
		return err
	}
	if err := checkReplayFlags(o.Replay, flags); err != nil {
		return err
	}
	// The file is read once, before the screen changes; every restart
	// marks its cases with it.
	known, err := loadExpectations(o.Expectations, f.Now())
	if err != nil {
		return err
	}
	var events []event.Event
	if o.Replay != "" {
		if events, err = readReplay(o.Replay); err != nil {
			return err
		}
	} else if err := o.checkDemo(); err != nil {
		return err
	}
	if !f.IO.OutTTY || !readerIsTerminal(f.IO.In) {
		return usageHint(errors.New("step is interactive and needs a terminal, but standard input or output is not one"),
			"to play the same enrollment in a script, CI or a pipe, use 'enrollsim run' with the same flags (add -v to see every exchange)")
	}

	opts := tui.Options{Color: f.colorOn(f.IO.OutTTY), Strict: o.Strict, Output: f.IO.Out}
	arts := newArtifactWriter(o.Artifacts, o.Reports)
	defer arts.finish(f.IO.ErrOut)
	if o.Replay != "" {
		opts.Run, opts.Title = tui.Replay(events), "replay of "+filepath.Base(o.Replay)
		for _, ev := range events {
			if ev.Kind == event.EventCaseStart {
				opts.Cases = append(opts.Cases, ev.Case)
			}
		}
	} else {
		run, release, err := o.liveRun(f, filter, known, arts, &opts.Cases)
		if err != nil {
			return err
		}
		defer release()
		opts.Run, opts.Title = run, "demo on the embedded reference server"
		if o.Email != "" {
			opts.Title = "playing " + o.Email
		}
	}
	reports, err := parseReports(o.Reports, false)
	if err != nil {
		return err
	}
	sinks, closeSinks, err := openReports(reports, report.Options{Strict: o.Strict, Tool: "enrollsim " + f.Version}, nil)
	if err != nil {
		return err
	}
	defer closeSinks()

	res, runErr := tui.Program(ctx, opts, f.IO.In, f.IO.Out)
	known.onRunEnd(res.Events, filter)
	return o.stepResult(res, runErr, arts, sinks)
}

// checkReplayFlags refuses, with --replay, the flags that would shape a
// run to play: a replay plays none.
func checkReplayFlags(replay string, flags *pflag.FlagSet) error {
	if replay == "" {
		return nil
	}
	var other []string
	flags.Visit(func(fl *pflag.Flag) {
		if !replayFlags[fl.Name] {
			other = append(other, "--"+fl.Name)
		}
	})
	if len(other) > 0 {
		return usageErr("--replay steps through a recorded run; %s cannot be combined with it", strings.Join(other, ", "))
	}
	return nil
}

// liveRun is the run the screen plays, and restarts, from the flags. The
// first plan is built now, so that flag errors show before the screen
// changes; every restart builds a fresh one. release frees the first plan
// if the screen never took it.
func (o *stepOptions) liveRun(f *Factory, filter check.Filter, known *knownFindings, arts *artifactWriter, names *[]string) (run tui.RunFunc, release func(), err error) {
	first, err := o.plan(f, filter, known)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range first.plan.Cases {
		*names = append(*names, c.Name)
	}
	engine := tui.Engine(func() (sim.Plan, *sim.Engine, func(), error) {
		if p := first.take(); p != nil {
			return p.plan, p.eng, p.cleanup, nil
		}
		p, err := o.plan(f, filter, known)
		if err != nil {
			return sim.Plan{}, nil, nil, err
		}
		return p.plan, p.eng, p.cleanup, nil
	})
	// Screenshots are written as they come, so the detail pane can
	// give their paths.
	run = func(ctx context.Context, gate sim.Gate, emit func(event.Event)) error {
		return engine(ctx, gate, func(ev event.Event) {
			arts.handle(&ev)
			if ev.Kind == event.EventRunStart && ev.Run != nil {
				ev.Run.Version = f.Version // the stream says which tool wrote it
			}
			emit(ev)
		})
	}
	return run, first.release, nil
}

// stepResult writes the events the screen saw to the artefacts and the
// reports, and turns the run's end into the exit code: leaving before the
// end is an interruption.
func (o *stepOptions) stepResult(res tui.Result, runErr error, arts *artifactWriter, sinks []reportSink) error {
	var sum report.Summary
	for _, ev := range res.Events {
		arts.handle(&ev)
		sum.Add(ev)
		for _, s := range sinks {
			s.Handle(ev)
		}
	}
	for _, s := range sinks {
		if err := s.Err(); err != nil {
			return incompleteErr(fmt.Errorf("writing report %s: %w", s.path, err), "")
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			return silentExit{report.ExitInterrupted}
		}
		return incompleteErr(fmt.Errorf("terminal UI: %w", runErr), "")
	}
	if !res.Completed {
		// Left before the end: the run was interrupted.
		return silentExit{report.ExitInterrupted}
	}
	if code := sum.ExitCode(o.Strict); code != 0 {
		return silentExit{code}
	}
	return nil
}

func readerIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

func readReplay(path string) ([]event.Event, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--replay: %v", err)
	}
	defer fh.Close()
	var events []event.Event
	if err := report.ReadJSONL(fh, func(ev event.Event) { events = append(events, ev) }); err != nil {
		return nil, usageHint(fmt.Errorf("--replay %s: %w", path, err), "record one with 'enrollsim run --report jsonl=run.jsonl'")
	}
	if len(events) == 0 {
		return nil, usageHint(fmt.Errorf("--replay %s: no events in the file", path), "record one with 'enrollsim run --report jsonl=run.jsonl'")
	}
	return events, nil
}

// stepPlan is one run's plan and engine, with the cleanup of its servers.
type stepPlan struct {
	plan    sim.Plan
	eng     *sim.Engine
	cleanup func()

	mu    sync.Mutex
	taken bool
}

// take hands the plan over once; nil afterwards.
func (p *stepPlan) take() *stepPlan {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.taken {
		return nil
	}
	p.taken = true
	return p
}

// release stops the servers of a plan no run took.
func (p *stepPlan) release() {
	if p.take() != nil {
		p.cleanup()
	}
}

// plan builds the cases of one run: scenarios, the flags' (as run's), or
// the built-in demo suite.
func (o *stepOptions) plan(f *Factory, filter check.Filter, known *knownFindings) (*stepPlan, error) {
	eng := &sim.Engine{Clock: f.Now, Limits: f.limits(o.Timeout, o.PageTimeout), Checks: filter}
	ro := o.runOptions
	if ro.Email == "" && len(ro.Args) == 0 {
		if err := o.checkDemo(); err != nil {
			return nil, err
		}
		ro.Args = []string{"demo"}
	}
	rp, cleanup, err := buildPlan(&ro, f.Getenv)
	if err != nil {
		return nil, err
	}
	if rp.clock != nil {
		eng.Clock, eng.TOTPClock, eng.WorkerClock = rp.clock.Now, rp.clock, rp.clock
	}
	known.apply(rp.Cases)
	closeBrowser := ro.attachBrowser(eng)
	return &stepPlan{plan: rp.Plan, eng: eng, cleanup: func() { closeBrowser(); cleanup() }}, nil
}

// checkDemo refuses flags that only make sense with --email.
func (o *stepOptions) checkDemo() error {
	if o.Email != "" {
		return nil
	}
	if len(o.Devices) > 0 || len(o.Faults) > 0 || o.Type != "auto" || o.Secrets.any() {
		return usageErr("--device, --fault, --type and the secret flags need --email (without --email or scenario arguments, step plays the built-in demo suite)")
	}
	if targetFlags(&o.runOptions) {
		return usageErr("--resolve, --connect-to, --cacert and --axm-url need --email: they point step at a deployed server")
	}
	return nil
}
