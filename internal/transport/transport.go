// Package transport is the HTTP client the simulation engine uses to talk to
// MDM servers.
//
// It behaves like a careful device rather than a browser: it never follows
// redirects (the engine follows and checks each hop itself, so every 3xx
// comes back as it is, whatever its Location holds), keeps no cookies,
// never retries, ignores proxy settings from the environment and requires
// TLS 1.2 or newer by default. Every exchange is bounded: dialing, the TLS
// handshake and the response headers by the timeout, the headers also by
// MaxHeaderBytes; the body by the timeout, and by the caller's cap.
//
// Connections can be steered like curl's --resolve and --connect-to, so a
// server can be reached at a loopback address while TLS SNI, certificate
// verification and the Host header keep the name from the URL.
//
// Client.Do returns *Error values whose message says what failed and what
// to try; Classify and Hint give the same information to callers.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
)

// DefaultTimeout bounds one exchange when Options.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// MaxHeaderBytes bounds the status line and headers of one response.
// net/http's own default is 10 MiB, which lets a hostile server make every
// exchange cost megabytes. 256 KiB is what Chromium accepts
// (net::ERR_RESPONSE_HEADERS_TOO_BIG), so no header set a browser or web
// view loads is refused here, while 10,000 headers or one of 1 MiB are.
const MaxHeaderBytes = 256 << 10

// Options configure the client. Zero values mean defaults.
type Options struct {
	// Timeout bounds a whole exchange, from dialing to the end of the body,
	// for requests whose context has no deadline; dialing, the TLS handshake
	// and waiting for response headers are each bounded by it regardless.
	// Default DefaultTimeout.
	Timeout time.Duration
	// RootCAs verify server certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// CACertFiles are PEM files whose certificates are trusted in addition
	// to RootCAs (or the system roots).
	CACertFiles []string
	// Resolve holds curl --resolve entries, HOST:PORT:ADDR; see ResolveRule.
	Resolve []string
	// ConnectTo holds curl --connect-to entries,
	// HOST:PORT:CONNECT-HOST:CONNECT-PORT; see ConnectToRule.
	ConnectTo []string
	// MinTLS is the lowest TLS version accepted; default tls.VersionTLS12,
	// the minimum Apple devices accept.
	MinTLS uint16
	// Insecure skips certificate verification.
	Insecure bool
}

// Client sends requests the way an enrolling device would. It is safe for
// concurrent use.
type Client struct {
	hc *http.Client
	// strict carries the requests of devices on the 27 releases (ats.go).
	strict  *http.Transport
	timeout time.Duration
	dial    *dialer
	minTLS  uint16
}

