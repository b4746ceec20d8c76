package refserver

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"sync"
	"time"
)

// identityCA issues the devices' MDM identities over SCEP (§2.13.1) and is
// what check-in trusts: a check-in's Mdm-Signature or TLS client
// certificate must chain to it.
//
// SCEP encrypts the CSR to the CA's certificate with RSA key transport, so
// this CA, unlike the server's others, has an RSA key. Generating RSA-2048
// takes about 50 ms here; tests start a server per fault, so the key is made
// once per process and each server signs a CA certificate of its own with
// it.
type identityCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey

	mu      sync.Mutex
	issued  map[string]*x509.Certificate // by serial number, decimal
	chained map[[32]byte]bool            // certificates whose chain verified, by SHA-256 of their DER
}

var (
	identityKeyOnce sync.Once
	identityKey     *rsa.PrivateKey
	identityKeyErr  error
)

func newIdentityCA(notBefore, notAfter time.Time) (*identityCA, error) {
	identityKeyOnce.Do(func() { identityKey, identityKeyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if identityKeyErr != nil {
		return nil, fmt.Errorf("refserver: generating the identity CA key: %w", identityKeyErr)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Acme MDM identity CA", Organization: []string{"enrollsim"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		// Key encipherment: SCEP clients encrypt the CSR to this key.
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &identityKey.PublicKey, identityKey)
	if err != nil {
		return nil, fmt.Errorf("refserver: creating the identity CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("refserver: parsing the identity CA certificate: %w", err)
	}
	return &identityCA{cert: cert, key: identityKey, issued: map[string]*x509.Certificate{}, chained: map[[32]byte]bool{}}, nil
}

// issue signs a device identity for pub with the subject the device asked
// for. Client authentication is its only extended use: the certificate is
// the device's MDM identity, for Mdm-Signature and TLS client auth.
func (ca *identityCA) issue(pub crypto.PublicKey, subject pkix.Name, now time.Time) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("issuing a device identity: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("issuing a device identity: %w", err)
	}
	ca.mu.Lock()
	ca.issued[cert.SerialNumber.String()] = cert
	ca.mu.Unlock()
	return cert, nil
}

// verify reports whether cert is a device identity this CA issued and
// that is valid at now.
func (ca *identityCA) verify(cert *x509.Certificate, now time.Time) error {
	// A device signs every message with one certificate: its chain, once
	// verified, is remembered, and only its validity is read again. One
	// not valid now goes through the whole check, which says why.
	key := sha256.Sum256(cert.Raw)
	ca.mu.Lock()
	chained := ca.chained[key]
	ca.mu.Unlock()
	if !chained || now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		roots := x509.NewCertPool()
		roots.AddCert(ca.cert)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return fmt.Errorf("the identity certificate %q does not chain to the MDM's identity CA: %w", cert.Subject.CommonName, err)
		}
		ca.mu.Lock()
		ca.chained[key] = true
		ca.mu.Unlock()
	}
	ca.mu.Lock()
	_, ok := ca.issued[cert.SerialNumber.String()]
	ca.mu.Unlock()
	if !ok {
		return fmt.Errorf("the identity certificate %q (serial %s) was not issued by this server", cert.Subject.CommonName, cert.SerialNumber)
	}
	return nil
}
