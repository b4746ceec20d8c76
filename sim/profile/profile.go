// Package profile parses and describes the enrollment (configuration)
// profile an MDM server returns at the end of account-driven enrollment
// (spec §2.11, checks PROF-*), and builds the device's signed enrollment
// request body (spec §2.5).
//
// Parsing is descriptive: Parse fails only when the body cannot be read as a
// property list dictionary at all; everything else a check might care about
// (missing keys, wrong types, duplicate UUIDs) is recorded in
// Profile.Problems so the engine can judge it.
package profile

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// Plist formats reported in Profile.Format.
const (
	FormatXML    = "xml"
	FormatBinary = "binary"
)

// PayloadTypeMDM is the PayloadType of the MDM payload.
const PayloadTypeMDM = "com.apple.mdm"

// Profile is a parsed enrollment profile.
type Profile struct {
	// Signed is true when the body was a CMS SignedData message.
	Signed bool
	// Signer describes the signer certificate when Signed:
	// `<subject CN> (issuer: <issuer CN>)`; a full distinguished name is used
	// when a certificate has no CN. Empty when the signer certificate is not
	// in the message.
	Signer string
	// SignerCert is the signer certificate when present in the message.
	SignerCert *x509.Certificate
	// Certificates are all certificates carried in the CMS message.
	Certificates []*x509.Certificate
	// SignatureOK is true when the CMS signature verifies over the content.
	// The certificate chain is NOT verified.
	SignatureOK bool
	// SignatureError says why the signature did not verify (empty when it
	// did, or when the profile is not signed).
	SignatureError string
	// Format is FormatXML or FormatBinary.
	Format string
	// Top is the top-level dictionary.
	Top Dict
	// Payloads are the dictionary entries of PayloadContent, in order.
	Payloads []Payload
	// Problems are structural problems found while parsing (not fatal).
	Problems []string
}

// Payload is one PayloadContent entry.
type Payload struct {
	Type       string // PayloadType ("" when missing or not a string)
	UUID       string // PayloadUUID
	Identifier string // PayloadIdentifier
	Dict       Dict   // the whole payload dictionary
	Index      int    // position in PayloadContent (counting non-dictionary entries too)
}

// String returns the string value of key in the payload dictionary.
func (p Payload) String(key string) (string, bool) { return p.Dict.String(key) }

// Int returns the integer value of key in the payload dictionary.
func (p Payload) Int(key string) (int64, bool) { return p.Dict.Int(key) }

// Bool returns the boolean value of key in the payload dictionary.
func (p Payload) Bool(key string) (bool, bool) { return p.Dict.Bool(key) }

// Strings returns the string-array value of key in the payload dictionary.
func (p Payload) Strings(key string) ([]string, bool) { return p.Dict.Strings(key) }

// Has reports whether key is present in the payload dictionary.
func (p Payload) Has(key string) bool { return p.Dict.Has(key) }

// Parse reads an enrollment profile under DefaultLimits; see ParseContext.
func Parse(body []byte) (*Profile, error) {
	return ParseContext(context.Background(), body, DefaultLimits)
}

// ParseContext reads an enrollment profile. The body may be a CMS SignedData
// message (DER; PEM or base64 when it is clearly so) wrapping a property
// list, or a bare XML or binary property list. The top level must be a
// dictionary.
//
// Whatever the body holds, reading it stays within lim (zero fields take
// DefaultLimits) and stops soon after ctx is done. An error that wraps
// ErrLimit says the body broke a limit and was not judged further.
func ParseContext(ctx context.Context, body []byte, lim Limits) (*Profile, error) {
	lim = lim.withDefaults()
	if int64(len(body)) > lim.MaxBytes {
		return nil, overLimit("the profile is %d bytes, more than the limit of %d bytes", len(body), lim.MaxBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("empty body")
	}
	p := &Profile{}
	content := body
	if der, ok, err := detectCMS(body); err != nil {
		return nil, err
	} else if ok {
		p7, err := parseSignedData(ctx, der, lim)
		if err != nil {
			return nil, err
		}
		p.Signed = true
		p.Certificates = p7.Certificates
		if c := signerCert(p7); c != nil {
			p.SignerCert = c
			p.Signer = describeCert(c)
		}
		if err := p7.Verify(); err != nil {
			p.SignatureError = err.Error()
		} else {
			p.SignatureOK = true
		}
		content = p7.Content
	}
	if err := ctx.Err(); err != nil {
		return nil, stopped(err)
	}

	v, format, err := decodePlist(ctx, content, lim)
	if err != nil {
		return nil, err
	}
	p.Format = format
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("property list top level is %s, not a dictionary", typeName(v))
	}
	p.Top = Dict(top)
	p.describe()
	return p, nil
}

