package cli

import (
	"context"
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
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/axm"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
)

func newAxMCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "axm",
		Short: "Stand in for Apple's Device Assignment API, to test a server's AxM registration",
		Long: `Test how an MDM server registers its account-driven enrollment discovery URL
with Apple Business Manager or Apple School Manager (spec §2.3).

  enrollsim axm token --cert SERVER.pem --state DIR   the server token to upload
  enrollsim axm serve --state DIR                     the stand-in the server talks to

Point the server's Device Assignment base URL (Apple's is
https://mdmenrollment.apple.com) at the stand-in, make it trust DIR/ca.pem,
upload the token, and let it register. A scenario with target.axm (serve: true)
starts the same stand-in, waits for the registration, judges it and plays
devices through the fallback with the URL the server registered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErr("axm what? say 'enrollsim axm token' or 'enrollsim axm serve'")
		},
	}
	cmd.AddCommand(newAxMTokenCmd(f), newAxMServeCmd(f, nil))
	return cmd
}

type axmTokenOptions struct {
	Cert, Name, State, Out string
}

func newAxMTokenCmd(f *Factory) *cobra.Command {
	o := &axmTokenOptions{}
	cmd := &cobra.Command{
		Use:   "token --cert SERVER.pem",
		Short: "Write the server token an administrator downloads from Apple Business Manager",
		Long: `Write a server token (.p7m) for an MDM server, as Apple Business Manager does:
an S/MIME message encrypted to the public key of the certificate the server
gave the administrator (--cert, PEM), holding consumer_key, consumer_secret,
access_token, access_secret and access_token_expiry. The stand-in keeps the same
credentials in --state (mode 0600) to verify the server's OAuth signatures.
Running it again for a name replaces that server's token.`,
		Example: `  enrollsim axm token --cert mdm-dep.pem --state axm-state
  enrollsim axm token --cert other.pem --name other-mdm --state axm-state --out other.p7m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAxMToken(f, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Cert, "cert", "", "the MDM server's public key certificate (PEM) that the token is encrypted to (required)")
	fl.StringVar(&o.Name, "name", "acme-mdm", "the MDM server's name in AxM")
	fl.StringVar(&o.State, "state", "axm-state", "the stand-in's directory (made if missing)")
	fl.StringVar(&o.Out, "out", "", "where to write the token (default STATE/NAME.p7m)")
	return cmd
}

func runAxMToken(f *Factory, o *axmTokenOptions) error {
	if o.Cert == "" {
		return usageErr("--cert is required: the MDM server's certificate (PEM) whose public key the token is encrypted to")
	}
	if !axmNamePattern.MatchString(o.Name) {
		return usageErr("--name %q: use letters, digits, '.', '_' and '-' (at most 64)", o.Name)
	}
	cert, err := readCertPEM(o.Cert)
	if err != nil {
		return usageErr("--cert %s: %v", o.Cert, err)
	}
	now := f.Now()
	st, err := openAxMState(o.State, true, now)
	if err != nil {
		return usageHint(err, "pass --state with a writable directory")
	}
	creds, err := axm.NewCredentials(now)
	if err != nil {
		return incompleteErr(fmt.Errorf("making the token's credentials: %w", err), "")
	}
	token, err := axm.EncryptToken(creds, cert)
	if err != nil {
		return usageErr("--cert %s: %v", o.Cert, err)
	}
	out := o.Out
	if out == "" {
		out = filepath.Join(o.State, o.Name+".p7m")
	}
	if err := writePrivate(out, token); err != nil {
		return usageHint(err, "pass --out with a writable path")
	}
	if err := st.put(axm.ServerConfig{Name: o.Name, Creds: creds}); err != nil {
		return incompleteErr(fmt.Errorf("saving the stand-in's state: %w", err), "")
	}
	fmt.Fprintf(f.IO.Out, "wrote the server token for %s to %s (expires %s)\n", o.Name, out, creds.AccessTokenExpiry.UTC().Format("2006-01-02"))
	fmt.Fprintf(f.IO.Out, "upload it to the MDM server as its Apple Business Manager token, then run 'enrollsim axm serve --state %s'\n", o.State)
	return nil
}

func readCertPEM(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	for rest := raw; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block: give the certificate the MDM server offers for its Apple Business Manager token")
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("not a certificate: %v", err)
			}
			return c, nil
		}
	}
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

type axmServeOptions struct {
	State       string
	Listen      string
	Hosts       []string
	Defaults    []string
	Domains     []string
	RefuseFirst string
}

func newAxMServeCmd(f *Factory, ready func(url string)) *cobra.Command {
	o := &axmServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Device Assignment API stand-in until interrupted",
		Long: `Run a stand-in for Apple's Device Assignment API (mdmenrollment.apple.com:
