package load

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A threshold gates a load as k6's do: a metric of the result against a
// limit, crossed or not once the load has ended.
//
//	STEP:STAT OP DURATION   web-login:p95<500ms, case:p99<=2s, push-to-connect:max<1s
//	fail-rate OP RATE       fail-rate<0.1% (or a fraction: fail-rate<0.001)
//	rate OP PER-SECOND      rate>100/s (enrollments ended a second, as the report prints)
//
// STEP is a step as the report names it, push-to-connect, or case (the
// whole case); STAT is avg, min, max or a percentile pN (p50, p95, p99.9).

// MetricFailRate and MetricRate are the metrics of a threshold that are not
// a step's latency.
const (
	MetricFailRate = "fail-rate"
	MetricRate     = "rate"
	// MetricCase is the whole case's latency, "whole case" in the report.
	MetricCase = "case"
)

// Threshold is one parsed --threshold.
type Threshold struct {
	Text   string // as given, without spaces
	Metric string // a step, case, fail-rate or rate
	Stat   string // avg, min, max or pN; empty for the rates
	Op     string // <, <=, > or >=
	// Limit is microseconds for a latency, a fraction (0..1) for
	// fail-rate, and enrollments a second for rate.
	Limit float64
	quant float64 // the percentile of a pN stat, 0..100
}

// ThresholdResult is a threshold judged against a result.
type ThresholdResult struct {
	Threshold string `json:"threshold"`
	Metric    string `json:"metric"`
	// Observed is the metric as the report shows it, or "no data".
	Observed string `json:"observed"`
	Crossed  bool   `json:"crossed"`
	// Note says why a threshold without data is crossed.
	Note string `json:"note,omitempty"`
}

// ThresholdSteps are the names a latency threshold takes before its colon.
func ThresholdSteps() []string {
	var out []string
	for _, s := range event.Flow {
		out = append(out, string(s))
	}
	return append(out, string(StepPushToConnect), MetricCase)
}

const statsHelp = "avg, min, max, p50, p90, p95, p99, p99.9 or any pN"

var thresholdOps = []string{"<=", ">=", "<", ">"}

// ParseThreshold reads one --threshold. Its errors name the part that is
// wrong and list what it takes.
func ParseThreshold(s string) (Threshold, error) {
	text := strings.Join(strings.Fields(s), "")
	t := Threshold{Text: text}
	at, op := -1, ""
	for i := range text {
		for _, o := range thresholdOps {
			if strings.HasPrefix(text[i:], o) {
				at, op = i, o
				break
			}
		}
		if at >= 0 {
			break
		}
	}
	if at < 0 {
		hint := ""
		if strings.ContainsAny(text, "=!") {
			hint = " (== and != are not thresholds)"
		}
		return t, fmt.Errorf("no operator%s: want METRIC<LIMIT with <, <=, > or >=, e.g. web-login:p95<500ms, fail-rate<0.1%% or rate>100/s", hint)
	}
	t.Op = op
	metric, limit := text[:at], text[at+len(op):]
	if metric == "" {
		return t, errors.New("nothing before the operator: want STEP:STAT (e.g. web-login:p95), fail-rate or rate")
	}
	if limit == "" {
		return t, fmt.Errorf("no limit after %q", op)
	}
	if strings.ContainsAny(limit, "<>=") {
		return t, fmt.Errorf("limit %q: one operator only", limit)
	}
	var err error
	switch metric {
	case MetricFailRate:
		t.Metric = metric
		t.Limit, err = parseFraction(limit)
	case MetricRate:
		t.Metric = metric
		t.Limit, err = parsePerSecond(limit)
	default:
		err = t.parseLatency(metric, limit)
	}
	return t, err
}

// parseLatency reads STEP:STAT and a duration into t.
func (t *Threshold) parseLatency(metric, limit string) error {
	step, stat, ok := strings.Cut(metric, ":")
	if !ok {
		return fmt.Errorf("metric %q: want STEP:STAT (e.g. web-login:p95, case:p99), fail-rate or rate%s", metric,
			didYouMean(metric, append(ThresholdSteps(), MetricFailRate, MetricRate)))
	}
	steps := ThresholdSteps()
	if !slices.Contains(steps, step) {
		return fmt.Errorf("step %q: unknown%s (steps: %s)", step, didYouMean(step, steps), strings.Join(steps, ", "))
	}
	t.Metric, t.Stat = step, stat
	switch stat {
	case "avg", "min", "max":
	default:
		q, err := strconv.ParseFloat(strings.TrimPrefix(stat, "p"), 64)
		if !strings.HasPrefix(stat, "p") || err != nil || math.IsNaN(q) {
			return fmt.Errorf("stat %q: unknown%s (stats: %s)", stat, didYouMean(stat, []string{"avg", "min", "max", "p50", "p90", "p95", "p99"}), statsHelp)
		}
		if q <= 0 || q > 100 {
			return fmt.Errorf("stat %q: a percentile is over 0 and at most 100, such as p95 or p99.9", stat)
		}
		t.quant = q
	}
	d, err := time.ParseDuration(limit)
	if err != nil || d < 0 {
		return fmt.Errorf("limit %q: want a duration with its unit, such as 500ms, 1.5s or 2m", limit)
	}
	t.Limit = float64(d) / float64(time.Microsecond)
	return nil
}

