package load_test

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/load"
)

// benchServerEnv, set to a number of accounts, makes this test binary the
// reference server of BenchmarkLoadThroughput/server=own-process.
const benchServerEnv = "ENROLLSIM_BENCH_SERVER"

type benchServerInfo struct {
	Addr    string `json:"addr"`
	CA      string `json:"ca"`
	StockCA string `json:"stock_ca"`
	AxMURL  string `json:"axm_url"`
}

// shardChildEnv, set to I/N, makes this test binary play shard I/N of
// TestThreeShardProcessesMergeToOneRun and write its result to the file
// shardOutEnv names.
const (
	shardChildEnv = "ENROLLSIM_TEST_SHARD"
	shardOutEnv   = "ENROLLSIM_TEST_SHARD_OUT"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(benchServerEnv); v != "" {
		os.Exit(serveForBench(v))
	}
	if v := os.Getenv(shardChildEnv); v != "" {
		os.Exit(playShardChild(v, os.Getenv(shardOutEnv)))
	}
	os.Exit(m.Run())
}

// serveForBench serves until its parent closes stdin (or dies), and at most
// an hour, so a lost child cannot outlive its benchmark for long.
func serveForBench(accounts string) int {
	n, err := strconv.Atoi(accounts)
	if err != nil || n < 1 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a number of accounts\n", benchServerEnv, accounts)
		return 2
	}
	srv, err := refserver.Start(refserver.Config{Accounts: refserver.PatternAccounts{Count: n, Master: master}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	ca := srv.CACertPEM()
	// The main CA comes first: alone, it is the stock devices' trust
	// store (refserver's StockPool).
	main, _ := pem.Decode(ca)
	if main == nil {
		fmt.Fprintln(os.Stderr, "the server's CA PEM does not parse")
		return 1
	}
	_ = json.NewEncoder(os.Stdout).Encode(benchServerInfo{Addr: srv.Addr(), CA: string(ca), StockCA: string(pem.EncodeToMemory(main)), AxMURL: srv.AxMURL()})
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Hour):
	}
	return 0
}

func playShardChild(spec, out string) int {
	var shard, shards int
	if _, err := fmt.Sscanf(spec, "%d/%d", &shard, &shards); err != nil || out == "" {
		fmt.Fprintf(os.Stderr, "%s=%q, %s=%q: want I/N and a file\n", shardChildEnv, spec, shardOutEnv, out)
		return 2
	}
	res, err := playShard(shard, shards)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f, err := os.Create(out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := load.WriteJSON(f, res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