// New checks opts and builds a client. All invalid --resolve, --connect-to
// and --cacert entries are reported together.
func New(opts Options) (*Client, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	minTLS := opts.MinTLS
	if minTLS == 0 {
		minTLS = tls.VersionTLS12
	}

	var errs []error
	if minTLS < tls.VersionTLS10 || minTLS > tls.VersionTLS13 {
		errs = append(errs, fmt.Errorf("minimum TLS version %#04x is not TLS 1.0 to 1.3", minTLS))
	}
	d := &dialer{Dialer: net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}}
	for _, s := range opts.Resolve {
		r, err := ParseResolve(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.resolve = append(d.resolve, r)
	}
	for _, s := range opts.ConnectTo {
		r, err := ParseConnectTo(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.connectTo = append(d.connectTo, r)
	}
	roots, err := rootCAs(opts.RootCAs, opts.CACertFiles)
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	tr := &http.Transport{
		Proxy:       nil, // targets are often loopback overrides a proxy cannot reach
		DialContext: d.DialContext,
		TLSClientConfig: &tls.Config{
			RootCAs:            roots,
			MinVersion:         minTLS,
			InsecureSkipVerify: opts.Insecure, //nolint:gosec // only when the user asks for it
			VerifyConnection:   classicVerify,
		},
		// A custom DialContext and TLS config turn HTTP/2 off unless forced.
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: MaxHeaderBytes,
	}
	return &Client{
		dial:   d,
		minTLS: minTLS,
		strict: newStrict27(tr, d, timeout),
		hc: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		timeout: timeout,
	}, nil
}

// Timeout reports the per-exchange timeout in effect.
func (c *Client) Timeout() time.Duration { return c.timeout }

// WithClientCertificate returns a client like c that presents cert when a
// server asks for a TLS client certificate: the MDM identity travels that
// way when a profile's SignMessage is false. It has its own connections,
// so none made without the certificate is reused for it.
func (c *Client) WithClientCertificate(cert tls.Certificate) interface {
	Do(*http.Request) (*http.Response, error)
} {
	tr := c.hc.Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{cert}
	hc := *c.hc
	hc.Transport = tr
	return &Client{hc: &hc, strict: newStrict27(tr, c.dial, c.timeout), timeout: c.timeout, dial: c.dial, minTLS: c.minTLS}
}

// CloseIdleConnections closes kept-alive connections that are not in use.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Do sends req once. Redirects come back as responses. If req has no
// deadline, the client's timeout covers the exchange including reading the
// body; close the body to release it. Errors are *Error.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	cancel := context.CancelFunc(func() {})
	ownDeadline := false
	if _, ok := req.Context().Deadline(); !ok {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), c.timeout)
		req = req.WithContext(ctx)
		ownDeadline = true
	}
	// The transport itself, not http.Client: the client parses Location
	// before it asks CheckRedirect, and turns a redirect whose Location
	// does not parse into an error, so the engine could not judge it.
	rt := c.hc.Transport
	policy := ats.PolicyOf(req.Context())
	if policy == ats.Strict27 {
		rt = c.strict
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		cancel()
		if _, refused := ats.Refused(err); !refused && req.URL.Scheme == "https" && diagnosable(tlsProblemOf(err)) {
			// Name the rule when the handshake failed on one: a server
			// with no suite a 27 device offers, or a SHA-1 certificate.
			if fs, _ := c.diagnose(req.Context(), req.URL, policy); len(fs) > 0 {
				err = &ats.RefusedError{Host: req.URL.Hostname(), Policy: policy, Findings: fs, Err: err}
			}
		}
		e := &Error{Method: req.Method, URL: req.URL.Redacted(), Kind: Classify(err), Err: err}
		if e.Method == "" {
			e.Method = http.MethodGet
		}
		if ownDeadline && e.Kind == KindTimeout {
			e.timeout = c.timeout
		}
		if tlsProblemOf(err) == tlsVersion {
			e.offered = c.offeredVersion(req.Context(), req.URL)
			e.minTLS = c.minTLS
		}
		return nil, e
	}
	// The deadline must outlive Do because the caller still reads the body.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// Error is a failed exchange.
type Error struct {
	Method string
	URL    string
	Kind   Kind
	Err    error

	timeout time.Duration // set when the client's own deadline expired
	offered uint16        // the server's highest TLS version, after a version failure
	minTLS  uint16        // the lowest version the client accepted
}

func (e *Error) Error() string {
	cause := e.Err
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err // url.Error repeats the method and URL
	}
	msg := fmt.Sprintf("%s %s: ", e.Method, e.URL)
	if e.timeout > 0 {
		msg += fmt.Sprintf("no response within %v: ", e.timeout)
	}
	switch {
	case e.LimitExceeded() != "":
		// net/http's text gives the bound in bytes and says nothing else.
		msg += e.LimitExceeded() + " (the simulator's limit, the same as Chromium's)"
	case e.offered != 0:
		msg += fmt.Sprintf("%s offered, %s %s or newer (%v)", tls.VersionName(e.offered), whoRequires(e.minTLS), tls.VersionName(e.minTLS), cause)
	case malformedResponse(e.Err):
		msg += "the response is not valid HTTP: " + cause.Error()
	default:
		msg += cause.Error()
	}
	if h := Hint(e.Err); h != "" {
		msg += "; hint: " + h
	}
	return msg
}

// whoRequires says whose minimum a version failure broke: at the default
// it is the devices' own.
func whoRequires(minTLS uint16) string {
	if minTLS == tls.VersionTLS12 {
		return "devices require"
	}
	return "the client (MinTLS) requires"
}

func (e *Error) Unwrap() error { return e.Err }

// OfferedTLSVersion is the highest TLS version the server offered when the
// handshake failed because client and server share no version (0 when that
// was not the failure, or the server could not be asked again).
func (e *Error) OfferedTLSVersion() uint16 { return e.offered }

// LimitExceeded names the client's limit the response broke ("the response
// headers are over 256 KiB"), or is "".
func (e *Error) LimitExceeded() string {
	switch {
	case headersTooLarge(e.Err):
		return fmt.Sprintf("the response headers are over %d KiB", MaxHeaderBytes>>10)
	case h2HeaderFailure(e.Err):
		return fmt.Sprintf("the response headers are over %d KiB, or the server broke HTTP/2 (%v)", MaxHeaderBytes>>10, e.Err)
	}
	return ""
}

