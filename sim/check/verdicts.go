package check

import (
	"fmt"
	"slices"
)

// Verdicts are what one judge returns: a result for every check it owns, in
// the order judged. A judge starts from NewVerdicts with the IDs it owns,
// so that a verdict on a check it does not own is a bug caught at once, and
// SkipRest can give every check not judged its reason without a hand-kept
// list.
type Verdicts struct {
	owns    []string
	Results []Result
}

// NewVerdicts starts the verdicts of a judge that owns ids.
func NewVerdicts(ids ...string) *Verdicts {
	for _, id := range ids {
		if _, ok := Lookup(id); !ok {
			panic("check.NewVerdicts: unknown check " + id)
		}
	}
	return &Verdicts{owns: ids}
}

// Owns lists the checks the judge owns.
func (v *Verdicts) Owns() []string { return v.owns }

// Add appends results the judge made itself.
func (v *Verdicts) Add(rs ...Result) {
	for _, r := range rs {
		if !slices.Contains(v.owns, r.ID) {
			panic(fmt.Sprintf("check: a judge owning %v returned %s", v.owns, r.ID))
		}
		v.Results = append(v.Results, r)
	}
}

// Check judges id: ok passes; otherwise the catalogue's level decides
// between fail, warn and info (Verdict).
func (v *Verdicts) Check(id string, ok bool, expected, actual string) {
	v.Add(Verdict(id, ok, expected, actual))
}

// Skip says id does not apply here, and why.
func (v *Verdicts) Skip(id, why string) { v.Add(With(id, Skip, why)) }

// SkipAll skips every id with one reason.
func (v *Verdicts) SkipAll(why string, ids ...string) {
	for _, id := range ids {
		v.Skip(id, why)
	}
}

// Note records an observation of id that never counts against a server.
func (v *Verdicts) Note(id, what string) { v.Add(With(id, Noted, what)) }

// Error says the tester could not judge id (exit 3), and why.
func (v *Verdicts) Error(id, why string) { v.Add(With(id, Error, why)) }

// Judged reports whether id has a result yet.
func (v *Verdicts) Judged(id string) bool {
	return slices.ContainsFunc(v.Results, func(r Result) bool { return r.ID == id })
}

// SkipRest skips, with why, every owned check that has no result yet: the
// checks that depend on what a failed observation would have shown.
func (v *Verdicts) SkipRest(why string) {
	for _, id := range v.owns {
		if !v.Judged(id) {
			v.Skip(id, why)
		}
	}
}

// Missing lists the owned checks without a result: the completeness test
// requires none.
func (v *Verdicts) Missing() []string {
	var out []string
	for _, id := range v.owns {
		if !v.Judged(id) {
			out = append(out, id)
		}
	}
	return out
}
