package cli

import (
	"encoding/json"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A small load against the embedded server: every enrollment checked, the
// per-step table printed, the json result written; and two shards merged
// give the counts of one run.
func TestLoadAgainstTheEmbeddedServerAndMerge(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for _, s := range []string{"1/2", "2/2"} {
		path := filepath.Join(dir, "s"+strings.ReplaceAll(s, "/", "of")+".json")
		r := execute(t, "load", "--devices", "12", "--concurrency", "4", "--mix", "iphone@18.2:2,mac@15.2:1", "--shard", s, "--report", "json="+path)
		require.Equal(t, 0, r.code, r.out+r.errOut)
		assert.Contains(t, r.out, "web-login")
		assert.Contains(t, r.out, "enrolled 6, failed 0")
		shards = append(shards, path)
	}
	out := filepath.Join(dir, "all.json")
	r := execute(t, append(append([]string{"report", "merge"}, shards...), "--report", "json="+out)...)
	require.Equal(t, 0, r.code, r.errOut)
	assert.Contains(t, r.out, "12 enrollments")
	assert.Contains(t, r.out, "shards: 1/2, 2/2")
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	merged, err := load.ReadJSON(f)
	require.NoError(t, err)
	assert.Equal(t, 12, merged.Enrolled())
	assert.Equal(t, int64(12), merged.Total.Count())
}

func TestLoadFailuresAndUsage(t *testing.T) {
	r := execute(t, "load", "--devices", "4", "--mix", "iphone@18.1:1", "--fault", "wellknown-404")
	assert.Equal(t, 1, r.code, "enrollments that fail make the load fail")
	assert.Contains(t, r.out, "WK-001")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"load"}, "give a number of devices"},
		{[]string{"load", "--devices", "1", "--mix", "toaster@1:1"}, "--mix"},
		{[]string{"load", "--devices", "1", "--until", "forever"}, "--until"},
		{[]string{"load", "--devices", "1", "--report", "pdf=x"}, "--report"},
		{[]string{"load", "--devices", "1", "--shard", "3/2"}, "--shard"},
		{[]string{"load", "--devices", "1", "--connect-to", "a:443:127.0.0.1:1"}, "master-secret"},
		{[]string{"load", "--devices", "1", "--master-secret-env", "NOPE", "--connect-to", "a:443:127.0.0.1:1"}, "NOPE is not set"},
		{[]string{"load", "--rate", "5"}, "needs a duration"},
		{[]string{"load", "--devices", "1", "--metrics-addr", "9090"}, "want HOST:PORT or :PORT"},
		{[]string{"report", "merge", "/nonexistent.json"}, "no such file"},
		{[]string{"load", "--devices", "1", "--stay", "30s"}, "add --until commands"},
		{[]string{"load", "--devices", "1", "--until", "commands", "--poll", "10ms"}, "--poll"},
		{[]string{"load", "--devices", "1", "--until", "commands", "--poll", "0", "--stay", "5s"}, "needs polling"},
		{[]string{"load", "--devices", "1", "--command-delay", "1s", "--connect-to", "a:443:127.0.0.1:1"}, "for the embedded server"},
	} {
		r := execute(t, tt.args...)
		assert.Equal(t, 2, r.code, "%v: %s", tt.args, r.errOut)
		assert.Contains(t, r.errOut, tt.want, tt.args)
	}
}

func TestLoadServesMetricsAndNamesATakenPort(t *testing.T) {
	r := execute(t, "load", "--devices", "3", "--concurrency", "3", "--metrics-addr", "127.0.0.1:0")
	require.Equal(t, 0, r.code, r.errOut)
	assert.Regexp(t, `load: metrics at http://127\.0\.0\.1:\d+/metrics`, r.errOut)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	r = execute(t, "load", "--devices", "3", "--metrics-addr", ln.Addr().String())
	assert.Equal(t, 3, r.code, "the load could not start")
	assert.Contains(t, r.errOut, ln.Addr().String())
	assert.Contains(t, r.errOut, "--metrics-addr")
}