// parseFraction reads 0.1% or 0.001 as a fraction of 1.
func parseFraction(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
		return 0, fmt.Errorf("fail-rate limit %q: want a percentage from 0%% to 100%% such as 0.1%%, or a fraction from 0 to 1 such as 0.001", s)
	}
	return v, nil
}

// parsePerSecond reads 100/s or 100.
func parsePerSecond(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "/s"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("rate limit %q: want enrollments a second, such as 100/s", s)
	}
	return v, nil
}

// CheckUntil refuses a threshold on a step a load that goes until u never
// plays, which could only be crossed for want of data.
func (t Threshold) CheckUntil(u event.Until) error {
	switch {
	case t.Metric == string(StepPushToConnect) && !u.Reaches(event.UntilCommands):
		return fmt.Errorf("push-to-connect is measured in the commands step: add --until commands")
	case t.Stat != "" && t.Metric != MetricCase && !u.Plays(event.Step(t.Metric)):
		return fmt.Errorf("a load --until %s does not play %s: add a later --until", u, t.Metric)
	}
	return nil
}

// Evaluate judges t against r. A metric without data crosses its
// threshold: a gate that measured nothing does not pass.
func (t Threshold) Evaluate(r *Result) ThresholdResult {
	out := ThresholdResult{Threshold: t.Text, Metric: t.Metric}
	value, shown, note := t.observe(r)
	if note != "" {
		out.Observed, out.Crossed, out.Note = "no data", true, note
		return out
	}
	out.Observed = shown
	out.Crossed = !t.holds(value)
	return out
}

func (t Threshold) holds(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Limit
	case "<=":
		return v <= t.Limit
	case ">":
		return v > t.Limit
	default:
		return v >= t.Limit
	}
}

// observe is the metric's value in the threshold's unit, as shown, or why
// there is none.
func (t Threshold) observe(r *Result) (float64, string, string) {
	switch t.Metric {
	case MetricFailRate:
		all := r.Cases + r.Dropped
		if all == 0 {
			return 0, "", "no enrollment ended"
		}
		bad := r.Failed() + r.Dropped
		v := float64(bad) / float64(all)
		return v, fmt.Sprintf("%s (%d of %d)", percent(v), bad, all), ""
	case MetricRate:
		el := r.Elapsed()
		if el <= 0 {
			return 0, "", "the load took no time"
		}
		v := float64(r.Cases) / el.Seconds()
		return v, fmt.Sprintf("%.1f/s", v), ""
	}
	h := r.Total
	if t.Metric != MetricCase {
		h = r.Steps[event.Step(t.Metric)]
	}
	if h == nil || h.Count() == 0 {
		return 0, "", fmt.Sprintf("no case measured %s", t.Metric)
	}
	var us float64
	switch t.Stat {
	case "avg":
		us = h.h.Mean()
	case "min":
		us = float64(h.h.Min())
	case "max":
		us = float64(h.h.Max())
	default:
		us = float64(h.h.ValueAtQuantile(t.quant))
	}
	return us, showMicros(us), ""
}

// percent shows a fraction with the precision small rates need.
func percent(v float64) string {
	s := strconv.FormatFloat(100*v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + "%"
}

// showMicros shows a latency in milliseconds, as the step table does.
func showMicros(us float64) string {
	return fmt.Sprintf("%.1fms", us/1000)
}

// EvaluateThresholds judges every threshold against r and keeps the
// results in r, where the reports show them.
func EvaluateThresholds(r *Result, ts []Threshold) {
	r.Thresholds = nil
	for _, t := range ts {
		r.Thresholds = append(r.Thresholds, t.Evaluate(r))
	}
}

// didYouMean is "; did you mean "x"?" when s is a typo of a candidate
// (the scenario loader's suggestion).
func didYouMean(s string, candidates []string) string {
	if m := scenarios.Suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}
