package refserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"maps"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func init() { maps.Copy(faultEffects, scepFaultEffects) }

const scepEndpoint = "https://" + MDMHost + "/scep"

var scepFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultSCEPWrongChallenge: func(t *testing.T, s *Server) {
		rep := scepRequest(t, s, profileChallenge(t, s, "alice@acme.test"))
		assert.Equal(t, scep.FAILURE, rep.PKIStatus)
		assert.Equal(t, scep.BadRequest, rep.FailInfo)
	},
}

// scepKey is one RSA key for every test request: generation is slow, and
// the server keys nothing on it.
var scepKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// profileChallenge is the SCEP challenge of a fresh profile for id.
func profileChallenge(t *testing.T, s *Server, id string) string {
	t.Helper()
	p := s.buildProfile(account(t, s, id), KindBYOD)
	for _, pl := range p["PayloadContent"].([]any) {
		d := pl.(map[string]any)
		if d["PayloadType"] == "com.apple.security.scep" {
			return d["PayloadContent"].(map[string]any)["Challenge"].(string)
		}
	}
	t.Fatal("the profile has no SCEP payload")
	return ""
}

// scepRequest plays a PKCSReq with the challenge, as a device does, and
// returns the CertRep, decrypted when it succeeded.
func scepRequest(t *testing.T, s *Server, challenge string) *scep.PKIMessage {
	t.Helper()
	rec := serve(t, s, http.MethodGet, scepEndpoint+"?operation=GetCACert&message=Acme")
	require.Equal(t, http.StatusOK, rec.Code)
	ca, err := x509.ParseCertificate(rec.Body.Bytes())
	require.NoError(t, err)
	subject := pkix.Name{CommonName: "test device", Organization: []string{"Acme"}}
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: subject}, ChallengePassword: challenge}, scepKey)
	require.NoError(t, err)
	csr, err := x509.ParseCertificateRequest(der)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: subject, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	sder, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &scepKey.PublicKey, scepKey)
	require.NoError(t, err)
	signer, err := x509.ParseCertificate(sder)
	require.NoError(t, err)
	msg, err := scep.NewCSRRequest(csr, &scep.PKIMessage{MessageType: scep.PKCSReq, Recipients: []*x509.Certificate{ca}, SignerKey: scepKey, SignerCert: signer})
	require.NoError(t, err)
	rec = serve(t, s, http.MethodPost, scepEndpoint+"?operation=PKIOperation", withBytes(msg.Raw))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "application/x-pki-message", rec.Header().Get("Content-Type"))
	rep, err := scep.ParsePKIMessage(rec.Body.Bytes(), scep.WithCACerts([]*x509.Certificate{ca}))
	require.NoError(t, err)
	require.Equal(t, scep.CertRep, rep.MessageType)
	if rep.PKIStatus == scep.SUCCESS {
		require.NoError(t, rep.DecryptPKIEnvelope(signer, scepKey))
	}
	return rep
}

func TestSCEPIssuesTheDeviceIdentity(t *testing.T) {
	s := start(t)
	rec := serve(t, s, http.MethodGet, scepEndpoint+"?operation=GetCACaps&message=Acme")
	assert.Equal(t, http.StatusOK, rec.Code)
	for _, c := range []string{"POSTPKIOperation", "AES", "SHA-256", "SCEPStandard"} {
		assert.Contains(t, strings.Fields(rec.Body.String()), c)
	}
	rep := scepRequest(t, s, profileChallenge(t, s, "alice@acme.test"))
	require.Equal(t, scep.SUCCESS, rep.PKIStatus)
	cert := rep.Certificate
	assert.Equal(t, "test device", cert.Subject.CommonName)
	assert.True(t, cert.PublicKey.(*rsa.PublicKey).Equal(&scepKey.PublicKey))
	assert.NoError(t, s.ca.identity.verify(cert, clock()), "check-in trusts what SCEP issued")
}

func TestSCEPChallengeIsSingleUse(t *testing.T) {
	s := start(t)
	c := profileChallenge(t, s, "alice@acme.test")
	require.Equal(t, scep.SUCCESS, scepRequest(t, s, c).PKIStatus)
	rep := scepRequest(t, s, c)
	assert.Equal(t, scep.FAILURE, rep.PKIStatus, "a used challenge")
	assert.Equal(t, scep.FAILURE, scepRequest(t, s, "made-up").PKIStatus, "an unknown challenge")
}

func TestSCEPRefusesWhatIsNotSCEP(t *testing.T) {
	s := start(t)
	for _, tc := range []struct {
		name, method, target, body string
		status                     int
		says                       string
	}{
		{"garbage", http.MethodPost, "?operation=PKIOperation", "not cms", http.StatusBadRequest, "not a SCEP PKIMessage"},
		{"too large", http.MethodPost, "?operation=PKIOperation", strings.Repeat("A", maxSCEPRequest+1), http.StatusBadRequest, "over 64 KiB"},
		{"GET PKIOperation", http.MethodGet, "?operation=PKIOperation&message=AAAA", "", http.StatusMethodNotAllowed, "by POST"},
		{"unknown operation", http.MethodGet, "?operation=GetNextCACert", "", http.StatusBadRequest, "unknown operation GetNextCACert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []reqOpt
			if tc.body != "" {
				opts = append(opts, withBody(tc.body))
			}
			rec := serve(t, s, tc.method, scepEndpoint+tc.target, opts...)
			assert.Equal(t, tc.status, rec.Code)
			assert.Contains(t, rec.Body.String(), tc.says)
		})
	}
	assert.Empty(t, s.ca.identity.issued)
}
