// Package report folds the engine's event stream into summaries and writes
// it out: live text, the jsonl stream itself, and final formats.
package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Exit codes of a run (DESIGN.md).
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUsage       = 2
	ExitIncomplete  = 3
	ExitInterrupted = 130
)

// StepSummary is how one step of a case ended.
type StepSummary struct {
	Step    event.Step       `json:"step"`
	Status  event.StepStatus `json:"status"`
	Message string           `json:"message,omitempty"`
}

// CaseSummary is one case folded from its events.
type CaseSummary struct {
	Name    string               `json:"name"`
	Info    event.CaseInfo       `json:"info"`
	Outcome string               `json:"outcome"`
	Message string               `json:"message,omitempty"`
	Steps   []StepSummary        `json:"steps"`
	Results []check.Result       `json:"results"`
	Counts  map[check.Status]int `json:"counts"`
	Facts   map[string]string    `json:"facts,omitempty"`
	done    bool
	// judged are the exchanges each result's step had made (Results'
	// order): the json report links a tripped check to them.
	judged [][]int
}

// Problems lists why the case does not pass: checks that tripped without
// being expected to, expected trips that did not happen, and a run error.
func (c *CaseSummary) Problems(strict bool) []string {
	var out []string
	tripped := map[string]bool{}
	known := false // a known finding of the deployment occurred
	for _, r := range c.Results {
		if r.Tripped() && !contains(c.Info.ExpectTrips, r.ID) && c.Info.Expects(r.ID) {
			known = true
		}
		if r.Status == check.Fail || (strict && r.Status == check.Warn) {
			tripped[r.ID] = true
			if !c.Info.Expects(r.ID) {
				out = append(out, fmt.Sprintf("%s %s: %s", r.ID, strings.ToUpper(string(r.Status)), firstNonEmpty(r.Actual, r.Detail)))
			}
		} else if r.Status == check.Warn {
			tripped[r.ID] = true
		}
	}
	for _, id := range c.Info.ExpectTrips {
		if !tripped[id] && check.Filter(c.Info.Checks).Match(id) {
			out = append(out, fmt.Sprintf("%s was expected to fail or warn, but did not", id))
		}
	}
	if want := c.Info.ExpectOutcome; want != "" && c.done && c.Outcome != want {
		out = append(out, fmt.Sprintf("expected outcome %s, got %s: %s", want, c.Outcome, c.Message))
	}
	for _, k := range sortedKeys(c.Info.ExpectFacts) {
		if want, got := c.Info.ExpectFacts[k], c.Facts[k]; want != got {
			if got == "" {
				got = "(none)"
			}
			out = append(out, fmt.Sprintf("expected %s %s, got %s", k, want, got))
		}
	}
	if failed := c.Facts["actions_failed"]; failed != "" {
		out = append(out, "scenario actions: "+failed)
	}
	if missing := missingCommands(c.Info.ExpectCommandTypes, c.Facts["command_types"]); len(missing) > 0 {
		got := c.Facts["command_types"]
		if got == "" {
			got = "none"
		}
		out = append(out, fmt.Sprintf("expected commands %s answered, missing %s (answered: %s)",
			strings.Join(c.Info.ExpectCommandTypes, ", "), strings.Join(missing, ", "), strings.ReplaceAll(got, ",", ", ")))
	}
	switch c.Outcome {
	case event.OutcomeError:
		if c.Info.ExpectOutcome != event.OutcomeError {
			out = append(out, "the case could not complete: "+c.Message)
		}
	case event.OutcomeDiscoveryFailed, event.OutcomeAuthFailed, event.OutcomeEnrollFailed, event.OutcomeProfileRejected,
		event.OutcomeIdentityFailed, event.OutcomeCheckInFailed, event.OutcomeUnenrolled:
		if c.Info.ExpectOutcome != "" {
			break
		}
		// A negative case names the checks that explain its failure, and
		// a known finding that occurred explains it too; any other case
		// that should enroll and does not has failed, whether or not a
		// check caught the cause.
		if c.Info.Expect == "enroll" && len(c.Info.ExpectTrips) == 0 && !known {
			out = append(out, fmt.Sprintf("expected to enroll, but the outcome is %s: %s", c.Outcome, c.Message))
		}
	}
	if !c.done {
		out = append(out, "the case did not finish")
	}
	return out
}

