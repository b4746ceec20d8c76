package profile

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

// fixture reads a file from testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// testCert issues a certificate for cn, signed by parent/parentKey, or
// self-signed when parent is nil.
func testCert(t *testing.T, cn string, isCA bool, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	sn, err := rand.Int(rand.Reader, big.NewInt(math.MaxInt64))
	require.NoError(t, err)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn.Add(sn, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, key
}

// signCMS wraps content in DER CMS SignedData signed by leaf (with parents
// added to the certificate set).
func signCMS(t *testing.T, content []byte, leaf *x509.Certificate, key crypto.Signer, parents []*x509.Certificate, detach bool) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	require.NoError(t, err)
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	require.NoError(t, sd.AddSignerChain(leaf, key, parents, pkcs7.SignerInfoConfig{}))
	if detach {
		sd.Detach()
	}
	der, err := sd.Finish()
	require.NoError(t, err)
	return der
}

// replaceOnce replaces the first occurrence of old (which must exist) by a
// string of the same length.
func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	require.Len(t, new, len(old))
	i := bytes.Index(b, []byte(old))
	require.GreaterOrEqual(t, i, 0, "%q not found", old)
	out := append([]byte{}, b...)
	copy(out[i:], new)
	return out
}

// profileSigner is a server signing chain: "Example Test CA" → mdm.example.com.
type profileSigner struct {
	ca, leaf *x509.Certificate
	key      crypto.Signer
}

func newProfileSigner(t *testing.T) profileSigner {
	ca, caKey := testCert(t, "Example Test CA", true, nil, nil)
	leaf, key := testCert(t, "mdm.example.com", false, ca, caKey)
	return profileSigner{ca: ca, leaf: leaf, key: key}
}

// checkBYOD asserts what every encoding of testdata/byod.xml must give.
func checkBYOD(t *testing.T, p *Profile) {
	t.Helper()
	assert.Empty(t, p.Problems)
	typ, _ := p.Top.String("PayloadType")
	assert.Equal(t, "Configuration", typ)
	ver, ok := p.Top.Int("PayloadVersion")
	assert.True(t, ok)
	assert.Equal(t, int64(1), ver)

	require.Len(t, p.Payloads, 2)
	assert.Equal(t, "com.apple.security.scep", p.Payloads[0].Type)
	assert.Equal(t, 0, p.Payloads[0].Index)
	assert.Equal(t, 1, p.Payloads[1].Index)

	mdm := p.MDM()
	require.Len(t, mdm, 1)
	m := mdm[0]
	assert.Equal(t, "4C1A2B3D-5E6F-4A7B-8C9D-0E1F2A3B4C5D", m.UUID)
	assert.Equal(t, "com.example.mdm.mdm", m.Identifier)
	mode, _ := m.String("EnrollmentMode")
	assert.Equal(t, "BYOD", mode)
	maid, _ := m.String("AssignedManagedAppleID")
	assert.Equal(t, "alice@example.com", maid)
	topic, _ := m.String("Topic")
	assert.Equal(t, "com.apple.mgmt.External.0f4e5a6b-1c2d-4e3f-8a9b-0c1d2e3f4a5b", topic)
	url, _ := m.String("ServerURL")
	assert.Equal(t, "https://mdm.example.com/mdm/connect", url)
	sign, ok := m.Bool("SignMessage")
	assert.True(t, ok)
	assert.True(t, sign)
	caps, ok := m.Strings("ServerCapabilities")
	assert.True(t, ok)
	assert.Equal(t, []string{"com.apple.mdm.per-user-connections", "com.apple.mdm.bootstraptoken"}, caps)
	assert.False(t, m.Has("AccessRights"))

	idUUID, _ := m.String("IdentityCertificateUUID")
	id, ok := p.ByUUID(idUUID)
	require.True(t, ok)
	assert.Equal(t, "com.apple.security.scep", id.Type)
	inner, ok := id.Dict.Dict("PayloadContent")
	require.True(t, ok)
	ks, ok := inner.Int("Keysize")
	assert.True(t, ok)
	assert.Equal(t, int64(2048), ks)
}

