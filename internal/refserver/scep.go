package refserver

import (
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
)

// The SCEP endpoint of the profile's com.apple.security.scep payload
// (spec §2.13.1, RFC 8894), the server side of github.com/smallstep/scep:
// the CA answers GetCACaps and GetCACert, and PKIOperation issues the
// device's identity for a CSR that carries the challenge the profile gave.

const (
	scepCaps = "POSTPKIOperation\nSHA-256\nSHA-1\nAES\nSCEPStandard\n"
	// A PKCSReq holds one CSR: a few KiB.
	maxSCEPRequest = 64 << 10
	// The challenge is redeemed seconds after the profile is fetched; an
	// hour covers a device that installs the profile later.
	scepChallengeTTL = time.Hour
)

func init() {
	// CertReps are encrypted to the device with AES, which GetCACaps
	// lists, not the library's default single DES.
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES128CBC
}

// scepChallenges are the one-time challenges handed out in profiles, by
// value, with the account they were issued for.
type scepChallenges struct {
	mu sync.Mutex
	m  map[string]challengeGrant
}

type challengeGrant struct {
	user    string
	expires time.Time
}

// newChallenge mints the challenge of one profile.
func (s *Server) newSCEPChallenge(acct Account) string {
	c := newSecret()
	if s.has(FaultSCEPWrongChallenge) {
		// The profile carries a challenge the CA never learns of.
		return c
	}
	s.scep.mu.Lock()
	defer s.scep.mu.Unlock()
	if s.scep.m == nil {
		s.scep.m = map[string]challengeGrant{}
	}
	now := s.cfg.Now()
	for k, g := range s.scep.m {
		if now.After(g.expires) {
			delete(s.scep.m, k)
		}
	}
	s.scep.m[c] = challengeGrant{user: acct.Identifier, expires: now.Add(scepChallengeTTL)}
	return c
}

// redeem consumes a challenge: each profile's identity is issued once.
func (s *Server) redeemSCEPChallenge(c string) (string, bool) {
	s.scep.mu.Lock()
	defer s.scep.mu.Unlock()
	g, ok := s.scep.m[c]
	if !ok || s.cfg.Now().After(g.expires) {
		return "", false
	}
	delete(s.scep.m, c)
	return g.user, true
}

func (s *Server) scepRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/scep", s.scepHandler)
}

func (s *Server) scepHandler(w http.ResponseWriter, r *http.Request) {
	switch op := r.URL.Query().Get("operation"); {
	case op == "GetCACaps" && r.Method == http.MethodGet:
		writeText(w, http.StatusOK, scepCaps)
	case op == "GetCACert" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(s.ca.identity.cert.Raw)
	case op == "PKIOperation" && r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, maxSCEPRequest+1))
		if err != nil || len(body) > maxSCEPRequest {
			writeText(w, http.StatusBadRequest, "scep: the PKIOperation body is unreadable or over 64 KiB\n")
			return
		}
		s.pkiOperation(w, body)
	case op == "PKIOperation":
		writeText(w, http.StatusMethodNotAllowed, "scep: send PKIOperation by POST (GetCACaps lists POSTPKIOperation)\n")
	default:
		writeText(w, http.StatusBadRequest, "scep: unknown operation "+op+"; want GetCACaps, GetCACert or PKIOperation\n")
	}
}

// pkiOperation answers a PKCSReq: a CertRep with the certificate on
// success, a FAILURE CertRep when the request is well-formed but refused,
// and 400 when it is no SCEP message at all.
func (s *Server) pkiOperation(w http.ResponseWriter, body []byte) {
	ca := s.ca.identity
	msg, err := scep.ParsePKIMessage(body)
	if err != nil {
		writeText(w, http.StatusBadRequest, "scep: not a SCEP PKIMessage: "+err.Error()+"\n")
		return
	}
	if msg.MessageType != scep.PKCSReq && msg.MessageType != scep.RenewalReq {
		writeText(w, http.StatusBadRequest, "scep: message type "+msg.MessageType.String()+" is not served; send PKCSReq\n")
		return
	}
	if err := msg.DecryptPKIEnvelope(ca.cert, ca.key); err != nil {
		writeText(w, http.StatusBadRequest, "scep: the envelope does not decrypt with the CA's key: "+err.Error()+"\n")
		return
	}
	refuse := func(info scep.FailInfo, why string) {
		s.logf("refserver: scep: refused: %s", why)
		rep, err := msg.Fail(ca.cert, ca.key, info)
		if err != nil {
			writeText(w, http.StatusInternalServerError, "scep: "+err.Error()+"\n")
			return
		}
		writePKIMessage(w, rep.Raw)
	}
	if _, ok := s.redeemSCEPChallenge(msg.ChallengePassword); !ok {
		refuse(scep.BadRequest, "the challenge is not one this server handed out, or was used")
		return
	}
	if err := msg.CSR.CheckSignature(); err != nil {
		refuse(scep.BadMessageCheck, "the CSR's signature: "+err.Error())
		return
	}
	cert, err := ca.issue(msg.CSR.PublicKey, msg.CSR.Subject, s.cfg.Now())
	if err != nil {
		refuse(scep.BadRequest, err.Error())
		return
	}
	rep, err := msg.Success(ca.cert, ca.key, cert)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "scep: "+err.Error()+"\n")
		return
	}
	writePKIMessage(w, rep.Raw)
}

func writePKIMessage(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "application/x-pki-message")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
