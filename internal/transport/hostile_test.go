package transport

// The transport half of the hostile-server corpus (issue 12, item 4): each
// server below misbehaves at the level of TCP, TLS or HTTP framing, on a
// real loopback socket. Every case must end, within its deadline, in a
// response or an *Error that names the cause; a valid-but-unusual answer
// (HTTP/1.0 with a close-delimited body) must be read like any other.

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileTimeout is the client's timeout in these tests; hostileDeadline is
// how long a case may take before it counts as a hang, and slack what a
// case may take beyond its timeout: both far beyond what a machine other
// work keeps busy needs. Each case proves its cause by its error (a
// timeout says "no response within 1s"), not by the clock. The timeout
// itself must also cover a good TLS handshake and answer on a loaded
// machine (400 ms left little room).
const (
	hostileTimeout  = time.Second
	hostileDeadline = 30 * time.Second
	slack           = 5 * time.Second
)

// within runs f and fails the test if it has not returned by the deadline,
// so a regression fails instead of hanging the suite.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("no verdict within %s: the client hung on a hostile server", d)
	}
}

// rawServer accepts connections on 127.0.0.1 and hands each to serve after
// reading the request head, so a case can write any bytes it likes.
func rawServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go func() { <-stop; c.Close() }()
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// slowly writes s one byte per interval until done or the peer leaves.
func slowly(c net.Conn, s string, interval time.Duration) {
	for i := 0; i < len(s); i++ {
		if _, err := c.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(interval)
	}
}

func plainClient(t *testing.T) *Client {
	t.Helper()
	c, err := New(Options{Timeout: hostileTimeout})
	require.NoError(t, err)
	return c
}

// readAll reads a body the way the engine does, with a cap.
func readAll(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

func TestHostileHeaders(t *testing.T) {
	tests := []struct {
		name    string
		head    func() string // status line and headers, without the blank line
		kind    Kind
		message []string // the error must contain each
	}{
		{"a 1 MiB header", func() string {
			return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 1<<20)
		}, KindLimit, []string{"the response headers are over 256 KiB", "trim them"}},
		{"10,000 headers", func() string {
			var b strings.Builder
			b.WriteString("HTTP/1.1 200 OK")
			for i := range 10000 {
				fmt.Fprintf(&b, "\r\nX-Hostile-%05d: %s", i, strings.Repeat("v", 24))
			}
			return b.String()
		}, KindLimit, []string{"the response headers are over 256 KiB"}},
		{"a NUL byte in a header", func() string {
			return "HTTP/1.1 200 OK\r\nX-A: a\x00b"
		}, KindProtocol, []string{"not valid HTTP", `"X-A: a\x00b"`, "control character"}},
		{"an escape sequence in a header", func() string {
			return "HTTP/1.1 200 OK\r\nX-A: \x1b[31mred"
		}, KindProtocol, []string{"not valid HTTP"}},
		{"a field name with invalid UTF-8", func() string {
			return "HTTP/1.1 200 OK\r\nX-\xffA: b"
		}, KindProtocol, []string{"not valid HTTP"}},
		{"a garbage status line", func() string {
			return "HELLO THERE"
		}, KindProtocol, []string{"not valid HTTP", "malformed HTTP status code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.head()
			addr := rawServer(t, func(c net.Conn) {
				io.WriteString(c, head+"\r\nContent-Length: 2\r\n\r\nok")
			})
			within(t, hostileDeadline, func() {
				resp, err := get(t, plainClient(t), "http://"+addr+"/")
				require.Error(t, err)
				assert.Nil(t, resp)
				assert.Equal(t, tt.kind, Classify(err), "%v", err)
				for _, m := range tt.message {
					assert.Contains(t, err.Error(), m)
				}
				assert.Less(t, len(err.Error()), 4<<10, "the error must not carry the hostile header whole")
			})
		})
	}
}

// Headers a browser would load are not refused: the limit is a bound, not
// a judgement on unusual servers.
func TestHeadersUnderTheLimitPass(t *testing.T) {
	tests := []struct {
		name string
		head string
		want func(t *testing.T, h http.Header)
	}{
		{"200 KiB of headers", "X-Big: " + strings.Repeat("a", 200<<10), func(t *testing.T, h http.Header) {
			assert.Len(t, h.Get("X-Big"), 200<<10)
		}},
		{"2,000 short headers", strings.Repeat("Set-Cookie: a=b\r\n", 1999) + "Set-Cookie: a=b", func(t *testing.T, h http.Header) {
			assert.Len(t, h.Values("Set-Cookie"), 2000)
		}},
		{"invalid UTF-8 in a value", "X-A: caf\xe9 \xff\xfe", func(t *testing.T, h http.Header) {
			assert.Equal(t, "caf\xe9 \xff\xfe", h.Get("X-A"), "bytes are kept as sent; reports sanitise them")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				io.WriteString(c, "HTTP/1.1 200 OK\r\n"+tt.head+"\r\nContent-Length: 2\r\n\r\nok")
			})
			within(t, hostileDeadline, func() {
				resp, err := get(t, plainClient(t), "http://"+addr+"/")
				require.NoError(t, err)
				body, err := readAll(resp, 1<<10)
				require.NoError(t, err)
				assert.Equal(t, "ok", string(body))
				tt.want(t, resp.Header)
			})
		})
	}
}

