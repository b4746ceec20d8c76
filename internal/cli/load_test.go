package cli

import (
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
	assert.Contains(t, r.errOut, "want text=PATH, json=PATH or html=PATH")
	r = execute(t, "load", "--help")
	assert.Contains(t, r.out, "text, json, html")
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
