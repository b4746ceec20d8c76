package load_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/smallstep/scep"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim"
)

// bareLife is the bare device living the whole life: bareSignIn's
// sign-in and profile, then what the engine's device sent after it
// (SCEP, check-ins, connects, token life), replayed with a key, identity,
// enrollment ID, push token and magic of its own and the server's command
// UUIDs, each message signed (Mdm-Signature) as the profile asks. It
// spends the device's cryptography: the certificate request signed once,
// the self-signed SCEP signer, the signed and encrypted request, the
// decrypted reply, a signature per message. It checks nothing beyond the
// status a step needs.
func bareLife(doer sim.Doer, reqs []recorded, first string, acct sim.Account, key *rsa.PrivateKey) error {
	sess, err := bareSignIn(doer, reqs, first, acct)
	if err != nil {
		return err
	}
	if sess.profile == nil {
		return errors.New("no profile in the recorded requests")
	}
	scepCfg, err := bareSCEPPayload(sess.profile)
	if err != nil {
		return err
	}
	d := &bareDevice{doer: doer, sess: sess, key: key, scep: scepCfg, old: recordedIDs(reqs[sess.sent:]),
		eid: newUUID(), magic: newUUID(), push: make([]byte, 32)}
	_, _ = rand.Read(d.push)
	for _, r := range reqs[sess.sent:] {
		if err := d.send(r); err != nil {
			return err
		}
	}
	return nil
}

// bareDevice is the state of a bare device's life after its profile.
type bareDevice struct {
	doer       sim.Doer
	sess       *bareSession
	key        *rsa.PrivateKey
	scep       bareSCEP
	old        deviceIDs // the recorded device's
	eid, magic string
	push       []byte
	cas        []*x509.Certificate
	identity   *x509.Certificate
	command    string // the CommandUUID of the server's last command
}

type bareSCEP struct {
	challenge string
	subject   pkix.Name
}

type deviceIDs struct{ eid, magic, token string }

var (
	plistString = func(key string) *regexp.Regexp {
		return regexp.MustCompile(`<key>` + key + `</key>\s*<string>([^<]*)</string>`)
	}
	eidRe, magicRe, commandRe = plistString("EnrollmentID"), plistString("PushMagic"), plistString("CommandUUID")
	tokenRe                   = regexp.MustCompile(`<key>Token</key>\s*<data>([^<]*)</data>`)
)

func recordedIDs(reqs []recorded) deviceIDs {
	var ids deviceIDs
	for _, r := range reqs {
		b := string(r.body)
		if m := eidRe.FindStringSubmatch(b); m != nil && ids.eid == "" {
			ids.eid = m[1]
		}
		if m := magicRe.FindStringSubmatch(b); m != nil && ids.magic == "" {
			ids.magic = m[1]
		}
		if m := tokenRe.FindStringSubmatch(b); m != nil && ids.token == "" {
			ids.token = strings.TrimSpace(m[1])
		}
	}
	return ids
}

func (d *bareDevice) send(r recorded) error {
	switch {
	case strings.Contains(r.url, "operation=GetCACert"):
		body, err := d.do(r.method, r.url, r.header, nil)
		if err != nil {
			return err
		}
		if p7, err := pkcs7.Parse(body); err == nil {
			d.cas = p7.Certificates
		} else if c, err := x509.ParseCertificate(body); err == nil {
			d.cas = []*x509.Certificate{c}
		} else {
			return fmt.Errorf("GetCACert: %v", err)
		}
		return nil
	case strings.Contains(r.url, "operation=PKIOperation"):
		return d.pkiOperation(r)
	case r.method == http.MethodPut:
		return d.mdm(r)
	}
	_, err := d.do(r.method, r.url, r.header, r.body)
	return err
}

