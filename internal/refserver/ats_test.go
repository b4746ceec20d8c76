package refserver

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"maps"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, atsFaultEffects) }

// The faults of Apple's TLS rules break one rule on mdm.acme.test (by SNI)
// and leave every other host, and every other rule, as the conforming
// server has them.
var atsFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultTLSCBC: func(t *testing.T, s *Server) {
		gcm := client(s, &tls.Config{RootCAs: s.CertPool(), MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}})
		defer gcm.CloseIdleConnections()
		_, _, err := get(t, gcm, mdmWK+aliceQ)
		require.Error(t, err, "an AES-GCM-only client reaches mdm.acme.test")
		resp, _, err := get(t, gcm, orgWK+aliceQ)
		require.NoError(t, err, "the organisation domain keeps its AES-GCM suites")
		assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)

		any := client(s, &tls.Config{RootCAs: s.CertPool()})
		defer any.CloseIdleConnections()
		resp, body, err := get(t, any, mdmWK+aliceQ)
		require.NoError(t, err)
		assert.Equal(t, byodDoc, body)
		assert.Equal(t, uint16(tls.VersionTLS12), resp.TLS.Version, "no TLS 1.3, whose suites all qualify")
		assert.Contains(t, tls.CipherSuiteName(resp.TLS.CipherSuite), "_CBC_SHA")
		assert.Equal(t, 1, resp.ProtoMajor, "HTTP/2 refuses CBC suites")
	},
	FaultTLSRSA: func(t *testing.T, s *Server) {
		leaf := mdmLeaf(t, s)
		key, ok := leaf.PublicKey.(*rsa.PublicKey)
		require.True(t, ok, "%T", leaf.PublicKey)
		assert.Equal(t, 1024, key.N.BitLen())
		assert.Equal(t, x509.ECDSAWithSHA256, leaf.SignatureAlgorithm, "only the key is weak")
		assert.Equal(t, s.ca.caCert.Subject.CommonName, leaf.Issuer.CommonName)
	},
	FaultTLSSmallCA: func(t *testing.T, s *Server) {
		c := client(s, &tls.Config{RootCAs: s.CertPool()})
		defer c.CloseIdleConnections()
		resp, body, err := get(t, c, mdmWK+aliceQ)
		require.NoError(t, err, "the chain verifies: only its key size is wrong")
		assert.Equal(t, byodDoc, body)
		chain := resp.TLS.PeerCertificates
		require.Len(t, chain, 2)
		leafKey, ok := chain[0].PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok)
		assert.Equal(t, 256, leafKey.Curve.Params().BitSize, "the handshake key is P-256")
		caKey, ok := chain[1].PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok)
		assert.Equal(t, 224, caKey.Curve.Params().BitSize)
		assert.True(t, chain[1].IsCA)
		assert.Equal(t, s.ca.caCert.Subject.CommonName, chain[1].Issuer.CommonName)
		mdmLeaf(t, s) // acme.test keeps the main leaf
	},
	FaultTLSSHA1: func(t *testing.T, s *Server) {
		leaf := mdmLeaf(t, s)
		assert.Equal(t, x509.ECDSAWithSHA1, leaf.SignatureAlgorithm)
		assert.IsType(t, leaf.PublicKey, s.ca.leaf.Leaf.PublicKey, "only the signature is weak")
		// Go cannot verify a SHA-1 signature: the chain does not build.
		strict := client(s, &tls.Config{RootCAs: s.CertPool()})
		defer strict.CloseIdleConnections()
		_, _, err := get(t, strict, mdmWK+aliceQ)
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown)
	},
}

// mdmLeaf is the certificate mdm.acme.test presents, read without
// verification, after checking that acme.test still has the main leaf.
func mdmLeaf(t *testing.T, s *Server) *x509.Certificate {
	t.Helper()
	c := client(s, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only the certificate is read
	defer c.CloseIdleConnections()
	resp, _, err := get(t, c, orgWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, s.ca.leaf.Leaf.Raw, resp.TLS.PeerCertificates[0].Raw, "acme.test keeps the main leaf")
	resp, _, err = get(t, c, mdmWK+aliceQ)
	require.NoError(t, err)
	return resp.TLS.PeerCertificates[0]
}
