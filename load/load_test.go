package load_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/keys"
)

const master = "load-test-master-secret"

func target(t testing.TB, n int, faults ...string) sim.Target {
	t.Helper()
	srv, err := refserver.Start(refserver.Config{Faults: faults, Accounts: refserver.PatternAccounts{Count: n, Master: master}})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	require.NoError(t, err)
	return sim.Target{Name: "embedded", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Keys: keys.Reused}
}

func accounts(n int) load.Accounts {
	return load.Accounts{Pattern: load.DefaultPattern, Count: n, Master: sim.NewSecret(master)}
}

func TestClosedModelEnrollsEveryDeviceAndKeepsAggregates(t *testing.T) {
	mix, err := load.ParseMix(load.DefaultMix)
	require.NoError(t, err)
	var snaps []load.Snapshot
	var mu sync.Mutex
	res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: 30, Concurrency: 6, Mix: mix,
		Accounts: accounts(30), Target: target(t, 30), Until: sim.UntilProfile}, func(s load.Snapshot) {
		mu.Lock()
		snaps = append(snaps, s)
		mu.Unlock()
	})
	require.NoError(t, err)
	assert.Equal(t, 30, res.Cases)
	assert.Equal(t, 30, res.Enrolled(), "%v %v", res.Outcomes, res.Causes)
	assert.Equal(t, int64(30), res.Total.Count())
	assert.Equal(t, int64(30), res.Steps[sim.StepProfile].Count())
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
		Accounts: accounts(20), Target: target(t, 20), Until: sim.UntilProfile}, nil)
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
		Accounts: accounts(8), Target: target(t, 8, refserver.FaultWellKnown404), Until: sim.UntilProfile}, nil)
	require.NoError(t, err)
	assert.Equal(t, 8, res.Failed())
	assert.Equal(t, 8, res.Checks["WK-001"].Fail)
	assert.Equal(t, 8, res.Outcomes[sim.OutcomeDiscoveryFailed])
	assert.Len(t, res.Failures, 2)
	assert.NotEmpty(t, res.Failures[0].Exchanges)
	assert.NotEmpty(t, res.Causes)
}

// Shards add up to one run: counts and histogram buckets, exactly. A clock
// that moves one millisecond per reading makes each case's latencies depend
// on its own events only, so the buckets can be compared.
func TestShardsMergeToOneRun(t *testing.T) {
	mix, _ := load.ParseMix("iphone@18.2:2,ipad@18.2/user:1")
	run := func(shard, shards int) *load.Result {
		// A fresh server per run: one that saw an account's code refuses
		// it again, and the second sign-in would change the latencies.
		tgt := target(t, 12)
		var mu sync.Mutex
		now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Millisecond)
			return now
		}
		res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: 12, Concurrency: 1, Mix: mix,
			Accounts: accounts(12), Target: tgt, Until: sim.UntilProfile, Shard: shard, Shards: shards, Now: clock}, nil)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, load.WriteJSON(&buf, res))
		back, err := load.ReadJSON(&buf)
		require.NoError(t, err)
		return back
	}
	whole := run(1, 1)
	merged, err := load.Merge(run(1, 3), run(2, 3), run(3, 3))
	require.NoError(t, err)
	assert.Equal(t, whole.Cases, merged.Cases)
	assert.Equal(t, whole.Outcomes, merged.Outcomes)
	assert.Equal(t, []string{"1/3", "2/3", "3/3"}, merged.Config.Shards)
	assert.Equal(t, whole.Total.Buckets(), merged.Total.Buckets())
	for step, h := range whole.Steps {
		require.NotNil(t, merged.Steps[step], step)
		assert.Equal(t, h.Buckets(), merged.Steps[step].Buckets(), step)
	}
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
		"no {n}":         {Devices: 1, Mix: mix, Accounts: load.Accounts{Pattern: "u@acme.test", Count: 1, Master: sim.NewSecret("x")}},
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