func stopped(err error) error { return fmt.Errorf("reading the profile stopped: %w", err) }

// MDM returns the payloads of type com.apple.mdm.
func (p *Profile) MDM() []Payload { return p.OfType(PayloadTypeMDM) }

// OfType returns the payloads whose PayloadType is t, in order.
func (p *Profile) OfType(t string) []Payload {
	var out []Payload
	for _, pl := range p.Payloads {
		if pl.Type == t {
			out = append(out, pl)
		}
	}
	return out
}

// ByUUID returns the first payload whose PayloadUUID equals uuid exactly.
func (p *Profile) ByUUID(uuid string) (Payload, bool) {
	for _, pl := range p.Payloads {
		if pl.UUID == uuid && uuid != "" {
			return pl, true
		}
	}
	return Payload{}, false
}

// maxProblems caps Problems: a hostile profile can have one per payload, and
// every one would land in a report.
const maxProblems = 50

// describe fills Payloads and Problems from Top.
func (p *Profile) describe() {
	more := 0
	problem := func(format string, args ...any) {
		if len(p.Problems) < maxProblems {
			p.Problems = append(p.Problems, fmt.Sprintf(format, args...))
		} else {
			more++
		}
	}
	defer func() {
		if more > 0 {
			p.Problems = append(p.Problems, fmt.Sprintf("and %d more problems", more))
		}
	}()
	top := p.Top
	switch t, ok := top.String("PayloadType"); {
	case !top.Has("PayloadType"):
		problem("top-level PayloadType is missing")
	case !ok:
		problem("top-level PayloadType is %s, not a string", typeName(top["PayloadType"]))
	case t != "Configuration":
		problem("top-level PayloadType is %q, not \"Configuration\"", t)
	}
	for _, k := range []string{"PayloadIdentifier", "PayloadUUID"} {
		switch s, ok := top.String(k); {
		case !top.Has(k):
			problem("top-level %s is missing", k)
		case !ok:
			problem("top-level %s is %s, not a string", k, typeName(top[k]))
		case s == "":
			problem("top-level %s is empty", k)
		}
	}
	switch n, ok := top.Int("PayloadVersion"); {
	case !top.Has("PayloadVersion"):
		problem("top-level PayloadVersion is missing")
	case !ok:
		problem("top-level PayloadVersion is %s, not an integer", typeName(top["PayloadVersion"]))
	case n != 1:
		problem("top-level PayloadVersion is %d, not 1", n)
	}

	raw, present := top["PayloadContent"]
	if !present {
		problem("PayloadContent is missing")
		return
	}
	items, ok := raw.([]any)
	if !ok {
		problem("PayloadContent is %s, not an array", typeName(raw))
		return
	}
	seen := map[string]int{}
	p.Payloads = make([]Payload, 0, len(items))
	for i, it := range items {
		d, ok := it.(map[string]any)
		if !ok {
			problem("PayloadContent[%d] is %s, not a dictionary", i, typeName(it))
			continue
		}
		pl := Payload{Dict: Dict(d), Index: i}
		for _, f := range []struct {
			key string
			dst *string
		}{{"PayloadType", &pl.Type}, {"PayloadUUID", &pl.UUID}, {"PayloadIdentifier", &pl.Identifier}} {
			s, ok := pl.Dict.String(f.key)
			switch {
			case !pl.Dict.Has(f.key):
				problem("PayloadContent[%d] has no %s", i, f.key)
			case !ok:
				problem("PayloadContent[%d] %s is %s, not a string", i, f.key, typeName(d[f.key]))
			case s == "":
				problem("PayloadContent[%d] %s is empty", i, f.key)
			}
			*f.dst = s
		}
		if pl.UUID != "" {
			if j, dup := seen[pl.UUID]; dup {
				problem("PayloadContent[%d] repeats the PayloadUUID %q of PayloadContent[%d]", i, pl.UUID, j)
			} else {
				seen[pl.UUID] = i
			}
		}
		p.Payloads = append(p.Payloads, pl)
	}
}

