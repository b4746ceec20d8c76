package refserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// CA is a certificate authority handed to the server (Config.CA) in place
// of the one it makes at start: several processes (a server in a pod, the
// load's pods) can then trust one file made beforehand.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// caLifetime is how long NewCA's authority is valid: a cluster's Secret
// outlives many server restarts.
const caLifetime = 365 * 24 * time.Hour

// NewCA makes an authority like the one the server makes at start (ECDSA
// P-256, one level of intermediates), valid for a year from now.
func NewCA(now time.Time) (*CA, error) {
	cert, key, err := newCA("enrollsim reference server CA", now.Add(-time.Hour), now.Add(caLifetime))
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// PEM is the certificate and the private key (PKCS #8) as PEM.
func (c *CA) PEM() (certPEM, keyPEM []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		return nil, nil, err
	}
	return pemCert(c.Cert), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseCA reads an authority NewCA made (or one like it: a CA certificate
// with an ECDSA P-256 key, PKCS #8 or SEC 1), checking that the key is the
// certificate's and that it may issue the server's certificates at now.
func ParseCA(certPEM, keyPEM []byte, now time.Time) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, errors.New("the CA certificate is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the CA certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("the CA key is not PEM")
	}
	key, err := parseECKey(kb)
	if err != nil {
		return nil, err
	}
	switch {
	case !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, fmt.Errorf("the certificate %q is not a CA that may sign certificates", cert.Subject.CommonName)
	case !key.PublicKey.Equal(cert.PublicKey):
		return nil, fmt.Errorf("the key is not the key of the CA certificate %q", cert.Subject.CommonName)
	case now.Before(cert.NotBefore) || now.After(cert.NotAfter):
		return nil, fmt.Errorf("the CA certificate %q is valid from %s to %s, not now: make a new one", cert.Subject.CommonName, cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return &CA{Cert: cert, Key: key}, nil
}

func parseECKey(b *pem.Block) (*ecdsa.PrivateKey, error) {
	var key *ecdsa.PrivateKey
	switch b.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the CA key: %w", err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the CA key is a %T: want ECDSA P-256 (enrollsim serve ca makes one)", k)
		}
		key = ec
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the CA key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("the CA key is a PEM %q: want PRIVATE KEY or EC PRIVATE KEY (ECDSA P-256)", b.Type)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("the CA key is on %s: want P-256", key.Curve.Params().Name)
	}
	return key, nil
}
