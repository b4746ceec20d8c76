package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
)

// The in-cluster topology on loopback: a CA made beforehand ('serve ca',
// the Secret), the server issuing under it with pattern accounts (the
// Deployment), and a load that trusts only that CA file and prints its
// result between marker lines (the Job's pods); their logs, one after the
// other as kubectl prints them, merge back to every shard.
func TestServeWithAGivenCAAndMergeLoadLogs(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	r := execute(t, "serve", "ca", "--out", caDir)
	require.Equal(t, 0, r.code, r.errOut)
	info, err := os.Stat(filepath.Join(caDir, "ca-key.pem"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "the CA key is a secret")
	r = execute(t, "serve", "ca", "--out", caDir)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "exists: move it away")

	master := filepath.Join(dir, "master-secret")
	require.NoError(t, os.WriteFile(master, []byte("in-cluster-master-7f3a9c2e\n"), 0o600))
	f, _, serveErr := testFactory(nil)
	f.Now = time.Now
	srv, stop := startServe(t, f, &serveOptions{Addr: "127.0.0.1:0", CAOut: filepath.Join(dir, "served-ca.pem"),
		CACert: filepath.Join(caDir, "ca.pem"), CAKey: filepath.Join(caDir, "ca-key.pem"),
		Accounts: 6, Pattern: "user{n}@acme.test", MasterFile: master})
	defer stop()
	assert.Empty(t, serveErr.String(), "no warning on loopback")

	var logs strings.Builder
	for i := range 2 {
		args := []string{"load", "--devices", "6", "--concurrency", "3", "--mix", "iphone@18.2:1", "--account-pattern", "user{n}@acme.test",
			"--master-secret-file", master, "--cacert", filepath.Join(caDir, "ca.pem"), "--report", "json=-"}
		for _, h := range []string{"acme.test", "mdm.acme.test", "idp.acme.test", "axm.test"} {
			args = append(args, "--connect-to", fmt.Sprintf("%s:443:127.0.0.1:%d", h, srv.Port()))
		}
		lf, out, errOut := testFactory(map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(i), "ENROLLSIM_SHARDS": "2"})
		lf.Now = time.Now
		code := Execute(context.Background(), lf, args)
		require.Equal(t, 0, code, out.String()+errOut.String())
		assert.Contains(t, errOut.String(), fmt.Sprintf("load: shard %d/2 (JOB_COMPLETION_INDEX=%d, ENROLLSIM_SHARDS=2)", i+1, i))
		assert.Contains(t, out.String(), "enrolled 3, failed 0")
		logs.WriteString(out.String())
	}
	mf, out, errOut := testFactory(nil)
	mf.IO.In = strings.NewReader(logs.String())
	merged := filepath.Join(dir, "merged.json")
	code := Execute(context.Background(), mf, []string{"report", "merge", "-", "--report", "json=" + merged})
	require.Equal(t, 0, code, errOut.String())
	assert.Contains(t, out.String(), "6 enrollments")
	assert.Contains(t, out.String(), "shards: 1/2, 2/2")
	raw, err := os.ReadFile(merged)
	require.NoError(t, err)
	res, err := load.ReadJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Equal(t, 6, res.Enrolled())

	// The first pod's log alone: shard 2/2 is missing, refused unless
	// --partial, which names it.
	first := logs.String()[:strings.Index(logs.String(), load.ResultEnd)+len(load.ResultEnd)+1]
	mf, _, errOut = testFactory(nil)
	mf.IO.In = strings.NewReader(first)
	assert.Equal(t, 2, Execute(context.Background(), mf, []string{"report", "merge", "-"}))
	assert.Contains(t, errOut.String(), "shard 2/2 missing")
	assert.Contains(t, errOut.String(), "--partial")
	mf, out, errOut = testFactory(nil)
	mf.IO.In = strings.NewReader(first)
	assert.Equal(t, 0, Execute(context.Background(), mf, []string{"report", "merge", "-", "--partial"}), errOut.String())
	assert.Contains(t, errOut.String(), "--partial: shard 2/2 missing")
	assert.Contains(t, out.String(), "3 enrollments")
	// The same log twice: a duplicated shard, always refused (exit 2).
	mf, _, errOut = testFactory(nil)
	mf.IO.In = strings.NewReader(first + first)
	assert.Equal(t, 2, Execute(context.Background(), mf, []string{"report", "merge", "-", "--partial"}))
	assert.Contains(t, errOut.String(), "shard 1/2 is given twice: in stdin (result 1, line")
	// A log saved to a file is read as a log.
	logFile := filepath.Join(dir, "pods.log")
	require.NoError(t, os.WriteFile(logFile, []byte(logs.String()), 0o644))
	r = execute(t, "report", "merge", logFile)
	assert.Equal(t, 0, r.code, r.errOut)
	assert.Contains(t, r.out, "6 enrollments")
}

