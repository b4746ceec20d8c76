package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
)

// runOptions are the flags of `enrollsim run`.
type runOptions struct {
	Email      string
	Devices    []string
	Type       string
	Embedded   bool
	Faults     []string
	Resolve    []string
	ConnectTo  []string
	CACerts    []string
	AxMURL     string
	Timeout    time.Duration
	Checks     string
	Strict     bool
	Verbose    bool
	Reports    []string
	ExpectFail []string
	NoEnroll   bool

	ExactlyOneAt          bool
	OmitModelFamily       bool
	NoFallbackOnRejection bool
}

func newRunCmd(f *Factory, runF func(context.Context, *runOptions) error) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Play devices through enrollment and check every step",
		Long: `Play devices through account-driven enrollment and check every step.

With no --email, run the default suite against the embedded reference server:
every catalogue device with a user-enrollment (alice@acme.test) and a
device-enrollment (carol@acme.test) account, and devices on both sides of the
AxM fallback threshold against the wellknown-404 fault.

With --email, play that account on each --device against a deployed server
(DNS, or --resolve/--connect-to overrides and --cacert), or against the
embedded server with --embedded (and --fault).

` + exitCodesHelp,
		Example: `  enrollsim run
  enrollsim run --embedded --fault wellknown-404 --email alice@acme.test --device iphone@18.1 --device iphone@18.2
  enrollsim run --email alice@acme.com --device iphone@18.2 --type user
  enrollsim run --email alice@acme.test --device mac@15.2 \
      --connect-to acme.test:443:127.0.0.1:8443 --connect-to mdm.acme.test:443:127.0.0.1:8443 \
      --cacert ca.pem --axm-url https://axm.test/mdmBaseURL`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runRun(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Email, "email", "", "the identifier the user types, e.g. alice@acme.com")
	fl.StringArrayVar(&o.Devices, "device", nil, "device to play, FAMILY@VERSION or PRODUCT@VERSION (repeatable; default iphone@26.1; see 'enrollsim list devices')")
	fl.StringVar(&o.Type, "type", "auto", "enrollment type the account should get: user (BYOD), device (ADDE) or auto")
	fl.BoolVar(&o.Embedded, "embedded", false, "play --email against the embedded reference server")
	fl.StringArrayVar(&o.Faults, "fault", nil, "switch on a reference-server fault (repeatable; implies --embedded; see 'enrollsim list faults')")
	fl.StringArrayVar(&o.Resolve, "resolve", nil, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT, as curl (repeatable)")
	fl.StringArrayVar(&o.ConnectTo, "connect-to", nil, "HOST:PORT:CONNECT-HOST:CONNECT-PORT: connect there instead, as curl (repeatable)")
	fl.StringArrayVar(&o.CACerts, "cacert", nil, "PEM file of a CA to trust besides the system roots (repeatable)")
	fl.StringVar(&o.AxMURL, "axm-url", "", "device-side AxM discovery endpoint (default Apple's "+sim.AppleAxMURL+"); setting it declares an AxM registration, so the registered URL is probed too")
	fl.DurationVar(&o.Timeout, "timeout", sim.DefaultLimits.Timeout, "per-request timeout, body included (devices wait 90s)")
	fl.StringVar(&o.Checks, "checks", "", "report only these checks, e.g. 'WK-*,RD-002'")
	fl.BoolVar(&o.Strict, "strict", false, "count warnings as failures")
	fl.BoolVarP(&o.Verbose, "verbose", "v", false, "show every check and every HTTP exchange")
	fl.StringArrayVar(&o.Reports, "report", nil, "write a report, FORMAT=PATH with FORMAT text or jsonl (repeatable)")
	fl.StringArrayVar(&o.ExpectFail, "expect-fail", nil, "check ID expected to fail or warn (a negative test; repeatable)")
	fl.BoolVar(&o.NoEnroll, "expect-no-enroll", false, "the account is not expected to enroll (discovery failure is then not WK-001's failure)")
	fl.BoolVar(&o.ExactlyOneAt, "exactly-one-at", false, "device option: reject identifiers with several '@' (iOS 26.1 client) instead of splitting at the last")
	fl.BoolVar(&o.OmitModelFamily, "omit-model-family", false, "device option: send no model-family in discovery")
	fl.BoolVar(&o.NoFallbackOnRejection, "no-fallback-on-rejection", false, "device option: stop at a com.apple.well-known.failed 403 instead of asking AxM")
	return cmd
}

// runRun builds the plan, runs it and turns the summary into an exit code.
func runRun(ctx context.Context, f *Factory, o *runOptions) error {
	filter, err := sim.ParseCheckFilter(o.Checks)
	if err != nil {
		return usageHint(fmt.Errorf("--checks: %w", err), "")
	}
	if o.Timeout <= 0 {
		return usageErr("--timeout %s: want a positive duration such as 15s", o.Timeout)
	}
	for _, id := range o.ExpectFail {
		if _, ok := sim.LookupCheck(strings.ToUpper(id)); !ok {
			return usageErr("--expect-fail %q: no such check; see 'enrollsim list checks'", id)
		}
	}
	sinks, closeSinks, err := openReports(o.Reports)
	if err != nil {
		return err
	}
	defer closeSinks()

	plan, cleanup, err := buildPlan(o)
	if err != nil {
		return err
	}
	defer cleanup()

	text := report.NewText(f.IO.Out, report.TextOptions{Verbose: o.Verbose, Color: f.colorOn(f.IO.OutTTY), Strict: o.Strict})
	eng := &sim.Engine{Clock: f.Now, Limits: sim.Limits{Timeout: o.Timeout}, Checks: filter}
	_, runErr := eng.Run(ctx, plan, func(ev sim.Event) {
		text.Handle(ev)
		for _, s := range sinks {
			s.Handle(ev)
		}
	})
	for _, s := range sinks {
		if err := s.Err(); err != nil {
			return incompleteErr(fmt.Errorf("writing report %s: %w", s.path, err), "")
		}
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			return silentExit{report.ExitInterrupted}
		}
		return incompleteErr(runErr, "")
	}
	code := text.Summary().ExitCode(o.Strict)
	if code == report.ExitIncomplete {
		fmt.Fprintln(f.IO.ErrOut, "enrollsim: the run could not complete; see the cases marked FAIL above")
	}
	if code != 0 {
		return silentExit{code}
	}
	return nil
}

