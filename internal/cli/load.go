package cli

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/loadmetrics"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

type loadOptions struct {
	Devices, Concurrency int
	Rate                 float64
	Duration             time.Duration
	MaxInFlight          int
	Mix                  string
	Accounts             int
	Pattern              string
	MasterEnv            string
	MasterFile           string
	AccountsCSV          string
	Until                string
	Probes               bool
	Shard                string
	StartAt              string
	Reports              []string
	Timeout              time.Duration
	Faults               []string
	ConnectTo, Resolve   []string
	CACerts              []string
	AxMURL               string
	MetricsAddr          string
	Poll, Stay           string
	CommandDelay         time.Duration
	NoPush               bool
	Thresholds           []string
	Strict               bool
}

func newLoadCmd(f *Factory) *cobra.Command {
	o := &loadOptions{}
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Enroll many simulated devices at once and measure the server, every enrollment checked",
		Long: `Drive many enrollments at once against the embedded reference server (the
default) or a deployed one, with every check on, and report latency percentiles
per step (HDR histograms), throughput over time, outcomes, the checks that
failed and a sample of failing cases.

  closed model: --devices N --concurrency C   (N enrollments by C workers)
  open model:   --rate R --duration D          (R arrivals a second, each on
                schedule whatever the latency, so a slow server cannot hide)

Accounts come from a pattern (--account-pattern, --accounts N) whose passwords
and TOTP seeds derive from a master secret (--master-secret-env or
--master-secret-file), the same derivation 'enrollsim serve --accounts N' uses,
or from a CSV of references (--accounts-csv). Ctrl-C stops starting cases, lets
the running ones end and still writes the results.

Gate it as k6 gates: --threshold 'web-login:p95<500ms' (STEP:STAT<DURATION,
STEP a step of the report, push-to-connect or case, STAT avg, min, max or pN),
--threshold 'fail-rate<0.1%' (enrollments not ended enrolled, dropped ones
included; it replaces the default that every enrollment must end enrolled),
--threshold 'rate>100/s'; operators <, <=, >, >=. --strict fails the load on
any check that FAILed (a broken MUST); without it failed checks are counted
and shown but do not change the exit code.

Exit codes: 0 the gate passed (every enrollment ended enrolled, or within the
fail-rate threshold; every threshold held; with --strict no check failed);
1 it did not; 2 usage; 3 the run could not start; 130 interrupted (results
written).`,
		Example: `  enrollsim load --devices 10000 --concurrency 200
  enrollsim load --rate 50 --duration 2m --mix 'iphone@18.2:60,mac@15.2:30,vision@2.2:10' --report json=load.json
  enrollsim load --devices 500 --threshold 'web-login:p95<500ms' --threshold 'fail-rate<0.1%' --strict --report junit=load.xml
  enrollsim load --devices 3000 --shard 2/3 --report json=shard2.json    # then: enrollsim report merge shard*.json
  enrollsim load --rate 20 --duration 10m --metrics-addr :9090          # Prometheus scrapes it while it runs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runLoad(cmd.Context(), f, o) },
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Devices, "devices", 0, "closed model: how many enrollments")
	fl.IntVar(&o.Concurrency, "concurrency", 50, "closed model: how many at once")
	fl.Float64Var(&o.Rate, "rate", 0, "open model: arrivals per second")
	fl.DurationVar(&o.Duration, "duration", 0, "open model: for how long")
	fl.IntVar(&o.MaxInFlight, "max-in-flight", 10000, "open model: cases running at once before arrivals are dropped (and counted)")
	fl.StringVar(&o.Mix, "mix", load.DefaultMix, "devices by weight: DEVICE[/user|/device]:WEIGHT,...")
	fl.IntVar(&o.Accounts, "accounts", 0, "how many pattern accounts (default: --devices, or rate×duration)")
	fl.StringVar(&o.Pattern, "account-pattern", load.DefaultPattern, "pattern account names; {n} counts from 1")
	fl.StringVar(&o.MasterEnv, "master-secret-env", "", "environment variable holding the master secret of the pattern accounts")
	fl.StringVar(&o.MasterFile, "master-secret-file", "", "file holding the master secret of the pattern accounts")
	fl.StringVar(&o.AccountsCSV, "accounts-csv", "", "CSV of accounts: identifier,password_env|password_file,totp_secret_env|totp_secret_file")
	fl.StringVar(&o.Until, "until", "profile", "how far each device goes: profile, identity, checkin, commands, ddm (the embedded server then manages declaratively, and each device syncs)")
	fl.BoolVar(&o.Probes, "probes", false, "also send the tester's probes (wrong passwords, second devices...)")
	fl.StringVar(&o.Shard, "shard", "", "play shard I of N (I/N) of the arrivals; merge the json results with 'enrollsim report merge' (default in a Kubernetes Indexed Job: JOB_COMPLETION_INDEX+1 of ENROLLSIM_SHARDS)")
	fl.StringVar(&o.StartAt, "start-at", "", "start the arrivals at this instant (RFC 3339, e.g. 2026-12-07T12:00:00Z), so that the shards on several machines or pods start together")
	fl.StringArrayVar(&o.Reports, "report", nil, "write results as FORMAT=PATH (text, json, html, junit; repeatable); text goes to stdout anyway; json=- adds the json to stdout between marker lines, for 'kubectl logs | enrollsim report merge -'")
	fl.StringArrayVar(&o.Thresholds, "threshold", nil, "fail the load (exit 1) unless this holds: STEP:STAT<DURATION (web-login:p95<500ms, case:p99<2s), fail-rate<0.1%, rate>100/s (repeatable)")
	fl.BoolVar(&o.Strict, "strict", false, "fail the load (exit 1) when any check FAILed, even if every enrollment ended enrolled")
	fl.DurationVar(&o.Timeout, "timeout", 15*time.Second, "per-request timeout")
	fl.StringArrayVar(&o.Faults, "fault", nil, "embedded server: switch on a fault (repeatable)")
	fl.StringArrayVar(&o.ConnectTo, "connect-to", nil, "deployed server: HOST:PORT:CONNECT-HOST:CONNECT-PORT (repeatable)")
	fl.StringArrayVar(&o.Resolve, "resolve", nil, "deployed server: HOST:PORT:ADDR (repeatable)")
	fl.StringArrayVar(&o.CACerts, "cacert", nil, "deployed server: extra CA (PEM; repeatable)")
	fl.StringVar(&o.AxMURL, "axm-url", "", "deployed server: device-side AxM endpoint")
	fl.StringVar(&o.Poll, "poll", "", "with --until commands: how often a device without a push reconnects after an empty answer (default 1s; 0: never)")
	fl.StringVar(&o.Stay, "stay", "", "with --until commands: keep each device enrolled this long after its queue drains, answering pushes (or polling), e.g. 30s")
	fl.DurationVar(&o.CommandDelay, "command-delay", 0, "embedded server: queue each enrollment's first commands this long after its TokenUpdate and push, as a real MDM's worker does; the report then has push-to-connect latencies")
	fl.BoolVar(&o.NoPush, "no-push", false, "embedded server: do not push; the devices poll")
	fl.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics while the load runs (e.g. :9090 or 127.0.0.1:9090)")
	return cmd
}

func runLoad(ctx context.Context, f *Factory, o *loadOptions) error {
	mix, err := load.ParseMix(o.Mix)
	if err != nil {
		return usageErr("--mix: %v", err)
	}
	until, err := event.ParseUntil(o.Until)
	if err != nil {
		return usageErr("--until: %v", err)
	}
	shard, shards, err := loadShard(f, o.Shard)
	if err != nil {
		return err
	}
	startAt, err := parseStartAt(o.StartAt, f.Now())
	if err != nil {
		return err
	}
	sinks, err := parseLoadSinks(o.Reports)
	if err != nil {
		return err
	}
	thresholds, err := parseThresholds(o.Thresholds)
	if err != nil {
		return err
	}
	for i, t := range thresholds {
		if err := t.CheckUntil(until); err != nil {
			return usageErr("--threshold %q: %v", o.Thresholds[i], err)
		}
	}
	deployed := len(o.ConnectTo) > 0 || len(o.Resolve) > 0 || len(o.CACerts) > 0 || o.AxMURL != ""
	if deployed && (len(o.Faults) > 0 || o.CommandDelay != 0 || o.NoPush) {
		return usageErr("--fault, --command-delay and --no-push are for the embedded server; drop them or the deployed-server flags")
	}
	poll, stay, err := loadPollStay(o, until)
	if err != nil {
		return err
	}
	accts, err := loadAccounts(f, o, deployed)
	if err != nil {
		return err
	}
	target, closeTarget, err := loadTarget(o, accts, deployed)
	if err != nil {
		return err
	}
	defer closeTarget()
	cfg := load.Config{Devices: o.Devices, Concurrency: o.Concurrency, Rate: o.Rate, Duration: o.Duration, MaxInFlight: o.MaxInFlight,
		Mix: mix, Accounts: accts, Target: target, Until: until, Probes: o.Probes, Shard: shard, Shards: shards,
		Poll: poll, Stay: stay}
	if o.MetricsAddr != "" {
		closeMetrics, err := serveLoadMetrics(f, o.MetricsAddr, &cfg)
		if err != nil {
			return err
		}
		defer closeMetrics()
	}
	if err := waitForStart(ctx, f, startAt, shard, shards); err != nil {
		return err
	}
	progress := loadProgress(f)
	res, err := load.Run(ctx, &sim.Engine{Limits: sim.Limits{Timeout: o.Timeout}}, cfg, progress)
	if err != nil {
		return usageErr("%v", err)
	}
	if f.IO.ErrTTY {
		fmt.Fprintln(f.IO.ErrOut)
	}
	load.EvaluateThresholds(res, thresholds)
	res.Strict = o.Strict
	return writeLoadResults(f, res, sinks)
}

// parseThresholds reads the --threshold flags before anything runs.
func parseThresholds(flags []string) ([]load.Threshold, error) {
	var out []load.Threshold
	for _, s := range flags {
		t, err := load.ParseThreshold(s)
		if err != nil {
			return nil, usageErr("--threshold %q: %v", s, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// loadSink is one --report FORMAT=PATH of a load.
type loadSink struct{ format, path string }

// parseLoadSinks reads the --report flags before anything runs, so that a
// typo fails at once rather than after a long load.
func parseLoadSinks(reports []string) ([]loadSink, error) {
	var sinks []loadSink
	for _, r := range reports {
		format, path, ok := strings.Cut(r, "=")
		if !ok || path == "" || !loadReportFormat(format) {
			return nil, usageErr("--report %q: %s", r, loadReportWant)
		}
		if path == "-" && format != "json" {
			return nil, usageErr("--report %q: only json=- writes to stdout (between marker lines, after the text: 'kubectl logs ... | enrollsim report merge -' reads it back); write %s to a file", r, format)
		}
		sinks = append(sinks, loadSink{format, path})
	}
	return sinks, nil
}

// loadAccounts is the accounts the load signs in as: from a CSV, or a
// pattern whose secrets derive from the master secret given, or, for the
// embedded server only, from one made now.
func loadAccounts(f *Factory, o *loadOptions, deployed bool) (load.Accounts, error) {
	count := o.Accounts
	if count == 0 {
		count = o.Devices
		if o.Rate > 0 {
			count = int(o.Rate*o.Duration.Seconds()) + 1
		}
	}
	accts := load.Accounts{Pattern: o.Pattern, Count: count}
	var err error
	switch {
	case o.AccountsCSV != "":
		if accts.List, err = load.ReadCSV(o.AccountsCSV, f.Getenv); err != nil {
			return accts, usageErr("--accounts-csv: %v", err)
		}
	case o.MasterEnv != "":
		v := f.Getenv(o.MasterEnv)
		if v == "" {
			return accts, usageErr("--master-secret-env %s is not set", o.MasterEnv)
		}
		accts.Master = secret.New(v)
	case o.MasterFile != "":
		raw, err := os.ReadFile(o.MasterFile)
		if err != nil {
			return accts, usageErr("--master-secret-file: %v", err)
		}
		accts.Master = secret.New(strings.TrimSpace(string(raw)))
	case deployed:
		return accts, usageErr("a deployed server's accounts: give --master-secret-env or --master-secret-file (as 'enrollsim serve --accounts N' prints), or --accounts-csv")
	default:
		// The embedded server and the load agree on a master made now.
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		accts.Master = secret.New(hex.EncodeToString(b))
	}
	return accts, nil
}

// loadTarget is the server the load enrolls against: the deployed one the
// flags point at, or an embedded reference server started here with accts.
// The returned func releases what it opened, once the load has ended.
func loadTarget(o *loadOptions, accts load.Accounts, deployed bool) (sim.Target, func(), error) {
	if deployed {
		client, err := transport.New(transport.Options{Timeout: o.Timeout, CACertFiles: o.CACerts, Resolve: o.Resolve, ConnectTo: o.ConnectTo})
		if err != nil {
			return sim.Target{}, nil, usageErr("%v", err)
		}
		target := sim.Target{Name: "deployed server", AxMURL: firstNonEmpty(o.AxMURL, sim.AppleAxMURL), AxMDeclared: o.AxMURL != "", Doer: client, Timeout: o.Timeout}
		return target, client.CloseIdleConnections, nil
	}
	if accts.Size() > 1_000_000 {
		return sim.Target{}, nil, usageErr("--accounts %d: at most 1000000 for the embedded server", accts.Size())
	}
	if o.CommandDelay < 0 {
		return sim.Target{}, nil, usageErr("--command-delay %s: want 0 or a positive duration such as 3s", o.CommandDelay)
	}
	cfg := refserver.Config{Faults: o.Faults, CommandDelay: o.CommandDelay, DDM: o.Until == string(event.UntilDDM), Accounts: refserver.PatternAccounts{Pattern: o.Pattern, Count: accts.Count, Master: accts.Master.Reveal()}}
	// The load's clock is real: the server's worker runs on timers, and
	// the devices wait for its pushes for real.
	var standIn *apns.Server
	if !o.NoPush {
		var err error
		if standIn, err = apns.Start("127.0.0.1:0", apns.Config{}); err != nil {
			return sim.Target{}, nil, incompleteErr(fmt.Errorf("embedded APNs stand-in: %w", err), "")
		}
		cfg.APNs = &refserver.APNs{URL: standIn.URL(), Roots: standIn.CertPool()}
	}
	closeStandIn := func() {
		if standIn != nil {
			standIn.Close()
		}
	}
	srv, err := refserver.Start(cfg)
	if err != nil {
		closeStandIn()
		return sim.Target{}, nil, usageHint(err, "see 'enrollsim list faults'")
	}
	// One transport for every simulated device: connections are reused
	// per host, cookies stay with each device's own jar.
	client, err := transport.New(transport.Options{Timeout: o.Timeout, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	if err != nil {
		srv.Close()
		closeStandIn()
		return sim.Target{}, nil, incompleteErr(err, "")
	}
	target := sim.Target{Name: "embedded reference server", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client,
		StockRoots: srv.StockPool(), Timeout: o.Timeout, Keys: keys.Reused}
	if standIn != nil {
		target.Push = sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return standIn.Subscribe(token) })
	}
	return target, func() {
		client.CloseIdleConnections()
		srv.Close()
		closeStandIn()
	}, nil
}

// serveLoadMetrics serves Prometheus metrics at addr while the load runs,
// labelled with cfg's shard, and makes them cfg's observer. The returned
// func stops serving.
func serveLoadMetrics(f *Factory, addr string, cfg *load.Config) (func(), error) {
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return nil, usageErr("--metrics-addr %q: want HOST:PORT or :PORT, such as :9090 or 127.0.0.1:9090", addr)
	}
	m := loadmetrics.New(map[string]string{"shard": fmt.Sprintf("%d/%d", cfg.Shard, max(cfg.Shards, 1))})
	ms, err := loadmetrics.Serve(addr, m)
	if err != nil {
		return nil, incompleteErr(err, "")
	}
	cfg.Observer = m
	fmt.Fprintf(f.IO.ErrOut, "load: metrics at %s (served until the load ends)\n", ms.URL())
	return func() { ms.Close() }, nil
}

// writeLoadResults prints the result, writes the --report files and turns
// the gate into the exit code (load.Result.GateProblems): the
// enrollments, the thresholds and, with --strict, the checks.
func writeLoadResults(f *Factory, res *load.Result, sinks []loadSink) error {
	if err := load.WriteText(f.IO.Out, res); err != nil {
		return incompleteErr(err, "")
	}
	for _, s := range sinks {
		if s.path == "-" {
			// After the text, for a log collector: one document between
			// marker lines.
			if err := load.WriteMarked(f.IO.Out, res); err != nil {
				return incompleteErr(fmt.Errorf("--report json=-: %w", err), "")
			}
			continue
		}
		if err := writeLoadReport(s.format, s.path, res, "enrollsim "+f.Version); err != nil {
			return incompleteErr(fmt.Errorf("--report %s=%s: %w", s.format, s.path, err), "")
		}
	}
	switch {
	case res.Interrupted:
		return silentExit{report.ExitInterrupted}
	case len(res.GateProblems()) > 0:
		return silentExit{report.ExitFailed}
	}
	return nil
}

// loadReportFormat tells the formats --report takes for a load result.
func loadReportFormat(format string) bool {
	return format == "text" || format == "json" || format == "html" || format == "junit"
}

const loadReportWant = "want text=PATH, json=PATH, html=PATH or junit=PATH (json=- writes the json to stdout, between marker lines)"

func writeLoadReport(format, path string, res *load.Result, tool string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.Writer = out
	switch format {
	case "json":
		err = load.WriteJSON(w, res)
	case "html":
		err = load.WriteHTML(w, res)
	case "junit":
		err = load.WriteJUnit(w, res, tool)
	default:
		err = load.WriteText(w, res)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// loadProgress rewrites one line on a terminal, and prints a plain line
// every five seconds otherwise (CI logs). The terminal line names the three
// slowest steps by p95, to stay one line; the plain line names every step.
func loadProgress(f *Factory) func(load.Snapshot) {
	last := time.Time{}
	return func(s load.Snapshot) {
		tty := f.IO.ErrTTY
		if !tty {
			if now := time.Now(); now.Sub(last) < 5*time.Second && s.InFlight > 0 {
				return
			} else {
				last = now
			}
		}
		line := progressLine(s, tty)
		if tty {
			fmt.Fprintf(f.IO.ErrOut, "\r\033[K%s", line)
			return
		}
		fmt.Fprintln(f.IO.ErrOut, line)
	}
}

func progressLine(s load.Snapshot, short bool) string {
	line := fmt.Sprintf("load: %s  done %d (enrolled %d, failed %d)  in flight %d  %.1f/s  p50 %s p95 %s",
		s.Elapsed.Round(time.Second), s.Done, s.Enrolled, s.Failed, s.InFlight, s.Rate, roundMs(s.P50), roundMs(s.P95))
	if s.Dropped > 0 {
		line += fmt.Sprintf("  dropped %d", s.Dropped)
	}
	steps := s.Steps
	if short && len(steps) > 3 {
		steps = slices.Clone(steps)
		slices.SortStableFunc(steps, func(a, b load.StepLatency) int { return cmp.Compare(b.P95, a.P95) })
		steps = steps[:3]
	}
	if len(steps) > 0 {
		parts := make([]string, 0, len(steps))
		for _, st := range steps {
			parts = append(parts, fmt.Sprintf("%s %s/%s", st.Step, roundMs(st.P50), roundMs(st.P95)))
		}
		line += "  |  p50/p95 " + strings.Join(parts, ", ")
	}
	return line
}

// roundMs shows a latency in whole milliseconds, or tenths below 10 ms.
func roundMs(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return d.Round(time.Millisecond).String()
}

// loadPollStay reads --poll and --stay, which only a load that reaches
// the commands step can use.
func loadPollStay(o *loadOptions, until event.Until) (poll, stay time.Duration, err error) {
	if o.Poll == "" && o.Stay == "" {
		return 0, 0, nil
	}
	if !until.Reaches(event.UntilCommands) {
		return 0, 0, usageErr("--poll and --stay act in the commands step: add --until commands")
	}
	if o.Poll != "" {
		if poll, err = sim.ParsePoll(o.Poll); err != nil {
			return 0, 0, usageErr("--poll %v", err)
		}
	}
	if o.Stay != "" {
		if stay, err = sim.ParseStay(o.Stay); err != nil {
			return 0, 0, usageErr("--stay %v", err)
		}
	}
	if err := sim.CheckPoll(poll, stay); err != nil {
		return 0, 0, usageErr("%v", err)
	}
	return poll, stay, nil
}

// loadShard is the shard --shard names, else, in a pod of a Kubernetes
// Indexed Job, the one its index gives: JOB_COMPLETION_INDEX (0-based, set
// by Kubernetes) of ENROLLSIM_SHARDS (the Job's completions, which
// Kubernetes does not pass on, so the manifest sets it).
func loadShard(f *Factory, flag string) (int, int, error) {
	if flag != "" {
		return parseShard(flag)
	}
	idx := f.Getenv("JOB_COMPLETION_INDEX")
	if idx == "" {
		return 1, 1, nil
	}
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 {
		return 0, 0, usageErr("JOB_COMPLETION_INDEX=%q: want the pod's completion index, a whole number from 0 (Kubernetes sets it in an Indexed Job); or pass --shard I/N", idx)
	}
	raw := f.Getenv("ENROLLSIM_SHARDS")
	if raw == "" {
		return 0, 0, usageErr("JOB_COMPLETION_INDEX=%d is set (a pod of an Indexed Job) but ENROLLSIM_SHARDS is not: set it to the Job's completions, or pass --shard I/N", i)
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, 0, usageErr("ENROLLSIM_SHARDS=%q: want the Job's completions, a whole number from 1", raw)
	}
	if i >= n {
		return 0, 0, usageErr("JOB_COMPLETION_INDEX=%d is not below ENROLLSIM_SHARDS=%d: set ENROLLSIM_SHARDS to the Job's completions", i, n)
	}
	fmt.Fprintf(f.IO.ErrOut, "load: shard %d/%d (JOB_COMPLETION_INDEX=%d, ENROLLSIM_SHARDS=%d)\n", i+1, n, i, n)
	return i + 1, n, nil
}

// maxStartWait bounds --start-at: a start a day away is a typo.
const maxStartWait = 24 * time.Hour

func parseStartAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageErr("--start-at %q: want an RFC 3339 instant such as 2026-12-07T12:00:00Z (date -u -d '+90 sec' +%%FT%%TZ)", s)
	}
	if at.Sub(now) > maxStartWait {
		return time.Time{}, usageErr("--start-at %s is %s away, over %s: a typo?", s, at.Sub(now).Round(time.Minute), maxStartWait)
	}
	return at, nil
}

// waitForStart holds the arrivals until --start-at, after the target and
// the metrics are up, so that every shard starts its first arrival at the
// same instant. A shard that comes late starts at once, and says by how
// much it is late: its arrivals run behind the others'.
func waitForStart(ctx context.Context, f *Factory, at time.Time, shard, shards int) error {
	if at.IsZero() {
		return nil
	}
	d := at.Sub(f.Now())
	if d <= 0 {
		if d < -time.Second {
			fmt.Fprintf(f.IO.ErrOut, "load: --start-at %s passed %s ago: shard %d/%d starts now, late by that much\n", at.Format(time.RFC3339), (-d).Round(time.Millisecond), shard, shards)
		}
		return nil
	}
	fmt.Fprintf(f.IO.ErrOut, "load: shard %d/%d waits %s, until %s, to start with the others\n", shard, shards, d.Round(time.Millisecond), at.Format(time.RFC3339))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		fmt.Fprintln(f.IO.ErrOut, "load: interrupted before the start: nothing was played")
		return silentExit{report.ExitInterrupted}
	case <-t.C:
		return nil
	}
}
