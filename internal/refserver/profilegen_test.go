package refserver

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var uuidRE = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestProfileContent(t *testing.T) {
	s := start(t)
	tests := []struct {
		name     string
		target   string
		token    func() string
		mode     string
		assigned string
	}{
		{"alice, BYOD", enrollBYOD, func() string { return webToken(t, s, "alice@acme.test") }, "BYOD", "alice@acme.test"},
		{"dave: identifier on the MDM host, account in the org domain", enrollBYOD, func() string { return webToken(t, s, "dave@mdm.acme.test") }, "BYOD", "dave@acme.test"},
		{"carol, ADDE", enrollADDE, func() string { return webToken(t, s, "carol@acme.test") }, "ADDE", "carol@acme.test"},
		{"frank, ADDE over OAuth", enrollOAuthADDE, func() string { return oauthTokens(t, s, "frank@acme.test")["access_token"].(string) }, "ADDE", "frank@acme.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, p := fetchProfileWith(t, s, tt.target, tt.token())
			assert.Equal(t, "application/x-apple-aspen-config", rec.Header().Get("Content-Type"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.True(t, p.signed)
			assert.Equal(t, "Acme MDM profile signing", p.signer.Subject.CommonName)

			top := p.top
			assert.Equal(t, "Configuration", top["PayloadType"])
			assert.Equal(t, uint64(1), top["PayloadVersion"])
			assert.Equal(t, "test.acme.mdm.enrollment", top["PayloadIdentifier"])
			assert.Regexp(t, uuidRE, top["PayloadUUID"])
			assert.NotEmpty(t, top["PayloadDisplayName"])
			content, ok := top["PayloadContent"].([]any)
			require.True(t, ok)
			require.Len(t, content, 2)

			mdm := p.mdm(t)
			scepPayloads := p.payloads("com.apple.security.scep")
			require.Len(t, scepPayloads, 1)
			scep := scepPayloads[0]
			assert.Equal(t, content[0], mdm, "the MDM payload comes first")

			assert.Equal(t, tt.mode, mdm["EnrollmentMode"])
			assert.Equal(t, tt.assigned, mdm["AssignedManagedAppleID"])
			assert.Equal(t, scep["PayloadUUID"], mdm["IdentityCertificateUUID"])
			assert.Regexp(t, `^com\.apple\.mgmt\.External\.[0-9A-F-]{36}$`, mdm["Topic"])
			assert.Equal(t, s.topic, mdm["Topic"])
			assert.Equal(t, "https://mdm.acme.test/mdm/connect", mdm["ServerURL"])
			assert.Equal(t, "https://mdm.acme.test/mdm/checkin", mdm["CheckInURL"])
			assert.Equal(t, []any{"com.apple.mdm.per-user-connections", "com.apple.mdm.bootstraptoken", "com.apple.mdm.token"}, mdm["ServerCapabilities"])
			assert.Equal(t, true, mdm["SignMessage"])
			assert.Equal(t, true, mdm["CheckOutWhenRemoved"])
			assert.NotContains(t, mdm, "ManagedAppleID")
			assert.NotContains(t, mdm, "RequiredAppIDForMDM")
			if tt.mode == "ADDE" {
				assert.Equal(t, uint64(8191), mdm["AccessRights"])
			} else {
				assert.NotContains(t, mdm, "AccessRights")
			}
			for _, pl := range []map[string]any{mdm, scep} {
				assert.Equal(t, uint64(1), pl["PayloadVersion"])
				assert.Regexp(t, uuidRE, pl["PayloadUUID"])
				assert.True(t, strings.HasPrefix(pl["PayloadIdentifier"].(string), "test.acme.mdm.enrollment."))
			}
			assert.NotEqual(t, mdm["PayloadUUID"], scep["PayloadUUID"])

			sc, ok := scep["PayloadContent"].(map[string]any)
			require.True(t, ok)
			assert.Equal(t, "https://mdm.acme.test/scep", sc["URL"])
			assert.Equal(t, uint64(2048), sc["Keysize"])
			assert.Equal(t, "RSA", sc["Key Type"])
			assert.Equal(t, uint64(5), sc["Key Usage"])
			assert.Len(t, sc["Challenge"], 43)
			assert.NotEmpty(t, sc["Subject"])
		})
	}

	t.Run("every profile is new", func(t *testing.T) {
		token := webToken(t, s, "bob@acme.test")
		_, a := fetchProfileWith(t, s, enrollBYOD, token)
		_, b := fetchProfileWith(t, s, enrollBYOD, token)
		assert.NotEqual(t, a.top["PayloadUUID"], b.top["PayloadUUID"])
		scepA, scepB := a.payloads("com.apple.security.scep")[0], b.payloads("com.apple.security.scep")[0]
		assert.NotEqual(t, scepA["PayloadContent"].(map[string]any)["Challenge"], scepB["PayloadContent"].(map[string]any)["Challenge"])
		assert.Equal(t, a.mdm(t)["Topic"], b.mdm(t)["Topic"], "one push topic per server")
	})
}

// The profile signer chains to the server's CA; the signed content is an
// XML plist.
func TestProfileSignature(t *testing.T) {
	s := start(t)
	rec := enrollPost(t, s, enrollBYOD, bearer(webToken(t, s, "alice@acme.test")))
	require.Equal(t, http.StatusOK, rec.Code)
	p7, err := pkcs7.Parse(rec.Body.Bytes())
	require.NoError(t, err)
	require.NoError(t, p7.VerifyWithChain(s.CertPool()))
	assert.True(t, bytes.HasPrefix(p7.Content, []byte("<?xml")))

	block, _ := pem.Decode(s.ProfileSignerPEM())
	require.NotNil(t, block)
	signer, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.Equal(t, signer.Raw, p7.GetOnlySigner().Raw)
	_, err = signer.Verify(x509.VerifyOptions{Roots: s.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	assert.NoError(t, err)
	_, err = signer.Verify(x509.VerifyOptions{Roots: start(t).CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	assert.Error(t, err, "another server's CA does not vouch for it")

	// A profile altered in transit no longer verifies.
	tampered := bytes.Replace(rec.Body.Bytes(), []byte("alice@acme.test"), []byte("alicf@acme.test"), 1)
	require.NotEqual(t, rec.Body.Bytes(), tampered)
	p7, err = pkcs7.Parse(tampered)
	require.NoError(t, err)
	assert.Error(t, p7.Verify())
}
