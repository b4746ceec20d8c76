package evidence_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/evidence"
)

var update = flag.Bool("update", false, "regenerate testdata (the fixtures and the decoded goldens)")

// The fixtures are the binary bodies of one enrollment, made once (-update)
// with certificates valid for a century, so the goldens never change.
var fixtures = []struct {
	name, contentType string
	// decodes: the body gives text; otherwise "" (text, or nothing
	// decodes it).
	decodes bool
}{
	{"enrollment-body.p7s", "application/pkcs7-signature", true},
	{"signed-profile.mobileconfig", "application/x-apple-aspen-config", true},
	{"signed-bplist.p7s", "application/pkcs7-signature", true},
	{"bplist.plist", "application/x-plist", true},
	{"scep-pkcsreq.der", "application/x-pki-message", true},
	{"scep-certrep.der", "application/x-pki-message", true},
	{"scep-failure.der", "application/x-pki-message", true},
	{"ca-cert.der", "application/x-x509-ca-cert", true},
	{"ca-ra-cert.p7", "application/x-x509-ca-ra-cert", true},
	{"text-plist.xml", "application/xml", false},
	{"garbage.bin", "application/octet-stream", false},
	{"truncated-profile.bin", "application/x-apple-aspen-config", false},
}

func TestDecode(t *testing.T) {
	if *update {
		writeFixtures(t)
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", f.name))
			require.NoError(t, err)
			got := evidence.Decode(context.Background(), f.contentType, body)
			if !f.decodes {
				assert.Empty(t, got)
				return
			}
			require.NotEmpty(t, got)
			golden := filepath.Join("testdata", f.name+".txt")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

// What a report needs to see in each decoded body.
func TestDecodeNames(t *testing.T) {
	for _, c := range []struct {
		name string
		want []string
	}{
		{"enrollment-body.p7s", []string{"CMS SignedData", `subject "SERIALNUMBER=F2LXJ7DHQ1,CN=enrollsim fixture device`, "serial 0x", "the signature verifies", "<key>PRODUCT</key>"}},
		{"signed-profile.mobileconfig", []string{"signed by", `issuer "CN=enrollsim fixture CA`, "<key>PayloadType</key>", "<key>Challenge</key>"}},
		{"signed-bplist.p7s", []string{"a binary property list, as XML", "<key>MessageType</key>"}},
		{"bplist.plist", []string{"binary property list (", "<key>MessageType</key>", "<string>TokenUpdate</string>"}},
		{"scep-pkcsreq.der", []string{"messageType 19 (PKCSReq)", "transactionID: ", "senderNonce: ", "encrypted to the CA", "not decrypted", "recipient serial 0x", "AES-128-CBC"}},
		{"scep-certrep.der", []string{"messageType 3 (CertRep)", "pkiStatus: 0 (SUCCESS)", "recipientNonce: ", "encrypted to the device's key"}},
		{"scep-failure.der", []string{"pkiStatus: 2 (FAILURE)", "failInfo: 2 (badRequest)", "pkcsPKIEnvelope: none"}},
		{"ca-cert.der", []string{"DER certificate:", `subject "CN=enrollsim fixture CA"`, "valid "}},
		{"ca-ra-cert.p7", []string{"without a signer", "a certificate list", "[2] subject"}},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", c.name))
		require.NoError(t, err)
		got := evidence.Decode(context.Background(), "", body)
		for _, w := range c.want {
			assert.Contains(t, got, w, c.name)
		}
	}
}

// A server's body cut anywhere decodes or gives "", and never panics.
func TestDecodeCutBodies(t *testing.T) {
	for _, f := range fixtures {
		body, err := os.ReadFile(filepath.Join("testdata", f.name))
		require.NoError(t, err)
		for n := 0; n < len(body); n += 1 + len(body)/200 {
			_ = evidence.Decode(context.Background(), f.contentType, body[:n])
		}
	}
}

func writeFixtures(t *testing.T) {
	t.Helper()
	ca, caKey := cert(t, "enrollsim fixture CA", nil, nil, true)
	dev, devKey := cert(t, "enrollsim fixture device iPhone17,1", ca, caKey, false)
	write := func(name string, b []byte) {
		require.NoError(t, os.WriteFile(filepath.Join("testdata", name), b, 0o644))
	}
	enroll, _ := plist.MarshalIndent(map[string]string{"LANGUAGE": "en-US", "PRODUCT": "iPhone17,1", "VERSION": "23B85"}, plist.XMLFormat, "\t")
	write("enrollment-body.p7s", sign(t, enroll, dev, devKey))
	prof, err := os.ReadFile(filepath.Join("testdata", "profile.xml"))
	require.NoError(t, err)
	write("text-plist.xml", prof)
	signedProf := sign(t, prof, ca, caKey)
	write("signed-profile.mobileconfig", signedProf)
	write("truncated-profile.bin", signedProf[:len(signedProf)/3])
	bp, err := plist.Marshal(map[string]any{"MessageType": "TokenUpdate", "Topic": "com.apple.mgmt.External.fixture", "UDID": "00008120-0000000000000000", "AwaitingConfiguration": false}, plist.BinaryFormat)
	require.NoError(t, err)
	write("bplist.plist", bp)
	write("signed-bplist.p7s", sign(t, bp, dev, devKey))
	write("ca-cert.der", ca.Raw)
	deg, err := scep.DegenerateCertificates([]*x509.Certificate{ca, dev})
	require.NoError(t, err)
	write("ca-ra-cert.p7", deg)
	write("garbage.bin", []byte("\x00\x01\x02binary that is nothing at all\x00\xff"))
	writeSCEP(t, write, ca, caKey)
}

func writeSCEP(t *testing.T, write func(string, []byte), ca *x509.Certificate, caKey *rsa.PrivateKey) {
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES128CBC
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "enrollsim fixture identity"}}, key)
	require.NoError(t, err)
	csr, err := x509.ParseCertificateRequest(csrDER)
	require.NoError(t, err)
	self, _ := certFor(t, "enrollsim fixture identity", &key.PublicKey, nil, key, false)
	req, err := scep.NewCSRRequest(csr, &scep.PKIMessage{MessageType: scep.PKCSReq, Recipients: []*x509.Certificate{ca}, SignerKey: key, SignerCert: self})
	require.NoError(t, err)
	write("scep-pkcsreq.der", req.Raw)
	msg, err := scep.ParsePKIMessage(req.Raw)
	require.NoError(t, err)
	require.NoError(t, msg.DecryptPKIEnvelope(ca, caKey))
	issued, _ := certFor(t, "enrollsim fixture identity", &key.PublicKey, ca, caKey, false)
	rep, err := msg.Success(ca, caKey, issued)
	require.NoError(t, err)
	write("scep-certrep.der", rep.Raw)
	fail, err := msg.Fail(ca, caKey, scep.BadRequest)
	require.NoError(t, err)
	write("scep-failure.der", fail.Raw)
}

