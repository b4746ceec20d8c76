package refserver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get fetches target over real TLS and returns the answer with its body
// read, or the error.
func get(t *testing.T, c *http.Client, target string) (*http.Response, string, error) {
	t.Helper()
	resp, err := c.Get(target)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body), nil
}

// checkTLSLegacy: mdm.acme.test (by SNI) speaks TLS 1.0-1.1 only, so a
// TLS 1.2+ client fails the handshake there, while the other hosts are
// TLS 1.2+ as ever.
func checkTLSLegacy(t *testing.T, s *Server) {
	t.Helper()
	modern := client(s, &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12})
	defer modern.CloseIdleConnections()
	_, _, err := get(t, modern, mdmWK+aliceQ)
	require.Error(t, err, "a TLS 1.2+ client reaches mdm.acme.test")
	assert.ErrorContains(t, err, "protocol version")

	for _, target := range []string{orgWK + aliceQ, idpLoginFor("carol@acme.test")} {
		resp, _, err := get(t, modern, target)
		require.NoError(t, err, target)
		assert.Less(t, resp.StatusCode, 400, target)
		assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12), target)
	}

	legacy := client(s, &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	defer legacy.CloseIdleConnections()
	resp, body, err := get(t, legacy, mdmWK+aliceQ)
	require.NoError(t, err, "an old client still gets the document")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, byodDoc, body)
	assert.Equal(t, uint16(tls.VersionTLS11), resp.TLS.Version)
	assert.Equal(t, 1, resp.ProtoMajor, "no HTTP/2 below TLS 1.2")
	_, _, err = get(t, legacy, orgWK+aliceQ)
	assert.Error(t, err, "the organisation domain still refuses TLS 1.1")
}

// checkPrivateCA: mdm.acme.test's certificate chains to the private CA,
// which StockPool (the stock device's roots) lacks and CertPool has.
func checkPrivateCA(t *testing.T, s *Server) {
	t.Helper()
	stock := client(s, &tls.Config{RootCAs: s.StockPool()})
	defer stock.CloseIdleConnections()
	_, _, err := get(t, stock, mdmWK+aliceQ)
	require.Error(t, err, "a stock device trusts mdm.acme.test")
	var unknown x509.UnknownAuthorityError
	assert.True(t, errors.As(err, &unknown), "%v", err)
	for _, target := range []string{orgWK + aliceQ, idpLoginFor("carol@acme.test"), axmLookup + aliceQ} {
		resp, _, err := get(t, stock, target)
		require.NoError(t, err, target)
		assert.Less(t, resp.StatusCode, 400, target)
		assert.Equal(t, s.ca.caCert.Subject.CommonName, resp.TLS.PeerCertificates[0].Issuer.CommonName, target)
	}

	full := client(s, &tls.Config{RootCAs: s.CertPool()})
	defer full.CloseIdleConnections()
	resp, body, err := get(t, full, mdmWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, byodDoc, body)
	leaf := resp.TLS.PeerCertificates[0]
	assert.Equal(t, s.ca.privateCACert.Subject.CommonName, leaf.Issuer.CommonName)
	assert.Equal(t, []string{MDMHost}, leaf.DNSNames)
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
	resp, _, err = get(t, full, orgWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
}

func TestTLSLegacyFault(t *testing.T) {
	checkTLSLegacy(t, start(t, FaultTLSLegacy))

	// Without the fault mdm.acme.test is TLS 1.2+ like every host.
	s := start(t)
	modern := client(s, &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12})
	defer modern.CloseIdleConnections()
	resp, _, err := get(t, modern, mdmWK+aliceQ)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
	legacy := client(s, &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	defer legacy.CloseIdleConnections()
	_, _, err = get(t, legacy, mdmWK+aliceQ)
	assert.Error(t, err)
}

func TestPrivateCAFault(t *testing.T) {
	checkPrivateCA(t, start(t, FaultPrivateCA))

	// Without the fault a stock device trusts every host.
	s := start(t)
	stock := client(s, &tls.Config{RootCAs: s.StockPool()})
	defer stock.CloseIdleConnections()
	for _, target := range []string{mdmWK + aliceQ, orgWK + aliceQ} {
		resp, _, err := get(t, stock, target)
		require.NoError(t, err, target)
		assert.Equal(t, s.ca.caCert.Subject.CommonName, resp.TLS.PeerCertificates[0].Issuer.CommonName)
	}
}
