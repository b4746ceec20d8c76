package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFilter(t *testing.T) {
	f, err := ParseFilter("wk-*, RD-002")
	require.NoError(t, err)
	assert.True(t, f.Match("WK-013"))
	assert.True(t, f.Match("RD-002"))
	assert.False(t, f.Match("RD-001"))
	assert.False(t, f.Match("ABM-003"))

	_, err = ParseFilter("WK-999")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"WK-999" matches no check`)
	_, err = ParseFilter("WK-[")
	require.Error(t, err)

	none, err := ParseFilter("")
	require.NoError(t, err)
	assert.True(t, none.Match("ANY-001"))
}

func TestJudgeLevels(t *testing.T) {
	assert.Equal(t, Fail, Verdict("WK-002", false, "", "").Status, "an unstarred MUST fails")
	assert.Equal(t, Warn, Verdict("WK-007", false, "", "").Status, "a starred MUST warns")
	assert.Equal(t, Warn, Verdict("WK-009", false, "", "").Status, "a SHOULD warns")
	assert.Equal(t, Noted, Verdict("WK-016", false, "", "").Status, "an INFO is only noted")
	assert.Equal(t, Pass, Verdict("WK-002", true, "", "").Status)
}
