package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// runOptions are the flags of `enrollsim run`.
type runOptions struct {
	// ctx bounds what the plan waits for before the run (an AxM
	// registration); status hears what it waits for. Nil: Background and
	// silence.
	ctx    context.Context
	status io.Writer

	Args       []string // scenario files, directories or built-in suites
	Email      string
	Devices    []string
	Type       string
	Embedded   bool
	Faults     []string
	Resolve    []string
	ConnectTo  []string
	CACerts    []string
	StockCAs   []string
	AxMURL     string
	Admin      sim.AdminHooks // --admin-*: the target's triggers for token life
	Timeout    time.Duration
	Checks     string
	Strict     bool
	Verbose    int // -v, -vv
	Reports    []string
	ExpectFail []string
	NoEnroll   bool

	ExactlyOneAt          bool
	OmitModelFamily       bool
	NoFallbackOnRejection bool
	FormEncodedBody       bool
	AppendLoginQuery      bool

	Secrets        secretFlags
	Username       string
	ManagedAppleID string
	TOTPDigits     int
	TOTPPeriod     time.Duration
	TOTPAlgorithm  string
	LoginForm      string
	LoginUsername  string
	LoginPassword  string
	LoginOTP       string
	LoginSubmit    string
	LoginFields    []string
	ReplayBody     string
	NoProbes       bool
	DiscoveryOnly  bool
	Until          string
	Poll           string // --poll: "" when not given
	Stay           string // --stay: "" when not given
	// CommandDelay: the embedded server's worker queues each enrollment's
	// first commands this long after its TokenUpdate (--command-delay).
	CommandDelay time.Duration
	// DDM: the embedded server manages its devices declaratively too
	// (--ddm; --until ddm implies it).
	DDM bool
	// NoPush: the embedded server does not push, and its devices poll.
	NoPush bool
	// APNsListen, for a deployed server, starts an APNs stand-in there
	// that the server pushes through (the push route); APNsCertOut keeps
	// its certificates.
	APNsListen, APNsCertOut string
	TOTPOffset              int
	TOTPWrong               bool

	Parallel     int
	Shard        string
	FailFast     bool
	Quiet        bool   // --quiet: no progress line
	Expectations string // run and step

	LoginDriver string
	BrowserPath string
	Artifacts   string
	PageTimeout time.Duration
}

func newRunCmd(f *Factory, runF func(context.Context, *runOptions) error) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [FILE|DIR|SUITE]...",
		Short: "Play devices through enrollment and check every step",
		Long: `Play devices through account-driven enrollment and check every step.

With FILE, DIR or SUITE arguments, play scenario files, directories of them or
built-in suites ('enrollsim list scenarios'): each scenario names its devices,
account, target and expectations.

With neither arguments nor --email, run the default suite against the embedded
reference server:
every catalogue device with a user-enrollment (alice@acme.test) and a
device-enrollment (carol@acme.test) account, and devices on both sides of the
AxM fallback threshold against the wellknown-404 fault.

With --email, play that account on each --device against a deployed server
(DNS, or --resolve/--connect-to overrides and --cacert), or against the
embedded server with --embedded (and --fault).

` + exitCodesHelp,
		Example: `  enrollsim run
  enrollsim run conformance negative thresholds --report junit=enrollsim.xml
  enrollsim run qa/enrollment/ --strict --parallel 2
  enrollsim run --embedded --fault wellknown-404 --email alice@acme.test --device iphone@18.1 --device iphone@18.2
  enrollsim run --email alice@acme.com --device iphone@18.2 --type user
  enrollsim run --email alice@acme.test --device mac@15.2 \
      --connect-to acme.test:443:127.0.0.1:8443 --connect-to mdm.acme.test:443:127.0.0.1:8443 \
      --cacert ca.pem --axm-url https://axm.test/mdmBaseURL`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Args = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runRun(cmd.Context(), f, o)
		},
	}
	addRunFlags(cmd.Flags(), o)
	cmd.Flags().IntVar(&o.Parallel, "parallel", 1, "play this many cases at once (output stays in plan order)")
	cmd.Flags().StringVar(&o.Shard, "shard", "", "play only shard I of N (I/N, e.g. 2/3): case k goes to shard k mod N + 1, so the N shards together play every case once")
	cmd.Flags().BoolVar(&o.FailFast, "fail-fast", false, "stop after the first case that fails")
	cmd.Flags().BoolVarP(&o.Quiet, "quiet", "q", false, "no progress line on stderr (cases done, failures, the slowest case in flight)")
	return cmd
}

