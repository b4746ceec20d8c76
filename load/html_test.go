package load_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim/event"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const xss = "<script>alert(1)</script>"

var chartTitles = []string{"Latency per step", "Throughput over time", "Latency distribution of the whole case"}

// sampleResult is a load of 200 cases with fixed times and latencies: a
// fast discovery and a slow web login (log scale on the step chart), 12
// seconds of throughput with failures in some, and failures that carry
// markup and URLs from the server.
func sampleResult() *load.Result {
	r := load.NewResultForTest()
	r.Config = load.ResultConfig{Model: "closed", Devices: 200, Concurrency: 20, Mix: "iphone@18.2:2,mac@15.2:1",
		Accounts: 200, Until: "profile", Target: "embedded reference server"}
	r.Started = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	r.Ended = r.Started.Add(12*time.Second + 345*time.Millisecond)
	steps := []struct {
		step      event.Step
		base, per time.Duration
	}{
		{event.StepDiscovery, 800 * time.Microsecond, 7 * time.Microsecond},
		{event.StepSignIn, 12 * time.Millisecond, 90 * time.Microsecond},
		{event.StepWebLogin, 140 * time.Millisecond, 2 * time.Millisecond},
		{event.StepEnroll, 30 * time.Millisecond, 400 * time.Microsecond},
		{event.StepProfile, 9 * time.Millisecond, 60 * time.Microsecond},
	}
	for _, s := range steps {
		r.Steps[s.step] = load.NewHistogramForTest()
	}
	for i := range 200 {
		var total time.Duration
		for _, s := range steps {
			d := s.base + time.Duration((i*37)%100)*s.per
			if i%50 == 7 {
				d *= 6 // a slow tail
			}
			r.Steps[s.step].Record(d)
			total += d
		}
		r.Total.Record(total)
	}
	r.Cases = 200
	r.Outcomes[event.OutcomeEnrolled] = 194
	r.Outcomes[event.OutcomeDiscoveryFailed] = 4
	r.Outcomes[event.OutcomeEnrollFailed] = 2
	for s := range 12 {
		b := load.Bucket{Second: s, Started: 20, Done: 16 + s%3, Failed: 0}
		if s == 3 || s == 8 {
			b.Failed = 3
		}
		b.Enrolled = b.Done - b.Failed
		r.Throughput = append(r.Throughput, b)
	}
	r.Checks = map[string]load.CheckCount{"WK-001": {Fail: 4}, "ENR-004": {Fail: 2, Warn: 1}, "PRF-010": {Error: 1}}
	r.Causes = map[string]int{"discovery: WK-001 (discovery-failed)": 4, "enroll: ENR-004 (enrollment-failed)": 2}
	r.Failures = []load.FailureSample{
		{Case: "iphone@18.2 #17", Outcome: event.OutcomeDiscoveryFailed, Message: "the server said " + xss,
			Checks:    []string{"WK-001 fail: /.well-known/com.apple.remotemanagement answered 404"},
			Exchanges: []string{"GET https://acme.test/.well-known/com.apple.remotemanagement → 404", "<html><img src=\"http://evil.test/x.png\"></html>"}},
		{Case: "mac@15.2 #88", Outcome: event.OutcomeEnrollFailed, Message: "enrollment refused: 500", Checks: []string{"ENR-004 fail: 500"}},
	}
	r.Requests = 2600
	return r
}

func renderHTML(t *testing.T, r *load.Result) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, load.WriteHTML(&b, r))
	return b.Bytes()
}

func TestHTMLGolden(t *testing.T) {
	got := renderHTML(t, sampleResult())
	path := filepath.Join("testdata", "load-report.html")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; create it with: go test ./load/ -run HTMLGolden -update")
	if !bytes.Equal(want, got) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		for i := 0; i < max(len(wl), len(gl)); i++ {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from the output (rewrite with -update and review the diff) at line %d:\n  want: %q\n  got:  %q", path, i+1, w, g)
			}
		}
	}
}

// page is what the checks below read out of a parsed report.
type page struct {
	svgs     []*html.Node
	problems []string // anything that would fetch or run
	text     string
	tables   [][][]string // rows of cells, per table
}

var remote = regexp.MustCompile(`(?i)^\s*(https?:|//)`)

