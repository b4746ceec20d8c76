package load

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The html report is one self-contained file: inline CSS and inline SVG
// charts whose geometry is computed here, no scripts, no fetches.
// html/template escapes everything that comes from the run (failure
// messages and exchanges are the server's words).

//go:embed load.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("load").Funcs(template.FuncMap{"n": svgNum}).Parse(htmlSource))

// WriteHTML writes the result as one HTML page with charts.
func WriteHTML(w io.Writer, r *Result) error {
	return htmlTemplate.Execute(w, newHTMLView(r))
}

type htmlView struct {
	Title                      string
	Cases, Enrolled, Failed    int
	Dropped                    int
	Requests                   int64
	Model, Mix, Until, Target  string
	Load                       string // devices and concurrency, or rate and duration
	Started, Elapsed, Rate     string
	Shards                     string
	Probes, Interrupted        bool
	Steps                      []htmlStepRow
	Latency                    latencyChart
	Throughput                 throughputChart
	Distribution               distChart
	Outcomes, Causes           []htmlCount
	Checks                     []htmlCheck
	Failures                   []FailureSample
	FailedClass, DroppedClass  string
	EnrolledShare, FailedShare string
	// The gate: why the load fails it (none: it passes), the thresholds
	// and the checks that failed.
	GateProblems []string
	GatePassed   string
	Thresholds   []ThresholdResult
	ChecksFailed string
	Strict       bool
}

type htmlStepRow struct {
	Name                     string
	Count                    int64
	P50, P90, P99, P999, Max string
	Whole                    bool
}

type htmlCount struct {
	Name  string
	N     int
	Share string
}

type htmlCheck struct {
	ID                string
	Fail, Warn, Error int
}

func newHTMLView(r *Result) htmlView {
	el := r.Elapsed()
	rate := 0.0
	if el > 0 {
		rate = float64(r.Cases) / el.Seconds()
	}
	v := htmlView{
		Title:    fmt.Sprintf("Load: %d enrollments", r.Cases),
		Cases:    r.Cases,
		Enrolled: r.Enrolled(),
		Failed:   r.Failed(),
		Dropped:  r.Dropped,
		Requests: r.Requests,
		Model:    r.Config.Model,
		Mix:      r.Config.Mix,
		Until:    r.Config.Until,
		Target:   r.Config.Target,
		Elapsed:  el.Round(time.Millisecond).String(),
		Rate:     fmt.Sprintf("%.1f/s", rate),
		Shards:   strings.Join(r.Config.Shards, ", "),
		Probes:   r.Config.Probes,

		Interrupted:   r.Interrupted,
		EnrolledShare: share(r.Enrolled(), r.Cases),
		FailedShare:   share(r.Failed(), r.Cases),
		Failures:      r.Failures,

		GateProblems: r.GateProblems(),
		Thresholds:   r.Thresholds,
		ChecksFailed: r.checksLine(),
		Strict:       r.Strict,
		GatePassed:   gatePassed(r),
	}
	if !r.Started.IsZero() {
		v.Started = r.Started.UTC().Format(time.RFC3339)
	}
	switch c := r.Config; {
	case c.Devices > 0:
		v.Load = fmt.Sprintf("%d devices, %d at once", c.Devices, c.Concurrency)
	case c.Rate > 0:
		v.Load = fmt.Sprintf("%g arrivals/s for %s", c.Rate, c.Duration)
	}
	if v.Failed > 0 {
		v.FailedClass = "bad"
	}
	if v.Dropped > 0 {
		v.DroppedClass = "bad"
	}
	row := func(name string, h *Histogram, whole bool) htmlStepRow {
		return htmlStepRow{Name: name, Count: h.Count(), P50: ms(h.Quantile(.5)), P90: ms(h.Quantile(.9)),
			P99: ms(h.Quantile(.99)), P999: ms(h.Quantile(.999)), Max: ms(h.Max()), Whole: whole}
	}
	total := r.Total
	if total == nil {
		total = newHistogram()
	}
	for _, s := range r.orderedSteps() {
		v.Steps = append(v.Steps, row(string(s), r.Steps[s], false))
	}
	v.Steps = append(v.Steps, row("whole case", total, true))
	for _, k := range slices.Sorted(maps.Keys(r.Outcomes)) {
		v.Outcomes = append(v.Outcomes, htmlCount{Name: k, N: r.Outcomes[k], Share: share(r.Outcomes[k], r.Cases)})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Checks)) {
		c := r.Checks[k]
		v.Checks = append(v.Checks, htmlCheck{ID: k, Fail: c.Fail, Warn: c.Warn, Error: c.Error})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Causes)) {
		v.Causes = append(v.Causes, htmlCount{Name: k, N: r.Causes[k], Share: share(r.Causes[k], r.Failed())})
	}
	v.Latency = newLatencyChart(r, total)
	v.Throughput = newThroughputChart(r.Throughput)
	v.Distribution = newDistChart(total)
	return v
}

