package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
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
	cleanup := func() {
		for _, s := range servers {
			s.close()
		}
	}
	for _, spec := range specs {
		c := spec.Case
		if spec.Embedded {
			key := strings.Join(spec.Faults, ",")
			es := embedded[key]
			if es == nil {
				var err error
				if es, err = startEmbedded(spec.Faults, o.Timeout, clock); err != nil {
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
			key := fmt.Sprintf("%+v", st)
			t, ok := clients[key]
			if !ok {
				timeout := st.Timeout
				if timeout == 0 {
					timeout = o.Timeout
				}
				client, err := transport.New(transport.Options{Timeout: timeout, CACertFiles: append(append([]string(nil), st.CACerts...), st.StockCAs...), Resolve: st.Resolve, ConnectTo: st.ConnectTo})
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