// The terminal line keeps the three slowest steps by p95, so it stays one
// line; the CI line names every step, in flow order.
func TestProgressLineNamesStepLatencies(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	s := load.Snapshot{Elapsed: 3 * time.Second, Done: 90, Enrolled: 89, Failed: 1, InFlight: 10, Rate: 30, P50: ms(120), P95: ms(300),
		Steps: []load.StepLatency{
			{Step: event.StepDiscovery, P50: ms(20), P95: ms(40)},
			{Step: event.StepChallenge, P50: ms(5), P95: ms(8.25)},
			{Step: event.StepWebLogin, P50: ms(60), P95: ms(150)},
			{Step: event.StepEnroll, P50: ms(30), P95: ms(90)},
			{Step: event.StepProfile, P50: ms(0.2), P95: ms(0.5)},
		}}
	for _, tt := range []struct {
		short      bool
		want, lack []string
	}{
		{true, []string{"done 90 (enrolled 89, failed 1)", "p50 120ms p95 300ms", "p50/p95 web-login 60ms/150ms, enroll 30ms/90ms, discovery 20ms/40ms"},
			[]string{"profile", "enroll-challenge"}},
		{false, []string{"discovery 20ms/40ms, enroll-challenge 5.0ms/8.2ms, web-login 60ms/150ms, enroll 30ms/90ms, profile 0.2ms/0.5ms"}, nil},
	} {
		line := progressLine(s, tt.short)
		for _, w := range tt.want {
			assert.Contains(t, line, w, "short=%v", tt.short)
		}
		for _, l := range tt.lack {
			assert.NotContains(t, line, l, "short=%v", tt.short)
		}
	}
}

// --report html=PATH writes the load's HTML report with its three charts,
// for a load and for merged shards; a format it does not know is a usage
// error that names the ones it does.
func TestLoadHTMLReport(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "load.html")
	shard := filepath.Join(dir, "s.json")
	r := execute(t, "load", "--devices", "6", "--concurrency", "3", "--mix", "iphone@18.2:1", "--report", "html="+page, "--report", "json="+shard)
	require.Equal(t, 0, r.code, r.out+r.errOut)
	raw, err := os.ReadFile(page)
	require.NoError(t, err)
	out := string(raw)
	assert.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
	assert.Contains(t, out, "Load: 6 enrollments")
	assert.Equal(t, 3, strings.Count(out, "<svg "), "three charts")
	assert.Contains(t, out, "<td>web-login</td>")

	merged := filepath.Join(dir, "merged.html")
	r = execute(t, "report", "merge", shard, "--report", "html="+merged)
	require.Equal(t, 0, r.code, r.errOut)
	raw, err = os.ReadFile(merged)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "Load: 6 enrollments")

	r = execute(t, "load", "--devices", "1", "--report", "pdf=x")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "want text=PATH, json=PATH, html=PATH or junit=PATH")
	r = execute(t, "load", "--help")
	assert.Contains(t, r.out, "text, json, html, junit")
}

// No secret of a load reaches its outputs: not the master secret, nor the
// derived passwords and TOTP seeds, nor a token in a URL of the failure
// samples' exchange lines (the fault makes every case fail after its
// sign-in, so every output has samples with the whole flow's requests).
func TestLoadOutputsHoldNoSecret(t *testing.T) {
	dir := t.TempDir()
	const master = "load-master-secret-never-printed"
	masterFile := filepath.Join(dir, "master")
	require.NoError(t, os.WriteFile(masterFile, []byte(master+"\n"), 0o600))
	paths := map[string]string{}
	args := []string{"load", "--devices", "4", "--concurrency", "2", "--mix", "iphone@18.2:1", "--master-secret-file", masterFile,
		"--fault", "callback-double-encoded"}
	for _, f := range []string{"text", "json", "html"} {
		paths[f] = filepath.Join(dir, "load."+f)
		args = append(args, "--report", f+"="+paths[f])
	}
	r := execute(t, args...)
	require.Equal(t, 1, r.code, "the fault fails the enrollments: %s", r.errOut)
	outputs := map[string]string{"stdout": r.out, "stderr": r.errOut}
	for f, p := range paths {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		outputs[f] = string(raw)
	}
	assert.Contains(t, outputs["html"], "8 exchanges", "the samples hold the flow's requests, where a leak would show")
	assert.Contains(t, outputs["text"], "web-login POST https://mdm.acme.test/auth/otp")
	secrets := []string{master}
	for n := 1; n <= 4; n++ {
		pw, seed := load.Derive(master, load.Name(load.DefaultPattern, n))
		secrets = append(secrets, pw, seed)
	}
	for name, out := range outputs {
		for _, s := range secrets {
			assert.NotContains(t, out, s, "%s holds a secret", name)
		}
		for _, m := range regexp.MustCompile(`access-token=([^&"'\s<]+)`).FindAllStringSubmatch(out, -1) {
			assert.Contains(t, m[1], "REDACTED", "%s: a token in %q", name, m[0])
		}
	}
}

