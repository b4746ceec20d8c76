package check

import "sort"

// Saved is one case's observations as the engine saw them against the
// reference server (a fault, or none), with the results the engine emitted:
// sim's TestObservationsAreWhatTheEngineJudged writes them with
// -update-observations.
type Saved struct {
	Setup        string        `json:"setup"` // the fault, or "conforming"
	Device       string        `json:"device"`
	Type         string        `json:"type"`
	Observations *Observations `json:"observations"`
	Results      []string      `json:"results"` // "WK-001 pass", sorted
}

// Outcomes is a results list as Saved keeps it: "ID status", sorted.
func Outcomes(rs []Result) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.ID+" "+string(r.Status))
	}
	sort.Strings(out)
	return out
}
