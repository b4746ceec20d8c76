package refserver

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// The tls12-no-ems fault serves mdm.acme.test over TLS 1.2 without the
// Extended Master Secret extension (RFC 7627). Go's TLS server cannot: it
// echoes EMS whenever the client offers it, and the extension is part of
// the hashed handshake, so no rewriting of bytes can drop it. OpenSSL can
// (Options = -ExtendedMasterSecret), so under this fault connections whose
// ClientHello names mdm.acme.test are spliced to socat, which terminates
// TLS with OpenSSL and forwards the plain HTTP to a loopback listener of
// the same handler. Every other connection goes to the Go TLS server as
// before; without the fault none of this runs.

const (
	// sniPeekTimeout bounds how long a client may take to send its
	// ClientHello before the connection is dropped.
	sniPeekTimeout = 10 * time.Second
	// maxClientHello bounds the bytes read while looking for the SNI: a
	// full TLS record (16 KiB) and its header, with room for a second
	// record's header.
	maxClientHello = 16<<10 + 2*5
	// socatReadyTimeout bounds socat's start (up to its "listening on").
	socatReadyTimeout = 10 * time.Second
)

// noEMSOpenSSLConf turns EMS off for every SSL_CTX of the process that
// reads it (socat's) and caps the protocol at TLS 1.2, where EMS matters
// (TLS 1.3 has no such extension).
const noEMSOpenSSLConf = `openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
MinProtocol = TLSv1.2
MaxProtocol = TLSv1.2
`

// errNoSocat is what Start says when the fault needs socat and the machine
// lacks it.
var errNoSocat = errors.New("refserver: fault " + FaultTLS12NoEMS + " needs socat: apt-get install socat (make deps installs it)")

// emsTerminator is socat terminating TLS without EMS in front of a plain
// HTTP listener of the server's handler, and the files it reads.
type emsTerminator struct {
	dir     string        // temporary: key, certificate chain, OpenSSL config
	backend net.Listener  // plain HTTP, loopback
	srv     *http.Server  // serves backend
	served  chan struct{} // closed when srv.Serve returns
	cmd     *exec.Cmd     // socat, leader of its own process group
	exited  chan struct{} // closed when cmd has been waited for
	stderr  *tailBuffer   // socat's last words, for error messages
	drained chan struct{} // closed when socat's stderr pipe reached EOF
	addr    string        // where socat listens
	logf    func(string, ...any)
}

// startEMSTerminator writes the leaf, its key and the OpenSSL config into
// a private temporary folder, serves handler in plain HTTP on a loopback
// port and starts socat in front of it.
func startEMSTerminator(leaf tls.Certificate, handler http.Handler, logf func(string, ...any)) (_ *emsTerminator, err error) {
	socat, err := exec.LookPath("socat")
	if err != nil {
		return nil, errNoSocat
	}
	t := &emsTerminator{logf: logf}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	if t.dir, err = os.MkdirTemp("", "enrollsim-no-ems-"); err != nil {
		return nil, fmt.Errorf("refserver: fault %s: temporary folder: %w", FaultTLS12NoEMS, err)
	}
	var chain []byte
	for _, der := range leaf.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(leaf.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("refserver: fault %s: encoding the server key: %w", FaultTLS12NoEMS, err)
	}
	files := map[string][]byte{
		"chain.pem":   chain,
		"key.pem":     pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"openssl.cnf": []byte(noEMSOpenSSLConf),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(t.dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("refserver: fault %s: writing %s: %w", FaultTLS12NoEMS, name, err)
		}
	}

	if t.backend, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("refserver: fault %s: listening for socat's plain HTTP: %w", FaultTLS12NoEMS, err)
	}
	t.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(logfWriter(logf), "", 0),
	}
	t.served = make(chan struct{})
	go func() {
		defer close(t.served)
		_ = t.srv.Serve(t.backend)
	}()

	// socat 1.7.4 cannot take a listening socket from its parent, so it
	// binds a port of its own: a free one now, tried again should another
	// process take it before socat binds.
	for attempt := 0; ; attempt++ {
		err = t.startSocat(socat)
		if err == nil {
			return t, nil
		}
		if attempt == 2 || !strings.Contains(err.Error(), "Address already in use") {
			return nil, err
		}
		t.stopSocat()
	}
}

