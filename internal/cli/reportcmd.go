package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

type reportOptions struct {
	From   string
	Format string
	Output string
	Strict bool
}

// newReportCmd re-renders a saved run: the jsonl report is the event
// stream itself, so every other format can be made from it later.
func newReportCmd(f *Factory) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Render a saved run (--report jsonl=FILE) in another format",
		Example: `  enrollsim run --report jsonl=run.jsonl
  enrollsim report --from run.jsonl --format junit -o enrollsim.xml
  enrollsim report --from run.jsonl --format markdown >> "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runReport(f, o) },
	}
	cmd.Flags().StringVar(&o.From, "from", "", "the saved event stream (jsonl) to render (required)")
	cmd.Flags().StringVar(&o.Format, "format", "text", "output format: "+strings.Join(report.FormatNames(), ", "))
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "write to this file instead of stdout")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "count warnings as failures, as 'run --strict' did")
	cmd.AddCommand(newReportMergeCmd(f))
	return cmd
}

type mergeOptions struct {
	Reports    []string
	Thresholds []string
	Strict     bool
	Partial    bool
}

// readMergeInput reads the results one argument of report merge holds: a
// json result, or a log with results between marker lines ("-": stdin).
func readMergeInput(f *Factory, path string) ([]load.Logged, error) {
	if path == "-" {
		found, err := load.ReadLogs(f.IO.In, "stdin")
		if err != nil {
			return nil, usageErr("%v", err)
		}
		return found, nil
	}
	in, err := os.Open(path)
	if err != nil {
		return nil, usageErr("%s: %v", path, unwrapPathErr(err))
	}
	defer in.Close()
	br := bufio.NewReader(in)
	if first, _ := firstByte(br); first != '{' {
		found, err := load.ReadLogs(br, path)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		return found, nil
	}
	r, err := load.ReadJSON(br)
	if err != nil {
		return nil, usageErr("%s: %v", path, err)
	}
	return []load.Logged{{Name: path, Result: r}}, nil
}

// firstByte peeks at the first byte that is not white space.
func firstByte(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		if c := b[i-1]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
		if i >= 4096 {
			return 0, nil
		}
	}
}

// checkShards refuses results that are not every shard of one load, each
// once; with --partial a missing shard is named and let through.
func checkShards(f *Factory, o *mergeOptions, names []string, results []*load.Result) error {
	err := load.CheckShards(names, results)
	var missing *load.MissingShardsError
	if err == nil || !o.Partial || !errors.As(err, &missing) {
		if err != nil {
			return usageErr("%v", err)
		}
		return nil
	}
	fmt.Fprintf(f.IO.ErrOut, "report merge: --partial: shard %s missing; the merged figures leave out its arrivals\n", strings.Join(missing.Missing, ", "))
	return nil
}

func newReportMergeCmd(f *Factory) *cobra.Command {
	o := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge RESULT.json|LOG|-...",
		Short: "Combine the json results of load shards, merging their histograms exactly",
		Long: `Combine the json results of the shards of one load (--shard I/N) into the
result of the whole load, histograms merged bucket by bucket. Every shard
must be there, each once: a shard given twice, or one missing, is refused
(exit 2); --partial merges what is there and names what is missing.

A RESULT is a json file (load --report json=FILE), or a log holding results
between marker lines (load --report json=-): the output of kubectl logs of the
pods of an Indexed Job, read from a file or from stdin (-).

The merge gates as load does, on the whole load's figures: exit 1 when an
enrollment did not end enrolled (or the fail-rate threshold is crossed), a
--threshold is crossed, or with --strict a check failed; the shards' own
thresholds are not carried over.`,
		Example: `  enrollsim load --devices 9000 --shard 1/3 --report json=s1.json   # on three machines
  enrollsim report merge s1.json s2.json s3.json --report json=all.json
  enrollsim report merge s*.json --threshold 'case:p95<2s' --threshold 'fail-rate<0.1%' --report junit=load.xml
  kubectl logs -l job-name=enrollsim-load --tail=-1 --max-log-requests=50 | enrollsim report merge - --report html=load.html`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runReportMerge(f, o, args) },
	}
	cmd.Flags().StringArrayVar(&o.Reports, "report", nil, "also write the merged result as FORMAT=PATH (text, json, html, junit)")
	cmd.Flags().StringArrayVar(&o.Thresholds, "threshold", nil, "as load's: exit 1 unless this holds of the merged result (repeatable)")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "exit 1 when any check FAILed in any shard")
	cmd.Flags().BoolVar(&o.Partial, "partial", false, "merge even when shards are missing (a pod that never finished), naming them; a shard given twice is still refused")
	return cmd
}

func runReportMerge(f *Factory, o *mergeOptions, paths []string) error {
	sinks, err := parseLoadSinks(o.Reports)
	if err != nil {
		return err
	}
	thresholds, err := parseThresholds(o.Thresholds)
	if err != nil {
		return err
	}
	var (
		results []*load.Result
		names   []string
	)
	given := map[string]string{}
	for _, path := range paths {
		clean := filepath.Clean(path)
		if first, dup := given[clean]; dup {
			if first != path {
				return usageErr("%s is given twice (as %s and as %s): give each shard once", clean, first, path)
			}
			return usageErr("%s is given twice: give each shard once", path)
		}
		given[clean] = path
		found, err := readMergeInput(f, path)
		if err != nil {
			return err
		}
		for _, l := range found {
			names, results = append(names, l.Name), append(results, l.Result)
		}
	}
	if err := checkShards(f, o, names, results); err != nil {
		return err
	}
	merge := load.Merge
	if o.Partial {
		merge = load.MergePartial
	}
	merged, err := merge(results...)
	if err != nil {
		return usageErr("%v", err)
	}
	load.EvaluateThresholds(merged, thresholds)
	merged.Strict = o.Strict
	if err := writeLoadResults(f, merged, sinks); err != nil {
		var se silentExit
		if errors.As(err, &se) && se.code == report.ExitInterrupted {
			// A shard was interrupted, not this merge: its gate decides.
			if len(merged.GateProblems()) > 0 {
				return silentExit{report.ExitFailed}
			}
			return nil
		}
		return err
	}
	return nil
}

func runReport(f *Factory, o *reportOptions) error {
	if o.From == "" {
		return usageErr("--from: which saved run? e.g. --from run.jsonl (written by 'enrollsim run --report jsonl=run.jsonl')")
	}
	if _, ok := report.Formats[o.Format]; !ok {
		return usageErr("--format %q: unknown format (formats: %s)", o.Format, strings.Join(report.FormatNames(), ", "))
	}
	in, err := os.Open(o.From)
	if err != nil {
		return usageErr("--from: %v", err)
	}
	defer in.Close()
	var events []event.Event
	if err := report.ReadJSONL(in, func(ev event.Event) { events = append(events, ev) }); err != nil {
		return usageErr("--from %s: %v", o.From, err)
	}
	if len(events) == 0 {
		return usageErr("--from %s: no events: is it an enrollsim jsonl report?", o.From)
	}
	var w io.Writer = f.IO.Out
	if o.Output != "" {
		out, err := os.Create(o.Output)
		if err != nil {
			return usageErr("--output: %v", err)
		}
		defer out.Close()
		w = out
	}
	if err := report.Write(o.Format, w, events, report.Options{Strict: o.Strict, Tool: "enrollsim " + f.Version}); err != nil {
		return incompleteErr(fmt.Errorf("writing the %s report: %w", o.Format, err), "")
	}
	return nil
}
