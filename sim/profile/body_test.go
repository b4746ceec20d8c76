package profile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

func TestNewDeviceIdentity(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	id, err := NewDeviceIdentity("iPhone17,2", "F2LXK0ABCD12", now)
	require.NoError(t, err)
	c := id.Cert
	assert.Equal(t, "enrollsim simulated device iPhone17,2", c.Subject.CommonName)
	assert.Equal(t, "F2LXK0ABCD12", c.Subject.SerialNumber)
	assert.Equal(t, c.Subject.String(), c.Issuer.String())
	assert.True(t, c.NotBefore.Equal(now.Add(-time.Hour)), "NotBefore %v", c.NotBefore)
	assert.True(t, c.NotAfter.Equal(now.Add(24*time.Hour)), "NotAfter %v", c.NotAfter)
	assert.NoError(t, c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature), "self-signed")
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok)
	assert.Equal(t, elliptic.P256(), pub.Curve)
	assert.True(t, pub.Equal(id.Key.Public()))
	assert.Equal(t, 1, c.SerialNumber.Sign())
}

func TestEnrollmentBodyRoundTrip(t *testing.T) {
	id, err := NewDeviceIdentity("iPhone17,2", "F2LXK0ABCD12", time.Now())
	require.NoError(t, err)
	tests := []struct{ language, product, version string }{
		{"en-US", "iPhone17,2", "22C161"},
		{"de-DE", "Mac15,3", "24A335"},
		{"", "", ""},
		{"fr-CA", "RealityDevice14,1", "22N320 <&>"},
	}
	for _, tc := range tests {
		t.Run(tc.product, func(t *testing.T) {
			body, err := EnrollmentBody(id, tc.language, tc.product, tc.version)
			require.NoError(t, err)

			// It is DER CMS SignedData with attached XML content, signed by id.
			p7, err := pkcs7.Parse(body)
			require.NoError(t, err)
			require.NoError(t, p7.Verify())
			assert.Contains(t, string(p7.Content), "<key>LANGUAGE</key>")
			assert.True(t, p7.GetOnlySigner().Equal(id.Cert))
			var m map[string]string
			format, err := plist.Unmarshal(p7.Content, &m)
			require.NoError(t, err)
			assert.Equal(t, plist.XMLFormat, format)
			assert.Equal(t, map[string]string{"LANGUAGE": tc.language, "PRODUCT": tc.product, "VERSION": tc.version}, m)

			lang, prod, ver, err := ParseEnrollmentBody(body)
			require.NoError(t, err)
			assert.Equal(t, tc.language, lang)
			assert.Equal(t, tc.product, prod)
			assert.Equal(t, tc.version, ver)
			assert.False(t, IsAppleSigned(body))
		})
	}

	_, err = EnrollmentBody(nil, "en-US", "iPhone17,2", "22C161")
	assert.Error(t, err)
	_, err = EnrollmentBody(&Identity{Cert: id.Cert}, "en-US", "iPhone17,2", "22C161")
	assert.Error(t, err)
}

