package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
)

// scenarioErr turns a scenario problem list into a usage error: one line
// per problem, file:line:col first.
func scenarioErr(err error) error {
	var se *scenarios.Error
	if errors.As(err, &se) {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d problem(s) in scenario files:\n%s", len(se.Problems), se.Error()),
			Hint: "'enrollsim new scenario' prints a commented example; scenarios/schema.json describes the format"}
	}
	return usageErr("%v", err)
}

// scenarioPlan builds the plan of one or more scenario files, directories
// or built-in suites: one embedded server per fault set, one client per
// deployed target.
func scenarioPlan(args []string, o *runOptions, getenv func(string) string) (runPlan, func(), error) {
	none := func() {}
	if o.Email != "" || len(o.Devices) > 0 || len(o.Faults) > 0 || o.Embedded || targetFlags(o) || o.Secrets.any() {
		return runPlan{}, none, usageErr("scenario files carry their own devices, accounts and targets: drop --email, --device, --fault, --embedded, the target and secret flags, or the FILE|DIR|SUITE arguments")
	}
	specs, err := scenarioSpecs(args, getenv)
	if err != nil {
		return runPlan{}, none, err
	}
	clock := &sim.VirtualClock{}
	plan := runPlan{clock: clock}
	ts := &scenarioTargets{o: o, clock: clock, byFaults: map[string]*embeddedServer{},
		clients: map[string]sim.Target{}, standIns: map[string]*standInRun{}}
	if err := ts.prestart(specs); err != nil {
		ts.close()
		return runPlan{}, none, err
	}
	for _, spec := range specs {
		c := spec.Case
		if spec.Embedded {
			err = ts.embedded(spec, &c)
		} else {
			err = ts.deployed(spec, &c)
			// Deployed servers are real: the clock is.
			plan.clock = nil
		}
		if err != nil {
			ts.close()
			return runPlan{}, none, err
		}
		plan.Cases = append(plan.Cases, c)
	}
	if len(ts.servers) > 0 && plan.clock == nil {
		ts.close()
		return runPlan{}, none, usageErr("one run cannot mix embedded and deployed targets (they need different clocks): run them separately")
	}
	if o.CommandDelay > 0 && len(ts.servers) == 0 {
		ts.close()
		return runPlan{}, none, usageErr("--command-delay sets the embedded server's worker, and these scenarios target deployed servers (whose worker is their own): drop it")
	}
	if o.DDM && len(ts.servers) == 0 {
		ts.close()
		return runPlan{}, none, usageErr("--ddm turns on the embedded server's declarative management, and these scenarios target deployed servers (which ask their devices for a sync themselves): drop it")
	}
	return plan, ts.close, nil
}

// scenarioSpecs loads the cases of every argument, refusing two cases of
// one name: results, reports and artefacts are keyed by it.
func scenarioSpecs(args []string, getenv func(string) string) ([]scenarios.CaseSpec, error) {
	var specs []scenarios.CaseSpec
	seen := map[string]string{}
	for _, arg := range args {
		suite, err := scenarios.Load(arg, scenarioOptions(getenv))
		if err != nil {
			return nil, scenarioErr(err)
		}
		for _, sc := range suite.Scenarios {
			cs, err := sc.Cases(getenv)
			if err != nil {
				return nil, scenarioErr(err)
			}
			for _, c := range cs {
				if prev, dup := seen[c.Case.Name]; dup {
					return nil, usageErr("case %s comes from both %s and %s: give each scenario a unique name", c.Case.Name, prev, arg)
				}
				seen[c.Case.Name] = arg
				specs = append(specs, c)
			}
		}
	}
	return specs, nil
}

// scenarioTargets are what a plan's cases connect to, shared among them:
// the embedded servers by fault set and AxM defaults, the deployed
// targets' clients by settings, the AxM stand-ins by listen address.
type scenarioTargets struct {
	o        *runOptions
	clock    *sim.VirtualClock
	byFaults map[string]*embeddedServer
	servers  []*embeddedServer
	clients  map[string]sim.Target
	standIns map[string]*standInRun
}

// close stops the embedded servers and stand-ins started for the plan.
func (ts *scenarioTargets) close() {
	for _, s := range ts.servers {
		s.close()
	}
	for _, si := range ts.standIns {
		si.close()
	}
}

// embedded points c at the embedded server of spec's faults and AxM
// defaults, started on first use, and fills in its account there.
func (ts *scenarioTargets) embedded(spec scenarios.CaseSpec, c *sim.Case) error {
	key, start := ts.embeddedKey(spec)
	es := ts.byFaults[key]
	if es == nil {
		var err error
		if es, err = start(); err != nil {
			return err
		}
		ts.byFaults[key] = es
		ts.servers = append(ts.servers, es)
	}
	c.Target = es.target()
	c.Account = es.fillAccount(c.Account)
	return nil
}

