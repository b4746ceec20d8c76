package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Options shape the final report formats.
type Options struct {
	Strict bool   // warnings count as failures (--strict)
	Tool   string // the producing tool and its version, e.g. "enrollsim v0.3.0"
	Title  string // a heading for people; empty means a default
}

// Writer renders a whole recorded run (every event of it, in order) in one
// format. The events are already redacted; writers add nothing to them but
// layout and the verdicts folded from them.
type Writer func(w io.Writer, events []event.Event, opt Options) error

// Formats are the final report formats by name.
var Formats = map[string]Writer{
	"json":     WriteJSON,
	"junit":    WriteJUnit,
	"markdown": WriteMarkdown,
	"html":     WriteHTML,
	"har":      WriteHAR,
	"text":     WriteText,
	"jsonl":    WriteJSONL,
}

// FormatNames lists the names of Formats, sorted.
func FormatNames() []string {
	names := make([]string, 0, len(Formats))
	for n := range Formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Write renders events in the named format.
func Write(format string, w io.Writer, events []event.Event, opt Options) error {
	fn, ok := Formats[format]
	if !ok {
		return fmt.Errorf("unknown report format %q (formats: %s)", format, strings.Join(FormatNames(), ", "))
	}
	return fn(w, events, opt)
}

// WriteText is the verbose live text writer fed the whole run.
func WriteText(w io.Writer, events []event.Event, opt Options) error {
	ew := &errWriter{w: w}
	t := NewText(ew, TextOptions{Verbose: true, Strict: opt.Strict})
	for _, ev := range events {
		t.Handle(ev)
	}
	return ew.err
}

// WriteJSONL writes each event as a JSON line: the stream itself.
func WriteJSONL(w io.Writer, events []event.Event, _ Options) error {
	j := NewJSONL(w)
	for _, ev := range events {
		j.Handle(ev)
	}
	return j.Err()
}

// errWriter keeps the first write error, for writers that print freely.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// buffered wraps w for a writer and returns the flush that reports the
// first error.
func buffered(w io.Writer) (*bufio.Writer, func(error) error) {
	bw := bufio.NewWriter(w)
	return bw, func(err error) error {
		return errors.Join(err, bw.Flush())
	}
}

// run is a recorded run folded for the final formats: the summary, and per
// case its steps with their exchanges and checks, and the times. Times are
// the wall clock's (Event.Wall when the run's clock was simulated); the
// simulated clock is in sum.Timing.
type run struct {
	sum      Summary
	started  time.Time
	finished time.Time
	version  string
	cases    []*caseRun
	opt      Options
}

type caseRun struct {
	sum   *CaseSummary
	start time.Time
	end   time.Time
	steps []*stepRun
	// exchanges of the whole case in order, for the HAR.
	exchanges []exchangeAt
	// last is when the previous step began or check was judged: a check's
	// time is what elapsed since.
	last time.Time
}

type stepRun struct {
	step      event.Step
	status    event.StepStatus // "" while the step has not ended
	message   string
	start     time.Time
	end       time.Time
	exchanges []exchangeAt
	checks    []checkAt
	artifacts []*event.Artifact // screenshots of the sign-in pages
}

type exchangeAt struct {
	time time.Time
	step event.Step
	x    *event.Exchange
}

type checkAt struct {
	time    time.Time
	elapsed time.Duration
	r       *check.Result
}

// fold reads a recorded run.
func fold(events []event.Event, opt Options) *run {
	r := &run{opt: opt}
	byName := map[string]*caseRun{}
	for _, ev := range events {
		r.sum.Add(ev)
		at := wallTime(ev)
		switch ev.Kind {
		case event.EventRunStart:
			r.started = at
			if ev.Run != nil {
				r.version = ev.Run.Version
			}
			continue
		case event.EventRunEnd:
			r.finished = at
			continue
		case event.EventCaseStart:
			c := &caseRun{sum: r.sum.byName[ev.Case], start: at, last: at}
			r.cases = append(r.cases, c)
			byName[ev.Case] = c
			continue
		}
		c := byName[ev.Case]
		if c == nil {
			continue
		}
		switch ev.Kind {
		case event.EventStepStart:
			c.steps = append(c.steps, &stepRun{step: ev.Step, start: at})
			c.last = at
		case event.EventExchange:
			if ev.Exchange == nil {
				continue
			}
			x := exchangeAt{time: at, step: ev.Step, x: ev.Exchange}
			c.exchanges = append(c.exchanges, x)
			s := c.stepFor(ev)
			s.exchanges = append(s.exchanges, x)
		case event.EventArtifact:
			if ev.Artifact != nil {
				s := c.stepFor(ev)
				s.artifacts = append(s.artifacts, ev.Artifact)
			}
		case event.EventCheck:
			if ev.Result == nil {
				continue
			}
			s := c.stepFor(ev)
			s.checks = append(s.checks, checkAt{time: at, elapsed: nonNegative(at.Sub(c.last)), r: ev.Result})
			c.last = at
		case event.EventStepEnd:
			s := c.stepFor(ev)
			s.status, s.message, s.end = ev.Status, ev.Message, at
		case event.EventCaseEnd:
			c.end = at
		}
	}
	if r.finished.IsZero() && len(events) > 0 {
		r.finished = wallTime(events[len(events)-1])
	}
	return r
}

// stepFor finds the step an event belongs to: the latest of that name, or
// a new one when the stream never started it.
func (c *caseRun) stepFor(ev event.Event) *stepRun {
	for i := len(c.steps) - 1; i >= 0; i-- {
		if c.steps[i].step == ev.Step {
			return c.steps[i]
		}
	}
	s := &stepRun{step: ev.Step, start: wallTime(ev)}
	c.steps = append(c.steps, s)
	return s
}

// duration is how long the step took by the wall clock (0 while it has
// not ended).
func (s *stepRun) duration() time.Duration {
	if s.end.IsZero() {
		return 0
	}
	return nonNegative(s.end.Sub(s.start))
}

func (c *caseRun) duration() time.Duration {
	if c.end.IsZero() {
		return 0
	}
	return nonNegative(c.end.Sub(c.start))
}

func nonNegative(d time.Duration) time.Duration {
	if d < 0 {
		return 0
	}
	return d
}

// toolName is the producing tool: Options.Tool, else enrollsim with the
// run's version.
func (r *run) toolName() string {
	if r.opt.Tool != "" {
		return r.opt.Tool
	}
	if r.version != "" {
		return "enrollsim " + r.version
	}
	return "enrollsim"
}

// toolVersion is the version part of the tool name ("" when unknown).
func (r *run) toolVersion() string {
	if r.version != "" {
		return r.version
	}
	if _, v, ok := strings.Cut(r.opt.Tool, " "); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

func (r *run) title() string {
	if r.opt.Title != "" {
		return r.opt.Title
	}
	return "enrollsim report"
}

// expectedTrip reports whether a tripped result was expected by its case.
func expectedTrip(c *CaseSummary, res *check.Result) bool {
	return res.Tripped() && c.Info.Expects(res.ID)
}

// countsAgainst reports whether a result fails the case under opt: a fail,
// or a warn when strict, that the case did not expect.
func countsAgainst(c *CaseSummary, res *check.Result, strict bool) bool {
	if res.Status != check.Fail && !(strict && res.Status == check.Warn) {
		return false
	}
	return !expectedTrip(c, res)
}

// shortRule is the first sentence of a rule on one line.
func shortRule(rule string, n int) string {
	s := oneLine(rule, 1<<20)
	for i := 0; i+2 < len(s); i++ {
		if s[i] != '.' || s[i+1] != ' ' || s[i+2] < 'A' || s[i+2] > 'Z' {
			continue
		}
		if word := strings.TrimLeft(s[strings.LastIndexByte(s[:i], ' ')+1:i], "(["); word == "e.g" || word == "i.e" || word == "vs" {
			continue
		}
		s = s[:i]
		break
	}
	return truncate(strings.TrimSuffix(s, "."), n)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// verdict is PASS or FAIL for a case.
func verdict(c *CaseSummary, strict bool) string {
	if c.Passed(strict) {
		return "PASS"
	}
	return "FAIL"
}

// seconds formats a duration as decimal seconds with milliseconds.
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3f", d.Seconds())
}
