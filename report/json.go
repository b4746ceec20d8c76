package report

import (
	"encoding/json"
	"io"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// JSONReport is the json format: the whole run as one document. Fields
// keep this order; maps are written with sorted keys.
type JSONReport struct {
	// SchemaVersion is the version of the report's JSON Schema
	// (report/schema/report.schema.json, `enrollsim schema report`).
	SchemaVersion string `json:"schema_version"`
	Tool          string `json:"tool"`
	// Version is the tool's version ("" when unknown).
	Version  string     `json:"version,omitempty"`
	Title    string     `json:"title,omitempty"`
	Started  *time.Time `json:"started"`
	Finished *time.Time `json:"finished"`
	// Seconds is how long the run took by the wall clock; Started and
	// Finished are wall-clock times too.
	Seconds float64 `json:"duration_seconds"`
	// SimulatedClock is the run's own clock when it was not the wall
	// clock: the embedded target's, which jumps ahead over TOTP waits.
	SimulatedClock *JSONClock `json:"simulated_clock,omitempty"`
	// TOTPSkippedSeconds is the TOTP time the embedded target jumped over
	// instead of waiting for fresh codes; Seconds does not include it.
	TOTPSkippedSeconds float64 `json:"totp_skipped_seconds,omitempty"`
	Strict             bool    `json:"strict"`
	// ExitCode is what the run exits with under Strict (Summary.ExitCode).
	ExitCode    int  `json:"exit_code"`
	Interrupted bool `json:"interrupted,omitempty"`
	// Totals counts check statuses over all cases, every status present.
	Totals map[check.Status]int `json:"totals"`
	// Outcomes counts case outcomes.
	Outcomes map[string]int `json:"outcomes"`
	// ExpectedTrips counts failures and warnings that their case expected.
	ExpectedTrips int `json:"expected_trips"`
	// Expectations is what became of each entry of the run's expectations
	// file (--expectations): state expected, stale, expired or unused, with
	// the findings it covered. Absent without a file.
	Expectations *check.KnownFindings `json:"expectations,omitempty"`
	Cases        []JSONCase           `json:"cases"`
}

// JSONClock is a clock's readings at the run's start and end.
type JSONClock struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"duration_seconds"`
}

// JSONCase is a case summary with its verdict under the report's Strict.
type JSONCase struct {
	CaseSummary
	// Results replaces the summary's: each with its evidence.
	Results []JSONResult `json:"results"`
	// Seconds is the case's wall-clock duration.
	Seconds  float64  `json:"duration_seconds"`
	Passed   bool     `json:"passed"`
	Problems []string `json:"problems"`
}

// JSONResult is a check's verdict; a failed, warned or errored one also
// names the exchanges (their seq in the jsonl stream and the HTML
// report's anchors) its step had made when it was judged, and links to
// its sources.
type JSONResult struct {
	check.Result
	Judged []int        `json:"judged,omitempty"`
	Links  []check.Link `json:"links,omitempty"`
}

// jsonResults are a case's results with the evidence of those that did
// not pass.
func jsonResults(c *CaseSummary) []JSONResult {
	out := make([]JSONResult, len(c.Results))
	for i, r := range c.Results {
		out[i] = JSONResult{Result: r}
		if r.Status == check.Fail || r.Status == check.Warn || r.Status == check.Error {
			if i < len(c.judged) {
				out[i].Judged = c.judged[i]
			}
			out[i].Links = check.SourceLinks(r.Source)
		}
	}
	return out
}

// NewJSONReport folds a recorded run into the json document.
func NewJSONReport(events []event.Event, opt Options) *JSONReport {
	r := fold(events, opt)
	doc := &JSONReport{
		SchemaVersion: SchemaVersion,
		Tool:          r.toolName(),
		Version:       r.toolVersion(),
		Title:         opt.Title,
		Strict:        opt.Strict,
		ExitCode:      r.sum.ExitCode(opt.Strict),
		Interrupted:   r.sum.Interrupted,
		Totals:        map[check.Status]int{},
		Outcomes:      r.sum.Outcomes(),
		ExpectedTrips: r.sum.ExpectedTrips(),
		Expectations:  r.sum.Known,
		Cases:         []JSONCase{},
	}
	if !r.started.IsZero() {
		t := r.started
		doc.Started = &t
	}
	if !r.finished.IsZero() {
		t := r.finished
		doc.Finished = &t
	}
	timing := r.sum.Timing()
	doc.Seconds = timing.Wall().Seconds()
	doc.TOTPSkippedSeconds = timing.TOTPSkipped.Seconds()
	if timing.Simulated {
		doc.SimulatedClock = &JSONClock{Started: timing.SimStarted, Finished: timing.SimFinished, Seconds: timing.Sim().Seconds()}
	}
	totals := r.sum.Totals()
	for _, st := range statusOrder {
		doc.Totals[st] = totals[st]
	}
	took := map[*CaseSummary]time.Duration{}
	for _, c := range r.cases {
		took[c.sum] = c.duration()
	}
	for _, c := range r.sum.Cases {
		jc := JSONCase{CaseSummary: *c, Results: jsonResults(c), Seconds: took[c].Seconds(), Passed: c.Passed(opt.Strict), Problems: c.Problems(opt.Strict)}
		if jc.Problems == nil {
			jc.Problems = []string{}
		}
		if jc.Steps == nil {
			jc.Steps = []StepSummary{}
		}
		doc.Cases = append(doc.Cases, jc)
	}
	return doc
}

// WriteJSON writes the json format, indented.
func WriteJSON(w io.Writer, events []event.Event, opt Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(NewJSONReport(events, opt))
}