// embeddedKey names the embedded server spec plays against, and starts one.
func (ts *scenarioTargets) embeddedKey(spec scenarios.CaseSpec) (string, func() (*embeddedServer, error)) {
	var defaults map[device.Family]string
	if spec.AxM != nil {
		defaults = spec.AxM.Defaults
	}
	ddm := spec.DDM || ts.o.embeddedDDM()
	key := fmt.Sprintf("%s|%s|ddm=%t", strings.Join(spec.Faults, ","), sortedDefaults(defaults), ddm)
	return key, func() (*embeddedServer, error) {
		return startEmbedded(spec.Faults, defaults, ts.o.Timeout, ts.o.CommandDelay, ts.o.NoPush, ts.clock, withDDM(ddm))
	}
}

// prestart starts the embedded servers of specs, one per key, on every
// core at once, in plan order: a suite of many fault sets (negative has
// 158) starts a server for each, each a few milliseconds of signing.
func (ts *scenarioTargets) prestart(specs []scenarios.CaseSpec) error {
	type job struct {
		key   string
		start func() (*embeddedServer, error)
		es    *embeddedServer
		err   error
	}
	var jobs []*job
	seen := map[string]bool{}
	for _, spec := range specs {
		if !spec.Embedded {
			continue
		}
		key, start := ts.embeddedKey(spec)
		if !seen[key] {
			seen[key] = true
			jobs = append(jobs, &job{key: key, start: start})
		}
	}
	var wg sync.WaitGroup
	next := make(chan *job)
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				j.es, j.err = j.start()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var first error
	for _, j := range jobs {
		if j.err != nil {
			if first == nil {
				first = j.err
			}
			continue
		}
		ts.byFaults[j.key] = j.es
		ts.servers = append(ts.servers, j.es)
	}
	return first
}

// deployed points c at spec's deployed server, through the stand-in of
// its AxM block when it has one.
func (ts *scenarioTargets) deployed(spec scenarios.CaseSpec, c *sim.Case) error {
	var si *standInRun
	if spec.AxM != nil {
		var err error
		if si, err = standInFor(ts.standIns, spec, ts.o); err != nil {
			return err
		}
	}
	t, err := ts.client(spec, si, c.Scenario)
	if err != nil {
		return err
	}
	t.AxMURL, t.AxMDeclared = c.Target.AxMURL, c.Target.AxMDeclared
	if si != nil {
		if si.reg == nil {
			// Once per stand-in, before any device: every case then
			// judges the same registration, whatever the schedule.
			reg := si.observe(ts.o.waitContext(), si.AxMTarget, t.Doer, ts.o.say)
			si.reg = &reg
		}
		t.AxMURL, t.AxMDeclared, t.AxM = si.deviceURL(), true, si.reg
	}
	c.Target = t
	return nil
}