// decodePlist decodes an XML or binary property list within lim. Other
// formats (OpenStep, GNUstep text) are refused: Apple documents XML or binary
// profiles only.
func decodePlist(ctx context.Context, b []byte, lim Limits) (v any, format string, err error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, "", errors.New("not a property list: no content")
	}
	defer func() {
		// Never let a hostile body crash the simulator, whatever a decoder
		// bug does with it.
		if r := recover(); r != nil {
			v, format, err = nil, "", fmt.Errorf("not a property list: decoder failed: %v", r)
		}
	}()
	if bytes.HasPrefix(b, []byte("bplist")) {
		v, err = decodeBinary(ctx, b, lim)
		format = FormatBinary
	} else if t := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) > 0 && t[0] == '<' {
		v, err = decodeXML(ctx, b, lim)
		format = FormatXML
	} else {
		msg := "not a property list: not XML or binary"
		if len(t) > 0 && (t[0] == '{' || t[0] == '(') {
			msg += " (it looks like OpenStep or GNUstep text)"
		}
		return nil, "", errors.New(msg)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", stopped(ctx.Err())
		}
		return nil, "", err
	}
	return v, format, nil
}

// detectCMS decides whether b is a CMS message and returns its DER (or BER)
// bytes. It looks for DER/BER first, then PEM, then base64 whose decoding is
// DER. ok is false for anything else (for example a plist). err is set when b
// clearly is a PKCS#7 message of the wrong kind or a broken encoding of one.
func detectCMS(b []byte) (der []byte, ok bool, err error) {
	if _, is := pkcs7ContentType(b); is {
		return b, true, checkSignedData(b)
	}
	t := bytes.TrimSpace(b)
	if bytes.HasPrefix(t, []byte("-----BEGIN ")) {
		blk, _ := pem.Decode(t)
		if blk == nil {
			return nil, false, errors.New("malformed PEM block")
		}
		if _, is := pkcs7ContentType(blk.Bytes); !is {
			return nil, false, fmt.Errorf("PEM block %q does not hold a CMS message", blk.Type)
		}
		return blk.Bytes, true, checkSignedData(blk.Bytes)
	}
	if dec, ok := decodeBase64(t); ok {
		if _, is := pkcs7ContentType(dec); is {
			return dec, true, checkSignedData(dec)
		}
	}
	return nil, false, nil
}

// pkcs7OIDPrefix is the DER encoding of the OID arc 1.2.840.113549.1.7
// (PKCS#7 content types) with its tag and length.
var pkcs7OIDPrefix = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07}

// pkcs7ContentType reports whether b starts like a BER/DER ContentInfo: a
// SEQUENCE whose first element is a PKCS#7 content-type OID
// (1.2.840.113549.1.7.x), and returns x. No property list starts this way.
func pkcs7ContentType(b []byte) (byte, bool) {
	if len(b) < 2 || b[0] != 0x30 {
		return 0, false
	}
	i := 2
	switch l := b[1]; {
	case l == 0x80: // indefinite length (BER)
	case l < 0x80:
	case l <= 0x84:
		i += int(l & 0x7f)
	default:
		return 0, false
	}
	if len(b) < i+len(pkcs7OIDPrefix)+1 || !bytes.Equal(b[i:i+len(pkcs7OIDPrefix)], pkcs7OIDPrefix) {
		return 0, false
	}
	return b[i+len(pkcs7OIDPrefix)], true
}

// checkSignedData refuses PKCS#7 messages that are not SignedData.
func checkSignedData(b []byte) error {
	if ct, _ := pkcs7ContentType(b); ct != 2 {
		return fmt.Errorf("CMS message is not SignedData (content type 1.2.840.113549.1.7.%d)", ct)
	}
	return nil
}

