package cli

import (
	"fmt"
	"io"
	"os"
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

func newReportMergeCmd(f *Factory) *cobra.Command {
	var reports []string
	cmd := &cobra.Command{
		Use:   "merge RESULT.json...",
		Short: "Combine the json results of load shards, merging their histograms exactly",
		Example: `  enrollsim load --devices 9000 --shard 1/3 --report json=s1.json   # on three machines
  enrollsim report merge s1.json s2.json s3.json --report json=all.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var results []*load.Result
			for _, path := range args {
				in, err := os.Open(path)
				if err != nil {
					return usageErr("%s: %v", path, unwrapPathErr(err))
				}
				r, err := load.ReadJSON(in)
				in.Close()
				if err != nil {
					return usageErr("%s: %v", path, err)
				}
				results = append(results, r)
			}
			merged, err := load.Merge(results...)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := load.WriteText(f.IO.Out, merged); err != nil {
				return incompleteErr(err, "")
			}
			for _, r := range reports {
				format, path, ok := strings.Cut(r, "=")
				if !ok || path == "" || !loadReportFormat(format) {
					return usageErr("--report %q: want text=PATH, json=PATH or html=PATH", r)
				}
				if err := writeLoadReport(format, path, merged); err != nil {
					return incompleteErr(err, "")
				}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&reports, "report", nil, "also write the merged result as FORMAT=PATH (text, json, html)")
	return cmd
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
