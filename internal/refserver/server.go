// Package refserver is enrollsim's reference server: an organisation
// (acme.test), its MDM (mdm.acme.test), its identity provider
// (idp.acme.test) and a stand-in for Apple's AxM services (axm.test), all
// behind one loopback HTTPS listener. It conforms to the account-driven
// enrollment spec by default; named faults (see Faults) break it in
// documented ways, so that every conformance check can be shown to fire on a
// broken server and to stay quiet on a good one.
//
// Endpoints: discovery (discovery.go, axm.go); the BaseURLs, which answer
// the first POST with a 401 challenge and the second with the profile
// (enroll.go, profilegen.go); the apple-as-web login on the MDM and,
// federated, on the identity provider (login.go, totp.go); OAuth 2 on the
// identity provider (oauth.go); and what they all issue (tokens.go).
package refserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/enrollsim/enrollsim/internal/axm"
)

// Host names the server answers for. Clients reach them by dialling Addr for
// every name (a --resolve override or a custom DialContext).
const (
	OrgDomain = "acme.test"     // the organisation's domain: users are name@acme.test
	MDMHost   = "mdm.acme.test" // the MDM service
	AxMHost   = "axm.test"      // stands in for mdmenrollment.apple.com and axm-servicediscovery.apple.com
	IdPHost   = "idp.acme.test" // the organisation's identity provider (federated web login, OAuth 2)
)

const defaultSlowDelay = 20 * time.Second

// Config selects the server's behaviour. The zero value is a conforming
// server on a random loopback port.
type Config struct {
	// AllowRemote lets Addr be any address, as in a pod serving a cluster:
	// the admin API and the accounts' sign-ins are then open to whoever
	// reaches it.
	AllowRemote bool
	// CA, when set, is the authority the server issues its certificates
	// under, instead of one made at start (the private CA of the
	// private-ca fault is still made at start).
	CA        *CA
	Faults    []string                         // names from Faults(); all switched on together
	Now       func() time.Time                 // clock for timestamps, token expiry and TOTP; default time.Now
	Addr      string                           // listen address; loopback only unless AllowRemote; default "127.0.0.1:0"
	SlowDelay time.Duration                    // how long wellknown-slow stalls; default 20s
	Logf      func(format string, args ...any) // optional request and error log; nil logs nothing
	// TOTPNow, when set, is the time at which the second factor of the
	// account with this seed is judged, in place of Now: the embedded
	// target jumps one account's TOTP time instead of waiting for a fresh
	// code, while sessions and tokens still age by Now (sim.VirtualClock).
	TOTPNow func(seed string) time.Time
	// CommandDelay, when positive, makes the server queue an enrollment's
	// first commands as a real MDM's background worker does: this long
	// after the device channel's first TokenUpdate, not at the first Idle
	// connect. A connect before then gets the empty 200 of an empty queue,
	// and only a device that connects again (after a push, or polling)
	// gets the commands.
	CommandDelay time.Duration
	// WorkerNow, when set, is the worker's clock for the enrollment with
	// this EnrollmentID or UDID, in place of Now: the embedded target
	// gives each enrollment a virtual worker time that moves only when
	// the device's poll wait jumps it (sim.VirtualClock.WorkerNow), so
	// "3 s after TokenUpdate" is 3 s of virtual time whatever the load.
	WorkerNow func(enrollment string) time.Time
	// APNs, when set, is the APNs provider API the server pushes through
	// after its worker queues commands (push.go): the stand-in of
	// internal/apns. Nil: the server never pushes.
	APNs *APNs
	// AxMDefaults are AxM's default device assignments on the stand-in:
	// model family (iPhone, iPad, Mac, RealityDevice) to AxMServerName or
	// AxMOtherServer. Nil sends every family to the reference server.
	AxMDefaults map[string]string
	// OutsideAxM, when set, is a Device Assignment API elsewhere (enrollsim
	// axm serve) that the server registers with instead of its own
	// stand-in, as a vendor's server registers with Apple.
	OutsideAxM *OutsideAxM
	// OnIssue, when set, sees every credential the server mints (access
	// and refresh tokens, authorization codes, hand-over tickets) before
	// it leaves the server: tests use it to prove none reaches an output.
	OnIssue func(credential string)
	// Accounts adds pattern accounts for load runs: Count users named by
	// Pattern (accounts.DefaultPattern when empty), BYOD, signing in on the
	// MDM's web login, their passwords and TOTP seeds derived from Master
	// with accounts.Derive, as the load mode derives them.
	Accounts PatternAccounts
	// DDM turns declarative device management on (ddm.go): every new
	// enrollment gets a declaration set, its first commands end with
	// DeclarativeManagement, and check-in answers its endpoints. A DDM
	// fault turns it on too.
	DDM bool
}

// PatternAccounts are the reference server's accounts for load runs.
type PatternAccounts struct {
	Pattern string
	Count   int
	Master  string
	Kind    string // KindBYOD (default) or KindADDE
}