func TestParse(t *testing.T) {
	byod := fixture(t, "byod.xml")
	var top map[string]any
	_, err := plist.Unmarshal(byod, &top)
	require.NoError(t, err)
	binary, err := plist.Marshal(top, plist.BinaryFormat)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(binary, []byte("bplist")))

	ps := newProfileSigner(t)
	signed := signCMS(t, byod, ps.leaf, ps.key, []*x509.Certificate{ps.ca}, false)
	signedBinary := signCMS(t, binary, ps.leaf, ps.key, nil, false)
	signedPEM := pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: signed})
	signedB64 := []byte(base64.StdEncoding.EncodeToString(signed) + "\n")
	tampered := replaceOnce(t, signed, "<string>BYOD</string>", "<string>ADDE</string>")
	detached := signCMS(t, byod, ps.leaf, ps.key, nil, true)
	dataOnly, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}{pkcs7.OIDData, asn1.RawValue{Tag: asn1.TagOctetString, Bytes: byod}})
	require.NoError(t, err)
	signedArray := signCMS(t, fixture(t, "array.xml"), ps.leaf, ps.key, nil, false)

	tests := []struct {
		name    string
		body    []byte
		wantErr string // substring; "" means success
		check   func(t *testing.T, p *Profile)
	}{
		{name: "xml BYOD", body: byod, check: func(t *testing.T, p *Profile) {
			assert.Equal(t, FormatXML, p.Format)
			assert.False(t, p.Signed)
			assert.False(t, p.SignatureOK)
			assert.Empty(t, p.Signer)
			checkBYOD(t, p)
		}},
		{name: "binary BYOD", body: binary, check: func(t *testing.T, p *Profile) {
			assert.Equal(t, FormatBinary, p.Format)
			assert.False(t, p.Signed)
			checkBYOD(t, p)
		}},
		{name: "signed DER", body: signed, check: func(t *testing.T, p *Profile) {
			assert.Equal(t, FormatXML, p.Format)
			assert.True(t, p.Signed)
			assert.True(t, p.SignatureOK)
			assert.Empty(t, p.SignatureError)
			assert.Equal(t, "mdm.example.com (issuer: Example Test CA)", p.Signer)
			require.NotNil(t, p.SignerCert)
			assert.True(t, p.SignerCert.Equal(ps.leaf))
			assert.Len(t, p.Certificates, 2)
			checkBYOD(t, p)
		}},
		{name: "signed binary plist", body: signedBinary, check: func(t *testing.T, p *Profile) {
			assert.Equal(t, FormatBinary, p.Format)
			assert.True(t, p.SignatureOK)
			checkBYOD(t, p)
		}},
		{name: "signed PEM", body: signedPEM, check: func(t *testing.T, p *Profile) {
			assert.True(t, p.Signed)
			assert.True(t, p.SignatureOK)
			checkBYOD(t, p)
		}},
		{name: "signed base64", body: signedB64, check: func(t *testing.T, p *Profile) {
			assert.True(t, p.Signed)
			assert.True(t, p.SignatureOK)
			checkBYOD(t, p)
		}},
		{name: "signed, content tampered", body: tampered, check: func(t *testing.T, p *Profile) {
			assert.True(t, p.Signed)
			assert.False(t, p.SignatureOK)
			assert.Contains(t, p.SignatureError, "digest")
			mode, _ := p.MDM()[0].String("EnrollmentMode")
			assert.Equal(t, "ADDE", mode)
		}},
		{name: "payload content not an array", body: fixture(t, "content-not-array.xml"), check: func(t *testing.T, p *Profile) {
			assert.Empty(t, p.Payloads)
			assert.Empty(t, p.MDM())
			assert.Equal(t, []string{"PayloadContent is a dictionary, not an array"}, p.Problems)
		}},
		{name: "structural problems", body: fixture(t, "problems.xml"), check: func(t *testing.T, p *Profile) {
			assert.Equal(t, []string{
				`top-level PayloadType is "Profile", not "Configuration"`,
				"top-level PayloadUUID is missing",
				"top-level PayloadVersion is a string, not an integer",
				"PayloadContent[0] is a string, not a dictionary",
				"PayloadContent[1] has no PayloadUUID",
				"PayloadContent[2] PayloadType is an integer, not a string",
				"PayloadContent[3] PayloadIdentifier is empty",
				`PayloadContent[3] repeats the PayloadUUID "AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA" of PayloadContent[2]`,
			}, p.Problems)
			require.Len(t, p.Payloads, 3)
			assert.Equal(t, []int{1, 2, 3}, []int{p.Payloads[0].Index, p.Payloads[1].Index, p.Payloads[2].Index})
			assert.Len(t, p.MDM(), 1)
			assert.Empty(t, p.Payloads[1].Type)
			got, ok := p.ByUUID("AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA")
			require.True(t, ok)
			assert.Equal(t, 2, got.Index, "ByUUID returns the first match")
			_, ok = p.ByUUID("")
			assert.False(t, ok, "an empty UUID matches nothing")
		}},
		{name: "empty", body: []byte(" \n"), wantErr: "empty body"},
		{name: "garbage", body: []byte("\x00\x01\x02\xff\xfe garbage \x7f"), wantErr: "not a property list"},
		{name: "truncated xml", body: byod[:len(byod)/2], wantErr: "not a property list"},
		{name: "truncated binary", body: binary[:len(binary)-20], wantErr: "not a property list"},
		{name: "openstep text", body: fixture(t, "openstep.plist"), wantErr: "not XML or binary"},
		{name: "top level array", body: fixture(t, "array.xml"), wantErr: "top level is an array, not a dictionary"},
		{name: "signed top level array", body: signedArray, wantErr: "not a dictionary"},
		{name: "truncated CMS", body: signed[:len(signed)/2], wantErr: "malformed CMS SignedData"},
		{name: "detached CMS", body: detached, wantErr: "CMS SignedData without content"},
		{name: "PKCS#7 data, not SignedData", body: dataOnly, wantErr: "not SignedData"},
		{name: "PEM without CMS", body: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("hello")}), wantErr: "does not hold a CMS message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.body)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, p)
			tc.check(t, p)
		})
	}
}

