package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testCA issues certificates for made-up names such as acme.test, which the
// httptest certificate does not cover.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "enrollsim test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func (ca *testCA) leaf(t *testing.T, names ...string) tls.Certificate {
	t.Helper()
	return leafWith(t, ca, nil, names...)
}

// tlsServer serves h on 127.0.0.1 with a certificate for acme.test.
func tlsServer(t *testing.T, ca *testCA, cfg *tls.Config, h http.Handler) (*httptest.Server, int) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// Failed handshakes are the point of several tests; keep them out of the output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.Certificates = []tls.Certificate{ca.leaf(t, "acme.test")}
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().(*net.TCPAddr).Port
}

// echoHandler answers with the Host header and the SNI name it saw.
var echoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s %s", r.Host, r.TLS.ServerName)
})

func get(t *testing.T, c *Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Options{})
	require.NoError(t, err)
	assert.Equal(t, DefaultTimeout, c.Timeout())
	assert.Nil(t, c.hc.Jar, "no cookie jar")
	tr := c.hc.Transport.(*http.Transport)
	assert.Nil(t, tr.Proxy, "proxy settings from the environment must be ignored")
	assert.Equal(t, uint16(tls.VersionTLS12), tr.TLSClientConfig.MinVersion)
	assert.Nil(t, tr.TLSClientConfig.RootCAs, "system roots")
	assert.False(t, tr.TLSClientConfig.InsecureSkipVerify)

	c, err = New(Options{Timeout: 3 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.Timeout())
}

func TestRedirectsAreReturned(t *testing.T) {
	for _, code := range []int{
		http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
	} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			var followed atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/next", code)
			})
			mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
				followed.Add(1)
			})
			srv := httptest.NewTLSServer(mux)
			defer srv.Close()
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())

			c, err := New(Options{RootCAs: pool})
			require.NoError(t, err)
			resp, err := get(t, c, srv.URL+"/start")
			require.NoError(t, err)
			assert.Equal(t, code, resp.StatusCode)
			assert.Equal(t, "/next", resp.Header.Get("Location"))
			assert.Zero(t, followed.Load(), "redirect was followed")
		})
	}
}

func TestRouting(t *testing.T) {
	ca := newTestCA(t)
	_, port := tlsServer(t, ca, nil, echoHandler)
	p := strconv.Itoa(port)

	tests := []struct {
		name      string
		url       string
		resolve   []string
		connectTo []string
	}{
		{"connect-to host and port", "https://acme.test/", nil, []string{"acme.test:443:127.0.0.1:" + p}},
		{"connect-to any host and port", "https://acme.test/", nil, []string{"::127.0.0.1:" + p}},
		{"connect-to then resolve", "https://acme.test/", []string{"backend.test:" + p + ":127.0.0.1"}, []string{"acme.test:443:backend.test:" + p}},
		{"connect-to keeps host", "https://acme.test/", []string{"acme.test:" + p + ":127.0.0.1"}, []string{"acme.test:443::" + p}},
		{"resolve", "https://acme.test:" + p + "/", []string{"acme.test:" + p + ":127.0.0.1"}, nil},
		{"resolve bracketed", "https://acme.test:" + p + "/", []string{"acme.test:" + p + ":[127.0.0.1]"}, nil},
		{"resolve wildcard", "https://acme.test:" + p + "/", []string{"*:" + p + ":127.0.0.1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{RootCAs: ca.pool(), Resolve: tt.resolve, ConnectTo: tt.connectTo})
			require.NoError(t, err)
			resp, err := get(t, c, tt.url)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, resp.Request.URL.Host+" acme.test", string(body), "Host header and SNI must keep the URL's host")
		})
	}
}

