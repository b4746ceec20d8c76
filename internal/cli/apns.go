package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/sim/check"
)

func newAPNsCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apns",
		Short: "Stand in for the Apple Push Notification service, to see a server's MDM pushes",
		Long: `Stand in for Apple's APNs provider API (HTTP/2, POST /3/device/{token}), for an
MDM server that can be pointed at another push host than api.push.apple.com.

  enrollsim apns serve --listen 127.0.0.1:2197 --cert-out DIR

It answers as APNs does, and prints each push as it arrives.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErr("apns what? say 'enrollsim apns serve'")
		},
	}
	cmd.AddCommand(newAPNsServeCmd(f, nil))
	return cmd
}

type apnsServeOptions struct {
	Listen  string
	CertOut string
	Topic   string
	Hosts   []string
}

func newAPNsServeCmd(f *Factory, ready func(*apns.Server)) *cobra.Command {
	o := &apnsServeOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the APNs stand-in until interrupted",
		Long: `Run a stand-in for Apple's APNs provider API over HTTP/2 and TLS until
interrupted. It requires a TLS client certificate, as APNs does for MDM push
certificates, but accepts any: the UID in its subject is the topic it may push
to (a different apns-topic is answered 400 TopicDisallowed).

--cert-out gets apns-ca.pem (the stand-in's certificate: the server must trust
it), and provider.pem and provider.key: a push certificate for testing, shaped
like Apple's (subject UID com.apple.mgmt.External.<uuid>). A server keeps its
own push certificate; the stand-in takes that too.

Each push is printed as it arrives: the token shortened, the topic, the push
type, the answer, and whether the payload has an mdm key (never its value).`,
		Example: `  enrollsim apns serve
  enrollsim apns serve --listen 127.0.0.1:2197 --cert-out apns-certs
  enrollsim apns serve --listen 0.0.0.0:2197 --host host.docker.internal --cert-out apns-certs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAPNsServe(cmd.Context(), f, o, ready) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Listen, "listen", "127.0.0.1:2197", "HOST:PORT to listen on (port 0 picks a free one)")
	fl.StringVar(&o.CertOut, "cert-out", "", "directory for apns-ca.pem, provider.pem and provider.key (default: a new temporary directory, removed at exit)")
	fl.StringVar(&o.Topic, "topic", "", "the test push certificate's topic (default: com.apple.mgmt.External.<new uuid>)")
	fl.StringArrayVar(&o.Hosts, "host", nil, "an extra host name or IP address for the stand-in's certificate (repeatable), when the server reaches it by another name than 127.0.0.1 or localhost")
	return cmd
}

func runAPNsServe(ctx context.Context, f *Factory, o *apnsServeOptions, ready func(*apns.Server)) error {
	if _, port, err := net.SplitHostPort(o.Listen); err != nil || !validPort(port) {
		return usageErr("--listen %q: want HOST:PORT, e.g. 127.0.0.1:2197", o.Listen)
	}
	dir, cleanup, err := apnsCertDir(o.CertOut)
	if err != nil {
		return err
	}
	defer cleanup()
	topic := strings.TrimSpace(o.Topic)
	if topic == "" {
		topic = apns.NewTopic()
	}
	provider, err := apns.NewProviderCert(topic)
	if err != nil {
		return usageHint(fmt.Errorf("--topic: %w", err), "")
	}
	keep := o.CertOut // a temporary directory keeps nothing
	serving, err := standInCert(keep, o.Hosts)
	if err != nil {
		return err
	}
	w := f.IO.Out
	srv, err := apns.Start(o.Listen, apns.Config{Certificate: &serving, Now: f.Now,
		OnPush:   func(p check.Push) { fmt.Fprintln(w, pushLine(p)) },
		ErrorLog: log.New(f.IO.ErrOut, "apns: ", 0)})
	if err != nil {
		return incompleteErr(err, "is another stand-in running? pick another port with --listen (and tell the server)")
	}
	defer srv.Close()
	files, err := writeAPNsCerts(dir, srv, provider)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "enrollsim APNs stand-in listening on %s\n", srv.URL())
	fmt.Fprintf(w, "  base URL: %s   use it in place of https://api.push.apple.com\n", srv.URL())
	fmt.Fprintf(w, "  trust:    %s   the server must trust it\n", files[0])
	fmt.Fprintf(w, "  provider: %s and %s   a test push certificate, topic %s\n", files[1], files[2], topic)
	fmt.Fprintln(w, "            (any client certificate is taken; the UID in its subject is its topic)")
	fmt.Fprintf(w, "\nTry it:\n  curl --http2 --cacert %s --cert %s --key %s -H 'apns-push-type: mdm' -d '{\"mdm\":\"test\"}' %s/3/device/%s\n",
		files[0], files[1], files[2], srv.URL(), strings.Repeat("00", 32))
	fmt.Fprintln(w, "\nEach push is printed as it arrives. Press Ctrl-C to stop.")
	if ready != nil {
		ready(srv)
	}
	<-ctx.Done()
	return nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// apnsCertDir is --cert-out, made if need be, or a temporary directory
