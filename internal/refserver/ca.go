package refserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// leafDNSNames are the names the server certificate is valid for. idp.acme.test
// is there already so that adding the identity provider later does not mean
// re-issuing certificates that users have written out with WriteCA.
var leafDNSNames = []string{OrgDomain, MDMHost, idpHost, AxMHost, "localhost"}

var leafIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// authority is the CA the server generates at start and the leaf it signs.
// A fresh CA per run means nothing trusts it unless handed CACertPEM or
// CertPool, so no client needs to turn verification off.
type authority struct {
	caCert *x509.Certificate
	caPEM  []byte
	leaf   tls.Certificate
}

func newAuthority(now time.Time) (*authority, error) {
	// The validity window spans both the injected clock and the wall clock:
	// TLS clients judge the certificate by their own clock, which may be
	// either one when a test pins Config.Now to a fixed date.
	wall := time.Now()
	notBefore, notAfter := now, now
	if wall.Before(notBefore) {
		notBefore = wall
	}
	if wall.After(notAfter) {
		notAfter = wall
	}
	notBefore = notBefore.Add(-time.Hour)
	notAfter = notAfter.Add(7 * 24 * time.Hour)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("refserver: generating CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "enrollsim reference server CA", Organization: []string{"enrollsim"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("refserver: creating CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("refserver: parsing CA certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("refserver: generating server key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: OrgDomain, Organization: []string{"enrollsim"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     leafDNSNames,
		IPAddresses:  leafIPs,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("refserver: creating server certificate: %w", err)
	}
	leafCert, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("refserver: parsing server certificate: %w", err)
	}
	return &authority{
		caCert: caCert,
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		leaf: tls.Certificate{
			Certificate: [][]byte{leafDER, caDER},
			PrivateKey:  leafKey,
			Leaf:        leafCert,
		},
	}, nil
}

func serial() *big.Int {
	// 128 random bits; rand.Int cannot fail with crypto/rand's reader.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}

// CACertPEM returns the PEM-encoded certificate of the server's CA.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.caPEM...) }

// CertPool returns a new pool holding only the server's CA, ready for
// tls.Config.RootCAs.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.caCert)
	return pool
}

// WriteCA writes the CA certificate as PEM, for clients in other processes
// (curl --cacert, enrollsim --ca).
func (s *Server) WriteCA(path string) error {
	if err := os.WriteFile(path, s.ca.caPEM, 0o644); err != nil {
		return fmt.Errorf("refserver: writing CA certificate: %w", err)
	}
	return nil
}
