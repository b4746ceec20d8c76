package refserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A CA made by NewCA reads back; what is not a usable CA is refused with
// the reason; a server started with it issues its leaf under it.
func TestGivenCA(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(now)
	require.NoError(t, err)
	certPEM, keyPEM, err := ca.PEM()
	require.NoError(t, err)
	back, err := ParseCA(certPEM, keyPEM, now)
	require.NoError(t, err)
	assert.True(t, back.Cert.Equal(ca.Cert))

	other, err := NewCA(now)
	require.NoError(t, err)
	_, otherKey, err := other.PEM()
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	sec1, err := x509.MarshalECPrivateKey(p384)
	require.NoError(t, err)
	leaf, err := issueLeaf(ca.Cert, ca.Key, []string{"x.test"}, nil, now, now.Add(time.Hour))
	require.NoError(t, err)
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Certificate[0]})
	for _, tt := range []struct {
		name       string
		cert, key  []byte
		at         time.Time
		wantSubstr string
	}{
		{"another CA's key", certPEM, otherKey, now, "is not the key of the CA certificate"},
		{"a leaf", leafPEM, keyPEM, now, "is not a CA that may sign certificates"},
		{"P-384", certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), now, "want P-256"},
		{"expired", certPEM, keyPEM, now.Add(2 * caLifetime), "not now: make a new one"},
		{"not PEM", []byte("hello"), keyPEM, now, "not a PEM CERTIFICATE"},
		{"an RSA-typed key", certPEM, []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), now, `PEM "RSA PRIVATE KEY"`},
	} {
		_, err := ParseCA(tt.cert, tt.key, tt.at)
		assert.ErrorContains(t, err, tt.wantSubstr, tt.name)
	}

	srv, err := Start(Config{CA: ca})
	require.NoError(t, err)
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	_, err = srv.ca.leaf.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: MDMHost})
	assert.NoError(t, err, "the server's leaf chains to the given CA")
}
