package scenarios

import (
	"encoding/json"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The schema and the loader know the same keys and values: a key added to
// one and not the other fails here.
func TestSchemaMatchesLoader(t *testing.T) {
	var s map[string]any
	require.NoError(t, json.Unmarshal(Schema(), &s))
	defs := s["$defs"].(map[string]any)
	props := func(obj any) map[string]any {
		return obj.(map[string]any)["properties"].(map[string]any)
	}
	keys := func(obj any) []string {
		var out []string
		for k := range props(obj) {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(in []string) []string {
		out := append([]string(nil), in...)
		sort.Strings(out)
		return out
	}
	enum := func(obj any) []string {
		var out []string
		for _, v := range obj.(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	scenario := defs["scenario"]
	target := defs["target"]
	expect := defs["expect"]
	steps := props(expect)["steps"]
	assert.Equal(t, sorted(suiteKeys), keys(defs["suite"]))
	assert.Equal(t, sorted(scenarioKeys), keys(scenario))
	assert.Equal(t, sorted(matrixKeys), keys(props(scenario)["matrix"]))
	assert.Equal(t, sorted(accountKeys), keys(defs["account"]))
	assert.Equal(t, sorted(totpKeys), keys(props(defs["account"])["totp"]))
	assert.Equal(t, sorted(targetKeys), keys(target))
	assert.Equal(t, sorted(embeddedKeys), keys(props(target)["embedded"]))
	assert.Equal(t, sorted(serverKeys), keys(props(target)["server"]))
	assert.Equal(t, sorted(deviceOptionKeys), keys(props(scenario)["device_options"]))
	assert.Equal(t, sorted(loginKeys), keys(props(scenario)["login"]))
	assert.Equal(t, sorted(expectKeys), keys(expect))
	assert.Equal(t, outcomes, enum(props(expect)["outcome"]))
	assert.Equal(t, typeValues, enum(props(scenario)["type"]))
	assert.Equal(t, untilValues, enum(props(scenario)["until"]))
	families := props(scenario)["matrix"].(map[string]any)["properties"].(map[string]any)["families"].(map[string]any)["items"]
	assert.Equal(t, familyValues, enum(families))

	var stepNames []string
	for _, st := range stepFacts {
		stepNames = append(stepNames, st.name)
		var facts []string
		for _, f := range st.facts {
			facts = append(facts, f.name)
			fact := props(props(steps)[st.name])[f.name]
			if f.values != nil {
				assert.Equal(t, f.values, enum(fact), st.name+"."+f.name)
			}
		}
		assert.Equal(t, sorted(facts), keys(props(steps)[st.name]), st.name)
	}
	assert.Equal(t, sorted(stepNames), keys(steps))
}