func (t *emsTerminator) startSocat(socat string) error {
	port, err := freeLoopbackPort()
	if err != nil {
		return fmt.Errorf("refserver: fault %s: finding a port for socat: %w", FaultTLS12NoEMS, err)
	}
	t.addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
	listen := fmt.Sprintf("OPENSSL-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,cert=%s,key=%s,verify=0,openssl-min-proto-version=TLS1.2,openssl-max-proto-version=TLS1.2",
		port, filepath.Join(t.dir, "chain.pem"), filepath.Join(t.dir, "key.pem"))
	// -d -d makes socat say "listening on" once bound: the readiness
	// signal, with no probe connection needed.
	t.cmd = exec.Command(socat, "-d", "-d", listen, "TCP:"+t.backend.Addr().String())
	t.cmd.Env = append(os.Environ(), "OPENSSL_CONF="+filepath.Join(t.dir, "openssl.cnf"))
	t.cmd.Dir = t.dir
	setProcessGroup(t.cmd)
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("refserver: fault %s: pipe for socat: %w", FaultTLS12NoEMS, err)
	}
	t.cmd.Stderr = pw
	if err := t.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.cmd = nil
		return fmt.Errorf("refserver: fault %s: starting socat: %w", FaultTLS12NoEMS, err)
	}
	pw.Close() // socat and its children hold the write end

	ready := make(chan struct{})
	t.stderr = &tailBuffer{max: 4096}
	t.drained = make(chan struct{})
	go func() {
		defer close(t.drained)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 4096), 64<<10)
		said := false
		for sc.Scan() {
			line := sc.Text()
			t.stderr.add(line)
			if !said && strings.Contains(line, "listening on") {
				said = true
				close(ready)
			}
		}
		// An over-long line stops the scanner: keep draining so that
		// socat never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, pr)
	}()
	t.exited = make(chan struct{})
	go func() {
		defer close(t.exited)
		_ = t.cmd.Wait()
	}()

	timer := time.NewTimer(socatReadyTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return nil
	case <-t.exited:
		<-t.drained
		return fmt.Errorf("refserver: fault %s: socat exited before listening on %s: %s", FaultTLS12NoEMS, t.addr, t.stderr)
	case <-timer.C:
		return fmt.Errorf("refserver: fault %s: socat did not listen on %s within %s: %s", FaultTLS12NoEMS, t.addr, socatReadyTimeout, t.stderr)
	}
}

// stopSocat kills socat and the children it forked for connections (its
// process group) and waits for them.
func (t *emsTerminator) stopSocat() {
	if t.cmd == nil {
		return
	}
	killProcessGroup(t.cmd)
	<-t.exited
	// The children die with the group; their end of the pipe with them.
	select {
	case <-t.drained:
	case <-time.After(5 * time.Second):
		t.logf("refserver: fault %s: socat's children still hold its stderr after the kill", FaultTLS12NoEMS)
	}
	t.cmd = nil
}

// close stops socat and the plain listener and removes the temporary files.
func (t *emsTerminator) close() {
	t.stopSocat()
	if t.srv != nil {
		_ = t.srv.Close()
		<-t.served
	} else if t.backend != nil {
		_ = t.backend.Close()
	}
	if t.dir != "" {
		if err := os.RemoveAll(t.dir); err != nil {
			t.logf("refserver: fault %s: removing %s: %v", FaultTLS12NoEMS, t.dir, err)
		}
	}
}

func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes of the lines added.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(append(b.buf, line...), '\n')
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = b.buf[over:]
	}
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(string(b.buf))
	if s == "" {
		return "(socat said nothing)"
	}
	return s
}

// sniListener reads the SNI of each connection's ClientHello and either
// splices the connection to divert (the connection is for a host that
// divertHost picks) or hands it, its bytes replayed, to Accept. The peeks
// run off the Accept path, so a slow client holds up no other.
type sniListener struct {
	net.Listener
	divertHost func(sni string) bool
	divert     string // address the diverted connections are spliced to
	logf       func(string, ...any)
	peekFor    time.Duration // how long a ClientHello may take (sniPeekTimeout)

	accepted chan net.Conn
	closed   chan struct{}
	once     sync.Once
	mu       sync.Mutex
	conns    map[net.Conn]struct{} // being peeked or spliced
	wg       sync.WaitGroup
	err      error // the inner Accept's, once it failed
}