// A load to the commands step against an embedded server whose worker
// queues and pushes after TokenUpdate: every device is woken by a push,
// and the report has one push-to-connect latency per device next to the
// steps. With --no-push the devices poll and there is none.
func TestLoadPushToConnectLatency(t *testing.T) {
	for _, push := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "load.json")
		args := []string{"load", "--devices", "3", "--concurrency", "3", "--mix", "iphone@26.1:1", "--until", "commands",
			"--command-delay", "200ms", "--report", "json=" + path}
		if !push {
			args = append(args, "--no-push", "--poll", "100ms")
		}
		r := execute(t, args...)
		require.Equal(t, 0, r.code, r.out+r.errOut)
		f, err := os.Open(path)
		require.NoError(t, err)
		res, err := load.ReadJSON(f)
		f.Close()
		require.NoError(t, err)
		assert.Equal(t, 3, res.Enrolled())
		if push {
			require.NotNil(t, res.Steps[load.StepPushToConnect], "push-to-connect latencies")
			assert.Equal(t, int64(3), res.Steps[load.StepPushToConnect].Count())
			assert.Contains(t, r.out, "push-to-connect")
		} else {
			assert.Nil(t, res.Steps[load.StepPushToConnect], "polling is no push")
		}
	}
}

// --until ddm turns the embedded server's declarative management on, and
// every device syncs: the ddm step has a latency per device.
func TestLoadUntilDDM(t *testing.T) {
	path := filepath.Join(t.TempDir(), "load.json")
	r := execute(t, "load", "--devices", "3", "--concurrency", "3", "--mix", "iphone@26.1:1,mac@26.1:1", "--until", "ddm", "--report", "json="+path)
	require.Equal(t, 0, r.code, r.out+r.errOut)
	f, err := os.Open(path)
	require.NoError(t, err)
	res, err := load.ReadJSON(f)
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, 3, res.Enrolled())
	require.NotNil(t, res.Steps[event.StepDDM], "ddm latencies: %v", res.Steps)
	assert.Equal(t, int64(3), res.Steps[event.StepDDM].Count())
	assert.Contains(t, r.out, "ddm")
}

// loadJUnit is what a CI reader takes from a load's junit report: the
// verdict of each testcase by classname/name.
func loadJUnit(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal(raw, &doc), string(raw))
	require.Len(t, doc.Suites, 1)
	out := map[string]string{}
	for _, c := range doc.Suites[0].Cases {
		v := "pass"
		switch {
		case c.Failure != nil:
			v = "failure: " + c.Failure.Message
		case c.Error != nil:
			v = "error: " + c.Error.Message
		}
		out[c.Classname+"/"+c.Name] = v
	}
	return out
}

