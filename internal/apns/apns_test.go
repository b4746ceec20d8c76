package apns

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/check"
)

const topic = "com.apple.mgmt.External.3f1c8a52-5b0e-4d5c-9a57-2a8f1f1f2d11"

var (
	tok32  = bytes.Repeat([]byte{0xab}, 32)
	hex32  = strings.Repeat("ab", 32)
	fixed  = time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	certMu sync.Mutex
	certs  = map[string]tls.Certificate{}
)

// providerCert makes one RSA certificate per topic for the whole test
// binary: RSA keys are slow to make on a busy machine.
func providerCert(t *testing.T, topic string) tls.Certificate {
	t.Helper()
	certMu.Lock()
	defer certMu.Unlock()
	if c, ok := certs[topic]; ok {
		return c
	}
	c, err := NewProviderCert(topic)
	require.NoError(t, err)
	certs[topic] = c
	return c
}

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixed }
	}
	s, err := Start("127.0.0.1:0", cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// rawClient speaks HTTP/2 to the stand-in with cert (none when nil), for
// requests the provider Client would never make.
func rawClient(s *Server, cert *tls.Certificate) *http.Client {
	protos := new(http.Protocols)
	protos.SetHTTP2(true)
	cfg := &tls.Config{RootCAs: s.CertPool()}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Protocols: protos}}
}

type request struct {
	method, path string
	header       http.Header
	body         string
}

func do(t *testing.T, c *http.Client, base string, r request) (*http.Response, string) {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	req, err := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
	require.NoError(t, err)
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

const mdmBody = `{"mdm":"magic-1"}`

// Every rule of Apple's provider API the stand-in enforces, each with the
// status and reason Apple documents, recorded as answered.
func TestAnswersAsAPNsDoes(t *testing.T) {
	s := start(t, Config{})
	pc := providerCert(t, topic)
	c := rawClient(s, &pc)
	mdm := hdr("apns-topic", topic, "apns-push-type", "mdm", "apns-priority", "10", "apns-expiration", "0")
	cases := []struct {
		name   string
		req    request
		status int
		reason string
	}{
		{"an MDM push", request{path: "/3/device/" + hex32, header: mdm, body: mdmBody}, 200, ""},
		{"no headers: the certificate's topic", request{path: "/3/device/" + hex32, body: mdmBody}, 200, ""},
		{"upper-case token", request{path: "/3/device/" + strings.ToUpper(hex32), body: mdmBody}, 200, ""},
		{"a 100-byte token", request{path: "/3/device/" + strings.Repeat("01", 100), body: mdmBody}, 200, ""},
		{"priority 5", request{path: "/3/device/" + hex32, header: hdr("apns-priority", "5"), body: mdmBody}, 200, ""},
		{"priority 1", request{path: "/3/device/" + hex32, header: hdr("apns-priority", "1"), body: mdmBody}, 200, ""},
		{"a 4096-byte payload", request{path: "/3/device/" + hex32, body: `{"mdm":"` + strings.Repeat("x", 4096-10) + `"}`}, 200, ""},
		{"GET", request{method: http.MethodGet, path: "/3/device/" + hex32}, 405, "MethodNotAllowed"},
		{"PUT", request{method: http.MethodPut, path: "/3/device/" + hex32, body: mdmBody}, 405, "MethodNotAllowed"},
		{"another path", request{path: "/4/device/" + hex32, body: mdmBody}, 404, "BadPath"},
		{"no token segment", request{path: "/3/device", body: mdmBody}, 404, "BadPath"},
		{"a path below the token", request{path: "/3/device/" + hex32 + "/x", body: mdmBody}, 404, "BadPath"},
		{"no token", request{path: "/3/device/", body: mdmBody}, 400, "MissingDeviceToken"},
		{"token not hex", request{path: "/3/device/" + strings.Repeat("zz", 32), body: mdmBody}, 400, "BadDeviceToken"},
		{"token odd length", request{path: "/3/device/" + hex32 + "a", body: mdmBody}, 400, "BadDeviceToken"},
		{"token 31 bytes", request{path: "/3/device/" + strings.Repeat("ab", 31), body: mdmBody}, 400, "BadDeviceToken"},
		{"token 101 bytes", request{path: "/3/device/" + strings.Repeat("ab", 101), body: mdmBody}, 400, "BadDeviceToken"},
		{"another topic", request{path: "/3/device/" + hex32, header: hdr("apns-topic", "com.example.app"), body: mdmBody}, 400, "TopicDisallowed"},
		{"unknown push type", request{path: "/3/device/" + hex32, header: hdr("apns-push-type", "mdmx"), body: mdmBody}, 400, "InvalidPushType"},
		{"priority 7", request{path: "/3/device/" + hex32, header: hdr("apns-priority", "7"), body: mdmBody}, 400, "BadPriority"},
		{"expiration not a number", request{path: "/3/device/" + hex32, header: hdr("apns-expiration", "tomorrow"), body: mdmBody}, 400, "BadExpirationDate"},
		{"expiration negative", request{path: "/3/device/" + hex32, header: hdr("apns-expiration", "-1"), body: mdmBody}, 400, "BadExpirationDate"},
		{"apns-id not a UUID", request{path: "/3/device/" + hex32, header: hdr("apns-id", "42"), body: mdmBody}, 400, "BadMessageId"},
		{"a header twice", request{path: "/3/device/" + hex32, header: hdr("apns-push-type", "mdm", "apns-push-type", "mdm"), body: mdmBody}, 400, "DuplicateHeaders"},
		{"empty payload", request{path: "/3/device/" + hex32, header: mdm}, 400, "PayloadEmpty"},
		{"a 4097-byte payload", request{path: "/3/device/" + hex32, body: `{"mdm":"` + strings.Repeat("x", 4097-10) + `"}`}, 413, "PayloadTooLarge"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, c, s.URL(), tc.req)
			assert.Equal(t, tc.status, resp.StatusCode, body)
			assert.True(t, isUUID(resp.Header.Get("apns-id")), "apns-id answered: %q", resp.Header.Get("apns-id"))
			if tc.status == 200 {
				assert.Empty(t, body, "a success has no body")
			} else {
				var e map[string]string
				require.NoError(t, json.Unmarshal([]byte(body), &e), body)
				assert.Equal(t, map[string]string{"reason": tc.reason}, e)
			}
			got := s.Pushes()
			require.Len(t, got, i+1, "every request is recorded")
			p := got[i]
			assert.Equal(t, tc.status, p.Status)
			assert.Equal(t, tc.reason, p.Reason)
			assert.Equal(t, topic, p.CertUID)
			assert.Equal(t, resp.Header.Get("apns-id"), p.ID)
			if tc.reason != "BadPath" && tc.reason != "MissingDeviceToken" {
				assert.Equal(t, strings.ToLower(strings.TrimPrefix(tc.req.path, "/3/device/")), p.Token)
			}
		})
	}
}