// decodeBase64 decodes b when it consists only of base64 characters and
// whitespace (standard or URL alphabet, padded or not).
func decodeBase64(b []byte) ([]byte, bool) {
	if len(b) < 16 {
		return nil, false
	}
	clean := make([]byte, 0, len(b))
	for _, c := range b {
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '+', c == '/', c == '-', c == '_', c == '=':
			clean = append(clean, c)
		default:
			return nil, false
		}
	}
	s := strings.TrimRight(string(clean), "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(s); err == nil {
			return d, true
		}
	}
	return nil, false
}

// parseSignedData parses a DER/BER CMS SignedData message that must carry
// its content.
func parseSignedData(ctx context.Context, der []byte, lim Limits) (p7 *pkcs7.PKCS7, err error) {
	if err := checkBER(ctx, der, lim); err != nil {
		if ctx.Err() != nil {
			return nil, stopped(ctx.Err())
		}
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("malformed CMS SignedData: %v", r)
		}
	}()
	p7, err = pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("malformed CMS SignedData: %v", err)
	}
	if len(p7.Content) == 0 {
		return nil, errors.New("CMS SignedData without content (detached signature or certificates only)")
	}
	return p7, nil
}

// signerCert returns the first signer's certificate from the message.
func signerCert(p7 *pkcs7.PKCS7) *x509.Certificate {
	if len(p7.Signers) == 0 {
		return nil
	}
	ias := p7.Signers[0].IssuerAndSerialNumber
	for _, c := range p7.Certificates {
		if c.SerialNumber != nil && ias.SerialNumber != nil &&
			c.SerialNumber.Cmp(ias.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, ias.IssuerName.FullBytes) {
			return c
		}
	}
	return nil
}

func describeCert(c *x509.Certificate) string {
	sub, iss := c.Subject.CommonName, c.Issuer.CommonName
	if sub == "" {
		sub = c.Subject.String()
	}
	if iss == "" {
		iss = c.Issuer.String()
	}
	return fmt.Sprintf("%s (issuer: %s)", sub, iss)
}

// TypeName names a decoded plist value's type in plist terms ("a string",
// "an array", "a dictionary"...), for errors about untrusted plists.
func TypeName(v any) string { return typeName(v) }

// typeName names a decoded plist value's type in plist terms.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case uint64, int64, int, int32, uint32:
		return "an integer"
	case float64, float32:
		return "a real"
	case []byte:
		return "data"
	case map[string]any, Dict:
		return "a dictionary"
	case []any:
		return "an array"
	case time.Time:
		return "a date"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// Dict is a decoded plist dictionary with typed accessors that never panic.
type Dict map[string]any

// Has reports whether key is present.
func (d Dict) Has(key string) bool {
	_, ok := d[key]
	return ok
}

// String returns the value of key when it is a string.
func (d Dict) String(key string) (string, bool) {
	s, ok := d[key].(string)
	return s, ok
}

// Int returns the value of key when it is an integer that fits an int64
// (plist integers decode as uint64, or int64 when negative). Reals and
// numeric strings are not integers.
func (d Dict) Int(key string) (int64, bool) {
	switch n := d[key].(type) {
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	}
	return 0, false
}

// Bool returns the value of key when it is a boolean.
func (d Dict) Bool(key string) (bool, bool) {
	b, ok := d[key].(bool)
	return b, ok
}

// Strings returns the value of key when it is an array of strings (an
// empty array gives an empty, non-nil slice). Any non-string element makes
// the result false.
func (d Dict) Strings(key string) ([]string, bool) {
	switch a := d[key].(type) {
	case []string:
		return append([]string{}, a...), true
	case []any:
		out := make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

// Dict returns the value of key when it is a dictionary.
func (d Dict) Dict(key string) (Dict, bool) {
	switch m := d[key].(type) {
	case map[string]any:
		return Dict(m), true
	case Dict:
		return m, true
	}
	return nil, false
}

// Data returns the value of key when it is data.
func (d Dict) Data(key string) ([]byte, bool) {
	b, ok := d[key].([]byte)
	return b, ok
}

// TypeOf names the plist type of key's value ("nothing" when absent), for
// messages such as "RequiredAppIDForMDM is a string, not an integer".
func (d Dict) TypeOf(key string) string { return typeName(d[key]) }
