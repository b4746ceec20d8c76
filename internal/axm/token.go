// Package axm stands in for Apple's side of simplified service discovery
// (spec §2.3): the Device Assignment API that an MDM server registers its
// discovery URL with (mdmenrollment.apple.com: /session, /account and the
// account-driven enrollment profile resource), and the devices' fallback
// lookup (axm-servicediscovery.apple.com: /mdmBaseURL) that redirects to the
// registered URL. It also writes the server token an administrator
// downloads from Apple Business Manager, and has a small client for servers
// written in Go, which the reference server uses to register itself.
//
// What a server did is kept as sim.AxMCall values, so that the engine
// judges the registration (ABM-001/002/006/007) from data.
package axm

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// Credentials are what a server token holds, under Apple's JSON keys.
type Credentials struct {
	ConsumerKey       string    `json:"consumer_key"`
	ConsumerSecret    string    `json:"consumer_secret"`
	AccessToken       string    `json:"access_token"`
	AccessSecret      string    `json:"access_secret"`
	AccessTokenExpiry time.Time `json:"access_token_expiry"`
}

// String never shows a secret: credentials end up in error values and
// test failures.
func (c Credentials) String() string {
	return fmt.Sprintf("axm credentials (consumer key %s…, expires %s)", prefix(c.ConsumerKey, 6), c.AccessTokenExpiry.UTC().Format(time.RFC3339))
}

// GoString keeps %#v from printing the secrets too.
func (c Credentials) GoString() string { return c.String() }

func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (c Credentials) valid() bool {
	return c.ConsumerKey != "" && c.ConsumerSecret != "" && c.AccessToken != "" && c.AccessSecret != ""
}

// NewCredentials makes random credentials that expire in a year, as
// Apple's server tokens do.
func NewCredentials(now time.Time) (Credentials, error) {
	r := func(prefix string, n int) (string, error) {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return prefix + hex.EncodeToString(b), nil
	}
	var c Credentials
	var err error
	for _, f := range []struct {
		dst    *string
		prefix string
		n      int
	}{{&c.ConsumerKey, "CK_", 24}, {&c.ConsumerSecret, "CS_", 20}, {&c.AccessToken, "AT_", 24}, {&c.AccessSecret, "AS_", 20}} {
		if *f.dst, err = r(f.prefix, f.n); err != nil {
			return Credentials{}, fmt.Errorf("axm: random credentials: %w", err)
		}
	}
	c.AccessTokenExpiry = now.AddDate(1, 0, 0).UTC().Truncate(time.Second)
	return c, nil
}

// maxTokenFile bounds a token read: Apple's are a few kilobytes.
const maxTokenFile = 256 << 10

// EncryptToken writes the .p7m file Apple Business Manager hands out: an
// S/MIME message whose body is a CMS EnvelopedData (base64) encrypted to
// cert's RSA key, around the MIME-wrapped JSON between BEGIN/END MESSAGE
// lines. nanodep's tokenpki.DecryptTokenJSON reads it (nanodep_test.go).
func EncryptToken(c Credentials, cert *x509.Certificate) ([]byte, error) {
	if cert == nil {
		return nil, errors.New("axm: no certificate to encrypt the token to")
	}
	if !c.valid() {
		return nil, errors.New("axm: incomplete credentials")
	}
	js, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	plain := "Content-Type: text/plain;charset=UTF-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
		"-----BEGIN MESSAGE-----\n" + string(js) + "\n-----END MESSAGE-----\n"
	der, err := pkcs7.Encrypt([]byte(plain), []*x509.Certificate{cert})
	if err != nil {
		return nil, fmt.Errorf("the certificate's key cannot receive an encrypted token (Apple's tokens need an RSA key): %w", err)
	}
	var out bytes.Buffer
	out.WriteString("Content-Type: application/pkcs7-mime; name=\"smime.p7m\"; smime-type=enveloped-data\r\n")
	out.WriteString("Content-Transfer-Encoding: base64\r\n")
	out.WriteString("Content-Disposition: attachment; filename=\"smime.p7m\"\r\n")
	out.WriteString("Content-Description: S/MIME Encrypted Message\r\n\r\n")
	b64 := base64.StdEncoding.EncodeToString(der)
	for len(b64) > 76 {
		out.WriteString(b64[:76] + "\r\n")
		b64 = b64[76:]
	}
	out.WriteString(b64 + "\r\n")
	return out.Bytes(), nil
}

// DecryptToken reads a token file with the server's own key pair.
func DecryptToken(p7m []byte, cert *x509.Certificate, key crypto.PrivateKey) (Credentials, error) {
	if len(p7m) > maxTokenFile {
		return Credentials{}, fmt.Errorf("axm: token file of %d bytes is over the %d-byte limit: not a server token", len(p7m), maxTokenFile)
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(p7m)))
	if _, err := tp.ReadMIMEHeader(); err != nil {
		return Credentials{}, fmt.Errorf("axm: token file: no S/MIME header: %v", err)
	}
	body, err := io.ReadAll(tp.R)
	if err != nil {
		return Credentials{}, err
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	if err != nil {
		return Credentials{}, fmt.Errorf("axm: token file: the body is not base64: %v", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return Credentials{}, fmt.Errorf("axm: token file: not CMS: %v", err)
	}
	plain, err := p7.Decrypt(cert, key)
	if err != nil {
		return Credentials{}, fmt.Errorf("axm: token file: cannot decrypt with this key pair (was it made for another certificate?): %v", err)
	}
	start := bytes.Index(plain, []byte("-----BEGIN MESSAGE-----"))
	end := bytes.Index(plain, []byte("-----END MESSAGE-----"))
	if start < 0 || end < start {
		return Credentials{}, errors.New("axm: token file: no BEGIN/END MESSAGE around the JSON")
	}
	var c Credentials
	if err := json.Unmarshal(bytes.TrimSpace(plain[start+len("-----BEGIN MESSAGE-----"):end]), &c); err != nil {
		return Credentials{}, errors.New("axm: token file: the message is not the token's JSON")
	}
	if !c.valid() {
		return Credentials{}, errors.New("axm: token file: a key of consumer_key, consumer_secret, access_token, access_secret is missing")
	}
	return c, nil
}
