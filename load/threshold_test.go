package load_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim/event"
)

func TestParseThreshold(t *testing.T) {
	for _, tt := range []struct {
		in               string
		metric, stat, op string
		limit            float64
		text             string
		wantErr, wantToo string
	}{
		{in: "web-login:p95<500ms", metric: "web-login", stat: "p95", op: "<", limit: 500_000},
		{in: " case : p99.9 <= 2s ", metric: "case", stat: "p99.9", op: "<=", limit: 2_000_000, text: "case:p99.9<=2s"},
		{in: "push-to-connect:max<1.5s", metric: "push-to-connect", stat: "max", op: "<", limit: 1_500_000},
		{in: "enroll:avg>=1us", metric: "enroll", stat: "avg", op: ">=", limit: 1},
		{in: "discovery:min>0s", metric: "discovery", stat: "min", op: ">", limit: 0},
		{in: "profile:p100<1m", metric: "profile", stat: "p100", op: "<", limit: 60_000_000},
		{in: "fail-rate<0.1%", metric: "fail-rate", op: "<", limit: 0.001},
		{in: "fail-rate<=0.05", metric: "fail-rate", op: "<=", limit: 0.05},
		{in: "fail-rate<=0%", metric: "fail-rate", op: "<=", limit: 0},
		{in: "rate>100/s", metric: "rate", op: ">", limit: 100},
		{in: "rate>=12.5", metric: "rate", op: ">=", limit: 12.5},

		{in: "web-login:p95", wantErr: "no operator", wantToo: "<, <=, > or >="},
		{in: "web-login:p95==1s", wantErr: "no operator (== and != are not thresholds)"},
		{in: "web-login:p95!=1s", wantErr: "== and != are not thresholds"},
		{in: "<1s", wantErr: "nothing before the operator"},
		{in: "web-login:p95<", wantErr: `no limit after "<"`},
		{in: "web-login:p95<1s<2s", wantErr: `limit "1s<2s": one operator only`},
		{in: "web-logn:p95<1s", wantErr: `step "web-logn": unknown; did you mean "web-login"?`, wantToo: "push-to-connect, case)"},
		{in: "whole case:p95<1s", wantErr: `step "wholecase": unknown`, wantToo: "(steps: sign-in, "},
		{in: "web-login<1s", wantErr: `metric "web-login": want STEP:STAT`, wantToo: `did you mean "web-login"`},
		{in: "failrate<1%", wantErr: `metric "failrate"`, wantToo: `did you mean "fail-rate"?`},
		{in: "web-login:q95<1s", wantErr: `stat "q95": unknown; did you mean "p95"?`, wantToo: "avg, min, max, p50, p90, p95, p99, p99.9 or any pN"},
		{in: "web-login:median<1s", wantErr: `stat "median": unknown`},
		{in: "web-login:p0<1s", wantErr: `stat "p0": a percentile is over 0 and at most 100`},
		{in: "web-login:p101<1s", wantErr: "at most 100"},
		{in: "web-login:p95<500", wantErr: `limit "500": want a duration with its unit`},
		{in: "web-login:p95<-1s", wantErr: `limit "-1s"`},
		{in: "fail-rate<2", wantErr: `fail-rate limit "2": want a percentage`},
		{in: "fail-rate<101%", wantErr: "fail-rate limit"},
		{in: "fail-rate<x%", wantErr: "fail-rate limit"},
		{in: "rate>fast", wantErr: `rate limit "fast": want enrollments a second`},
		{in: "rate>100/m", wantErr: "rate limit"},
	} {
		got, err := load.ParseThreshold(tt.in)
		if tt.wantErr != "" {
			require.Error(t, err, tt.in)
			assert.Contains(t, err.Error(), tt.wantErr, tt.in)
			assert.Contains(t, err.Error(), tt.wantToo, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.metric, got.Metric, tt.in)
		assert.Equal(t, tt.stat, got.Stat, tt.in)
		assert.Equal(t, tt.op, got.Op, tt.in)
		assert.InDelta(t, tt.limit, got.Limit, 1e-9, tt.in)
		if tt.text == "" {
			tt.text = tt.in
		}
		assert.Equal(t, tt.text, got.Text)
	}
}

// A threshold on a step the load never plays could only be crossed for
// want of data: refused before the load starts.
func TestThresholdStepsThatALoadPlays(t *testing.T) {
	parse := func(s string) load.Threshold {
		th, err := load.ParseThreshold(s)
		require.NoError(t, err, s)
		return th
	}
	assert.NoError(t, parse("profile:p95<1s").CheckUntil(event.UntilProfile))
	assert.NoError(t, parse("case:p95<1s").CheckUntil(event.UntilProfile))
	assert.NoError(t, parse("fail-rate<1%").CheckUntil(event.UntilProfile))
	assert.ErrorContains(t, parse("identity:p95<1s").CheckUntil(event.UntilProfile), "does not play identity")
	assert.NoError(t, parse("identity:p95<1s").CheckUntil(event.UntilIdentity))
	assert.ErrorContains(t, parse("push-to-connect:p95<1s").CheckUntil(event.UntilCheckIn), "add --until commands")
	assert.NoError(t, parse("push-to-connect:p95<1s").CheckUntil(event.UntilCommands))
	assert.NoError(t, parse("ddm:p95<1s").CheckUntil(event.UntilDDM))
}

func evaluate(t *testing.T, r *load.Result, specs ...string) []load.ThresholdResult {
	t.Helper()
	var ts []load.Threshold
	for _, s := range specs {
		th, err := load.ParseThreshold(s)
		require.NoError(t, err, s)
		ts = append(ts, th)
	}
	load.EvaluateThresholds(r, ts)
	return r.Thresholds
}

// The sample's whole case runs from about 0.2 s to 1.3 s; 6 of its 200
// cases failed; it took 12.345 s.
func TestEvaluateThresholds(t *testing.T) {
	r := sampleResult()
	p95 := r.Total.Quantile(.95)
	got := evaluate(t, r,
		"case:p95<"+(p95+time.Millisecond).String(),
		"case:p95<"+(p95-time.Millisecond).String(),
		"case:max<=10s", "case:min>1s", "web-login:avg<1s",
		"fail-rate<5%", "fail-rate<3%", "fail-rate<=0.03",
		"rate>10/s", "rate>20/s",
		"oauth2:p95<1s")
	crossed := map[string]bool{}
	observed := map[string]string{}
	for _, g := range got {
		crossed[g.Threshold] = g.Crossed
		observed[g.Threshold] = g.Observed
	}
	assert.Equal(t, map[string]bool{
		"case:p95<" + (p95 + time.Millisecond).String(): false,
		"case:p95<" + (p95 - time.Millisecond).String(): true,
		"case:max<=10s": false, "case:min>1s": true, "web-login:avg<1s": false,
		"fail-rate<5%": false, "fail-rate<3%": true, "fail-rate<=0.03": false,
		"rate>10/s": false, "rate>20/s": true,
		"oauth2:p95<1s": true,
	}, crossed)
	assert.Equal(t, "3% (6 of 200)", observed["fail-rate<5%"])
	assert.Equal(t, "16.2/s", observed["rate>10/s"])
	assert.Regexp(t, `^\d+\.\dms$`, observed["case:max<=10s"])
	assert.Equal(t, "no data", observed["oauth2:p95<1s"])
	assert.Equal(t, "no case measured oauth2", got[len(got)-1].Note, "a gate that measured nothing does not pass")

	empty := load.NewResultForTest()
	for _, g := range evaluate(t, empty, "fail-rate<1%", "rate>1/s", "case:p95<1s") {
		assert.True(t, g.Crossed, "%s without data", g.Threshold)
		assert.Equal(t, "no data", g.Observed)
	}
}

// The gate: failed enrollments fail it unless a fail-rate threshold says
// how many may fail; a crossed threshold fails it; failed checks fail it
// with Strict only. Dropped arrivals count as failed enrollments.
func TestGateProblems(t *testing.T) {
	r := sampleResult()
	assert.Equal(t, []string{"6 of 200 enrollments did not end enrolled"}, r.GateProblems())
	assert.Equal(t, []string{"ENR-004", "WK-001"}, r.FailedChecks(), "PRF-010 could not be judged: not failed")

	evaluate(t, r, "fail-rate<5%")
	assert.Empty(t, r.GateProblems(), "the fail-rate threshold judges the enrollments")
	evaluate(t, r, "fail-rate<1%", "case:p50<1us")
	assert.Equal(t, []string{"threshold fail-rate<1% crossed (observed 3% (6 of 200))", "threshold case:p50<1us crossed (observed " + r.Thresholds[1].Observed + ")"}, r.GateProblems())

	r.Strict = true
	evaluate(t, r, "fail-rate<5%")
	assert.Equal(t, []string{"ENR-004 failed twice (--strict)", "WK-001 failed 4 times (--strict)"}, r.GateProblems())

	r.Strict, r.Dropped = false, 2
	evaluate(t, r)
	assert.Equal(t, []string{"8 of 202 enrollments did not end enrolled (6 failed, 2 dropped)"}, r.GateProblems())

	var text bytes.Buffer
	require.NoError(t, load.WriteText(&text, r))
	assert.Contains(t, text.String(), "checks failed: ENR-004 twice, WK-001 4 times (they fail the load with --strict)")
	assert.True(t, strings.HasSuffix(text.String(), "\ngate: FAILED: 8 of 202 enrollments did not end enrolled (6 failed, 2 dropped)\n"), text.String())
}

func TestTextShowsThresholds(t *testing.T) {
	r := sampleResult()
	evaluate(t, r, "web-login:p95<1m", "oauth2:p95<1s", "fail-rate<5%")
	var text bytes.Buffer
	require.NoError(t, load.WriteText(&text, r))
	out := text.String()
	assert.Regexp(t, `\n  threshold +observed +verdict\n`, out)
	assert.Regexp(t, `\n  web-login:p95<1m +\d+\.\dms +ok\n`, out)
	assert.Regexp(t, `\n  oauth2:p95<1s +no data +CROSSED: no case measured oauth2\n`, out)
	assert.Regexp(t, `\n  fail-rate<5% +3% \(6 of 200\) +ok\n`, out)
	assert.True(t, strings.HasSuffix(out, "\ngate: FAILED: threshold oauth2:p95<1s crossed (observed no data)\n"), out)

	evaluate(t, r, "fail-rate<5%")
	text.Reset()
	require.NoError(t, load.WriteText(&text, r))
	assert.True(t, strings.HasSuffix(text.String(), "\ngate: passed\n"))
}

// junitDoc is what a CI reader takes from the junit report.
type junitDoc struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
		SystemOut string `xml:"system-out"`
	} `xml:"testsuite"`
}

