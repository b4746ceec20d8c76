// Package transport is the HTTP client the simulation engine uses to talk to
// MDM servers.
//
// It behaves like a careful device rather than a browser: it never follows
// redirects (the engine follows and checks each hop itself), keeps no
// cookies, never retries, ignores proxy settings from the environment and
// requires TLS 1.2 or newer by default.
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
)

// DefaultTimeout bounds one exchange when Options.Timeout is zero.
const DefaultTimeout = 15 * time.Second

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
	hc      *http.Client
	timeout time.Duration
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
		},
		// A custom DialContext and TLS config turn HTTP/2 off unless forced.
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{
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
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		e := &Error{Method: req.Method, URL: req.URL.Redacted(), Kind: Classify(err), Err: err}
		if e.Method == "" {
			e.Method = http.MethodGet
		}
		if ownDeadline && e.Kind == KindTimeout {
			e.timeout = c.timeout
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
	msg += cause.Error()
	if h := Hint(e.Err); h != "" {
		msg += "; hint: " + h
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Kind is a coarse class of failure that callers can act on.
type Kind int

const (
	KindOther Kind = iota
	KindTimeout
	KindDNS
	KindRefused
	KindTLS
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
	// Before timeouts: a lookup that timed out is still a name problem.
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case tlsProblemOf(err) != tlsNone:
		return KindTLS
	}
	return KindOther
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
	case KindTLS:
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