// addRunFlags declares the flags that pick devices, accounts and the target;
// run and step share them.
func addRunFlags(fl *pflag.FlagSet, o *runOptions) {
	fl.StringVar(&o.Email, "email", "", "the identifier the user types, e.g. alice@acme.com")
	fl.StringArrayVar(&o.Devices, "device", nil, "device to play, FAMILY@VERSION or PRODUCT@VERSION (repeatable; default iphone@26.1; see 'enrollsim list devices')")
	fl.StringVar(&o.Type, "type", "auto", "enrollment type the account should get: user (BYOD), device (ADDE) or auto")
	fl.BoolVar(&o.Embedded, "embedded", false, "play --email against the embedded reference server")
	fl.StringArrayVar(&o.Faults, "fault", nil, "switch on a reference-server fault (repeatable; implies --embedded; see 'enrollsim list faults')")
	fl.StringArrayVar(&o.Resolve, "resolve", nil, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT, as curl (repeatable)")
	fl.StringArrayVar(&o.ConnectTo, "connect-to", nil, "HOST:PORT:CONNECT-HOST:CONNECT-PORT: connect there instead, as curl (repeatable)")
	fl.StringArrayVar(&o.CACerts, "cacert", nil, "PEM file of a CA to trust besides the system roots (repeatable); SEC-002 still warns that devices would not trust it")
	fl.StringArrayVar(&o.StockCAs, "stock-ca", nil, "PEM file of a CA to trust AND to count as a stock device root, for a lab CA that stands in for the public PKI, such as 'enrollsim serve's (repeatable)")
	fl.StringVar(&o.Admin.RevokeToken, "admin-revoke-token", "", "URL the simulator POSTs to make the server revoke this enrollment's token ({id} is the EnrollmentID or UDID): judges TOK-006")
	fl.StringVar(&o.Admin.ExpireToken, "admin-expire-token", "", "URL the simulator POSTs to make the server treat the token as expired ({id} as above): judges TOK-009 for OAuth 2")
	fl.StringVar(&o.Admin.Queue, "admin-queue", "", "URL the simulator POSTs a command plist to, to make the server queue it for the device and push ({id} as above; \"PUT URL\" to PUT, as NanoMDM's /v1/enqueue/{id}): for scenario actions")
	fl.StringVar(&o.Admin.Declarations, "admin-declarations", "", "URL the simulator POSTs a declaration (JSON) to, to add it to this enrollment's set, and DELETEs with identifier=<Identifier> added to the query, to remove it again ({id} as above): judges DDM-002's change and DDM-009")
	fl.StringVar(&o.Admin.Unenroll, "admin-unenroll", "", "URL the simulator POSTs to make the server unenroll the device ({id} as above): judges TOK-007")
	fl.StringVar(&o.AxMURL, "axm-url", "", "device-side AxM discovery endpoint (default Apple's "+sim.AppleAxMURL+"); setting it declares an AxM registration, so the registered URL is probed too")
	fl.DurationVar(&o.Timeout, "timeout", sim.DefaultLimits.Timeout, "per-request timeout, body included (devices wait 90s)")
	fl.StringVar(&o.Checks, "checks", "", "report only these checks, e.g. 'WK-*,RD-002'")
	fl.BoolVar(&o.Strict, "strict", false, "count warnings as failures")
	fl.CountVarP(&o.Verbose, "verbose", "v", "show every check and every HTTP exchange (request and status lines); -vv adds their headers and bodies, binary ones decoded, secrets redacted")
	fl.StringVar(&o.Expectations, "expectations", "", "YAML file of the findings this deployment is known to have (check, case, reason, expires): they are shown as expected and fail nothing; the run lists entries that no longer occur")
	fl.StringArrayVar(&o.Reports, "report", nil, "write a report, FORMAT=PATH; FORMAT is text, jsonl (the event stream), json, junit, markdown, html or har (repeatable)")
	fl.StringArrayVar(&o.ExpectFail, "expect-fail", nil, "check ID expected to fail or warn (a negative test; repeatable)")
	fl.BoolVar(&o.NoEnroll, "expect-no-enroll", false, "the account is not expected to enroll (discovery failure is then not WK-001's failure)")
	fl.BoolVar(&o.ExactlyOneAt, "exactly-one-at", false, "device option: reject identifiers with several '@' (iOS 26.1 client) instead of splitting at the last")
	fl.BoolVar(&o.OmitModelFamily, "omit-model-family", false, "device option: send no model-family in discovery")
	fl.BoolVar(&o.NoFallbackOnRejection, "no-fallback-on-rejection", false, "device option: stop at a com.apple.well-known.failed 403 instead of asking AxM")
	fl.BoolVar(&o.FormEncodedBody, "form-encoded-body", false, "device option: send the enrollment body as application/x-www-form-urlencoded (iOS 15)")
	fl.BoolVar(&o.AppendLoginQuery, "append-login-query", false, "device option: add user-identifier to the sign-in URL's query instead of replacing it")
	fl.StringVar(&o.Secrets.PasswordEnv, "password-env", "", "environment variable holding the account's password")
	fl.StringVar(&o.Secrets.PasswordFile, "password-file", "", "file holding the account's password")
	fl.StringVar(&o.Secrets.TOTPEnv, "totp-secret-env", "", "environment variable holding the TOTP seed (base32); declares a second factor")
	fl.StringVar(&o.Secrets.TOTPFile, "totp-secret-file", "", "file holding the TOTP seed (base32); declares a second factor")
	fl.IntVar(&o.TOTPDigits, "totp-digits", 6, "TOTP code length: 6 or 8")
	fl.DurationVar(&o.TOTPPeriod, "totp-period", 30*time.Second, "TOTP time step")
	fl.StringVar(&o.TOTPAlgorithm, "totp-algorithm", "SHA1", "TOTP hash: SHA1, SHA256 or SHA512")
	fl.IntVar(&o.TOTPOffset, "totp-offset", 0, "device option: send the code of a step this many periods away (a skewed clock)")
	fl.BoolVar(&o.TOTPWrong, "totp-wrong", false, "device option: send a wrong one-time code")
	fl.StringVar(&o.Username, "username", "", "user name for the sign-in form when it differs from --email")
	fl.StringVar(&o.ManagedAppleID, "managed-apple-id", "", "the Managed Apple Account the profile should assign (default: --email)")
	fl.StringVar(&o.LoginForm, "login-form", "", "CSS selector of the sign-in form (default: detected)")
	fl.StringVar(&o.LoginUsername, "login-username", "", "CSS selector of the user name field")
	fl.StringVar(&o.LoginPassword, "login-password", "", "CSS selector of the password field")
	fl.StringVar(&o.LoginOTP, "login-otp", "", "CSS selector of the one-time-code field")
	fl.StringVar(&o.LoginSubmit, "login-submit", "", "CSS selector of the submit button")
	fl.StringArrayVar(&o.LoginFields, "login-field", nil, "NAME=VALUE added to every submitted sign-in form (repeatable)")
	fl.StringVar(&o.ReplayBody, "replay-body", "", "send this captured device enrollment body (DER, PEM or base64 CMS) instead of the self-signed one")
	fl.BoolVar(&o.NoProbes, "no-probes", false, "skip the tester's extra requests (wrong passwords and codes, other content types, random tokens), e.g. for servers with lockout")
	fl.BoolVar(&o.DiscoveryOnly, "discovery-only", false, "stop each case after discovery")
	fl.StringVar(&o.Until, "until", "", "how far each case goes after the profile: profile, identity (the SCEP certificate), checkin (Authenticate and TokenUpdate), commands (connect and the first commands) or ddm (and the declarative-management sync, which the server must ask for); default commands, or the scenario's until")
	fl.BoolVar(&o.DDM, "ddm", false, "the embedded server also manages its devices declaratively: DeclarativeManagement after the first commands, then the device's sync (--until ddm implies it). The embedded server only")
	fl.StringVar(&o.Poll, "poll", "", fmt.Sprintf("EVERY: after an empty answer, connect again every EVERY, a tester's stand-in for the APNs push the simulator cannot receive (a real device waits for the push); 0 turns it off (default %s while no command has come yet, for up to %s; or the scenario's poll)", sim.DefaultPoll, sim.DefaultPollFor))
	fl.StringVar(&o.APNsListen, "apns-listen", "", "deployed server: run an APNs stand-in on HOST:PORT that the server pushes through (point its push host there), so the devices wait for its pushes instead of polling")
	fl.StringVar(&o.APNsCertOut, "apns-cert-out", "", "with --apns-listen: directory of the stand-in's certificates (apns-ca.pem for the server to trust), kept and taken again by later runs and 'enrollsim apns serve'")
	fl.BoolVar(&o.NoPush, "no-push", false, "the embedded server does not push (its APNs stand-in is off), so the devices reconnect by polling (--poll) instead of on its pushes. The embedded server only")
	fl.DurationVar(&o.CommandDelay, "command-delay", 0, "the embedded server queues each enrollment's first commands this long after its TokenUpdate, as a real MDM's background worker does, e.g. 3s (default 0: at the first connect); the device then gets them by polling (--poll). The embedded server only")
	fl.StringVar(&o.Stay, "stay", "", "FOR: keep polling every --poll until the waits add up to FOR, also after the queue drains, answering what arrives, e.g. 2m (default 0: poll only until the first commands; or the scenario's stay)")
	fl.StringVar(&o.LoginDriver, "login-driver", "", "web login driver: form (HTML forms, no JavaScript), browser (Chromium) or auto (form first, then the browser when a page needs JavaScript); default auto, or the scenario's login.driver")
	fl.DurationVar(&o.PageTimeout, "page-timeout", 0, "how long the browser driver waits for a field to appear, or for a page to move after a submit (default "+sim.DefaultLimits.PageTimeout.String()+"); raise it for a slow identity provider or a busy machine")
	fl.StringVar(&o.BrowserPath, "browser-path", "", "Chromium binary for the browser driver (default: chromium, chromium-browser or google-chrome from PATH)")
	fl.StringVar(&o.Artifacts, "artifacts", "", "directory for the screenshots of browser sign-ins (default: next to the first --report file, else none are taken)")
}

// checkFlags validates the flags run and step share that need no plan.
// waitContext and say serve the plan's waits before the run.
func (o *runOptions) waitContext() context.Context {
	if o.ctx == nil {
		return context.Background()
	}
	return o.ctx
}

func (o *runOptions) say(line string) {
	if o.status != nil {
		fmt.Fprintln(o.status, line)
	}
}

func (o *runOptions) checkFlags() (check.Filter, error) {
	filter, err := check.ParseFilter(o.Checks)
	if err != nil {
		return nil, usageHint(fmt.Errorf("--checks: %w", err), "")
	}
	if o.Timeout <= 0 {
		return nil, usageErr("--timeout %s: want a positive duration such as 15s", o.Timeout)
	}
	if o.PageTimeout < 0 {
		return nil, usageErr("--page-timeout %s: want a positive duration such as 30s", o.PageTimeout)
	}
	for _, id := range o.ExpectFail {
		if _, ok := check.Lookup(strings.ToUpper(id)); !ok {
			return nil, usageErr("--expect-fail %q: no such check; see 'enrollsim list checks'", id)
		}
	}
	if _, err := o.until(); err != nil {
		return nil, err
	}
	if _, err := o.pollStay(); err != nil {
		return nil, err
	}
	return filter, nil
}

// runRun builds the plan, runs it and turns the summary into an exit code.
func runRun(ctx context.Context, f *Factory, o *runOptions) error {
	began := f.Now()
	filter, err := o.checkFlags()
	if err != nil {
		return err
	}
	known, err := loadExpectations(o.Expectations, f.Now())
	if err != nil {
		return err
	}
	// The report files are created once every flag has been checked: a
	// usage error leaves none behind.
	reports, err := parseReports(o.Reports, true)
	if err != nil {
		return err
	}
	if o.Parallel < 1 {
		return usageErr("--parallel %d: want 1 or more", o.Parallel)
	}
	shard, shards, err := parseShard(o.Shard)
	if err != nil {
		return err
	}
	o.ctx, o.status = ctx, f.IO.ErrOut
	plan, cleanup, err := buildPlan(o, f.Getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	plan.Cases, plan.Began = shardCases(plan.Cases, shard, shards), began
	known.apply(plan.Cases)
	if o.NoProbes {
		// Scenario files may ask for probes; the flag means none at all.
		for i := range plan.Cases {
			plan.Cases[i].NoProbes = true
		}
	}

	sinks, closeSinks, err := openReports(reports, report.Options{Strict: o.Strict, Tool: "enrollsim " + f.Version}, f.IO.Out)
	if err != nil {
		return err
	}
	defer closeSinks()
	// A report on standard output has it to itself: the transcript goes
	// to standard error instead.
	textOut, textTTY := f.IO.Out, f.IO.OutTTY
	if reportsToStdout(reports) {
		textOut, textTTY = f.IO.ErrOut, f.IO.ErrTTY
	}
	text := report.NewText(textOut, report.TextOptions{Verbose: o.Verbose > 0, Bodies: o.Verbose > 1, Color: f.colorOn(textTTY), Strict: o.Strict})
	eng := &sim.Engine{Clock: f.Now, Limits: f.limits(o.Timeout, o.PageTimeout), Checks: filter, Parallel: o.Parallel}
	closeBrowser := o.attachBrowser(eng)
	defer closeBrowser()
	arts := newArtifactWriter(o.Artifacts, o.Reports)
	arts.keepScreenshots(eng)
	defer arts.finish(f.IO.ErrOut)
	if plan.clock != nil {
		// The embedded servers and the engine share a clock whose
		// per-account TOTP time jumps instead of waiting for fresh steps.
		eng.Clock, eng.TOTPClock, eng.WorkerClock = plan.clock.Now, plan.clock, plan.clock
	} else if f.totpClock != nil {
		eng.TOTPClock = f.totpClock
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	failedFast := false
	prog := o.progress(runCtx, f)
	defer prog.Stop()
	_, runErr := eng.Run(runCtx, plan.Plan, func(ev event.Event) {
		arts.handle(&ev)
		if ev.Kind == event.EventRunStart && ev.Run != nil {
			ev.Run.Version = f.Version // the stream says which tool wrote it
		}
		if ev.Kind == event.EventRunEnd {
			ev.Expectations = known.verdict(text.Summary(), filter)
		}
		prog.Event(ev, func() {
			text.Handle(ev)
			for _, s := range sinks {
				s.Handle(ev)
			}
		})
		if o.FailFast && ev.Kind == event.EventCaseEnd && !failedFast {
			if c := text.Summary().Case(ev.Case); c != nil && !c.Passed(o.Strict) {
				failedFast = true
				stopRun()
			}
		}
	})
	prog.Stop()
	return runExit(ctx, f, o, runEnd{sinks: sinks, sum: text.Summary(), planned: len(plan.Cases), err: runErr, failedFast: failedFast})
}

// runEnd is what runExit reads of a finished run.
type runEnd struct {
	sinks      []reportSink
	sum        *report.Summary
	planned    int
	err        error
	failedFast bool
}

// runExit turns a finished run into its exit: a report that could not be
// written, --fail-fast, an interruption, then the summary's code.
func runExit(ctx context.Context, f *Factory, o *runOptions, e runEnd) error {
	for _, s := range e.sinks {
		if err := s.Err(); err != nil {
			return incompleteErr(fmt.Errorf("writing report %s: %w", s.path, err), "")
		}
	}
	if e.failedFast && ctx.Err() == nil {
		fmt.Fprintln(f.IO.ErrOut, "enrollsim: stopped after the first failing case (--fail-fast)")
		return silentExit{report.ExitFailed}
	}
	if e.err != nil {
		if errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded) {
			return interruptedErr(e.sum, e.planned, len(e.sinks) > 0)
		}
		return incompleteErr(e.err, "")
	}
	code := e.sum.ExitCode(o.Strict)
	if code == report.ExitIncomplete {
		fmt.Fprintln(f.IO.ErrOut, "enrollsim: the run could not complete; see the cases marked FAIL above")
	}
	if code != 0 {
		return silentExit{code}
	}
	return nil
}

// interruptedErr says how far an interrupted run got (exit 130).
func interruptedErr(sum *report.Summary, planned int, reports bool) error {
	finished := 0
	for _, c := range sum.Cases {
		if c.Outcome != "" && c.Outcome != event.OutcomeInterrupted {
			finished++
		}
	}
	hint := ""
	if reports {
		hint = "the reports hold the cases played so far, the interrupted one marked interrupted"
	}
	return &ExitError{Code: report.ExitInterrupted, Err: fmt.Errorf("interrupted after %d of %d case(s)", finished, planned), Hint: hint}
}

// runPlan is a plan with the clock its embedded servers share, if any.
type runPlan struct {
	sim.Plan
	clock *sim.VirtualClock
}

// buildPlan turns flags into cases; cleanup stops any embedded servers.
// --login-driver, --until, --poll and --stay, when given, replace each
// scenario's login.driver, until, poll and stay.
func buildPlan(o *runOptions, getenv func(string) string) (runPlan, func(), error) {
	driver := ""
	if o.LoginDriver != "" {
		d, err := sim.ParseLoginDriver(o.LoginDriver)
		if err != nil {
			return runPlan{}, func() {}, usageErr("--login-driver: %v", err)
		}
		driver = d
	}
	until, err := o.until()
	if err != nil {
		return runPlan{}, func() {}, err
	}
	ps, err := o.pollStay()
	if err != nil {
		return runPlan{}, func() {}, err
	}
	rp, cleanup, err := buildCases(o, getenv)
	if err != nil {
		return rp, cleanup, err
	}
	for i := range rp.Cases {
		if driver != "" {
			rp.Cases[i].Login.Driver = driver
		}
		if until != "" {
			if err := applyUntil(&rp.Cases[i], until); err != nil {
				cleanup()
				return runPlan{}, func() {}, err
			}
		}
		if err := ps.apply(&rp.Cases[i]); err != nil {
			cleanup()
			return runPlan{}, func() {}, err
		}
	}
	return rp, cleanup, nil
}

// pollFlags are --poll and --stay as read; set says which were given.
type pollFlags struct {
	poll, stay       time.Duration
	setPoll, setStay bool
}

// pollStay reads --poll and --stay.
func (o *runOptions) pollStay() (pollFlags, error) {
	var ps pollFlags
	var err error
	if o.Poll != "" {
		if ps.poll, err = sim.ParsePoll(o.Poll); err != nil {
			return ps, usageErr("--poll %v", err)
		}
		ps.setPoll = true
	}
	if o.Stay != "" {
		if ps.stay, err = sim.ParseStay(o.Stay); err != nil {
			return ps, usageErr("--stay %v", err)
		}
		ps.setStay = true
	}
	if ps.setPoll && ps.setStay {
		if sim.CheckPoll(ps.poll, ps.stay) != nil {
			return ps, usageErr("--stay %s needs polling, but --poll %s turns it off: the device would leave at the first empty answer; drop one", o.Stay, o.Poll)
		}
	}
	return ps, nil
}

// apply sets the flags given on case c, over its scenario's poll and stay.
func (ps pollFlags) apply(c *sim.Case) error {
	if ps.setPoll {
		c.Poll = ps.poll
	}
	if ps.setStay {
		c.Stay = ps.stay
	}
	if err := sim.CheckPoll(c.Poll, c.Stay); err != nil {
		return usageHint(fmt.Errorf("case %s: %v", c.Name, err), "give --poll an interval such as 1s, or --stay 0")
	}
	return nil
}

// embeddedDDM reports whether embedded servers manage declaratively for
// every case: --ddm, or --until ddm.
func (o *runOptions) embeddedDDM() bool { return o.DDM || o.Until == string(event.UntilDDM) }

// until reads --until; "" when not given.
func (o *runOptions) until() (event.Until, error) {
	if o.Until == "" {
		return "", nil
	}
	u, err := event.ParseUntil(o.Until)
	if err != nil {
		return "", usageErr("--%v", err)
	}
	if o.DiscoveryOnly {
		return "", usageErr("--until %s and --discovery-only cannot go together: --discovery-only ends each case before the profile; drop one", u)
	}
	return u, nil
}

// applyUntil sets how far case c goes (--until). A case that expects what
// only a later stage shows cannot be cut short: its expectation would fail
// for the tester's choice, not the server's doing.
func applyUntil(c *sim.Case, u event.Until) error {
	const hint = "drop --until, or play that scenario separately"
	switch need := scenarios.OutcomeNeeds(c.Expect.Outcome); {
	case c.DiscoveryOnly:
		return usageHint(fmt.Errorf("--until %s: case %s has discovery_only: true, which ends it before the profile", u, c.Name), hint)
	case need != "" && !u.Reaches(need):
		return usageHint(fmt.Errorf("--until %s: case %s expects outcome %s, which needs until %s or later", u, c.Name, c.Expect.Outcome, need), hint)
	case !u.Reaches(event.UntilCommands) && (c.Expect.Facts["commands"] != "" || len(c.Expect.CommandTypes) > 0):
		return usageHint(fmt.Errorf("--until %s: case %s expects commands, which are answered only with until commands", u, c.Name), hint)
	}
	c.Until = u
	return nil
}

// buildCases is the plan the flags describe: the scenario arguments, the
// default suite, or a custom run of --email on each --device.
func buildCases(o *runOptions, getenv func(string) string) (runPlan, func(), error) {
	none := func() {}
	if o.CommandDelay < 0 {
		return runPlan{}, none, usageErr("--command-delay %s: want 0 or a positive duration such as 3s", o.CommandDelay)
	}
	if len(o.Args) > 0 {
		return scenarioPlan(o.Args, o, getenv)
	}
	embedded := o.Embedded || len(o.Faults) > 0
	if o.CommandDelay > 0 && o.Email != "" && !embedded {
		return runPlan{}, none, usageErr("--command-delay sets the embedded server's worker: add --embedded, or drop it for a deployed server (whose worker is its own)")
	}
	if o.APNsListen != "" && embedded {
		return runPlan{}, none, usageErr("--apns-listen is for a deployed server: the embedded server pushes through a stand-in of its own (--no-push to poll)")
	}
	if o.APNsCertOut != "" && o.APNsListen == "" {
		return runPlan{}, none, usageErr("--apns-cert-out needs --apns-listen")
	}
	if o.DDM && o.Email != "" && !embedded {
		return runPlan{}, none, usageErr("--ddm turns on the embedded server's declarative management: add --embedded, or drop it for a deployed server (which asks its devices for a sync itself; --until ddm requires one)")
	}
	if o.NoPush && o.Email != "" && !embedded {
		return runPlan{}, none, usageErr("--no-push switches off the embedded server's pushes: add --embedded, or drop it for a deployed server (its devices poll unless it pushes to a stand-in)")
	}
	if o.Email == "" {
		if len(o.Devices) > 0 || len(o.Faults) > 0 || o.Type != "auto" || o.Secrets.any() {
			return runPlan{}, none, usageErr("--device, --fault, --type and the secret flags need --email (without --email, run plays the default suite)")
		}
		if targetFlags(o) {
			return runPlan{}, none, usageErr("--resolve, --connect-to, --cacert, --axm-url and --admin-* need --email: they point a custom run at a deployed server")
		}
		return defaultPlan(o)
	}
	if _, _, err := sim.ParseIdentifier(o.Email, false); err != nil {
		return runPlan{}, none, usageErr("--email: %v", err)
	}
	typ, err := sim.ParseEnrollmentType(o.Type)
	if err != nil {
		return runPlan{}, none, usageErr("--type: %v", err)
	}
	account, err := accountFromFlags(o, getenv)
	if err != nil {
		return runPlan{}, none, err
	}
	login, err := loginFromFlags(o)
	if err != nil {
		return runPlan{}, none, err
	}
	replay, err := readReplayBody(o.ReplayBody)
	if err != nil {
		return runPlan{}, none, err
	}
	devices, err := flagDevices(o.Devices)
	if err != nil {
		return runPlan{}, none, err
	}
	var target sim.Target
	var clock *sim.VirtualClock
	cleanup := none
	if embedded {
		if targetFlags(o) {
			return runPlan{}, none, usageErr("--embedded/--fault cannot be combined with --resolve, --connect-to, --cacert, --axm-url or --admin-* (the embedded server brings its own)")
		}
		clock = &sim.VirtualClock{}
		es, err := startEmbedded(o.Faults, nil, o.Timeout, o.CommandDelay, o.NoPush, clock, withDDM(o.embeddedDDM()))
		if err != nil {
			return runPlan{}, none, err
		}
		target, cleanup = es.target(), es.close
		account = es.fillAccount(account)
	} else if target, err = deployedTarget(o); err != nil {
		return runPlan{}, none, err
	} else if cleanup, err = deployedPush(o, &target); err != nil {
		return runPlan{}, none, err
	}
	plan := runPlan{clock: clock}
	for _, d := range devices {
		plan.Cases = append(plan.Cases, sim.Case{
			Name:    d.Ref() + "/" + typeLabel(typ),
			Device:  d,
			Account: account,
			Type:    typ,
			Target:  target,
			Options: sim.DeviceOptions{ExactlyOneAt: o.ExactlyOneAt, OmitModelFamily: o.OmitModelFamily, NoFallbackOnRejection: o.NoFallbackOnRejection,
				FormEncodedBody: o.FormEncodedBody, AppendLoginQuery: o.AppendLoginQuery},
			Expect:        sim.Expect{Enroll: !o.NoEnroll, Trips: upper(o.ExpectFail)},
			Login:         login,
			ReplayBody:    replay,
			NoProbes:      o.NoProbes,
			DiscoveryOnly: o.DiscoveryOnly,
		})
	}
	return plan, cleanup, nil
}

// readReplayBody reads --replay-body, a profile to send the device instead
// of the server's, in whichever encoding it was saved.
func readReplayBody(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("--replay-body: %v", err)
	}
	replay, err := profile.NormalizeCMS(raw)
	if err != nil {
		return nil, usageErr("--replay-body %s: not a CMS signed message (DER, PEM or base64): %v", path, err)
	}
	return replay, nil
}

// flagDevices looks up the --device references; a custom run without
// one plays a current iPhone.
func flagDevices(refs []string) ([]device.Device, error) {
	if len(refs) == 0 {
		refs = []string{"iphone@26.1"}
	}
	var devices []device.Device
	for _, ref := range refs {
		d, err := device.LookupDevice(ref)
		if err != nil {
			return nil, usageHint(fmt.Errorf("--device: %w", err), "see 'enrollsim list devices'")
		}
		devices = append(devices, d)
	}
	return devices, nil
}

// deployedTarget is the deployed server the target flags point a custom
// run at, its admin URLs checked before any device plays.
func deployedTarget(o *runOptions) (sim.Target, error) {
	client, err := transport.New(transport.Options{Timeout: o.Timeout, CACertFiles: append(append([]string(nil), o.CACerts...), o.StockCAs...), Resolve: o.Resolve, ConnectTo: o.ConnectTo})
	if err != nil {
		return sim.Target{}, usageErr("%v", err)
	}
	target := sim.Target{Name: "deployed server", AxMURL: sim.AppleAxMURL, Doer: client}
	if len(o.StockCAs) > 0 {
		if target.StockRoots, err = transport.StockPool(o.StockCAs); err != nil {
			return sim.Target{}, usageErr("--stock-ca: %v", err)
		}
	}
	if o.AxMURL != "" {
		target.AxMURL, target.AxMDeclared = o.AxMURL, true
	}
	for flag, v := range map[string]string{"--admin-revoke-token": o.Admin.RevokeToken, "--admin-expire-token": o.Admin.ExpireToken, "--admin-unenroll": o.Admin.Unenroll, "--admin-queue": strings.TrimPrefix(o.Admin.Queue, "PUT "), "--admin-declarations": o.Admin.Declarations} {
		if u, err := url.Parse(strings.TrimSpace(v)); v != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
			return sim.Target{}, usageErr("%s %q: want an http(s) URL, with {id} where the enrollment's EnrollmentID or UDID goes", flag, v)
		}
	}
	target.Admin = o.Admin
	return target, nil
}

