package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/enrollsim/enrollsim/sim/event"
)

// Histograms record microseconds from 1 µs to 10 minutes with 3
// significant digits: p99.9 of a step is exact to 0.1%.
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
)

// Histogram is a latency distribution. It marshals as hdrhistogram-go's
// Snapshot, so results from several shards add up exactly.
type Histogram struct{ h *hdr.Histogram }

func newHistogram() *Histogram { return &Histogram{h: hdr.New(histMin, histMax, histDigits)} }

// Record adds one duration (clamped into the histogram's range).
func (h *Histogram) Record(d time.Duration) {
	us := max(int64(d/time.Microsecond), histMin)
	_ = h.h.RecordValue(min(us, histMax))
}

// Count is the number of durations recorded.
func (h *Histogram) Count() int64 { return h.h.TotalCount() }

// Quantile is the duration at q (0..1).
func (h *Histogram) Quantile(q float64) time.Duration {
	return time.Duration(h.h.ValueAtQuantile(q*100)) * time.Microsecond
}

// Max is the largest duration recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.h.Max()) * time.Microsecond }

// Buckets are the histogram's non-empty bars, for charts and tests.
func (h *Histogram) Buckets() []hdr.Bar {
	var out []hdr.Bar
	for _, b := range h.h.Distribution() {
		if b.Count > 0 {
			out = append(out, b)
		}
	}
	return out
}

func (h *Histogram) merge(o *Histogram) { h.h.Merge(o.h) }

func (h *Histogram) MarshalJSON() ([]byte, error) { return json.Marshal(h.h.Export()) }

func (h *Histogram) UnmarshalJSON(b []byte) error {
	var s hdr.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s.LowestTrackableValue != histMin || s.HighestTrackableValue != histMax || s.SignificantFigures != histDigits {
		return errors.New("a histogram of another shape: was it written by another enrollsim version?")
	}
	h.h = hdr.Import(&s)
	return nil
}

// Bucket is one second of the run.
type Bucket struct {
	Second   int `json:"second"`
	Started  int `json:"started"`
	Done     int `json:"done"`
	Enrolled int `json:"enrolled"`
	Failed   int `json:"failed"`
}

// CheckCount is how often a check tripped or could not be judged.
type CheckCount struct {
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
}

// FailureSample is one failing case, kept with its exchanges (redacted
// excerpts), up to Config.SampleFailures of them.
type FailureSample struct {
	Case      string   `json:"case"`
	Outcome   string   `json:"outcome"`
	Message   string   `json:"message"`
	Checks    []string `json:"checks,omitempty"`
	Exchanges []string `json:"exchanges,omitempty"`
}