func TestRoute(t *testing.T) {
	mustResolve := func(s string) ResolveRule {
		r, err := ParseResolve(s)
		require.NoError(t, err)
		return r
	}
	mustConnect := func(s string) ConnectToRule {
		r, err := ParseConnectTo(s)
		require.NoError(t, err)
		return r
	}
	tests := []struct {
		name      string
		resolve   []string
		connectTo []string
		addr      string
		want      string
	}{
		{"no rules", nil, nil, "acme.test:443", "acme.test:443"},
		{"connect-to", nil, []string{"acme.test:443:127.0.0.1:8443"}, "acme.test:443", "127.0.0.1:8443"},
		{"connect-to host case", nil, []string{"ACME.test:443:127.0.0.1:8443"}, "acme.TEST:443", "127.0.0.1:8443"},
		{"connect-to other port", nil, []string{"acme.test:443:127.0.0.1:8443"}, "acme.test:80", "acme.test:80"},
		{"connect-to other host", nil, []string{"acme.test:443:127.0.0.1:8443"}, "other.test:443", "other.test:443"},
		{"connect-to any host", nil, []string{":443:127.0.0.1:8443"}, "other.test:443", "127.0.0.1:8443"},
		{"connect-to any port", nil, []string{"acme.test::127.0.0.1:8443"}, "acme.test:80", "127.0.0.1:8443"},
		{"connect-to keeps port", nil, []string{"acme.test:443:127.0.0.1:"}, "acme.test:443", "127.0.0.1:443"},
		{"connect-to first match wins", nil, []string{"::127.0.0.1:1", "acme.test:443:127.0.0.1:2"}, "acme.test:443", "127.0.0.1:1"},
		{"connect-to ipv6", nil, []string{"[::1]:443:[::1]:8443"}, "[::1]:443", "[::1]:8443"},
		{"resolve", []string{"acme.test:443:127.0.0.1"}, nil, "acme.test:443", "127.0.0.1:443"},
		{"resolve other port", []string{"acme.test:443:127.0.0.1"}, nil, "acme.test:8443", "acme.test:8443"},
		{"resolve ipv6", []string{"acme.test:443:[::1]"}, nil, "acme.test:443", "[::1]:443"},
		{"resolve exact beats wildcard", []string{"*:443:127.0.0.2", "acme.test:443:127.0.0.1"}, nil, "acme.test:443", "127.0.0.1:443"},
		{"resolve wildcard", []string{"*:443:127.0.0.2", "acme.test:443:127.0.0.1"}, nil, "other.test:443", "127.0.0.2:443"},
		{"connect-to then resolve", []string{"backend.test:8443:127.0.0.1"}, []string{"acme.test:443:backend.test:8443"}, "acme.test:443", "127.0.0.1:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dialer{}
			for _, s := range tt.resolve {
				d.resolve = append(d.resolve, mustResolve(s))
			}
			for _, s := range tt.connectTo {
				d.connectTo = append(d.connectTo, mustConnect(s))
			}
			assert.Equal(t, tt.want, d.route(tt.addr))
		})
	}
}

func TestParse(t *testing.T) {
	r, err := ParseResolve("Acme.test:443:[::1]")
	require.NoError(t, err)
	assert.Equal(t, ResolveRule{Host: "acme.test", Port: 443, Addr: netip.MustParseAddr("::1")}, r)

	c, err := ParseConnectTo("::127.0.0.1:8443")
	require.NoError(t, err)
	assert.Equal(t, ConnectToRule{ConnectHost: "127.0.0.1", ConnectPort: 8443}, c)
}