func accountFromFlags(o *runOptions, getenv func(string) string) (sim.Account, error) {
	pw, seed, err := o.Secrets.load(getenv)
	if err != nil {
		return sim.Account{}, err
	}
	a := sim.Account{Identifier: o.Email, Username: o.Username, Password: pw, TOTPSecret: seed, ManagedAppleID: o.ManagedAppleID,
		TOTP: sim.TOTPOptions{Digits: o.TOTPDigits, Period: o.TOTPPeriod, Algorithm: o.TOTPAlgorithm, Offset: o.TOTPOffset, Wrong: o.TOTPWrong}}
	if err := checkTOTPFlags(o.Secrets, seed, a.TOTP); err != nil {
		return sim.Account{}, err
	}
	return a, nil
}

func loginFromFlags(o *runOptions) (sim.LoginFields, error) {
	l := sim.LoginFields{Form: o.LoginForm, Username: o.LoginUsername, Password: o.LoginPassword, OTP: o.LoginOTP, Submit: o.LoginSubmit}
	for _, kv := range o.LoginFields {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return l, usageErr("--login-field %q: want NAME=VALUE", kv)
		}
		if l.Extra == nil {
			l.Extra = map[string]string{}
		}
		l.Extra[k] = v
	}
	if err := sim.ValidateLoginFields(l); err != nil {
		return l, usageErr("%v", err)
	}
	return l, nil
}