/session with OAuth 1.0a, /account, and POST, GET and DELETE
/account-driven-enrollment/profile) and for the devices' side of the AxM
fallback (axm-servicediscovery.apple.com: /mdmBaseURL), over HTTPS on a loopback
address, with the CA and tokens in --state. Each call is logged on stderr,
without its credentials.

--default FAMILY=NAME sets AxM's default device assignment for a model family
(iphone, ipad, mac, vision): /mdmBaseURL sends that family to the URL server
NAME registered. Without any --default, every family goes to the first
server; with some, a family without one gets Apple's failed lookup (404).`,
		Example: `  enrollsim axm serve --state axm-state
  enrollsim axm serve --state axm-state --listen 127.0.0.1:9443 --default iphone=acme-mdm --default mac=other-mdm
  enrollsim axm serve --state axm-state --refuse-first ORG_NOT_SUPPORTED`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAxMServe(cmd.Context(), f, o, ready) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.State, "state", "axm-state", "the stand-in's directory, from 'enrollsim axm token'")
	fl.StringVar(&o.Listen, "listen", scenarios.DefaultAxMListen, "loopback HOST:PORT to listen on")
	fl.StringArrayVar(&o.Hosts, "host", nil, "an extra host name for the serving certificate (repeatable), when the server reaches the stand-in by name")
	fl.StringArrayVar(&o.Defaults, "default", nil, "FAMILY=NAME: the default AxM server of a model family (repeatable)")
	fl.StringArrayVar(&o.Domains, "domain", nil, "an identifier domain the organisation verified (repeatable; default: any)")
	fl.StringVar(&o.RefuseFirst, "refuse-first", "", "answer each server's first registration with this documented 400 code (ABM-006): "+strings.Join(scenarios.AxMErrorCodes, ", "))
	return cmd
}

func runAxMServe(ctx context.Context, f *Factory, o *axmServeOptions, ready func(string)) error {
	defaults, err := parseAxMDefaults(o.Defaults)
	if err != nil {
		return err
	}
	if o.RefuseFirst != "" && !slices.Contains(scenarios.AxMErrorCodes, o.RefuseFirst) {
		return usageErr("--refuse-first %q: want one of %s", o.RefuseFirst, strings.Join(scenarios.AxMErrorCodes, ", "))
	}
	st, err := openAxMState(o.State, false, f.Now())
	if err != nil {
		return usageHint(err, "pass --state with the directory 'enrollsim axm token' wrote")
	}
	si, err := startStandIn(st, standInOptions{Listen: o.Listen, Hosts: o.Hosts, Defaults: defaults, Domains: o.Domains,
		RefuseFirst: o.RefuseFirst, Now: f.Now, Logf: func(format string, args ...any) {
			fmt.Fprintf(f.IO.ErrOut, "axm: "+format+"\n", args...)
		}})
	if err != nil {
		return err
	}
	defer si.close()
	w := f.IO.Out
	fmt.Fprintf(w, "enrollsim AxM stand-in listening on %s\n", si.base)
	fmt.Fprintf(w, "  base URL: %s   set it as the server's Device Assignment base URL (Apple's: https://mdmenrollment.apple.com)\n", si.base)
	fmt.Fprintf(w, "  CA:       %s   the server must trust it\n", st.caPath())
	fmt.Fprintln(w, "  tokens:")
	for _, s := range st.servers {
		fmt.Fprintf(w, "    %-16s %s   upload it as the server's Apple Business Manager token\n", s.Name, filepath.Join(st.dir, s.Name+".p7m"))
	}
	fmt.Fprintf(w, "  defaults: %s\n", describeDefaults(defaults, st.names()))
	fmt.Fprintf(w, "  devices:  %s\n", si.deviceURL())
	fmt.Fprintf(w, "\nOnce the server has registered, play devices through the fallback:\n  enrollsim run --email USER@DOMAIN --device iphone@18.2 --axm-url %s --cacert %s ...\n\nPress Ctrl-C to stop.\n", si.deviceURL(), st.caPath())
	if ready != nil {
		ready(si.base)
	}
	<-ctx.Done()
	return nil
}

func describeDefaults(d map[device.Family]string, names []string) string {
	if len(d) == 0 {
		if len(names) == 0 {
			return "none (no server token yet)"
		}
		return "every family to " + names[0]
	}
	var parts []string
	for _, fam := range []device.Family{device.IPhone, device.IPad, device.Mac, device.RealityDevice} {
		name, ok := d[fam]
		if !ok {
			name = "none (failed lookup)"
		}
		parts = append(parts, fmt.Sprintf("%s → %s", fam, name))
	}
	return strings.Join(parts, ", ")
}

