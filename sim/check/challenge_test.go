package check

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// verdicts lists "ID status" in the order judged; nil for a nil Verdicts.
func enrVerdicts(t *testing.T, v *Verdicts) []string {
	t.Helper()
	if v == nil {
		return nil
	}
	assert.Empty(t, v.Missing(), "a judge returns every check it owns")
	var out []string
	for _, r := range v.Results {
		out = append(out, r.ID+" "+string(r.Status))
	}
	return out
}

func enrBearer(v ...string) Answer {
	return Answer{Status: 401, Header: Header{"Www-Authenticate": v}}
}

const enrAsWeb = `Bearer method="apple-as-web", url="https://mdm.test/login"`

const enrOAuth2 = `Bearer method="apple-oauth2", authorization-url="https://idp.test/a", token-url="https://idp.test/t", redirect-url="apple-remotemanagement-user-login:/oauth2/redirection", client-id="c", scope="MDM"`

func TestJudgeChallenge(t *testing.T) {
	esso := func(a Answer, k, v string) Answer { a.Header[k] = []string{v}; return a }
	tests := []struct {
		name string
		o    Challenge
		want string
	}{
		{"apple-as-web", Challenge{First: enrBearer(enrAsWeb)},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 skip, ENR-005 skip, ENR-003 pass, ENR-004 pass, ENR-007 pass"},
		{"redirected, lenient, http url, http ESSO",
			Challenge{Redirects: []string{"302 to https://b.test/"}, First: esso(enrBearer(`bearer method=apple-as-web url="http://mdm.test/login"`), "X-Apple-Mdm-Esso", "http://sso.test/")},
			"ENR-011 warn, ENR-001 pass, ENR-002 pass, ENR-006 warn, ENR-012 fail, ENR-005 skip, ENR-003 pass, ENR-004 warn, ENR-007 pass"},
		{"https ESSO", Challenge{First: esso(enrBearer(enrAsWeb), "X-Apple-Mdm-Esso", "https://sso.test/")},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 pass, ENR-005 skip, ENR-003 pass, ENR-004 pass, ENR-007 pass"},
		{"http developer ESSO warns", Challenge{First: esso(enrBearer(enrAsWeb), "X-Apple-Mdm-Esso-Developer", "http://sso.test/")},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 warn, ENR-005 skip, ENR-003 pass, ENR-004 pass, ENR-007 pass"},
		{"a url with a query: ENR-007 is the web login's", Challenge{First: enrBearer(`Bearer method="apple-as-web", url="https://mdm.test/login?tenant=a"`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 skip, ENR-005 skip, ENR-003 pass, ENR-004 pass"},
		{"no usable url", Challenge{First: enrBearer(`Bearer method="apple-as-web", url="/login"`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 skip, ENR-005 skip, ENR-003 fail, ENR-004 skip, ENR-007 skip"},
		{"apple-oauth2", Challenge{First: enrBearer(enrOAuth2)},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 skip, ENR-003 skip, ENR-004 skip, ENR-007 skip, ENR-005 pass"},
		{"apple-oauth2 without scope", Challenge{First: enrBearer(strings.Replace(enrOAuth2, `, scope="MDM"`, "", 1))},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 pass, ENR-012 skip, ENR-003 skip, ENR-004 skip, ENR-007 skip, ENR-005 fail"},
		{"Bearer beside Basic, two Bearers", Challenge{First: enrBearer(`Basic realm="x"`, `Bearer method="apple-maid"`, enrAsWeb)},
			"ENR-011 pass, ENR-001 pass, ENR-002 pass, ENR-006 warn, ENR-012 skip, ENR-005 skip, ENR-003 pass, ENR-004 pass, ENR-007 pass"},
		{"apple-maid", Challenge{First: enrBearer(`Bearer method="apple-maid"`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 fail, ENR-006 pass, ENR-012 skip, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-007 skip"},
		{"no challenge", Challenge{First: Answer{Status: 401}},
			"ENR-011 pass, ENR-001 pass, ENR-002 fail, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"Basic only", Challenge{First: enrBearer(`Basic realm="x"`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 fail, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"unparsable Bearer", Challenge{First: enrBearer(`Bearer method="apple-as-web`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 fail, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"over the reader's bound", Challenge{First: enrBearer(`Bearer url="` + strings.Repeat("a", 20<<10) + `"`)},
			"ENR-011 pass, ENR-001 pass, ENR-002 error, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"200 without a token", Challenge{First: Answer{Status: 200}},
			"ENR-011 pass, ENR-001 fail, ENR-002 skip, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"the signature refused", Challenge{BodyKind: "self-signed", First: Answer{Status: 403}},
			"ENR-011 pass, ENR-001 error, ENR-002 skip, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"no answer", Challenge{First: Answer{Err: "connection refused"}},
			"ENR-011 pass, ENR-001 error, ENR-002 skip, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
		{"rate limited", Challenge{First: Answer{Status: 429, RateLimited: "429 asks to wait 1h"}},
			"ENR-011 pass, ENR-001 error, ENR-002 skip, ENR-003 skip, ENR-004 skip, ENR-005 skip, ENR-006 skip, ENR-007 skip, ENR-012 skip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, strings.Split(tt.want, ", "), enrVerdicts(t, JudgeChallenge(&tt.o)))
		})
	}
}

func TestJudgeChallengeProbes(t *testing.T) {
	typed := func(status int) []TypedAnswer {
		return []TypedAnswer{{ContentType: "application/xml", Answer: Answer{Status: status}}}
	}
	refusal := Answer{Status: 400}
	challenged := Answer{Status: 403, Header: Header{"Www-Authenticate": {enrAsWeb}}}
	tests := []struct {
		name                    string
		o                       Challenge
		types, probes, refusals string
	}{
		{"not sent", Challenge{First: enrBearer(enrAsWeb)}, "", "", "ENR-013 pass"},
		{"as the device's", Challenge{First: enrBearer(enrAsWeb), ContentTypes: typed(401), Probes: &EnrollProbes{NotPlist: refusal, Product: &refusal}},
			"ENR-008 pass", "ENR-009 pass, ENR-010 pass", "ENR-013 pass"},
		{"garbage accepted, a challenge on a refusal", Challenge{First: enrBearer(enrAsWeb), ContentTypes: typed(415), Probes: &EnrollProbes{NotPlist: Answer{Status: 401}, Product: &challenged}},
			"ENR-008 warn", "ENR-009 warn, ENR-010 pass", "ENR-013 warn"},
		{"the product body not built", Challenge{First: enrBearer(enrAsWeb), Probes: &EnrollProbes{NotPlist: Answer{Status: 500}, ProductErr: "no key"}},
			"", "ENR-009 warn, ENR-010 error", "ENR-013 pass"},
		{"a refused first POST with a challenge", Challenge{First: Answer{Status: 400, Header: Header{"Www-Authenticate": {enrAsWeb}}}},
			"", "", "ENR-013 warn"},
		{"no answer", Challenge{First: Answer{Err: "reset"}}, "", "", "ENR-013 skip"},
	}
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ", ")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, split(tt.types), enrVerdicts(t, JudgeContentTypes(&tt.o)))
			assert.Equal(t, split(tt.probes), enrVerdicts(t, JudgeEnrollProbes(&tt.o)))
			assert.Equal(t, split(tt.refusals), enrVerdicts(t, JudgeRefusals(&tt.o)))
		})
	}
}

// The step's stop decisions read the same observation as the judges.
func TestChallengeStops(t *testing.T) {
	o := &Challenge{BodyKind: "self-signed", First: Answer{Status: 403}}
	msg, _, tester := o.FirstStop()
	assert.True(t, tester)
	assert.Contains(t, msg, "refused the simulated device signature")
	o = &Challenge{First: Answer{Status: 200}}
	msg, _, tester = o.FirstStop()
	assert.False(t, tester)
	assert.Contains(t, msg, "the device cancels")
	o = &Challenge{First: enrBearer(enrAsWeb)}
	msg, _, _ = o.FirstStop()
	assert.Empty(t, msg)

	for in, want := range map[string]string{
		enrAsWeb:                               "",
		enrOAuth2:                              "",
		`Bearer method="apple-maid"`:           `unknown method "apple-maid"`,
		`Basic realm="x"`:                      "no Bearer challenge, only Basic",
		`Bearer method="apple-as-web", url=""`: "has no usable url",
		`Bearer method="apple-oauth2"`:         "the apple-oauth2 challenge lacks",
	} {
		why, tester := ReadBearer(Header{"Www-Authenticate": {in}}).Cancel()
		assert.False(t, tester, in)
		if want == "" {
			assert.Empty(t, why, in)
		} else {
			assert.Contains(t, why, want, in)
		}
	}
	why, tester := ReadBearer(Header{"Www-Authenticate": {`Bearer url="` + strings.Repeat("a", 20<<10) + `"`}}).Cancel()
	assert.True(t, tester, "the reader's own bound")
	assert.Contains(t, why, "was not read")

	b := ReadBearer(Header{"Www-Authenticate": {`Basic realm="x"`, enrAsWeb}})
	require.True(t, b.Usable())
	assert.Equal(t, "challenge 2 of 2 (Basic, Bearer)", b.Note())
}

// Observations are saved as JSON: they must come back the same.
func TestChallengeRoundTrips(t *testing.T) {
	p := Answer{Status: 403}
	o := Challenge{BodyKind: "self-signed", ContentType: "application/pkcs7-signature", Redirects: []string{"307 to https://b/"},
		First: enrBearer(enrAsWeb), ContentTypes: []TypedAnswer{{ContentType: "application/xml", Answer: Answer{Status: 401}}},
		Probes: &EnrollProbes{NotPlist: Answer{Status: 400}, Product: &p}}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	var back Challenge
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, o, back)
	assert.Equal(t, enrVerdicts(t, JudgeChallenge(&o)), enrVerdicts(t, JudgeChallenge(&back)))
}