func TestParseEnrollmentBodyRejects(t *testing.T) {
	id, err := NewDeviceIdentity("iPhone17,2", "F2LXK0ABCD12", time.Now())
	require.NoError(t, err)
	body, err := EnrollmentBody(id, "en-US", "iPhone17,2", "22C161")
	require.NoError(t, err)

	sigFlipped := append([]byte{}, body...)
	sigFlipped[len(sigFlipped)-1] ^= 0x01

	otherKey, err := NewDeviceIdentity("iPhone17,2", "OTHER", time.Now())
	require.NoError(t, err)
	wrongKey, err := EnrollmentBody(&Identity{Cert: id.Cert, Key: otherKey.Key}, "en-US", "iPhone17,2", "22C161")
	require.NoError(t, err)

	noProduct := signCMS(t, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>LANGUAGE</key><string>en-US</string><key>VERSION</key><integer>22</integer></dict></plist>`), id.Cert, id.Key, nil, false)
	arrayContent := signCMS(t, fixture(t, "array.xml"), id.Cert, id.Key, nil, false)
	detached := signCMS(t, []byte("<plist/>"), id.Cert, id.Key, nil, true)

	tests := []struct {
		name    string
		body    []byte
		wantErr string
	}{
		{"content tampered", replaceOnce(t, body, "en-US", "fr-FR"), "signature does not verify"},
		{"signature tampered", sigFlipped, "signature does not verify"},
		{"signed by another key", wrongKey, "signature does not verify"},
		{"truncated", body[:len(body)-40], "malformed CMS SignedData"},
		{"base64 is not the wire form", []byte(base64.StdEncoding.EncodeToString(body)), "not a DER CMS message"},
		{"bare plist", []byte(`<plist version="1.0"><dict/></plist>`), "not a DER CMS message"},
		{"detached", detached, "CMS SignedData without content"},
		{"missing and mistyped keys", noProduct, "PRODUCT missing; VERSION is an integer, not a string"},
		{"array content", arrayContent, "not a dictionary"},
		{"empty", nil, "not a DER CMS message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParseEnrollmentBody(tc.body)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestIsAppleSigned(t *testing.T) {
	content := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>LANGUAGE</key><string>en-US</string><key>PRODUCT</key><string>iPhone12,1</string><key>VERSION</key><string>19H12</string></dict></plist>`)

	// A look-alike of the real device chain: Apple Root CA → Apple iPhone
	// Certification Authority → Apple iPhone Device CA → device.
	root, rootKey := testCert(t, "Apple Root CA", true, nil, nil)
	mid, midKey := testCert(t, "Apple iPhone Certification Authority", true, root, rootKey)
	devCA, devCAKey := testCert(t, "Apple iPhone Device CA", true, mid, midKey)
	device, deviceKey := testCert(t, "0123456789abcdef0123456789abcdef01234567", false, devCA, devCAKey)
	apple := signCMS(t, content, device, deviceKey, []*x509.Certificate{devCA, mid, root}, false)

	// Apple appears only higher up the chain: vendor CA issued by Apple.
	vendorCA, vendorKey := testCert(t, "Vendor Device CA", true, root, rootKey)
	vendorLeaf, vendorLeafKey := testCert(t, "device", false, vendorCA, vendorKey)
	viaVendor := signCMS(t, content, vendorLeaf, vendorLeafKey, []*x509.Certificate{vendorCA}, false)
	vendorMissing := signCMS(t, content, vendorLeaf, vendorLeafKey, nil, false)

	// Self-signed certificate that merely calls itself Apple.
	fake, fakeKey := testCert(t, "Apple Root CA", false, nil, nil)
	// An Apple-issued certificate that is in the message but not in the
	// signer's chain.
	other, otherKey := testCert(t, "Someone", false, nil, nil)
	sd, err := pkcs7.NewSignedData(content)
	require.NoError(t, err)
	require.NoError(t, sd.AddSigner(other, otherKey, pkcs7.SignerInfoConfig{}))
	sd.AddCertificate(device)
	sd.AddCertificate(devCA)
	unrelated, err := sd.Finish()
	require.NoError(t, err)

	sim, err := NewDeviceIdentity("iPhone12,1", "SERIAL", time.Now())
	require.NoError(t, err)
	simulated, err := EnrollmentBody(sim, "en-US", "iPhone12,1", "19H12")
	require.NoError(t, err)

	tests := []struct {
		name string
		body []byte
		want bool
	}{
		{"Apple device chain, DER", apple, true},
		{"Apple device chain, base64", []byte(base64.StdEncoding.EncodeToString(apple)), true},
		{"Apple device chain, PEM", pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: apple}), true},
		{"Apple issuer higher up the chain", viaVendor, true},
		{"intermediate absent from message", vendorMissing, false},
		{"self-issued Apple-named certificate", signCMS(t, content, fake, fakeKey, nil, false), false},
		{"Apple certificate not in signer chain", unrelated, false},
		{"Apple chain but content tampered", replaceOnce(t, apple, "19H12", "19H13"), false},
		{"simulated device body", simulated, false},
		{"truncated", apple[:len(apple)/2], false},
		{"garbage", []byte("not a cms message at all"), false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsAppleSigned(tc.body))
		})
	}
}

func TestNormalizeCMS(t *testing.T) {
	id, err := NewDeviceIdentity("iPhone17,2", "S", time.Now())
	require.NoError(t, err)
	body, err := EnrollmentBody(id, "en-US", "iPhone17,2", "22C161")
	require.NoError(t, err)
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
	}{
		{"DER", body, false},
		{"base64 with line breaks", []byte(wrap(base64.StdEncoding.EncodeToString(body), 64)), false},
		{"base64url unpadded", []byte(base64.RawURLEncoding.EncodeToString(body)), false},
		{"PEM", pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: body}), false},
		{"plist", []byte(`<plist version="1.0"><dict/></plist>`), true},
		{"base64 of something else", []byte(base64.StdEncoding.EncodeToString([]byte("hello, this is not DER"))), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			der, err := NormalizeCMS(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, body, der)
		})
	}
}

func wrap(s string, n int) string {
	var out []byte
	for len(s) > n {
		out = append(append(out, s[:n]...), '\n')
		s = s[n:]
	}
	return string(append(out, s...))
}
