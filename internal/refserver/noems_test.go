package refserver

import (
	"bufio"
	"crypto/tls"
	"io"
	"maps"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, noEMSEffects) }

var noEMSEffects = map[string]func(t *testing.T, s *Server){
	FaultTLS12NoEMS: checkNoEMS,
}

// dialTLS completes a handshake with the server for serverName, MaxVersion
// capping the version offered (0: Go's default, up to TLS 1.3).
func dialTLS(t *testing.T, s *Server, serverName string, maxVersion uint16) *tls.Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	require.NoError(t, err)
	c := tls.Client(raw, &tls.Config{RootCAs: s.CertPool(), ServerName: serverName, MaxVersion: maxVersion})
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, c.Handshake(), serverName)
	return c
}

// hasEMS tells whether the connection negotiated Extended Master Secret:
// Go refuses to export keying material from a TLS 1.2 session without it.
func hasEMS(c *tls.Conn) bool {
	cs := c.ConnectionState()
	_, err := cs.ExportKeyingMaterial("x", nil, 1)
	return err == nil
}

// getOver sends one GET of target over c and returns the answer and body.
func getOver(t *testing.T, c *tls.Conn, target string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	require.NoError(t, err)
	require.NoError(t, req.Write(c))
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// checkNoEMS: mdm.acme.test (by SNI) negotiates TLS 1.2 without EMS, even
// for a client that offers TLS 1.3, and answers as the conforming server
// does; the other hosts keep Go's TLS, EMS included.
func checkNoEMS(t *testing.T, s *Server) {
	t.Helper()
	c := dialTLS(t, s, MDMHost, tls.VersionTLS12)
	assert.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)
	assert.False(t, hasEMS(c), "mdm.acme.test negotiated Extended Master Secret")
	resp, body := getOver(t, c, mdmWK+aliceQ)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, byodDoc, body)

	// A client that offers TLS 1.3 is held at 1.2 there.
	c = dialTLS(t, s, MDMHost, 0)
	assert.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version)
	assert.False(t, hasEMS(c))

	// The same through net/http, the way the simulator's clients connect.
	hc := client(s, &tls.Config{RootCAs: s.CertPool()})
	defer hc.CloseIdleConnections()
	resp, body, err := get(t, hc, mdmWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, byodDoc, body)
	assert.Equal(t, uint16(tls.VersionTLS12), resp.TLS.Version)

	for _, host := range []string{OrgDomain, IdPHost} {
		c := dialTLS(t, s, host, tls.VersionTLS12)
		assert.Equal(t, uint16(tls.VersionTLS12), c.ConnectionState().Version, host)
		assert.True(t, hasEMS(c), "%s lost Extended Master Secret", host)
	}
	resp, _, err = get(t, hc, orgWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Equal(t, uint16(tls.VersionTLS13), resp.TLS.Version, "acme.test still speaks TLS 1.3")
}

func TestTLS12NoEMSFault(t *testing.T) {
	checkNoEMS(t, start(t, FaultTLS12NoEMS))

	// Without the fault mdm.acme.test negotiates EMS on TLS 1.2, and no
	// listener stands in front of the TLS server.
	s := start(t)
	assert.Nil(t, s.sniLn)
	assert.Nil(t, s.ems)
	c := dialTLS(t, s, MDMHost, tls.VersionTLS12)
	assert.True(t, hasEMS(c))
}

// Bytes that are no ClientHello reach the TLS server as they would
// without the fault: a plain HTTP request gets net/http's 400.
func TestTLS12NoEMSPassesNonTLS(t *testing.T) {
	s := start(t, FaultTLS12NoEMS)
	raw, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	require.NoError(t, err)
	defer raw.Close()
	require.NoError(t, raw.SetDeadline(time.Now().Add(10*time.Second)))
	req, err := http.NewRequest(http.MethodGet, "http://"+MDMHost+"/", nil)
	require.NoError(t, err)
	require.NoError(t, req.Write(raw))
	resp, err := http.ReadResponse(bufio.NewReader(raw), req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), "HTTPS server")
}

func TestTLS12NoEMSNeedsSocat(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(Config{Faults: []string{FaultTLS12NoEMS}})
	require.Error(t, err)
	assert.EqualError(t, err, "refserver: fault tls12-no-ems needs socat: apt-get install socat (make deps installs it)")
}

// With private-ca as well, socat serves mdm.acme.test the private CA's leaf.
func TestTLS12NoEMSWithPrivateCA(t *testing.T) {
	s := start(t, FaultTLS12NoEMS, FaultPrivateCA)
	c := dialTLS(t, s, MDMHost, tls.VersionTLS12)
	assert.False(t, hasEMS(c))
	leaf := c.ConnectionState().PeerCertificates[0]
	assert.Equal(t, s.ca.privateCACert.Subject.CommonName, leaf.Issuer.CommonName)
	c = dialTLS(t, s, OrgDomain, tls.VersionTLS12)
	assert.True(t, hasEMS(c))
	assert.Equal(t, s.ca.caCert.Subject.CommonName, c.ConnectionState().PeerCertificates[0].Issuer.CommonName)
}
