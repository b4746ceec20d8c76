package sim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
)

// The attribute OIDs of PKCS #9 a SCEP request carries.
var (
	oidChallengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
	oidExtensionRequest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 14}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

type csrPublicKeyInfo struct {
	Raw       asn1.RawContent
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

type csrInfo struct {
	Raw           asn1.RawContent
	Version       int
	Subject       asn1.RawValue
	PublicKey     csrPublicKeyInfo
	RawAttributes []asn1.RawValue `asn1:"tag:0"`
}

type csrSigned struct {
	Info               csrInfo
	SignatureAlgorithm pkix.AlgorithmIdentifier
	SignatureValue     asn1.BitString
}

// SCEPCSR is the certificate request of a SCEP PKCSReq: subject, key
// usage and challenge password, signed once with SHA-256. It is the
// request the scep library's x509util.CreateCertificateRequest makes,
// byte for byte (a test holds them equal), which signs twice: once for the
// standard library's request, again after adding the challenge. An RSA
// signature is most of what a SCEP request costs a device. Exported for
// the load benchmark's bare device, which must spend what a device spends.
func SCEPCSR(subject pkix.Name, exts []pkix.Extension, challenge string, key *rsa.PrivateKey) ([]byte, error) {
	if challenge == "" {
		return x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject, ExtraExtensions: exts}, key)
	}
	subj, err := asn1.Marshal(subject.ToRDNSequence())
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	var pub csrPublicKeyInfo
	if _, err := asn1.Unmarshal(spki, &pub); err != nil {
		return nil, err
	}
	var attrs []asn1.RawValue
	if len(exts) > 0 {
		ext, err := rawAttribute(struct {
			Type  asn1.ObjectIdentifier
			Value [][]pkix.Extension `asn1:"set"`
		}{oidExtensionRequest, [][]pkix.Extension{exts}})
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, ext)
	}
	pw, err := rawAttribute(struct {
		Type  asn1.ObjectIdentifier
		Value []string `asn1:"set"`
	}{oidChallengePassword, []string{challenge}})
	if err != nil {
		return nil, err
	}
	info := csrInfo{Subject: asn1.RawValue{FullBytes: subj}, PublicKey: pub, RawAttributes: append(attrs, pw)}
	tbs, err := asn1.Marshal(info)
	if err != nil {
		return nil, err
	}
	info.Raw = tbs
	digest := sha256.Sum256(tbs)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(csrSigned{Info: info, SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256WithRSA, Parameters: asn1.NullRawValue},
		SignatureValue: asn1.BitString{Bytes: sig, BitLength: len(sig) * 8}})
}

func rawAttribute(v any) (asn1.RawValue, error) {
	b, err := asn1.Marshal(v)
	if err != nil {
		return asn1.RawValue{}, err
	}
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(b, &raw)
	if err == nil && len(rest) != 0 {
		err = errors.New("trailing data")
	}
	return raw, err
}
