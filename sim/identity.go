package sim

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// identityState is the device's MDM identity once obtained.
type identityState struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate // the issuing CA certificates the server returned
	how   string              // "scep"; empty when none was obtained
}

func init() {
	// SCEP clients encrypt the CSR with the strongest cipher the CA lists
	// in GetCACaps; Apple's devices use AES when it is listed. The
	// library's default is single DES, which no current CA should get.
	pkcs7.ContentEncryptionAlgorithm = pkcs7.EncryptionAlgorithmAES128CBC
}

// Limits of the SCEP exchange: the answers are small (a capability list,
// a certificate or two, a signed certificate); a CA that sends more is
// hostile or broken.
const (
	scepCapsBody = 16 << 10
	scepCertBody = 256 << 10
)

// identityStep obtains the identity the profile names: SCEP is played; an
// embedded PKCS#12 or an attested ACME identity cannot be (CHK-001 skips),
// and without an identity nothing after can be judged.
func (r *runner) identityStep() (*stop, event.StepStatus, string) {
	r.identity = &identityState{}
	o := &check.Identity{CaseGoesOn: r.c.Until.Reaches(event.UntilCheckIn)}
	r.obs.Identity = o
	st, status, msg := r.obtainIdentity(o)
	r.judged(check.JudgeIdentity(*o))
	r.judged(check.JudgeIdentityBlocksCHK(*o))
	r.judged(check.JudgeIdentityBlocksTOK(*o))
	return st, status, msg
}

// obtainIdentity plays the identity payload and says in o how it went.
func (r *runner) obtainIdentity(o *check.Identity) (*stop, event.StepStatus, string) {
	p := r.enroll.profile
	mdm := p.MDM()[0]
	uuid, _ := mdm.String("IdentityCertificateUUID")
	pl, ok := p.ByUUID(uuid)
	if !ok {
		// PROF-010 has failed already; the device would not install it.
		return noIdentity(o, check.Error, "the profile names no identity payload (PROF-010)")
	}
	switch pl.Type {
	case "com.apple.security.pkcs12":
		return noIdentity(o, check.Skip, "the identity is an embedded PKCS#12 (nothing to request from a server)")
	case "com.apple.security.acme":
		if attest, _ := pl.Dict.Bool("Attest"); attest {
			return noIdentity(o, check.Skip, "the identity is an ACME payload with Attest: device attestation cannot be simulated")
		}
		return noIdentity(o, check.Skip, "the identity is an ACME payload: enrollsim plays SCEP identities only")
	case "com.apple.security.scep":
	default:
		return noIdentity(o, check.Error, fmt.Sprintf("the identity payload has type %q", pl.Type))
	}
	cfg, err := readSCEPPayload(pl.Dict)
	if err != nil {
		o.Finding, o.Expected = err.Error(), "a SCEP payload the device can use"
		return identityFailed(err.Error())
	}
	id, finding, blame, absent := r.scepEnroll(cfg)
	if finding != "" {
		// Named, since a deployed profile's SCEP URL is often another
		// host than the enrollment's, and the user must know which.
		finding += " (the profile's SCEP URL is " + cfg.url.Redacted() + ")"
		if absent {
			// One line: Actual goes into tables and one-line summaries.
			finding += "; hint: the server serves no SCEP here; to judge only the enrollment, try --until profile"
		}
		if blame {
			o.Finding, o.Expected = finding, "the SCEP endpoint issues a certificate for the device's CSR and challenge"
			return identityFailed(finding)
		}
		o.Error = finding
		return &stop{event.OutcomeError, "no identity certificate: " + finding}, event.StepError, finding
	}
	r.identity = id
	o.Issued = fmt.Sprintf("issued %q by %q, %s", id.cert.Subject.CommonName, id.cert.Issuer.CommonName, cfg.key)
	return nil, event.StepOK, fmt.Sprintf("identity %q from %s", id.cert.Subject.CommonName, cfg.url.Redacted())
}

// noIdentity ends the flow when the identity cannot be played: CHK-001
// gets status why, every later check error.
func noIdentity(o *check.Identity, status check.Status, why string) (*stop, event.StepStatus, string) {
	if status == check.Skip {
		o.Skip = why
		return &stop{event.OutcomeEnrolled, "enrolled; identity not simulated: " + why}, event.StepSkipped, why
	}
	o.Error = why
	return &stop{event.OutcomeError, "no identity certificate: " + why}, event.StepError, why
}

