package load_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
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

// bareEnroll is the baseline device: it sends the recorded requests of one
// enrollment for another account, doing only what it must to get through
// (the account in the URLs, the form's CSRF field, a TOTP code, the bearer
// token from the callback), so the server does the same work as for the
// engine: a real sign-in, a real token, a signed profile. No check is
// made beyond the status a step needs.
func bareEnroll(doer sim.Doer, reqs []recorded, first string, acct sim.Account) error {
	_, err := bareSignIn(doer, reqs, first, acct)
	return err
}

// bareSession is what the bare device holds after its sign-in: its
// cookies, its access token, the profile and how many of the recorded
// requests it has sent.
type bareSession struct {
	jar     http.CookieJar
	token   string
	profile []byte
	sent    int
}

// bareSignIn sends the recorded requests up to the profile (all of them
// when none brings one), for acct.
func bareSignIn(doer sim.Doer, reqs []recorded, first string, acct sim.Account) (*bareSession, error) {
	jar, _ := cookiejar.New(nil)
	var csrf, token string
	sess := &bareSession{jar: jar}
	for i, r := range reqs {
		u := strings.ReplaceAll(r.url, first, acct.Identifier)
		body := r.body
		form, _ := url.ParseQuery(string(r.body))
		switch {
		case form.Has("password"):
			form.Set("username", acct.Identifier)
			form.Set("password", acct.Password.Reveal())
			form.Set("csrf", csrf)
			body = []byte(form.Encode())
		case form.Has("otp"):
			code, err := totp.GenerateCode(acct.TOTPSecret.Reveal(), time.Now())
			if err != nil {
				return nil, err
			}
			form.Set("otp", code)
			form.Set("csrf", csrf)
			body = []byte(form.Encode())
		}
		req, err := http.NewRequest(r.method, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header = r.header.Clone()
		req.Header.Del("Cookie")
		if req.Header.Get("Authorization") != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for _, ck := range jar.Cookies(req.URL) {
			req.AddCookie(ck)
		}
		resp, err := doer.Do(req)
		if err != nil {
			return nil, err
		}
		page, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		jar.SetCookies(req.URL, resp.Cookies())
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusUnauthorized {
			return nil, fmt.Errorf("%s %s: %d %s", r.method, u, resp.StatusCode, page)
		}
		if _, v, ok := strings.Cut(string(page), `name="csrf" value="`); ok {
			csrf, _, _ = strings.Cut(v, `"`)
		}
		if loc := resp.Header.Get("Location"); strings.Contains(loc, "access-token=") {
			if lu, err := url.Parse(loc); err == nil {
				token = lu.Query().Get("access-token")
			}
		}
		sess.sent = i + 1
		if resp.StatusCode == http.StatusOK && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-apple-aspen-config") {
			sess.profile = page
			break
		}
	}
	if token == "" {
		return nil, errors.New("no access token from the sign-in")
	}
	sess.token = token
	return sess, nil
}

// counter counts the requests one side sends.
type counter struct {
	next sim.Doer
	n    atomic.Int64
}

func (c *counter) Do(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(req)
}

// BenchmarkEngineAgainstBareClient is issue 16's figure (a): one full BYOD
// enrollment through the engine, every check on, against the in-process
// reference server, next to a bare net/http client sending the device's
// requests with no checks (bareEnroll), in the same run, each for an
// account of its own. probes=off is the target (at most 1.5×); probes=on
// adds the tester's probes to the engine's side only, so its ratio is what
// the probes cost on top.
func BenchmarkEngineAgainstBareClient(b *testing.B) {
	for _, probes := range []bool{false, true} {
		b.Run(fmt.Sprintf("probes=%s", map[bool]string{false: "off", true: "on"}[probes]), func(b *testing.B) {
			benchEngine(b, probes, event.UntilProfile)
		})
	}
}

// BenchmarkWholeLifeAgainstBareClient is issue 29's ratio: one whole life
// (identity, check-in, commands, token life; probes off) through the
// engine, every check on, next to the bare device living the same life
// (bareLife: the same requests, the same cryptography, no checks), in the
// same run, each for an account of its own. Both reuse RSA keys, as the
// engine does against the embedded server (keys.Reused).
func BenchmarkWholeLifeAgainstBareClient(b *testing.B) {
	benchEngine(b, false, event.UntilCommands)
}