func TestClusterFlagsRefuseBadInput(t *testing.T) {
	dir := t.TempDir()
	notCA := filepath.Join(dir, "leaf.pem")
	require.NoError(t, os.WriteFile(notCA, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644))
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"serve", "--addr", "0.0.0.0:0"}, "pass --allow-remote"},
		{nil, []string{"serve", "--listen", "0.0.0.0:0"}, "pass --allow-remote"},
		{nil, []string{"serve", "--ca-cert", notCA}, "--ca-cert and --ca-key go together"},
		{nil, []string{"serve", "--ca-cert", notCA, "--ca-key", notCA}, "the CA certificate"},
		{nil, []string{"serve", "--ca-cert", filepath.Join(dir, "none.pem"), "--ca-key", notCA}, "--ca-cert"},
		{nil, []string{"serve", "ca"}, "--out: which directory?"},
		{map[string]string{"JOB_COMPLETION_INDEX": "1"}, []string{"load", "--devices", "2"}, "ENROLLSIM_SHARDS is not: set it to the Job's completions"},
		{map[string]string{"JOB_COMPLETION_INDEX": "3", "ENROLLSIM_SHARDS": "3"}, []string{"load", "--devices", "2"}, "JOB_COMPLETION_INDEX=3 is not below ENROLLSIM_SHARDS=3"},
		{map[string]string{"JOB_COMPLETION_INDEX": "x", "ENROLLSIM_SHARDS": "3"}, []string{"load", "--devices", "2"}, `JOB_COMPLETION_INDEX="x"`},
		{map[string]string{"JOB_COMPLETION_INDEX": "0", "ENROLLSIM_SHARDS": "0"}, []string{"load", "--devices", "2"}, `ENROLLSIM_SHARDS="0"`},
		{nil, []string{"load", "--devices", "2", "--start-at", "noon"}, "--start-at \"noon\": want an RFC 3339 instant"},
		{nil, []string{"load", "--devices", "2", "--start-at", "2026-11-26T12:00:00Z"}, "over 24h0m0s: a typo?"},
		{nil, []string{"load", "--devices", "2", "--report", "html=-"}, "only json=- writes to stdout"},
		{nil, []string{"report", "merge", "-"}, "stdin: no load result in it"},
	} {
		f, _, errOut := testFactory(tt.env)
		code := Execute(context.Background(), f, tt.args)
		assert.Equal(t, 2, code, "%v: %s", tt.args, errOut)
		assert.Contains(t, errOut.String(), tt.want, tt.args)
	}
}

// An explicit --shard wins over the Job's index; without either, one run.
func TestLoadShardSources(t *testing.T) {
	for _, tt := range []struct {
		env     map[string]string
		flag    string
		i, n    int
		printed string
	}{
		{nil, "", 1, 1, ""},
		{nil, "2/3", 2, 3, ""},
		{map[string]string{"JOB_COMPLETION_INDEX": "0", "ENROLLSIM_SHARDS": "3"}, "", 1, 3, "load: shard 1/3 (JOB_COMPLETION_INDEX=0, ENROLLSIM_SHARDS=3)\n"},
		{map[string]string{"JOB_COMPLETION_INDEX": "2", "ENROLLSIM_SHARDS": "3"}, "", 3, 3, "load: shard 3/3 (JOB_COMPLETION_INDEX=2, ENROLLSIM_SHARDS=3)\n"},
		{map[string]string{"JOB_COMPLETION_INDEX": "2", "ENROLLSIM_SHARDS": "3"}, "1/2", 1, 2, ""},
	} {
		f, _, errOut := testFactory(tt.env)
		i, n, err := loadShard(f, tt.flag)
		require.NoError(t, err)
		assert.Equal(t, [2]int{tt.i, tt.n}, [2]int{i, n}, "%v %q", tt.env, tt.flag)
		assert.Equal(t, tt.printed, errOut.String())
	}
}

// --start-at holds the arrivals until the instant; a shard that comes late
// starts at once and says so; an interruption while waiting plays nothing.
func TestWaitForStart(t *testing.T) {
	f, _, errOut := testFactory(nil)
	f.Now = time.Now
	at := time.Now().Add(300 * time.Millisecond)
	require.NoError(t, waitForStart(context.Background(), f, at, 2, 3))
	assert.False(t, time.Now().Before(at), "started before --start-at")
	assert.Contains(t, errOut.String(), "load: shard 2/3 waits ")

	f, _, errOut = testFactory(nil)
	f.Now = time.Now
	require.NoError(t, waitForStart(context.Background(), f, time.Now().Add(-time.Minute), 1, 3))
	assert.Contains(t, errOut.String(), "passed 1m0")
	assert.Contains(t, errOut.String(), "shard 1/3 starts now, late by that much")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f, _, errOut = testFactory(nil)
	f.Now = time.Now
	err := waitForStart(ctx, f, time.Now().Add(time.Hour), 1, 1)
	var se silentExit
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 130, se.code)
	assert.Contains(t, errOut.String(), "interrupted before the start: nothing was played")
}

// serve beyond loopback says what that exposes; on loopback it says nothing.
func TestWarnRemote(t *testing.T) {
	var b bytes.Buffer
	warnRemote(&b, "127.0.0.1:8443")
	warnRemote(&b, "[::1]:8443")
	assert.Empty(t, b.String())
	warnRemote(&b, "[::]:8443")
	for _, want := range []string{"listening on [::]:8443, beyond this machine (--allow-remote)", "unauthenticated admin API", "ClusterIP"} {
		assert.Contains(t, b.String(), want)
	}
}

// An embedded server observes its AxM registration when its first case
// begins (Target.Prepare), not when it starts: a suite starts a server per
// fault set, and a server that never registers makes the observation wait
// its whole bound, which held back every case of the suite.
func TestEmbeddedServerObservesAxMWhenItsFirstCaseBegins(t *testing.T) {
	es, err := startEmbedded([]string{"axm-unregistered"}, nil, 5*time.Second, 0, true, &sim.VirtualClock{})
	require.NoError(t, err)
	defer es.close()
	tgt := es.target()
	require.NotNil(t, tgt.AxM, "the registration is under test")
	require.NotNil(t, tgt.Prepare)
	assert.Empty(t, tgt.AxM.Server, "observed before any case began")
	tgt.Prepare(context.Background())
	assert.Equal(t, "acme-mdm", tgt.AxM.Server)
	assert.True(t, tgt.AxM.TimedOut, "axm-unregistered: no registration within the bound")
	calls := len(tgt.AxM.Calls)
	tgt.Prepare(context.Background())
	assert.Len(t, tgt.AxM.Calls, calls, "observed once, for every case of the server")
}
