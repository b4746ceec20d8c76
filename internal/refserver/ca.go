package refserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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

// leafDNSNames are the names the server certificate is valid for.
var leafDNSNames = []string{OrgDomain, MDMHost, IdPHost, AxMHost, "localhost"}

var leafIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// authority is the CA the server generates at start and the certificates it
// issues: the TLS leaf for every served host, and the certificate that signs
// enrollment profiles. A fresh CA per run means nothing trusts it unless
// handed CACertPEM or CertPool, so no client needs to turn verification off.
//
// A second, "private" CA is made alongside. The main CA stands for the
// public roots a stock device trusts (StockPool); the private one for an
// organisation's own CA, which no stock device trusts. Only the private-ca
// fault serves a certificate it issued (for mdm.acme.test), but both are
// always in CertPool and CACertPEM, so a client given the CA file trusts
// the server whatever faults are on.
type authority struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey // issues the weak leaves of the TLS faults
	caPEM  []byte
	leaf   tls.Certificate

	profileCert *x509.Certificate // signs enrollment profiles (CMS SignedData)
	profileKey  crypto.Signer

	privateCACert *x509.Certificate
	privateCAPEM  []byte
	privateLeaf   tls.Certificate // for MDMHost, issued by the private CA

	identity *identityCA // devices' MDM identities, over SCEP (identityca.go)
}

func newAuthority(now time.Time, given *CA) (*authority, error) {
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

	caCert, caKey, err := mainCA(given, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	// What the given CA issues lies within its own validity.
	notBefore, notAfter = later(notBefore, caCert.NotBefore), earlier(notAfter, caCert.NotAfter)
	leaf, err := issueLeaf(caCert, caKey, leafDNSNames, leafIPs, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	privateCACert, privateCAKey, err := newCA("Acme private CA (enrollsim)", notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	privateLeaf, err := issueLeaf(privateCACert, privateCAKey, []string{MDMHost}, nil, notBefore, notAfter)
	if err != nil {
		return nil, err
	}

	// The profile signer has no extended key usage: CMS signing has none of
	// its own, and a certificate without the extension may sign anything.
	profileKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("refserver: generating profile-signing key: %w", err)
	}
	profileTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Acme MDM profile signing", Organization: []string{"enrollsim"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	profileDER, err := x509.CreateCertificate(rand.Reader, profileTmpl, caCert, &profileKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("refserver: creating profile-signing certificate: %w", err)
	}
	profileCert, err := x509.ParseCertificate(profileDER)
	if err != nil {
		return nil, fmt.Errorf("refserver: parsing profile-signing certificate: %w", err)
	}
	identity, err := newIdentityCA(notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	return &authority{
		identity:      identity,
		caCert:        caCert,
		caKey:         caKey,
		caPEM:         pemCert(caCert),
		leaf:          leaf,
		profileCert:   profileCert,
		profileKey:    profileKey,
		privateCACert: privateCACert,
		privateCAPEM:  pemCert(privateCACert),
		privateLeaf:   privateLeaf,
	}, nil
}

// mainCA is the given authority, else a new one.
func mainCA(given *CA, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	if given != nil {
		return given.Cert, given.Key, nil
	}
	return newCA("enrollsim reference server CA", notBefore, notAfter)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// newCA makes a self-signed ECDSA P-256 CA that may issue one level of
// intermediate CAs (tls-ecdsa-224-ca issues one) and leaves.
func newCA(name string, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("refserver: generating key of %s: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"enrollsim"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("refserver: creating %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("refserver: parsing %s: %w", name, err)
	}
	return cert, key, nil
}

// issueLeaf issues a TLS server certificate for names and ips, with the CA
// in the chain it presents.
func issueLeaf(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, ips []net.IP, notBefore, notAfter time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: generating server key: %w", err)
	}
	return issueLeafWith(ca, caKey, names, ips, notBefore, notAfter, key, 0)
}

// weakLeaf is the leaf of tls-rsa-1024 or tls-sha1-cert for mdm.acme.test,
// issued by the main CA so that only the rule it breaks is wrong with it.
func (a *authority) weakLeaf(fault string) (tls.Certificate, error) {
	var key crypto.Signer
	var alg x509.SignatureAlgorithm
	var err error
	switch fault {
	case FaultTLSRSA:
		key, err = rsa.GenerateKey(rand.Reader, 1024)
	case FaultTLSSHA1:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		alg = x509.ECDSAWithSHA1
	case FaultTLSSmallCA:
		return a.leafUnderSmallCA()
	default:
		return tls.Certificate{}, fmt.Errorf("refserver: no weak leaf for %s", fault)
	}
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: generating the %s key: %w", fault, err)
	}
	return issueLeafWith(a.caCert, a.caKey, []string{MDMHost}, nil, a.leaf.Leaf.NotBefore, a.leaf.Leaf.NotAfter, key, alg)
}

// leafUnderSmallCA is tls-ecdsa-224-ca's chain for mdm.acme.test: a P-256
// leaf issued by an intermediate CA whose key is ECDSA P-224, below ATS's
// 256 bits, itself issued by the main CA. The server's own handshake key
// stays P-256: only an issuing CA breaks the rule.
func (a *authority) leafUnderSmallCA() (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: generating the P-224 CA key: %w", err)
	}
	notBefore, notAfter := a.leaf.Leaf.NotBefore, a.leaf.Leaf.NotAfter
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Acme P-224 issuing CA (enrollsim)", Organization: []string{"enrollsim"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &caKey.PublicKey, a.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: creating the P-224 issuing CA: %w", err)
	}
	inter, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: parsing the P-224 issuing CA: %w", err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: generating server key: %w", err)
	}
	leaf, err := issueLeafWith(inter, caKey, []string{MDMHost}, nil, notBefore, notAfter, leafKey, 0)
	if err != nil {
		return tls.Certificate{}, err
	}
	// Certificate holds the leaf and its issuer (issueLeafWith); the main CA
	// is the client's root.
	return leaf, nil
}

