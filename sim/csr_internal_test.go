package sim

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"

	"github.com/smallstep/scep/x509util"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scepCSR signs once what the scep library signs twice, and the two
// requests are the same bytes (PKCS #1 v1.5 signatures are deterministic):
// with and without key usage, and without a challenge.
func TestSCEPCSRIsTheLibrarysSignedOnce(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	subject := pkix.Name{CommonName: "Acme MDM identity alice@acme.test", Organization: []string{"Acme"}}
	for _, tt := range []struct {
		name      string
		usage     x509.KeyUsage
		challenge string
	}{
		{"usage and challenge", x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, "c-4f1e9a7b"},
		{"challenge only", 0, "c-4f1e9a7b"},
		{"no challenge", x509.KeyUsageDigitalSignature, ""},
	} {
		want, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
			CertificateRequest: x509.CertificateRequest{Subject: subject, ExtraExtensions: keyUsageExtension(tt.usage)},
			ChallengePassword:  tt.challenge,
		}, key)
		require.NoError(t, err, tt.name)
		got, err := SCEPCSR(subject, keyUsageExtension(tt.usage), tt.challenge, key)
		require.NoError(t, err, tt.name)
		assert.True(t, bytes.Equal(want, got), "%s: the request differs from the library's", tt.name)
		csr, err := x509.ParseCertificateRequest(got)
		require.NoError(t, err, tt.name)
		require.NoError(t, csr.CheckSignature(), tt.name)
		if tt.challenge != "" {
			cp, err := x509util.ParseChallengePassword(got)
			require.NoError(t, err, tt.name)
			assert.Equal(t, tt.challenge, cp, tt.name)
		}
	}
}
