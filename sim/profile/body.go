package profile

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"
)

// Identity is a device identity: a certificate and its private key.
type Identity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// NewDeviceIdentity creates a self-issued ECDSA P-256 identity standing in
// for the device's built-in Apple identity (which a simulator cannot have,
// spec §2.5). The subject CN is "enrollsim simulated device <product>", the
// subject serialNumber is serial, and the certificate is valid from now-1h
// to now+24h.
//
// EnrollmentBody stamps the CMS signing time with the wall clock and CMS
// verification checks it against this validity, so now should be the wall
// clock (give or take an hour).
func NewDeviceIdentity(product, serial string, now time.Time) (*Identity, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	name := pkix.Name{
		CommonName:   strings.TrimSpace("enrollsim simulated device " + product),
		Organization: []string{"enrollsim"},
		SerialNumber: serial,
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn.Add(sn, big.NewInt(1)),
		Subject:               name,
		Issuer:                name,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("device certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("device certificate: %w", err)
	}
	return &Identity{Cert: cert, Key: key}, nil
}

// Keys of the enrollment request plist (spec §2.5).
const (
	KeyLanguage = "LANGUAGE"
	KeyProduct  = "PRODUCT"
	KeyVersion  = "VERSION"
)

// EnrollmentBody builds the body of the enrollment POST: an XML plist
// dictionary {LANGUAGE, PRODUCT, VERSION} wrapped in a DER CMS SignedData
// message (SHA-256, content attached) signed by id.
func EnrollmentBody(id *Identity, language, product, version string) ([]byte, error) {
	if id == nil || id.Cert == nil || id.Key == nil {
		return nil, errors.New("enrollment body: identity without certificate or key")
	}
	content, err := plist.MarshalIndent(map[string]string{
		KeyLanguage: language,
		KeyProduct:  product,
		KeyVersion:  version,
	}, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("enrollment body plist: %w", err)
	}
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("enrollment body CMS: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(id.Cert, id.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("enrollment body CMS signer: %w", err)
	}
	out, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("enrollment body CMS: %w", err)
	}
	return out, nil
}

// ParseEnrollmentBody is the server side of EnrollmentBody: b must be a
// DER (or BER) CMS SignedData message with attached content whose signature
// verifies (the certificate chain is not verified), and the content a
// property list dictionary with string values for LANGUAGE, PRODUCT and
// VERSION.
func ParseEnrollmentBody(b []byte) (language, product, version string, err error) {
	if _, ok := pkcs7ContentType(b); !ok {
		return "", "", "", errors.New("enrollment body is not a DER CMS message")
	}
	if err := checkSignedData(b); err != nil {
		return "", "", "", err
	}
	p7, err := parseSignedData(context.Background(), b, DefaultLimits)
	if err != nil {
		return "", "", "", err
	}
	if err := p7.Verify(); err != nil {
		return "", "", "", fmt.Errorf("enrollment body signature does not verify: %w", err)
	}
	v, _, err := decodePlist(context.Background(), p7.Content, DefaultLimits)
	if err != nil {
		return "", "", "", fmt.Errorf("enrollment body content: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", "", "", fmt.Errorf("enrollment body content is %s, not a dictionary", typeName(v))
	}
	d := Dict(m)
	var vals [3]string
	var bad []string
	for i, k := range []string{KeyLanguage, KeyProduct, KeyVersion} {
		s, ok := d.String(k)
		switch {
		case !d.Has(k):
			bad = append(bad, k+" missing")
		case !ok:
			bad = append(bad, k+" is "+typeName(d[k])+", not a string")
		}
		vals[i] = s
	}
	if len(bad) > 0 {
		return "", "", "", fmt.Errorf("enrollment body plist: %s", strings.Join(bad, "; "))
	}
	return vals[0], vals[1], vals[2], nil
}

// NormalizeCMS returns the DER (or BER) bytes of a CMS SignedData message
// given as DER, PEM or base64 — the forms a captured enrollment body file
// may come in.
func NormalizeCMS(b []byte) ([]byte, error) {
	der, ok, err := detectCMS(b)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("not a CMS message (DER, PEM or base64)")
	}
	return der, nil
}

// IsAppleSigned reports whether b (DER, PEM or base64) is a CMS SignedData
// message whose signature verifies and whose signer chain — the signer
// certificate and the issuers found for it among the message's certificates
// — contains a certificate, not self-issued, whose issuer CN starts with
// "Apple". This tells a
// body captured from a real device apart from a simulated one; it is not a
// trust decision (no chain is verified against Apple's roots).
func IsAppleSigned(b []byte) bool {
	der, err := NormalizeCMS(b)
	if err != nil {
		return false
	}
	p7, err := parseSignedData(context.Background(), der, DefaultLimits)
	if err != nil || p7.Verify() != nil {
		return false
	}
	c := signerCert(p7)
	for seen := 0; c != nil && seen <= len(p7.Certificates); seen++ {
		if bytes.Equal(c.RawIssuer, c.RawSubject) {
			// Self-issued: anyone can name a certificate "Apple …".
			return false
		}
		if strings.HasPrefix(c.Issuer.CommonName, "Apple") {
			return true
		}
		c = issuerOf(c, p7.Certificates)
	}
	return false
}

// issuerOf finds c's issuer among certs by name.
func issuerOf(c *x509.Certificate, certs []*x509.Certificate) *x509.Certificate {
	for _, p := range certs {
		if p != c && bytes.Equal(p.RawSubject, c.RawIssuer) {
			return p
		}
	}
	return nil
}