// missingCommands are the RequestTypes of want that the comma-separated
// answered list (the case-end fact command_types) lacks, in want's order.
func missingCommands(want []string, answered string) []string {
	got := map[string]bool{}
	for _, t := range strings.Split(answered, ",") {
		got[strings.TrimSpace(t)] = true
	}
	var out []string
	for _, t := range want {
		if !got[t] {
			out = append(out, t)
		}
	}
	return out
}

// Passed reports whether the case met its expectations.
func (c *CaseSummary) Passed(strict bool) bool { return len(c.Problems(strict)) == 0 }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Summary accumulates a run.
type Summary struct {
	Cases       []*CaseSummary `json:"cases"`
	Interrupted bool           `json:"interrupted,omitempty"`
	// Known is what became of the run's expectations file (run-end), nil
	// without one.
	Known  *check.KnownFindings `json:"expectations,omitempty"`
	byName map[string]*CaseSummary
	ended  bool
	timing Timing
}

// Timing is how long a run took by the wall clock and, when the run's clock
// was simulated (the embedded target jumps ahead instead of waiting for
// TOTP steps), by that clock too. Both come from the events, so a report
// re-rendered from a saved stream says the same.
type Timing struct {
	Started, Finished time.Time // wall clock; zero when not in the stream
	// Simulated says the run's clock was not the wall clock; SimStarted and
	// SimFinished are its readings.
	Simulated               bool
	SimStarted, SimFinished time.Time
	// TOTPSkipped is the TOTP time the embedded target jumped over instead
	// of waiting for fresh codes (event.Event.TOTPSkipped).
	TOTPSkipped time.Duration
}

// Wall is the run's duration by the wall clock (0 when unknown).
func (t Timing) Wall() time.Duration {
	if t.Started.IsZero() || t.Finished.IsZero() {
		return 0
	}
	return nonNegative(t.Finished.Sub(t.Started))
}

// Sim is the run's duration by its simulated clock (0 when not simulated).
func (t Timing) Sim() time.Duration {
	if !t.Simulated || t.SimStarted.IsZero() || t.SimFinished.IsZero() {
		return 0
	}
	return nonNegative(t.SimFinished.Sub(t.SimStarted))
}

// String is "1.2s", or "1.2s (simulated clock: 18m0s, ...)" when the
// clock was simulated.
func (t Timing) String() string {
	s := human(t.Wall())
	switch {
	case t.Simulated:
		s += fmt.Sprintf(" (simulated clock: %s; the embedded target skips ahead instead of waiting for TOTP steps)", human(t.Sim()))
	case t.TOTPSkipped > 0:
		s += fmt.Sprintf(" (and %s of TOTP time skipped: the embedded target moves each account's TOTP clock ahead instead of waiting for a fresh code)", human(t.TOTPSkipped))
	}
	return s
}

// wallTime is when an event happened by the wall clock. Monotonic clock
// readings are dropped: a live report and one re-rendered from the saved
// stream must compute the same durations.
func wallTime(ev event.Event) time.Time {
	if !ev.Wall.IsZero() {
		return ev.Wall.Round(0)
	}
	return ev.Time.Round(0)
}

// Timing is the run's timing so far.
func (s *Summary) Timing() Timing { return s.timing }

// Add folds one event in.
func (s *Summary) Add(ev event.Event) {
	if s.byName == nil {
		s.byName = map[string]*CaseSummary{}
	}
	s.time(ev)
	switch ev.Kind {
	case event.EventRunEnd:
		s.ended = true
		s.Known = ev.Expectations
		return
	case event.EventCaseStart:
		c := &CaseSummary{Name: ev.Case, Counts: map[check.Status]int{}}
		if ev.Info != nil {
			c.Info = *ev.Info
		}
		s.Cases = append(s.Cases, c)
		s.byName[ev.Case] = c
		return
	}
	c := s.byName[ev.Case]
	if c == nil {
		return
	}
	switch ev.Kind {
	case event.EventStepEnd:
		c.Steps = append(c.Steps, StepSummary{Step: ev.Step, Status: ev.Status, Message: ev.Message})
	case event.EventCheck:
		if ev.Result != nil {
			c.Results = append(c.Results, *ev.Result)
			c.judged = append(c.judged, ev.Judged)
			c.Counts[ev.Result.Status]++
		}
	case event.EventCaseEnd:
		c.Outcome, c.Message, c.Facts, c.done = ev.Outcome, ev.Message, ev.Facts, true
		if ev.Outcome == event.OutcomeInterrupted {
			s.Interrupted = true
		}
	}
}

