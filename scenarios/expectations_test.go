package scenarios_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
)

func TestParseExpectations(t *testing.T) {
	x, err := scenarios.ParseExpectations("known.yaml", []byte(`
expectations:
  - check: wk-004
    case: "alice-byod/*"
    reason: JIRA-12, the CDN adds a charset
    expires: 2027-01-31
  - check: ENR-*
    reason: vendor ticket 99
`))
	require.NoError(t, err)
	require.Len(t, x.Entries, 2)
	e := x.Entries[0]
	assert.Equal(t, "WK-004", e.Check)
	assert.Equal(t, "JIRA-12, the CDN adds a charset", e.Reason)
	assert.Equal(t, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), e.Expires)
	assert.Equal(t, 3, e.Line)
	assert.Equal(t, "*", x.Entries[1].Case, "case defaults to every case")

	assert.True(t, e.MatchCase("alice-byod/iphone@18.2"))
	assert.False(t, e.MatchCase("bob-byod/iphone@18.2"))
	assert.True(t, x.Entries[1].MatchCase("iphone@18.2/user"), "* crosses the slash of case names")
	assert.True(t, e.MatchCheck("WK-004"))
	assert.True(t, x.Entries[1].MatchCheck("enr-002"))
	assert.False(t, x.Entries[1].MatchCheck("WK-004"))

	assert.False(t, e.Expired(time.Date(2027, 1, 31, 23, 59, 0, 0, time.UTC)), "the expiry day itself still applies")
	assert.True(t, e.Expired(time.Date(2027, 2, 1, 0, 0, 1, 0, time.UTC)))
	assert.False(t, x.Entries[1].Expired(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)))
	active, expired := x.Split(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	assert.Len(t, active, 1)
	assert.Len(t, expired, 1)

	assert.Equal(t, []string{"WK-004", "ENR-*"}, scenarios.Known(x.Entries, "alice-byod/mac@15.2"))
	assert.Equal(t, []string{"ENR-*"}, scenarios.Known(x.Entries, "bob/mac@15.2"))
	assert.Equal(t, []int{1, 2}, scenarios.Occurrences(x.Entries, []scenarios.Finding{
		{"alice-byod/mac@15.2", "WK-004"}, {"bob/mac@15.2", "WK-004"}, {"bob/mac@15.2", "ENR-002"}, {"alice-byod/x", "ENR-003"},
	}))
}

func TestExpectationsProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"empty", ``, []string{"bad.yaml:1:1: empty file: want expectations: with a list"}},
		{"syntax", "expectations: [\n", []string{"bad.yaml:1:16: YAML syntax:"}},
		{"not a list", "expectations: WK-001\n", []string{`bad.yaml:1:15: expectations: want a list of known findings, got the string "WK-001"`}},
		{"unknown top key", "expectation: []\n", []string{`bad.yaml:1:1: unknown key "expectation" in the expectations file; did you mean "expectations"?`}},
		{"every problem of an entry at once", `expectations:
  - chek: WK-001
    case: ""
    expires: 31/01/2027
`, []string{
			`bad.yaml:2:5: unknown key "chek" in expectations[0]; did you mean "check"? (accepted: check, case, reason, expires)`,
			"bad.yaml:2:5: expectations[0]: no reason: say why the finding is accepted",
			"bad.yaml:3:11: expectations[0].case: empty",
			`bad.yaml:4:14: expectations[0].expires "31/01/2027": want a date YYYY-MM-DD, e.g. 2027-01-31`,
		}},
		{"missing check", "expectations:\n  - reason: x\n", []string{"bad.yaml:2:5: expectations[0]: no check: say which check ID"}},
		{"unknown check", "expectations:\n  - {check: WK-999, reason: x}\n", []string{`bad.yaml:2:13: expectations[0].check: check pattern "WK-999" matches no check`}},
		{"INFO check", "expectations:\n  - {check: RD-001, reason: x}\n", []string{"bad.yaml:2:13: expectations[0].check: RD-001 is an INFO check"}},
		{"a list of checks", "expectations:\n  - {check: \"WK-001,WK-002\", reason: x}\n", []string{`bad.yaml:2:13: expectations[0].check "WK-001,WK-002": one check or pattern per entry`}},
		{"empty reason in the second entry", "expectations:\n  - {check: WK-001, reason: x}\n  - {check: WK-002, reason: \" \"}\n", []string{"bad.yaml:3:29: expectations[1].reason: empty"}},
		{"two documents", "expectations: []\n---\nexpectations: []\n", []string{"bad.yaml:2:1: a second YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scenarios.ParseExpectations("bad.yaml", []byte(tt.yaml))
			var se *scenarios.Error
			require.True(t, errors.As(err, &se), "want *scenarios.Error, got %v", err)
			require.Len(t, se.Problems, len(tt.want), se.Error())
			for i, w := range tt.want {
				assert.Contains(t, se.Problems[i].String(), w)
			}
		})
	}
}

func TestLoadExpectationsMissingFile(t *testing.T) {
	_, err := scenarios.LoadExpectations("/nonexistent/known.yaml")
	assert.ErrorContains(t, err, "/nonexistent/known.yaml: cannot read: no such file or directory")
}
