package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim"
)

// benchTarget is a reference server over real TLS on loopback.
func benchTarget(b *testing.B) (*ref, func()) {
	clock := &sim.VirtualClock{}
	srv, err := refserver.Start(refserver.Config{Now: clock.Now, TOTPNow: clock.TOTPNow})
	if err != nil {
		b.Fatal(err)
	}
	client, err := transport.New(transport.Options{Timeout: 5 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	r := &ref{target: sim.Target{Name: "bench", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool()}, srv: srv, clock: clock}
	return r, func() { srv.Close() }
}

func benchCases(b *testing.B, r *ref, n int, discoveryOnly bool) []sim.Case {
	d, err := sim.LookupDevice("iphone@26.1")
	if err != nil {
		b.Fatal(err)
	}
	cases := make([]sim.Case, n)
	for i := range cases {
		cases[i] = sim.Case{Name: "bench", Device: d, Account: r.account("alice@acme.test"), Type: sim.TypeUser,
			Target: r.target, Expect: sim.Expect{Enroll: true}, DiscoveryOnly: discoveryOnly}
	}
	return cases
}

func runBench(b *testing.B, discoveryOnly bool, parallel, perRun int) {
	r, stop := benchTarget(b)
	defer stop()
	eng := &sim.Engine{Clock: r.clock.Now, TOTPClock: r.clock, Parallel: parallel}
	cases := benchCases(b, r, perRun, discoveryOnly)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(sim.Event) {})
		if err != nil || len(reps) != perRun {
			b.Fatalf("run: %v (%d reports)", err, len(reps))
		}
		want := sim.OutcomeEnrolled
		if discoveryOnly {
			want = sim.OutcomeDiscovered
		}
		if reps[0].Outcome != want {
			b.Fatalf("outcome %s", reps[0].Outcome)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*perRun), "ms/case")
}

// The baseline: discovery only (sign-in, well-known with its probes, AxM
// probe). The full enrollment adds the 401, the web login with TOTP and its
// probes, the token and the profile; compare the two in one `make bench`.
func BenchmarkCaseDiscoveryOnly(b *testing.B)  { runBench(b, true, 1, 1) }
func BenchmarkCaseFullEnrollment(b *testing.B) { runBench(b, false, 1, 1) }

// Eight full cases one after another versus two at a time (the machine
// has two cores): the speed-up parallel play buys.
func BenchmarkSuiteOf8Serial(b *testing.B)    { runBench(b, false, 1, 8) }
func BenchmarkSuiteOf8Parallel2(b *testing.B) { runBench(b, false, 2, 8) }

// Redaction runs over every exchange: its cost with a realistic number of
// registered secrets, against a plain copy as the baseline.
func BenchmarkRedactBaselineCopy(b *testing.B) {
	text := benchText()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = string([]byte(text))
	}
}

func BenchmarkRedact40Secrets(b *testing.B) {
	var red sim.Redactor
	for i := 0; i < 40; i++ {
		red.Add("secret-token-value-" + string(rune('a'+i%26)) + "-0123456789abcdef")
	}
	text := benchText()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = red.Redact(text)
	}
}

func benchText() string {
	b := make([]byte, 0, 4096)
	for len(b) < 4000 {
		b = append(b, "GET https://mdm.acme.test/auth/login?user-identifier=alice@acme.test HTTP/1.1 200 text/html\n"...)
	}
	return string(b)
}
