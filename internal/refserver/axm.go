package refserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/internal/axm"
	"github.com/enrollsim/enrollsim/sim"
)

// The AxM side (spec §2.3) is the axm package's stand-in, mounted on
// axm.test: the reference server's own Device Assignment API and the
// devices' /mdmBaseURL. The reference server does not write its URL into
// it: like a vendor's server it holds a server token (made at start for its
// own DEP key pair, and decrypted back), signs in with OAuth 1.0a and
// registers through the API over its own HTTPS listener.
const (
	// AxMServerName is the reference server's name in AxM; AxMOtherServer
	// is a second MDM server of the organisation that never registers, for
	// default assignments that send a family elsewhere.
	AxMServerName  = "acme-mdm"
	AxMOtherServer = "other-mdm"

	adminAxMWithdrawPath = "/admin/axm-withdraw"
	adminAxMRestorePath  = "/admin/axm-restore"

	axmRetryLoopGets = 10
)

// depKey is the reference server's DEP key pair, one per process: RSA
// generation costs tens of milliseconds and every test starts servers.
var depKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func depCertificate(now time.Time) (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := depKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "Acme MDM DEP token certificate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// newAxM builds the stand-in and the server's token for it.
func (s *Server) newAxM() error {
	now := s.cfg.Now()
	own, err := axm.NewCredentials(now)
	if err != nil {
		return err
	}
	other, err := axm.NewCredentials(now)
	if err != nil {
		return err
	}
	stand, err := axm.New(axm.Config{
		Servers:         []axm.ServerConfig{{Name: AxMServerName, Creds: own}, {Name: AxMOtherServer, Creds: other}},
		Defaults:        s.cfg.AxMDefaults,
		VerifiedDomains: verifiedDomains,
		Now:             s.cfg.Now,
		// No Logf: the server's own request log already has each call.
	})
	if err != nil {
		return fmt.Errorf("refserver: AxM defaults: %w", err)
	}
	cert, key, err := depCertificate(now)
	if err != nil {
		return fmt.Errorf("refserver: DEP key pair: %w", err)
	}
	var token []byte
	base := "https://" + AxMHost
	if o := s.cfg.OutsideAxM; o != nil {
		base = o.BaseURL
		token, err = o.TokenFor(cert)
	} else {
		token, err = axm.EncryptToken(own, cert)
	}
	if err != nil {
		return fmt.Errorf("refserver: its server token: %w", err)
	}
	creds, err := axm.DecryptToken(token, cert, key)
	if err != nil {
		return fmt.Errorf("refserver: reading its own server token: %w", err)
	}
	s.stand = stand
	s.axmClient = &axm.Client{BaseURL: base, Creds: creds, SkipProtocolHeader: s.has(FaultSkipsProtocolHeader)}
	return nil
}

// dialSelf is a client that reaches every host name on the server's own
// listener and trusts its CA: how the server calls its AxM stand-in.
func (s *Server) dialSelf() *http.Client {
	addr := s.ln.Addr().String()
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), MinVersion: tls.VersionTLS12},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// registeredURL is what the server registers: its discovery URL, unless a
// fault makes it register something else.
func (s *Server) registeredURL() string {
	switch {
	case s.has(FaultRegistersBaseURL):
		return enrollBYODURL
	case s.has(FaultRegistersHTTPURL):
		return "http://" + MDMHost + serviceDiscoveryPath
	}
	return ServiceDiscoveryURL
}

// registerWithAxM is the server's registration, as a careful DEP client
// does it: the account must offer the resource; a GET shows what is
// registered (404 NOT_FOUND at first); the POST registers; a GET confirms.
func (s *Server) registerWithAxM(ctx context.Context) error {
	c := s.axmClient
	acct, err := c.Account(ctx)
	if err != nil {
		return err
	}
	if !acct.Offers(axm.ProfilePath, http.MethodPost) {
		return fmt.Errorf("the account does not offer POST %s", axm.ProfilePath)
	}
	want := s.registeredURL()
	// Registering again is idempotent: a restore always POSTs, so the
	// stand-in sees the server act on the change.
	_, _, err = c.FetchProfile(ctx)
	var ae *axm.APIError
	switch {
	case errors.As(err, &ae) && ae.Code == axm.CodeNotFound:
		if s.has(FaultAxMRetryLoop) {
			for i := 0; i < axmRetryLoopGets; i++ {
				_, _, _ = c.FetchProfile(ctx)
			}
		}
	case err != nil:
		return err
	}
	if err := c.AssignProfile(ctx, want); err != nil {
		return err
	}
	got, _, err := c.FetchProfile(ctx)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("registered %s, but the API answers %s", want, got)
	}
	return nil
}

