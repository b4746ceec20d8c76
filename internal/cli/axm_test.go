package cli

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/axm"
	"github.com/enrollsim/enrollsim/internal/refserver"
)

// depCert is what an MDM server offers an administrator for its ABM token:
// a certificate of its own key pair.
func depCert(t *testing.T) (certPath string, cert *x509.Certificate, key *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "mdm dep"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	certPath = filepath.Join(t.TempDir(), "dep.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return certPath, cert, key
}

// The token the stand-in writes is one the server can decrypt with its own
// key, holding the credentials the stand-in verifies; none of them is ever
// printed, and the files that hold them are private.
func TestAxMTokenWritesAPrivateTokenTheServerCanDecrypt(t *testing.T) {
	certPath, cert, key := depCert(t)
	state := filepath.Join(t.TempDir(), "axm-state")
	r := execute(t, "axm", "token", "--cert", certPath, "--state", state)
	require.Equal(t, 0, r.code, r.errOut)
	tokenPath := filepath.Join(state, "acme-mdm.p7m")
	assert.Contains(t, r.out, "wrote the server token for acme-mdm to "+tokenPath)

	raw, err := os.ReadFile(tokenPath)
	require.NoError(t, err)
	creds, err := axm.DecryptToken(raw, cert, key)
	require.NoError(t, err)
	st, err := openAxMState(state, false, time.Now())
	require.NoError(t, err)
	require.Len(t, st.servers, 1)
	assert.Equal(t, creds, st.servers[0].Creds, "the token holds what the stand-in verifies")

	for _, secret := range []string{creds.ConsumerSecret, creds.AccessSecret, creds.AccessToken, creds.ConsumerKey} {
		require.NotEmpty(t, secret)
		assert.NotContains(t, r.out+r.errOut, secret)
	}
	for _, f := range []string{tokenPath, filepath.Join(state, axmServersFile), filepath.Join(state, axmCAKeyFile)} {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}

	// A second server joins the same state; the first keeps its token.
	r = execute(t, "axm", "token", "--cert", certPath, "--state", state, "--name", "other-mdm")
	require.Equal(t, 0, r.code, r.errOut)
	st, err = openAxMState(state, false, time.Now())
	require.NoError(t, err)
	assert.Equal(t, []string{"acme-mdm", "other-mdm"}, st.names())
	assert.Equal(t, creds, st.servers[0].Creds)
}

func TestAxMUsageErrors(t *testing.T) {
	certPath, _, _ := depCert(t)
	state := filepath.Join(t.TempDir(), "s")
	require.Equal(t, 0, execute(t, "axm", "token", "--cert", certPath, "--state", state).code)
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o644))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"axm"}, "axm what?"},
		{[]string{"axm", "token"}, "--cert is required"},
		{[]string{"axm", "token", "--cert", notPEM}, "no PEM CERTIFICATE block"},
		{[]string{"axm", "token", "--cert", "/nonexistent/c.pem"}, "no such file"},
		{[]string{"axm", "token", "--cert", certPath, "--name", "a b"}, `--name "a b"`},
		{[]string{"axm", "serve", "--state", filepath.Join(t.TempDir(), "none")}, "holds no stand-in state"},
		{[]string{"axm", "serve", "--state", state, "--default", "android=acme-mdm"}, "want FAMILY=NAME"},
		{[]string{"axm", "serve", "--state", state, "--default", "mac=nobody"}, `no server "nobody"`},
		{[]string{"axm", "serve", "--state", state, "--refuse-first", "TEAPOT"}, "--refuse-first"},
		{[]string{"axm", "serve", "--state", state, "--listen", "192.0.2.1:8443"}, "not a loopback address"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := execute(t, tt.args...)
			assert.Equal(t, 2, r.code, r.out+r.errOut)
			assert.Contains(t, r.errOut, tt.want)
		})
	}
}

