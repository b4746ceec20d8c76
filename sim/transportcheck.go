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
)

// Sane bounds of SEC-003: what a device-facing answer should never exceed.
const (
	secDiscoveryBound = 64 << 10
	secProfileBound   = 1 << 20
)

// deviceResponse remembers what a device-side exchange negotiated.
type deviceResponse struct {
	url        string
	purpose    string
	resp       *response
	classicTLS bool // exempt from the 27 rules (SCEP)
}

// judgeTransport: SEC-001..003 over every exchange the device itself made
// in this case (probes excluded: they are the tester's).
func (r *runner) judgeTransport() {
	if len(r.deviceResps) == 0 {
		return
	}
	old := append([]string(nil), r.insecure...)
	var slow, big []string
	var trust []string
	checkedHosts := map[string]bool{}
	for _, d := range r.deviceResps {
		resp := d.resp
		if resp.tls != nil && resp.tls.Version < tls.VersionTLS12 {
			old = append(old, fmt.Sprintf("%s negotiated %s", d.url, tls.VersionName(resp.tls.Version)))
		}
		if resp.status == 0 && resp.err != nil {
			if v := offeredTLS(resp.err); v != 0 {
				old = append(old, fmt.Sprintf("%s: %s offered, devices require TLS 1.2 or newer", d.url, tls.VersionName(v)))
			} else if strings.Contains(resp.err.Error(), "protocol version") {
				old = append(old, fmt.Sprintf("%s: %v", d.url, resp.err))
			}
		}
		if resp.overLimit != "" {
			big = append(big, fmt.Sprintf("%s: %s", d.url, resp.overLimit))
		}
		if why := certRefused(resp.err); why != "" && resp.url != nil && !checkedHosts[resp.url.Hostname()] && !refusedCertificate(resp.err) {
			// The handshake failed on the certificate: a device refuses it
			// the same way, whatever the tester's own trust store holds.
			checkedHosts[resp.url.Hostname()] = true
			trust = append(trust, fmt.Sprintf("%s: %s", resp.url.Hostname(), why))
		}
		if resp.timeout {
			slow = append(slow, fmt.Sprintf("%s: no complete answer within %s", d.url, r.lim.Timeout))
		}
		if resp.tooLarge {
			big = append(big, fmt.Sprintf("%s: over the %s read limit", d.url, byteSize(int64(len(resp.body)))))
		} else if d.purpose == "enrollment request with the access token" && len(resp.body) > secProfileBound {
			big = append(big, fmt.Sprintf("%s: a %s profile (bound %s)", d.url, byteSize(int64(len(resp.body))), byteSize(secProfileBound)))
		} else if (strings.HasPrefix(d.purpose, "well-known") || strings.HasPrefix(d.purpose, "AxM fallback")) && len(resp.body) > secDiscoveryBound {
			big = append(big, fmt.Sprintf("%s: %s (bound %s)", d.url, byteSize(int64(len(resp.body))), byteSize(secDiscoveryBound)))
		}
		if resp.tls != nil && len(resp.tls.PeerCertificates) > 0 {
			host := resp.url.Hostname()
			if !checkedHosts[host] {
				checkedHosts[host] = true
				if err := r.verifyStock(resp.tls, host); err != nil {
					trust = append(trust, fmt.Sprintf("%s: %v", host, err))
				}
			}
		}
	}
	r.check("SEC-001", len(old) == 0, "TLS 1.2 or later on every device-facing endpoint", strings.Join(old, "; "))
	if len(checkedHosts) == 0 {
		r.skip("SEC-002", "no TLS certificate was seen")
	} else {
		r.check("SEC-002", len(trust) == 0, "certificate chains a stock device trusts (no anchor channel exists for account-driven enrollment)", strings.Join(trust, "; "))
	}
	issues := append(append(slow, big...), r.limitIssues...)
	r.check("SEC-003", len(issues) == 0, fmt.Sprintf("bodies within %s (discovery) / %s (profile), answers within %s", byteSize(secDiscoveryBound), byteSize(secProfileBound), r.lim.Timeout), strings.Join(issues, "; "))
	r.judgeATS()
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
