// Package ats holds the TLS rules Apple devices apply to the servers they
// enrol and are managed through, and judges a TLS connection by them.
//
// Two sets of rules:
//   - every device since iOS 13 / macOS 10.15 refuses a server certificate,
//     or an issuing CA, with an RSA key under 2048 bits or a SHA-1 (or
//     weaker) signature (support.apple.com/103769, formerly HT210176);
//   - the 27 releases may refuse MDM, declarative management, enrollment and
//     profile-installation connections that fall short of App Transport
//     Security (support.apple.com/126655): TLS 1.2 or later; on TLS 1.2 only
//     ECDHE suites with AES-GCM and a SHA-256 or better PRF, and the Extended
//     Master Secret extension (RFC 7627); certificates with RSA keys of 2048
//     bits or more or ECDSA keys of 256 or more, signed with SHA-256 or
//     better. The exact TLS 1.2 rules are those of Apple's ATS FCP_v2.1
//     profile (NSRequiresNIAPTLSPackageVersion), which the reports of 126655
//     repeat. SCEP servers are exempt.
//
// The package is a leaf: the engine marks a request's context with the
// device's Policy, and a transport that knows this package enforces it
// (internal/transport); the engine judges what was negotiated with Judge.
package ats

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Policy is the set of TLS rules a device applies.
type Policy uint8

const (
	// Classic is every device before the 27 releases: TLS 1.2 or later,
	// and the certificate rules of iOS 13 / macOS 10.15.
	Classic Policy = iota
	// Strict27 adds the 27 releases' rules (126655).
	Strict27
)

func (p Policy) String() string {
	if p == Strict27 {
		return "the 27 releases' TLS rules"
	}
	return "classic TLS rules"
}

type policyKey struct{}

// WithPolicy marks ctx: a request made with it is sent as a device with p
// sends it.
func WithPolicy(ctx context.Context, p Policy) context.Context {
	return context.WithValue(ctx, policyKey{}, p)
}

// PolicyOf is the policy ctx carries; Classic when none.
func PolicyOf(ctx context.Context) Policy {
	p, _ := ctx.Value(policyKey{}).(Policy)
	return p
}

// Suites27 are the TLS 1.2 cipher suites a 27 device offers: ECDHE key
// exchange, AES-GCM, a SHA-256 or better PRF (FCP_v2.1). Every TLS 1.3
// suite qualifies, and TLS 1.3 suites cannot be restricted in Go anyway.
var Suites27 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// Rule names one rule, with the check that judges it.
type Rule string

const (
	// RuleSuite: TLS 1.3, or TLS 1.2 with one of Suites27 (SEC-004).
	RuleSuite Rule = "SEC-004"
	// RuleEMS: TLS 1.2 negotiates Extended Master Secret (SEC-005).
	RuleEMS Rule = "SEC-005"
	// RuleCertificate: key sizes and signature hashes of the server's
	// certificate and its issuing CAs (SEC-006).
	RuleCertificate Rule = "SEC-006"
)

// Finding is one rule a connection broke.
type Finding struct {
	Rule Rule
	// Detail names what the server offered and why it breaks the rule:
	// "TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: not an ATS suite (CBC)".
	Detail string
	// Always: devices before 27 refuse it too (103769: RSA under 2048
	// bits, SHA-1 signatures). Otherwise only 27 devices refuse it.
	Always bool
}

// Applies says whether a device with policy p refuses a connection for f.
func (f Finding) Applies(p Policy) bool { return f.Always || p == Strict27 }

// Judge lists the rules cs breaks, in rule order. A version below TLS 1.2
// is SEC-001's, which every device applies. Only a full handshake
// can be judged for EMS; a Go client never resumes unless given a session
// cache, and the transports here are given none.
func Judge(cs *tls.ConnectionState) []Finding {
	if cs == nil {
		return nil
	}
	var out []Finding
	if cs.Version == tls.VersionTLS12 && !slices.Contains(Suites27, cs.CipherSuite) {
		out = append(out, Finding{Rule: RuleSuite, Detail: fmt.Sprintf("TLS 1.2 with %s: not an ATS suite (%s)", tls.CipherSuiteName(cs.CipherSuite), whyNotATS(cs.CipherSuite))})
	}
	if cs.Version == tls.VersionTLS12 && !HasEMS(cs) {
		out = append(out, Finding{Rule: RuleEMS, Detail: fmt.Sprintf("TLS 1.2 with %s without the Extended Master Secret extension (RFC 7627)", tls.CipherSuiteName(cs.CipherSuite))})
	}
	return append(out, JudgeCertificates(cs.PeerCertificates)...)
}