// verdicts maps classname/name to pass, failure or error.
func junitVerdicts(t *testing.T, raw []byte) (map[string]string, junitDoc) {
	t.Helper()
	var doc junitDoc
	require.NoError(t, xml.Unmarshal(raw, &doc), string(raw))
	require.Len(t, doc.Suites, 1)
	out := map[string]string{}
	for _, c := range doc.Suites[0].Cases {
		assert.NotContains(t, c.Classname, ".", "Jenkins splits a classname at its dots")
		v := "pass"
		switch {
		case c.Failure != nil:
			v = "failure: " + c.Failure.Message
		case c.Error != nil:
			v = "error: " + c.Error.Message
		}
		out[c.Classname+"/"+c.Name] = v
	}
	return out, doc
}

// The junit report agrees with the gate: a testcase for the enrollments,
// one per threshold, one per failed check (a failure with Strict only),
// and the tester's errors as <error>. It validates against the JUnit
// schema the run's report follows.
func TestJUnitAgreesWithTheGate(t *testing.T) {
	r := sampleResult()
	evaluate(t, r, "fail-rate<5%", "case:p50<1us")
	var b bytes.Buffer
	require.NoError(t, load.WriteJUnit(&b, r, "enrollsim test"))
	got, doc := junitVerdicts(t, b.Bytes())
	assert.Equal(t, map[string]string{
		"load/enrollments":             "pass",
		"load-thresholds/fail-rate<5%": "pass",
		"load-thresholds/case:p50<1us": "failure: crossed: observed " + r.Thresholds[1].Observed,
		"load-checks/ENR-004":          "pass",
		"load-checks/WK-001":           "pass",
	}, got)
	s := doc.Suites[0]
	assert.Equal(t, []int{5, 1, 0}, []int{s.Tests, s.Failures, s.Errors})
	assert.Contains(t, s.SystemOut, "WK-001: failed 4 times over 200 enrollments (warn 0, error 0); not gating: --strict")
	assert.Contains(t, s.SystemOut, "enrollments: 200 enrollments: 194 enrolled, 6 failed, 0 dropped (judged by the fail-rate threshold)\n")
	validateJUnit(t, b.Bytes())

	r.Strict, r.Interrupted = true, true
	r.Outcomes[event.OutcomeError] = 2
	r.Cases += 2
	evaluate(t, r)
	b.Reset()
	require.NoError(t, load.WriteJUnit(&b, r, "enrollsim test"))
	got, doc = junitVerdicts(t, b.Bytes())
	assert.Equal(t, map[string]string{
		"load/enrollments":    "failure: 8 of 202 enrollments did not end enrolled",
		"load-checks/ENR-004": "failure: failed twice over 202 enrollments (warn 1, error 0)",
		"load-checks/WK-001":  "failure: failed 4 times over 202 enrollments (warn 0, error 0)",
		"load/tester":         "error: 2 enrollments ended in error: the tester could not finish them; the load was interrupted: these are the results so far",
	}, got)
	assert.Equal(t, []int{4, 3, 1}, []int{doc.Suites[0].Tests, doc.Suites[0].Failures, doc.Suites[0].Errors})
	for _, c := range doc.Suites[0].Cases {
		if c.Name == "WK-001" {
			assert.Contains(t, c.Failure.Body, "WK-001 fail: /.well-known/com.apple.remotemanagement answered 404", "the sample's words")
		}
	}
	validateJUnit(t, b.Bytes())
}