// A provider certificate without a UID has no topic: 403 BadCertificate.
func TestCertificateWithoutUID(t *testing.T) {
	s := start(t, Config{})
	noUID, err := NewServerCert("provider.test")
	require.NoError(t, err)
	resp, body := do(t, rawClient(s, &noUID), s.URL(), request{path: "/3/device/" + hex32, body: mdmBody})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.JSONEq(t, `{"reason":"BadCertificate"}`, body)
	require.Len(t, s.Pushes(), 1)
	assert.Empty(t, s.Pushes()[0].CertUID)
}

// A push through the Client is recorded with every field, as sent.
func TestPushRecordedWithEveryField(t *testing.T) {
	s := start(t, Config{})
	c := NewClient(s.URL(), providerCert(t, topic), s.CertPool(), 0)
	defer c.Close()
	id := "0f8a2b3c-4d5e-4f60-8a1b-2c3d4e5f6a7b"
	res, err := c.Push(context.Background(), Notification{Token: tok32, Topic: topic, PushType: "mdm",
		Priority: "10", Expiration: "0", ID: id, Magic: "3B8C2E2A-PUSHMAGIC"})
	require.NoError(t, err)
	assert.Equal(t, Result{Status: 200, ID: id}, res)
	assert.Equal(t, []check.Push{{At: fixed, Token: hex32, Topic: topic, PushType: "mdm", Priority: "10",
		Expiration: "0", ID: id, Magic: "3B8C2E2A-PUSHMAGIC", Payload: `{"mdm":"3B8C2E2A-PUSHMAGIC"}`,
		CertUID: topic, Status: 200}}, s.Pushes())

	// An error is a Result, with Apple's reason, and a new apns-id.
	res, err = c.Push(context.Background(), Notification{Token: tok32, Topic: "com.example.other", Magic: "m"})
	require.NoError(t, err)
	assert.Equal(t, 400, res.Status)
	assert.Equal(t, "TopicDisallowed", res.Reason)
	assert.True(t, isUUID(res.ID))

	// Payload goes as-is; one that is no JSON object has no Magic.
	_, err = c.Push(context.Background(), Notification{Token: tok32, Payload: []byte(`["mdm"]`)})
	require.NoError(t, err)
	last := s.Pushes()[2]
	assert.Equal(t, `["mdm"]`, last.Payload)
	assert.Empty(t, last.Magic)
	assert.Empty(t, last.Topic, "no apns-topic sent: recorded as absent")
}

