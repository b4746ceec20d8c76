package scenarios_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/scenarios"
)

// FuzzScenarioLoad feeds the loader any bytes. It must not panic, a file it
// refuses must be refused with every problem at file:line:col (validate
// promises that), and a file it accepts must expand to devices: whatever
// the loader lets through, the run can play. The seeds are every valid and
// broken test file and the built-in suites, so `go test` runs them all.
func FuzzScenarioLoad(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/broken/*.yaml", "testdata/dupdir/*", "suites/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	const file = "fuzz.yaml"
	position := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:[1-9][0-9]*:[1-9][0-9]*: \S`)
	env := func(name string) string {
		if strings.HasPrefix(name, "SET_") {
			return "value-of-" + name
		}
		return ""
	}
	o := opts(env)
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		suite, err := scenarios.Parse(file, data, o)
		// A scenario file is small; a loader that spends seconds on one is
		// a way to hang validate in CI.
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("loading %d bytes took %s", len(data), d)
		}
		if err != nil {
			var se *scenarios.Error
			if !errors.As(err, &se) {
				t.Fatalf("error of type %T, want *scenarios.Error: %v", err, err)
			}
			if len(se.Problems) == 0 {
				t.Fatal("an error with no problems")
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !position.MatchString(line) {
					t.Fatalf("a problem without file:line:col: %q", line)
				}
			}
			return
		}
		if suite == nil || len(suite.Scenarios) == 0 {
			t.Fatal("accepted, but no scenario")
		}
		for _, sc := range suite.Scenarios {
			if _, err := sc.Expand(); err != nil {
				t.Fatalf("scenario %s was accepted but does not expand: %v", sc.Name, err)
			}
		}
	})
}
