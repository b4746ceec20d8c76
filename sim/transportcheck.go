package sim

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
)

// Sane bounds of SEC-003 (package check judges them).
const (
	secDiscoveryBound = check.DiscoveryBound
	secProfileBound   = check.ProfileBound
)

// deviceResponse remembers what a device-side exchange negotiated.
type deviceResponse struct {
	url        string
	purpose    string
	resp       *response
	classicTLS bool // exempt from the 27 rules (SCEP)
	seq        int
}

// judgeTransport judges SEC-001..006 over every exchange the device itself
// made in this case (probes excluded: they are the tester's).
func (r *runner) judgeTransport() {
	if len(r.deviceResps) == 0 {
		return
	}
	t := r.observeTransport()
	r.obs.Transport = &t
	// The transport checks judge every exchange the device made.
	r.stepSeqs = nil
	for _, d := range r.deviceResps {
		r.stepSeqs = append(r.stepSeqs, d.seq)
	}
	r.judged(check.JudgeTransport(t))
	r.stepSeqs = nil
}

// observeTransport gathers what the device's own connections showed: old
// protocol versions, certificates a stock device would refuse, slow or
// large answers, and each host's handshake under the TLS rules.
func (r *runner) observeTransport() check.Transport {
	t := check.Transport{Exchanges: len(r.deviceResps), Old: append([]string(nil), r.insecure...),
		Timeout: r.lim.Timeout, Limits: r.limitIssues, Device: r.c.Device.Family.Platform() + " " + r.c.Device.OS.String()}
	checkedHosts := map[string]bool{}
	for _, d := range r.deviceResps {
		resp := d.resp
		t.Old = append(t.Old, oldTLS(d.url, resp)...)
		if resp.overLimit != "" {
			t.Big = append(t.Big, fmt.Sprintf("%s: %s", d.url, resp.overLimit))
		}
		if why := certRefused(resp.err); why != "" && resp.url != nil && !checkedHosts[resp.url.Hostname()] && !refusedCertificate(resp.err) {
			// The handshake failed on the certificate: a device refuses it
			// the same way, whatever the tester's own trust store holds.
			checkedHosts[resp.url.Hostname()] = true
			t.Untrusted = append(t.Untrusted, fmt.Sprintf("%s: %s", resp.url.Hostname(), why))
		}
		if resp.timeout {
			t.Slow = append(t.Slow, fmt.Sprintf("%s: no complete answer within %s", d.url, r.lim.Timeout))
		}
		if big := bigBody(d); big != "" {
			t.Big = append(t.Big, big)
		}
		if resp.tls != nil && len(resp.tls.PeerCertificates) > 0 {
			host := resp.url.Hostname()
			if !checkedHosts[host] {
				checkedHosts[host] = true
				if err := r.verifyStock(resp.tls, host); err != nil {
					t.Untrusted = append(t.Untrusted, fmt.Sprintf("%s: %v", host, err))
				}
			}
		}
	}
	t.Hosts = len(checkedHosts)
	t.TLS = r.observeATS()
	return t
}

// oldTLS says how a connection fell short of TLS 1.2, if it did.
func oldTLS(u string, resp *response) []string {
	var out []string
	if resp.tls != nil && resp.tls.Version < tls.VersionTLS12 {
		out = append(out, fmt.Sprintf("%s negotiated %s", u, tls.VersionName(resp.tls.Version)))
	}
	if resp.status == 0 && resp.err != nil {
		if v := offeredTLS(resp.err); v != 0 {
			out = append(out, fmt.Sprintf("%s: %s offered, devices require TLS 1.2 or newer", u, tls.VersionName(v)))
		} else if strings.Contains(resp.err.Error(), "protocol version") {
			out = append(out, fmt.Sprintf("%s: %v", u, resp.err))
		}
	}
	return out
}