func TestBadEntries(t *testing.T) {
	tests := []struct {
		name      string
		resolve   []string
		connectTo []string
		want      []string
	}{
		{"resolve without fields", []string{"foo"}, nil, []string{`--resolve "foo": want HOST:PORT:ADDR, e.g. acme.test:443:127.0.0.1`}},
		{"resolve without address", []string{"acme.test:443"}, nil, []string{`--resolve "acme.test:443"`, "HOST:PORT:ADDR"}},
		{"resolve empty address", []string{"acme.test:443:"}, nil, []string{`--resolve "acme.test:443:"`, "HOST:PORT:ADDR"}},
		{"resolve empty host", []string{":443:127.0.0.1"}, nil, []string{`--resolve ":443:127.0.0.1"`, "use * for any host"}},
		{"resolve bad port", []string{"acme.test:https:127.0.0.1"}, nil, []string{`--resolve "acme.test:https:127.0.0.1"`, `port "https"`}},
		{"resolve port zero", []string{"acme.test:0:127.0.0.1"}, nil, []string{`--resolve "acme.test:0:127.0.0.1"`, `port "0"`}},
		{"resolve port too big", []string{"acme.test:65536:127.0.0.1"}, nil, []string{`port "65536"`}},
		{"resolve name as address", []string{"acme.test:443:localhost"}, nil, []string{`--resolve "acme.test:443:localhost"`, `"localhost" is not an IP address`}},
		{"resolve address list", []string{"acme.test:443:127.0.0.1,127.0.0.2"}, nil, []string{"is not an IP address"}},
		{"connect-to without fields", nil, []string{"foo"}, []string{`--connect-to "foo": want HOST:PORT:CONNECT-HOST:CONNECT-PORT, e.g. acme.test:443:127.0.0.1:8443`}},
		{"connect-to three fields", nil, []string{"acme.test:443:127.0.0.1"}, []string{`--connect-to "acme.test:443:127.0.0.1"`, "CONNECT-PORT"}},
		{"connect-to five fields", nil, []string{"acme.test:443:127.0.0.1:8443:1"}, []string{`--connect-to "acme.test:443:127.0.0.1:8443:1"`, "CONNECT-PORT"}},
		{"connect-to unbracketed ipv6", nil, []string{"acme.test:443:::1:8443"}, []string{`--connect-to "acme.test:443:::1:8443"`}},
		{"connect-to unclosed bracket", nil, []string{"[::1:443:127.0.0.1:8443"}, []string{`--connect-to "[::1:443:127.0.0.1:8443"`}},
		{"connect-to bad port", nil, []string{"acme.test:x:127.0.0.1:8443"}, []string{`--connect-to "acme.test:x:127.0.0.1:8443"`, `port "x"`}},
		{"connect-to bad connect port", nil, []string{"acme.test:443:127.0.0.1:99999"}, []string{`connect port "99999"`}},
		{"every bad entry is reported", []string{"a", "acme.test:443:127.0.0.1", "b"}, []string{"c"},
			[]string{`--resolve "a"`, `--resolve "b"`, `--connect-to "c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Resolve: tt.resolve, ConnectTo: tt.connectTo})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestCACertFiles(t *testing.T) {
	ca := newTestCA(t)
	_, port := tlsServer(t, ca, nil, echoHandler)
	p := strconv.Itoa(port)

	t.Run("trusted", func(t *testing.T) {
		c, err := New(Options{CACertFiles: []string{writeFile(t, "ca.pem", ca.pem)}, ConnectTo: []string{"::127.0.0.1:" + p}})
		require.NoError(t, err)
		resp, err := get(t, c, "https://acme.test/")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("added to RootCAs without changing it", func(t *testing.T) {
		roots := x509.NewCertPool()
		c, err := New(Options{RootCAs: roots, CACertFiles: []string{writeFile(t, "ca.pem", ca.pem)}, ConnectTo: []string{"::127.0.0.1:" + p}})
		require.NoError(t, err)
		resp, err := get(t, c, "https://acme.test/")
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.True(t, roots.Equal(x509.NewCertPool()), "caller's pool was modified")
	})

	block, _ := pem.Decode(ca.pem)
	broken := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	tests := []struct {
		name string
		file func(t *testing.T) string
		want []string
	}{
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.pem") },
			[]string{"--cacert", "nope.pem", "no such file"}},
		{"not PEM", func(t *testing.T) string { return writeFile(t, "junk.pem", []byte("hello\n")) },
			[]string{"--cacert", "no PEM certificates found in ", "junk.pem"}},
		{"DER", func(t *testing.T) string { return writeFile(t, "ca.cer", block.Bytes) },
			[]string{"no PEM certificates found in ", "ca.cer", "it is DER"}},
		{"broken certificate", func(t *testing.T) string { return writeFile(t, "broken.pem", append(ca.pem, broken...)) },
			[]string{"--cacert", "certificate 2 in ", "broken.pem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{CACertFiles: []string{tt.file(t)}})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	ca := newTestCA(t)
	_, acmePort := tlsServer(t, ca, nil, echoHandler)
	toAcme := []string{"::127.0.0.1:" + strconv.Itoa(acmePort)}

	// The handler gives up long after the client should have, so a missing
	// timeout shows up as a successful response rather than a hang.
	_, slowPort := tlsServer(t, ca, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))

	_, tls11Port := tlsServer(t, ca, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, echoHandler)
	_, tls12Port := tlsServer(t, ca, &tls.Config{MaxVersion: tls.VersionTLS12}, echoHandler)

	plain := httptest.NewServer(echoHandler)
	t.Cleanup(plain.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())

	to := func(port int) []string { return []string{"::127.0.0.1:" + strconv.Itoa(port)} }

	tests := []struct {
		name string
		opts Options
		url  string
		kind Kind
		hint string
	}{
		{"untrusted", Options{ConnectTo: toAcme}, "https://acme.test/", KindTLS, "--cacert"},
		{"wrong host name", Options{RootCAs: ca.pool(), ConnectTo: toAcme}, "https://other.test/", KindTLS, "not valid for this host name"},
		{"timeout", Options{RootCAs: ca.pool(), ConnectTo: to(slowPort), Timeout: 200 * time.Millisecond}, "https://acme.test/", KindTimeout, "--timeout"},
		{"refused", Options{ConnectTo: to(closedPort)}, "https://acme.test/", KindRefused, "is the server running?"},
		{"refused without mapping", Options{}, fmt.Sprintf("https://127.0.0.1:%d/", closedPort), KindRefused, "is the server running?"},
		{"server below TLS 1.2", Options{RootCAs: ca.pool(), ConnectTo: to(tls11Port)}, "https://acme.test/", KindTLS, "TLS 1.2"},
		{"server below MinTLS", Options{RootCAs: ca.pool(), ConnectTo: to(tls12Port), MinTLS: tls.VersionTLS13}, "https://acme.test/", KindTLS, "TLS version"},
		{"plain HTTP", Options{}, "https://" + plain.Listener.Addr().String() + "/", KindTLS, "http://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			require.NoError(t, err)
			resp, err := get(t, c, tt.url)
			require.Error(t, err)
			assert.Nil(t, resp)

			var e *Error
			t.Log(err)
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.kind, Classify(err), "error: %v", err)
			assert.Contains(t, Hint(err), tt.hint)
			assert.Contains(t, err.Error(), "GET "+tt.url+": ", "error must say what failed")
			assert.Contains(t, err.Error(), "hint: "+Hint(err))
		})
	}
}

// The failing TLS cases above must fail because of the versions, not
// because the servers are broken.
func TestTLSVersions(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name      string
		serverMax uint16
		clientMin uint16
	}{
		{"TLS 1.2 by default", tls.VersionTLS12, 0},
		{"TLS 1.1 when allowed", tls.VersionTLS11, tls.VersionTLS10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, port := tlsServer(t, ca, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tt.serverMax}, echoHandler)
			c, err := New(Options{RootCAs: ca.pool(), ConnectTo: []string{"::127.0.0.1:" + strconv.Itoa(port)}, MinTLS: tt.clientMin})
			require.NoError(t, err)
			resp, err := get(t, c, "https://acme.test/")
			require.NoError(t, err)
			assert.Equal(t, tt.serverMax, resp.TLS.Version)
		})
	}
}

func TestRequestDeadlineIsKept(t *testing.T) {
	ca := newTestCA(t)
	_, port := tlsServer(t, ca, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	c, err := New(Options{RootCAs: ca.pool(), ConnectTo: []string{"::127.0.0.1:" + strconv.Itoa(port)}, Timeout: 5 * time.Second})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://acme.test/", nil)
	require.NoError(t, err)
	_, err = c.Do(req)
	require.Error(t, err)
	assert.Equal(t, KindTimeout, Classify(err))
	assert.NotContains(t, err.Error(), "within 5s", "the client's timeout did not apply")
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		kind Kind
		hint string
	}{
		{"nil", nil, KindOther, ""},
		{"other", errors.New("boom"), KindOther, ""},
		{"canceled", context.Canceled, KindOther, ""},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), KindTimeout, "raise --timeout"},
		{"dns", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "acme.test", IsNotFound: true}}, KindDNS, "--resolve HOST:443:ADDR"},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, KindRefused, "--connect-to/--resolve"},
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, KindTLS, "--cacert FILE"},
		{"host name", x509.HostnameError{Host: "acme.test", Certificate: &x509.Certificate{}}, KindTLS, "host name"},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, KindTLS, "expired"},
		{"version", errors.New("tls: server selected unsupported protocol version 302"), KindTLS, "TLS 1.2"},
		{"alert", &net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}, KindTLS, "handshake failed"},
		{"plain HTTP", http.ErrSchemeMismatch, KindTLS, "http://"},
		{"wrapped", &Error{Kind: KindRefused, Err: errors.New("anything")}, KindRefused, "is the server running?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.kind, Classify(tt.err))
			if tt.hint == "" {
				assert.Empty(t, Hint(tt.err))
			} else {
				assert.Contains(t, Hint(tt.err), tt.hint)
			}
		})
	}
}
