package check

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func enrTokenProbes(statuses ...int) []TokenProbe {
	var out []TokenProbe
	for i, s := range statuses {
		out = append(out, TokenProbe{What: "probe " + string(rune('a'+i)), Status: s, Challenged: s == 401})
	}
	return out
}

func TestJudgeEnroll(t *testing.T) {
	enrolled := TokenAnswer{Status: 200, Bytes: 900}
	tests := []struct {
		name            string
		o               Enroll
		tok, prof, auth string
	}{
		{"web login, no probes", Enroll{Answer: enrolled, Callback: &CallbackToken{}},
			"TOK-002 skip, TOK-003 skip, TOK-001 pass", "PROF-001 pass", "AUTH-005 pass, AUTH-015 skip"},
		{"probes refused well", Enroll{Probes: enrTokenProbes(401, 400, 403, 401), Answer: enrolled},
			"TOK-002 pass, TOK-003 pass, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 skip"},
		{"a random token accepted, a 5xx, a bare 401", Enroll{Probes: []TokenProbe{{What: "no token", Status: 401}, {What: "a", Status: 500}, {What: "b", Status: 200}}, Answer: enrolled},
			"TOK-002 fail, TOK-003 warn, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 skip"},
		{"probes unanswered", Enroll{Probes: []TokenProbe{{What: "no token", Status: 401, Challenged: true}, {What: "a", NoAnswer: "reset"}}, Answer: enrolled},
			"TOK-002 error, TOK-003 error, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 skip"},
		{"empty body", Enroll{Answer: TokenAnswer{Status: 200}},
			"TOK-002 skip, TOK-003 skip, TOK-001 fail", "PROF-001 fail", "AUTH-005 skip, AUTH-015 skip"},
		{"the decoded token refused", Enroll{Answer: TokenAnswer{Status: 401}, Callback: &CallbackToken{Differs: true}, OAuth2: false},
			"TOK-002 skip, TOK-003 skip, TOK-001 fail", "PROF-001 fail", "AUTH-005 warn, AUTH-015 skip"},
		{"bad percent-encoding", Enroll{Answer: TokenAnswer{Status: 403}, Callback: &CallbackToken{DecodeErr: `invalid URL escape "%zz"`}},
			"TOK-002 skip, TOK-003 skip, TOK-001 fail", "PROF-001 fail", "AUTH-005 warn, AUTH-015 skip"},
		{"refused, not for the encoding", Enroll{Answer: TokenAnswer{Status: 500}, Callback: &CallbackToken{Differs: true}},
			"TOK-002 skip, TOK-003 skip, TOK-001 fail", "PROF-001 fail", "AUTH-005 skip, AUTH-015 skip"},
		{"no answer", Enroll{Answer: TokenAnswer{Err: "reset", Unjudgeable: "no answer: reset"}, Callback: &CallbackToken{}},
			"TOK-002 skip, TOK-003 skip, TOK-001 error", "PROF-001 error", "AUTH-005 skip, AUTH-015 skip"},
		{"a 200 that broke off", Enroll{Answer: TokenAnswer{Status: 200, Bytes: 10, Unjudgeable: "broke off"}, Callback: &CallbackToken{}},
			"TOK-002 skip, TOK-003 skip, TOK-001 error", "PROF-001 error", "AUTH-005 pass, AUTH-015 skip"},
		{"oauth2 refreshed", Enroll{Answer: enrolled, OAuth2: true, RefreshToken: true, Refresh: &Grant{Status: 200}},
			"TOK-002 skip, TOK-003 skip, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 pass"},
		{"oauth2 refresh refused", Enroll{Answer: enrolled, OAuth2: true, RefreshToken: true, Refresh: &Grant{Status: 400, Problems: []string{"no access_token"}}},
			"TOK-002 skip, TOK-003 skip, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 warn"},
		{"oauth2 refresh unanswered", Enroll{Answer: enrolled, OAuth2: true, RefreshToken: true, Refresh: &Grant{Unjudgeable: "no answer"}},
			"TOK-002 skip, TOK-003 skip, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 error"},
		{"oauth2 without a refresh token", Enroll{Answer: enrolled, OAuth2: true},
			"TOK-002 skip, TOK-003 skip, TOK-001 pass", "PROF-001 pass", "AUTH-005 skip, AUTH-015 skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, strings.Split(tt.tok, ", "), enrVerdicts(t, JudgeEnrollToken(&tt.o)))
			assert.Equal(t, strings.Split(tt.prof, ", "), enrVerdicts(t, JudgeEnrollAnswer(&tt.o)))
			assert.Equal(t, strings.Split(tt.auth, ", "), enrVerdicts(t, JudgeEnrollAuth(&tt.o)))
		})
	}
}

// The judges registered for the enroll step read only its observation.
func TestEnrollJudgesRegistered(t *testing.T) {
	o := &Observations{Enroll: &Enroll{Answer: TokenAnswer{Status: 200, Bytes: 1}}}
	var got []string
	for _, r := range JudgeAll(o) {
		got = append(got, r.ID)
	}
	assert.ElementsMatch(t, []string{"TOK-002", "TOK-003", "TOK-001", "PROF-001", "AUTH-005", "AUTH-015"}, got)
}

func TestEnrollRoundTrips(t *testing.T) {
	o := Enroll{Probes: enrTokenProbes(401, 400), Answer: TokenAnswer{Status: 200, Bytes: 5}, Callback: &CallbackToken{Differs: true},
		OAuth2: true, RefreshToken: true, Refresh: &Grant{Status: 400, Problems: []string{"x"}}}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	var back Enroll
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, o, back)
}
