package check

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadSaved(t *testing.T) []Saved {
	t.Helper()
	files, err := filepath.Glob("testdata/observations/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no saved observations; record them with: go test ./sim/ -run TestObservationsAreWhatTheEngineJudged -update-observations")
	var out []Saved
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var s Saved
		require.NoError(t, json.Unmarshal(b, &s), f)
		require.NotNil(t, s.Observations, f)
		out = append(out, s)
	}
	return out
}

func groupOf(id string) string { return id[:strings.IndexByte(id, '-')] }

// Every implemented check has judges of one group only, its own; a judge
// returns only the checks it owns (Verdicts.Add holds that) and every one
// of them each time it runs, on every saved observation set.
func TestEveryCheckIsJudgedByExactlyOneGroup(t *testing.T) {
	owners := map[string]map[string]bool{}
	for _, j := range Judges() {
		require.NotEmpty(t, j.Owns, "judge %s/%s owns nothing", j.Group, j.Reads)
		for _, id := range j.Owns {
			assert.Equal(t, j.Group, groupOf(id), "judge %s/%s owns %s", j.Group, j.Reads, id)
			assert.True(t, Implemented(id), "judge %s/%s owns %s, which the catalogue does not list as judged", j.Group, j.Reads, id)
			if owners[id] == nil {
				owners[id] = map[string]bool{}
			}
			owners[id][j.Group] = true
		}
	}
	for _, c := range Checks() {
		assert.Len(t, owners[c.ID], 1, "%s: judged by groups %v; want exactly one", c.ID, owners[c.ID])
	}
	for _, s := range loadSaved(t) {
		seen := map[string]bool{}
		for _, j := range Judges() {
			v := j.Run(s.Observations)
			if v == nil {
				continue
			}
			assert.Empty(t, v.Missing(), "%s on %s: judge %s/%s left checks without a result", s.Setup, s.Device, j.Group, j.Reads)
			for _, r := range v.Results {
				seen[r.ID] = true
			}
		}
		for id := range seen {
			assert.True(t, slices.ContainsFunc(Judges(), func(j Judge) bool { return slices.Contains(j.Owns, id) }), id)
		}
	}
}

// The judges, group by group, over every saved observation set: what they
// return is what the engine emitted when it played the case.
func TestJudgesOverSavedObservations(t *testing.T) {
	saved := loadSaved(t)
	groups := map[string]bool{}
	for _, j := range Judges() {
		groups[j.Group] = true
	}
	for _, g := range slices.Sorted(func(yield func(string) bool) {
		for g := range groups {
			if !yield(g) {
				return
			}
		}
	}) {
		t.Run(g, func(t *testing.T) {
			judged := 0
			for _, s := range saved {
				var got []Result
				for _, j := range Judges() {
					if j.Group != g {
						continue
					}
					if v := j.Run(s.Observations); v != nil {
						got = append(got, v.Results...)
					}
				}
				var want []string
				for _, r := range s.Results {
					if groupOf(r) == g {
						want = append(want, r)
					}
				}
				if len(want) == 0 {
					want = []string{}
				}
				outcomes := Outcomes(got)
				assert.Equal(t, want, outcomes, "%s on %s (%s)", s.Setup, s.Device, s.Type)
				judged += len(got)
			}
			assert.Positive(t, judged, "no saved observation set exercises group %s", g)
		})
	}
}

// An observation of nothing (every field zero: a step that saw no answer
// at all) is judged without a panic, and each judge still returns a result
// for every check it owns.
func TestJudgesTakeEmptyObservations(t *testing.T) {
	var o Observations
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f.Set(reflect.New(f.Type().Elem()))
	}
	for _, j := range Judges() {
		var got *Verdicts
		require.NotPanics(t, func() { got = j.Run(&o) }, "judge %s/%s", j.Group, j.Reads)
		if got != nil {
			assert.Empty(t, got.Missing(), "judge %s/%s", j.Group, j.Reads)
		}
	}
}
