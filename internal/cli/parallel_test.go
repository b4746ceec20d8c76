package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// savedRun reads a jsonl report back as its events.
func savedRun(t *testing.T, path string) []event.Event {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var evs []event.Event
	require.NoError(t, report.ReadJSONL(f, func(ev event.Event) { evs = append(evs, ev) }))
	return evs
}

// verdicts is each case's outcome and every check status, by case name.
func verdicts(evs []event.Event) map[string][]string {
	out := map[string][]string{}
	for _, ev := range evs {
		switch ev.Kind {
		case event.EventCheck:
			out[ev.Case] = append(out[ev.Case], ev.Result.ID+"="+string(ev.Result.Status))
		case event.EventCaseEnd:
			out[ev.Case] = append(out[ev.Case], "outcome="+ev.Outcome)
		}
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// fullSweep: with ENROLLSIM_TEST_SWEEP=full (make test-full) the slow
// end-to-end sweeps play every case; the default make test keeps a share
// of each that still proves its point (issue 29).
func fullSweep() bool { return os.Getenv("ENROLLSIM_TEST_SWEEP") == "full" }

// The conformance suite gives every case the same verdict at --parallel 1
// and at --parallel 64: scheduling changes how long a run takes, never a
// result (issue 12, item 10). By default a quarter of the suite (--shard
// 1/4: every fourth case, so each scenario on every family); the whole
// suite with fullSweep.
func TestConformanceVerdictsDoNotDependOnParallel(t *testing.T) {
	dir := t.TempDir()
	runs := map[int]map[string][]string{}
	n := 4 * len(device.Catalogue()) // four scenarios, every catalogue device
	shard := []string{}
	if !fullSweep() {
		shard = []string{"--shard", "1/4"}
		n = (n + 3) / 4
	}
	for _, parallel := range []int{1, 64} {
		path := filepath.Join(dir, fmt.Sprintf("p%d.jsonl", parallel))
		start := time.Now()
		r := execute(t, append([]string{"run", "conformance", "--parallel", fmt.Sprint(parallel), "--report", "jsonl=" + path}, shard...)...)
		t.Logf("conformance at --parallel %d: %s", parallel, time.Since(start).Round(time.Millisecond))
		require.Equal(t, 0, r.code, "--parallel %d\n%s\n%s", parallel, r.errOut, failedCases(r.out))
		assert.Contains(t, r.out, fmt.Sprintf("%d cases, %d passed, 0 failed", n, n))
		runs[parallel] = verdicts(savedRun(t, path))
	}
	require.Len(t, runs[1], n)
	for name, serial := range runs[1] {
		assert.Equal(t, serial, runs[64][name], "case %s", name)
	}
	assert.Len(t, runs[64], len(runs[1]))
}

// 64 cases of one account at --parallel 64 all enroll through the command,
// so the embedded servers and the engine share the per-account TOTP time.
func TestOneAccount64CasesEnrollThroughTheCommand(t *testing.T) {
	args := []string{"run", "--embedded", "--email", "alice@acme.test", "--parallel", "64"}
	for i := 0; i < 64; i++ {
		args = append(args, "--device", "iphone@18.2")
	}
	r := execute(t, args...)
	require.Equal(t, 0, r.code, "%s\n%s", r.errOut, failedCases(r.out))
	assert.Contains(t, r.out, "64 cases, 64 passed, 0 failed")
	assert.Contains(t, r.out, "outcomes: enrolled 64")
}

// --no-probes sends no probe at all, for scenario suites too, and leaves
// the device's own requests as they are.
func TestNoProbesSendsNoProbe(t *testing.T) {
	dir := t.TempDir()
	own := func(evs []event.Event) (map[string][]string, int) {
		reqs := map[string][]string{}
		probes := 0
		for _, ev := range evs {
			if ev.Kind != event.EventExchange {
				continue
			}
			x := ev.Exchange
			if x.Probe {
				probes++
				continue
			}
			// OAuth's state is fresh in every run: compare without queries.
			u, _, _ := strings.Cut(x.URL, "?")
			reqs[ev.Case] = append(reqs[ev.Case], x.Purpose+" "+x.Method+" "+u)
		}
		return reqs, probes
	}
	// The demo suite covers web and OAuth 2 sign-ins, a refusal and the AxM
	// probe; redirect-drops-query the RD-002 probe; wellknown-404 the
	// device's own AxM fallback and the ABM-004 probe.
	for i, args := range [][]string{
		{"demo"},
		{"--embedded", "--fault", "redirect-drops-query", "--email", "alice@acme.test", "--device", "iphone@18.2"},
		{"--embedded", "--fault", "wellknown-404", "--email", "alice@acme.test", "--device", "iphone@18.2", "--device", "mac@15.2"},
	} {
		with, without := filepath.Join(dir, fmt.Sprintf("%d-probes.jsonl", i)), filepath.Join(dir, fmt.Sprintf("%d-no-probes.jsonl", i))
		r := execute(t, append([]string{"run", "--report", "jsonl=" + with}, args...)...)
		require.Contains(t, []int{0, 1}, r.code, "%v\n%s", args, r.errOut)
		r = execute(t, append([]string{"run", "--no-probes", "--report", "jsonl=" + without}, args...)...)
		require.Contains(t, []int{0, 1}, r.code, "%v --no-probes\n%s", args, r.errOut)
		reqsWith, probesWith := own(savedRun(t, with))
		reqsWithout, probesWithout := own(savedRun(t, without))
		assert.Greater(t, probesWith, 0, "%v", args)
		assert.Zero(t, probesWithout, "%v: requests marked probe in a --no-probes run", args)
		assert.Equal(t, reqsWith, reqsWithout, "%v: the device's own requests changed", args)
	}
}