func issueLeafWith(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, ips []net.IP, notBefore, notAfter time.Time, key crypto.Signer, alg x509.SignatureAlgorithm) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		SignatureAlgorithm: alg,
		SerialNumber:       serial(),
		Subject:            pkix.Name{CommonName: names[0], Organization: []string{"enrollsim"}},
		NotBefore:          notBefore,
		NotAfter:           notAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:           names,
		IPAddresses:        ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: creating server certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("refserver: parsing server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key, Leaf: cert}, nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

func serial() *big.Int {
	// 128 random bits; rand.Int cannot fail with crypto/rand's reader.
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}

// CACertPEM returns the PEM-encoded certificates of the server's two CAs,
// the main one first: everything a client handed the CA file must trust.
func (s *Server) CACertPEM() []byte {
	return append(append([]byte(nil), s.ca.caPEM...), s.ca.privateCAPEM...)
}

// CertPool returns a new pool holding both of the server's CAs, ready for
// tls.Config.RootCAs: what a client given --cacert trusts.
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.caCert)
	pool.AddCert(s.ca.privateCACert)
	return pool
}

// StockPool returns a new pool holding only the main CA. It stands for the
// public roots a stock device trusts: under the private-ca fault,
// mdm.acme.test's certificate does not verify against it.
func (s *Server) StockPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(s.ca.caCert)
	return pool
}

// ProfileSignerPEM returns the PEM-encoded certificate that signs enrollment
// profiles; it chains to CACertPEM.
func (s *Server) ProfileSignerPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.ca.profileCert.Raw})
}

// WriteCA writes CACertPEM (both CA certificates, the main one first), for
// clients in other processes (curl --cacert, enrollsim --ca).
func (s *Server) WriteCA(path string) error {
	if err := os.WriteFile(path, s.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("refserver: writing CA certificate: %w", err)
	}
	return nil
}