// time keeps the run's first and latest readings of both clocks; a stream
// cut short (interrupted, crashed) still has a duration up to its last event.
func (s *Summary) time(ev event.Event) {
	t := &s.timing
	if t.Started.IsZero() {
		t.Started, t.SimStarted = wallTime(ev), ev.Time.Round(0)
	}
	t.Finished, t.SimFinished = wallTime(ev), ev.Time.Round(0)
	if !ev.Wall.IsZero() {
		t.Simulated = true
	}
	if ev.Kind == event.EventRunEnd {
		t.TOTPSkipped = ev.TOTPSkipped
	}
}

// Case returns a case by name, or nil.
func (s *Summary) Case(name string) *CaseSummary { return s.byName[name] }

// Totals counts check statuses over all cases.
func (s *Summary) Totals() map[check.Status]int {
	t := map[check.Status]int{}
	for _, c := range s.Cases {
		for k, v := range c.Counts {
			t[k] += v
		}
	}
	return t
}

// ExpectedTrips counts failed or warned checks that their case expected.
func (s *Summary) ExpectedTrips() int {
	n := 0
	for _, c := range s.Cases {
		for _, r := range c.Results {
			if r.Tripped() && c.Info.Expects(r.ID) {
				n++
			}
		}
	}
	return n
}

// Outcomes counts case outcomes.
func (s *Summary) Outcomes() map[string]int {
	o := map[string]int{}
	for _, c := range s.Cases {
		o[c.Outcome]++
	}
	return o
}

// ExitCode follows DESIGN.md: 130 interrupted, 3 a case could not
// complete, 1 a case did not meet its expectations, 0 otherwise.
func (s *Summary) ExitCode(strict bool) int {
	if s.Interrupted {
		return ExitInterrupted
	}
	code := ExitOK
	for _, c := range s.Cases {
		switch c.Verdict(strict) {
		case CaseIncomplete:
			return ExitIncomplete
		case CaseFailed:
			code = ExitFailed
		}
	}
	return code
}

// Failed returns the cases that did not pass.
func (s *Summary) Failed(strict bool) []*CaseSummary {
	var out []*CaseSummary
	for _, c := range s.Cases {
		if !c.Passed(strict) {
			out = append(out, c)
		}
	}
	return out
}

// statusOrder is how counts are listed.
var statusOrder = []check.Status{check.Pass, check.Fail, check.Warn, check.Noted, check.Skip, check.Error}

func formatCounts(m map[check.Status]int) string {
	var parts []string
	for _, st := range statusOrder {
		parts = append(parts, fmt.Sprintf("%d %s", m[st], st))
	}
	return strings.Join(parts, ", ")
}

func formatOutcomes(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// KnownCounts counts the findings expected by the expectations file and
// its entries by state.
func (s *Summary) KnownCounts() (occurred int, states map[string]int) {
	states = map[string]int{}
	if s.Known == nil {
		return 0, states
	}
	for _, e := range s.Known.Entries {
		states[e.State]++
		if e.State == check.KnownExpected {
			occurred += e.Occurrences
		}
	}
	return occurred, states
}

// knownLine is what an entry's state means, in a sentence after its name.
func knownLine(e check.KnownFinding, file string) string {
	switch e.State {
	case check.KnownExpected:
		return fmt.Sprintf("%d finding(s); %s", e.Occurrences, e.Reason)
	case check.KnownStale:
		return "no longer occurs: remove it from " + file
	case check.KnownExpired:
		return fmt.Sprintf("expired on %s and no longer applies: its findings count again", e.Expires)
	case check.KnownUnused:
		return firstNonEmpty(e.Note, "not played") + ": not judged"
	}
	return e.State
}