func newSNIListener(inner net.Listener, divertHost func(string) bool, divert string, peekFor time.Duration, logf func(string, ...any)) *sniListener {
	l := &sniListener{
		Listener:   inner,
		divertHost: divertHost,
		divert:     divert,
		logf:       logf,
		peekFor:    peekFor,
		accepted:   make(chan net.Conn),
		closed:     make(chan struct{}),
		conns:      map[net.Conn]struct{}{},
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

func (l *sniListener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				l.Close()
				return
			}
			// Out of file descriptors and the like: wait and try again,
			// as http.Server does with its own listener.
			if backoff == 0 {
				backoff = 5 * time.Millisecond
			} else if backoff *= 2; backoff > time.Second {
				backoff = time.Second
			}
			l.logf("refserver: accept: %v; trying again in %s", err, backoff)
			select {
			case <-time.After(backoff):
			case <-l.closed:
				return
			}
			continue
		}
		backoff = 0
		if !l.track(c) {
			c.Close()
			return
		}
		l.wg.Add(1)
		go l.route(c)
	}
}

// track records c so that Close can end it; false once closed.
func (l *sniListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.closed:
		return false
	default:
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *sniListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

func (l *sniListener) route(c net.Conn) {
	defer l.wg.Done()
	sni, peeked, err := peekServerName(c, l.peekFor)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			l.logf("refserver: %s: no ClientHello within %s", c.RemoteAddr(), l.peekFor)
			l.untrack(c)
			c.Close()
			return
		}
		// Not a ClientHello we could read: the Go TLS server answers it
		// as it would without the fault.
	}
	if err == nil && l.divertHost(sni) {
		l.splice(c, peeked)
		return
	}
	l.untrack(c) // http.Server tracks it from here
	rc := &replayConn{Conn: c, r: io.MultiReader(bytes.NewReader(peeked), c)}
	select {
	case l.accepted <- rc:
	case <-l.closed:
		c.Close()
	}
}

// splice copies between c and a fresh connection to l.divert, c's peeked
// bytes first, until either side ends; then both are closed.
func (l *sniListener) splice(c net.Conn, peeked []byte) {
	defer l.untrack(c)
	defer c.Close()
	up, err := net.DialTimeout("tcp", l.divert, 5*time.Second)
	if err != nil {
		l.logf("refserver: fault %s: reaching socat at %s: %v", FaultTLS12NoEMS, l.divert, err)
		return
	}
	if !l.track(up) {
		up.Close()
		return
	}
	defer l.untrack(up)
	defer up.Close()
	if _, err := up.Write(peeked); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

func (l *sniListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.accepted:
		return c, nil
	case <-l.closed:
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err == nil {
			err = net.ErrClosed
		}
		return nil, err
	}
}

// Close stops accepting and ends every connection still being peeked or
// spliced; the ones handed to Accept are their server's to close.
func (l *sniListener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		close(l.closed)
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
		err = l.Listener.Close()
	})
	return err
}

// wait returns once every goroutine of the listener has ended (after Close).
func (l *sniListener) wait() { l.wg.Wait() }

// replayConn reads the peeked bytes again before the rest of the stream.
type replayConn struct {
	net.Conn
	r io.Reader
}

func (c *replayConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// errHelloSeen stops the peeking handshake once the ClientHello is parsed.
var errHelloSeen = errors.New("refserver: ClientHello seen")

// peekServerName reads c's ClientHello, up to maxClientHello bytes and
// timeout, and returns its server name and every byte it read. The
// parsing is crypto/tls's own: a handshake over a read-only view of c that
// stops in GetConfigForClient, before anything is written.
func peekServerName(c net.Conn, timeout time.Duration) (string, []byte, error) {
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", nil, err
	}
	defer c.SetReadDeadline(time.Time{})
	view := &readOnlyConn{Conn: c, r: io.LimitReader(c, maxClientHello)}
	var sni string
	seen := false
	err := tls.Server(view, &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			sni, seen = hello.ServerName, true
			return nil, errHelloSeen
		},
	}).Handshake()
	if seen {
		return sni, view.read.Bytes(), nil
	}
	if view.readErr != nil {
		err = view.readErr
	}
	return "", view.read.Bytes(), err
}

// readOnlyConn records what is read and refuses writes (the alert the
// aborted peeking handshake would send).
type readOnlyConn struct {
	net.Conn
	r       io.Reader
	read    bytes.Buffer
	readErr error
}

func (c *readOnlyConn) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Write(p[:n])
	if err != nil && c.readErr == nil {
		c.readErr = err
	}
	return n, err
}

func (c *readOnlyConn) Write([]byte) (int, error) { return 0, errHelloSeen }
