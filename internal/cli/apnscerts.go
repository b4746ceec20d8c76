package cli

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// The stand-in's serving certificate is kept in its --cert-out directory
// (apns-server.pem, apns-server.key) and taken again by the next stand-in
// given that directory, so a server configured once to trust apns-ca.pem
// keeps trusting it: 'apns serve', 'run --apns-listen' and 'serve --apns'
// can be started in any order, and again.

const (
	standInCertFile = "apns-server.pem"
	standInKeyFile  = "apns-server.key"
)

// standInCert loads the serving certificate kept in dir, or makes one for
// hosts and keeps it there. dir "" keeps nothing.
func standInCert(dir string, hosts []string) (tls.Certificate, error) {
	hosts = append([]string{"127.0.0.1", "::1", "localhost"}, hosts...)
	if dir == "" {
		return apns.NewServerCert(hosts...)
	}
	certPath, keyPath := filepath.Join(dir, standInCertFile), filepath.Join(dir, standInKeyFile)
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	switch {
	case err == nil:
		return c, nil
	case !errors.Is(err, fs.ErrNotExist):
		return tls.Certificate{}, usageHint(fmt.Errorf("the stand-in's certificate in %s: %w", dir, unwrapPathErr(err)), "remove "+standInCertFile+" and "+standInKeyFile+" there to make new ones (and trust the new apns-ca.pem)")
	}
	if c, err = apns.NewServerCert(hosts...); err != nil {
		return tls.Certificate{}, incompleteErr(err, "")
	}
	key, err := apns.KeyPEM(c)
	if err != nil {
		return tls.Certificate{}, incompleteErr(err, "")
	}
	if err := os.WriteFile(certPath, apns.CertPEM(c), 0o644); err != nil {
		return tls.Certificate{}, usageHint(fmt.Errorf("--cert-out: %w", unwrapPathErr(err)), "pass a writable directory")
	}
	if err := writePrivate(keyPath, key); err != nil {
		return tls.Certificate{}, usageHint(fmt.Errorf("--cert-out: %w", err), "pass a writable directory")
	}
	return c, nil
}