// gatePassed says what a load that passes its gate met.
func gatePassed(r *Result) string {
	parts := []string{"every enrollment ended enrolled"}
	if r.FailRateGated() {
		parts[0] = "the enrollments that failed are within the fail-rate threshold"
	}
	if len(r.Thresholds) > 0 {
		parts = append(parts, "every threshold held")
	}
	if r.Strict {
		parts = append(parts, "no check failed (--strict)")
	}
	return strings.Join(parts, "; ")
}

func share(n, of int) string {
	if of <= 0 {
		return ""
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// svgNum writes a coordinate with one decimal; NaN and Inf, which no
// geometry here should produce, become 0 rather than break the SVG.
func svgNum(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "0"
	}
	s := strings.TrimSuffix(strconv.FormatFloat(x, 'f', 1, 64), ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// scale maps a domain [Lo, Hi] onto pixels [From, To] (To < From for a y
// axis), linearly or by log10. A log scale has Lo > 0.
type scale struct {
	Log      bool
	Lo, Hi   float64
	From, To float64
}

func (s scale) at(v float64) float64 {
	var t float64
	switch {
	case !(s.Hi > s.Lo):
		t = 0
	case s.Log:
		t = (math.Log10(max(v, s.Lo)) - math.Log10(s.Lo)) / (math.Log10(s.Hi) - math.Log10(s.Lo))
	default:
		t = (v - s.Lo) / (s.Hi - s.Lo)
	}
	if math.IsNaN(t) {
		t = 0
	}
	t = min(max(t, 0), 1)
	return s.From + t*(s.To-s.From)
}

// value is the inverse of at.
func (s scale) value(px float64) float64 {
	if s.To == s.From {
		return s.Lo
	}
	t := (px - s.From) / (s.To - s.From)
	if s.Log {
		return math.Pow(10, math.Log10(s.Lo)+t*(math.Log10(s.Hi)-math.Log10(s.Lo)))
	}
	return s.Lo + t*(s.Hi-s.Lo)
}

// tick is one labelled mark on an axis, at pixel Pos.
type tick struct {
	Pos   float64
	Label string
}

// logSpan is the ratio of the largest to the smallest value above which
// latency axes are drawn on a log scale.
const logSpan = 100

// msScale chooses the axis for latencies from lo (the smallest value
// above zero, or 0) to hi: log10 by decades when they span over logSpan×,
// else linear from 0 with round steps.
func msScale(lo, hi, from, to float64) (scale, []tick) {
	if lo > 0 && hi/lo > logSpan {
		s := scale{Log: true, Lo: math.Pow(10, math.Floor(math.Log10(lo))), Hi: math.Pow(10, math.Ceil(math.Log10(hi))), From: from, To: to}
		var ticks []tick
		decades := int(math.Round(math.Log10(s.Hi / s.Lo)))
		for k := 0; k <= decades; k++ {
			exp := math.Round(math.Log10(s.Lo)) + float64(k)
			for _, m := range []float64{1, 2, 5} {
				if (m != 1 && decades > 3) || (k == decades && m != 1) {
					continue
				}
				v := m * math.Pow(10, exp)
				ticks = append(ticks, tick{Pos: s.at(v), Label: strconv.FormatFloat(v, 'f', max(0, -int(exp)), 64)})
			}
		}
		return s, ticks
	}
	return linearScale(hi, 0, from, to)
}

// linearScale is [0, hi] rounded up to a step of 1, 2 or 5 × 10^k, with
// about five ticks, the step at least minStep (1 for counts and seconds);
// [0, 1] when there is nothing to show.
func linearScale(hi, minStep, from, to float64) (scale, []tick) {
	if !(hi > 0) || math.IsInf(hi, 0) {
		hi = 1
	}
	raw := hi / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	step = max(step, minStep)
	n := int(math.Ceil(hi/step - 1e-9))
	s := scale{Lo: 0, Hi: float64(n) * step, From: from, To: to}
	dec := max(0, -int(math.Floor(math.Log10(step))))
	ticks := make([]tick, 0, n+1)
	for i := 0; i <= n; i++ {
		v := float64(i) * step
		p := math.Pow(10, float64(dec))
		ticks = append(ticks, tick{Pos: s.at(v), Label: strconv.FormatFloat(math.Round(v*p)/p, 'f', -1, 64)})
	}
	return s, ticks
}

// frame is a chart's size and its plot area.
type frame struct {
	Width, Height            float64
	Left, Right, Top, Bottom float64
}

func (f frame) PlotWidth() float64  { return f.Right - f.Left }
func (f frame) PlotHeight() float64 { return f.Bottom - f.Top }
func (f frame) MidX() float64       { return (f.Left + f.Right) / 2 }
func (f frame) MidY() float64       { return (f.Top + f.Bottom) / 2 }
func (f frame) TickEnd() float64    { return f.Bottom + 5 }

// latencyChart is chart 1: one row per step, a box from p50 to p90, one
// from p90 to p99 and a whisker on to the max, on a shared ms axis.
type latencyChart struct {
	frame
	Label string
	Log   bool
	Ticks []tick
	Rows  []latencyRow
	Empty bool
}

type latencyRow struct {
	Name                 string
	Y, BarY, BarH, TextY float64
	MidY, BarBottom      float64
	P50, P90, P99, Max   float64 // x in pixels
	Box1W, Box2W         float64 // p50 to p90, p90 to p99
	Tip, MaxLabel        string
	Whole, None          bool
}

const (
	latencyRowH = 28
	chartWidth  = 960
)

func newLatencyChart(r *Result, total *Histogram) latencyChart {
	type named struct {
		name  string
		h     *Histogram
		whole bool
	}
	var hs []named
	for _, s := range r.orderedSteps() {
		hs = append(hs, named{string(s), r.Steps[s], false})
	}
	hs = append(hs, named{"whole case", total, true})
	lo, hi := 0.0, 0.0
	for _, n := range hs {
		if n.h.Count() == 0 {
			continue
		}
		if p := msOf(n.h.Quantile(.5)); p > 0 && (lo == 0 || p < lo) {
			lo = p
		}
		hi = max(hi, msOf(n.h.Max()))
	}
	c := latencyChart{frame: frame{Width: chartWidth, Left: 150, Right: chartWidth - 80, Top: 34}}
	c.Bottom = c.Top + float64(len(hs))*latencyRowH
	c.Height = c.Bottom + 42
	x, ticks := msScale(lo, hi, c.Left, c.Right)
	c.Log, c.Ticks, c.Empty = x.Log, ticks, hi == 0
	axis := "linear"
	if c.Log {
		axis = "log"
	}
	c.Label = fmt.Sprintf("Latency per step in milliseconds (%s scale): a box from p50 to p90, a lighter one from p90 to p99 and a line on to the max, for %d steps and the whole case", axis, len(hs)-1)
	for i, n := range hs {
		y := c.Top + float64(i)*latencyRowH
		row := latencyRow{Name: n.name, Y: y, BarY: y + 7, BarH: latencyRowH - 14, BarBottom: y + latencyRowH - 7,
			MidY: y + latencyRowH/2, TextY: y + latencyRowH/2 + 4, Whole: n.whole}
		if n.h.Count() == 0 {
			row.None = true
			row.Tip = n.name + ": no cases"
			c.Rows = append(c.Rows, row)
			continue
		}
		p50, p90, p99, mx := n.h.Quantile(.5), n.h.Quantile(.9), n.h.Quantile(.99), n.h.Max()
		row.P50, row.P90, row.P99, row.Max = x.at(msOf(p50)), x.at(msOf(p90)), x.at(msOf(p99)), x.at(msOf(mx))
		row.Box1W, row.Box2W = row.P90-row.P50, row.P99-row.P90
		row.Tip = fmt.Sprintf("%s: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms (%d)", n.name, ms(p50), ms(p90), ms(p99), ms(mx), n.h.Count())
		row.MaxLabel = ms(mx)
		c.Rows = append(c.Rows, row)
	}
	return c
}

// throughputChart is chart 2: cases that ended in each second (or bin of
// seconds on a long run), enrolled stacked under failed, with the cases
// started as a line.
type throughputChart struct {
	frame
	Label          string
	XTicks, YTicks []tick
	Bars           []throughputBar
	Started        string // polyline points, a step per bin
	Per            string // "per second", "per 5 s"
	Empty          bool
}

type throughputBar struct {
	X, W                 float64
	EnrolledY, EnrolledH float64
	FailedY, FailedH     float64
	Tip                  string
}

// maxBins bounds the bars of chart 2: longer runs add seconds up.
const maxBins = 240

func newThroughputChart(buckets []Bucket) throughputChart {
	c := throughputChart{frame: frame{Width: chartWidth, Height: 300, Left: 60, Right: chartWidth - 20, Top: 34, Bottom: 300 - 42}}
	seconds := 0
	for _, b := range buckets {
		seconds = max(seconds, b.Second+1)
	}
	bin := 1
	for _, s := range []int{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		bin = s
		if (seconds+s-1)/s <= maxBins {
			break
		}
	}
	if (seconds+bin-1)/bin > maxBins {
		bin = (seconds + maxBins - 1) / maxBins
	}
	c.Per = "per second"
	if bin > 1 {
		c.Per = fmt.Sprintf("per %d s", bin)
	}
	nbins := (seconds + bin - 1) / bin
	type sum struct{ started, enrolled, failed int }
	sums := make([]sum, nbins)
	for _, b := range buckets {
		if b.Second < 0 {
			continue
		}
		s := &sums[b.Second/bin]
		s.started += b.Started
		s.enrolled += b.Enrolled
		s.failed += b.Failed
	}
	top := 0
	for _, s := range sums {
		top = max(top, s.started, s.enrolled+s.failed)
	}
	c.Empty = nbins == 0
	span := float64(max(nbins*bin, 1))
	x := scale{Lo: 0, Hi: span, From: c.Left, To: c.Right}
	y, yt := linearScale(float64(top), 1, c.Bottom, c.Top)
	c.YTicks = yt
	// Ticks on round whole seconds, none past the run's end.
	xs, xt := linearScale(span, 1, c.Left, c.Right)
	for _, t := range xt {
		if v := xs.value(t.Pos); v <= span+1e-9 {
			c.XTicks = append(c.XTicks, tick{Pos: x.at(v), Label: t.Label})
		}
	}
	w := c.PlotWidth() / float64(max(nbins, 1))
	gap := 0.0
	if w >= 4 {
		gap = w * 0.15
	}
	var pts []string
	for i, s := range sums {
		bx := c.Left + float64(i)*w
		ey := y.at(float64(s.enrolled))
		fy := y.at(float64(s.enrolled + s.failed))
		c.Bars = append(c.Bars, throughputBar{X: bx + gap/2, W: max(w-gap, 0.5),
			EnrolledY: ey, EnrolledH: c.Bottom - ey, FailedY: fy, FailedH: ey - fy,
			Tip: fmt.Sprintf("%d–%d s: %d done (%d enrolled, %d failed), %d started", i*bin, (i+1)*bin, s.enrolled+s.failed, s.enrolled, s.failed, s.started)})
		// A step line: the count holds over its whole bin.
		sy := svgNum(y.at(float64(s.started)))
		pts = append(pts, svgNum(bx)+","+sy, svgNum(bx+w)+","+sy)
	}
	c.Started = strings.Join(pts, " ")
	c.Label = fmt.Sprintf("Throughput over %d s: enrollments done %s, enrolled and failed stacked, and cases started as a line", seconds, c.Per)
	return c
}

// distChart is chart 3: how many whole cases took how long, the HDR
// buckets added up into distBins bars, with p50 and p99 marked.
type distChart struct {
	frame
	Label          string
	Log            bool
	XTicks, YTicks []tick
	Bars           []distBar
	Marks          []distMark
	Empty          bool
}

type distBar struct {
	X, Y, W, H float64
	Tip        string
}

type distMark struct {
	X      float64
	Label  string
	Anchor string
}

const distBins = 60

func newDistChart(total *Histogram) distChart {
	c := distChart{frame: frame{Width: chartWidth, Height: 300, Left: 60, Right: chartWidth - 20, Top: 34, Bottom: 300 - 42}}
	bars := total.Buckets()
	lo, hi := 0.0, 0.0
	for i, b := range bars {
		from, to := float64(b.From)/1000, float64(b.To+1)/1000
		if i == 0 || from < lo {
			lo = from
		}
		hi = max(hi, to)
	}
	x, xt := msScale(lo, hi, c.Left, c.Right)
	c.Log, c.XTicks, c.Empty = x.Log, xt, len(bars) == 0
	counts := make([]int64, distBins)
	w := c.PlotWidth() / distBins
	for _, b := range bars {
		mid := (float64(b.From) + float64(b.To+1)) / 2 / 1000
		i := int((x.at(mid) - c.Left) / w)
		counts[min(max(i, 0), distBins-1)] += b.Count
	}
	top := int64(0)
	for _, n := range counts {
		top = max(top, n)
	}
	y, yt := linearScale(float64(top), 1, c.Bottom, c.Top)
	c.YTicks = yt
	for i, n := range counts {
		if n == 0 {
			continue
		}
		bx := c.Left + float64(i)*w
		by := y.at(float64(n))
		c.Bars = append(c.Bars, distBar{X: bx + 0.5, Y: by, W: max(w-1, 0.5), H: c.Bottom - by,
			Tip: fmt.Sprintf("%s–%s ms: %d cases", roughMS(x.value(bx)), roughMS(x.value(bx+w)), n)})
	}
	if !c.Empty {
		for _, q := range []struct {
			name   string
			q      float64
			anchor string
		}{{"p50", .5, "end"}, {"p99", .99, "start"}} {
			d := total.Quantile(q.q)
			c.Marks = append(c.Marks, distMark{X: x.at(msOf(d)), Label: q.name + " " + ms(d) + " ms", Anchor: q.anchor})
		}
	}
	axis := "linear"
	if c.Log {
		axis = "log"
	}
	c.Label = fmt.Sprintf("Distribution of the whole case's latency: %d cases in %d bars on a %s millisecond axis, p50 and p99 marked", total.Count(), len(c.Bars), axis)
	return c
}

// roughMS prints a bar boundary with three significant digits.
func roughMS(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}
