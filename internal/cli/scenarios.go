package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/transport"
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
	var specs []scenarios.CaseSpec
	seen := map[string]string{}
	for _, arg := range args {
		suite, err := scenarios.Load(arg, scenarioOptions(getenv))
		if err != nil {
			return runPlan{}, none, scenarioErr(err)
		}
		for _, sc := range suite.Scenarios {
			cs, err := sc.Cases(getenv)
			if err != nil {
				return runPlan{}, none, scenarioErr(err)
			}
			for _, c := range cs {
				if prev, dup := seen[c.Case.Name]; dup {
					return runPlan{}, none, usageErr("case %s comes from both %s and %s: give each scenario a unique name", c.Case.Name, prev, arg)
				}
				seen[c.Case.Name] = arg
				specs = append(specs, c)
			}
		}
	}
	clock := &sim.VirtualClock{}
	plan := runPlan{clock: clock}
	embedded := map[string]*embeddedServer{}
	clients := map[string]sim.Target{}
	var servers []*embeddedServer
	standIns := map[string]*standInRun{}
	cleanup := func() {
		for _, s := range servers {
			s.close()
		}
		for _, si := range standIns {
			si.close()
		}
	}
	for _, spec := range specs {
		c := spec.Case
		if spec.Embedded {
			var defaults map[device.Family]string
			if spec.AxM != nil {
				defaults = spec.AxM.Defaults
			}
			key := strings.Join(spec.Faults, ",") + "|" + sortedDefaults(defaults)
			es := embedded[key]
			if es == nil {
				var err error
				if es, err = startEmbedded(spec.Faults, defaults, o.Timeout, clock); err != nil {
					cleanup()
					return runPlan{}, none, err
				}
				embedded[key] = es
				servers = append(servers, es)
			}
			c.Target = es.target()
			c.Account = es.fillAccount(c.Account)
		} else {
			st := spec.Server
			var si *standInRun
			if spec.AxM != nil {
				var err error
				if si, err = standInFor(standIns, spec, o); err != nil {
					cleanup()
					return runPlan{}, none, err
				}
			}
			key := fmt.Sprintf("%+v", st)
			if si != nil {
				key += "|axm " + si.Listen
			}
			t, ok := clients[key]
			if !ok {
				timeout := st.Timeout
				if timeout == 0 {
					timeout = o.Timeout
				}
				cas := append(append([]string(nil), st.CACerts...), st.StockCAs...)
				if si != nil {
					// The devices reach the stand-in too (its /mdmBaseURL).
					cas = append(cas, si.st.caPath())
				}
				client, err := transport.New(transport.Options{Timeout: timeout, CACertFiles: cas, Resolve: st.Resolve, ConnectTo: st.ConnectTo})
				if err != nil {
					cleanup()
					return runPlan{}, none, usageErr("scenario %s: %v", c.Scenario, err)
				}
				t = sim.Target{Name: firstNonEmpty(st.BaseURL, "deployed server"), Doer: client, Timeout: timeout}
				if len(st.StockCAs) > 0 {
					if t.StockRoots, err = transport.StockPool(st.StockCAs); err != nil {
						cleanup()
						return runPlan{}, none, usageErr("scenario %s: stock_ca: %v", c.Scenario, err)
					}
				}
				clients[key] = t
			}
			t.AxMURL, t.AxMDeclared = c.Target.AxMURL, c.Target.AxMDeclared
			if si != nil {
				if si.reg == nil {
					// Once per stand-in, before any device: every case then
					// judges the same registration, whatever the schedule.
					reg := si.observe(o.waitContext(), si.AxMTarget, t.Doer, o.say)
					si.reg = &reg
				}
				t.AxMURL, t.AxMDeclared, t.AxM = si.deviceURL(), true, si.reg
			}
			c.Target = t
			// Deployed servers are real: the clock is.
			plan.clock = nil
		}
		plan.Cases = append(plan.Cases, c)
	}
	if len(embedded) > 0 && plan.clock == nil {
		cleanup()
		return runPlan{}, none, usageErr("one run cannot mix embedded and deployed targets (they need different clocks): run them separately")
	}
	return plan, cleanup, nil
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
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files (for editor completion)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := f.IO.Out.Write(scenarios.Schema())
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