func benchEngine(b *testing.B, probes bool, until event.Until) {
	const accountsN = 100000
	if b.N > accountsN/2-1 {
		b.Fatalf("b.N %d: at most %d cases, each side with accounts of its own", b.N, accountsN/2-1)
	}
	tgt := target(b, accountsN)
	rec := &recorder{next: tgt.Doer}
	recTarget := tgt
	recTarget.Doer = rec
	counted := &counter{next: tgt.Doer}
	engTarget := tgt
	engTarget.Doer = counted
	mix, _ := load.ParseMix("iphone@18.2:1")
	accts := accounts(accountsN)
	player := (&sim.Engine{}).Player()
	c := func(i int, t sim.Target, probes bool) sim.Case {
		return sim.Case{Name: "bench", Device: mix[0].Device, Type: sim.TypeUser, Account: accts.At(i), Target: t,
			Expect: sim.Expect{Enroll: true}, NoProbes: !probes, Until: until}
	}
	live := func(i int) error {
		return bareEnroll(tgt.Doer, rec.reqs, accts.At(0).Identifier, accts.At(accountsN-1-i))
	}
	if until != event.UntilProfile {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		live = func(i int) error {
			return bareLife(tgt.Doer, rec.reqs, accts.At(0).Identifier, accts.At(accountsN-1-i), key)
		}
	}
	if out := player.Play(context.Background(), c(0, recTarget, false), func(event.Event) {}); out != event.OutcomeEnrolled {
		b.Fatalf("recording case: %s", out)
	}
	var engine, plain time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if out := player.Play(context.Background(), c(i+1, engTarget, probes), func(event.Event) {}); out != event.OutcomeEnrolled {
			b.Fatalf("case %d: %s", i, out)
		}
		engine += time.Since(start)
		start = time.Now()
		if err := live(i); err != nil {
			b.Fatalf("bare case %d: %v", i, err)
		}
		plain += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(engine.Microseconds())/float64(b.N)/1000, "engine-ms/case")
	b.ReportMetric(float64(plain.Microseconds())/float64(b.N)/1000, "bare-ms/case")
	b.ReportMetric(float64(engine)/float64(plain), "engine/bare")
	b.ReportMetric(float64(counted.n.Load())/float64(b.N), "engine-req/case")
	b.ReportMetric(float64(len(rec.reqs)), "bare-req/case")
}

// BenchmarkLoadThroughput is figure (c): enrollments per second on this
// machine, every check on, a closed model of 200 at once; each iteration is
// 500 enrollments. server=in-process is the target's setting (the server
// in the benchmark's process). server=own-process runs the same reference
// server in a child process, so that the CPU each side spends can be told
// apart (getrusage for this process, /proc for the child): server-share is
// the part of the CPU of a load that the reference server itself costs.
func BenchmarkLoadThroughput(b *testing.B) {
	b.Run("server=in-process", func(b *testing.B) {
		const n = 500
		benchThroughput(b, n, target(b, n*(b.N+1)))
	})
	b.Run("server=own-process", func(b *testing.B) {
		const n = 500
		tgt, cpu := childServer(b, n*(b.N+1))
		selfBefore, childBefore := selfCPU(), cpu()
		done := benchThroughput(b, n, tgt)
		self, child := selfCPU()-selfBefore, cpu()-childBefore
		b.ReportMetric(float64(self.Microseconds())/float64(done)/1000, "tool-cpu-ms/enrollment")
		b.ReportMetric(float64(child.Microseconds())/float64(done)/1000, "server-cpu-ms/enrollment")
		b.ReportMetric(100*float64(child)/float64(self+child), "server-share-%")
	})
}

// BenchmarkWholeLifeThroughput is issue 29's figure: enrollments per
// second through the whole life a device starts with (identity, check-in,
// commands, token life; probes off), 200 at once, every check on, the
// server in process; next to it, in the same run, the same load stopping
// at the profile (the figure of BenchmarkLoadThroughput), and the bare
// device (bareLife: an iPhone's user enrollment, the same cryptography, no
// checks) living the whole life 200 at once against the same server: what
// this machine allows the life at all. Each iteration is 500 enrollments
// of each.
func BenchmarkWholeLifeThroughput(b *testing.B) {
	const n = 500
	tgt := target(b, 3*n*(b.N+1)+1)
	bareLives := bareThroughput(b, tgt, accounts(3*n*(b.N+1)+1), 2*n*(b.N+1), n)
	mix, _ := load.ParseMix(load.DefaultMix)
	took := map[event.Until]time.Duration{}
	done := map[event.Until]int{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, until := range []event.Until{event.UntilProfile, event.UntilCommands} {
			res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: n, Concurrency: 200, Mix: mix,
				Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: 2 * n * (b.N + 1), Master: secret.New(master), First: (2*i + j) * n},
				Target:   tgt, Until: until}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if res.Enrolled() != n {
				b.Fatalf("until %s: enrolled %d of %d: %v", until, res.Enrolled(), n, res.Causes)
			}
			done[until] += res.Cases
			took[until] += res.Elapsed()
		}
	}
	b.StopTimer()
	whole := float64(done[event.UntilCommands]) / took[event.UntilCommands].Seconds()
	profile := float64(done[event.UntilProfile]) / took[event.UntilProfile].Seconds()
	b.ReportMetric(whole, "whole-life/s")
	b.ReportMetric(10000/whole, "whole-life-s/10k")
	b.ReportMetric(profile, "profile-only/s")
	b.ReportMetric(profile/whole, "profile/whole")
	bare := bareLives()
	b.ReportMetric(bare, "bare-whole-life/s")
	b.ReportMetric(bare/whole, "bare/engine")
}

