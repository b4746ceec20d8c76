package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/enrollsim/enrollsim/accounts"
	"github.com/enrollsim/enrollsim/internal/axm"
	"github.com/enrollsim/enrollsim/internal/refserver"
)

type serveOptions struct {
	Addr        string
	AllowRemote bool
	CACert      string
	CAKey       string
	Faults      []string
	CAOut       string
	SecretsDir  string
	// AxM*: register with an 'enrollsim axm serve' stand-in instead of the
	// built-in one, as a vendor's server registers with Apple.
	AxMBaseURL string
	AxMState   string
	AxMServer  string
	// Pattern accounts for 'enrollsim load'.
	Accounts   int
	Pattern    string
	MasterFile string
	// CommandDelay: the worker queues the first commands this long after
	// TokenUpdate (a real MDM's behaviour; 0: at the first connect).
	CommandDelay time.Duration
	// APNs and APNsCACert: the APNs stand-in the server pushes through.
	APNs, APNsCACert string
	// DDM: every enrollment is managed declaratively too.
	DDM bool
}

func newServeCmd(f *Factory, ready func(*refserver.Server)) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference server (conforming, or with --fault) until interrupted",
		Long: `Run the reference server on a loopback address until interrupted (any
address with --allow-remote, as in a Kubernetes pod).

It serves the organisation domain acme.test, the MDM host mdm.acme.test and an
AxM stand-in axm.test over HTTPS, with a CA generated at start and written to
--ca-out. It prints the accounts and the exact 'enrollsim run' command that
plays against it from another terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(cmd.Context(), f, o, ready)
		},
	}
	cmd.AddCommand(newServeCACmd(f))
	// --listen is what load tools call it (k6, vegeta): the same flag.
	cmd.Flags().SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if name == "listen" {
			name = "addr"
		}
		return pflag.NormalizedName(name)
	})
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:0", "address to listen on (also --listen): loopback, port 0 picks a free one; another only with --allow-remote")
	cmd.Flags().BoolVar(&o.AllowRemote, "allow-remote", false, "let --addr be any address (0.0.0.0:8443 in a pod): whoever reaches it can sign in as the test accounts and use the unauthenticated admin API")
	cmd.Flags().StringVar(&o.CACert, "ca-cert", "", "issue the server's certificates under this CA (PEM, from 'enrollsim serve ca') instead of a new one, so clients elsewhere can trust it beforehand")
	cmd.Flags().StringVar(&o.CAKey, "ca-key", "", "with --ca-cert: its private key (PEM)")
	cmd.Flags().StringArrayVar(&o.Faults, "fault", nil, "switch on a fault (repeatable; see 'enrollsim list faults')")
	cmd.Flags().StringVar(&o.CAOut, "ca-out", "", "where to write the CA certificate (default: a new temporary directory)")
	cmd.Flags().StringVar(&o.SecretsDir, "secrets-dir", "", "where to write each test account's password and TOTP seed files, mode 0600 (default: beside the CA)")
	cmd.Flags().IntVar(&o.Accounts, "accounts", 0, "also serve N pattern accounts for 'enrollsim load' (BYOD, web login with TOTP)")
	cmd.Flags().StringVar(&o.Pattern, "account-pattern", accounts.DefaultPattern, "names of the pattern accounts; {n} counts from 1")
	cmd.Flags().StringVar(&o.MasterFile, "master-secret-file", "", "the master secret their passwords and seeds derive from (made, mode 0600, when missing; default: beside the CA)")
	cmd.Flags().StringVar(&o.APNs, "apns", "", "push through the APNs stand-in at this base URL after queuing commands (e.g. https://127.0.0.1:2197, from 'enrollsim run --apns-listen' or 'enrollsim apns serve')")
	cmd.Flags().StringVar(&o.APNsCACert, "apns-cacert", "", "with --apns: the stand-in's certificate to trust (apns-ca.pem of its --cert-out)")
	cmd.Flags().DurationVar(&o.CommandDelay, "command-delay", 0, "queue each enrollment's first commands this long after its TokenUpdate, as a real MDM's background worker does (default 0: at its first connect); a device then gets them only by connecting again")
	cmd.Flags().BoolVar(&o.DDM, "ddm", false, "manage every enrollment declaratively too: DeclarativeManagement after the first commands, declarations through the admin API it prints (default: only Enrollment SSO enrollments on iOS 18.4+, whose declarations it pre-stages)")
	cmd.Flags().StringVar(&o.AxMBaseURL, "axm-base-url", "", "register with this Device Assignment API ('enrollsim axm serve') instead of the built-in stand-in")
	cmd.Flags().StringVar(&o.AxMState, "axm-state", "axm-state", "with --axm-base-url: the stand-in's directory, for its CA and the server's token")
	cmd.Flags().StringVar(&o.AxMServer, "axm-server", "acme-mdm", "with --axm-base-url: the server's name in AxM (a token in --axm-state)")
	return cmd
}

func runServe(ctx context.Context, f *Factory, o *serveOptions, ready func(*refserver.Server)) error {
	if o.CommandDelay < 0 {
		return usageErr("--command-delay %s: want 0 or a positive duration such as 3s", o.CommandDelay)
	}
	cfg := refserver.Config{Faults: o.Faults, Addr: o.Addr, Now: f.Now, CommandDelay: o.CommandDelay, DDM: o.DDM, AllowRemote: o.AllowRemote}
	if f.totpClock != nil {
		cfg.TOTPNow = f.totpClock.TOTPNow
	}
	var err error
	if cfg.CA, err = serveCA(f, o); err != nil {
		return err
	}
	if cfg.APNs, err = serveAPNs(o); err != nil {
		return err
	}
	if o.AxMBaseURL != "" {
		outside, err := outsideAxM(o, f.Now())
		if err != nil {
			return err
		}
		cfg.OutsideAxM = outside
	}
	if o.Accounts > 0 {
		master, path, err := masterSecret(o)
		if err != nil {
			return err
		}
		o.MasterFile = path
		cfg.Accounts = refserver.PatternAccounts{Pattern: o.Pattern, Count: o.Accounts, Master: master}
	}
	srv, err := refserver.Start(cfg)
	if err != nil {
		return usageHint(err, "see 'enrollsim list faults'; --addr must be a loopback address such as 127.0.0.1:8443, or pass --allow-remote")
	}
	defer srv.Close()
	warnRemote(f.IO.ErrOut, srv.Addr())
	caPath := o.CAOut
	if caPath == "" {
		dir, err := os.MkdirTemp("", "enrollsim-serve-")
		if err != nil {
			return incompleteErr(fmt.Errorf("creating a directory for the CA: %w", err), "pass --ca-out FILE")
		}
		defer os.RemoveAll(dir)
		caPath = filepath.Join(dir, "ca.pem")
	}
	if err := srv.WriteCA(caPath); err != nil {
		return incompleteErr(fmt.Errorf("writing the CA: %w", err), "pass --ca-out with a writable path")
	}
	secretsDir := o.SecretsDir
	if secretsDir == "" {
		secretsDir = filepath.Join(filepath.Dir(caPath), "secrets")
	}
	if err := os.MkdirAll(secretsDir, 0o700); err != nil {
		return incompleteErr(fmt.Errorf("creating the secrets directory: %w", err), "pass --secrets-dir with a writable path")
	}
	// Secrets go to files for the other terminal, never to the screen.
	for _, a := range srv.Accounts() {
		if err := writeSecretFile(filepath.Join(secretsDir, a.Identifier+".password"), a.Password); err != nil {
			return incompleteErr(fmt.Errorf("writing a secret file: %w", err), "")
		}
		if a.TOTPSecret != "" {
			if err := writeSecretFile(filepath.Join(secretsDir, a.Identifier+".totp"), a.TOTPSecret); err != nil {
				return incompleteErr(fmt.Errorf("writing a secret file: %w", err), "")
			}
		}
	}
	w := f.IO.Out
	faults := "none (conforming)"
	if len(o.Faults) > 0 {
		faults = strings.Join(o.Faults, ", ")
	}
	fmt.Fprintf(w, "enrollsim reference server listening on %s\n", srv.Addr())
	fmt.Fprintf(w, "  faults:  %s\n", faults)
	fmt.Fprintf(w, "  hosts:   %s (all on this address, TLS)\n", strings.Join(srv.Hosts(), ", "))
	fmt.Fprintf(w, "  CA:      %s\n", caPath)
	fmt.Fprintf(w, "  secrets: %s (each account's .password and .totp file)\n", secretsDir)
	fmt.Fprintf(w, "  AxM:     %s\n", srv.AxMURL())
	if o.AxMBaseURL != "" {
		fmt.Fprintf(w, "  registers with: %s as %s (devices: %s/mdmBaseURL)\n", o.AxMBaseURL, o.AxMServer, strings.TrimSuffix(o.AxMBaseURL, "/"))
	}
	fmt.Fprintln(w, "  accounts:")
	for _, a := range srv.Accounts() {
		fmt.Fprintf(w, "    %-22s %s\n", a.Identifier, a.Kind)
	}
	if o.Accounts > 0 {
		fmt.Fprintf(w, "  load:    %d pattern accounts %s; their master secret is in %s\n", o.Accounts, o.Pattern, o.MasterFile)
		fmt.Fprintf(w, "           %s load --devices %d --concurrency 50 --account-pattern '%s' --master-secret-file %s --connect-to acme.test:443:127.0.0.1:%d --connect-to mdm.acme.test:443:127.0.0.1:%d --connect-to idp.acme.test:443:127.0.0.1:%d --cacert %s\n",
			shellQuote(orName(f.Self)), o.Accounts, o.Pattern, o.MasterFile, srv.Port(), srv.Port(), srv.Port(), caPath)
	}
	printDDMAdmin(w, srv, caPath, o.DDM)
	fmt.Fprintln(w, "\nIn another terminal:")
	fmt.Fprintf(w, "  %s\n\nPress Ctrl-C to stop.\n", f.asInvoked(pasteCommand(srv, caPath, secretsDir, "alice@acme.test", "iphone@18.2", "user")))
	if ready != nil {
		ready(srv)
	}
	<-ctx.Done()
	return nil
}

// printDDMAdmin says how to manage the enrollments' declarations through
// the admin API, with curl commands that work as printed.
func printDDMAdmin(w io.Writer, srv *refserver.Server, caPath string, all bool) {
	curl := fmt.Sprintf("curl -s --cacert %s --connect-to %s:443:127.0.0.1:%d", caPath, refserver.MDMHost, srv.Port())
	declarations, status := srv.DDMAdminURLs()
	which := "Enrollment SSO enrollments on iOS/iPadOS 18.4+ and visionOS 2.4+ only (--ddm: every enrollment)"
	if all {
		which = "every enrollment (--ddm)"
	}
	id := func(u string) string { return strings.ReplaceAll(u, "{id}", "ID") }
	fmt.Fprintf(w, "  DDM:     declarative management for %s (ID: an id from the enrollments list)\n", which)
	fmt.Fprintf(w, "           enrollments:  %s %s\n", curl, srv.EnrollmentsURL())
	fmt.Fprintf(w, "           declarations: %s '%s'\n", curl, id(declarations))
	fmt.Fprintf(w, "           add one:      %s -X POST '%s' -H 'Content-Type: application/json' -d '{\"Type\":\"com.apple.configuration.management.test\",\"Identifier\":\"com.example.test\",\"Payload\":{\"Echo\":\"hello\"}}'\n", curl, id(declarations))
	fmt.Fprintf(w, "           remove it:    %s -X DELETE '%s&identifier=com.example.test'\n", curl, id(declarations))
	fmt.Fprintf(w, "           status:       %s '%s' (the device's last status report)\n", curl, id(status))
}

// pasteCommand is the run command that plays against a served instance.
func pasteCommand(srv *refserver.Server, caPath, secretsDir, email, device, typ string) string {
	parts := []string{"enrollsim run", "--email " + email, "--device " + device, "--type " + typ}
	for _, h := range srv.Hosts() {
		if h == "localhost" || strings.ContainsAny(h, ":") || strings.Count(h, ".") == 3 {
			continue
		}
		parts = append(parts, fmt.Sprintf("--connect-to %s:443:127.0.0.1:%d", h, srv.Port()))
	}
	parts = append(parts, "--stock-ca "+caPath, "--axm-url "+srv.AxMURL())
	revoke, expire, unenroll := srv.AdminURLs()
	declarations, _ := srv.DDMAdminURLs()
	parts = append(parts, "--admin-revoke-token '"+revoke+"'", "--admin-expire-token '"+expire+"'", "--admin-unenroll '"+unenroll+"'",
		"--admin-queue '"+srv.QueueURL()+"'", "--admin-declarations '"+declarations+"'")
	parts = append(parts, "--password-file "+filepath.Join(secretsDir, email+".password"))
	for _, a := range srv.Accounts() {
		if strings.EqualFold(a.Identifier, email) && a.TOTPSecret != "" {
			parts = append(parts, "--totp-secret-file "+filepath.Join(secretsDir, email+".totp"))
		}
	}
	return strings.Join(parts, " ")
}

// outsideAxM is the reference server's token for an 'enrollsim axm serve'
// stand-in: the state's credentials for the server, encrypted to the
// certificate the reference server hands over, as ABM would.
func outsideAxM(o *serveOptions, now time.Time) (*refserver.OutsideAxM, error) {
	if _, err := url.Parse(o.AxMBaseURL); err != nil || !strings.HasPrefix(o.AxMBaseURL, "https://") {
		return nil, usageErr("--axm-base-url %q: want the stand-in's https base URL, e.g. https://127.0.0.1:8443", o.AxMBaseURL)
	}
	st, err := openAxMState(o.AxMState, false, now)
	if err != nil {
		return nil, usageHint(fmt.Errorf("--axm-state: %w", err), "")
	}
	i := slices.IndexFunc(st.servers, func(s axm.ServerConfig) bool { return s.Name == o.AxMServer })
	if i < 0 {
		return nil, usageErr("--axm-server %q: no such token in %s (servers: %s)", o.AxMServer, o.AxMState, strings.Join(st.names(), ", "))
	}
	creds := st.servers[i].Creds
	roots := x509.NewCertPool()
	roots.AddCert(st.ca)
	return &refserver.OutsideAxM{BaseURL: o.AxMBaseURL, Roots: roots,
		TokenFor: func(cert *x509.Certificate) ([]byte, error) { return axm.EncryptToken(creds, cert) }}, nil
}

// masterSecret reads the pattern accounts' master secret, or makes one
// (0600) when the file does not exist yet.
func masterSecret(o *serveOptions) (string, string, error) {
	path := o.MasterFile
	if path == "" {
		dir := filepath.Dir(o.CAOut)
		if o.CAOut == "" {
			dir = os.TempDir()
		}
		path = filepath.Join(dir, "enrollsim-load-master")
	}
	raw, err := os.ReadFile(path)
	if err == nil {
		if v := strings.TrimSpace(string(raw)); v != "" {
			return v, path, nil
		}
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", "", incompleteErr(err, "")
	}
	v := hex.EncodeToString(b)
	if err := writePrivate(path, []byte(v+"\n")); err != nil {
		return "", "", usageHint(fmt.Errorf("--master-secret-file: %w", err), "pass a writable path")
	}
	return v, path, nil
}

// serveAPNs is where --apns makes the server push; nil without it.
func serveAPNs(o *serveOptions) (*refserver.APNs, error) {
	if o.APNsCACert != "" && o.APNs == "" {
		return nil, usageErr("--apns-cacert needs --apns")
	}
	if o.APNs == "" {
		return nil, nil
	}
	if u, err := url.Parse(o.APNs); err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, usageErr("--apns %q: want the stand-in's https base URL, e.g. https://127.0.0.1:2197", o.APNs)
	}
	a := &refserver.APNs{URL: strings.TrimRight(o.APNs, "/")}
	if o.APNsCACert != "" {
		pem, err := os.ReadFile(o.APNsCACert)
		if err != nil {
			return nil, usageHint(fmt.Errorf("--apns-cacert %s: %w", o.APNsCACert, unwrapPathErr(err)), "pass the stand-in's apns-ca.pem (or apns-server.pem) from its --cert-out directory")
		}
		a.Roots = x509.NewCertPool()
		if !a.Roots.AppendCertsFromPEM(pem) {
			return nil, usageErr("--apns-cacert %s: no PEM certificate in it", o.APNsCACert)
		}
	}
	return a, nil
}

// serveCA reads --ca-cert and --ca-key.
func serveCA(f *Factory, o *serveOptions) (*refserver.CA, error) {
	if (o.CACert == "") != (o.CAKey == "") {
		return nil, usageErr("--ca-cert and --ca-key go together: give both (enrollsim serve ca --out DIR makes them) or neither")
	}
	if o.CACert == "" {
		return nil, nil
	}
	certPEM, err := os.ReadFile(o.CACert)
	if err != nil {
		return nil, usageErr("--ca-cert %s: %v", o.CACert, unwrapPathErr(err))
	}
	keyPEM, err := os.ReadFile(o.CAKey)
	if err != nil {
		return nil, usageErr("--ca-key %s: %v", o.CAKey, unwrapPathErr(err))
	}
	ca, err := refserver.ParseCA(certPEM, keyPEM, f.Now())
	if err != nil {
		return nil, usageErr("--ca-cert %s --ca-key %s: %v", o.CACert, o.CAKey, err)
	}
	return ca, nil
}

// warnRemote says what a server beyond loopback exposes, once, on stderr.
func warnRemote(w io.Writer, addr string) {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return
	}
	fmt.Fprintf(w, `serve: listening on %s, beyond this machine (--allow-remote). Whoever reaches it can
  sign in as its test accounts (the built-in ones have fixed passwords; the pattern accounts'
  derive from the master secret), enroll devices, and read and change every enrollment through
  the unauthenticated admin API (/admin/: tokens, command queues, declarations).
  It is a test server: keep it where only the tester reaches it (in Kubernetes: a ClusterIP
  Service, no Ingress, no LoadBalancer).
