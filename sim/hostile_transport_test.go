package sim_test

// The whole-engine half of the transport corpus (issue 12, item 4): the
// reference server behind a loopback TLS listener of the test's own, whose
// handler turns hostile at one step of the flow. The engine talks to it
// through the real transport (internal/transport), as the CLI builds it, so
// the real header limit, timeouts and TLS checks apply.
//
// Each run plays two cases: the hostile one first, then the same flow
// against the now conforming server, which must still enroll cleanly. The
// whole run has a deadline, so a regression fails instead of hanging.

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// Limits of the corpus: a short per-request timeout keeps each case under
// a few seconds; the run deadline is what a hang would break. A stalling
// case's other requests share its timeout, so it leaves room for a loaded
// machine (1 s left little with eight corpus runs at once). The deadline
// is a hang's bound, far beyond what a busy machine takes: with 20 s, a
// stalled run's 14 s on two busy cores broke the stall tests' half of it.
const (
	corpusTimeout  = 2 * time.Second
	cleanTimeout   = 5 * time.Second // the clean case must not fail on a loaded machine
	corpusDeadline = 2 * time.Minute
)

// hostileHandler answers a request in its own way and returns true, or
// returns false to let the reference server answer.
type hostileHandler func(w http.ResponseWriter, r *http.Request) bool

// corpusCA issues the listener's certificates: one for every host of the
// reference server and the made-up hosts of cross-host chains.
type corpusCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCorpusCA(t *testing.T) *corpusCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "enrollsim corpus CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &corpusCA{cert: cert, key: key, pool: pool}
}

// chainHosts are the hosts of cross-host redirect chains, h0.test ...
const chainHosts = 16

func corpusNames() []string {
	names := []string{refserver.OrgDomain, refserver.MDMHost, refserver.IdPHost, refserver.AxMHost}
	for i := range chainHosts {
		names = append(names, fmt.Sprintf("h%d.test", i))
	}
	return names
}