func parsePage(t *testing.T, out []byte) page {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(out))
	require.NoError(t, err)
	var p page
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data)
			text.WriteByte('\n')
		case html.ElementNode:
			switch n.Data {
			case "svg":
				p.svgs = append(p.svgs, n)
			case "script":
				p.problems = append(p.problems, "a <script> element")
			case "link", "iframe", "object", "embed", "img", "image", "use", "foreignObject":
				p.problems = append(p.problems, "a <"+n.Data+"> element")
			case "style":
				if n.FirstChild != nil && regexp.MustCompile(`@import|url\(`).MatchString(n.FirstChild.Data) {
					p.problems = append(p.problems, "a style that fetches")
				}
			case "table":
				p.tables = append(p.tables, tableCells(n))
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href" || a.Key == "xmlns") && remote.MatchString(a.Val) {
					p.problems = append(p.problems, fmt.Sprintf("<%s %s=%q>", n.Data, a.Key, a.Val))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	p.text = text.String()
	return p
}

func tableCells(tbl *html.Node) [][]string {
	var rows [][]string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" {
			var row []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
					row = append(row, strings.TrimSpace(textOf(c)))
				}
			}
			rows = append(rows, row)
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(tbl)
	return rows
}

func textOf(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(textOf(c))
	}
	return b.String()
}

// texts are the contents of the <text> elements under n.
func texts(n *html.Node) []string {
	var out []string
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == "text" {
			out = append(out, strings.TrimSpace(textOf(c)))
			continue
		}
		out = append(out, texts(c)...)
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// firstTitle is the text of an svg's first child element when it is a <title>.
func firstTitle(n *html.Node) string {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			if c.Data == "title" {
				return textOf(c)
			}
			return ""
		}
	}
	return ""
}

// nonFinite finds NaN and Inf as a number would print them, inside or
// outside attributes.
var nonFinite = regexp.MustCompile(`NaN|[+-]?Inf\b`)

func TestHTMLIsSelfContainedWithThreeCharts(t *testing.T) {
	interrupted := sampleResult()
	interrupted.Interrupted = true
	interrupted.Dropped = 5
	interrupted.Config.Shards = []string{"1/2", "2/2"}
	empty := load.NewResultForTest()
	empty.Config = load.ResultConfig{Model: "open", Rate: 10, Duration: time.Second, Mix: "iphone@18.2:1"}
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	empty.Started, empty.Ended = t0, t0
	zero := &load.Result{Total: load.NewHistogramForTest()} // nothing but a histogram, as a decoder might leave it
	oneCase := load.NewResultForTest()
	oneCase.Cases, oneCase.Outcomes[event.OutcomeEnrolled] = 1, 1
	oneCase.Started, oneCase.Ended = t0, t0.Add(300*time.Millisecond)
	oneCase.Steps[event.StepProfile] = load.NewHistogramForTest()
	oneCase.Steps[event.StepProfile].Record(40 * time.Millisecond)
	oneCase.Total.Record(300 * time.Millisecond)
	oneCase.Throughput = []load.Bucket{{Second: 0, Started: 1, Done: 1, Enrolled: 1}}
	long := sampleResult()
	long.Throughput = nil
	for s := range 3000 { // 50 minutes: bars add seconds up
		long.Throughput = append(long.Throughput, load.Bucket{Second: s, Started: 2, Done: 2, Enrolled: 2})
	}

	for _, tc := range []struct {
		name  string
		r     *load.Result
		wants []string
		nots  []string
	}{
		{"sample", sampleResult(), []string{"Load: 200 enrollments", "iphone@18.2:2,mac@15.2:1", "12.345s", "16.2/s",
			"WK-001", "ENR-004", "PRF-010", "discovery: WK-001 (discovery-failed)", "iphone@18.2 #17", "2 exchanges", "log scale"},
			[]string{"Interrupted", "dropped arrivals"}},
		{"interrupted", interrupted, []string{"Interrupted:", "the results so far", "1/2, 2/2", "5 arrivals over --max-in-flight"}, nil},
		{"empty", empty, []string{"Load: 0 enrollments", "no enrollments ended", "no cases", "No case ended.", "whole case", "0.0/s"}, nil},
		{"zero value", zero, []string{"Load: 0 enrollments", "no cases"}, nil},
		{"one case", oneCase, []string{"Load: 1 enrollments", "linear scale", "profile"}, []string{"log scale"}},
		{"long run", long, []string{"per 15 s"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := renderHTML(t, tc.r)
			p := parsePage(t, out)
			assert.Empty(t, p.problems, "the html must be self-contained")
			assert.NotContains(t, string(out), "<script", "no script, even escaped text is written as &lt;script")
			assert.Empty(t, nonFinite.FindAllString(string(out), -1), "no NaN or Inf in the page")
			require.Len(t, p.svgs, 3)
			for i, svg := range p.svgs {
				assert.Equal(t, chartTitles[i], firstTitle(svg), "svg %d opens with its <title>", i)
				assert.Equal(t, "img", attr(svg, "role"))
				assert.NotEmpty(t, attr(svg, "aria-label"))
				assert.Regexp(t, `^0 0 \d+(\.\d)? \d+(\.\d)?$`, attr(svg, "viewBox"))
				assert.Regexp(t, `^\d+(\.\d)?$`, attr(svg, "width"))
				assert.Regexp(t, `^\d+(\.\d)?$`, attr(svg, "height"))
				assert.Contains(t, attr(svg, "viewBox"), attr(svg, "width")+" "+attr(svg, "height"))
			}
			for _, l := range texts(p.svgs[1]) {
				if regexp.MustCompile(`^[\d.]+$`).MatchString(l) {
					assert.Regexp(t, `^\d+$`, l, "the throughput axes count whole seconds and cases")
				}
			}
			for _, w := range tc.wants {
				assert.Contains(t, p.text, w)
			}
			for _, w := range tc.nots {
				assert.NotContains(t, p.text, w)
			}
		})
	}
}

