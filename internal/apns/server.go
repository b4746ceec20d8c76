// Package apns stands in for the Apple Push Notification service (APNs)
// provider API that MDM servers push through, and holds the provider client
// that enrollsim's reference server pushes with.
//
// The stand-in serves HTTP/2 over TLS, takes POST /3/device/{token} with the
// apns-* headers and a JSON payload, authenticates the provider by its TLS
// client certificate (an MDM push certificate's subject UID is its topic),
// records every request as a check.Push, answers as Apple documents, and
// hands each push to the simulated devices subscribed to its token.
//
// Apple's documentation this follows:
//   - "Sending notification requests to APNs" (developer.apple.com/
//     documentation/usernotifications/sending-notification-requests-to-apns):
//     the path, the headers and their values.
//   - "Handling notification responses from APNs" (developer.apple.com/
//     documentation/usernotifications/handling-notification-responses-from-apns):
//     the apns-id response header, the status codes and the reason strings.
//   - "Sending MDM commands to a device" (developer.apple.com/documentation/
//     devicemanagement/sending-mdm-commands-to-a-device): the payload
//     {"mdm":"<PushMagic>"} and the topic from the certificate's UID.
package apns

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
)

const (
	// keptPushes bounds the server's record (Pushes) and each mailbox's.
	keptPushes = 10000
	// recordedPayload is how much of a body a check.Push keeps.
	recordedPayload = 512
	// recordedToken bounds a recorded token that is no token at all.
	recordedToken = 256
)

// Config sets up a Server. Every field is optional.
type Config struct {
	// Certificate serves TLS; nil: a self-signed one for 127.0.0.1, ::1
	// and localhost, made at Start (CertPool trusts it).
	Certificate *tls.Certificate
	// ClientCAs verify the providers' client certificates; nil: a client
	// certificate is still required, but any is accepted (it is a
	// stand-in) and its subject's UID is still read.
	ClientCAs *x509.CertPool
	// Now stamps each push; nil: time.Now.
	Now func() time.Time
	// OnPush sees each push as recorded, before the provider has its
	// answer; calls come one at a time, in record order.
	OnPush func(check.Push)
	// ErrorLog takes the HTTP server's own complaints, such as a provider
	// whose TLS handshake failed for want of a client certificate; nil:
	// discarded.
	ErrorLog *log.Logger
}

// Server is a running APNs stand-in.
type Server struct {
	cfg  Config
	cert tls.Certificate
	ln   net.Listener
	srv  *http.Server
	done chan struct{}

	// hookMu orders recording with OnPush, so the hook sees pushes in
	// record order and may still call Pushes.
	hookMu sync.Mutex
	mu     sync.Mutex
	pushes []check.Push
	boxes  map[string][]*Mailbox
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, done: make(chan struct{}), boxes: map[string][]*Mailbox{}}
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if cfg.Certificate != nil {
		s.cert = *cfg.Certificate
	} else {
		c, err := NewServerCert("127.0.0.1", "::1", "localhost")
		if err != nil {
			return nil, err
		}
		s.cert = c
	}
	if len(s.cert.Certificate) == 0 {
		return nil, errors.New("apns: Config.Certificate holds no certificate")
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{s.cert},
		ClientAuth: tls.RequireAnyClientCert}
	if cfg.ClientCAs != nil {
		tlsCfg.ClientAuth, tlsCfg.ClientCAs = tls.RequireAndVerifyClientCert, cfg.ClientCAs
	}
	// APNs speaks HTTP/2 only ("Use HTTP/2 and TLS 1.2 or later",
	// Apple's "Establishing a connection to APNs"): a provider that cannot
	// is refused at the TLS handshake (ALPN).
	protos := new(http.Protocols)
	protos.SetHTTP2(true)
	errLog := cfg.ErrorLog
	if errLog == nil {
		errLog = log.New(io.Discard, "", 0)
	}
	s.srv = &http.Server{
		Handler:           s,
		TLSConfig:         tlsCfg,
		Protocols:         protos,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		// Providers keep their connection open between pushes, as Apple
		// asks; an idle one is closed after a while all the same.
		IdleTimeout:    5 * time.Minute,
		MaxHeaderBytes: 16 << 10,
		HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: 250},
		ErrorLog:       errLog,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("apns: listen on %s: %w", addr, err)
	}
	s.ln = ln
	go func() {
		defer close(s.done)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// URL is the stand-in's base URL, https://host:port: what a provider uses
// in place of https://api.push.apple.com.
func (s *Server) URL() string { return "https://" + s.ln.Addr().String() }

// Addr is the address it listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// CertPool holds the roots a provider needs to trust the stand-in: its
// serving chain's certificates (the self-signed one is its own root).
func (s *Server) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	for _, der := range s.cert.Certificate {
		if c, err := x509.ParseCertificate(der); err == nil {
			pool.AddCert(c)
		}
	}
	return pool
}

// CertificatePEM is the serving chain in PEM, for a provider's trust store.
func (s *Server) CertificatePEM() []byte {
	var b []byte
	for _, der := range s.cert.Certificate {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return b
}

// Close stops serving and waits until the server has.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	return err
}

// Pushes is every request recorded, in order (the last 10 000).
func (s *Server) Pushes() []check.Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(tail(s.pushes))
}

// ServeHTTP judges one request, records it, hands it to the token's
// mailboxes, and only then answers: a provider that has its 200 knows the
// device's mailbox already holds the push.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := s.judge(r)
	s.record(p)
	answer(w, p)
}

func (s *Server) record(p check.Push) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	s.pushes = trim(append(s.pushes, p))
	for _, mb := range s.boxes[p.Token] {
		mb.deliver(p)
	}
	s.mu.Unlock()
	if s.cfg.OnPush != nil {
		s.cfg.OnPush(p)
	}
}

// trim drops the oldest records once there are a tenth more than kept, so
// that trimming is rare and Pushes still returns the last keptPushes.
func trim(ps []check.Push) []check.Push {
	if len(ps) <= keptPushes+keptPushes/10 {
		return ps
	}
	return slices.Clone(tail(ps))
}

func tail(ps []check.Push) []check.Push {
	if len(ps) > keptPushes {
		return ps[len(ps)-keptPushes:]
	}
	return ps
}

// answer writes Apple's response: the apns-id header always, and for an
// error the JSON body {"reason": "..."} ("Handling notification responses
// from APNs").
func answer(w http.ResponseWriter, p check.Push) {
	if p.ID != "" {
		w.Header().Set("apns-id", p.ID)
	}
	if p.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.Status)
	fmt.Fprintf(w, "{\"reason\":%q}", p.Reason)
}