// validateJUnit checks raw against the Windy Road schema with xmllint,
// when the machine has it.
func validateJUnit(t *testing.T, raw []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Log("no xmllint: the schema check is skipped")
		return
	}
	path := filepath.Join(t.TempDir(), "load.xml")
	require.NoError(t, os.WriteFile(path, raw, 0o644))
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("..", "report", "testdata", "junit.xsd"), path).CombinedOutput()
	assert.NoError(t, err, "%s\n%s", out, raw)
}

func shardResult(cfg load.ResultConfig, shards ...string) *load.Result {
	r := load.NewResultForTest()
	r.Config = cfg
	r.Config.Shards = shards
	return r
}

func TestCheckShards(t *testing.T) {
	cfg := load.ResultConfig{Model: "closed", Devices: 90, Concurrency: 5, Mix: "iphone@18.2:1", Until: "profile"}
	other := cfg
	other.Devices = 30
	for _, tt := range []struct {
		name    string
		results []*load.Result
		want    string
	}{
		{"one run", []*load.Result{shardResult(cfg, "1/1")}, ""},
		{"every shard", []*load.Result{shardResult(cfg, "2/3"), shardResult(cfg, "1/3"), shardResult(cfg, "3/3")}, ""},
		{"a merge and the rest", []*load.Result{shardResult(cfg, "1/3", "3/3"), shardResult(cfg, "2/3")}, ""},
		{"a shard twice", []*load.Result{shardResult(cfg, "1/2"), shardResult(cfg, "2/2"), shardResult(cfg, "1/2")},
			"shard 1/2 is given twice: in a.json and in c.json"},
		{"a shard in a merge and alone", []*load.Result{shardResult(cfg, "1/2", "2/2"), shardResult(cfg, "2/2")},
			"shard 2/2 is given twice: in a.json and in b.json"},
		{"one run twice", []*load.Result{shardResult(cfg, "1/1"), shardResult(cfg, "1/1")}, "shard 1/1 is given twice"},
		{"a shard missing", []*load.Result{shardResult(cfg, "1/3"), shardResult(cfg, "3/3")},
			"shard 2/3 missing: give every shard of the load (given: 1/3, 3/3)"},
		{"two missing", []*load.Result{shardResult(cfg, "2/4")}, "shard 1/4, 3/4, 4/4 missing"},
		{"other splits", []*load.Result{shardResult(cfg, "1/2"), shardResult(cfg, "2/3")},
			"b.json holds shard 2/3 but a.json holds shard 1/2: shards of different splits"},
		{"other loads", []*load.Result{shardResult(cfg, "1/2"), shardResult(other, "2/2")},
			"a.json and b.json are shards of different loads (closed model, 90 devices"},
		{"no shard", []*load.Result{shardResult(cfg)}, "a.json records no shard"},
		{"a bad shard", []*load.Result{shardResult(cfg, "2of3")}, `a.json: shard "2of3" is not I/N`},
	} {
		err := load.CheckShards([]string{"a.json", "b.json", "c.json"}, tt.results)
		if tt.want == "" {
			assert.NoError(t, err, tt.name)
			continue
		}
		assert.ErrorContains(t, err, tt.want, tt.name)
		_, err = load.Merge(tt.results...)
		assert.Error(t, err, "Merge refuses it too: %s", tt.name)
	}
	err := load.CheckShards(nil, []*load.Result{shardResult(cfg, "1/2"), shardResult(cfg, "1/2")})
	assert.ErrorContains(t, err, "in result 1 and in result 2")
}

