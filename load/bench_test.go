package load_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
)

// recorder keeps the requests one case sends, to replay them bare.
type recorder struct {
	next sim.Doer
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, url string
	header      http.Header
	body        []byte
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.String(), req.Header.Clone(), body})
	r.mu.Unlock()
	return r.next.Do(req)
}

// BenchmarkEngineAgainstBareClient is issue 16's figure (a): one full BYOD
// enrollment through the engine without probes, every check on, against
// the in-process reference server, next to a bare net/http client sending
// the same requests with no checks, in the same run. The bare replay reuses
// the recorded sign-in, so the server refuses some of its requests sooner
// than the engine's: the ratio is an upper bound of the engine's cost.
func BenchmarkEngineAgainstBareClient(b *testing.B) {
	tgt := target(b, 100000)
	rec := &recorder{next: tgt.Doer}
	recTarget := tgt
	recTarget.Doer = rec
	mix, _ := load.ParseMix("iphone@18.2:1")
	accts := accounts(100000)
	player := (&sim.Engine{}).Player()
	c := func(i int, t sim.Target) sim.Case {
		return sim.Case{Name: "bench", Device: mix[0].Device, Type: sim.TypeUser, Account: accts.At(i), Target: t,
			Expect: sim.Expect{Enroll: true}, NoProbes: true, Until: sim.UntilProfile}
	}
	if out := player.Play(context.Background(), c(0, recTarget), func(sim.Event) {}); out != sim.OutcomeEnrolled {
		b.Fatalf("recording case: %s", out)
	}
	bare := tgt.Doer
	var engine, plain time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if out := player.Play(context.Background(), c(i+1, tgt), func(sim.Event) {}); out != sim.OutcomeEnrolled {
			b.Fatalf("case %d: %s", i, out)
		}
		engine += time.Since(start)
		start = time.Now()
		jar, _ := cookiejar.New(nil)
		for _, r := range rec.reqs {
			req, _ := http.NewRequest(r.method, r.url, bytes.NewReader(r.body))
			req.Header = r.header.Clone()
			for _, ck := range jar.Cookies(req.URL) {
				req.AddCookie(ck)
			}
			resp, err := bare.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			jar.SetCookies(req.URL, resp.Cookies())
		}
		plain += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(engine.Microseconds())/float64(b.N)/1000, "engine-ms/case")
	b.ReportMetric(float64(plain.Microseconds())/float64(b.N)/1000, "bare-ms/case")
	b.ReportMetric(float64(engine)/float64(plain), "engine/bare")
	b.ReportMetric(float64(len(rec.reqs)), "req/case")
}

// BenchmarkLoadThroughput is figure (c): enrollments per second on this
// machine, every check on, a closed model of 200 at once against the
// in-process server; each iteration is 500 enrollments.
func BenchmarkLoadThroughput(b *testing.B) {
	const n = 500
	tgt := target(b, n*(b.N+1))
	mix, _ := load.ParseMix(load.DefaultMix)
	var done int
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: n, Concurrency: 200, Mix: mix,
			Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: n * (b.N + 1), Master: sim.NewSecret(master), First: i * n},
			Target:   tgt, Until: sim.UntilProfile}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Enrolled() != n {
			b.Fatalf("enrolled %d of %d: %v", res.Enrolled(), n, res.Causes)
		}
		done += res.Cases
		took += res.Elapsed()
	}
	b.ReportMetric(float64(done)/took.Seconds(), "enrollments/s")
	b.ReportMetric(10000/(float64(done)/took.Seconds()), "s/10k")
}
