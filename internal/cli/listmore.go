package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim/check"
)

// lookupChecks finds each ID (any case) in the whole catalogue, or says
// which is unknown and what it may have meant.
func lookupChecks(ids []string) ([]check.Spec, error) {
	var out []check.Spec
	for _, id := range ids {
		spec, ok := check.Lookup(strings.ToUpper(id))
		if !ok {
			return nil, usageHint(fmt.Errorf("no check %q%s", id, didYouMean(strings.ToUpper(id), checkIDs(true))), "'enrollsim list checks --all' lists every check")
		}
		out = append(out, spec)
	}
	return out, nil
}

func checkIDs(all bool) []string {
	list := check.Checks()
	if all {
		list = check.AllChecks()
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

// checkJSON is one check of 'list checks --json'.
type checkJSON struct {
	check.Spec
	Implemented bool     `json:"implemented"`
	TrippedBy   []string `json:"tripped_by,omitempty"` // reference-server faults that must trip it
}

func writeChecksJSON(w io.Writer, list []check.Spec) error {
	out := make([]checkJSON, len(list))
	for i, c := range list {
		out[i] = checkJSON{Spec: c, Implemented: check.Implemented(c.ID), TrippedBy: faultsTripping(c.ID)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func faultsTripping(id string) []string {
	var out []string
	for _, ft := range refserver.Faults() {
		if slices.Contains(ft.Trips, id) {
			out = append(out, ft.Name)
		}
	}
	return out
}

// writeCheckEntries prints checks in full, one block each.
func writeCheckEntries(w io.Writer, list []check.Spec, width int) {
	for i, c := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		state := "judged by the engine"
		if !check.Implemented(c.ID) {
			state = "not judged yet"
		}
		fmt.Fprintf(w, "%s · %s · %s · %s\n", c.ID, levelLabel(c), c.Group, state)
		field := func(name, text string) {
			lines := wrapWords(text, width-10)
			fmt.Fprintf(w, "  %-8s%s\n", name, lines[0])
			for _, l := range lines[1:] {
				fmt.Fprintf(w, "          %s\n", l)
			}
		}
		field("rule", plainRule(c.Rule))
		field("level", levelMeaning(c))
		if c.Source != "" {
			field("source", c.Source)
		}
		if fs := faultsTripping(c.ID); len(fs) > 0 {
			field("faults", strings.Join(fs, ", "))
		}
	}
}

func levelMeaning(c check.Spec) string {
	switch {
	case c.Level == check.Info:
		return "INFO: reported, never a failure"
	case c.Starred:
		return levelLabel(c) + ": its basis is only observed or inferred, so a violation warns"
	case c.Level == check.Should:
		return "SHOULD: a violation warns (fails with --strict)"
	}
	return "MUST: a violation fails the run"
}

// writeFaults prints each fault with what it trips and its probe, then
// what it does, wrapped at width.
func writeFaults(w io.Writer, width int) {
	for _, ft := range refserver.Faults() {
		trips := strings.Join(ft.Trips, ",")
		if trips == "" {
			trips = "-"
		}
		probe := ft.Probe + " " + ft.Account
		if ft.Driver != "" {
			probe += " (" + ft.Driver + ")" // the sign-in needs that login driver
		}
		fmt.Fprintf(w, "%s  trips %s · probe %s\n", ft.Name, trips, probe)
		for _, l := range wrapWords(ft.Doc, width-4) {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

// wrapWords breaks text into lines of at most width runes at spaces; a
// word longer than the line keeps a line of its own.
func wrapWords(text string, width int) []string {
	width = max(width, 20)
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}

// didYouMean is "; did you mean "x"?" when s is a typo of a candidate.
func didYouMean(s string, candidates []string) string {
	if m := scenarios.Suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}