// The stand-in and the Client speak HTTP/2 only, as APNs does.
func TestHTTP2Only(t *testing.T) {
	s := start(t, Config{})
	pc := providerCert(t, topic)
	resp, _ := do(t, rawClient(s, &pc), s.URL(), request{path: "/3/device/" + hex32, body: mdmBody})
	assert.Equal(t, "HTTP/2.0", resp.Proto)

	h1 := new(http.Protocols)
	h1.SetHTTP1(true)
	old := &http.Client{Transport: &http.Transport{Protocols: h1,
		TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), Certificates: []tls.Certificate{pc}}}}
	_, err := old.Post(s.URL()+"/3/device/"+hex32, "application/json", strings.NewReader(mdmBody))
	require.Error(t, err, "an HTTP/1.1 provider is refused")
	t.Logf("HTTP/1.1 provider: %v", err)

	// The Client against an HTTP/1.1-only server fails, naming the URL.
	h1cert, err := NewServerCert("127.0.0.1")
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{h1cert}, NextProtos: []string{"http/1.1"}})
	require.NoError(t, err)
	plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), ReadHeaderTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	go plain.Serve(ln)
	defer plain.Close()
	roots := x509.NewCertPool()
	roots.AddCert(h1cert.Leaf)
	base := "https://" + ln.Addr().String()
	_, err = NewClient(base, pc, roots, 0).Push(context.Background(), Notification{Token: tok32, Magic: "m"})
	require.Error(t, err)
	t.Logf("Client against HTTP/1.1: %v", err)
	assert.Contains(t, err.Error(), base+"/3/device/"+hex32)
}

// A provider without a client certificate fails the handshake, and
// nothing is recorded; with ClientCAs, only a certificate they issued is
// taken.
func TestClientCertificateRequired(t *testing.T) {
	s := start(t, Config{})
	_, err := rawClient(s, nil).Post(s.URL()+"/3/device/"+hex32, "application/json", strings.NewReader(mdmBody))
	require.Error(t, err)
	assert.Empty(t, s.Pushes())

	pc := providerCert(t, topic)
	other := providerCert(t, topic+"-other")
	pool := x509.NewCertPool()
	pool.AddCert(pc.Leaf)
	v := start(t, Config{ClientCAs: pool})
	_, err = NewClient(v.URL(), other, v.CertPool(), 0).Push(context.Background(), Notification{Token: tok32, Magic: "m"})
	require.Error(t, err, "a certificate the pool did not issue")
	res, err := NewClient(v.URL(), pc, v.CertPool(), 0).Push(context.Background(), Notification{Token: tok32, Magic: "m"})
	require.NoError(t, err)
	assert.Equal(t, 200, res.Status)
	require.Len(t, v.Pushes(), 1)
	assert.Equal(t, topic, v.Pushes()[0].CertUID)
}

// The device's mailbox holds a push before its provider has the answer.
func TestMailboxHasPushBeforeTheAnswer(t *testing.T) {
	s := start(t, Config{})
	mb := s.Subscribe(tok32)
	defer mb.Close()
	c := NewClient(s.URL(), providerCert(t, topic), s.CertPool(), 0)
	res, err := c.Push(context.Background(), Notification{Token: tok32, Topic: topic, PushType: "mdm", Magic: "pm"})
	require.NoError(t, err)
	require.Equal(t, 200, res.Status)
	got := mb.Pushes()
	require.Len(t, got, 1)
	assert.Equal(t, "pm", got[0].Magic)
	select {
	case <-mb.Wait():
	default:
		t.Fatal("Wait not signalled before the answer")
	}

	// A rejected push reaches the mailbox too, marked as answered.
	res, err = c.Push(context.Background(), Notification{Token: tok32, PushType: "nope", Magic: "pm"})
	require.NoError(t, err)
	require.Equal(t, 400, res.Status)
	got = mb.Pushes()
	require.Len(t, got, 2)
	assert.Equal(t, "InvalidPushType", got[1].Reason)
	select {
	case <-mb.Wait():
	default:
		t.Fatal("Wait not signalled")
	}
}