// OutsideAxM is where and how the server reaches another Device Assignment
// API.
type OutsideAxM struct {
	BaseURL string
	// TokenFor makes the server token for the server's DEP certificate, as
	// an administrator downloads it from Apple Business Manager.
	TokenFor func(cert *x509.Certificate) ([]byte, error)
	// Roots are the CAs the server trusts for it; nil: the system's.
	Roots *x509.CertPool
}

// Server is a running reference server.
type Server struct {
	cfg       Config
	faults    map[string]bool
	ca        *authority
	dir       *directory
	stand     *axm.Stand              // the AxM stand-in on AxMHost (axm.go)
	axmClient *axm.Client             // the server's own Device Assignment API client
	tokens    *tokenStore             // access tokens, codes, tickets, refresh tokens
	totp      *totpLedger             // second-factor codes already used
	logins    *sessionStore           // web login sessions, by cookie
	scep      scepChallenges          // SCEP challenges handed out in profiles
	topic     string                  // the MDM's push topic, com.apple.mgmt.External.<uuid>
	push      *pusher                 // pushes through Config.APNs (push.go); nil without
	mdm       *mdmRegistry            // enrollments that checked in (mdm.go), made by mdmRoutes
	sites     map[string]http.Handler // by lower-case host name without port
	handler   http.Handler
	// rateLimited: login-rate-limited-once has answered its one 429.
	rateLimited atomic.Bool

	ln   net.Listener
	srv  *http.Server
	done chan struct{}
	// Under tls12-no-ems (noems.go): the listener that reads each
	// ClientHello's SNI, and socat terminating mdm.acme.test's TLS.
	sniLn *sniListener
	ems   *emsTerminator
}

// Start builds the server, registers its discovery URL with its own AxM
// stand-in and serves HTTPS on cfg.Addr until Close.
func Start(cfg Config) (*Server, error) {
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("refserver: listen on %s: %w", s.cfg.Addr, err)
	}
	if s.has(FaultTLS12NoEMS) {
		leaf := s.ca.leaf
		if s.has(FaultPrivateCA) { // combined: socat serves mdm.acme.test too
			leaf = s.ca.privateLeaf
		}
		ems, err := startEMSTerminator(leaf, s.handler, s.logf)
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.ems = ems
		s.sniLn = newSNIListener(ln, func(sni string) bool { return canonicalHost(sni) == MDMHost }, ems.addr, sniPeekTimeout, s.logf)
		ln = s.sniLn
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		// net/http logs handshake failures to stderr by default; a test
		// server that talks unasked pollutes the CLI's output.
		ErrorLog: log.New(logfWriter(s.logf), "", 0),
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		// ServeTLS only returns ErrServerClosed after Close, or an accept
		// error that Close is about to cause anyway.
		if err := s.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logf("refserver: serve: %v", err)
		}
	}()
	if err := s.startAxM(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// tlsConfig is TLS 1.2 or later with the main CA's leaf for every host,
// except where a transport fault picks by SNI: private-ca serves
// mdm.acme.test a leaf of the private CA, tls-rsa-1024 and tls-sha1-cert a
// weak leaf of the main CA, tls-ecdsa-224-ca a leaf under a weak issuing CA; tls-legacy caps mdm.acme.test's connections at
// TLS 1.1, tls12-cbc-only at TLS 1.2 with CBC suites. (tls12-no-ems picks
// by SNI before this config is reached: noems.go.)
func (s *Server) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{s.ca.leaf},
		// A device whose profile says SignMessage false presents its MDM
		// identity as the TLS client certificate; check-in verifies it
		// (mdm.go), every other endpoint ignores it.
		ClientAuth: tls.RequestClientCert,
	}
	mdmLeaf := &s.ca.leaf
	switch {
	case s.has(FaultPrivateCA):
		mdmLeaf = &s.ca.privateLeaf
	case s.has(FaultTLSRSA), s.has(FaultTLSSHA1), s.has(FaultTLSSmallCA):
		fault := FaultTLSRSA
		if s.has(FaultTLSSHA1) {
			fault = FaultTLSSHA1
		} else if s.has(FaultTLSSmallCA) {
			fault = FaultTLSSmallCA
		}
		weak, err := s.ca.weakLeaf(fault)
		if err != nil {
			return nil, err
		}
		mdmLeaf = &weak
	}
	if mdmLeaf != &s.ca.leaf {
		cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			if canonicalHost(hello.ServerName) == MDMHost {
				return mdmLeaf, nil
			}
			return &s.ca.leaf, nil
		}
	}
	var narrow func(*tls.Config)
	switch {
	case s.has(FaultTLSLegacy):
		narrow = func(c *tls.Config) { c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11 }
	case s.has(FaultTLSCBC):
		narrow = func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
		}
	}
	if narrow != nil {
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			if canonicalHost(hello.ServerName) != MDMHost {
				return nil, nil // the server's own config
			}
			c := &tls.Config{
				MinVersion:     tls.VersionTLS12,
				Certificates:   cfg.Certificates,
				GetCertificate: cfg.GetCertificate,
				// HTTP/2 needs TLS 1.2 with an AEAD suite: HTTP/1.1 only.
				NextProtos: []string{"http/1.1"},
				ClientAuth: cfg.ClientAuth,
			}
			narrow(c)
			return c, nil
		}
	}
	return cfg, nil
}