// HasEMS reports whether a TLS 1.2 connection negotiated Extended Master
// Secret. crypto/tls has no field for it, but refuses to export keying
// material from a TLS 1.2 connection without it (Go 1.22's tlsunsafeekm
// change), which tells exactly, unless GODEBUG=tlsunsafeekm=1 is set.
func HasEMS(cs *tls.ConnectionState) bool {
	if cs.Version != tls.VersionTLS12 {
		return cs.Version == tls.VersionTLS13
	}
	_, err := cs.ExportKeyingMaterial("EXPORTER-enrollsim-ems-probe", nil, 1)
	return err == nil
}

// JudgeCertificates judges the server's chain as presented: the leaf and
// every issuing CA. A self-signed root's own signature is no part of path
// validation, so its hash is not judged; its key is.
func JudgeCertificates(chain []*x509.Certificate) []Finding {
	var out []Finding
	for i, c := range chain {
		who := "the server certificate"
		if i > 0 {
			who = "issuing CA " + quoteName(c)
		}
		switch k := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if bits := k.N.BitLen(); bits < 2048 {
				out = append(out, Finding{Rule: RuleCertificate, Always: true,
					Detail: fmt.Sprintf("%s has a %d-bit RSA key (devices need 2048 bits or more)", who, bits)})
			}
		case *ecdsa.PublicKey:
			if bits := k.Curve.Params().BitSize; bits < 256 {
				out = append(out, Finding{Rule: RuleCertificate,
					Detail: fmt.Sprintf("%s has a %d-bit ECDSA key (27 devices need 256 bits or more)", who, bits)})
			}
		case ed25519.PublicKey:
			// Not an ATS key type; no Apple device negotiates it for TLS.
			out = append(out, Finding{Rule: RuleCertificate,
				Detail: fmt.Sprintf("%s has an Ed25519 key, which ATS does not list (RSA or ECDSA)", who)})
		}
		if selfSigned(c) {
			continue
		}
		if weak := weakHash(c.SignatureAlgorithm); weak != "" {
			out = append(out, Finding{Rule: RuleCertificate, Always: true,
				Detail: fmt.Sprintf("%s is signed with %s (%s; devices need SHA-256 or better)", who, c.SignatureAlgorithm, weak)})
		}
	}
	return out
}

// selfSigned is judged by names, not by checking the signature: Go cannot
// verify a SHA-1 signature, the very case this is for.
func selfSigned(c *x509.Certificate) bool {
	return string(c.RawSubject) == string(c.RawIssuer) &&
		(len(c.AuthorityKeyId) == 0 || string(c.AuthorityKeyId) == string(c.SubjectKeyId))
}

func quoteName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("%q", c.Subject.String())
}

func weakHash(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1:
		return "SHA-1"
	case x509.MD5WithRSA:
		return "MD5"
	case x509.MD2WithRSA:
		return "MD2"
	}
	return ""
}

// whyNotATS says which part of a TLS 1.2 suite falls short.
func whyNotATS(id uint16) string {
	name := tls.CipherSuiteName(id)
	var why []string
	if !strings.HasPrefix(name, "TLS_ECDHE_") {
		why = append(why, "no forward secrecy (not ECDHE)")
	}
	switch {
	case strings.Contains(name, "_CBC_"):
		why = append(why, "CBC, not AES-GCM")
	case strings.Contains(name, "CHACHA20"):
		why = append(why, "ChaCha20-Poly1305, not AES-GCM")
	case strings.Contains(name, "RC4"), strings.Contains(name, "3DES"):
		why = append(why, "not AES")
	}
	if len(why) == 0 {
		why = append(why, "not one of the ECDHE AES-GCM suites")
	}
	return strings.Join(why, ", ")
}

// RefusedError is a connection a device refuses for the rules it broke.
// The transport returns it in place of the connection.
type RefusedError struct {
	Host     string
	Policy   Policy
	Findings []Finding
	// Err is the handshake's own error when the handshake itself failed
	// (no suite in common, a certificate Go refuses); the findings then
	// come from a second, permissive handshake that only reads the offer.
	Err error
}

func (e *RefusedError) Error() string {
	details := make([]string, 0, len(e.Findings))
	for _, f := range e.Findings {
		details = append(details, f.Detail)
	}
	who := "an Apple device"
	if e.Policy == Strict27 {
		who = "a device on the 27 releases"
	}
	return fmt.Sprintf("%s refuses %s: %s", who, e.Host, strings.Join(details, "; "))
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Refused finds a RefusedError in err's chain.
func Refused(err error) (*RefusedError, bool) {
	var r *RefusedError
	ok := errors.As(err, &r)
	return r, ok
}

// Applying keeps the findings a device with policy p refuses.
func Applying(fs []Finding, p Policy) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Applies(p) {
			out = append(out, f)
		}
	}
	return out
}