// identityFailed ends the flow after the server failed CHK-001.
func identityFailed(finding string) (*stop, event.StepStatus, string) {
	return &stop{event.OutcomeIdentityFailed, "no identity certificate: " + finding}, event.StepFailed, finding
}

// scepConfig is what a com.apple.security.scep payload asks for.
type scepConfig struct {
	url         *url.URL
	name        string // CA-IDENT, the message of GetCACert
	challenge   string
	subject     pkix.Name
	key         keys.Spec
	usage       x509.KeyUsage
	fingerprint []byte // CAFingerprint: SHA-1 or MD5 of the CA certificate
}

// readSCEPPayload reads the payload with Apple's defaults (Keysize 1024,
// Key Type RSA) and names what is unusable.
func readSCEPPayload(d profile.Dict) (scepConfig, error) {
	c, ok := d.Dict("PayloadContent")
	if !ok {
		return scepConfig{}, errors.New("the SCEP payload has no PayloadContent dictionary")
	}
	raw, _ := c.String("URL")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return scepConfig{}, fmt.Errorf("the SCEP payload's URL %q is not an http(s) URL", raw)
	}
	cfg := scepConfig{url: u, key: keys.Spec{Type: "RSA", Bits: 1024}}
	cfg.name, _ = c.String("Name")
	cfg.challenge, _ = c.String("Challenge")
	if n, ok := c.Int("Keysize"); ok {
		cfg.key.Bits = int(n)
	}
	if t, ok := c.String("Key Type"); ok {
		cfg.key.Type = t
	}
	if cfg.key.Type != "RSA" {
		return scepConfig{}, fmt.Errorf("the SCEP payload's Key Type is %q: Apple's SCEP payload allows RSA only", cfg.key.Type)
	}
	if err := cfg.key.Validate(); err != nil {
		return scepConfig{}, fmt.Errorf("the SCEP payload's key: %w", err)
	}
	if n, ok := c.Int("Key Usage"); ok {
		// Apple's bits: 1 signing, 4 encryption.
		if n&1 != 0 {
			cfg.usage |= x509.KeyUsageDigitalSignature
		}
		if n&4 != 0 {
			cfg.usage |= x509.KeyUsageKeyEncipherment
		}
	}
	cfg.fingerprint, _ = c.Data("CAFingerprint")
	if subj, ok := c["Subject"]; ok {
		cfg.subject, err = scepSubject(subj)
		if err != nil {
			return scepConfig{}, fmt.Errorf("the SCEP payload's Subject: %w", err)
		}
	}
	return cfg, nil
}

// scepSubject reads Apple's X.500 form: an array of RDNs, each an array of
// [type, value] pairs, where type is an OID or one of the short names.
func scepSubject(v any) (pkix.Name, error) {
	rdns, ok := v.([]any)
	if !ok {
		return pkix.Name{}, fmt.Errorf("want an array of arrays of [type, value], got %s", profile.TypeName(v))
	}
	short := map[string]asn1.ObjectIdentifier{
		"C": {2, 5, 4, 6}, "O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11}, "CN": {2, 5, 4, 3},
		"L": {2, 5, 4, 7}, "ST": {2, 5, 4, 8}, "E": {1, 2, 840, 113549, 1, 9, 1},
	}
	var seq pkix.RDNSequence
	for i, rdn := range rdns {
		pairs, ok := rdn.([]any)
		if !ok {
			return pkix.Name{}, fmt.Errorf("RDN %d is %s, want an array of [type, value]", i, profile.TypeName(rdn))
		}
		var set pkix.RelativeDistinguishedNameSET
		for _, pair := range pairs {
			tv, ok := pair.([]any)
			if !ok || len(tv) != 2 {
				return pkix.Name{}, fmt.Errorf("RDN %d: want [type, value] pairs", i)
			}
			typ, ok1 := tv[0].(string)
			val, ok2 := tv[1].(string)
			if !ok1 || !ok2 {
				return pkix.Name{}, fmt.Errorf("RDN %d: type and value must be strings", i)
			}
			oid, ok := short[typ]
			if !ok {
				var err error
				if oid, err = parseOID(typ); err != nil {
					return pkix.Name{}, fmt.Errorf("RDN %d: attribute type %q is neither a short name (C, O, OU, CN, L, ST, E) nor an OID", i, typ)
				}
			}
			set = append(set, pkix.AttributeTypeAndValue{Type: oid, Value: val})
		}
		seq = append(seq, set)
	}
	var name pkix.Name
	name.FillFromRDNSequence(&seq)
	name.ExtraNames = nil
	// FillFromRDNSequence keeps unknown types in Names only; ExtraNames is
	// what x509 encodes, so the subject goes out as the payload gave it.
	for _, set := range seq {
		name.ExtraNames = append(name.ExtraNames, set...)
	}
	return name, nil
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ".") {
		var n int
		if _, err := fmt.Sscanf(part, "%d", &n); err != nil || n < 0 || fmt.Sprint(n) != part {
			return nil, fmt.Errorf("bad OID %q", s)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("bad OID %q", s)
	}
	return oid, nil
}

