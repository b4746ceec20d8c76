package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/ats"
)

func getWith(t *testing.T, c *Client, p ats.Policy, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ats.WithPolicy(context.Background(), p), http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// A device on the 27 releases offers only the ATS suites on TLS 1.2 and
// refuses a server that has none of them; an older device connects. The
// refusal names the rule and what the server offered.
func TestStrict27RefusesWhatTheRulesRefuse(t *testing.T) {
	ca := newTestCA(t)
	cbc := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	_, port := tlsServer(t, ca, cbc, echoHandler)
	c, err := New(Options{RootCAs: ca.pool(), ConnectTo: []string{"::127.0.0.1:" + strconv.Itoa(port)}})
	require.NoError(t, err)

	resp, err := getWith(t, c, ats.Classic, "https://acme.test/")
	require.NoError(t, err, "an older device connects")
	assert.Equal(t, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, resp.TLS.CipherSuite)

	_, err = getWith(t, c, ats.Strict27, "https://acme.test/")
	require.Error(t, err)
	r, ok := ats.Refused(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, ats.Strict27, r.Policy)
	require.Len(t, r.Findings, 1)
	assert.Equal(t, ats.RuleSuite, r.Findings[0].Rule)
	assert.Contains(t, err.Error(), "a device on the 27 releases refuses acme.test: TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: not an ATS suite (CBC, not AES-GCM)")
	assert.Equal(t, KindTLS, Classify(err))
	assert.Contains(t, Hint(err), "support.apple.com/126655")

	u, _ := url.Parse("https://acme.test/")
	fs, ok := c.Strict27Findings(context.Background(), u)
	require.True(t, ok)
	assert.Equal(t, r.Findings, fs, "the outlook an older device gets names the same rule")
}

// A server with an AES-GCM suite passes, on TLS 1.2 as on TLS 1.3.
func TestStrict27ConnectsToAConformingServer(t *testing.T) {
	ca := newTestCA(t)
	for _, max := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		_, port := tlsServer(t, ca, &tls.Config{MaxVersion: max}, echoHandler)
		c, err := New(Options{RootCAs: ca.pool(), ConnectTo: []string{"::127.0.0.1:" + strconv.Itoa(port)}})
		require.NoError(t, err)
		resp, err := getWith(t, c, ats.Strict27, "https://acme.test/")
		require.NoError(t, err, tls.VersionName(max))
		assert.Equal(t, max, resp.TLS.Version)
		if max == tls.VersionTLS12 {
			assert.Contains(t, ats.Suites27, resp.TLS.CipherSuite)
		}
		u, _ := url.Parse("https://acme.test/")
		fs, ok := c.Strict27Findings(context.Background(), u)
		assert.True(t, ok)
		assert.Empty(t, fs)
	}
}

// Every device refuses a SHA-1 signed certificate (which Go cannot verify
// and calls an unknown authority): the refusal names the rule, on either
// policy.
func TestEveryDeviceRefusesASHA1Certificate(t *testing.T) {
	ca := newTestCA(t)
	leaf := leafWith(t, ca, func(c *x509.Certificate) { c.SignatureAlgorithm = x509.ECDSAWithSHA1 }, "acme.test")
	_, port := tlsServer(t, ca, &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &leaf, nil }}, echoHandler)
	c, err := New(Options{RootCAs: ca.pool(), ConnectTo: []string{"::127.0.0.1:" + strconv.Itoa(port)}})
	require.NoError(t, err)
	for _, p := range []ats.Policy{ats.Classic, ats.Strict27} {
		_, err := getWith(t, c, p, "https://acme.test/")
		r, ok := ats.Refused(err)
		require.True(t, ok, "%s: %v", p, err)
		require.Len(t, r.Findings, 1)
		assert.True(t, r.Findings[0].Always)
		assert.Contains(t, r.Findings[0].Detail, "signed with ECDSA-SHA1")
		var unknown x509.UnknownAuthorityError
		assert.ErrorAs(t, err, &unknown, "the handshake's own error is kept")
	}
}