// parseShard reads --shard I/N.
func parseShard(s string) (int, int, error) {
	if s == "" {
		return 1, 1, nil
	}
	var i, n int
	if _, err := fmt.Sscanf(s, "%d/%d", &i, &n); err != nil || n < 1 || i < 1 || i > n || fmt.Sprintf("%d/%d", i, n) != s {
		return 0, 0, usageErr("--shard %q: want I/N with 1 <= I <= N, e.g. 2/3", s)
	}
	return i, n, nil
}

// shardCases keeps the cases of shard i of n, by position in the plan.
func shardCases(cases []sim.Case, i, n int) []sim.Case {
	if n <= 1 {
		return cases
	}
	var out []sim.Case
	for k, c := range cases {
		if k%n == i-1 {
			out = append(out, c)
		}
	}
	return out
}

func targetFlags(o *runOptions) bool {
	return len(o.Resolve) > 0 || len(o.ConnectTo) > 0 || len(o.CACerts) > 0 || len(o.StockCAs) > 0 || o.AxMURL != "" || o.Admin != (sim.AdminHooks{})
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

// reportSink is a --report destination. The jsonl stream is written as
// events come, so a crash or interruption still leaves the run on disk; the
// other formats render the whole run when Err is called at the end.
type reportSink struct {
	path   string
	handle func(event.Event)
	finish func() error
}

func (s reportSink) Handle(ev event.Event) { s.handle(ev) }

// Err finishes the report (writing it, for the final formats) and returns
// the first error. Call it once, after the run.
func (s reportSink) Err() error { return s.finish() }

// stdoutPath is the --report path that means standard output.
const stdoutPath = "-"

// reportSpec is one --report FORMAT=PATH, checked.
type reportSpec struct {
	spec, format, path string
	write              report.Writer
}

// parseReports checks the --report specs without touching a file, so that
// a usage error (of these or of any other flag checked before the files
// are opened) leaves no report file behind, not even an empty one. At most
// one report goes to standard output ("-"), and only where stdoutOK.
func parseReports(specs []string, stdoutOK bool) ([]reportSpec, error) {
	var out []reportSpec
	formats := strings.Join(report.FormatNames(), ", ")
	seen := map[string]string{}
	for _, spec := range specs {
		format, path, ok := strings.Cut(spec, "=")
		if !ok || path == "" {
			return nil, usageErr("--report %q: want FORMAT=PATH, e.g. junit=enrollsim.xml (formats: %s; PATH - is standard output)", spec, formats)
		}
		write, known := report.Formats[format]
		if !known {
			return nil, usageErr("--report %q: unknown format %q (formats: %s)", spec, format, formats)
		}
		if path == stdoutPath && !stdoutOK {
			return nil, usageErr("--report %q: this command's standard output is the terminal screen; write the report to a file", spec)
		}
		key := filepath.Clean(path)
		if path == stdoutPath {
			key = stdoutPath
		}
		if other, dup := seen[key]; dup {
			if path == stdoutPath {
				return nil, usageErr("--report %q: --report %q already writes to standard output; only one report can", spec, other)
			}
			return nil, usageErr("--report %q: --report %q already writes %s", spec, other, path)
		}
		seen[key] = spec
		out = append(out, reportSpec{spec: spec, format: format, path: path, write: write})
	}
	return out, nil
}

// reportsToStdout reports whether one of the reports goes to standard
// output.
func reportsToStdout(specs []reportSpec) bool {
	for _, s := range specs {
		if s.path == stdoutPath {
			return true
		}
	}
	return false
}

// openReports creates the report files of checked specs, and writes the
// one of path "-" to stdout. When one cannot be opened, nothing is left
// changed: the files it created are removed and those that were there are
// not yet truncated.
func openReports(specs []reportSpec, opt report.Options, stdout io.Writer) ([]reportSink, func(), error) {
	var sinks []reportSink
	var files []*os.File
	var created []string
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, rs := range specs {
		var w io.Writer = stdout
		if rs.path != stdoutPath {
			fh, isNew, err := openForReport(rs.path)
			if err != nil {
				closeAll()
				for _, path := range created {
					os.Remove(path)
				}
				return nil, func() {}, usageErr("--report %q: %v", rs.spec, unwrapPathErr(err))
			}
			files = append(files, fh)
			if isNew {
				created = append(created, rs.path)
			}
			w = fh
		}
		if rs.format == "jsonl" {
			j := report.NewJSONL(w)
			sinks = append(sinks, reportSink{path: rs.path, handle: j.Handle, finish: j.Err})
			continue
		}
		var events []event.Event
		write := rs.write
		sinks = append(sinks, reportSink{path: rs.path,
			handle: func(ev event.Event) { events = append(events, ev) },
			finish: func() error { return write(w, events, opt) }})
	}
	for _, f := range files {
		if err := f.Truncate(0); err != nil {
			closeAll()
			return nil, func() {}, incompleteErr(fmt.Errorf("report %s: %w", f.Name(), err), "")
		}
	}
	return sinks, closeAll, nil
}

// openForReport opens path for writing without truncating it yet; isNew
// says the file did not exist before.
func openForReport(path string) (f *os.File, isNew bool, err error) {
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, os.ErrExist) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, os.O_WRONLY, 0)
	return f, false, err
}