// scepEnroll plays GetCACaps, GetCACert and PKIOperation. A finding with
// blame is the server's (CHK-001 fails); without, the tester could not
// judge (its own timeout or limit). absent says the URL serves no SCEP at
// all (refused, 404, a web page), not a SCEP CA that went wrong.
func (r *runner) scepEnroll(cfg scepConfig) (id *identityState, finding string, blame, absent bool) {
	op := func(operation, message string) string {
		u := *cfg.url
		q := u.Query()
		q.Set("operation", operation)
		if message != "" || operation != "PKIOperation" {
			q.Set("message", message)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	header := http.Header{"User-Agent": {r.c.Device.UserAgent()}}
	fail := func(resp *response, what string) (string, bool) {
		if why := unjudgeable(resp, r.lim.Timeout, what); why != "" {
			return what + ": " + why, false
		}
		if resp.status == 0 {
			return fmt.Sprintf("%s: %v", what, resp.err), true
		}
		return fmt.Sprintf("%s: HTTP %d %s", what, resp.status, excerpt(resp.body, 200)), true
	}

	caps := r.do(request{method: http.MethodGet, url: op("GetCACaps", cfg.name), header: header, purpose: "SCEP GetCACaps", limit: scepCapsBody, classicTLS: true})
	if caps.status != http.StatusOK || caps.err != nil || caps.tooLarge {
		f, b := fail(caps, "GetCACaps")
		return nil, f, b, noSCEPServed(caps)
	}
	capSet := map[string]bool{}
	for _, c := range strings.Fields(string(caps.body)) {
		capSet[strings.ToLower(c)] = true
	}

	cert := r.do(request{method: http.MethodGet, url: op("GetCACert", cfg.name), header: header, purpose: "SCEP GetCACert", limit: scepCertBody, classicTLS: true})
	if cert.status != http.StatusOK || cert.err != nil || cert.tooLarge {
		f, b := fail(cert, "GetCACert")
		return nil, f, b, noSCEPServed(cert)
	}
	cas, err := scepCACerts(r.ctx, cert)
	if err != nil {
		return nil, "GetCACert: " + err.Error(), true, looksLikeWebPage(caps) || looksLikeWebPage(cert)
	}
	if len(cfg.fingerprint) > 0 && !fingerprintMatches(cfg.fingerprint, cas) {
		return nil, fmt.Sprintf("GetCACert: no CA certificate matches the payload's CAFingerprint %x", cfg.fingerprint), true, false
	}

	pool := r.e.keyPool()
	if r.c.Target.Keys != nil {
		pool = r.c.Target.Keys
	}
	key, err := pool.Get(r.ctx, cfg.key)
	if err != nil {
		return nil, "generating the device key: " + err.Error(), false, false
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, "the device key is not RSA", false, false
	}
	msg, signer, finding, blame := scepPKCSReq(cfg, rsaKey, cas, r.clock())
	if finding != "" {
		return nil, finding, blame, false
	}
	var pki *response
	if capSet["postpkioperation"] || capSet["scepstandard"] {
		pki = r.do(request{method: http.MethodPost, url: op("PKIOperation", ""), body: msg.Raw, purpose: "SCEP PKIOperation (PKCSReq)", limit: scepCertBody, classicTLS: true,
			header: http.Header{"User-Agent": {r.c.Device.UserAgent()}, "Content-Type": {"application/x-pki-message"}}})
	} else {
		pki = r.do(request{method: http.MethodGet, url: op("PKIOperation", base64.StdEncoding.EncodeToString(msg.Raw)), header: header, purpose: "SCEP PKIOperation (PKCSReq)", limit: scepCertBody, classicTLS: true})
	}
	if pki.status != http.StatusOK || pki.err != nil || pki.tooLarge {
		f, b := fail(pki, "PKIOperation")
		return nil, f, b, false
	}
	issued, finding := r.scepCertRep(pki.body, cas, signer, rsaKey)
	if finding != "" {
		return nil, "PKIOperation: " + finding, true, false
	}
	if !publicKeyEqual(issued.PublicKey, &rsaKey.PublicKey) {
		return nil, "PKIOperation: the certificate issued is for another key than the CSR's", true, false
	}
	r.red.Add(cfg.challenge)
	return &identityState{cert: issued, key: rsaKey, chain: cas, how: "scep"}, "", false, false
}

// scepPKCSReq builds the PKCSReq for rsaKey: the CSR with the payload's
// subject, key usage and challenge, signed with a self-signed certificate
// and encrypted to the CA. A finding with blame is the CA's (its
// certificates cannot be encrypted to); without, the tester's own.
func scepPKCSReq(cfg scepConfig, rsaKey *rsa.PrivateKey, cas []*x509.Certificate, now time.Time) (msg *scep.PKIMessage, signer *x509.Certificate, finding string, blame bool) {
	csrDER, err := SCEPCSR(cfg.subject, keyUsageExtension(cfg.usage), cfg.challenge, rsaKey)
	if err != nil {
		return nil, nil, "building the CSR: " + err.Error(), false
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, nil, "building the CSR: " + err.Error(), false
	}
	// A SCEP client signs its first request with a self-signed
	// certificate for the key it asks a certificate for (RFC 8894 §2.3).
	signer, err = selfSigned(rsaKey, cfg.subject, now)
	if err != nil {
		return nil, nil, "building the SCEP signer: " + err.Error(), false
	}
	sel := scep.EnciphermentCertsSelector()
	if len(sel.SelectCerts(cas)) == 0 {
		sel = scep.NopCertsSelector()
	}
	msg, err = scep.NewCSRRequest(csr, &scep.PKIMessage{MessageType: scep.PKCSReq, Recipients: cas, SignerKey: rsaKey, SignerCert: signer}, scep.WithCertsSelector(sel))
	if err != nil {
		return nil, nil, "encrypting the CSR to the CA: " + err.Error(), true
	}
	return msg, signer, "", false
}

// noSCEPServed: resp says nothing at the URL speaks SCEP: the connection
// was refused, the operation is not found, or a web page answered.
func noSCEPServed(resp *response) bool {
	switch {
	case resp.status == 0:
		return errors.Is(resp.err, syscall.ECONNREFUSED) || strings.Contains(fmt.Sprint(resp.err), "connection refused")
	case resp.status == http.StatusNotFound || resp.status == http.StatusMethodNotAllowed || resp.status == http.StatusGone:
		return true
	}
	return looksLikeWebPage(resp)
}

// looksLikeWebPage: an HTML answer (a sign-in page, a portal's 404) where a
// SCEP CA answers a capability list or a certificate.
func looksLikeWebPage(resp *response) bool {
	if resp.mediaType() == "text/html" {
		return true
	}
	head := strings.ToLower(strings.TrimSpace(string(resp.body[:min(len(resp.body), 512)])))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html")
}

// scepCACerts reads GetCACert's answer: one DER certificate
// (application/x-x509-ca-cert) or a degenerate PKCS#7 with the CA and RA
// (application/x-x509-ca-ra-cert).
func scepCACerts(ctx context.Context, resp *response) ([]*x509.Certificate, error) {
	if c, err := x509.ParseCertificate(resp.body); err == nil {
		return []*x509.Certificate{c}, nil
	}
	if err := profile.CheckCMS(ctx, resp.body, profile.Limits{MaxBytes: scepCertBody}); err != nil {
		return nil, fmt.Errorf("neither a DER certificate nor a PKCS#7 certificate bag (%s): %w", resp.mediaType(), err)
	}
	certs, err := scep.CACerts(resp.body)
	if err != nil {
		return nil, fmt.Errorf("neither a DER certificate nor a PKCS#7 certificate bag (%s): %w", resp.mediaType(), err)
	}
	if len(certs) == 0 {
		return nil, errors.New("the PKIOperation certificate bag is empty")
	}
	return certs, nil
}

// scepCertRep reads the CA's CertRep: SUCCESS with the certificate
// encrypted to the signer, or FAILURE with its reason.
func (r *runner) scepCertRep(body []byte, cas []*x509.Certificate, signer *x509.Certificate, key *rsa.PrivateKey) (*x509.Certificate, string) {
	if err := profile.CheckCMS(r.ctx, body, profile.Limits{MaxBytes: scepCertBody}); err != nil {
		return nil, "the CertRep is not a CMS message: " + err.Error()
	}
	var rep *scep.PKIMessage
	var err error
	bug, _ := r.recovered("parsing the SCEP CertRep", func() { rep, err = scep.ParsePKIMessage(body, scep.WithCACerts(cas)) })
	if bug != "" {
		return nil, "the CertRep could not be parsed (" + bug + ")"
	}
	if err != nil {
		return nil, "the CertRep does not parse: " + err.Error()
	}
	if rep.MessageType != scep.CertRep || rep.CertRepMessage == nil {
		return nil, fmt.Sprintf("the answer is a %s message, not a CertRep", rep.MessageType)
	}
	switch rep.PKIStatus {
	case scep.SUCCESS:
	case scep.FAILURE:
		return nil, fmt.Sprintf("the CA refused the request: FAILURE (%s)", rep.FailInfo)
	case scep.PENDING:
		return nil, "the CA answered PENDING (manual approval); a device would poll, and the enrollment would wait on a person"
	default:
		return nil, fmt.Sprintf("the CertRep's pkiStatus %q is not one of SUCCESS, FAILURE, PENDING", rep.PKIStatus)
	}
	if err := rep.DecryptPKIEnvelope(signer, key); err != nil {
		return nil, "the CertRep's envelope does not decrypt with the device's key: " + err.Error()
	}
	if rep.Certificate == nil {
		return nil, "the CertRep carries no certificate"
	}
	return rep.Certificate, ""
}

func keyUsageExtension(u x509.KeyUsage) []pkix.Extension {
	if u == 0 {
		return nil
	}
	// KeyUsage is a BIT STRING whose bit 0 is digitalSignature.
	var b byte
	var n int
	for bit := 0; bit < 8; bit++ {
		if u&(1<<bit) != 0 {
			b |= 0x80 >> bit
			n = bit + 1
		}
	}
	der, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{b}, BitLength: n})
	return []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: der}}
}