func sign(t *testing.T, content []byte, c *x509.Certificate, key *rsa.PrivateKey) []byte {
	sd, err := pkcs7.NewSignedData(content)
	require.NoError(t, err)
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	require.NoError(t, sd.AddSigner(c, key, pkcs7.SignerInfoConfig{}))
	out, err := sd.Finish()
	require.NoError(t, err)
	return out
}

func cert(t *testing.T, cn string, parent *x509.Certificate, parentKey *rsa.PrivateKey, isCA bool) (*x509.Certificate, *rsa.PrivateKey) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	if parentKey == nil {
		parentKey = key
	}
	c, _ := certFor(t, cn, &key.PublicKey, parent, parentKey, isCA)
	return c, key
}

func certFor(t *testing.T, cn string, pub *rsa.PublicKey, parent *x509.Certificate, parentKey *rsa.PrivateKey, isCA bool) (*x509.Certificate, *rsa.PrivateKey) {
	sn, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	name := pkix.Name{CommonName: cn}
	if strings.Contains(cn, "device") {
		name.SerialNumber = "F2LXJ7DHQ1"
	}
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: name, NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter: time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC), IsCA: isCA, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c, parentKey
}

// A SCEP request's bytes carry its challenge, encrypted: never for a report.
func TestInspectSealed(t *testing.T) {
	for name, sealed := range map[string]bool{"scep-pkcsreq.der": true, "scep-certrep.der": false, "signed-profile.mobileconfig": false} {
		body, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		got := evidence.Inspect(context.Background(), "", body)
		assert.Equal(t, sealed, got.Sealed != "", name)
		assert.NotEmpty(t, got.Text, name)
	}
}