// pkiOperation asks for the identity as the device does (RFC 8894).
func (d *bareDevice) pkiOperation(r recorded) error {
	csr, err := sim.SCEPCSR(d.scep.subject, keyUsage(), d.scep.challenge, d.key)
	if err != nil {
		return err
	}
	req, err := x509.ParseCertificateRequest(csr)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: d.scep.subject,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &d.key.PublicKey, d.key)
	if err != nil {
		return err
	}
	signer, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	msg, err := scep.NewCSRRequest(req, &scep.PKIMessage{MessageType: scep.PKCSReq, Recipients: d.cas, SignerKey: d.key, SignerCert: signer},
		scep.WithCertsSelector(scep.EnciphermentCertsSelector()))
	if err != nil {
		return err
	}
	body, err := d.do(r.method, r.url, r.header, msg.Raw)
	if err != nil {
		return err
	}
	rep, err := scep.ParsePKIMessage(body)
	if err != nil {
		return err
	}
	if err := rep.DecryptPKIEnvelope(signer, d.key); err != nil {
		return err
	}
	if rep.CertRepMessage == nil || rep.Certificate == nil {
		return errors.New("PKIOperation: no certificate in the reply")
	}
	d.identity = rep.Certificate
	return nil
}

// mdm sends one check-in or connect as the recorded device did, as this
// device, signed with its identity.
func (d *bareDevice) mdm(r recorded) error {
	body := string(r.body)
	for _, sub := range [][2]string{{d.old.eid, d.eid}, {d.old.magic, d.magic}, {d.old.token, base64.StdEncoding.EncodeToString(d.push)}} {
		if sub[0] != "" {
			body = strings.ReplaceAll(body, sub[0], sub[1])
		}
	}
	if m := commandRe.FindStringSubmatch(body); m != nil && d.command != "" {
		body = strings.Replace(body, m[1], d.command, 1)
	}
	sd, err := pkcs7.NewSignedData([]byte(body))
	if err != nil {
		return err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(d.identity, d.key, pkcs7.SignerInfoConfig{}); err != nil {
		return err
	}
	sd.Detach()
	sig, err := sd.Finish()
	if err != nil {
		return err
	}
	h := r.header.Clone()
	h.Set("Mdm-Signature", base64.StdEncoding.EncodeToString(sig))
	if h.Get("Authorization") != "" {
		h.Set("Authorization", "Bearer "+d.sess.token)
	}
	answer, err := d.do(r.method, r.url, h, []byte(body))
	if err != nil {
		return err
	}
	if m := commandRe.FindSubmatch(answer); m != nil {
		d.command = string(m[1])
	}
	return nil
}

func (d *bareDevice) do(method, u string, h http.Header, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = h.Clone()
	req.Header.Del("Cookie")
	for _, ck := range d.sess.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	resp, err := d.doer.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, page)
	}
	return page, nil
}

// bareSCEPPayload reads the challenge and subject of the profile's SCEP
// payload (the profile is CMS-signed).
func bareSCEPPayload(profile []byte) (bareSCEP, error) {
	p7, err := pkcs7.Parse(profile)
	if err != nil {
		return bareSCEP{}, fmt.Errorf("profile: %v", err)
	}
	var top struct {
		PayloadContent []map[string]any
	}
	if _, err := plist.Unmarshal(p7.Content, &top); err != nil {
		return bareSCEP{}, fmt.Errorf("profile: %v", err)
	}
	for _, p := range top.PayloadContent {
		if p["PayloadType"] != "com.apple.security.scep" {
			continue
		}
		c, _ := p["PayloadContent"].(map[string]any)
		cfg := bareSCEP{}
		cfg.challenge, _ = c["Challenge"].(string)
		rdns, _ := c["Subject"].([]any)
		for _, rdn := range rdns {
			pairs, _ := rdn.([]any)
			for _, pair := range pairs {
				kv, _ := pair.([]any)
				if len(kv) == 2 && kv[0] == "CN" {
					cfg.subject.CommonName, _ = kv[1].(string)
				} else if len(kv) == 2 && kv[0] == "O" {
					o, _ := kv[1].(string)
					cfg.subject.Organization = append(cfg.subject.Organization, o)
				}
			}
		}
		return cfg, nil
	}
	return bareSCEP{}, errors.New("profile: no SCEP payload")
}

// keyUsage is the key usage extension Apple's "Key Usage" 5 asks for:
// digital signature and key encipherment.
func keyUsage() []pkix.Extension {
	b, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0xa0}, BitLength: 3})
	return []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: b}}
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}