// --threshold gates a load as k6's do: one that holds leaves the exit code
// 0, one that is crossed makes it 1, and the text, json and junit reports
// say which. No latency is under a microsecond, nor 4 enrollments a
// million a second, so the crossed ones are crossed on any machine.
func TestLoadThresholdsGateTheExitCode(t *testing.T) {
	dir := t.TempDir()
	base := []string{"load", "--devices", "4", "--concurrency", "2", "--mix", "iphone@18.2:1"}
	held := []string{"--threshold", "case:p95<10m", "--threshold", "web-login:max<=10m", "--threshold", "fail-rate<0.1%", "--threshold", "rate>0/s"}
	r := execute(t, append(append(base, held...), "--report", "junit="+filepath.Join(dir, "ok.xml"))...)
	require.Equal(t, 0, r.code, r.out+r.errOut)
	assert.Regexp(t, `\n  case:p95<10m +\d+\.\dms +ok\n`, r.out)
	assert.Regexp(t, `\n  fail-rate<0\.1% +0% \(0 of 4\) +ok\n`, r.out)
	assert.True(t, strings.HasSuffix(r.out, "\ngate: passed\n"), r.out)
	assert.Equal(t, map[string]string{"load/enrollments": "pass", "load-thresholds/case:p95<10m": "pass", "load-thresholds/web-login:max<=10m": "pass",
		"load-thresholds/fail-rate<0.1%": "pass", "load-thresholds/rate>0/s": "pass"}, loadJUnit(t, filepath.Join(dir, "ok.xml")))

	jsonPath, junitPath := filepath.Join(dir, "bad.json"), filepath.Join(dir, "bad.xml")
	r = execute(t, append(append(base, held...), "--threshold", "enroll:p50<1us", "--threshold", "rate>1000000/s",
		"--report", "json="+jsonPath, "--report", "junit="+junitPath)...)
	require.Equal(t, 1, r.code, "crossed thresholds fail the load: %s", r.out+r.errOut)
	assert.Regexp(t, `\n  enroll:p50<1us +\d+\.\dms +CROSSED\n`, r.out)
	assert.Contains(t, r.out, "\ngate: FAILED: threshold enroll:p50<1us crossed (observed ")
	assert.Contains(t, r.out, "; threshold rate>1000000/s crossed (observed ")
	f, err := os.Open(jsonPath)
	require.NoError(t, err)
	res, err := load.ReadJSON(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, res.Thresholds, 6)
	assert.Equal(t, "enroll:p50<1us", res.Thresholds[4].Threshold)
	assert.True(t, res.Thresholds[4].Crossed)
	assert.False(t, res.Thresholds[0].Crossed)
	junit := loadJUnit(t, junitPath)
	assert.Regexp(t, `^failure: crossed: observed \d+\.\dms$`, junit["load-thresholds/enroll:p50<1us"])
	assert.Equal(t, "pass", junit["load-thresholds/case:p95<10m"])
}

// A fail-rate threshold says how many enrollments may fail, in place of
// "every enrollment must end enrolled": every case fails against the 404
// fault (an iPhone on 18.1 has no fallback to try), which fail-rate<=100% lets through and fail-rate<50% does not.
func TestLoadFailRateThresholdJudgesTheEnrollments(t *testing.T) {
	args := []string{"load", "--devices", "3", "--concurrency", "3", "--mix", "iphone@18.1:1", "--fault", "wellknown-404"}
	r := execute(t, append(args, "--threshold", "fail-rate<=100%")...)
	assert.Equal(t, 0, r.code, r.out+r.errOut)
	assert.Regexp(t, `\n  fail-rate<=100% +100% \(3 of 3\) +ok\n`, r.out)
	r = execute(t, append(args, "--threshold", "fail-rate<50%")...)
	assert.Equal(t, 1, r.code, r.out+r.errOut)
	assert.Contains(t, r.out, "gate: FAILED: threshold fail-rate<50% crossed (observed 100% (3 of 3))")
}

// --strict counts failed checks: the server that serves its well-known
// document as text/plain fails WK-002 in every case, yet every device
// enrolls. Without --strict the load passes and says so; with it, it
// fails, and the junit report has WK-002 as a failure.
func TestLoadStrictCountsFailedChecks(t *testing.T) {
	dir := t.TempDir()
	args := []string{"load", "--devices", "3", "--concurrency", "3", "--mix", "iphone@18.2:1", "--fault", "wellknown-content-type"}
	r := execute(t, append(args, "--report", "junit="+filepath.Join(dir, "lax.xml"))...)
	require.Equal(t, 0, r.code, "failed checks do not fail the load without --strict: %s", r.out+r.errOut)
	assert.Contains(t, r.out, "enrolled 3, failed 0")
	assert.Contains(t, r.out, "\n  checks failed: WK-002 3 times (they fail the load with --strict)\n", "shown near the top")
	assert.Equal(t, "pass", loadJUnit(t, filepath.Join(dir, "lax.xml"))["load-checks/WK-002"])

	r = execute(t, append(args, "--strict", "--report", "junit="+filepath.Join(dir, "strict.xml"))...)
	require.Equal(t, 1, r.code, r.out+r.errOut)
	assert.Contains(t, r.out, "checks failed: WK-002 3 times (--strict: they fail the load)")
	assert.Contains(t, r.out, "gate: FAILED: WK-002 failed 3 times (--strict)")
	junit := loadJUnit(t, filepath.Join(dir, "strict.xml"))
	assert.Equal(t, "failure: failed 3 times over 3 enrollments (warn 0, error 0)", junit["load-checks/WK-002"])
	assert.Equal(t, "pass", junit["load/enrollments"])
}