// The html report leads with the gate's verdict and lists the thresholds
// after the step table (which stays the first table).
func TestHTMLShowsTheGate(t *testing.T) {
	r := sampleResult()
	p := parsePage(t, renderHTML(t, r))
	assert.Contains(t, p.text, "Gate failed")
	assert.Contains(t, p.text, "6 of 200 enrollments did not end enrolled")
	assert.Contains(t, p.text, "Checks failed: ENR-004 twice, WK-001 4 times (they fail the load with --strict).")

	evaluate(t, r, "fail-rate<5%", "oauth2:p95<1s")
	p = parsePage(t, renderHTML(t, r))
	assert.Equal(t, "step", p.tables[0][0][0])
	require.Len(t, p.tables, 6, "steps, thresholds, outcomes, checks, causes, samples")
	assert.Equal(t, [][]string{{"threshold", "observed", "verdict"}, {"fail-rate<5%", "3% (6 of 200)", "ok"},
		{"oauth2:p95<1s", "no data", "crossed: no case measured oauth2"}}, p.tables[1])
	assert.Contains(t, p.text, "threshold oauth2:p95<1s crossed (observed no data)")

	evaluate(t, r, "fail-rate<5%")
	p = parsePage(t, renderHTML(t, r))
	assert.Contains(t, p.text, "Gate passed")
	assert.Contains(t, p.text, "the enrollments that failed are within the fail-rate threshold; every threshold held.")
}