// Servers that never finish: the client's timeout ends each one, at the
// stage where it stalls, and the error says so.
func TestHostileStalls(t *testing.T) {
	stall := func(c net.Conn) { io.Copy(io.Discard, c) } // holds the connection until the client leaves
	tests := []struct {
		name  string
		serve func(c net.Conn)
	}{
		{"accepts and never answers", stall},
		{"slow headers, one byte at a time", func(c net.Conn) {
			slowly(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 50*time.Millisecond)
		}},
		{"a status line and then nothing", func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			stall(c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := rawServer(t, tt.serve)
			within(t, hostileDeadline, func() {
				start := time.Now()
				_, err := get(t, plainClient(t), "http://"+addr+"/")
				require.Error(t, err)
				assert.Equal(t, KindTimeout, Classify(err), "%v", err)
				assert.Contains(t, err.Error(), "no response within "+hostileTimeout.String())
				assert.Contains(t, err.Error(), "raise --timeout")
				assert.Less(t, time.Since(start), hostileTimeout+slack)
			})
		})
	}
}

// A TLS port that accepts TCP and never sends its ServerHello.
func TestSilentTLSHandshakeTimesOut(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	within(t, hostileDeadline, func() {
		c, err := New(Options{Timeout: hostileTimeout, ConnectTo: []string{"::" + addr}})
		require.NoError(t, err)
		_, err = get(t, c, "https://acme.test/")
		require.Error(t, err)
		assert.Equal(t, KindTimeout, Classify(err), "%v", err)
	})
}

// Bodies that never end or are far too big: Do returns the headers, and
// the body read ends at the client's timeout or the caller's cap without
// the body ever being held in memory.
func TestHostileBodies(t *testing.T) {
	const gib = 1 << 30
	chunk := strings.Repeat("x", 32<<10)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		limit   int64
		want    func(t *testing.T, body []byte, err error)
	}{
		{"1 GiB with a Content-Length, read to a cap", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(gib))
			for sent := 0; sent < gib && r.Context().Err() == nil; sent += len(chunk) {
				if _, err := io.WriteString(w, chunk); err != nil {
					return
				}
			}
		}, 1 << 20, func(t *testing.T, body []byte, err error) {
			require.NoError(t, err)
			assert.Len(t, body, 1<<20)
		}},
		{"endless chunked, read to the timeout", func(w http.ResponseWriter, r *http.Request) {
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(time.Millisecond)
			}
		}, gib, func(t *testing.T, body []byte, err error) {
			require.Error(t, err)
			assert.ErrorIs(t, err, errBodyDeadline(t, err))
		}},
		{"slowloris body, one byte per second", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			for r.Context().Err() == nil {
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				w.(http.Flusher).Flush()
				time.Sleep(time.Second)
			}
		}, gib, func(t *testing.T, body []byte, err error) {
			require.Error(t, err)
			assert.Less(t, len(body), 100)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			within(t, hostileDeadline, func() {
				start := time.Now()
				resp, err := get(t, plainClient(t), srv.URL)
				require.NoError(t, err)
				body, err := readAll(resp, tt.limit)
				tt.want(t, body, err)
				assert.Less(t, time.Since(start), hostileTimeout+slack)
			})
		})
	}
}

// errBodyDeadline returns the deadline error a timed-out body read wraps.
func errBodyDeadline(t *testing.T, err error) error {
	t.Helper()
	if !isTimeout(err) && !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Errorf("body error %v is not the client's deadline", err)
	}
	return err
}

// A reset in the middle of the body is a read error, not a short success.
func TestResetMidBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, strings.Repeat("x", 100))
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0) // close sends RST, not FIN
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	within(t, hostileDeadline, func() {
		resp, err := get(t, plainClient(t), srv.URL)
		require.NoError(t, err)
		body, err := readAll(resp, 1<<20)
		require.Error(t, err, "a cut body must not read as complete")
		assert.True(t, errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection reset"), "%v", err)
		assert.LessOrEqual(t, len(body), 100)
	})
}

// HTTP/1.0 without Content-Length: the body ends when the server closes.
// That is valid HTTP (RFC 9112 §6.3) and must read as a normal answer.
func TestHTTP10CloseDelimitedBodyIsValid(t *testing.T) {
	want := `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`
	addr := rawServer(t, func(c net.Conn) {
		io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n"+want)
	})
	within(t, hostileDeadline, func() {
		resp, err := get(t, plainClient(t), "http://"+addr+"/")
		require.NoError(t, err)
		assert.Equal(t, "HTTP/1.0", resp.Proto)
		body, err := readAll(resp, 1<<20)
		require.NoError(t, err)
		assert.Equal(t, want, string(body))
	})
}