// bigBody says how an answer broke SEC-003's size bounds, if it did.
func bigBody(d deviceResponse) string {
	resp := d.resp
	switch {
	case resp.tooLarge:
		return fmt.Sprintf("%s: over the %s read limit", d.url, byteSize(int64(len(resp.body))))
	case d.purpose == "enrollment request with the access token" && len(resp.body) > secProfileBound:
		return fmt.Sprintf("%s: a %s profile (bound %s)", d.url, byteSize(int64(len(resp.body))), byteSize(secProfileBound))
	case (strings.HasPrefix(d.purpose, "well-known") || strings.HasPrefix(d.purpose, "AxM fallback")) && len(resp.body) > secDiscoveryBound:
		return fmt.Sprintf("%s: %s (bound %s)", d.url, byteSize(int64(len(resp.body))), byteSize(secDiscoveryBound))
	}
	return ""
}

// offeredTLS is the version a server offered when the handshake failed for
// want of a common one, as the real transport reports it; 0 when unknown.
func offeredTLS(err error) uint16 {
	var v interface{ OfferedTLSVersion() uint16 }
	if errors.As(err, &v) {
		return v.OfferedTLSVersion()
	}
	return 0
}

// certRefused names why certificate verification refused the server, or is
// "" when the failure was something else.
func certRefused(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case err == nil:
		return ""
	case errors.As(err, &unknown):
		return "the certificate is signed by an unknown authority (self-signed or a private CA): " + unknown.Error()
	case errors.As(err, &hostname):
		return "the certificate is for another host: " + hostname.Error()
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the certificate has expired or is not yet valid: " + invalid.Error()
	case errors.As(err, &invalid):
		return "the certificate is not valid: " + invalid.Error()
	}
	return ""
}

func (r *runner) verifyStock(cs *tls.ConnectionState, host string) error {
	roots := r.c.Target.StockRoots
	if roots == nil {
		sys, err := x509.SystemCertPool()
		if err != nil {
			return fmt.Errorf("no system trust store to compare with: %v", err)
		}
		roots = sys
	}
	return stockVerified.verify(cs.PeerCertificates, host, roots, time.Now())
}

// stockVerified remembers chains that verified: building a chain costs two
// ECDSA or RSA verifications, and a load sees the same server chain on
// every case. Only successes are kept, each until its chain's first
// NotAfter, so a failure is always found afresh and an expiry is never
// missed. An entry holds its pool, so the pool's address cannot be reused
// by another pool while the entry lives.
var stockVerified = &chainCache{m: map[chainKey]chainEntry{}}

type chainKey struct {
	sum   [sha256.Size]byte
	host  string
	roots *x509.CertPool
}

type chainEntry struct {
	from, until time.Time
	roots       *x509.CertPool
}

type chainCache struct {
	mu sync.Mutex
	m  map[chainKey]chainEntry
}

const chainCacheSize = 256

func (c *chainCache) verify(peers []*x509.Certificate, host string, roots *x509.CertPool, now time.Time) error {
	h := sha256.New()
	for _, p := range peers {
		h.Write(p.Raw)
		h.Write([]byte{0})
	}
	k := chainKey{host: host, roots: roots}
	h.Sum(k.sum[:0])
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && !now.Before(e.from) && now.Before(e.until) {
		return nil
	}
	inter := x509.NewCertPool()
	for _, p := range peers[1:] {
		inter.AddCert(p)
	}
	chains, err := peers[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter, CurrentTime: now})
	if err != nil {
		return fmt.Errorf("not trusted by a stock trust store (a private CA?): %v", err)
	}
	e = chainEntry{from: peers[0].NotBefore, until: peers[0].NotAfter, roots: roots}
	for _, ch := range chains {
		for _, cert := range ch {
			if cert.NotBefore.After(e.from) {
				e.from = cert.NotBefore
			}
			if cert.NotAfter.Before(e.until) {
				e.until = cert.NotAfter
			}
		}
	}
	c.mu.Lock()
	if len(c.m) >= chainCacheSize {
		clear(c.m)
	}
	c.m[k] = e
	c.mu.Unlock()
	return nil
}

// refusedCertificate: the handshake failed on a certificate rule of Apple's
// devices (SEC-006), e.g. a SHA-1 signature that Go, unable to verify it,
// reports as an unknown authority: not a matter of trust stores.
func refusedCertificate(err error) bool {
	r, ok := ats.Refused(err)
	if !ok {
		return false
	}
	for _, f := range r.Findings {
		if f.Rule == ats.RuleCertificate {
			return true
		}
	}
	return false
}