// h2HeaderFailure: over HTTP/2, a header block over MaxHeaderBytes ends the
// connection with PROTOCOL_ERROR (too many fields) or COMPRESSION_ERROR (one
// field too long), and net/http's error says no more. Do sees these before
// any response, while the headers are read, so the limit is the likely
// cause; a server that breaks HTTP/2 is named too. Either way the tester
// cannot judge the step, which is what a limit means to the engine.
func h2HeaderFailure(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "connection error: PROTOCOL_ERROR") || strings.Contains(s, "connection error: COMPRESSION_ERROR")
}

// headersTooLarge recognises net/http's unexported errors for a response
// over MaxResponseHeaderBytes: HTTP/1 and HTTP/2 word it differently.
func headersTooLarge(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "server response headers exceeded") ||
		strings.Contains(s, "response header list larger than advertised limit")
}

// malformedResponse is net/http's refusal of a response that is not HTTP:
// a status line it cannot read, or a header line with a control character
// (NUL, ESC...) or a field name that is not a token, which RFC 9110 §5.5
// lets a recipient reject.
func malformedResponse(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "malformed MIME header") || strings.Contains(err.Error(), "malformed HTTP"))
}

// offeredVersion asks the server once more, accepting any TLS version and
// any certificate, to learn what it offers: "share no TLS version" alone
// does not tell a TLS 1.0 server from a TLS 1.3-only one. The answer is
// only read for its version; the connection is closed at once.
func (c *Client) offeredVersion(ctx context.Context, u *url.URL) uint16 {
	if ctx.Err() != nil {
		ctx = context.Background() // the request's context may end with Do
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	port := u.Port()
	if port == "" {
		port = "443"
	}
	raw, err := c.dial.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return 0
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName:         u.Hostname(),
		MinVersion:         tls.VersionTLS10,
		InsecureSkipVerify: true, //nolint:gosec // only the version is read; nothing is sent
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return 0
	}
	return conn.ConnectionState().Version
}

// Kind is a coarse class of failure that callers can act on.
type Kind int

const (
	KindOther Kind = iota
	KindTimeout
	KindDNS
	KindRefused
	KindTLS
	KindLimit    // the response broke a limit of the client's (MaxHeaderBytes)
	KindProtocol // the response is not valid HTTP
)

func (k Kind) String() string {
	switch k {
	case KindTimeout:
		return "timeout"
	case KindDNS:
		return "dns"
	case KindRefused:
		return "refused"
	case KindTLS:
		return "tls"
	case KindLimit:
		return "limit"
	case KindProtocol:
		return "protocol"
	}
	return "other"
}

// Classify reports what kind of failure err is; nil and unrecognised errors
// are KindOther.
func Classify(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return KindOther
	case isRefused(err):
		return KindTLS
	// Before timeouts: a lookup that timed out is still a name problem.
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case tlsProblemOf(err) != tlsNone:
		return KindTLS
	case headersTooLarge(err), h2HeaderFailure(err):
		return KindLimit
	case malformedResponse(err):
		return KindProtocol
	}
	return KindOther
}

func isRefused(err error) bool {
	_, ok := ats.Refused(err)
	return ok
}

// isTimeout looks at the whole chain because errors.As would stop at the
// first net.Error, and url.Error only asks the error it wraps directly.
func isTimeout(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
			return true
		}
	}
	return false
}