// Two tokens do not see each other's pushes; two mailboxes of one token
// both see its pushes; a closed mailbox sees no more.
func TestMailboxesSeeOnlyTheirToken(t *testing.T) {
	s := start(t, Config{})
	tokB := bytes.Repeat([]byte{0x01}, 32)
	a, a2, b := s.Subscribe(tok32), s.Subscribe(tok32), s.Subscribe(tokB)
	defer a.Close()
	defer b.Close()
	c := NewClient(s.URL(), providerCert(t, topic), s.CertPool(), 0)
	push := func(tok []byte, m string) {
		res, err := c.Push(context.Background(), Notification{Token: tok, Magic: m})
		require.NoError(t, err)
		require.Equal(t, 200, res.Status)
	}
	push(tok32, "a1")
	push(tokB, "b1")
	a2.Close()
	push(tok32, "a2")
	magics := func(mb *Mailbox) (out []string) {
		for _, p := range mb.Pushes() {
			out = append(out, p.Magic)
		}
		return out
	}
	assert.Equal(t, []string{"a1", "a2"}, magics(a))
	assert.Equal(t, []string{"a1"}, magics(a2))
	assert.Equal(t, []string{"b1"}, magics(b))
	assert.Len(t, s.Pushes(), 3)
}

// An oversized body is refused and recorded cut to 512 bytes, and the
// stand-in goes on serving.
func TestOversizedBodyCapped(t *testing.T) {
	s := start(t, Config{})
	pc := providerCert(t, topic)
	c := rawClient(s, &pc)
	huge := `{"mdm":"m","x":"` + strings.Repeat("y", 1<<20) + `"}`
	resp, body := do(t, c, s.URL(), request{path: "/3/device/" + hex32, body: huge})
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	assert.JSONEq(t, `{"reason":"PayloadTooLarge"}`, body)
	p := s.Pushes()[0]
	assert.Len(t, p.Payload, recordedPayload)
	assert.Empty(t, p.Magic, "no JSON object came whole")
	resp, _ = do(t, c, s.URL(), request{path: "/3/device/" + hex32, body: mdmBody})
	assert.Equal(t, 200, resp.StatusCode)
}

// The record keeps the last 10 000 pushes, in order; OnPush sees each.
func TestRecordBounded(t *testing.T) {
	var seen int
	s := start(t, Config{OnPush: func(check.Push) { seen++ }})
	mb := s.Subscribe(tok32)
	n := keptPushes + keptPushes/10 + 7
	for i := range n {
		s.record(check.Push{Token: hex32, Status: i})
	}
	got := s.Pushes()
	require.Len(t, got, keptPushes)
	assert.Equal(t, n-keptPushes, got[0].Status)
	assert.Equal(t, n-1, got[len(got)-1].Status)
	assert.Len(t, mb.Pushes(), keptPushes)
	assert.Equal(t, n, seen)
}

// A provider certificate is shaped like Apple's MDM push certificates.
func TestNewProviderCert(t *testing.T) {
	pc := providerCert(t, topic)
	leaf := pc.Leaf
	assert.Equal(t, topic, CertUID(leaf))
	assert.Equal(t, "APSP:3f1c8a52-5b0e-4d5c-9a57-2a8f1f1f2d11", leaf.Subject.CommonName)
	assert.Equal(t, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, leaf.ExtKeyUsage)
	key, err := KeyPEM(pc)
	require.NoError(t, err)
	pair, err := tls.X509KeyPair(CertPEM(pc), key)
	require.NoError(t, err)
	assert.Equal(t, pc.Certificate, pair.Certificate)

	srv, err := NewServerCert("localhost")
	require.NoError(t, err)
	assert.Empty(t, CertUID(srv.Leaf))
	assert.Empty(t, CertUID(nil))
	_, err = NewProviderCert(" ")
	assert.Error(t, err)

	// One key, a certificate per topic: what a process of many servers
	// does instead of generating an RSA key for each.
	rsaKey := pc.PrivateKey.(*rsa.PrivateKey)
	other, err := ProviderCertWithKey("com.apple.mgmt.External.0b2e7c1a-6d3f-4e8a-b5c9-1f2a3b4c5d6e", rsaKey)
	require.NoError(t, err)
	assert.Equal(t, "com.apple.mgmt.External.0b2e7c1a-6d3f-4e8a-b5c9-1f2a3b4c5d6e", CertUID(other.Leaf))
	assert.True(t, rsaKey.PublicKey.Equal(other.Leaf.PublicKey))
	assert.NotEqual(t, pc.Leaf.SerialNumber, other.Leaf.SerialNumber)
}