func selfSigned(key *rsa.PrivateKey, subject pkix.Name, now time.Time) (*x509.Certificate, error) {
	if len(subject.ExtraNames) == 0 && subject.CommonName == "" {
		subject = pkix.Name{CommonName: "enrollsim SCEP client"}
	}
	// The validity spans the run's clock and the wall clock: the CMS
	// signing time that goes with it is the wall clock's (the library's),
	// and a CA checks one against the other, so a simulated clock must not
	// make the request look forged.
	wall := time.Now()
	from, to := now, now
	if wall.Before(from) {
		from = wall
	}
	if wall.After(to) {
		to = wall
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(wall.UnixNano()),
		Subject:      subject,
		NotBefore:    from.Add(-time.Hour),
		NotAfter:     to.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

func fingerprintMatches(fp []byte, cas []*x509.Certificate) bool {
	for _, c := range cas {
		s1 := sha1.Sum(c.Raw)
		m5 := md5.Sum(c.Raw)
		s2 := sha256.Sum256(c.Raw)
		for _, h := range [][]byte{s1[:], m5[:], s2[:]} {
			if string(h) == string(fp) {
				return true
			}
		}
	}
	return false
}

func publicKeyEqual(a crypto.PublicKey, b *rsa.PublicKey) bool {
	k, ok := a.(*rsa.PublicKey)
	return ok && k.Equal(b)
}

// keyPool is the engine's key pool, the process's when none is set.
func (e *Engine) keyPool() *keys.Pool {
	if e.Keys != nil {
		return e.Keys
	}
	return keys.Default
}
