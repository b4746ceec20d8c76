package ats_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/ats"
)

type chain struct {
	root     *x509.Certificate
	rootKey  crypto.Signer
	leaf     tls.Certificate
	leafCert *x509.Certificate
}

func cert(t *testing.T, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// newChain is a root and a leaf for "srv.test"; leafKey and alg shape the
// leaf, rootAlg the root's self-signature.
func newChain(t *testing.T, leafKey crypto.Signer, alg, rootAlg x509.SignatureAlgorithm) chain {
	t.Helper()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: rootAlg}
	root := cert(t, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "srv.test"}, DNSNames: []string{"srv.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, SignatureAlgorithm: alg}
	leaf := cert(t, leafTmpl, root, leafKey.Public(), rootKey)
	return chain{root: root, rootKey: rootKey, leafCert: leaf, leaf: tls.Certificate{Certificate: [][]byte{leaf.Raw, root.Raw}, PrivateKey: leafKey, Leaf: leaf}}
}

func p256(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// handshake serves one TLS connection with srv and returns what the client
// negotiated (verification off: the tests judge the certificates).
func handshake(t *testing.T, srv *tls.Config, client *tls.Config) tls.ConnectionState {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.(*tls.Conn).Handshake()
			time.Sleep(10 * time.Millisecond) // let the client read the last flight
			c.Close()
		}
	}()
	if client == nil {
		client = &tls.Config{}
	}
	client.InsecureSkipVerify = true //nolint:gosec // the test judges the chain itself
	client.ServerName = "srv.test"
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Minute}, "tcp", ln.Addr().String(), client)
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState()
}

func rules(fs []ats.Finding) map[ats.Rule]bool {
	out := map[ats.Rule]bool{}
	for _, f := range fs {
		out[f.Rule] = true
	}
	return out
}

func TestJudgeNegotiatedConnections(t *testing.T) {
	good := newChain(t, p256(t), 0, 0)
	tests := []struct {
		name   string
		srv    *tls.Config
		client *tls.Config
		want   map[ats.Rule]bool
		detail string
	}{
		{"TLS 1.3", &tls.Config{Certificates: []tls.Certificate{good.leaf}}, nil, map[ats.Rule]bool{}, ""},
		{"TLS 1.2 with AES-GCM and EMS", &tls.Config{Certificates: []tls.Certificate{good.leaf}, MaxVersion: tls.VersionTLS12}, nil, map[ats.Rule]bool{}, ""},
		{"TLS 1.2 with CBC", &tls.Config{Certificates: []tls.Certificate{good.leaf}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}, nil,
			map[ats.Rule]bool{ats.RuleSuite: true}, "TLS 1.2 with TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: not an ATS suite (CBC, not AES-GCM)"},
		{"TLS 1.2 with ChaCha20", &tls.Config{Certificates: []tls.Certificate{good.leaf}, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, nil,
			map[ats.Rule]bool{ats.RuleSuite: true}, "ChaCha20-Poly1305, not AES-GCM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := handshake(t, tt.srv, tt.client)
			fs := ats.Judge(&cs)
			assert.Equal(t, tt.want, rules(fs), "%+v", fs)
			if tt.detail != "" {
				require.NotEmpty(t, fs)
				assert.Contains(t, fs[0].Detail, tt.detail)
				assert.False(t, fs[0].Always, "only the 27 releases refuse a suite")
				assert.True(t, fs[0].Applies(ats.Strict27))
				assert.False(t, fs[0].Applies(ats.Classic))
			}
			if cs.Version == tls.VersionTLS12 {
				assert.True(t, ats.HasEMS(&cs), "a Go server always negotiates EMS when offered")
			}
		})
	}
}

func TestJudgeCertificates(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	tests := []struct {
		name   string
		c      chain
		detail string
		always bool
	}{
		{"RSA 1024", newChain(t, rsa1024, 0, 0), "the server certificate has a 1024-bit RSA key (devices need 2048 bits or more)", true},
		{"SHA-1 signature", newChain(t, p256(t), x509.ECDSAWithSHA1, 0), "the server certificate is signed with ECDSA-SHA1 (SHA-1", true},
		{"P-224", newChain(t, p224, 0, 0), "the server certificate has a 224-bit ECDSA key (27 devices need 256 bits or more)", false},
		{"Ed25519", newChain(t, ed, 0, 0), "Ed25519 key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := ats.JudgeCertificates([]*x509.Certificate{tt.c.leafCert, tt.c.root})
			require.Len(t, fs, 1, "%+v", fs)
			assert.Equal(t, ats.RuleCertificate, fs[0].Rule)
			assert.Contains(t, fs[0].Detail, tt.detail)
			assert.Equal(t, tt.always, fs[0].Always)
		})
	}
	// A root's self-signature is no part of path validation: a SHA-1
	// root is not judged by its hash, an issuing CA would be.
	sha1Root := newChain(t, p256(t), 0, x509.ECDSAWithSHA1)
	assert.Empty(t, ats.JudgeCertificates([]*x509.Certificate{sha1Root.leafCert, sha1Root.root}))
	good := newChain(t, p256(t), 0, 0)
	assert.Empty(t, ats.JudgeCertificates([]*x509.Certificate{good.leafCert, good.root}))
}

func TestPolicyTravelsInTheContext(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, ats.Classic, ats.PolicyOf(ctx))
	assert.Equal(t, ats.Strict27, ats.PolicyOf(ats.WithPolicy(ctx, ats.Strict27)))
}

func TestRefusedErrorNamesEveryRule(t *testing.T) {
	inner := &net.OpError{Op: "remote error", Err: assert.AnError}
	err := error(&ats.RefusedError{Host: "mdm.acme.test", Policy: ats.Strict27, Err: inner, Findings: []ats.Finding{
		{Rule: ats.RuleSuite, Detail: "TLS 1.2 with X: not an ATS suite (CBC, not AES-GCM)"},
		{Rule: ats.RuleEMS, Detail: "TLS 1.2 with X without the Extended Master Secret extension (RFC 7627)"}}})
	assert.Equal(t, "a device on the 27 releases refuses mdm.acme.test: TLS 1.2 with X: not an ATS suite (CBC, not AES-GCM); TLS 1.2 with X without the Extended Master Secret extension (RFC 7627)", err.Error())
	r, ok := ats.Refused(err)
	require.True(t, ok)
	assert.Len(t, r.Findings, 2)
	assert.ErrorIs(t, err, assert.AnError)
	_, ok = ats.Refused(inner)
	assert.False(t, ok)
}