// bareThroughput records one engine whole life (iPhone 18.2, user
// enrollment, probes off) on the account at first, and returns what plays
// n bare lives 200 at once on the accounts after it, once per iteration of
// b, and gives their rate per second.
func bareThroughput(b *testing.B, tgt sim.Target, accts load.Accounts, first, n int) func() float64 {
	rec := &recorder{next: tgt.Doer}
	recTarget := tgt
	recTarget.Doer = rec
	mix, _ := load.ParseMix("iphone@18.2:1")
	c := sim.Case{Name: "bare-recording", Device: mix[0].Device, Type: sim.TypeUser, Account: accts.At(first), Target: recTarget,
		Expect: sim.Expect{Enroll: true}, NoProbes: true, Until: event.UntilCommands}
	if out := (&sim.Engine{}).Player().Play(context.Background(), c, func(event.Event) {}); out != event.OutcomeEnrolled {
		b.Fatalf("recording case: %s", out)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	return func() float64 {
		var took time.Duration
		next := first + 1
		for i := 0; i < b.N; i++ {
			work := make(chan int)
			errs := make(chan error, n)
			var wg sync.WaitGroup
			start := time.Now()
			for range 200 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range work {
						errs <- bareLife(tgt.Doer, rec.reqs, accts.At(first).Identifier, accts.At(k), key)
					}
				}()
			}
			for range n {
				work <- next
				next++
			}
			close(work)
			wg.Wait()
			took += time.Since(start)
			close(errs)
			for err := range errs {
				if err != nil {
					b.Fatalf("bare life: %v", err)
				}
			}
		}
		return float64(n*b.N) / took.Seconds()
	}
}

func benchThroughput(b *testing.B, n int, tgt sim.Target) (done int) {
	mix, _ := load.ParseMix(load.DefaultMix)
	var took time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: n, Concurrency: 200, Mix: mix,
			Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: n * (b.N + 1), Master: secret.New(master), First: i * n},
			Target:   tgt, Until: event.UntilProfile}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Enrolled() != n {
			b.Fatalf("enrolled %d of %d: %v", res.Enrolled(), n, res.Causes)
		}
		done += res.Cases
		took += res.Elapsed()
	}
	b.StopTimer()
	b.ReportMetric(float64(done)/took.Seconds(), "enrollments/s")
	b.ReportMetric(10000/(float64(done)/took.Seconds()), "s/10k")
	return done
}

// selfCPU is the CPU time this process has used, user and system.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childServer starts the reference server in a child process (this test
// binary, see TestMain) and returns a target for it and a reading of the
// child's CPU time. The child ends when the benchmark ends.
func childServer(b *testing.B, accounts int) (sim.Target, func() time.Duration) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", benchServerEnv, accounts))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	var info benchServerInfo
	line, err := bufio.NewReader(io.LimitReader(stdout, 1<<20)).ReadBytes('\n')
	if err != nil || json.Unmarshal(line, &info) != nil {
		b.Fatalf("the child server did not say where it listens: %v %q", err, line)
	}
	all, stock := x509.NewCertPool(), x509.NewCertPool()
	if !all.AppendCertsFromPEM([]byte(info.CA)) || !stock.AppendCertsFromPEM([]byte(info.StockCA)) {
		b.Fatal("the child server's CA certificates do not parse")
	}
	client, err := transport.New(transport.Options{Timeout: 10 * time.Second, RootCAs: all, ConnectTo: []string{"::" + info.Addr}})
	if err != nil {
		b.Fatal(err)
	}
	pid := cmd.Process.Pid
	cpu := func() time.Duration {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Fatalf("the child server's CPU time: %v", err)
		}
		// Fields after the command name (which may hold spaces): utime
		// and stime are the 12th and 13th, in clock ticks of 1/100 s.
		_, rest, _ := bytes.Cut(raw, []byte(") "))
		f := strings.Fields(string(rest))
		if len(f) < 13 {
			b.Fatalf("/proc/%d/stat: %q", pid, raw)
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return time.Duration(ut+st) * 10 * time.Millisecond
	}
	return sim.Target{Name: "child", AxMURL: info.AxMURL, AxMDeclared: true, Doer: client, StockRoots: stock, Keys: keys.Reused}, cpu
}

