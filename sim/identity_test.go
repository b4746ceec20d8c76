package sim_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// fakeCA is a SCEP CA whose answers a test can break one at a time.
type fakeCA struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	// challenge is the one it accepts.
	challenge string
	// Overrides, per operation; nil answers as a CA should.
	caps, cacert, pki func(w http.ResponseWriter, r *http.Request) bool
	// otherKey issues the certificate for a key of its own.
	otherKey bool
}

var caKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newFakeCA(t *testing.T) *fakeCA {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "fake SCEP CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &fakeCA{cert: cert, key: caKey, challenge: "s3cret-challenge"}
}

func (ca *fakeCA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Query().Get("operation") {
	case "GetCACaps":
		if ca.caps != nil && ca.caps(w, r) {
			return
		}
		io.WriteString(w, "POSTPKIOperation\nAES\nSHA-256\n")
	case "GetCACert":
		if ca.cacert != nil && ca.cacert(w, r) {
			return
		}
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Write(ca.cert.Raw)
	case "PKIOperation":
		if ca.pki != nil && ca.pki(w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		msg, err := scep.ParsePKIMessage(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := msg.DecryptPKIEnvelope(ca.cert, ca.key); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var rep *scep.PKIMessage
		if msg.ChallengePassword != ca.challenge {
			rep, err = msg.Fail(ca.cert, ca.key, scep.BadRequest)
		} else {
			pub := msg.CSR.PublicKey
			if ca.otherKey {
				pub = &caKey.PublicKey
			}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: msg.CSR.Subject,
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
			der, cerr := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
			if cerr != nil {
				http.Error(w, cerr.Error(), http.StatusInternalServerError)
				return
			}
			crt, _ := x509.ParseCertificate(der)
			rep, err = msg.Success(ca.cert, ca.key, crt)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-pki-message")
		w.Write(rep.Raw)
	}
}

func scepPayloads(url string, content map[string]any) []map[string]any {
	c := map[string]any{
		"URL": url, "Name": "fake", "Challenge": "s3cret-challenge", "Keysize": int64(2048), "Key Type": "RSA", "Key Usage": int64(5),
		"Subject": []any{[]any{[]any{"O", "Acme"}}, []any{[]any{"CN", "device identity 1"}}},
	}
	for k, v := range content {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return []map[string]any{
		{"PayloadType": "com.apple.mdm", "PayloadUUID": "M", "IdentityCertificateUUID": "S"},
		{"PayloadType": "com.apple.security.scep", "PayloadUUID": "S", "PayloadContent": c},
	}
}

func chk001(t *testing.T, results []check.Result) check.Result {
	t.Helper()
	for _, r := range results {
		if r.ID == "CHK-001" {
			return r
		}
	}
	t.Fatal("no CHK-001 result")
	return check.Result{}
}

// identityTimeout is the per-request timeout of the SCEP runs: the stalled
// PKIOperation ends at it, and every other request (GetCACaps, GetCACert,
// a PKIOperation the fake CA signs) must answer within it on a machine
// other work keeps busy (500 ms left little room).
const identityTimeout = 2 * time.Second

func TestIdentityOverSCEP(t *testing.T) {
	// Mostly waits for timeouts to expire: alongside the others.
	t.Parallel()
	nested := bytes.Repeat([]byte{0x30, 0x80}, 10000)
	for _, tc := range []struct {
		name    string
		break_  func(ca *fakeCA)
		content map[string]any
		status  check.Status
		says    string
		step    event.StepStatus
	}{
		{name: "a conforming CA", status: check.Pass, says: `issued "device identity 1" by "fake SCEP CA", RSA 2048`, step: event.StepOK},
		{name: "GetCACaps 500", break_: func(ca *fakeCA) {
			ca.caps = func(w http.ResponseWriter, r *http.Request) bool { http.Error(w, "down", 500); return true }
		}, status: check.Fail, says: "GetCACaps: HTTP 500", step: event.StepFailed},
		{name: "GetCACert not a certificate", break_: func(ca *fakeCA) {
			ca.cacert = func(w http.ResponseWriter, r *http.Request) bool { io.WriteString(w, "<html>"); return true }
		}, status: check.Fail, says: "GetCACert: neither a DER certificate nor a PKCS#7", step: event.StepFailed},
		{name: "the challenge refused", content: map[string]any{"Challenge": "wrong"}, status: check.Fail,
			says: "the CA refused the request: FAILURE (badRequest", step: event.StepFailed},
		{name: "no challenge at all", content: map[string]any{"Challenge": nil}, status: check.Fail, says: "FAILURE", step: event.StepFailed},
		{name: "a certificate for another key", break_: func(ca *fakeCA) { ca.otherKey = true }, status: check.Fail,
			says: "the certificate issued is for another key than the CSR's", step: event.StepFailed},
		{name: "PKIOperation garbage", break_: func(ca *fakeCA) {
			ca.pki = func(w http.ResponseWriter, r *http.Request) bool { io.WriteString(w, "OK"); return true }
		}, status: check.Fail, says: "the CertRep is not a CMS message", step: event.StepFailed},
		{name: "PKIOperation nested 10000 deep", break_: func(ca *fakeCA) {
			ca.pki = func(w http.ResponseWriter, r *http.Request) bool { w.Write(nested); return true }
		}, status: check.Fail, says: "the CertRep is not a CMS message", step: event.StepFailed},
		{name: "PKIOperation over the read limit", break_: func(ca *fakeCA) {
			ca.pki = func(w http.ResponseWriter, r *http.Request) bool { w.Write(make([]byte, 1<<20)); return true }
		}, status: check.Error, says: "larger than the simulator's", step: event.StepError},
		{name: "PKIOperation slower than the timeout", break_: func(ca *fakeCA) {
			ca.pki = func(w http.ResponseWriter, r *http.Request) bool {
				select {
				case <-r.Context().Done():
				case <-time.After(3 * identityTimeout): // well after the client gave up; srv.Close waits for it
				}
				return true
			}
		}, status: check.Error, says: "no answer within the simulator's " + identityTimeout.String() + " timeout", step: event.StepError},
		{name: "a fingerprint that does not match", content: map[string]any{"CAFingerprint": []byte("0123456789abcdef0123")}, status: check.Fail,
			says: "no CA certificate matches the payload's CAFingerprint", step: event.StepFailed},
		{name: "a key size no device makes", content: map[string]any{"Keysize": int64(100000)}, status: check.Fail,
			says: "the SCEP payload's key: RSA key size 100000", step: event.StepFailed},
		{name: "an EC key type", content: map[string]any{"Key Type": "ECSECPrimeRandom"}, status: check.Fail,
			says: "Apple's SCEP payload allows RSA only", step: event.StepFailed},
		{name: "a subject that is not X.500", content: map[string]any{"Subject": "CN=x"}, status: check.Fail,
			says: "the SCEP payload's Subject: want an array of arrays", step: event.StepFailed},
		{name: "a URL that is not http", content: map[string]any{"URL": "ftp://x"}, status: check.Fail,
			says: `the SCEP payload's URL "ftp://x" is not an http(s) URL`, step: event.StepFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newFakeCA(t)
			if tc.break_ != nil {
				tc.break_(ca)
			}
			srv := httptest.NewTLSServer(ca)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			results, events, step, subject := sim.IdentityStepForTest(ctx, srv.Client(), sim.Limits{Timeout: identityTimeout},
				scepPayloads(srv.URL+"/scep", tc.content)...)
			r := chk001(t, results)
			assert.Equal(t, tc.status, r.Status, "%s %s", r.Actual, r.Detail)
			assert.Contains(t, r.Actual+r.Detail, tc.says)
			assert.Equal(t, tc.step, step)
			if tc.status == check.Pass {
				assert.Equal(t, "CN=device identity 1,O=Acme", subject)
			} else {
				assert.Empty(t, subject)
			}
			for _, ev := range events {
				if ev.Exchange != nil {
					assert.NotContains(t, ev.Exchange.URL+ev.Exchange.RequestBody, "s3cret-challenge", "the challenge travels only inside the encrypted CSR")
				}
			}
		})
	}
}

// Identities the simulator cannot play are skipped with their reason, and
// nothing after is judged as failed.
func TestIdentityThatCannotBePlayed(t *testing.T) {
	mdm := map[string]any{"PayloadType": "com.apple.mdm", "PayloadUUID": "M", "IdentityCertificateUUID": "S"}
	for _, tc := range []struct {
		name   string
		ident  map[string]any
		status check.Status
		says   string
	}{
		{"pkcs12", map[string]any{"PayloadType": "com.apple.security.pkcs12", "PayloadUUID": "S"}, check.Skip, "embedded PKCS#12"},
		{"acme attested", map[string]any{"PayloadType": "com.apple.security.acme", "PayloadUUID": "S", "Attest": true}, check.Skip, "device attestation cannot be simulated"},
		{"acme", map[string]any{"PayloadType": "com.apple.security.acme", "PayloadUUID": "S"}, check.Skip, "SCEP identities only"},
		{"no identity payload", map[string]any{"PayloadType": "com.apple.security.scep", "PayloadUUID": "other"}, check.Error, "names no identity payload"},
		{"another type", map[string]any{"PayloadType": "com.apple.security.root", "PayloadUUID": "S"}, check.Error, `type "com.apple.security.root"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			results, _, _, _ := sim.IdentityStepForTest(context.Background(), http.DefaultClient, sim.Limits{}, mdm, tc.ident)
			r := chk001(t, results)
			assert.Equal(t, tc.status, r.Status)
			assert.Contains(t, r.Actual+r.Detail, tc.says)
			for _, res := range results {
				assert.NotEqual(t, check.Fail, res.Status, "%s", res.ID)
				assert.NotEqual(t, check.Warn, res.Status, "%s", res.ID)
			}
		})
	}
}

func TestIdentityPayloadDefaults(t *testing.T) {
	ca := newFakeCA(t)
	srv := httptest.NewTLSServer(ca)
	defer srv.Close()
	// No Keysize and no Key Type: Apple's defaults, RSA 1024.
	results, _, _, _ := sim.IdentityStepForTest(context.Background(), srv.Client(), sim.Limits{},
		scepPayloads(srv.URL+"/scep", map[string]any{"Keysize": nil, "Key Type": nil, "Subject": nil})...)
	r := chk001(t, results)
	assert.Equal(t, check.Pass, r.Status, r.Actual)
	assert.True(t, strings.HasSuffix(r.Actual+r.Detail, "RSA 1024"), r.Actual+r.Detail)
}

// A failed identity names the profile's SCEP URL, and when nothing there
// speaks SCEP (refused, 404, a web page) hints at --until profile; a SCEP
// CA that goes wrong gets no such hint.
func TestIdentityFailureNamesTheSCEPURL(t *testing.T) {
	const hint = "the server serves no SCEP here; to judge only the enrollment, try --until profile"
	for _, tc := range []struct {
		name   string
		break_ func(ca *fakeCA)
		closed bool // the listener is gone: connection refused
		status check.Status
		hint   bool
	}{
		{name: "GetCACaps 500", break_: func(ca *fakeCA) {
			ca.caps = func(w http.ResponseWriter, r *http.Request) bool { http.Error(w, "down", 500); return true }
		}, status: check.Fail},
		{name: "the challenge refused", break_: func(ca *fakeCA) { ca.challenge = "other" }, status: check.Fail},
		{name: "GetCACaps 404", break_: func(ca *fakeCA) {
			ca.caps = func(w http.ResponseWriter, r *http.Request) bool { http.NotFound(w, r); return true }
		}, status: check.Fail, hint: true},
		{name: "GetCACert 404", break_: func(ca *fakeCA) {
			ca.cacert = func(w http.ResponseWriter, r *http.Request) bool { http.NotFound(w, r); return true }
		}, status: check.Fail, hint: true},
		{name: "a web page where the CA should be", break_: func(ca *fakeCA) {
			page := func(w http.ResponseWriter, r *http.Request) bool {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				io.WriteString(w, "<!DOCTYPE html><html><body>Sign in</body></html>")
				return true
			}
			ca.caps, ca.cacert = page, page
		}, status: check.Fail, hint: true},
		{name: "connection refused", closed: true, status: check.Error, hint: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newFakeCA(t)
			if tc.break_ != nil {
				tc.break_(ca)
			}
			srv := httptest.NewTLSServer(ca)
			client := srv.Client()
			scepURL := srv.URL + "/scep"
			if tc.closed {
				srv.Close()
			} else {
				defer srv.Close()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			results, _, _, _ := sim.IdentityStepForTest(ctx, client, sim.Limits{Timeout: 2 * time.Second}, scepPayloads(scepURL, nil)...)
			r := chk001(t, results)
			said := r.Actual + r.Detail
			assert.Equal(t, tc.status, r.Status, said)
			assert.Contains(t, said, "the profile's SCEP URL is "+scepURL)
			if tc.hint {
				assert.Contains(t, said, hint)
			} else {
				assert.NotContains(t, said, "--until profile")
			}
		})
	}
}
