package refserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client reaches every host name through the server's loopback address, as
// --resolve does for the CLI, and does not follow redirects.
func client(s *Server, cfg *tls.Config) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: cfg,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, s.Addr())
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func TestTLSDiscoveryRedirect(t *testing.T) {
	s := start(t)
	c := client(s, &tls.Config{RootCAs: s.CertPool()})
	defer c.CloseIdleConnections()

	resp, err := c.Get(orgWK + aliceQ)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.Equal(t, mdmWK+aliceQ, resp.Header.Get("Location"))
	require.NotNil(t, resp.TLS)
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))

	// And the hop the device takes next.
	resp2, err := c.Get(resp.Header.Get("Location"))
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusOK, resp2.StatusCode)
}

func TestTLSRefusals(t *testing.T) {
	s := start(t)
	tests := []struct {
		name string
		cfg  *tls.Config
	}{
		{"CA not trusted", &tls.Config{}},
		{"TLS 1.1 only", &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(s, tt.cfg)
			defer c.CloseIdleConnections()
			resp, err := c.Get(orgWK + aliceQ)
			if err == nil {
				resp.Body.Close()
			}
			assert.Error(t, err)
		})
	}
}

func TestCertificate(t *testing.T) {
	s := start(t)
	// Two CAs, the main one first, then the private one.
	var cas []*x509.Certificate
	for rest := s.CACertPEM(); len(rest) > 0; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		require.NotNil(t, block)
		ca, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		assert.True(t, ca.IsCA)
		caKey, ok := ca.PublicKey.(*ecdsa.PublicKey)
		require.True(t, ok, "CA key is ECDSA")
		assert.Equal(t, elliptic.P256(), caKey.Curve)
		cas = append(cas, ca)
	}
	require.Len(t, cas, 2)
	assert.True(t, cas[0].Equal(s.ca.caCert))
	assert.True(t, cas[1].Equal(s.ca.privateCACert))
	stock := x509.NewCertPool()
	stock.AddCert(cas[0])
	assert.True(t, stock.Equal(s.StockPool()))
	stock.AddCert(cas[1])
	assert.True(t, stock.Equal(s.CertPool()))

	leaf := s.ca.leaf.Leaf
	leafKey, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok, "server key is ECDSA")
	assert.Equal(t, elliptic.P256(), leafKey.Curve)
	for _, name := range []string{"acme.test", "mdm.acme.test", "idp.acme.test", "axm.test", "localhost", "127.0.0.1", "::1"} {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: s.CertPool(), DNSName: name})
		assert.NoError(t, err, name)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: s.CertPool(), DNSName: "example.com"})
	assert.Error(t, err)
	// Valid now and at the injected (past) date alike.
	_, err = leaf.Verify(x509.VerifyOptions{Roots: s.CertPool(), DNSName: "acme.test", CurrentTime: fixedNow})
	assert.NoError(t, err)

	path := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, s.WriteCA(path))
	written, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, s.CACertPEM(), written)
	assert.Error(t, s.WriteCA(filepath.Join(t.TempDir(), "missing", "ca.pem")))

	other := start(t)
	assert.NotEqual(t, s.CACertPEM(), other.CACertPEM(), "each server has its own CA")
}

func TestAddresses(t *testing.T) {
	s := start(t)
	host, port, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, port, fmt.Sprint(s.Port()))
	assert.NotZero(t, s.Port())
}

func TestNonLoopbackRefused(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.10:0", "example.com:443", "127.0.0.1"} {
		t.Run(addr, func(t *testing.T) {
			s, err := Start(Config{Addr: addr})
			if s != nil {
				_ = s.Close()
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), addr)
		})
	}
	for _, addr := range []string{"127.0.0.1:0", "127.3.2.1:8443", "[::1]:0", "localhost:0", "LOCALHOST:0"} {
		assert.NoError(t, checkLoopback(addr), addr)
	}
}

func TestHostsAndAccounts(t *testing.T) {
	s := start(t)
	assert.Equal(t, []string{"acme.test", "axm.test", "idp.acme.test", "mdm.acme.test"}, s.Hosts())
	for _, h := range s.Hosts() {
		assert.Contains(t, leafDNSNames, h, "served host %s is in the certificate", h)
	}

	accounts := s.Accounts()
	kinds := map[string]string{}
	passwords := map[string]bool{}
	for _, a := range accounts {
		kinds[a.Identifier] = a.Kind + " " + a.Auth
		assert.NotEmpty(t, a.ManagedAppleID, a.Identifier)
		assert.NotEmpty(t, a.Password, a.Identifier)
		assert.False(t, passwords[a.Password], "%s shares a password", a.Identifier)
		passwords[a.Password] = true
		secret, err := base32.StdEncoding.DecodeString(a.TOTPSecret)
		assert.NoError(t, err, "%s: TOTP secret is base32", a.Identifier)
		assert.GreaterOrEqual(t, len(secret), 16, "%s: TOTP secret has at least 128 bits", a.Identifier)
	}
	assert.Equal(t, map[string]string{
		"alice@acme.test":    "byod web",
		"bob@acme.test":      "byod web",
		"carol@acme.test":    "adde web-idp",
		"dave@mdm.acme.test": "byod web",
		"erin@acme.test":     "byod oauth2",
		"frank@acme.test":    "adde oauth2",
		"grace@acme.test":    "byod web-spa",
		"heidi@acme.test":    "adde web-xhr",
		"ivan@acme.test":     "byod web-safari",
		"judy@acme.test":     "byod web",
	}, kinds)
	for _, a := range accounts {
		js := a.Auth == AuthWebSPA || a.Auth == AuthWebXHR || a.Auth == AuthWebSafari
		assert.Equal(t, js, a.NeedsJavaScript, a.Identifier)
	}

	accounts[0].Password = "changed"
	assert.NotEqual(t, "changed", s.Accounts()[0].Password, "Accounts returns a copy")
}

func TestLogf(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	s := startCfg(t, Config{Now: clock, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}})
	serve(t, s, http.MethodGet, orgWK+aliceQ)
	mu.Lock()
	defer mu.Unlock()
	// The first five lines are the registration with AxM at start.
	require.Len(t, lines, 6)
	assert.Contains(t, lines[0], "GET https://axm.test/session -> 200")
	assert.Contains(t, lines[3], "POST https://axm.test/account-driven-enrollment/profile -> 200")
	assert.Contains(t, lines[5], "GET https://acme.test/.well-known/com.apple.remotemanagement?user-identifier=alice%40acme.test&model-family=iPhone -> 307")
	for _, l := range lines {
		assert.NotContains(t, l, s.axmClient.Creds.AccessSecret)
	}
}

func TestCloseStopsServing(t *testing.T) {
	s, err := Start(Config{})
	require.NoError(t, err)
	addr := s.Addr()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice is harmless")
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
	}
	assert.Error(t, err)
}
