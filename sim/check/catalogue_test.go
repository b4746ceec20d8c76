package check

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The catalogue in code is the spec digest's, row for row: ID, level, star.
// The rule texts are generated from it; this catches a digest revision that
// the code has not taken in.
func TestCatalogueMatchesSpec(t *testing.T) {
	src, err := os.ReadFile("../../../shared/spec/account-driven-enrollment.md")
	require.NoError(t, err, "the spec digest is expected beside the repository, as in CI")
	row := regexp.MustCompile(`(?m)^\| ([A-Z]+-\d{3})(\*?) \| (MUST|SHOULD|INFO) \|`)
	matches := row.FindAllStringSubmatch(string(src), -1)
	require.Len(t, matches, len(specCatalogue))
	for i, m := range matches {
		c := specCatalogue[i]
		assert.Equal(t, m[1], c.ID)
		assert.Equal(t, m[2] == "*", c.Starred, c.ID)
		assert.Equal(t, Level(m[3]), c.Level, c.ID)
	}
}

// Sources the issue checked against Apple's text and found not to be
// Apple's say [I], whatever the digest cites (issue 22: CHK-007).
func TestInferredSourcesCiteNoApple(t *testing.T) {
	for _, id := range []string{"CHK-007"} {
		c, ok := Lookup(id)
		require.True(t, ok, id)
		assert.Regexp(t, `^\[I\]`, c.Source, id)
		assert.NotContains(t, c.Source, "[A]", id)
		res := Verdict(id, false, "x", "y")
		assert.Equal(t, c.Source, res.Source, "%s: results carry the catalogue's source", id)
	}
}