`, addr)
}

func newServeCACmd(f *Factory) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Make a CA for 'serve --ca-cert --ca-key', to trust the server beforehand (e.g. as a Kubernetes Secret)",
		Long: `Make an ECDSA P-256 certificate authority, valid for a year, and write
ca.pem and ca-key.pem (mode 0600) into --out. 'enrollsim serve --ca-cert
DIR/ca.pem --ca-key DIR/ca-key.pem' issues its certificates under it, so a
client elsewhere (a load's pods: --cacert DIR/ca.pem) trusts the server before
it starts. Existing files are not overwritten.`,
		Example: `  enrollsim serve ca --out ca
  kubectl create secret generic enrollsim-ca --from-file=ca.pem=ca/ca.pem --from-file=ca-key.pem=ca/ca-key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErr("--out: which directory? e.g. --out ca")
			}
			return writeServeCA(f, out)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write ca.pem and ca-key.pem into (made when missing)")
	return cmd
}

func writeServeCA(f *Factory, dir string) error {
	certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Stat(p); err == nil {
			return usageErr("%s exists: move it away or pick another --out (a CA is not overwritten: what trusts it would stop)", p)
		}
	}
	ca, err := refserver.NewCA(f.Now())
	if err != nil {
		return incompleteErr(err, "")
	}
	certPEM, keyPEM, err := ca.PEM()
	if err != nil {
		return incompleteErr(err, "")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr("--out: %v", unwrapPathErr(err))
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return incompleteErr(fmt.Errorf("writing %s: %w", keyPath, err), "")
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return incompleteErr(fmt.Errorf("writing %s: %w", certPath, err), "")
	}
	fmt.Fprintf(f.IO.Out, "wrote %s and %s (the key, mode 0600), valid until %s\n", certPath, keyPath, ca.Cert.NotAfter.Format("2006-01-02"))
	return nil
}