// leafWith issues a certificate for names, changed by edit before signing;
// signer nil makes it self-signed.
func leafWith(t *testing.T, ca *testCA, edit func(*x509.Certificate), names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if edit != nil {
		edit(tmpl)
	}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Each TLS failure names its cause and what to do, and a TLS 1.0 server is
// named as such: "share no version" alone would not say which side is old.
func TestHostileTLS(t *testing.T) {
	ca := newTestCA(t)
	expired := func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	}
	tests := []struct {
		name    string
		cert    tls.Certificate
		cfg     *tls.Config
		hint    string
		message []string
		offered uint16
	}{
		{"expired", leafWith(t, ca, expired, "acme.test"), nil, "expired", []string{"x509: certificate has expired"}, 0},
		{"self-signed", leafWith(t, nil, nil, "acme.test"), nil, "--cacert", []string{"x509: certificate signed by unknown authority"}, 0},
		{"wrong host", leafWith(t, ca, nil, "other.test"), nil, "not valid for this host name", []string{"x509: certificate is valid for other.test, not acme.test"}, 0},
		{"TLS 1.0 only", leafWith(t, ca, nil, "acme.test"), &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
			"TLS 1.2 or newer", []string{"TLS 1.0 offered, devices require TLS 1.2 or newer"}, tls.VersionTLS10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(echoHandler)
			srv.Config.ErrorLog = quietLog()
			srv.TLS = tt.cfg
			if srv.TLS == nil {
				srv.TLS = &tls.Config{}
			}
			srv.TLS.Certificates = []tls.Certificate{tt.cert}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			within(t, hostileDeadline, func() {
				c, err := New(Options{Timeout: hostileTimeout, RootCAs: ca.pool(), ConnectTo: []string{"::" + srv.Listener.Addr().String()}})
				require.NoError(t, err)
				_, err = get(t, c, "https://acme.test/")
				require.Error(t, err)
				assert.Equal(t, KindTLS, Classify(err), "%v", err)
				assert.Contains(t, Hint(err), tt.hint)
				for _, m := range tt.message {
					assert.Contains(t, err.Error(), m)
				}
				var e *Error
				require.ErrorAs(t, err, &e)
				assert.Equal(t, tt.offered, e.OfferedTLSVersion())
			})
		})
	}
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// Redirects come back as they are, whatever their Location holds: the
// engine judges them (RD-005), so the client must not refuse one first as
// http.Client does for a Location that does not parse.
func TestHostileRedirectsAreReturned(t *testing.T) {
	for _, loc := range []string{"https://acme.test/%zz", "javascript:alert(1)", "file:///etc/passwd", "", "http://[::1", strings.Repeat("/x", 50<<10)} {
		t.Run(fmt.Sprintf("%.40q", loc), func(t *testing.T) {
			addr := rawServer(t, func(c net.Conn) {
				io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: "+loc+"\r\nContent-Length: 0\r\n\r\n")
			})
			within(t, hostileDeadline, func() {
				resp, err := get(t, plainClient(t), "http://"+addr+"/")
				require.NoError(t, err)
				assert.Equal(t, http.StatusFound, resp.StatusCode)
				assert.Equal(t, loc, resp.Header.Get("Location"))
			})
		})
	}
}

// Over HTTP/2 the header bound is the same. net/http then reports only a
// PROTOCOL_ERROR or COMPRESSION_ERROR, which it cannot tell from a server
// that breaks HTTP/2, so the message names both.
func TestHeaderLimitOverHTTP2(t *testing.T) {
	ca := newTestCA(t)
	tests := []struct {
		name   string
		header func(h http.Header)
		want   string
	}{
		{"a 1 MiB header", func(h http.Header) { h.Set("X-Big", strings.Repeat("a", 1<<20)) }, "the response headers are over 256 KiB, or the server broke HTTP/2 (connection error: COMPRESSION_ERROR)"},
		{"10,000 headers", func(h http.Header) {
			for i := range 10000 {
				h.Set(fmt.Sprintf("X-Hostile-%05d", i), strings.Repeat("v", 24))
			}
		}, "the response headers are over 256 KiB, or the server broke HTTP/2 (connection error: PROTOCOL_ERROR)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.header(w.Header())
			}))
			srv.EnableHTTP2 = true
			srv.Config.ErrorLog = quietLog()
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, "acme.test")}}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			within(t, hostileDeadline, func() {
				c, err := New(Options{Timeout: hostileTimeout, RootCAs: ca.pool(), ConnectTo: []string{"::" + srv.Listener.Addr().String()}})
				require.NoError(t, err)
				_, err = get(t, c, "https://acme.test/")
				require.Error(t, err)
				assert.Equal(t, KindLimit, Classify(err), "%v", err)
				assert.Contains(t, err.Error(), tt.want)
			})
		})
	}
}