// A bad --threshold is a usage error that names the bad part, before any
// load runs, and writes no report.
func TestLoadThresholdUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ threshold, want string }{
		{"web-logn:p95<500ms", `--threshold "web-logn:p95<500ms": step "web-logn": unknown; did you mean "web-login"? (steps: sign-in, `},
		{"web-login:p95<500", `limit "500": want a duration with its unit, such as 500ms`},
		{"web-login:p42x<1s", `stat "p42x": unknown`},
		{"fail-rate<lots", `fail-rate limit "lots"`},
		{"web-login:p95=1s", "no operator"},
		{"identity:p95<1s", "a load --until profile does not play identity: add a later --until"},
		{"push-to-connect:p95<1s", "push-to-connect is measured in the commands step: add --until commands"},
	} {
		out := filepath.Join(dir, "r.xml")
		r := execute(t, "load", "--devices", "1", "--threshold", tt.threshold, "--report", "junit="+out)
		assert.Equal(t, 2, r.code, tt.threshold)
		assert.Contains(t, r.errOut, tt.want, tt.threshold)
		assert.NoFileExists(t, out)
	}
	r := execute(t, "report", "merge", "x.json", "--threshold", "case:p95")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, `--threshold "case:p95": no operator`)
}

// report merge refuses a shard given twice (the same file, or two files
// of the same shard) and a missing one, naming which; it gates the merged
// result as load does.
func TestReportMergeRefusesDuplicateAndMissingShards(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for _, s := range []string{"1/2", "2/2"} {
		path := filepath.Join(dir, "s"+s[:1]+".json")
		r := execute(t, "load", "--devices", "4", "--concurrency", "2", "--mix", "iphone@18.2:1", "--shard", s, "--report", "json="+path)
		require.Equal(t, 0, r.code, r.out+r.errOut)
		shards = append(shards, path)
	}
	s1, s2 := shards[0], shards[1]
	raw, err := os.ReadFile(s1)
	require.NoError(t, err)
	copyOfS1 := filepath.Join(dir, "copy.json")
	require.NoError(t, os.WriteFile(copyOfS1, raw, 0o644))
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	delete(doc["config"].(map[string]any), "shards")
	noShard := filepath.Join(dir, "old.json")
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(noShard, b, 0o644))

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{s1, s2, s1}, s1 + " is given twice: give each shard once"},
		{[]string{s1, s2, copyOfS1}, "shard 1/2 is given twice: in " + s1 + " and in " + copyOfS1},
		{[]string{s1}, "shard 2/2 missing: give every shard of the load (given: 1/2)"},
		{[]string{noShard, s2}, noShard + " records no shard"},
	} {
		out := filepath.Join(dir, "merged.json")
		r := execute(t, append(append([]string{"report", "merge"}, tt.args...), "--report", "json="+out)...)
		assert.Equal(t, 2, r.code, "%v: %s", tt.args, r.out)
		assert.Contains(t, r.errOut, tt.want, tt.args)
		assert.Empty(t, r.out, "nothing merged")
		assert.NoFileExists(t, out)
	}

	junitPath := filepath.Join(dir, "merged.xml")
	r := execute(t, "report", "merge", s1, s2, "--threshold", "case:p99<10m", "--threshold", "case:p50<1us", "--report", "junit="+junitPath)
	assert.Equal(t, 1, r.code, "the merged result crosses a threshold: %s", r.out+r.errOut)
	assert.Contains(t, r.out, "4 enrollments")
	assert.Contains(t, r.out, "gate: FAILED: threshold case:p50<1us crossed")
	junit := loadJUnit(t, junitPath)
	assert.Equal(t, "pass", junit["load-thresholds/case:p99<10m"])
	assert.Contains(t, junit["load-thresholds/case:p50<1us"], "failure: crossed")
	r = execute(t, "report", "merge", s2, s1, "--threshold", "case:p99<10m", "--strict")
	assert.Equal(t, 0, r.code, r.out+r.errOut)
}