func TestDictHelpers(t *testing.T) {
	d := Dict{
		"u":        uint64(42),
		"neg":      int64(-3),
		"huge":     uint64(math.MaxUint64),
		"intstr":   "42",
		"real":     float64(1.5),
		"yes":      true,
		"boolstr":  "true",
		"str":      "hello",
		"strs":     []any{"a", "b"},
		"mixed":    []any{"a", uint64(1)},
		"empty":    []any{},
		"dict":     map[string]any{"k": "v"},
		"data":     []byte{1, 2},
		"strslice": []string{"x"},
	}
	tests := []struct {
		name string
		got  func() (any, bool)
		want any
		ok   bool
	}{
		{"int from uint64", func() (any, bool) { return d.Int("u") }, int64(42), true},
		{"negative int64", func() (any, bool) { return d.Int("neg") }, int64(-3), true},
		{"uint64 beyond int64", func() (any, bool) { return d.Int("huge") }, int64(0), false},
		{"int given as string", func() (any, bool) { return d.Int("intstr") }, int64(0), false},
		{"int given as real", func() (any, bool) { return d.Int("real") }, int64(0), false},
		{"int missing", func() (any, bool) { return d.Int("nope") }, int64(0), false},
		{"bool", func() (any, bool) { return d.Bool("yes") }, true, true},
		{"bool given as string", func() (any, bool) { return d.Bool("boolstr") }, false, false},
		{"bool given as int", func() (any, bool) { return d.Bool("u") }, false, false},
		{"string", func() (any, bool) { return d.String("str") }, "hello", true},
		{"string given as int", func() (any, bool) { return d.String("u") }, "", false},
		{"string given as array", func() (any, bool) { return d.String("strs") }, "", false},
		{"strings", func() (any, bool) { return d.Strings("strs") }, []string{"a", "b"}, true},
		{"strings with a non-string", func() (any, bool) { return d.Strings("mixed") }, []string(nil), false},
		{"strings from empty array", func() (any, bool) { return d.Strings("empty") }, []string{}, true},
		{"strings given as string", func() (any, bool) { return d.Strings("str") }, []string(nil), false},
		{"strings from []string", func() (any, bool) { return d.Strings("strslice") }, []string{"x"}, true},
		{"dict", func() (any, bool) { return d.Dict("dict") }, Dict{"k": "v"}, true},
		{"dict given as array", func() (any, bool) { return d.Dict("strs") }, Dict(nil), false},
		{"data", func() (any, bool) { return d.Data("data") }, []byte{1, 2}, true},
		{"data given as string", func() (any, bool) { return d.Data("str") }, []byte(nil), false},
		{"nil dict", func() (any, bool) { return Dict(nil).String("x") }, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.got()
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}

	p := Payload{Dict: d}
	n, ok := p.Int("u")
	assert.True(t, ok)
	assert.Equal(t, int64(42), n)
	_, ok = p.String("u")
	assert.False(t, ok)
	assert.Equal(t, "an integer", d.TypeOf("u"))
	assert.Equal(t, "a string", d.TypeOf("intstr"))
	assert.Equal(t, "nothing", d.TypeOf("nope"))
}

func TestUserEnrollmentMode(t *testing.T) {
	tests := []struct {
		payloadType, platform string
		want                  string
		known                 bool
	}{
		{"com.apple.mdm", "iOS", UEAllowed, true},
		{"com.apple.mdm", "iPadOS", UEAllowed, true},
		{"com.apple.mdm", "macOS", UEAllowed, true},
		{"com.apple.mdm", "visionOS", UEAllowed, true},
		{"com.apple.security.scep", "iOS", UEAllowed, true},
		{"com.apple.security.scep", "macos", UEAllowed, true},
		{"com.apple.security.acme", "visionOS", UEAllowed, true},
		{"com.apple.security.pkcs12", "iOS", UEAllowed, true},
		{"com.apple.app.lock", "iOS", UEForbidden, true},                // single-app mode
		{"com.apple.applicationaccess.new", "macOS", UEForbidden, true}, // macOS app restrictions
		{"com.apple.familycontrols.contentfilter", "macOS", UEForbidden, true},
		{"com.apple.vpn.managed", "iOS", UEForbidden, true},
		{"com.apple.applicationaccess.new", "iOS", UEUnsupported, true},
		{"com.apple.MCX", "iOS", UEUnsupported, true},
		{"com.apple.MCX", "macOS", UEForbidden, true},
		{"com.apple.mdm", "tvOS", "", false},
		{"com.example.unknown", "iOS", "", false},
		{"", "iOS", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.payloadType+"/"+tc.platform, func(t *testing.T) {
			got, known := UserEnrollmentMode(tc.payloadType, tc.platform)
			assert.Equal(t, tc.known, known)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUserEnrollmentTable(t *testing.T) {
	assert.Regexp(t, `^[0-9a-f]{40}$`, UserEnrollmentSchemaCommit())
	assert.Greater(t, len(ueModes), 100)
	valid := map[string]bool{UEAllowed: true, UEForbidden: true, UEIgnored: true, UERequired: true, UEUnsupported: true, UENone: true}
	for typ, modes := range ueModes {
		assert.Len(t, modes, 3, typ)
		for _, platform := range []string{"iOS", "macOS", "visionOS"} {
			m, ok := modes[platform]
			assert.True(t, ok, "%s lacks %s", typ, platform)
			assert.True(t, valid[m], "%s/%s has mode %q", typ, platform, m)
		}
	}
	for _, excluded := range []string{"CommonPayloadKeys", "TopLevel", "Configuration"} {
		_, ok := ueModes[excluded]
		assert.False(t, ok, excluded)
	}
}