// buildPlan turns flags into cases; cleanup stops any embedded servers.
func buildPlan(o *runOptions) (sim.Plan, func(), error) {
	embedded := o.Embedded || len(o.Faults) > 0
	if o.Email == "" {
		if len(o.Devices) > 0 || len(o.Faults) > 0 || o.Type != "auto" {
			return sim.Plan{}, func() {}, usageErr("--device, --fault and --type need --email (without --email, run plays the default suite)")
		}
		if targetFlags(o) {
			return sim.Plan{}, func() {}, usageErr("--resolve, --connect-to, --cacert and --axm-url need --email: they point a custom run at a deployed server")
		}
		return defaultPlan(o)
	}
	if _, _, err := sim.ParseIdentifier(o.Email, false); err != nil {
		return sim.Plan{}, func() {}, usageErr("--email: %v", err)
	}
	typ, err := sim.ParseEnrollmentType(o.Type)
	if err != nil {
		return sim.Plan{}, func() {}, usageErr("--type: %v", err)
	}
	refs := o.Devices
	if len(refs) == 0 {
		refs = []string{"iphone@26.1"}
	}
	var devices []sim.Device
	for _, ref := range refs {
		d, err := sim.LookupDevice(ref)
		if err != nil {
			return sim.Plan{}, func() {}, usageHint(fmt.Errorf("--device: %w", err), "see 'enrollsim list devices'")
		}
		devices = append(devices, d)
	}
	var target sim.Target
	cleanup := func() {}
	if embedded {
		if targetFlags(o) {
			return sim.Plan{}, func() {}, usageErr("--embedded/--fault cannot be combined with --resolve, --connect-to, --cacert or --axm-url")
		}
		es, err := startEmbedded(o.Faults, o.Timeout)
		if err != nil {
			return sim.Plan{}, func() {}, err
		}
		target, cleanup = es.target(), es.close
	} else {
		client, err := transport.New(transport.Options{Timeout: o.Timeout, CACertFiles: o.CACerts, Resolve: o.Resolve, ConnectTo: o.ConnectTo})
		if err != nil {
			return sim.Plan{}, func() {}, usageErr("%v", err)
		}
		target = sim.Target{Name: "deployed server", AxMURL: sim.AppleAxMURL, Doer: client}
		if o.AxMURL != "" {
			target.AxMURL, target.AxMDeclared = o.AxMURL, true
		}
	}
	var plan sim.Plan
	for _, d := range devices {
		plan.Cases = append(plan.Cases, sim.Case{
			Name:    d.Ref() + "/" + typeLabel(typ),
			Device:  d,
			Account: sim.Account{Identifier: o.Email},
			Type:    typ,
			Target:  target,
			Options: sim.DeviceOptions{ExactlyOneAt: o.ExactlyOneAt, OmitModelFamily: o.OmitModelFamily, NoFallbackOnRejection: o.NoFallbackOnRejection},
			Expect:  sim.Expect{Enroll: !o.NoEnroll, Trips: upper(o.ExpectFail)},
		})
	}
	return plan, cleanup, nil
}

func targetFlags(o *runOptions) bool {
	return len(o.Resolve) > 0 || len(o.ConnectTo) > 0 || len(o.CACerts) > 0 || o.AxMURL != ""
}

func typeLabel(t sim.EnrollmentType) string {
	if t == sim.TypeAuto {
		return "auto"
	}
	return string(t)
}

func upper(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, strings.ToUpper(s))
	}
	return out
}

// reportSink is a --report destination.
type reportSink struct {
	path   string
	handle func(sim.Event)
	err    func() error
}

func (s reportSink) Handle(ev sim.Event) { s.handle(ev) }
func (s reportSink) Err() error          { return s.err() }

func openReports(specs []string) ([]reportSink, func(), error) {
	var sinks []reportSink
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, spec := range specs {
		format, path, ok := strings.Cut(spec, "=")
		if !ok || path == "" {
			closeAll()
			return nil, func() {}, usageErr("--report %q: want FORMAT=PATH, e.g. jsonl=run.jsonl (formats: text, jsonl)", spec)
		}
		var mk func(io.Writer) reportSink
		switch format {
		case "jsonl":
			mk = func(w io.Writer) reportSink {
				j := report.NewJSONL(w)
				return reportSink{handle: j.Handle, err: j.Err}
			}
		case "text":
			mk = func(w io.Writer) reportSink {
				t := report.NewText(w, report.TextOptions{Verbose: true})
				return reportSink{handle: t.Handle, err: func() error { return nil }}
			}
		default:
			closeAll()
			return nil, func() {}, usageErr("--report %q: unknown format %q (formats: text, jsonl)", spec, format)
		}
		fh, err := os.Create(path)
		if err != nil {
			closeAll()
			return nil, func() {}, usageErr("--report %q: %v", spec, err)
		}
		files = append(files, fh)
		s := mk(fh)
		s.path = path
		sinks = append(sinks, s)
	}
	return sinks, closeAll, nil
}