// axm serve answers a server that signs in with its token and registers,
// and sends devices to the URL it registered; its output names the CA and
// the token, never a credential.
func TestAxMServeTakesARegistration(t *testing.T) {
	certPath, _, _ := depCert(t)
	state := filepath.Join(t.TempDir(), "s")
	require.Equal(t, 0, execute(t, "axm", "token", "--cert", certPath, "--state", state).code)
	st, err := openAxMState(state, false, time.Now())
	require.NoError(t, err)

	f, out, errOut := testFactory(nil)
	f.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- runAxMServe(ctx, f, &axmServeOptions{State: state, Listen: "127.0.0.1:0"}, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("axm serve stopped: %v", err)
	case <-time.After(2 * time.Minute): // a wait: the server makes its keys first
		t.Fatal("axm serve did not start")
	}
	assert.Contains(t, out.String(), st.caPath())
	assert.Contains(t, out.String(), filepath.Join(state, "acme-mdm.p7m"))

	pool := x509.NewCertPool()
	pool.AddCert(st.ca)
	httpc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c := &axm.Client{BaseURL: base, HTTP: httpc, Creds: st.servers[0].Creds}
	require.NoError(t, c.AssignProfile(ctx, "https://mdm.example.com/service-discovery"))
	got, _, err := c.FetchProfile(ctx)
	require.NoError(t, err)
	assert.Equal(t, "https://mdm.example.com/service-discovery", got)

	resp, err := httpc.Get(base + "/mdmBaseURL?user-identifier=qa%40acme.com&model-family=iPhone")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusFound, resp.StatusCode)
	assert.Equal(t, "https://mdm.example.com/service-discovery?user-identifier=qa%40acme.com&model-family=iPhone", resp.Header.Get("Location"))

	cancel()
	require.NoError(t, <-done)
	logged := out.String() + errOut.String()
	assert.Contains(t, errOut.String(), "/account-driven-enrollment/profile", "each call is logged")
	creds := st.servers[0].Creds
	for _, secret := range []string{creds.ConsumerSecret, creds.AccessSecret, creds.AccessToken} {
		assert.NotContains(t, logged, secret)
	}
	raw, err := json.Marshal(creds)
	require.NoError(t, err)
	assert.NotContains(t, logged, string(raw))
}

// The whole loop against a "deployed" server: the reference server, told to
// use a Device Assignment API elsewhere, registers with the stand-in that a
// scenario's target.axm starts; the run waits for it, judges the
// registration and its withdraw/restore, and an 18.2 iPhone whose domain
// answers 404 enrolls through the URL the server registered.
func TestScenarioAxMServeJudgesADeployedServersRegistration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	state := filepath.Join(dir, "axm-state")
	st, err := openAxMState(state, true, time.Now())
	require.NoError(t, err)
	c, err := axm.NewCredentials(time.Now())
	require.NoError(t, err)
	require.NoError(t, st.put(axm.ServerConfig{Name: "acme-mdm", Creds: c}))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	axmAddr := ln.Addr().String()
	ln.Close()

	outside, err := outsideAxM(&serveOptions{AxMBaseURL: "https://" + axmAddr, AxMState: state, AxMServer: "acme-mdm"}, time.Now())
	require.NoError(t, err)
	srv, err := refserver.Start(refserver.Config{Faults: []string{refserver.FaultWellKnown404}, OutsideAxM: outside})
	require.NoError(t, err)
	defer srv.Close()
	caPath := filepath.Join(dir, "ca.pem")
	require.NoError(t, srv.WriteCA(caPath))
	var alice refserver.Account
	for _, a := range srv.Accounts() {
		if a.Identifier == "alice@acme.test" {
			alice = a
		}
	}
	withdraw, restore := srv.AxMAdminURLs()
	scenario := fmt.Sprintf(`name: axm-e2e
device: iphone@18.2
type: user
until: profile
account: {identifier: alice@acme.test, password_env: ALICE_PW, totp_secret_env: ALICE_TOTP}
target:
  server:
    base_url: https://mdm.acme.test
    connect_to: ["acme.test:443:%[1]s", "mdm.acme.test:443:%[1]s", "idp.acme.test:443:%[1]s"]
    stock_ca: [ca.pem]
  axm: {serve: true, listen: "%[2]s", state: axm-state, wait: 30s, withdraw: "%[3]s", restore: "%[4]s"}
expect:
  steps: {process-document: {via: axm-fallback}}
`, srv.Addr(), axmAddr, withdraw, restore)
	path := filepath.Join(dir, "axm.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenario), 0o644))

	f, out, errOut := testFactory(map[string]string{"ALICE_PW": alice.Password, "ALICE_TOTP": alice.TOTPSecret})
	f.Now = time.Now
	code := Execute(context.Background(), f, []string{"run", path, "--verbose"})
	assert.Equal(t, 0, code, "%s\n%s", out.String(), errOut.String())
	assert.Contains(t, errOut.String(), "acme-mdm registered https://mdm.acme.test/mdm/service-discovery")
	assert.Contains(t, out.String(), "axm-registration")
	assert.Contains(t, out.String(), "via axm-fallback")
	assert.Regexp(t, `PASS +ABM-001`, out.String())
	for _, secret := range []string{c.ConsumerSecret, c.AccessSecret, c.AccessToken, alice.Password, alice.TOTPSecret} {
		assert.NotContains(t, out.String()+errOut.String(), secret)
	}
}