// that cleanup removes.
func apnsCertDir(dir string) (string, func(), error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", nil, usageHint(fmt.Errorf("--cert-out: %w", unwrapPathErr(err)), "pass a writable directory")
		}
		return dir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "enrollsim-apns-")
	if err != nil {
		return "", nil, incompleteErr(fmt.Errorf("creating a directory for the certificates: %w", err), "pass --cert-out DIR")
	}
	return tmp, func() { os.RemoveAll(tmp) }, nil
}

// writeAPNsCerts writes the stand-in's certificate and the test provider's
// certificate and key (0600), and returns their paths in that order.
func writeAPNsCerts(dir string, srv *apns.Server, provider tls.Certificate) ([]string, error) {
	key, err := apns.KeyPEM(provider)
	if err != nil {
		return nil, incompleteErr(err, "")
	}
	files := []string{filepath.Join(dir, "apns-ca.pem"), filepath.Join(dir, "provider.pem"), filepath.Join(dir, "provider.key")}
	for i, data := range [][]byte{srv.CertificatePEM(), apns.CertPEM(provider)} {
		if err := os.WriteFile(files[i], data, 0o644); err != nil {
			return nil, usageHint(fmt.Errorf("--cert-out: %w", err), "pass a writable directory")
		}
	}
	if err := writePrivate(files[2], key); err != nil {
		return nil, usageHint(fmt.Errorf("--cert-out: %w", err), "pass a writable directory")
	}
	return files, nil
}

// pushLine is one push as printed: never the payload, only whether its mdm
// key held a PushMagic; what the provider sent is quoted when it is not plain text.
func pushLine(p check.Push) string {
	tok := p.Token
	if len(tok) > 8 {
		tok = tok[:8] + "…"
	}
	topic := p.Topic
	if topic == "" {
		topic = "(certificate's: " + p.CertUID + ")"
	}
	answer := strconv.Itoa(p.Status)
	if p.Reason != "" {
		answer += " " + p.Reason
	}
	mdm := "no PushMagic"
	if p.Magic != "" {
		mdm = "PushMagic present"
	}
	return fmt.Sprintf("%s  push %s  topic %s  type %s  priority %s  → %s  (%s)", p.At.Format("15:04:05"),
		plain(tok), plain(topic), plain(orNone(p.PushType)), plain(orNone(p.Priority)), answer, mdm)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// plain keeps a provider's string from writing escapes to the terminal.
func plain(s string) string {
	if len(s) > 96 {
		s = s[:96] + "…"
	}
	if strconv.CanBackquote(s) && !strings.ContainsAny(s, "`") {
		return s
	}
	return strconv.Quote(s)
}