// startAxM registers once the listener is up. A fault that breaks the
// registration leaves the server running, as a real server would be; the
// conforming server fails to start instead, since that is a bug here.
func (s *Server) startAxM() error {
	s.axmClient.HTTP = s.dialSelf()
	if s.has(FaultAxMUnregistered) {
		return nil
	}
	if o := s.cfg.OutsideAxM; o != nil {
		s.axmClient.HTTP = &http.Client{Timeout: 10 * time.Second,
			Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.Roots, MinVersion: tls.VersionTLS12}},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		go s.registerOutside()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := s.registerWithAxM(ctx)
	if err != nil && !s.has(FaultRegistersHTTPURL) {
		return fmt.Errorf("refserver: registering %s with the AxM stand-in: %w", s.registeredURL(), err)
	}
	if err != nil {
		s.logf("refserver: AxM registration failed (fault): %v", err)
	}
	return nil
}

func (s *Server) axmRoutes(mux *http.ServeMux) {
	h := s.stand.Handler()
	mux.Handle("/", h)
}

// axmAdminRoutes are the triggers of the configuration-change probe: turn
// account-driven enrollment off (the server removes its registration) and
// on (it registers again), each done before the answer.
func (s *Server) axmAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+adminAxMWithdrawPath, func(w http.ResponseWriter, r *http.Request) {
		if s.has(FaultNeverRemovesURL) {
			writeText(w, http.StatusOK, "account-driven enrollment is off\n")
			return
		}
		if err := s.axmClient.RemoveProfile(r.Context()); err != nil {
			writeText(w, http.StatusBadGateway, "removing the AxM registration: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "account-driven enrollment is off; the AxM registration is removed\n")
	})
	mux.HandleFunc("POST "+adminAxMRestorePath, func(w http.ResponseWriter, r *http.Request) {
		if err := s.registerWithAxM(r.Context()); err != nil {
			writeText(w, http.StatusBadGateway, "registering with AxM: "+err.Error()+"\n")
			return
		}
		writeText(w, http.StatusOK, "account-driven enrollment is on; the discovery URL is registered\n")
	})
}

// AxMAdminURLs are the withdraw and restore triggers.
func (s *Server) AxMAdminURLs() (withdraw, restore string) {
	return "https://" + MDMHost + adminAxMWithdrawPath, "https://" + MDMHost + adminAxMRestorePath
}

// AxM is the server's Device Assignment API stand-in.
func (s *Server) AxM() *axm.Stand { return s.stand }

// ObserveAxM judges-ready data of the server's registration: its calls to
// its stand-in, and what followed the withdraw and restore triggers. The
// server registers with its own stand-in as it starts, and the triggers
// act before they answer, so a conforming server costs no wait, and what
// has not happened then never will: the bounds (half a second each, were
// 5 s and 2 s, which a suite of faults paid case after case) only bound
// a faulty server.
func (s *Server) ObserveAxM(ctx context.Context, doer sim.Doer) sim.AxMRegistration {
	withdraw, restore := s.AxMAdminURLs()
	return s.stand.Observe(ctx, axm.ObserveOptions{Server: AxMServerName, StandIn: "https://" + AxMHost,
		Wait: observeBound, ChangeWait: observeBound, Withdraw: withdraw, Restore: restore, Doer: doer})
}

// observeBound bounds each wait of ObserveAxM.
const observeBound = 500 * time.Millisecond

// registerOutside keeps trying an outside API that is not up yet (it may
// start after the server, as a scenario's stand-in does), backing off to
// one try in 10 s, until it registers or the server closes.
func (s *Server) registerOutside() {
	delay := 200 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := s.registerWithAxM(ctx)
		cancel()
		if err == nil {
			return
		}
		s.logf("refserver: AxM registration with %s: %v (trying again in %s)", s.cfg.OutsideAxM.BaseURL, err, delay)
		select {
		case <-s.done:
			return
		case <-time.After(delay):
		}
		delay = min(delay*2, 10*time.Second)
	}
}