// deployedPush starts the APNs stand-in of --apns-listen for a deployed
// target, and points the target's devices at it. The returned func stops it.
func deployedPush(o *runOptions, t *sim.Target) (func(), error) {
	if o.APNsListen == "" {
		return func() {}, nil
	}
	if _, port, err := net.SplitHostPort(o.APNsListen); err != nil || !validPort(port) {
		return nil, usageErr("--apns-listen %q: want HOST:PORT, e.g. 127.0.0.1:2197", o.APNsListen)
	}
	if o.APNsCertOut != "" {
		if err := os.MkdirAll(o.APNsCertOut, 0o700); err != nil {
			return nil, usageHint(fmt.Errorf("--apns-cert-out: %w", unwrapPathErr(err)), "pass a writable directory")
		}
	}
	serving, err := standInCert(o.APNsCertOut, nil)
	if err != nil {
		return nil, err
	}
	srv, err := apns.Start(o.APNsListen, apns.Config{Certificate: &serving})
	if err != nil {
		return nil, incompleteErr(err, "is another stand-in running there? pick another --apns-listen (and tell the server)")
	}
	if o.APNsCertOut != "" {
		if err := os.WriteFile(filepath.Join(o.APNsCertOut, "apns-ca.pem"), srv.CertificatePEM(), 0o644); err != nil {
			srv.Close()
			return nil, usageHint(fmt.Errorf("--apns-cert-out: %w", err), "pass a writable directory")
		}
	}
	o.say(fmt.Sprintf("APNs stand-in at %s: the server must push there (and trust its certificate); the devices wait for its pushes", srv.URL()))
	t.Push = sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return srv.Subscribe(token) })
	return func() { srv.Close() }, nil
}
