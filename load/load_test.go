package load_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

const master = "load-test-master-secret"

func target(t testing.TB, n int, faults ...string) sim.Target {
	t.Helper()
	tgt, stop, err := startEmbedded(n, faults...)
	require.NoError(t, err)
	t.Cleanup(stop)
	return tgt
}

// startEmbedded starts a reference server with n pattern accounts and
// returns a target for it and what stops it (the server and the client's
// connections), for callers that must release it before the test ends.
func startEmbedded(n int, faults ...string) (sim.Target, func(), error) {
	srv, err := refserver.Start(refserver.Config{Faults: faults, Accounts: refserver.PatternAccounts{Count: n, Master: master}})
	if err != nil {
		return sim.Target{}, nil, err
	}
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	if err != nil {
		srv.Close()
		return sim.Target{}, nil, err
	}
	stop := func() { client.CloseIdleConnections(); srv.Close() }
	return sim.Target{Name: "embedded", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Keys: keys.Reused}, stop, nil
}

func accounts(n int) load.Accounts {
	return load.Accounts{Pattern: load.DefaultPattern, Count: n, Master: secret.New(master)}
}

func TestClosedModelEnrollsEveryDeviceAndKeepsAggregates(t *testing.T) {
	mix, err := load.ParseMix(load.DefaultMix)
	require.NoError(t, err)
	var snaps []load.Snapshot
	var mu sync.Mutex
	res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: 30, Concurrency: 6, Mix: mix,
		Accounts: accounts(30), Target: target(t, 30), Until: event.UntilProfile}, func(s load.Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		mu.Unlock()
	})
	require.NoError(t, err)
	assert.Equal(t, 30, res.Cases)
	assert.Equal(t, 30, res.Enrolled(), "%v %v", res.Outcomes, res.Causes)
	assert.Equal(t, int64(30), res.Total.Count())
	assert.Equal(t, int64(30), res.Steps[event.StepProfile].Count())
	assert.Empty(t, res.Checks, "a conforming server trips nothing under load")
	assert.NotEmpty(t, snaps)
	assert.Equal(t, 30, snaps[len(snaps)-1].Done)
	var text bytes.Buffer
	require.NoError(t, load.WriteText(&text, res))
	assert.Contains(t, text.String(), "web-login")
	assert.Contains(t, text.String(), "whole case")
	assert.NotContains(t, text.String(), master)
}

func TestOpenModelStartsOnSchedule(t *testing.T) {
	mix, _ := load.ParseMix("iphone@18.2:1")
	start := time.Now()
	res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Rate: 20, Duration: time.Second, Mix: mix,
		Accounts: accounts(20), Target: target(t, 20), Until: event.UntilProfile}, nil)
	require.NoError(t, err)
	assert.Equal(t, 20, res.Cases)
	assert.GreaterOrEqual(t, time.Since(start), 950*time.Millisecond, "arrivals are spread over the duration")
	started := 0
	for _, b := range res.Throughput {
		started += b.Started
	}
	assert.Equal(t, 20, started)
}

// Failures are counted by check and by cause, and a bounded sample keeps
// their exchanges.
func TestFailuresAreCountedAndSampled(t *testing.T) {
	mix, _ := load.ParseMix("iphone@18.1:1")
	res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: 8, Concurrency: 4, Mix: mix, SampleFailures: 2,
		Accounts: accounts(8), Target: target(t, 8, refserver.FaultWellKnown404), Until: event.UntilProfile}, nil)
	require.NoError(t, err)
	assert.Equal(t, 8, res.Failed())
	assert.Equal(t, 8, res.Checks["WK-001"].Fail)
	assert.Equal(t, 8, res.Outcomes[event.OutcomeDiscoveryFailed])
	assert.Len(t, res.Failures, 2)
	assert.NotEmpty(t, res.Failures[0].Exchanges)
	assert.NotEmpty(t, res.Causes)
}

// playShard plays shard of shards of a 12-device load against a fresh
// server of its own (one that saw an account's code refuses it again, and
// the second sign-in would change the latencies), on a clock that moves one
// millisecond per reading: each case's latencies then depend on its own
// events only, so the histogram buckets of runs can be compared.
func playShard(shard, shards int) (*load.Result, error) {
	tgt, stop, err := startEmbedded(12)
	if err != nil {
		return nil, err
	}
	defer stop()
	mix, err := load.ParseMix("iphone@18.2:2,ipad@18.2/user:1")
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Millisecond)
		return now
	}
	return load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: 12, Concurrency: 1, Mix: mix,
		Accounts: accounts(12), Target: tgt, Until: event.UntilProfile, Shard: shard, Shards: shards, Now: clock}, nil)
}

func roundTrip(t *testing.T, res *load.Result) *load.Result {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, load.WriteJSON(&buf, res))
	back, err := load.ReadJSON(&buf)
	require.NoError(t, err)
	return back
}

func assertSameRun(t *testing.T, whole, merged *load.Result) {
	t.Helper()
	assert.Equal(t, whole.Cases, merged.Cases)
	assert.Equal(t, whole.Outcomes, merged.Outcomes)
	assert.Equal(t, whole.Requests, merged.Requests)
	assert.Equal(t, []string{"1/3", "2/3", "3/3"}, merged.Config.Shards)
	assert.Equal(t, whole.Total.Buckets(), merged.Total.Buckets())
	assert.Len(t, merged.Steps, len(whole.Steps))
	for step, h := range whole.Steps {
		require.NotNil(t, merged.Steps[step], step)
		assert.Equal(t, h.Buckets(), merged.Steps[step].Buckets(), step)
	}
}

