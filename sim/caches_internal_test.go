package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain makes a root and a leaf for host, valid from nb to na.
func testChain(t *testing.T, host string, nb, na time.Time) (*x509.Certificate, *x509.CertPool) {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: nb.Add(-time.Hour), NotAfter: na.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	require.NoError(t, err)
	root, err := x509.ParseCertificate(rootDER)
	require.NoError(t, err)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leafDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject: pkix.Name{CommonName: host}, DNSNames: []string{host}, NotBefore: nb, NotAfter: na,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}, root, leafKey.Public(), rootKey)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(leafDER)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return leaf, pool
}

// The cache of verified chains must never turn a refusal into a pass: not
// for another host, another trust store or a time past the chain's expiry.
func TestChainCacheNeverHidesAFailure(t *testing.T) {
	now := time.Now()
	leaf, pool := testChain(t, "mdm.acme.test", now.Add(-time.Hour), now.Add(time.Hour))
	_, otherPool := testChain(t, "mdm.acme.test", now.Add(-time.Hour), now.Add(time.Hour))
	c := &chainCache{m: map[chainKey]chainEntry{}}
	peers := []*x509.Certificate{leaf}
	require.NoError(t, c.verify(peers, "mdm.acme.test", pool, now))
	assert.Len(t, c.m, 1, "a success is kept")
	require.NoError(t, c.verify(peers, "mdm.acme.test", pool, now.Add(time.Minute)), "served from the cache")

	assert.ErrorContains(t, c.verify(peers, "other.acme.test", pool, now), "not trusted", "another host")
	assert.ErrorContains(t, c.verify(peers, "mdm.acme.test", otherPool, now), "not trusted", "another trust store")
	assert.ErrorContains(t, c.verify(peers, "mdm.acme.test", pool, now.Add(2*time.Hour)), "expired", "past NotAfter")
	assert.ErrorContains(t, c.verify(peers, "mdm.acme.test", pool, now.Add(-2*time.Hour)), "not trusted", "before NotBefore")
	assert.Len(t, c.m, 1, "failures are not kept")
}

func TestBodyIdentityCacheReusesForAnHourOnly(t *testing.T) {
	c := &identityCache{m: map[string]cachedIdentity{}}
	now := time.Now()
	a, err := c.get("iPhone17,1", "SIM22C152", now)
	require.NoError(t, err)
	b, err := c.get("iPhone17,1", "SIM22C152", now.Add(30*time.Minute))
	require.NoError(t, err)
	assert.Same(t, a, b, "within the hour")
	other, err := c.get("Mac16,1", "SIM24C101", now)
	require.NoError(t, err)
	assert.NotSame(t, a, other, "another model")
	later, err := c.get("iPhone17,1", "SIM22C152", now.Add(61*time.Minute))
	require.NoError(t, err)
	assert.NotSame(t, a, later, "replaced after the hour")
	assert.True(t, later.Cert.NotAfter.After(now.Add(61*time.Minute+23*time.Hour)), "the new one is valid from its making")
}
