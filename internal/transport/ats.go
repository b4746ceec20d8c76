package transport

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
)

// A request whose context carries ats.Strict27 goes through the strict
// transport: it offers only the 27 releases' TLS 1.2 suites (and any TLS
// 1.3 suite), and refuses a connection without Extended Master Secret on
// TLS 1.2 or with a certificate the 27 rules refuse, as such a device does.
// Every request, of either policy, refuses the certificates every device
// since iOS 13 refuses (RSA under 2048 bits, SHA-1 signatures). A refusal
// is an *ats.RefusedError naming each rule broken and the server's offer.

// classicVerify refuses what every device refuses. It runs after Go's own
// verification (or in its place with --insecure), on the chain presented.
func classicVerify(cs tls.ConnectionState) error {
	if fs := ats.Applying(ats.JudgeCertificates(cs.PeerCertificates), ats.Classic); len(fs) > 0 {
		return &ats.RefusedError{Host: cs.ServerName, Policy: ats.Classic, Findings: fs}
	}
	return nil
}

func strictVerify(cs tls.ConnectionState) error {
	if fs := ats.Applying(ats.JudgeCertificates(cs.PeerCertificates), ats.Strict27); len(fs) > 0 {
		return &ats.RefusedError{Host: cs.ServerName, Policy: ats.Strict27, Findings: fs}
	}
	return nil
}

// newStrict27 is base with the 27 rules. The handshake is its own (a
// custom DialTLSContext), because only a finished handshake tells whether
// Extended Master Secret was negotiated, and Go has no option to require it.
func newStrict27(base *http.Transport, d *dialer, timeout time.Duration) *http.Transport {
	tr := base.Clone()
	cfg := base.TLSClientConfig.Clone()
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	cfg.CipherSuites = ats.Suites27
	cfg.NextProtos = []string{"h2", "http/1.1"}
	cfg.VerifyConnection = strictVerify
	tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return dialStrict(ctx, d, cfg, network, addr, timeout)
	}
	return tr
}

func dialStrict(ctx context.Context, d *dialer, base *tls.Config, network, addr string, timeout time.Duration) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := base.Clone()
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	conn := tls.Client(raw, cfg)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		return nil, err
	}
	cs := conn.ConnectionState()
	if fs := ats.Applying(ats.Judge(&cs), ats.Strict27); len(fs) > 0 {
		conn.Close()
		return nil, &ats.RefusedError{Host: host, Policy: ats.Strict27, Findings: fs}
	}
	return conn, nil
}

// diagnose learns, after a handshake failed, which of policy's rules the
// server breaks: it shakes hands again accepting any certificate, first
// offering only the 27 suites (a server that has one agrees on it), then
// any suite Go speaks, and judges what was negotiated. ok is false when no
// handshake succeeded; the findings are nil when the server breaks none of
// the rules (the failure was something else).
func (c *Client) diagnose(ctx context.Context, u *url.URL, p ats.Policy) (findings []ats.Finding, ok bool) {
	if ctx.Err() != nil {
		ctx = context.Background() // the request's context may end with Do
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var all []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		all = append(all, s.ID)
	}
	for _, suites := range [][]uint16{ats.Suites27, all} {
		if cs, ok := c.permissiveHandshake(ctx, addr, u.Hostname(), suites); ok {
			return ats.Applying(ats.Judge(&cs), p), true
		}
	}
	return nil, false
}

// permissiveHandshake only reads the server's offer; nothing is sent over
// the connection, which is closed at once.
func (c *Client) permissiveHandshake(ctx context.Context, addr, host string, suites []uint16) (tls.ConnectionState, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	raw, err := c.dial.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, false
	}
	defer raw.Close()
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       suites,
		InsecureSkipVerify: true, //nolint:gosec // only the offer is read; nothing is sent
	}
	if net.ParseIP(host) == nil {
		cfg.ServerName = host
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, false
	}
	return conn.ConnectionState(), true
}

// Strict27Findings is what a device on the 27 releases would refuse of the
// server at u, learnt from handshakes alone: the engine asks it for the
// hosts an older device reached, to warn of what 27 devices will refuse.
// ok is false when no handshake succeeded.
func (c *Client) Strict27Findings(ctx context.Context, u *url.URL) (findings []ats.Finding, ok bool) {
	return c.diagnose(ctx, u, ats.Strict27)
}
