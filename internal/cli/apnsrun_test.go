package cli

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
)

// freeLoopbackPort is a port nothing listens on now: the server under test
// must be told the stand-in's address before the run starts it.
func freeLoopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// A deployed server (serve, apart from the run) pushes through the
// stand-in that 'run --apns-listen' starts: the server trusts the
// certificate the stand-in keeps in --apns-cert-out, made before either
// starts, and the device answers its delayed commands woken by a push.
func TestDeployedServerPushesToRunsStandIn(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	_, err := standInCert(certs, nil) // what 'apns serve --cert-out' leaves, once
	require.NoError(t, err)
	listen := freeLoopbackPort(t)

	f, _, _ := testFactory(nil)
	f.Now = time.Now
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan *refserver.Server, 1)
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, f, &serveOptions{Addr: "127.0.0.1:0", CAOut: caPath, CommandDelay: 300 * time.Millisecond,
			APNs: "https://" + listen, APNsCACert: filepath.Join(certs, standInCertFile)}, func(s *refserver.Server) { ready <- s })
	}()
	var srv *refserver.Server
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(2 * time.Minute): // a wait: the server makes its keys first
		t.Fatal("serve did not start")
	}
	var args []string
	for _, a := range strings.Fields(strings.TrimPrefix(pasteCommand(srv, caPath, filepath.Join(filepath.Dir(caPath), "secrets"), "alice@acme.test", "iphone@26.1", "user"), "enrollsim ")) {
		args = append(args, strings.Trim(a, "'"))
	}
	// No admin hooks and no probes: no second sign-in, which would wait
	// for a fresh TOTP step on the real clock.
	var kept []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "--admin-") {
			i++
			continue
		}
		kept = append(kept, args[i])
	}
	kept = append(kept, "--no-probes", "--apns-listen", listen, "--apns-cert-out", certs)
	rf, rout, rerr := testFactory(nil)
	rf.Now = time.Now
	code := Execute(context.Background(), rf, kept)
	require.Equal(t, 0, code, rout.String()+rerr.String())
	assert.Contains(t, rout.String(), "answered 5 commands")
	assert.Contains(t, rout.String(), "1 connects woke by a push")
	assert.Contains(t, rout.String()+rerr.String(), "APNs stand-in at https://"+listen)
	cancel()
	require.NoError(t, <-done)
}

func TestAPNsFlagsUsage(t *testing.T) {
	assertUsageErrors(t, []usageCase{
		{"listen with the embedded server", []string{"run", "--embedded", "--email", "alice@acme.test", "--apns-listen", "127.0.0.1:2197"}, []string{"--apns-listen is for a deployed server"}},
		{"cert-out alone", []string{"run", "--email", "alice@acme.test", "--apns-cert-out", "x"}, []string{"--apns-cert-out needs --apns-listen"}},
		{"listen without a port", []string{"run", "--email", "alice@acme.test", "--apns-listen", "localhost"}, []string{`--apns-listen "localhost": want HOST:PORT`}},
		{"serve: cacert alone", []string{"serve", "--apns-cacert", "x.pem"}, []string{"--apns-cacert needs --apns"}},
		{"serve: plain http", []string{"serve", "--apns", "http://127.0.0.1:2197"}, []string{"want the stand-in's https base URL"}},
		{"serve: no such certificate", []string{"serve", "--apns", "https://127.0.0.1:2197", "--apns-cacert", "/nonexistent/apns-ca.pem"},
			[]string{"--apns-cacert /nonexistent/apns-ca.pem: no such file", "apns-ca.pem"}},
	})
}
