package evidence

import (
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/smallstep/pkcs7"
)

// The SCEP signed attributes (RFC 8894 §3.2.1).
var (
	oidMessageType    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 2}
	oidPKIStatus      = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 3}
	oidFailInfo       = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 4}
	oidSenderNonce    = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 5}
	oidRecipientNonce = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 6}
	oidTransactionID  = asn1.ObjectIdentifier{2, 16, 840, 1, 113733, 1, 9, 7}
)

var (
	messageTypes = map[string]string{"3": "CertRep", "17": "RenewalReq", "18": "UpdateReq", "19": "PKCSReq", "20": "CertPoll", "21": "GetCert", "22": "GetCRL"}
	pkiStatuses  = map[string]string{"0": "SUCCESS", "2": "FAILURE", "3": "PENDING"}
	failInfos    = map[string]string{"0": "badAlg", "1": "badMessageCheck", "2": "badRequest", "3": "badTime", "4": "badCertId"}
)

// isSCEP: a SignedData with a SCEP messageType attribute.
func isSCEP(p7 *pkcs7.PKCS7) bool {
	var mt string
	return len(p7.Signers) > 0 && p7.UnmarshalSignedAttribute(oidMessageType, &mt) == nil
}

// describeSCEP lists a PKIMessage's signed attributes and its signer. The
// pkcsPKIEnvelope stays encrypted: it is for the CA (a PKCSReq's CSR and
// challenge password) or for the device's key (a CertRep's certificate).
func describeSCEP(p7 *pkcs7.PKCS7, size int) Body {
	var b strings.Builder
	var mt string
	_ = p7.UnmarshalSignedAttribute(oidMessageType, &mt)
	fmt.Fprintf(&b, "SCEP PKIMessage (%d bytes): messageType %s\n", size, named(mt, messageTypes))
	var tid string
	if p7.UnmarshalSignedAttribute(oidTransactionID, &tid) == nil {
		fmt.Fprintf(&b, "transactionID: %s\n", tid)
	}
	var status, fail string
	if p7.UnmarshalSignedAttribute(oidPKIStatus, &status) == nil {
		fmt.Fprintf(&b, "pkiStatus: %s\n", named(status, pkiStatuses))
	}
	if p7.UnmarshalSignedAttribute(oidFailInfo, &fail) == nil {
		fmt.Fprintf(&b, "failInfo: %s\n", named(fail, failInfos))
	}
	for _, n := range []struct {
		name string
		oid  asn1.ObjectIdentifier
	}{{"senderNonce", oidSenderNonce}, {"recipientNonce", oidRecipientNonce}} {
		var v []byte
		if p7.UnmarshalSignedAttribute(n.oid, &v) == nil {
			fmt.Fprintf(&b, "%s: %s\n", n.name, hex.EncodeToString(v))
		}
	}
	b.WriteString("signer: " + strings.TrimPrefix(signerLine(p7, size), fmt.Sprintf("CMS SignedData (%d bytes), signed by ", size)) + "\n")
	b.WriteString(envelope(p7.Content, mt))
	out := Body{Text: b.String()}
	if requests[mt] && len(p7.Content) > 0 {
		out.Sealed = "the SCEP request's envelope holds the challenge password, encrypted to the CA"
	}
	return out
}

// requests are the message types whose envelope holds a CSR and its
// challenge password.
var requests = map[string]bool{"17": true, "18": true, "19": true}

// named: "19 (PKCSReq)", or the value alone when it names nothing known.
func named(v string, names map[string]string) string {
	if n, ok := names[v]; ok {
		return fmt.Sprintf("%s (%s)", v, n)
	}
	return fmt.Sprintf("%q (not a value RFC 8894 defines)", v)
}

// envelope describes the pkcsPKIEnvelope without opening it.
func envelope(content []byte, messageType string) string {
	if len(content) == 0 {
		return "pkcsPKIEnvelope: none\n"
	}
	what := "encrypted"
	switch messageType {
	case "17", "18", "19":
		what = "encrypted to the CA (it holds the CSR and its challenge password), not decrypted here"
	case "3":
		what = "encrypted to the device's key (it holds the issued certificate), not decrypted here"
	}
	line := fmt.Sprintf("pkcsPKIEnvelope: %d bytes of EnvelopedData, %s", len(content), what)
	if to := recipient(content); to != "" {
		line += "; recipient " + to
	}
	return line + "\n"
}

// The EnvelopedData as far as its recipient and cipher (RFC 5652 §6.1).
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type envelopedData struct {
	Version        int
	RecipientInfos []recipientInfo `asn1:"set"`
	Encrypted      struct {
		ContentType asn1.ObjectIdentifier
		Algorithm   struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		Content asn1.RawValue `asn1:"tag:0,optional"`
	}
}

type recipientInfo struct {
	Version int
	Issuer  struct {
		Name   asn1.RawValue
		Serial *big.Int
	}
	Algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	EncryptedKey []byte
}

var ciphers = map[string]string{
	pkcs7.OIDEncryptionAlgorithmAES128CBC.String():  "AES-128-CBC",
	pkcs7.OIDEncryptionAlgorithmAES256CBC.String():  "AES-256-CBC",
	pkcs7.OIDEncryptionAlgorithmAES128GCM.String():  "AES-128-GCM",
	pkcs7.OIDEncryptionAlgorithmAES256GCM.String():  "AES-256-GCM",
	pkcs7.OIDEncryptionAlgorithmDESCBC.String():     "DES-CBC",
	pkcs7.OIDEncryptionAlgorithmDESEDE3CBC.String(): "3DES-CBC",
}

// recipient: "serial 0x… of issuer "…", AES-128-CBC", or "" when the
// envelope does not read as RFC 5652 says.
func recipient(content []byte) string {
	var ci contentInfo
	if _, err := asn1.Unmarshal(content, &ci); err != nil || !ci.ContentType.Equal(pkcs7.OIDEnvelopedData) {
		return ""
	}
	var ed envelopedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &ed); err != nil || len(ed.RecipientInfos) == 0 {
		return ""
	}
	ri := ed.RecipientInfos[0]
	out := fmt.Sprintf("serial %s of issuer %q", serial(ri.Issuer.Serial), rdnString(ri.Issuer.Name.FullBytes))
	alg := ed.Encrypted.Algorithm.Algorithm.String()
	if n, ok := ciphers[alg]; ok {
		alg = n
	}
	return out + ", content cipher " + alg
}