// Shards add up to one run: counts and histogram buckets, exactly.
func TestShardsMergeToOneRun(t *testing.T) {
	whole, err := playShard(1, 1)
	require.NoError(t, err)
	var parts []*load.Result
	for i := 1; i <= 3; i++ {
		res, err := playShard(i, 3)
		require.NoError(t, err)
		parts = append(parts, roundTrip(t, res))
	}
	merged, err := load.Merge(parts...)
	require.NoError(t, err)
	assertSameRun(t, roundTrip(t, whole), merged)
}

// The same with each shard in a process of its own, as on three machines:
// this test binary, run again with shardChildEnv, plays one shard and
// writes its json result; the merge of the three files equals one run.
func TestThreeShardProcessesMergeToOneRun(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a hang's bound
	defer cancel()
	var wg sync.WaitGroup
	outs := make([]string, 3)
	errs := make([]error, 3)
	for i := range 3 {
		outs[i] = filepath.Join(dir, fmt.Sprintf("shard%d.json", i+1))
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d/3", shardChildEnv, i+1), shardOutEnv+"="+outs[i])
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("shard %d/3: %v: %s", i+1, err, stderr.String())
			}
		}()
	}
	whole, err := playShard(1, 1)
	require.NoError(t, err)
	wg.Wait()
	var parts []*load.Result
	for i, out := range outs {
		require.NoError(t, errs[i])
		f, err := os.Open(out)
		require.NoError(t, err)
		res, err := load.ReadJSON(f)
		f.Close()
		require.NoError(t, err, out)
		assert.Equal(t, 4, res.Cases, "shard %d plays a third", i+1)
		parts = append(parts, res)
	}
	merged, err := load.Merge(parts...)
	require.NoError(t, err)
	assertSameRun(t, roundTrip(t, whole), merged)
}

func TestBadConfigAndInput(t *testing.T) {
	mix, _ := load.ParseMix("iphone@18.2:1")
	for name, cfg := range map[string]load.Config{
		"nothing to do":  {Mix: mix, Accounts: accounts(1)},
		"both models":    {Devices: 1, Rate: 1, Duration: time.Second, Mix: mix, Accounts: accounts(1)},
		"open no length": {Rate: 1, Mix: mix, Accounts: accounts(1)},
		"no mix":         {Devices: 1, Accounts: accounts(1)},
		"no accounts":    {Devices: 1, Mix: mix},
		"bad shard":      {Devices: 1, Mix: mix, Accounts: accounts(1), Shard: 4, Shards: 3},
		"no master":      {Devices: 1, Mix: mix, Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: 1}},
		"no {n}":         {Devices: 1, Mix: mix, Accounts: load.Accounts{Pattern: "u@acme.test", Count: 1, Master: secret.New("x")}},
	} {
		_, err := load.Run(context.Background(), &sim.Engine{}, cfg, nil)
		assert.Error(t, err, name)
	}
	for _, bad := range []string{"", "iphone@18.2:0", "iphone@18.2:x", "toaster@1:1", "iphone@18.2/both:1"} {
		_, err := load.ParseMix(bad)
		assert.Error(t, err, bad)
	}
	for _, bad := range []string{"", "{", `{"total": null}`, strings.Repeat("x", 100)} {
		_, err := load.ReadJSON(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
	pw, seed := load.Derive(master, "user1@acme.test")
	pw2, seed2 := load.Derive(master, "USER1@acme.test")
	assert.Equal(t, pw, pw2)
	assert.Equal(t, seed, seed2)
	assert.Len(t, seed, 32)
}

// cancelAfter ends a context once n requests have been sent.
type cancelAfter struct {
	next   sim.Doer
	n      atomic.Int64
	after  int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Do(req *http.Request) (*http.Response, error) {
	if c.n.Add(1) == c.after {
		c.cancel()
	}
	return c.next.Do(req)
}

// Ctrl-C: no case starts after the interruption, the running ones end, and
// the result holds every case that ended, marked interrupted.
func TestInterruptedLoadKeepsTheResultsSoFar(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tgt := target(t, 200)
	tgt.Doer = &cancelAfter{next: tgt.Doer, after: 100, cancel: cancel}
	mix, _ := load.ParseMix("iphone@18.2:1")
	var last load.Snapshot
	res, err := load.Run(ctx, &sim.Engine{}, load.Config{Devices: 200, Concurrency: 4, Mix: mix, Accounts: accounts(200),
		Target: tgt, Until: event.UntilProfile}, func(s load.Snapshot) { last = s })
	require.NoError(t, err)
	assert.True(t, res.Interrupted)
	assert.Greater(t, res.Cases, 0)
	assert.Less(t, res.Cases, 200, "cases started after the interruption")
	assert.LessOrEqual(t, res.Cases, 100/8+4, "at most the cases running when it came")
	assert.Equal(t, int64(res.Cases), res.Total.Count())
	assert.Equal(t, res.Cases, res.Enrolled()+res.Failed())
	assert.Equal(t, res.Cases, last.Done, "the last progress line counts every case")
	assert.Zero(t, last.InFlight)
	var text bytes.Buffer
	require.NoError(t, load.WriteText(&text, res))
	assert.Contains(t, text.String(), "interrupted: the results so far")
}
