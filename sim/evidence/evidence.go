// Package evidence turns the binary bodies of an exchange into text people
// can read in a report: a CMS-signed property list (an enrollment body, a
// signed profile) as its XML with the signer named first, a SCEP
// PKIMessage as its type and signed attributes, a binary property list as
// XML, and certificates as their names.
//
// The bodies come from the server under test, so decoding stays within
// sim/profile's limits and never panics; what does not decode gives "" and
// the report keeps its "(N bytes of binary data)". The text is not
// redacted here: the engine passes it through the case's redactor, as it
// does every body.
package evidence

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// MaxText bounds the decoded text an exchange carries; the engine cuts it
// there after redaction (a cut before would leave half a secret).
const MaxText = 64 << 10

// Decode returns body as people read it, or "" when body is text (the
// excerpt shows it as is) or nothing here decodes it. contentType helps
// name what the body is; the bytes decide how it is read.
func Decode(ctx context.Context, contentType string, body []byte) string {
	return Inspect(ctx, contentType, body).Text
}

// Body is what Inspect makes of a binary body.
type Body struct {
	// Text is the body as people read it ("": text, or nothing decodes it).
	Text string
	// Sealed, when set, says the body carries a secret encrypted (a SCEP
	// request's challenge password): its bytes are not for a report even
	// though no secret shows in them.
	Sealed string
}

// Inspect decodes body as Decode does and says whether its bytes carry a
// secret sealed inside.
func Inspect(ctx context.Context, contentType string, body []byte) (out Body) {
	if len(body) == 0 || !Binary(body) {
		return Body{}
	}
	defer func() {
		// The parsers below trust their input more than a report can
		// afford to: a body that breaks one is shown as binary.
		if recover() != nil {
			out = Body{}
		}
	}()
	switch {
	case bytes.HasPrefix(body, []byte("bplist")):
		xml, err := plistXML(ctx, body)
		if err != nil {
			return Body{}
		}
		return Body{Text: fmt.Sprintf("binary property list (%d bytes), as XML:\n%s", len(body), xml)}
	case body[0] == 0x30:
		return decodeDER(ctx, contentType, body)
	}
	return Body{}
}

// Binary says whether a body is binary, as check.Excerpt decides it: a NUL
// or another control character below tab in its first 512 bytes.
func Binary(b []byte) bool {
	for _, c := range b[:min(len(b), 512)] {
		if c < 0x09 {
			return true
		}
	}
	return false
}

// decodeDER reads an ASN.1 body: a CMS SignedData (a SCEP PKIMessage, a
// signed property list, a degenerate certificate list) or certificates.
func decodeDER(ctx context.Context, contentType string, body []byte) Body {
	if err := profile.CheckCMS(ctx, body, profile.Limits{}); err != nil {
		return Body{}
	}
	if p7, err := pkcs7.Parse(body); err == nil {
		if isSCEP(p7) {
			return describeSCEP(p7, len(body))
		}
		return Body{Text: describeSigned(ctx, p7, len(body))}
	}
	certs, err := x509.ParseCertificates(body)
	if err != nil || len(certs) == 0 {
		return Body{}
	}
	what := "DER certificate"
	if len(certs) > 1 {
		what = fmt.Sprintf("%d DER certificates", len(certs))
	}
	if contentType != "" {
		what += " (" + contentType + ")"
	}
	return Body{Text: what + ":\n" + describeCerts(certs)}
}

// describeSigned names the signer on the first line, then the content: a
// property list as XML, text as is, certificates when there is no content
// (a degenerate message such as a SCEP GetCACert answer).
func describeSigned(ctx context.Context, p7 *pkcs7.PKCS7, size int) string {
	var b strings.Builder
	b.WriteString(signerLine(p7, size))
	b.WriteByte('\n')
	switch c := p7.Content; {
	case len(c) == 0 && len(p7.Signers) == 0:
		b.WriteString("no content and no signer (a certificate list):\n")
		b.WriteString(describeCerts(p7.Certificates))
	case len(c) == 0:
		b.WriteString("no content attached (a detached signature)\n")
	case !Binary(c) && looksXML(c):
		b.Write(bytes.TrimSpace(c))
		b.WriteByte('\n')
	case bytes.HasPrefix(c, []byte("bplist")):
		xml, err := plistXML(ctx, c)
		if err != nil {
			fmt.Fprintf(&b, "content: a binary property list (%d bytes) that does not decode: %v\n", len(c), err)
			break
		}
		b.WriteString("content: a binary property list, as XML:\n")
		b.WriteString(xml)
	case !Binary(c):
		b.Write(c)
		b.WriteByte('\n')
	default:
		fmt.Fprintf(&b, "content: %d bytes of binary data\n", len(c))
	}
	return b.String()
}

// signerLine: "CMS SignedData (N bytes), signed by subject …, issuer …,
// serial …; the signature verifies".
func signerLine(p7 *pkcs7.PKCS7, size int) string {
	head := fmt.Sprintf("CMS SignedData (%d bytes)", size)
	if len(p7.Signers) == 0 {
		return head + ", without a signer"
	}
	who := signerName(p7)
	verdict := "the signature verifies (its certificate chain is not checked here)"
	if err := p7.Verify(); err != nil {
		verdict = "the signature does not verify with the certificates it carries: " + err.Error()
	}
	return fmt.Sprintf("%s, signed by %s; %s", head, who, verdict)
}

// signerName names the first signer's certificate, or what the signer
// info says of it when the message does not carry it.
func signerName(p7 *pkcs7.PKCS7) string {
	if c := p7.GetOnlySigner(); c != nil {
		return certName(c)
	}
	ias := p7.Signers[0].IssuerAndSerialNumber
	return fmt.Sprintf("a certificate the message does not carry (issuer %q, serial %s)", rdnString(ias.IssuerName.FullBytes), serial(ias.SerialNumber))
}

// rdnString reads a DER Name as x509 prints one; "" when it does not read.
func rdnString(der []byte) string {
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdn); err != nil {
		return ""
	}
	var name pkix.Name
	name.FillFromRDNSequence(&rdn)
	return name.String()
}

// certName: subject "…", issuer "…", serial 0x….
func certName(c *x509.Certificate) string {
	return fmt.Sprintf("subject %q, issuer %q, serial %s", c.Subject.String(), c.Issuer.String(), serial(c.SerialNumber))
}

func describeCerts(certs []*x509.Certificate) string {
	var b strings.Builder
	for i, c := range certs {
		fmt.Fprintf(&b, "  [%d] %s, valid %s to %s\n", i+1, certName(c),
			c.NotBefore.UTC().Format("2006-01-02 15:04:05Z"), c.NotAfter.UTC().Format("2006-01-02 15:04:05Z"))
	}
	return b.String()
}

func serial(n *big.Int) string {
	if n == nil {
		return "(none)"
	}
	return "0x" + n.Text(16)
}

// looksXML: text that opens as XML does (a signed profile carries its XML
// plist as is, which is shown rather than re-encoded).
func looksXML(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte("<"))
}

// plistXML decodes a property list within sim/profile's limits and encodes
// it as indented XML.
func plistXML(ctx context.Context, b []byte) (string, error) {
	v, err := profile.DecodePlist(ctx, b, profile.Limits{})
	if err != nil {
		return "", err
	}
	out, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		return "", err
	}
	return string(out) + "\n", nil
}