// The step table has the numbers the text report prints, row for row.
func TestHTMLStepTableMatchesText(t *testing.T) {
	r := sampleResult()
	p := parsePage(t, renderHTML(t, r))
	require.NotEmpty(t, p.tables)
	steps := p.tables[0]
	require.Equal(t, []string{"step", "count", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"}, steps[0])
	var text bytes.Buffer
	require.NoError(t, load.WriteText(&text, r))
	var want [][]string
	for _, line := range strings.Split(text.String(), "\n") {
		f := strings.Fields(line)
		if len(f) >= 7 && (f[0] != "step") && regexp.MustCompile(`^\d+( [\d.]+){5}$`).MatchString(strings.Join(f[len(f)-6:], " ")) {
			name := strings.Join(f[:len(f)-6], " ")
			want = append(want, append([]string{name}, f[len(f)-6:]...))
		}
	}
	require.Len(t, want, 6, "five steps and the whole case in the text report:\n%s", text.String())
	assert.Equal(t, want, steps[1:])
	assert.Equal(t, []string{"sign-in", "discovery", "web-login", "enroll", "profile", "whole case"},
		[]string{steps[1][0], steps[2][0], steps[3][0], steps[4][0], steps[5][0], steps[6][0]}, "flow order")
}

// What the server said is text: markup in a failure is escaped, URLs in it
// are not links.
func TestHTMLEscapesFailures(t *testing.T) {
	out := string(renderHTML(t, sampleResult()))
	assert.NotContains(t, out, xss)
	assert.Contains(t, out, "the server said &lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, out, "&lt;html&gt;&lt;img src=&#34;http://evil.test/x.png&#34;&gt;&lt;/html&gt;")
	p := parsePage(t, []byte(out))
	assert.Contains(t, p.text, "the server said "+xss, "shown as the text it was")
	assert.Empty(t, p.problems)
}

// Headless Chromium lays the page out: the three charts survive in the DOM
// it dumps, and a screenshot comes out. Chromium is a test dependency that
// 'make deps' installs.
func TestHTMLRendersInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH, so the load report cannot be rendered: run `make deps` (or apt-get install chromium)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "load-report.html")
	require.NoError(t, os.WriteFile(page, renderHTML(t, sampleResult()), 0o644))
	run := func(extra ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang's bound
		defer cancel()
		profile, err := os.MkdirTemp(dir, "profile-")
		require.NoError(t, err)
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + profile}, extra...)
		cmd := exec.CommandContext(ctx, bin, append(args, "file://"+page)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "chromium %v: %s", extra, stderr.String())
		return out
	}
	dom := run("--dump-dom")
	p := parsePage(t, dom)
	require.Len(t, p.svgs, 3, "the dumped DOM has the three charts")
	for i, svg := range p.svgs {
		assert.Equal(t, chartTitles[i], firstTitle(svg))
	}
	assert.Greater(t, strings.Count(string(dom), "<rect"), 20, "the bars are in the DOM")

	shot := filepath.Join(dir, "load-report.png")
	run("--window-size=1280,2400", "--hide-scrollbars", "--screenshot="+shot)
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	require.Greater(t, len(png), 1000)
	assert.Equal(t, []byte("\x89PNG\r\n\x1a\n"), png[:8])
}
