package check

import "slices"

// A Judge is one pure judge: the group it belongs to, what it reads, the
// checks it owns, and how it reads a case's observations. A judge sends
// nothing and reads no clock: its results are a function of the
// observations alone, so a saved observation set is judged the same way in
// a table test as in a run.
type Judge struct {
	Group string   // the catalogue prefix: WK, RD, ABM, ENR, AUTH, TOTP, TOK, PROF, CHK, SEC
	Reads string   // the observation it judges: "discovery", "profile"...
	Owns  []string // the checks it returns a result for, every time it runs
	// Run judges o; nil when the case did not make the observation this
	// judge reads (the step did not play).
	Run func(o *Observations) *Verdicts
}

var judges []Judge

// register adds a judge; every judge file registers its own in init.
func register(j Judge) { judges = append(judges, j) }

// Judges lists every registered judge, by group then by what it reads.
func Judges() []Judge {
	out := slices.Clone(judges)
	slices.SortFunc(out, func(a, b Judge) int {
		if a.Group != b.Group {
			if a.Group < b.Group {
				return -1
			}
			return 1
		}
		if a.Reads < b.Reads {
			return -1
		}
		if a.Reads > b.Reads {
			return 1
		}
		return 0
	})
	return out
}

// JudgeAll runs every judge whose observation the case made, in the order
// of Judges: what a saved observation set is judged to.
func JudgeAll(o *Observations) []Result {
	var out []Result
	for _, j := range Judges() {
		if v := j.Run(o); v != nil {
			out = append(out, v.Results...)
		}
	}
	return out
}
