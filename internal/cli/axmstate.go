package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/internal/axm"
)

// axmState is the stand-in's directory. It outlives a run because the MDM
// server under test is configured once with what is in it: the CA it must
// trust, and the token an administrator would have downloaded from Apple
// Business Manager. The credentials are secrets: the files are 0600 and
// nothing here prints them.
type axmState struct {
	dir     string
	ca      *x509.Certificate
	caKey   *ecdsa.PrivateKey
	servers []axm.ServerConfig
}

const (
	axmCAFile      = "ca.pem"
	axmCAKeyFile   = "ca-key.pem"
	axmServersFile = "servers.json"
)

var axmNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// axmStoredServer is one line of servers.json: Apple's token keys plus the
// name the administrator gave the MDM server in AxM.
type axmStoredServer struct {
	Name              string    `json:"name"`
	ConsumerKey       string    `json:"consumer_key"`
	ConsumerSecret    string    `json:"consumer_secret"`
	AccessToken       string    `json:"access_token"`
	AccessSecret      string    `json:"access_secret"`
	AccessTokenExpiry time.Time `json:"access_token_expiry"`
}

// openAxMState reads dir; with create, a missing directory or CA is made.
func openAxMState(dir string, create bool, now time.Time) (*axmState, error) {
	st := &axmState{dir: dir}
	caPEM, err := os.ReadFile(filepath.Join(dir, axmCAFile))
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating the stand-in's directory %s: %w", dir, err)
		}
		if err := st.newCA(now); err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s holds no stand-in state (no %s)\nmake it with 'enrollsim axm token --cert SERVER.pem --state %s'", dir, axmCAFile, dir)
	case err != nil:
		return nil, fmt.Errorf("reading the stand-in's CA: %w", err)
	default:
		if st.ca, st.caKey, err = readCA(caPEM, filepath.Join(dir, axmCAKeyFile)); err != nil {
			return nil, fmt.Errorf("%s: %w\nremove the directory and make the tokens again", dir, err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, axmServersFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", axmServersFile, err)
	}
	var stored []axmStoredServer
	if err := json.Unmarshal(raw, &stored); err != nil {
		return nil, fmt.Errorf("%s: not the stand-in's server list: %v\nremove it and make the tokens again with 'enrollsim axm token'", filepath.Join(dir, axmServersFile), jsonProblem(err))
	}
	for _, s := range stored {
		st.servers = append(st.servers, axm.ServerConfig{Name: s.Name, Creds: axm.Credentials{
			ConsumerKey: s.ConsumerKey, ConsumerSecret: s.ConsumerSecret, AccessToken: s.AccessToken,
			AccessSecret: s.AccessSecret, AccessTokenExpiry: s.AccessTokenExpiry,
		}})
	}
	return st, nil
}

// jsonProblem keeps a decode error's position but never the bytes it
// quotes, which may be a secret.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "invalid JSON"
}

// put adds or replaces a server's credentials and saves the list.
func (st *axmState) put(s axm.ServerConfig) error {
	i := slices.IndexFunc(st.servers, func(o axm.ServerConfig) bool { return o.Name == s.Name })
	if i >= 0 {
		st.servers[i] = s
	} else {
		st.servers = append(st.servers, s)
	}
	stored := make([]axmStoredServer, 0, len(st.servers))
	for _, s := range st.servers {
		c := s.Creds
		stored = append(stored, axmStoredServer{Name: s.Name, ConsumerKey: c.ConsumerKey, ConsumerSecret: c.ConsumerSecret,
			AccessToken: c.AccessToken, AccessSecret: c.AccessSecret, AccessTokenExpiry: c.AccessTokenExpiry})
	}
	raw, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return err
	}
	return writePrivate(filepath.Join(st.dir, axmServersFile), append(raw, '\n'))
}

func (st *axmState) names() []string {
	out := make([]string, 0, len(st.servers))
	for _, s := range st.servers {
		out = append(out, s.Name)
	}
	return out
}

func (st *axmState) caPath() string { return filepath.Join(st.dir, axmCAFile) }

func (st *axmState) newCA(now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "enrollsim AxM stand-in CA", Organization: []string{"enrollsim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("making the stand-in's CA: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePrivate(filepath.Join(st.dir, axmCAKeyFile), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(st.dir, axmCAFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("writing the stand-in's CA: %w", err)
	}
	st.ca, _ = x509.ParseCertificate(der)
	st.caKey = key
	return nil
}

func readCA(caPEM []byte, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(caPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("%s is not a PEM certificate", axmCAFile)
	}
	ca, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", axmCAFile, err)
	}
	raw, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the CA key: %w", err)
	}
	kb, _ := pem.Decode(raw)
	if kb == nil {
		return nil, nil, fmt.Errorf("%s is not a PEM key", axmCAKeyFile)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", axmCAKeyFile, err)
	}
	return ca, key, nil
}

// leaf is a serving certificate for the listen address and any extra host
// names (for a server that reaches the stand-in through a name).
func (st *axmState) leaf(now time.Time, hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "enrollsim AxM stand-in"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, st.ca, &key.PublicKey, st.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("making the stand-in's serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, st.ca.Raw}, PrivateKey: key}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// writePrivate writes a secret file readable by its owner only, replacing
// it whole so a crash never leaves half a token.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