// gate holds every device's last request, the enrollment with its access
// token, until opened: that many devices are then in flight at once, each
// holding all it gathered through discovery and sign-in.
type gate struct {
	next    sim.Doer
	arrived atomic.Int64
	open    chan struct{}
}

func newGate(next sim.Doer) *gate { return &gate{next: next, open: make(chan struct{})} }

func (g *gate) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Header.Get("Authorization") != "" {
		g.arrived.Add(1)
		<-g.open
	}
	return g.next.Do(req)
}

// waitFor polls until n devices wait at the gate, bounded in time.
func (g *gate) waitFor(b *testing.B, n int) {
	deadline := time.Now().Add(3 * time.Minute)
	for g.arrived.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d devices reached the gate in 3 minutes", g.arrived.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveHeap is the heap still reachable, after two collections.
func liveHeap() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkHeapPerDevice is figure (b): the heap each simulated device holds
// while in flight, with 1,000 of them waiting at once on their last request,
// next to the bare client's devices held at the same point in the same run;
// and the heap each finished device leaves behind in a load, from the
// difference between loads of 200 and 2,000 devices (both keep their
// results, which have a fixed size), which should be 0. The in-flight
// figures include what the in-process server holds for a device waiting
// there (its sign-in and token), the same on both sides.
func BenchmarkHeapPerDevice(b *testing.B) {
	const n = 1000
	accountsN := n * (2*b.N + 3)
	tgt := target(b, accountsN)
	mix, _ := load.ParseMix("iphone@18.2:1")
	accts := accounts(accountsN)
	used := 0
	loadOf := func(devices int, doer sim.Doer) load.Config {
		t := tgt
		t.Doer = doer
		cfg := load.Config{Devices: devices, Concurrency: devices, Mix: mix, Target: t, Until: event.UntilProfile,
			Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: accountsN, Master: secret.New(master), First: used}}
		used += devices
		return cfg
	}
	rec := &recorder{next: tgt.Doer}
	if res, err := load.Run(context.Background(), &sim.Engine{}, loadOf(1, rec), nil); err != nil || res.Enrolled() != 1 {
		b.Fatalf("recording case: %v %v", err, res)
	}
	first := accts.At(0).Identifier
	var engineKiB, bareKiB, finishedB float64
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		// The engine's devices, in flight.
		base := liveHeap()
		g := newGate(tgt.Doer)
		done := make(chan *load.Result, 1)
		cfg := loadOf(n, g)
		go func() {
			res, err := load.Run(context.Background(), &sim.Engine{}, cfg, nil)
			if err != nil {
				b.Error(err)
			}
			done <- res
		}()
		g.waitFor(b, n)
		inFlight := liveHeap()
		close(g.open)
		if res := <-done; res == nil || res.Enrolled() != n {
			b.Fatalf("engine: enrolled %v of %d", res, n)
		}
		engineKiB = float64(inFlight-base) / n / 1024

		// The bare client's devices, held at the same request.
		base = liveHeap()
		g = newGate(tgt.Doer)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			acct := accts.At(used + i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := bareEnroll(g, rec.reqs, first, acct); err != nil {
					errs <- err
				}
			}()
		}
		used += n
		g.waitFor(b, n)
		inFlight = liveHeap()
		close(g.open)
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatalf("bare: %v", err)
		}
		bareKiB = float64(inFlight-base) / n / 1024

		// Finished devices: what a load of 2,000 keeps beyond one of 200,
		// each against a server of its own that is closed before the heap
		// is measured, so that what the server keeps of an enrollment
		// (tokens, devices, used codes) is not counted as the tool's.
		retained := func(devices int) (int64, *load.Result) {
			base := liveHeap()
			t, stop, err := startEmbedded(devices)
			if err != nil {
				b.Fatal(err)
			}
			res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: devices, Concurrency: 200, Mix: mix, Target: t,
				Until: event.UntilProfile, Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: devices, Master: secret.New(master)}}, nil)
			if err != nil || res.Enrolled() != devices {
				b.Fatalf("load of %d: %v %v", devices, err, res)
			}
			stop()
			return liveHeap() - base, res
		}
		retained(200) // first-use caches (x509 roots, TLS, keys) fill here
		small, _ := retained(200)
		big, _ := retained(2000)
		finishedB = float64(big-small) / 1800
	}
	b.StopTimer()
	b.ReportMetric(engineKiB, "engine-KiB/in-flight")
	b.ReportMetric(bareKiB, "bare-KiB/in-flight")
	b.ReportMetric(engineKiB/bareKiB, "engine/bare")
	b.ReportMetric(finishedB, "B/finished")
}
