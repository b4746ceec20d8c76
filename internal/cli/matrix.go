package cli

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

type matrixOptions struct {
	runOptions
	Families []string
	Versions []string
	Format   string
}

// newMatrixCmd plays one account over a grid of devices and prints the
// outcome of each: which OS versions of which families enroll.
func newMatrixCmd(f *Factory) *cobra.Command {
	o := &matrixOptions{}
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Play one account over a device matrix and print the grid of outcomes",
		Example: `  enrollsim matrix --embedded --email carol@acme.test --type device
  enrollsim matrix --fault wellknown-404 --email alice@acme.test --families iphone,mac --format markdown
  enrollsim matrix --email alice@acme.com --password-env QA_PASSWORD --versions 17.5,18.2,26.1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMatrix(cmd.Context(), f, o) },
	}
	addRunFlags(cmd.Flags(), &o.runOptions)
	cmd.Flags().StringSliceVar(&o.Families, "families", []string{"iphone", "ipad", "mac", "vision"}, "device families (rows)")
	cmd.Flags().StringSliceVar(&o.Versions, "versions", nil, "OS versions to play for every family (default: each family's catalogue versions)")
	cmd.Flags().StringVar(&o.Format, "format", "text", "grid format: text, markdown or html")
	return cmd
}

func runMatrix(ctx context.Context, f *Factory, o *matrixOptions) error {
	if o.Email == "" {
		return usageErr("--email: which account? e.g. --email alice@acme.test --embedded")
	}
	if len(o.Devices) > 0 {
		return usageErr("--device does not apply to matrix: use --families and --versions")
	}
	switch o.Format {
	case "text", "markdown", "html":
	default:
		return usageErr("--format %q: want text, markdown or html", o.Format)
	}
	for _, v := range o.Versions {
		// Checked first, so a bad version is not blamed on the family.
		if _, err := device.ParseVersion(v); err != nil {
			return usageErr("--versions: %v", err)
		}
	}
	for _, fam := range o.Families {
		for _, d := range matrixDevices(fam, o.Versions) {
			o.Devices = append(o.Devices, d)
		}
		if len(matrixDevices(fam, o.Versions)) == 0 {
			return usageErr("--families %q: no devices (families: iphone, ipad, mac, vision)", fam)
		}
	}
	plan, cleanup, err := buildPlan(&o.runOptions, f.Getenv)
	if err != nil {
		return err
	}
	defer cleanup()
	// A grid of outcomes keeps no pictures.
	eng := &sim.Engine{Clock: f.Now, Limits: f.limits(o.Timeout, o.PageTimeout), Parallel: 2, NoScreenshots: true}
	closeBrowser := o.attachBrowser(eng)
	defer closeBrowser()
	if plan.clock != nil {
		eng.Clock, eng.TOTPClock, eng.WorkerClock = plan.clock.Now, plan.clock, plan.clock
	}
	var sum report.Summary
	if _, err := eng.Run(ctx, plan.Plan, sum.Add); err != nil {
		return silentExit{report.ExitInterrupted}
	}
	g := newGrid(&sum)
	switch o.Format {
	case "markdown":
		g.markdown(f.IO.Out)
	case "html":
		if err := g.html(f.IO.Out, o.Email); err != nil {
			return incompleteErr(err, "")
		}
	default:
		g.text(f.IO.Out)
	}
	if code := sum.ExitCode(o.Strict); code != 0 {
		return silentExit{code}
	}
	return nil
}

// matrixDevices are the device references of one family row.
func matrixDevices(family string, versions []string) []string {
	if len(versions) > 0 {
		var out []string
		for _, v := range versions {
			out = append(out, family+"@"+v)
		}
		if _, err := device.LookupDevice(out[0]); err != nil {
			return nil
		}
		return out
	}
	var out []string
	for _, d := range device.Catalogue() {
		if d.Family.Short() == family || strings.EqualFold(string(d.Family), family) {
			out = append(out, d.Ref())
		}
	}
	return out
}

// grid is outcomes by family (rows) and OS version (columns).
type grid struct {
	families []string
	versions []string
	cells    map[[2]string]string
}

// cellSymbols keep the grid narrow; the legend says what each means.
var cellSymbols = map[string]string{
	event.OutcomeEnrolled: "enrolled", event.OutcomeRefused: "refused", event.OutcomeDiscoveryFailed: "no-discovery",
	event.OutcomeAuthFailed: "auth-failed", event.OutcomeEnrollFailed: "enroll-failed", event.OutcomeProfileRejected: "profile-rejected",
	event.OutcomeIdentityFailed: "no-identity", event.OutcomeCheckInFailed: "checkin-failed", event.OutcomeUnenrolled: "unenrolled",
	event.OutcomeError: "error", event.OutcomeDiscovered: "discovered",
}

func newGrid(s *report.Summary) *grid {
	g := &grid{cells: map[[2]string]string{}}
	fams, vers := map[string]bool{}, map[string]device.Version{}
	for _, c := range s.Cases {
		fam, ver := c.Info.Device.Family.Short(), c.Info.Device.OS.String()
		if !fams[fam] {
			fams[fam] = true
			g.families = append(g.families, fam)
		}
		vers[ver] = c.Info.Device.OS
		cell := cellSymbols[c.Outcome]
		if cell == "" {
			cell = c.Outcome
		}
		if c.Counts[check.Fail] > 0 {
			cell += " ✗"
		} else if c.Counts[check.Warn] > 0 {
			cell += " !"
		}
		g.cells[[2]string{fam, ver}] = cell
	}
	for v := range vers {
		g.versions = append(g.versions, v)
	}
	sort.Slice(g.versions, func(i, j int) bool { return vers[g.versions[i]].Less(vers[g.versions[j]]) })
	return g
}

func (g *grid) cell(fam, ver string) string {
	if c, ok := g.cells[[2]string{fam, ver}]; ok {
		return c
	}
	return "·"
}

const gridLegend = "✗ a check failed, ! a check warned, · not played"

func (g *grid) text(w io.Writer) {
	width := 8
	for _, c := range g.cells {
		width = max(width, len([]rune(c))+1)
	}
	fmt.Fprintf(w, "%-8s", "")
	for _, v := range g.versions {
		fmt.Fprintf(w, "%-*s", width, v)
	}
	fmt.Fprintln(w)
	for _, fam := range g.families {
		fmt.Fprintf(w, "%-8s", fam)
		for _, v := range g.versions {
			c := g.cell(fam, v)
			fmt.Fprintf(w, "%s%s", c, strings.Repeat(" ", width-len([]rune(c))))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "\n"+gridLegend)
}

func (g *grid) markdown(w io.Writer) {
	fmt.Fprintf(w, "| family | %s |\n|---|%s\n", strings.Join(g.versions, " | "), strings.Repeat("---|", len(g.versions)))
	for _, fam := range g.families {
		row := []string{fam}
		for _, v := range g.versions {
			row = append(row, g.cell(fam, v))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(w, "\n"+gridLegend)
}

var gridHTML = template.Must(template.New("grid").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>enrollsim matrix: {{.Email}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #8888;padding:.3rem .6rem;text-align:center}
td.enrolled{background:#2e7d3233}td.refused{background:#8883}td.bad{background:#c6282833}</style></head>
<body><h1>enrollsim matrix: {{.Email}}</h1><table><tr><th>family</th>{{range .Versions}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><th>{{.Family}}</th>{{range .Cells}}<td class="{{.Class}}">{{.Text}}</td>{{end}}</tr>
{{end}}</table><p>{{.Legend}}</p></body></html>
`))

func (g *grid) html(w io.Writer, email string) error {
	type cell struct{ Text, Class string }
	type row struct {
		Family string
		Cells  []cell
	}
	var rows []row
	for _, fam := range g.families {
		r := row{Family: fam}
		for _, v := range g.versions {
			c := g.cell(fam, v)
			class := "bad"
			switch {
			case strings.HasPrefix(c, "enrolled") && !strings.ContainsAny(c, "✗!"):
				class = "enrolled"
			case strings.HasPrefix(c, "refused"), c == "·":
				class = "refused"
			}
			r.Cells = append(r.Cells, cell{c, class})
		}
		rows = append(rows, r)
	}
	return gridHTML.Execute(w, map[string]any{"Email": email, "Versions": g.versions, "Rows": rows, "Legend": gridLegend})
}
