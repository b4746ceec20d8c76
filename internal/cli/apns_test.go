package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/sim/check"
)

// lockedBuffer is written by the stand-in's handler while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// apns serve writes the certificates a server needs, takes a push made
// with the test provider certificate it wrote, prints it (never the
// PushMagic) before the provider has its answer, and stops on cancel.
func TestAPNsServePrintsPushes(t *testing.T) {
	f, _, _ := testFactory(nil)
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	f.IO.Out, f.IO.ErrOut = out, errOut
	dir := filepath.Join(t.TempDir(), "certs")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *apns.Server, 1)
	done := make(chan error, 1)
	go func() {
		done <- runAPNsServe(ctx, f, &apnsServeOptions{Listen: "127.0.0.1:0", CertOut: dir}, func(s *apns.Server) { ready <- s })
	}()
	var srv *apns.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("apns serve stopped: %v", err)
	case <-time.After(2 * time.Minute): // a wait: the stand-in makes its keys first
		t.Fatal("apns serve did not start")
	}
	printed := out.String()
	assert.Contains(t, printed, "listening on "+srv.URL())
	for _, name := range []string{"apns-ca.pem", "provider.pem", "provider.key"} {
		assert.Contains(t, printed, filepath.Join(dir, name))
	}
	fi, err := os.Stat(filepath.Join(dir, "provider.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the key is private")

	provider, err := tls.LoadX509KeyPair(filepath.Join(dir, "provider.pem"), filepath.Join(dir, "provider.key"))
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(provider.Certificate[0])
	require.NoError(t, err)
	topic := apns.CertUID(leaf)
	assert.True(t, strings.HasPrefix(topic, "com.apple.mgmt.External."), topic)
	assert.Contains(t, printed, "topic "+topic)
	caPEM, err := os.ReadFile(filepath.Join(dir, "apns-ca.pem"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(caPEM))

	c := apns.NewClient(srv.URL(), provider, roots, 0)
	defer c.Close()
	token := bytes.Repeat([]byte{0xc4}, 32)
	res, err := c.Push(context.Background(), apns.Notification{Token: token, Topic: topic, PushType: "mdm", Priority: "10", Magic: "SECRET-PUSHMAGIC"})
	require.NoError(t, err)
	assert.Equal(t, 200, res.Status)
	res, err = c.Push(context.Background(), apns.Notification{Token: token, Topic: "com.example.app", Payload: []byte("{}")})
	require.NoError(t, err)
	assert.Equal(t, 400, res.Status)

	printed = out.String()
	assert.Contains(t, printed, "12:00:00  push c4c4c4c4…  topic "+topic+"  type mdm  priority 10  → 200  (PushMagic present)")
	assert.Contains(t, printed, "push c4c4c4c4…  topic com.example.app  type (none)  priority (none)  → 400 TopicDisallowed  (no PushMagic)")
	assert.NotContains(t, printed, "SECRET-PUSHMAGIC")

	cancel()
	require.NoError(t, <-done)
	assert.NotContains(t, errOut.String(), "SECRET-PUSHMAGIC")
}

func TestAPNsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"apns"},
		{"apns", "serve", "--listen", "nowhere"},
		{"apns", "serve", "--listen", "127.0.0.1:99999"},
		{"apns", "serve", "extra"},
	} {
		r := execute(t, args...)
		assert.Equal(t, 2, r.code, "%v: %s", args, r.errOut)
	}
}

// A provider string is printed, never interpreted by the terminal.
func TestAPNsPushLineQuotesControls(t *testing.T) {
	line := pushLine(apnsPush("\x1b[31mred"))
	assert.NotContains(t, line, "\x1b")
	assert.Contains(t, line, `"\x1b[31mred"`)
}

func apnsPush(topic string) check.Push {
	return check.Push{Token: "abab", Topic: topic, PushType: "mdm", Status: 200}
}