// parseAxMDefaults reads --default FAMILY=NAME flags.
func parseAxMDefaults(flags []string) (map[device.Family]string, error) {
	short := map[string]device.Family{"iphone": device.IPhone, "ipad": device.IPad, "mac": device.Mac, "vision": device.RealityDevice, "realitydevice": device.RealityDevice}
	var out map[device.Family]string
	for _, fl := range flags {
		fam, name, ok := strings.Cut(fl, "=")
		f, known := short[strings.ToLower(strings.TrimSpace(fam))]
		if !ok || !known || strings.TrimSpace(name) == "" {
			return nil, usageErr("--default %q: want FAMILY=NAME with FAMILY one of iphone, ipad, mac, vision, e.g. --default iphone=acme-mdm", fl)
		}
		if out == nil {
			out = map[device.Family]string{}
		}
		if prev, dup := out[f]; dup {
			return nil, usageErr("--default %s given twice (%s and %s)", fam, prev, name)
		}
		out[f] = strings.TrimSpace(name)
	}
	return out, nil
}

type standInOptions struct {
	Listen      string
	Hosts       []string
	Defaults    map[device.Family]string
	Domains     []string
	RefuseFirst string
	Now         func() time.Time
	Logf        func(format string, args ...any)
}

// standIn is a running stand-in: the axm handler over TLS on loopback.
type standIn struct {
	stand *axm.Stand
	st    *axmState
	base  string
	srv   *http.Server
	done  chan struct{}
}

func (s *standIn) deviceURL() string { return s.base + "/mdmBaseURL" }

func startStandIn(st *axmState, o standInOptions) (*standIn, error) {
	if len(st.servers) == 0 {
		return nil, usageErr("%s holds no server token: make one with 'enrollsim axm token --cert SERVER.pem --state %s'", st.dir, st.dir)
	}
	for fam, name := range o.Defaults {
		if !slices.Contains(st.names(), name) {
			return nil, usageErr("default for %s: no server %q in %s (servers: %s)", fam, name, st.dir, strings.Join(st.names(), ", "))
		}
	}
	defaults := map[string]string{}
	for fam, name := range o.Defaults {
		defaults[string(fam)] = name
	}
	if len(defaults) == 0 {
		defaults = nil
	}
	stand, err := axm.New(axm.Config{Servers: st.servers, Defaults: defaults, VerifiedDomains: o.Domains,
		Now: o.Now, RefuseFirst: o.RefuseFirst, Logf: o.Logf})
	if err != nil {
		return nil, usageErr("the AxM stand-in: %v", err)
	}
	// Port 0 (a free one, printed) suits a stand-in started by hand; a
	// scenario's needs the fixed port the server was configured with.
	if err := scenarios.CheckAxMListen(strings.Replace(o.Listen, ":0", ":1", 1)); err != nil || strings.HasSuffix(o.Listen, ":") {
		if err == nil {
			err = errors.New("want a loopback HOST:PORT")
		}
		return nil, usageErr("--listen %q: %v", o.Listen, err)
	}
	host, _, _ := net.SplitHostPort(o.Listen)
	leaf, err := st.leaf(o.Now(), append([]string{host}, o.Hosts...)...)
	if err != nil {
		return nil, incompleteErr(err, "")
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, incompleteErr(fmt.Errorf("the AxM stand-in: listen on %s: %w", o.Listen, err), "is another stand-in running? pick another port with --listen (and tell the server)")
	}
	si := &standIn{stand: stand, st: st, base: "https://" + ln.Addr().String(), done: make(chan struct{})}
	si.srv = &http.Server{
		Handler:           stand.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{leaf}},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// A test server that talks unasked pollutes the CLI's output.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() {
		defer close(si.done)
		_ = si.srv.ServeTLS(ln, "", "")
	}()
	return si, nil
}

func (s *standIn) close() {
	s.srv.Close()
	<-s.done
}

// observe waits for the server's registration and runs the change probe,
// telling the user on errOut what it waits for.
func (s *standIn) observe(ctx context.Context, a *scenarios.AxMTarget, doer sim.Doer, errOut func(string)) sim.AxMRegistration {
	server := a.Server
	if server == "" {
		server = s.st.servers[0].Name
	}
	errOut(fmt.Sprintf("axm: waiting up to %s for %s to register with the stand-in at %s", a.Wait, server, s.base))
	reg := s.stand.Observe(ctx, axm.ObserveOptions{Server: server, StandIn: s.base, Wait: a.Wait,
		Withdraw: a.Withdraw, Restore: a.Restore, Doer: doer})
	if u, at, ok := s.stand.Registered(server); ok {
		errOut(fmt.Sprintf("axm: %s registered %s at %s", server, u, at.UTC().Format(time.RFC3339)))
	} else {
		errOut(fmt.Sprintf("axm: %s has no registration after %s; its devices' fallback will fail", server, reg.Waited.Round(time.Millisecond)))
	}
	return reg
}

// sortedDefaults is for stable keys of stand-in configurations.
func sortedDefaults(d map[device.Family]string) string {
	keys := make([]string, 0, len(d))
	for f, n := range d {
		keys = append(keys, string(f)+"="+n)
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}