// client is the target of spec's server settings (and stand-in), its
// client made on first use so that cases of one target share connections.
func (ts *scenarioTargets) client(spec scenarios.CaseSpec, si *standInRun, scenario string) (sim.Target, error) {
	st := spec.Server
	key := fmt.Sprintf("%+v", st)
	if si != nil {
		key += "|axm " + si.Listen
	}
	if t, ok := ts.clients[key]; ok {
		return t, nil
	}
	timeout := st.Timeout
	if timeout == 0 {
		timeout = ts.o.Timeout
	}
	cas := append(append([]string(nil), st.CACerts...), st.StockCAs...)
	if si != nil {
		// The devices reach the stand-in too (its /mdmBaseURL).
		cas = append(cas, si.st.caPath())
	}
	client, err := transport.New(transport.Options{Timeout: timeout, CACertFiles: cas, Resolve: st.Resolve, ConnectTo: st.ConnectTo})
	if err != nil {
		return sim.Target{}, usageErr("scenario %s: %v", scenario, err)
	}
	t := sim.Target{Name: firstNonEmpty(st.BaseURL, "deployed server"), Doer: client, Timeout: timeout, Admin: sim.AdminHooks{Queue: st.AdminQueue, Declarations: st.AdminDeclarations}}
	if len(st.StockCAs) > 0 {
		if t.StockRoots, err = transport.StockPool(st.StockCAs); err != nil {
			return sim.Target{}, usageErr("scenario %s: stock_ca: %v", scenario, err)
		}
	}
	ts.clients[key] = t
	return t, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func newValidateCmd(f *Factory) *cobra.Command {
	var secrets bool
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR|SUITE...",
		Short: "Check scenario files and report every problem with file:line:col",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var all []scenarios.Problem
			for _, arg := range args {
				suite, err := scenarios.Load(arg, scenarioOptions(f.Getenv))
				var se *scenarios.Error
				switch {
				case errors.As(err, &se):
					all = append(all, se.Problems...)
					continue
				case err != nil:
					return usageErr("%v", err)
				}
				cases := 0
				for _, sc := range suite.Scenarios {
					n, err := sc.Expand()
					if secrets && err == nil {
						_, err = sc.Cases(f.Getenv)
					}
					if errors.As(err, &se) {
						all = append(all, se.Problems...)
					} else if err != nil {
						return usageErr("%v", err)
					}
					cases += len(n)
				}
				fmt.Fprintf(f.IO.Out, "ok  %s: %d scenario(s), %d case(s)\n", arg, len(suite.Scenarios), cases)
			}
			if len(all) > 0 {
				return scenarioErr(&scenarios.Error{Problems: all})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&secrets, "secrets", false, "also resolve password/TOTP references (environment variables and files)")
	return cmd
}

func newNewCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "new", Short: "Write a new file from a template", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageErr("new what? say 'enrollsim new scenario'")
		}}
	var out string
	sc := &cobra.Command{
		Use:   "scenario",
		Short: "Print a commented example scenario (or write it with -o FILE)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				fmt.Fprint(f.IO.Out, scenarios.NewTemplate())
				return nil
			}
			if _, err := os.Stat(out); err == nil {
				return usageErr("-o %s: the file exists; choose another name", out)
			}
			if err := os.WriteFile(out, []byte(scenarios.NewTemplate()), 0o644); err != nil {
				return usageErr("-o: %v", err)
			}
			fmt.Fprintf(f.IO.ErrOut, "wrote %s; check it with 'enrollsim validate %s'\n", out, filepath.Clean(out))
			return nil
		},
	}
	sc.Flags().StringVarP(&out, "output", "o", "", "write to this new file")
	cmd.AddCommand(sc)
	return cmd
}

func newSchemaCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:       "schema [scenario|report]",
		Short:     "Print the JSON Schema of scenario files (for editor completion), or of the json report",
		Args:      cobra.MatchAll(cobra.MaximumNArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"scenario", "report"},
		RunE: func(cmd *cobra.Command, args []string) error {
			schema := scenarios.Schema()
			if len(args) == 1 && args[0] == "report" {
				schema = report.JSONSchema()
			}
			_, err := f.IO.Out.Write(schema)
			return err
		},
	}
}

func writeSuites(f *Factory) {
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tSCENARIOS\tCASES\tWHAT IT PLAYS")
	for _, s := range scenarios.BuiltIn(scenarioOptions(f.Getenv)) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", s.Name, s.Scenarios, s.Cases, s.Description)
	}
	tw.Flush()
	fmt.Fprintln(f.IO.Out, "\nPlay one with 'enrollsim run SUITE'; scenario files and directories work the same way.")
}

// standInRun is a stand-in started for a scenario's target.axm, shared by
// every case that names the same listen address.
type standInRun struct {
	*standIn
	*scenarios.AxMTarget
	reg *sim.AxMRegistration
}

func standInFor(running map[string]*standInRun, spec scenarios.CaseSpec, o *runOptions) (*standInRun, error) {
	a := spec.AxM
	if si := running[a.Listen]; si != nil {
		if fmt.Sprintf("%+v", *si.AxMTarget) != fmt.Sprintf("%+v", *a) {
			return nil, usageErr("scenario %s: target.axm on %s differs from another scenario's on the same address: give the stand-ins one configuration or separate listen addresses", spec.Case.Scenario, a.Listen)
		}
		return si, nil
	}
	st, err := openAxMState(a.State, false, time.Now())
	if err != nil {
		return nil, usageHint(fmt.Errorf("scenario %s: target.axm.state: %w", spec.Case.Scenario, err), "")
	}
	if a.Server != "" && !slices.Contains(st.names(), a.Server) {
		return nil, usageErr("scenario %s: target.axm.server %q: no such token in %s (servers: %s)", spec.Case.Scenario, a.Server, a.State, strings.Join(st.names(), ", "))
	}
	si, err := startStandIn(st, standInOptions{Listen: a.Listen, Defaults: a.Defaults, RefuseFirst: a.RefuseFirst, Now: time.Now,
		Logf: func(format string, args ...any) { o.say("axm: " + fmt.Sprintf(format, args...)) }})
	if err != nil {
		return nil, err
	}
	run := &standInRun{standIn: si, AxMTarget: a}
	running[a.Listen] = run
	return run, nil
}
