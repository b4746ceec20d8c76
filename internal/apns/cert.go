package apns

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// oidUID is the userId attribute (RFC 4519). An MDM push certificate's
// subject carries its topic there, and an MDM server pushes to that topic:
// Apple's "Sending MDM commands to a device" names "the User ID parameter
// in the Subject field of the push-notification client certificate".
var oidUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// mdmTopicPrefix starts the topic of every MDM push certificate Apple issues.
const mdmTopicPrefix = "com.apple.mgmt.External."

// CertUID is the UID attribute of c's subject (an MDM push certificate's
// topic), or "" when it has none.
func CertUID(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidUID) {
			if s, ok := n.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// NewProviderCert makes a self-signed client certificate shaped like an MDM
// push certificate: subject UID = topic, CN "APSP:<uuid>", client-auth
// extended key usage. RSA 2048, as Apple's are, so a server that only reads
// RSA keys takes it. The stand-in accepts it; Apple would not.
func NewProviderCert(topic string) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("apns: provider key: %w", err)
	}
	return ProviderCertWithKey(topic, key)
}

// ProviderCertWithKey is NewProviderCert over a key of the caller's: a
// process that starts many servers (a suite's embedded ones) makes the
// RSA key once, which costs tens of milliseconds, and a certificate of
// its own topic for each.
func ProviderCertWithKey(topic string, key *rsa.PrivateKey) (tls.Certificate, error) {
	if strings.TrimSpace(topic) == "" {
		return tls.Certificate{}, errors.New("apns: a provider certificate needs a topic, e.g. " + mdmTopicPrefix + "<uuid>")
	}
	id, ok := strings.CutPrefix(topic, mdmTopicPrefix)
	if !ok || id == "" {
		id = newUUID()
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{CommonName: "APSP:" + id,
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: topic}}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	return selfSign(tmpl, key, &key.PublicKey)
}

// NewServerCert makes the stand-in's self-signed serving certificate for
// hosts (names or IP addresses); it is its own root (CertPool).
func NewServerCert(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("apns: server key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "enrollsim APNs stand-in"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return selfSign(tmpl, key, &key.PublicKey)
}

func selfSign(tmpl *x509.Certificate, key crypto.Signer, pub any) (tls.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("apns: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("apns: certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// CertPEM is c's chain in PEM; KeyPEM its private key (PKCS #1 for RSA, as
// most MDM servers' push-certificate loaders expect; else PKCS #8).
func CertPEM(c tls.Certificate) []byte {
	var b []byte
	for _, der := range c.Certificate {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return b
}

// KeyPEM is c's private key in PEM (see CertPEM).
func KeyPEM(c tls.Certificate) ([]byte, error) {
	if k, ok := c.PrivateKey.(*rsa.PrivateKey); ok {
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("apns: private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// newUUID is a random (version 4) UUID in canonical lower-case form, as
// APNs makes for a request without apns-id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// isUUID says whether s is 8-4-4-4-12 hex digits. Either case: Apple asks
// for lower case, and a stand-in that refused upper case would be stricter
// than anything documented.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !isHex(byte(r)) || r > 0x7f {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// NewTopic is a fresh MDM push topic, com.apple.mgmt.External.<uuid>, the
// shape of the topics Apple issues.
func NewTopic() string { return mdmTopicPrefix + newUUID() }