func newServer(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.SlowDelay <= 0 {
		cfg.SlowDelay = defaultSlowDelay
	}
	if !cfg.AllowRemote {
		if err := checkLoopback(cfg.Addr); err != nil {
			return nil, err
		}
	}
	if pa := cfg.Accounts; pa.Count != 0 {
		switch {
		case pa.Count < 0 || pa.Count > 1_000_000:
			return nil, fmt.Errorf("refserver: %d pattern accounts: want 1 to 1000000", pa.Count)
		case pa.Pattern != "" && (!strings.Contains(pa.Pattern, "{n}") || !isVerifiedDomain(domainOf(pa.Pattern))):
			return nil, fmt.Errorf("refserver: account pattern %q: want {n} and a domain of the organisation (%s), e.g. user{n}@acme.test", pa.Pattern, strings.Join(verifiedDomains, ", "))
		case pa.Master == "":
			return nil, errors.New("refserver: pattern accounts need a master secret")
		}
	}
	faults, err := parseFaults(cfg.Faults)
	if err != nil {
		return nil, err
	}
	ca, err := newAuthority(cfg.Now(), cfg.CA)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		faults: faults,
		ca:     ca,
		dir:    newDirectory(builtinAccounts, cfg.Accounts),
		tokens: newTokenStore(),
		totp:   newTOTPLedger(),
		logins: newSessionStore(),
		topic:  "com.apple.mgmt.External." + newUUID(),
	}
	if s.push, err = newPusher(cfg.APNs, s.topic); err != nil {
		return nil, err
	}
	if err := s.newAxM(); err != nil {
		return nil, err
	}
	s.sites = s.routes()
	s.handler = http.HandlerFunc(s.serveHost)
	if cfg.Logf != nil {
		s.handler = s.logRequests(s.handler)
	}
	return s, nil
}

// routes builds one mux per host. Each concern adds its own endpoints, so a
// later concern (enrollment, web login) is one more call here.
func (s *Server) routes() map[string]http.Handler {
	org := http.NewServeMux()
	s.orgRoutes(org)

	mdm := http.NewServeMux()
	s.discoveryRoutes(mdm)
	s.enrollRoutes(mdm)
	s.loginRoutes(mdm)
	s.scepRoutes(mdm)
	s.mdmRoutes(mdm)
	s.essoRoutes(mdm)
	s.axmAdminRoutes(mdm)

	idp := http.NewServeMux()
	s.idpRoutes(idp)
	s.jsRoutes(idp)

	axm := http.NewServeMux()
	s.axmRoutes(axm)

	return map[string]http.Handler{
		OrgDomain: org,
		MDMHost:   mdm,
		IdPHost:   idp,
		AxMHost:   axm,
	}
}

// serveHost dispatches on the Host header because every site shares one
// listener; the port is stripped since clients may or may not send it.
func (s *Server) serveHost(w http.ResponseWriter, r *http.Request) {
	host := canonicalHost(r.Host)
	site, ok := s.sites[host]
	if !ok {
		writeText(w, http.StatusMisdirectedRequest,
			fmt.Sprintf("refserver: no site for host %q; served hosts: %s\n", host, strings.Join(s.Hosts(), ", ")))
		return
	}
	site.ServeHTTP(w, r)
}

func canonicalHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimPrefix(strings.TrimSuffix(host, "]"), "[")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// checkLoopback refuses anything but a loopback address: the server hands
// out test credentials and per-user documents to whoever asks.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("refserver: listen address %q: %w", addr, err)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refserver: listen address %q is not a loopback address\nuse 127.0.0.1:PORT or [::1]:PORT", addr)
}

// Addr returns the listening address, e.g. "127.0.0.1:50123".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port returns the listening TCP port.
func (s *Server) Port() int {
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// Close stops the server and drops open connections, which also cancels the
// context of any request still in a handler.
func (s *Server) Close() error {
	s.push.close()
	err := s.srv.Close()
	<-s.done
	if s.sniLn != nil {
		s.sniLn.Close()
		s.sniLn.wait()
	}
	if s.ems != nil {
		s.ems.close()
	}
	return err
}

// Handler returns the server's whole HTTP handler (all hosts) for in-memory
// use; requests must carry the Host they are meant for.
func (s *Server) Handler() http.Handler { return s.handler }

// Accounts returns the built-in directory.
func (s *Server) Accounts() []Account { return slices.Clone(s.dir.accounts) }

// AxMURL is the device-side AxM fallback endpoint of the stand-in, the
// counterpart of https://axm-servicediscovery.apple.com/mdmBaseURL.
func (s *Server) AxMURL() string { return "https://" + AxMHost + axm.FallbackPath }

// Hosts returns the host names the server answers for, sorted.
func (s *Server) Hosts() []string {
	hosts := make([]string, 0, len(s.sites))
	for h := range s.sites {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.logf("refserver: %s https://%s%s -> %d", r.Method, r.Host, r.URL.RequestURI(), rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// writeText answers with a plain-text body, exactly as given.
func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