// ResultConfig is what ran, without secrets.
type ResultConfig struct {
	Model       string        `json:"model"` // closed or open
	Devices     int           `json:"devices,omitempty"`
	Concurrency int           `json:"concurrency,omitempty"`
	Rate        float64       `json:"rate,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Mix         string        `json:"mix"`
	Accounts    int           `json:"accounts"`
	Until       string        `json:"until"`
	Probes      bool          `json:"probes"`
	Target      string        `json:"target"`
	Shards      []string      `json:"shards"` // "1/3", merged results list each
}

// Result is everything a load keeps: aggregates only.
type Result struct {
	Config      ResultConfig              `json:"config"`
	Started     time.Time                 `json:"started"`
	Ended       time.Time                 `json:"ended"`
	Interrupted bool                      `json:"interrupted,omitempty"`
	Cases       int                       `json:"cases"`
	Outcomes    map[string]int            `json:"outcomes"`
	Steps       map[event.Step]*Histogram `json:"steps"`
	Total       *Histogram                `json:"total"`
	Throughput  []Bucket                  `json:"throughput"`
	Checks      map[string]CheckCount     `json:"checks"`
	Causes      map[string]int            `json:"causes"`
	Failures    []FailureSample           `json:"failures,omitempty"`
	Dropped     int                       `json:"dropped,omitempty"`
	Requests    int64                     `json:"requests"`
	// Thresholds are the --threshold results, judged once the load (or
	// the merge) ended; a merge judges its own, not its shards'.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Strict is --strict: a check that failed fails the load.
	Strict bool `json:"strict,omitempty"`
}

func newResult() *Result {
	return &Result{Outcomes: map[string]int{}, Steps: map[event.Step]*Histogram{}, Total: newHistogram(),
		Checks: map[string]CheckCount{}, Causes: map[string]int{}}
}

// Enrolled counts the cases that ended as expected for a load: enrolled,
// or discovered when the load stops at discovery.
func (r *Result) Enrolled() int {
	return r.Outcomes[event.OutcomeEnrolled] + r.Outcomes[event.OutcomeDiscovered]
}

// Failed counts the rest.
func (r *Result) Failed() int { return r.Cases - r.Enrolled() }

// Elapsed is the wall time of the run.
func (r *Result) Elapsed() time.Duration { return r.Ended.Sub(r.Started) }

// Merge adds results of shards: counts add, histograms merge bucket by
// bucket, throughput adds second by second from each shard's start. The
// shards must be every shard of one load, each once (CheckShards).
func Merge(results ...*Result) (*Result, error) { return merge(results, false) }

// MergePartial is Merge that lets missing shards through (a pod that
// never finished); the merged result lists the shards it holds.
func MergePartial(results ...*Result) (*Result, error) { return merge(results, true) }

func merge(results []*Result, partial bool) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("nothing to merge")
	}
	if err := CheckShards(nil, results); err != nil {
		var missing *MissingShardsError
		if !partial || !errors.As(err, &missing) {
			return nil, err
		}
	}
	out := newResult()
	out.Config = results[0].Config
	out.Config.Shards = nil
	out.Started, out.Ended = results[0].Started, results[0].Ended
	for _, r := range results {
		if r.Total == nil {
			return nil, errors.New("a result without histograms")
		}
		out.Config.Shards = append(out.Config.Shards, r.Config.Shards...)
		if r.Started.Before(out.Started) {
			out.Started = r.Started
		}
		if r.Ended.After(out.Ended) {
			out.Ended = r.Ended
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.Cases += r.Cases
		out.Dropped += r.Dropped
		out.Requests += r.Requests
		for k, v := range r.Outcomes {
			out.Outcomes[k] += v
		}
		for k, v := range r.Causes {
			out.Causes[k] += v
		}
		for k, v := range r.Checks {
			c := out.Checks[k]
			c.Fail, c.Warn, c.Error = c.Fail+v.Fail, c.Warn+v.Warn, c.Error+v.Error
			out.Checks[k] = c
		}
		for step, h := range r.Steps {
			if out.Steps[step] == nil {
				out.Steps[step] = newHistogram()
			}
			out.Steps[step].merge(h)
		}
		out.Total.merge(r.Total)
		for _, b := range r.Throughput {
			for len(out.Throughput) <= b.Second {
				out.Throughput = append(out.Throughput, Bucket{Second: len(out.Throughput)})
			}
			o := &out.Throughput[b.Second]
			o.Started, o.Done, o.Enrolled, o.Failed = o.Started+b.Started, o.Done+b.Done, o.Enrolled+b.Enrolled, o.Failed+b.Failed
		}
		out.Failures = append(out.Failures, r.Failures...)
	}
	sort.Strings(out.Config.Shards)
	if len(out.Failures) > 10 {
		out.Failures = out.Failures[:10]
	}
	return out, nil
}

// WriteJSON writes the result for `enrollsim report merge`.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// maxResultFile bounds a result read: histograms are a few hundred KiB.
const maxResultFile = 64 << 20

// ReadJSON reads a result WriteJSON wrote.
func ReadJSON(rd io.Reader) (*Result, error) {
	raw, err := io.ReadAll(io.LimitReader(rd, maxResultFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxResultFile {
		return nil, fmt.Errorf("over %d MiB: not a load result", maxResultFile>>20)
	}
	r := newResult()
	if err := json.Unmarshal(raw, r); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not a load result (invalid JSON at byte %d)", se.Offset)
		}
		return nil, fmt.Errorf("not a load result: %v", err)
	}
	if r.Total == nil || r.Total.h == nil {
		return nil, errors.New("not a load result: no total histogram (write it with 'enrollsim load --report json=FILE')")
	}
	for k, h := range r.Steps {
		if h == nil || h.h == nil {
			delete(r.Steps, k)
		}
	}
	return r, nil
}

func (r *Result) orderedSteps() []event.Step {
	var out []event.Step
	for _, s := range event.Flow {
		if r.Steps[s] != nil {
			out = append(out, s)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(r.Steps)) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// WriteText is the report a terminal shows at the end.
func WriteText(w io.Writer, r *Result) error {
	el := r.Elapsed()
	rate := 0.0
	if el > 0 {
		rate = float64(r.Cases) / el.Seconds()
	}
	fmt.Fprintf(w, "Load: %d enrollments (%s model, mix %s) in %s: %.1f/s", r.Cases, r.Config.Model, r.Config.Mix, el.Round(time.Millisecond), rate)
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted: the results so far)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  enrolled %d, failed %d", r.Enrolled(), r.Failed())
	if r.Dropped > 0 {
		fmt.Fprintf(w, ", dropped %d (over --max-in-flight: the server fell behind the arrival rate)", r.Dropped)
	}
	fmt.Fprintf(w, "; %d requests\n", r.Requests)
	if len(r.Config.Shards) > 0 {
		fmt.Fprintf(w, "  shards: %s\n", strings.Join(r.Config.Shards, ", "))
	}
	if line := r.checksLine(); line != "" {
		fmt.Fprintf(w, "  checks failed: %s%s\n", line, strictNote(r.Strict))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tcount\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	row := func(name string, h *Histogram) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, h.Count(), ms(h.Quantile(.5)), ms(h.Quantile(.9)), ms(h.Quantile(.99)), ms(h.Quantile(.999)), ms(h.Max()))
	}
	for _, s := range r.orderedSteps() {
		row(string(s), r.Steps[s])
	}
	row("whole case", r.Total)
	tw.Flush()
	if len(r.Outcomes) > 0 {
		fmt.Fprintln(w, "\noutcomes:")
		for _, k := range slices.Sorted(maps.Keys(r.Outcomes)) {
			fmt.Fprintf(w, "  %-20s %d\n", k, r.Outcomes[k])
		}
	}
	if len(r.Checks) > 0 {
		fmt.Fprintln(w, "\nchecks that tripped or could not be judged:")
		for _, k := range slices.Sorted(maps.Keys(r.Checks)) {
			c := r.Checks[k]
			fmt.Fprintf(w, "  %-10s fail %d, warn %d, error %d\n", k, c.Fail, c.Warn, c.Error)
		}
	}
	if len(r.Causes) > 0 {
		fmt.Fprintln(w, "\nfailed cases by cause:")
		for _, k := range slices.Sorted(maps.Keys(r.Causes)) {
			fmt.Fprintf(w, "  %-40s %d\n", k, r.Causes[k])
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "\nsample failure %s: %s: %s\n", f.Case, f.Outcome, f.Message)
		for _, c := range f.Checks {
			fmt.Fprintf(w, "    %s\n", c)
		}
		for _, x := range f.Exchanges {
			fmt.Fprintf(w, "    %s\n", x)
		}
	}
	writeGateText(w, r)
	return nil
}

// strictNote says whether failed checks fail the load.
func strictNote(strict bool) string {
	if strict {
		return " (--strict: they fail the load)"
	}
	return " (they fail the load with --strict)"
}

// writeGateText ends the report with the thresholds and the verdict, the
// lines a CI log shows last.
func writeGateText(w io.Writer, r *Result) {
	if len(r.Thresholds) > 0 {
		fmt.Fprintln(w, "\nthresholds:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  threshold\tobserved\tverdict")
		for _, t := range r.Thresholds {
			verdict := "ok"
			if t.Crossed {
				verdict = "CROSSED"
			}
			if t.Note != "" {
				verdict += ": " + t.Note
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", t.Threshold, t.Observed, verdict)
		}
		tw.Flush()
	}
	if problems := r.GateProblems(); len(problems) > 0 {
		fmt.Fprintf(w, "\ngate: FAILED: %s\n", strings.Join(problems, "; "))
		return
	}
	if r.Interrupted {
		fmt.Fprintf(w, "\ngate: passed on the results so far (interrupted)\n")
		return
	}
	fmt.Fprintf(w, "\ngate: passed\n")
}
