package refserver

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
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

// sniTestRig is an sniListener that diverts example.com to one Go TLS
// server and hands everything else to another, both with httptest's
// certificate (example.com and 127.0.0.1).
type sniTestRig struct {
	l    *sniListener
	pool *x509.CertPool
}

func newSNITestRig(t *testing.T, peekFor time.Duration) *sniTestRig {
	t.Helper()
	divert := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "diverted")
	}))
	t.Cleanup(divert.Close)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := newSNIListener(inner, func(sni string) bool { return sni == "example.com" }, divert.Listener.Addr().String(), peekFor, t.Logf)
	main := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "main")
		}),
		TLSConfig: &tls.Config{Certificates: divert.TLS.Certificates},
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = main.ServeTLS(l, "", "")
	}()
	t.Cleanup(func() {
		main.Close()
		<-served
		l.wait()
	})
	pool := x509.NewCertPool()
	pool.AddCert(divert.Certificate())
	return &sniTestRig{l: l, pool: pool}
}

// get fetches / over a connection whose ClientHello names serverName (an
// IP address sends no SNI) and returns the connection, still open, and
// the body.
func (r *sniTestRig) get(t *testing.T, serverName string) (*tls.Conn, string) {
	t.Helper()
	raw, err := net.DialTimeout("tcp", r.l.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	c := tls.Client(raw, &tls.Config{RootCAs: r.pool, ServerName: serverName})
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	require.NoError(t, c.Handshake())
	_, body := getOver(t, c, "https://"+serverName+"/")
	return c, body
}

// A client that never sends its ClientHello holds up no other connection,
// and Close ends it, as it ends the spliced ones.
func TestSNIListenerRoutesWhilePeeking(t *testing.T) {
	r := newSNITestRig(t, time.Hour)
	silent, err := net.DialTimeout("tcp", r.l.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer silent.Close()

	spliced, body := r.get(t, "example.com")
	assert.Equal(t, "diverted", body)
	_, body = r.get(t, "127.0.0.1")
	assert.Equal(t, "main", body)

	// The silent connection is still being peeked: open, nothing to read.
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, err = silent.Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "the silent connection was answered: %v", err)

	require.NoError(t, r.l.Close())
	r.l.wait()
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = silent.Read(make([]byte, 1))
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "Close left the peeked connection open")
	require.NoError(t, spliced.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = spliced.Read(make([]byte, 1))
	assert.Error(t, err)
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "Close left the spliced connection open")
}

// A connection that sends no ClientHello within the peek time is closed.
func TestSNIListenerDropsSilentClient(t *testing.T) {
	r := newSNITestRig(t, 50*time.Millisecond)
	silent, err := net.DialTimeout("tcp", r.l.Addr().String(), 5*time.Second)
	require.NoError(t, err)
	defer silent.Close()
	require.NoError(t, silent.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = silent.Read(make([]byte, 1))
	require.Error(t, err)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the silent connection was not dropped: %v", err)
}