// leaf issues a certificate; edit changes it before signing, and self
// signs it with its own key instead of the CA's.
func (ca *corpusCA) leaf(t *testing.T, names []string, edit func(*x509.Certificate), self bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if edit != nil {
		edit(tmpl)
	}
	parent, signer := ca.cert, any(ca.key)
	if self {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// corpus is the reference server behind the hostile listener.
type corpus struct {
	ref    *refserver.Server
	clock  *sim.VirtualClock
	target sim.Target
	armed  atomic.Bool // the hostile handler answers while armed
	// hostTLS, when set, replaces the listener's TLS config for one host
	// while armed (by SNI).
	hostTLS map[string]*tls.Config
	badCert func(names []string, edit func(*x509.Certificate), self bool) tls.Certificate
	hostile hostileHandler // set before play
	// quick plays the hostile case without the tester's probes: against a
	// stalling step each probe would wait out the timeout too, and the
	// probes go through the same bounded path as the device's requests.
	quick bool
	// timeout is the hostile case's per-request timeout: short only for
	// servers that stall, so that on a loaded machine a slow but honest
	// step of a case that should not stall is not cut short.
	timeout time.Duration
}

// on puts b on the requests of step st, and on the /corpus/ paths that
// hostile redirects lead to.
func (c *corpus) on(st corpusStep, b behaviour) {
	c.hostile = func(w http.ResponseWriter, r *http.Request) bool {
		if st.match(r) || strings.HasPrefix(r.URL.Path, "/corpus/") {
			b(w, r)
			return true
		}
		return false
	}
}

// http10 answers as the reference server would, but as HTTP/1.0 without
// Content-Length: the body ends when the connection closes. Valid HTTP.
func (c *corpus) http10(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	c.ref.Handler().ServeHTTP(rec, r)
	conn, rw := hijackRaw(w)
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.0 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Del("Content-Length")
	h.Set("Connection", "close")
	h.Write(rw)
	rw.WriteString("\r\n")
	rw.Write(rec.Body.Bytes())
	rw.Flush()
}

func startCorpus(t *testing.T) *corpus {
	t.Helper()
	return startCorpusWith(t, false)
}

// startCorpusWith h2 offers HTTP/2, as deployed servers do; hijacking
// behaviours need HTTP/1.1.
func startCorpusWith(t *testing.T, h2 bool) *corpus {
	t.Helper()
	c := &corpus{clock: &sim.VirtualClock{}}
	ref, err := refserver.Start(refserver.Config{Now: c.clock.Now, TOTPNow: c.clock.TOTPNow})
	require.NoError(t, err)
	t.Cleanup(func() { ref.Close() })
	c.ref = ref
	ca := newCorpusCA(t)
	good := ca.leaf(t, corpusNames(), nil, false)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.armed.Load() && c.hostile != nil && c.hostile(w, r) {
			return
		}
		ref.Handler().ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // failed handshakes are the point of some cases
	base := &tls.Config{Certificates: []tls.Certificate{good}}
	srv.TLS = &tls.Config{GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if cfg := c.hostTLS[hello.ServerName]; cfg != nil && c.armed.Load() {
			return cfg, nil
		}
		return base, nil
	}}
	srv.EnableHTTP2 = h2
	if h2 {
		base.NextProtos = []string{"h2", "http/1.1"}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	client, err := transport.New(transport.Options{Timeout: 5 * time.Second, RootCAs: ca.pool, ConnectTo: []string{"::" + srv.Listener.Addr().String()}})
	require.NoError(t, err)
	t.Cleanup(client.CloseIdleConnections)
	// The reference server behind the corpus keys nothing on device keys.
	c.target = sim.Target{Name: "corpus", AxMURL: ref.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: ca.pool, Keys: keys.Reused}
	c.hostTLS = map[string]*tls.Config{}
	c.badCert = func(names []string, edit func(*x509.Certificate), self bool) tls.Certificate {
		return ca.leaf(t, names, edit, self)
	}
	return c
}

func (c *corpus) account(id string) sim.Account {
	for _, d := range c.ref.Accounts() {
		if d.Identifier == id {
			return sim.Account{Identifier: id, Password: secret.New(d.Password), TOTPSecret: secret.New(d.TOTPSecret), ManagedAppleID: d.ManagedAppleID}
		}
	}
	panic("no account " + id)
}

// played is one run of the corpus: the hostile case and the clean one.
type played struct {
	hostile, clean sim.CaseReport
	obs            *check.Observations // of the hostile case
	events         []event.Event       // of the hostile case
	message        string              // the hostile case's case-end message
	elapsed        time.Duration
}

// play runs the hostile case of account id on device, disarms the hostile
// handler when it ends, and plays the same case again.
func (c *corpus) play(t *testing.T, ref, id string) played {
	t.Helper()
	p, err := c.run(ref, id)
	require.NoError(t, err)
	return p
}

// run is play without the test: it may run on any goroutine (see
// playAll), so it reports a hang or a lost case as an error.
func (c *corpus) run(ref, id string) (played, error) {
	var out played
	d, err := device.LookupDevice(ref)
	if err != nil {
		return out, err
	}
	mk := func(name string, timeout time.Duration) sim.Case {
		target := c.target
		target.Timeout = timeout
		return sim.Case{Name: name, Device: d, Account: c.account(id), Type: sim.TypeAuto, Expect: sim.Expect{Enroll: true}, Target: target}
	}
	if c.timeout == 0 {
		c.timeout = cleanTimeout
	}
	hostileCase := mk("hostile", c.timeout)
	hostileCase.NoProbes = c.quick
	c.armed.Store(true)
	eng := &sim.Engine{Limits: sim.Limits{StepTimeout: 10 * time.Second}, Clock: c.clock.Now, TOTPClock: c.clock}
	eng.SetObserved(func(name string, o *check.Observations) {
		if name == "hostile" {
			cp := *o
			out.obs = &cp
		}
	})
	done := make(chan struct{})
	var reps []sim.CaseReport
	var runErr error
	start := time.Now()
	go func() {
		defer close(done)
		reps, runErr = eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{hostileCase, mk("clean", cleanTimeout)}}, func(e event.Event) {
			if e.Case != "hostile" {
				return
			}
			out.events = append(out.events, e)
			if e.Kind == event.EventCaseEnd {
				out.message = e.Message
				c.armed.Store(false)
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(corpusDeadline):
		return out, fmt.Errorf("the run did not end within %s: the engine hung on a hostile server", corpusDeadline)
	}
	out.elapsed = time.Since(start)
	if runErr != nil {
		return out, runErr
	}
	if len(reps) != 2 {
		return out, fmt.Errorf("%d case reports, want 2: the run must go on to the next case", len(reps))
	}
	out.hostile, out.clean = reps[0], reps[1]
	return out, nil
}

// corpusJob is one run of playAll: a corpus already set up, and the case.
type corpusJob struct {
	name      string
	c         *corpus
	device    string
	account   string
	assertion func(t *testing.T, p played)
}

// playAll runs jobs eight at a time, then asserts each in its own subtest.
// Servers that stall make a run wait out its timeouts, which costs no CPU;
// t.Parallel would cap the concurrency at GOMAXPROCS.
func playAll(t *testing.T, jobs []corpusJob) {
	t.Helper()
	results := make([]played, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = j.c.run(j.device, j.account)
		}()
	}
	wg.Wait()
	for i, j := range jobs {
		t.Run(j.name, func(t *testing.T) {
			require.NoError(t, errs[i])
			judgedAgain(t, j, results[i])
			j.assertion(t, results[i])
		})
	}
}

// maxSavedHostile bounds a hostile case's saved observations: a body at
// the read cap would make a file of megabytes that says no more than a
// smaller one.
const maxSavedHostile = 256 << 10

// judgedAgain: what the engine emitted on a hostile server is what the
// judges return on the case's observations; with -update-observations the
// observations are saved for the judges' table tests (sim/check).
func judgedAgain(t *testing.T, j corpusJob, p played) {
	t.Helper()
	require.NotNil(t, p.obs, "the hostile case's observations were not handed over")
	engine := check.Outcomes(p.hostile.Results)
	assert.Equal(t, engine, check.Outcomes(check.JudgeAll(p.obs)),
		"the judges over the hostile case's observations disagree with what the engine emitted")
	if !*updateObservations {
		return
	}
	b, err := json.MarshalIndent(check.Saved{Setup: "hostile: " + j.name, Device: j.device, Type: "auto", Observations: p.obs, Results: engine}, "", " ")
	require.NoError(t, err)
	if len(b) > maxSavedHostile {
		return
	}
	name := "hostile_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, j.name)
	require.NoError(t, os.WriteFile(filepath.Join(observationsDir, name+".json"), append(b, '\n'), 0o644))
}

// said is everything the hostile case told people: its exchanges' errors,
// its results and its final message, one per line.
func (p played) said() string {
	var b strings.Builder
	for _, e := range p.events {
		if e.Kind == event.EventExchange && e.Exchange.Error != "" {
			b.WriteString(e.Exchange.Error + "\n")
		}
	}
	for _, r := range p.hostile.Results {
		b.WriteString(string(r.Status) + " " + r.ID + ": " + r.Actual + r.Detail + "\n")
	}
	return b.String() + p.message
}

// check asserts what every corpus run must show: the run went on to the
// clean case, which enrolled without a finding; the hostile case said what
// was wrong; and a limit or timeout of the simulator's own is never a FAIL.
func (p played) check(t *testing.T, want verdict) {
	t.Helper()
	assert.Equal(t, event.OutcomeEnrolled, p.clean.Outcome, "the case after the hostile one must still play")
	assert.Empty(t, tripped(p.clean), "the case after the hostile one:%s", describe(p.clean))
	if want.outcome != "" {
		assert.Equal(t, want.outcome, p.hostile.Outcome, "outcome; the case said:\n%s", p.said())
	}
	for _, s := range want.says {
		assert.Contains(t, p.said(), s, "the cause must be named")
	}
	for id, s := range want.trips {
		r := result(p.hostile, id)
		if assert.True(t, r.Tripped(), "%s must trip; the case said:\n%s", id, p.said()) {
			assert.Contains(t, r.Actual+r.Detail, s, id)
		}
	}
	for _, id := range want.passes {
		assert.Equal(t, check.Pass, result(p.hostile, id).Status, "%s; the case said:\n%s", id, p.said())
	}
	if want.testerLimit {
		for _, r := range p.hostile.Results {
			assert.NotEqual(t, check.Fail, r.Status, "%s failed on the simulator's own limit: %s", r.ID, r.Actual)
		}
	}
	if want.clean {
		assert.Empty(t, tripped(p.hostile), "valid HTTP, however unusual, is no finding:%s", describe(p.hostile))
	}
}

// verdict is what a corpus case must end in.
type verdict struct {
	outcome     string            // "" when the step decides (see the tests)
	says        []string          // the case must say each, somewhere
	trips       map[string]string // check → text its Actual must contain
	passes      []string
	testerLimit bool // the simulator's timeout or limit ended it: no FAIL
	clean       bool // valid HTTP: nothing may trip
}

// hijackRaw takes the connection over and writes raw bytes.
func hijackRaw(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter) {
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	return conn, rw
}

// Steps of the flow, by the request that starts them.
type corpusStep struct {
	name    string
	account string // an account whose flow passes the step
	match   func(r *http.Request) bool
}

func isReq(method, host, path string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.EqualFold(hostOnly(r.Host), host) && r.URL.Path == path
	}
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

var corpusSteps = []corpusStep{
	{"discovery", "alice@acme.test", isReq("GET", refserver.OrgDomain, sim.WellKnownPath)},
	{"discovery redirect target", "alice@acme.test", isReq("GET", refserver.MDMHost, sim.WellKnownPath)},
	{"401 challenge", "alice@acme.test", func(r *http.Request) bool {
		return isReq("POST", refserver.MDMHost, "/enroll/byod")(r) && r.Header.Get("Authorization") == ""
	}},
	{"login page", "alice@acme.test", isReq("GET", refserver.MDMHost, "/auth/login")},
	{"OAuth authorization", "erin@acme.test", isReq("GET", refserver.IdPHost, "/oauth2/authorize")},
	{"token endpoint", "erin@acme.test", isReq("POST", refserver.IdPHost, "/oauth2/token")},
	{"profile", "alice@acme.test", func(r *http.Request) bool {
		return isReq("POST", refserver.MDMHost, "/enroll/byod")(r) && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
	}},
}

// A behaviour answers a request of the step it is put on.
type behaviour func(w http.ResponseWriter, r *http.Request)

const gib = 1 << 30

// record is what the reference server answers to r.
func (c *corpus) record(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	c.ref.Handler().ServeHTTP(rec, r)
	return rec
}

// padded answers as the reference server would, but its body goes on after
// the real one: to n bytes in all (never held in memory), or forever when
// n < 0, in chunks of chunk bytes with pause between them.
func (c *corpus) padded(n, chunk int, pause time.Duration) behaviour {
	return func(w http.ResponseWriter, r *http.Request) {
		rec := c.record(r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.Header().Del("Content-Length")
		if n >= 0 {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.WriteHeader(rec.Code)
		real := rec.Body.Bytes()
		if n >= 0 && len(real) > n {
			real = real[:n]
		}
		w.Write(real)
		buf := []byte(strings.Repeat(" ", chunk))
		for sent := len(real); (n < 0 || sent < n) && r.Context().Err() == nil; sent += len(buf) {
			if n >= 0 && n-sent < len(buf) {
				buf = buf[:n-sent]
			}
			if _, err := w.Write(buf); err != nil {
				return
			}
			if pause > 0 {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
				case <-time.After(pause):
				}
			}
		}
	}
}

// resetMidBody answers as the reference server would, announces 100 bytes
// more than it sends and resets the connection (SO_LINGER 0: RST, not FIN).
func (c *corpus) resetMidBody(w http.ResponseWriter, r *http.Request) {
	rec := c.record(r)
	conn, rw := hijackRaw(w)
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(rec.Body.Len()+100))
	h.Write(rw)
	rw.WriteString("\r\n")
	rw.Write(rec.Body.Bytes())
	rw.Flush()
	conn.(*tls.Conn).NetConn().(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// resetMidChunks sends the reference server's body as one chunk of a
// chunked body and resets the connection before the last chunk.
func (c *corpus) resetMidChunks(w http.ResponseWriter, r *http.Request) {
	rec := c.record(r)
	conn, rw := hijackRaw(w)
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Del("Content-Length")
	h.Set("Transfer-Encoding", "chunked")
	h.Write(rw)
	fmt.Fprintf(rw, "\r\n%x\r\n", rec.Body.Len()+1)
	rw.Write(rec.Body.Bytes())
	rw.WriteString(" \r\n")
	rw.Flush()
	conn.(*tls.Conn).NetConn().(*net.TCPConn).SetLinger(0)
	conn.Close()
}

func neverAnswers(w http.ResponseWriter, r *http.Request) {
	conn, _ := hijackRaw(w)
	defer conn.Close()
	io.Copy(io.Discard, conn) // until the client gives up
}

func slowHeaders(w http.ResponseWriter, r *http.Request) {
	conn, _ := hijackRaw(w)
	defer conn.Close()
	for _, b := range []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n") {
		if _, err := conn.Write([]byte{b}); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rawAnswer(head string) behaviour {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, rw := hijackRaw(w)
		defer conn.Close()
		rw.WriteString(head + "\r\nContent-Length: 0\r\n\r\n")
		rw.Flush()
	}
}

func bigHeader(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Big", strings.Repeat("a", 1<<20))
	w.WriteHeader(http.StatusOK)
}

func manyHeaders(w http.ResponseWriter, r *http.Request) {
	for i := range 10000 {
		w.Header().Set(fmt.Sprintf("X-Hostile-%05d", i), strings.Repeat("v", 24))
	}
	w.WriteHeader(http.StatusOK)
}

func redirect(status int, loc func(r *http.Request) string) behaviour {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", loc(r))
		w.WriteHeader(status)
	}
}

func fixed(loc string) func(*http.Request) string { return func(*http.Request) string { return loc } }

// stepNamed finds a step of corpusSteps.
func stepNamed(name string) corpusStep {
	for _, s := range corpusSteps {
		if s.name == name {
			return s
		}
	}
	panic("no step " + name)
}

// limitsJudged are the steps whose checks are shown here never to FAIL on
// the simulator's own timeout or limits: every step of the corpus.
var limitsJudged = map[string]bool{"discovery": true, "discovery redirect target": true, "login page": true, "401 challenge": true, "token endpoint": true, "profile": true, "OAuth authorization": true}

// The run ends, names the cause and goes on, whatever body a step sends.
// The discovery step's first answer is a redirect: its body is never read,
// as a device never reads it, so it cannot stall discovery at all.
func TestCorpusBodiesAtEveryStep(t *testing.T) {
	bodies := []struct {
		name  string
		make  func(c *corpus) behaviour
		stall bool
		want  verdict
	}{
		{"1 GiB body", func(c *corpus) behaviour { return c.padded(gib, 32<<10, 0) }, false, verdict{trips: map[string]string{"SEC-003": "read limit"}, testerLimit: true}},
		{"endless chunked body", func(c *corpus) behaviour { return c.padded(-1, 64, time.Millisecond) }, true,
			verdict{trips: map[string]string{"SEC-003": "no complete answer within " + corpusTimeout.String()}, testerLimit: true}},
		{"reset mid-body", func(c *corpus) behaviour { return c.resetMidBody }, false, verdict{says: []string{"the connection ended (closed or reset) after", "bytes announced"}}},
		{"reset mid-chunked-body", func(c *corpus) behaviour { return c.resetMidChunks }, false, verdict{says: []string{"the connection ended (closed or reset) after", "before the last chunk"}}},
	}
	var jobs []corpusJob
	for _, st := range corpusSteps {
		for _, b := range bodies {
			c := startCorpus(t)
			c.quick = true
			if b.stall && st.name != "discovery" {
				c.timeout = corpusTimeout
			}
			c.on(st, b.make(c))
			jobs = append(jobs, corpusJob{st.name + "/" + b.name, c, "iphone@18.1", st.account, func(t *testing.T, p played) {
				want := b.want
				want.testerLimit = want.testerLimit && limitsJudged[st.name]
				if st.name == "discovery" {
					want = verdict{outcome: event.OutcomeEnrolled, passes: []string{"SEC-003", "WK-015"}, clean: true}
				}
				p.check(t, want)
			}})
		}
	}
	playAll(t, jobs)
}

// One byte per second, slow headers, and a server that accepts and never
// answers: the per-request timeout ends each, and it is the simulator's
// timeout that is named, never a FAIL of the server.
func TestCorpusStalls(t *testing.T) {
	stalls := []struct {
		name string
		make func(c *corpus) behaviour
	}{
		{"one byte per second", func(c *corpus) behaviour { return c.padded(100<<10, 1, time.Second) }},
		{"slow headers", func(*corpus) behaviour { return slowHeaders }},
		{"never answers", func(*corpus) behaviour { return neverAnswers }},
	}
	var jobs []corpusJob
	for _, name := range []string{"discovery redirect target", "401 challenge", "login page", "token endpoint", "profile"} {
		st := stepNamed(name)
		for _, s := range stalls {
			c := startCorpus(t)
			c.quick, c.timeout = true, corpusTimeout
			c.on(st, s.make(c))
			jobs = append(jobs, corpusJob{st.name + "/" + s.name, c, "iphone@18.1", st.account, func(t *testing.T, p played) {
				p.check(t, verdict{
					says:        []string{"within " + corpusTimeout.String()},
					trips:       map[string]string{"SEC-003": "no complete answer within " + corpusTimeout.String()},
					testerLimit: limitsJudged[st.name],
				})
				// The verdict above proves the timeout cut the stall; this
				// only catches a run that went on long after it.
				assert.Less(t, p.elapsed, corpusDeadline/2)
			}})
		}
	}
	playAll(t, jobs)
}

// A 1 MiB header and 10,000 headers break the transport's 256 KiB bound,
// which is named; a NUL in a header is invalid HTTP, which is named too.
func TestCorpusHeadersAtEveryStep(t *testing.T) {
	overLimit := verdict{says: []string{"the response headers are over 256 KiB"}, trips: map[string]string{"SEC-003": "the response headers are over 256 KiB"}, testerLimit: true}
	heads := []struct {
		name string
		b    behaviour
		h2   bool
		want verdict
	}{
		{"a 1 MiB header", bigHeader, false, overLimit},
		{"10,000 headers", manyHeaders, false, overLimit},
		{"a 1 MiB header over HTTP/2", bigHeader, true, overLimit},
		{"10,000 headers over HTTP/2", manyHeaders, true, overLimit},
		{"a NUL byte in a header", rawAnswer("HTTP/1.1 200 OK\r\nX-A: a\x00b"), false, verdict{says: []string{`the response is not valid HTTP`, `"X-A: a\x00b"`}}},
	}
	for _, st := range corpusSteps {
		for _, h := range heads {
			t.Run(st.name+"/"+h.name, func(t *testing.T) {
				c := startCorpusWith(t, h.h2)
				c.on(st, h.b)
				p := c.play(t, "iphone@18.1", st.account)
				want := h.want
				want.testerLimit = want.testerLimit && limitsJudged[st.name]
				if st.name == "discovery" {
					// Nothing answered the device at all: exit code 3.
					want.outcome = event.OutcomeError
				}
				p.check(t, want)
				assert.NotContains(t, p.said(), strings.Repeat("a", 1<<10), "a hostile header must not be copied into the report")
			})
		}
	}
}

// HTTP/1.0 without Content-Length, the body ending at close, is valid HTTP
// (RFC 9112 §6.3) at every step: the flow enrolls and nothing trips.
func TestCorpusHTTP10CloseDelimitedIsValid(t *testing.T) {
	for _, st := range corpusSteps {
		t.Run(st.name, func(t *testing.T) {
			c := startCorpus(t)
			c.on(st, c.http10)
			p := c.play(t, "iphone@18.1", st.account)
			p.check(t, verdict{outcome: event.OutcomeEnrolled, clean: true})
		})
	}
}

// Redirects a hostile server can send at every step that follows them, and
// what each must end in: in discovery (follow), the check that names it;
// in the web view (login page, OAuth authorization), the cause it names.
var hostileRedirects = []struct {
	name      string
	make      func() behaviour
	discovery [2]string // check ID, text of its Actual
	web       string
}{
	{"endless chain", func() behaviour {
		var n atomic.Int64
		return redirect(http.StatusFound, func(*http.Request) string { return fmt.Sprintf("/corpus/%d", n.Add(1)) })
	}, [2]string{"RD-004", "more than 10 redirects"}, "no callback after 20 requests (the page limit)"},
	{"cross-host chain", func() behaviour {
		var n atomic.Int64
		return redirect(http.StatusFound, func(*http.Request) string {
			i := n.Add(1)
			return fmt.Sprintf("https://h%d.test/corpus/%d", i%chainHosts, i)
		})
	}, [2]string{"RD-004", "more than 10 redirects"}, "no callback after 20 requests (the page limit)"},
	{"loop A→B→A", func() behaviour {
		return redirect(http.StatusFound, func(r *http.Request) string {
			if r.URL.Path == "/corpus/a" {
				return "https://h1.test/corpus/b"
			}
			return "https://h0.test/corpus/a"
		})
	}, [2]string{"RD-004", "redirect loop: https://h1.test/corpus/b leads back to https://h0.test/corpus/a"}, "a loop? GET https://h0.test/corpus/a was requested"},
	{"javascript:", func() behaviour { return redirect(http.StatusFound, fixed("javascript:alert(document.cookie)")) },
		[2]string{"RD-005", `uses scheme "javascript": the device follows only https redirects`}, "javascript: Location, which no browser follows"},
	{"file:", func() behaviour { return redirect(http.StatusFound, fixed("file:///etc/passwd")) },
		[2]string{"RD-005", `uses scheme "file"`}, `leads to "file:///etc/passwd", neither http(s) nor the callback scheme`},
	{"data:", func() behaviour { return redirect(http.StatusFound, fixed("data:text/html,<h1>hi</h1>")) },
		[2]string{"RD-005", `uses scheme "data"`}, `leads to "data:text/html,<h1>hi</h1>", neither http(s) nor the callback scheme`},
	{"custom scheme", func() behaviour {
		return redirect(http.StatusFound, fixed("itms-services://?action=download-manifest&url=https://h0.test/x"))
	}, [2]string{"RD-005", `uses scheme "itms-services"`}, `leads to "itms-services:`},
	{"http downgrade", func() behaviour { return redirect(http.StatusFound, fixed("http://h0.test/corpus/plain")) },
		[2]string{"RD-003", "http://h0.test/corpus/plain"}, "http://h0.test/corpus/plain"},
	{"Location that does not parse", func() behaviour { return redirect(http.StatusFound, fixed("https://h0.test/%zz")) },
		[2]string{"RD-005", `Location "https://h0.test/%zz" from https://acme.test/`}, `with a Location that is not a URL: "https://h0.test/%zz"`},
	{"empty Location", func() behaviour { return redirect(http.StatusFound, fixed("")) },
		[2]string{"RD-005", "has no Location"}, "without a Location header"},
}

// Every step that follows redirects ends a hostile chain with a verdict
// that names it, and the run goes on.
func TestCorpusRedirectsAtEveryStep(t *testing.T) {
	for _, name := range []string{"discovery", "401 challenge", "login page", "OAuth authorization"} {
		st := stepNamed(name)
		for _, rd := range hostileRedirects {
			t.Run(st.name+"/"+rd.name, func(t *testing.T) {
				c := startCorpus(t)
				c.on(st, rd.make())
				p := c.play(t, "iphone@18.1", st.account)
				switch name {
				case "discovery":
					p.check(t, verdict{outcome: event.OutcomeDiscoveryFailed, trips: map[string]string{rd.discovery[0]: rd.discovery[1]}})
				case "401 challenge":
					// The enrollment POST is redirected (ENR-011); a device
					// cancels at whatever the chain ends in.
					p.check(t, verdict{outcome: event.OutcomeEnrollFailed, trips: map[string]string{"ENR-011": "redirected: 302 to"}})
				default:
					p.check(t, verdict{outcome: event.OutcomeAuthFailed, says: []string{rd.web}})
				}
			})
		}
	}
}

// TLS a device refuses, on the organisation domain (nothing answers: the
// run could not complete, exit code 3 territory) and on the MDM host behind
// its redirect (discovery fails as on a device). Each names its cause in
// the SEC check that covers it and in the case's message.
func TestCorpusTLS(t *testing.T) {
	expired := func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	bad := []struct {
		name  string
		cfg   func(c *corpus, host string) *tls.Config
		cause string
		trips [2]string
	}{
		{"expired certificate", func(c *corpus, host string) *tls.Config {
			return &tls.Config{Certificates: []tls.Certificate{c.badCert([]string{host}, expired, false)}}
		}, "x509: certificate has expired", [2]string{"SEC-002", "the certificate has expired"}},
		{"self-signed certificate", func(c *corpus, host string) *tls.Config {
			return &tls.Config{Certificates: []tls.Certificate{c.badCert([]string{host}, nil, true)}}
		}, "x509: certificate signed by unknown authority", [2]string{"SEC-002", "signed by an unknown authority"}},
		{"wrong-host certificate", func(c *corpus, host string) *tls.Config {
			return &tls.Config{Certificates: []tls.Certificate{c.badCert([]string{"other.test"}, nil, false)}}
		}, "not " + "%s", [2]string{"SEC-002", "the certificate is for another host"}},
		{"TLS 1.0 only", func(c *corpus, host string) *tls.Config {
			return &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10,
				Certificates: []tls.Certificate{c.badCert(corpusNames(), nil, false)}}
		}, "TLS 1.0 offered, devices require TLS 1.2 or newer", [2]string{"SEC-001", "TLS 1.0 offered, devices require TLS 1.2 or newer"}},
	}
	hosts := []struct {
		host    string
		outcome string
		wk001   check.Status
	}{
		{refserver.OrgDomain, event.OutcomeError, check.Error},
		{refserver.MDMHost, event.OutcomeDiscoveryFailed, check.Fail},
	}
	for _, h := range hosts {
		for _, b := range bad {
			t.Run(h.host+"/"+b.name, func(t *testing.T) {
				c := startCorpus(t)
				c.hostTLS[h.host] = b.cfg(c, h.host)
				p := c.play(t, "iphone@18.1", "alice@acme.test")
				cause := b.cause
				if strings.Contains(cause, "%s") {
					cause = fmt.Sprintf("x509: certificate is valid for other.test, not %s", h.host)
				}
				p.check(t, verdict{outcome: h.outcome, says: []string{cause}, trips: map[string]string{b.trips[0]: b.trips[1]}})
				assert.Equal(t, h.wk001, result(p.hostile, "WK-001").Status, "WK-001: %s", result(p.hostile, "WK-001").Actual)
			})
		}
	}
}

// junk is what a server can put in a header and in a page that a browser
// shows anyway: invalid UTF-8 (obs-text is legal in a field value), an
// escape sequence and a NUL in the page (HTML parsers replace it).
const junk = "caf\xe9 \xff\xfe \x1b[31mred\x1b[0m \x00 \xc3"

// withJunk answers as the reference server would, with junk in a header
// and, for an HTML page, in a comment after the page's first 512 bytes.
func (c *corpus) withJunk(w http.ResponseWriter, r *http.Request) {
	rec := c.record(r)
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Set("X-Junk", strings.NewReplacer("\x1b", "", "\x00", "").Replace(junk)) // net/http refuses controls in a header
	body := rec.Body.Bytes()
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		body = append(append(body, strings.Repeat(" ", 512)...), "<!-- "+junk+" -->"...)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body)
}

// Invalid UTF-8, escape sequences and NUL bytes in headers and pages are
// no finding (browsers show such pages), and never reach a report as they
// are: every event marshals to valid JSON and carries no control bytes.
func TestCorpusInvalidUTF8AndNUL(t *testing.T) {
	for _, name := range []string{"discovery redirect target", "401 challenge", "login page", "OAuth authorization", "token endpoint", "profile"} {
		st := stepNamed(name)
		t.Run(st.name, func(t *testing.T) {
			c := startCorpus(t)
			c.on(st, c.withJunk)
			p := c.play(t, "iphone@18.1", st.account)
			p.check(t, verdict{outcome: event.OutcomeEnrolled, clean: true})
			sawJunk := false
			for _, e := range p.events {
				data, err := json.Marshal(e)
				require.NoError(t, err)
				assert.True(t, utf8.Valid(data))
				if e.Kind != event.EventExchange {
					continue
				}
				x := e.Exchange
				texts := []string{x.ResponseBody, x.Error, x.URL}
				for k, vs := range x.ResponseHeaders {
					texts = append(texts, k)
					texts = append(texts, vs...)
					sawJunk = sawJunk || k == "X-Junk"
				}
				for _, s := range texts {
					assert.True(t, utf8.ValidString(s), "exchange %d carries invalid UTF-8: %q", x.Seq, s)
					assert.NotContains(t, s, "\x1b", "exchange %d carries an escape sequence", x.Seq)
					assert.NotContains(t, s, "\x00", "exchange %d carries a NUL", x.Seq)
				}
			}
			assert.True(t, sawJunk, "the hostile step was not played")
		})
	}
}
