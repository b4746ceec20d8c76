package sim_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// countingDoer counts the requests a benchmark sends, so it can report
// requests per case next to the time (42 for a full case with probes).
type countingDoer struct {
	next sim.Doer
	n    atomic.Int64
}

func (c *countingDoer) Do(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(req)
}

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
	doer := &countingDoer{next: client}
	r := &ref{target: sim.Target{Name: "bench", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: doer, StockRoots: srv.StockPool(), Admin: adminHooks(srv), Keys: keys.Reused}, srv: srv, clock: clock}
	return r, func() { srv.Close() }
}

func benchCases(b *testing.B, r *ref, n int, discoveryOnly bool) []sim.Case {
	d, err := device.LookupDevice("iphone@26.1")
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
	seed := cases[0].Account.TOTPSecret.Reveal()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Each Run starts a fresh TOTP ledger, but the server remembers
		// the last code it accepted: without this jump of the account's
		// TOTP time by one period (what the ledger does within a run),
		// every iteration after the first would have its code refused
		// and sign in twice, 46 requests instead of 42.
		r.clock.Advance(seed, 30*time.Second)
		reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(event.Event) {})
		if err != nil || len(reps) != perRun {
			b.Fatalf("run: %v (%d reports)", err, len(reps))
		}
		want := event.OutcomeEnrolled
		if discoveryOnly {
			want = event.OutcomeDiscovered
		}
		if reps[0].Outcome != want {
			b.Fatalf("outcome %s", reps[0].Outcome)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*perRun), "ms/case")
	b.ReportMetric(float64(r.target.Doer.(*countingDoer).n.Load())/float64(b.N*perRun), "req/case")
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

// A case must cost the same late in a long run as early in it (issue 16:
// the run-wide redactor once grew with every token, and parallel runs kept
// every case's events). Each benchmark plays one serial Run of n warm-up
// cases followed by b.N timed ones, the timer (and so ns/op, B/op and
// allocs/op) covering only the timed cases: per case, after 10 cases
// against after 300, in the same `go test -bench` run.
func BenchmarkCasesAfter10(b *testing.B)  { benchCasesAfter(b, 10) }
func BenchmarkCasesAfter300(b *testing.B) { benchCasesAfter(b, 300) }

func benchCasesAfter(b *testing.B, warm int) {
	r, stop := benchTarget(b)
	defer stop()
	eng := &sim.Engine{Clock: r.clock.Now, TOTPClock: r.clock}
	cases := benchCases(b, r, warm+b.N, false)
	ended := 0
	b.ReportAllocs()
	b.StopTimer()
	b.ResetTimer()
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(ev event.Event) {
		// Serial play: emit runs on this goroutine, between cases.
		if ev.Kind == event.EventCaseEnd {
			if ended++; ended == warm {
				b.StartTimer()
			}
		}
	})
	b.StopTimer()
	if err != nil || len(reps) != len(cases) {
		b.Fatalf("run: %v (%d reports)", err, len(reps))
	}
	for _, rep := range reps {
		if rep.Outcome != event.OutcomeEnrolled {
			b.Fatalf("outcome %s", rep.Outcome)
		}
	}
}

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
	var red secret.Redactor
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

// adminHooks are the reference server's admin triggers, for the token-life
// checks (TOK-006, TOK-007, TOK-009).
func adminHooks(srv *refserver.Server) sim.AdminHooks {
	revoke, expire, unenroll := srv.AdminURLs()
	return sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll}
}