// Hint returns a one-line suggestion for err, or "" if there is none.
func Hint(err error) string {
	switch Classify(err) {
	case KindTimeout:
		return "no answer within the timeout: raise --timeout or check the server"
	case KindDNS:
		return "the host does not resolve: try --resolve HOST:443:ADDR"
	case KindRefused:
		return "is the server running? check --connect-to/--resolve"
	case KindLimit:
		return "the server sends oversized headers (often many Set-Cookie lines or a long Content-Security-Policy): trim them"
	case KindProtocol:
		return "the status line is not HTTP, or a header carries a control character (NUL, ESC...) or a name that is not a token: fix the server's response"
	case KindTLS:
		if r, ok := ats.Refused(err); ok {
			if r.Policy == ats.Strict27 {
				return "devices on the 27 releases refuse this server's TLS (support.apple.com/126655): offer TLS 1.3, or on TLS 1.2 ECDHE AES-GCM suites with Extended Master Secret, and certificates with RSA 2048+ or ECDSA 256+ keys signed with SHA-256+"
			}
			return "Apple devices refuse certificates with RSA keys under 2048 bits or SHA-1 signatures, for the server and its issuing CAs (support.apple.com/103769): reissue the certificate"
		}
		switch tlsProblemOf(err) {
		case tlsUnknownAuthority:
			return "the server's certificate is not trusted: pass --cacert FILE with its CA"
		case tlsHostname:
			return "the server's certificate is not valid for this host name: use a name it lists (--connect-to can point that name elsewhere)"
		case tlsBadCert:
			return "the server's certificate was rejected (expired, not yet valid or wrong usage): check the certificate and the clock"
		case tlsVersion:
			return "client and server share no TLS version: Apple devices need the server to offer TLS 1.2 or newer"
		case tlsNotTLS:
			return "the server did not answer with TLS: use http:// or the server's HTTPS port"
		}
		return "the TLS handshake failed: check that the port serves HTTPS and the server's TLS settings"
	}
	return ""
}

type tlsProblem int

// diagnosable problems may come from a rule of Apple's devices (no suite in
// common; a SHA-1 certificate, which Go reports as signed by an unknown
// authority since it cannot verify it): Do looks once more to name it. A
// version mismatch has offeredVersion; plain HTTP or another host's
// certificate are no rule's.
func diagnosable(p tlsProblem) bool {
	return p == tlsHandshake || p == tlsBadCert || p == tlsUnknownAuthority
}

const (
	tlsNone tlsProblem = iota
	tlsUnknownAuthority
	tlsHostname
	tlsBadCert
	tlsVersion
	tlsNotTLS
	tlsHandshake
)

func tlsProblemOf(err error) tlsProblem {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		alert            tls.AlertError
		opErr            *net.OpError
	)
	switch {
	case err == nil:
		return tlsNone
	case errors.As(err, &unknownAuthority):
		return tlsUnknownAuthority
	case errors.As(err, &hostname):
		return tlsHostname
	case errors.As(err, &invalid):
		return tlsBadCert
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &recordHeader):
		return tlsNotTLS
	// crypto/tls reports version mismatches, and most other handshake
	// failures, only as text: either its own "tls: ..." errors or a
	// received alert, which it wraps in a net.OpError "remote error".
	case strings.Contains(err.Error(), "tls: ") && strings.Contains(err.Error(), "protocol version"):
		return tlsVersion
	case errors.As(err, &verification), errors.As(err, &alert),
		errors.As(err, &opErr) && opErr.Op == "remote error",
		strings.Contains(err.Error(), "tls: "):
		return tlsHandshake
	}
	return tlsNone
}

// rootCAs returns the pool to verify servers with; nil means system roots.
func rootCAs(base *x509.CertPool, files []string) (*x509.CertPool, error) {
	if len(files) == 0 {
		return base, nil
	}
	var pool *x509.CertPool
	if base != nil {
		pool = base.Clone() // the caller may share its pool elsewhere
	} else if sys, err := x509.SystemCertPool(); err == nil {
		pool = sys // already a copy
	} else {
		// No system roots on this platform: trust just the given files.
		pool = x509.NewCertPool()
	}
	var errs []error
	for _, name := range files {
		certs, err := readCerts(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range certs {
			pool.AddCert(c)
		}
	}
	return pool, errors.Join(errs...)
}

// readCerts parses every certificate in a PEM file. Unlike
// CertPool.AppendCertsFromPEM it reports broken certificates instead of
// skipping them, so a bad file is not silently ignored.
func readCerts(name string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--cacert: %w", err) // the error names the file
	}
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("--cacert: certificate %d in %s: %w", len(certs)+1, name, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		if _, err := x509.ParseCertificate(data); err == nil {
			return nil, fmt.Errorf("--cacert: no PEM certificates found in %s: it is DER, convert it with openssl x509 -inform der -in %s", name, name)
		}
		return nil, fmt.Errorf("--cacert: no PEM certificates found in %s", name)
	}
	return certs, nil
}

// StockPool is the system roots plus the given CA files: the trust store
// of a stock device in a lab whose CA stands in for the public PKI.
func StockPool(files []string) (*x509.CertPool, error) {
	return rootCAs(nil, files)
}
