package scenarios_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/enrollsim/enrollsim/scenarios"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(scenarios.Schema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("schema.json", doc))
	sch, err := c.Compile("schema.json")
	require.NoError(t, err)
	return sch
}

var envRefs = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// asJSON turns a YAML file into the JSON value the schema judges, with
// ${env:...} replaced first, as the loader does.
func asJSON(t *testing.T, data []byte, vars map[string]string) any {
	t.Helper()
	data = envRefs.ReplaceAllFunc(data, func(m []byte) []byte { return []byte(vars[string(envRefs.FindSubmatch(m)[1])]) })
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	return doc
}

func TestSchemaAcceptsBuiltInSuitesTemplateAndValidFiles(t *testing.T) {
	sch := compileSchema(t)
	suites, err := filepath.Glob("suites/*.yaml")
	require.NoError(t, err)
	require.Len(t, suites, 4)
	valid, err := filepath.Glob("testdata/valid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, valid)
	docs := map[string][]byte{"template": []byte(scenarios.NewTemplate())}
	for _, f := range append(suites, valid...) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[f] = b
	}
	vars := map[string]string{"QA_DOMAIN": "acme.test", "QA_DIGITS": "8"}
	for name, data := range docs {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, sch.Validate(asJSON(t, data, vars)))
		})
	}
}

// The schema rejects what the loader rejects, wherever a schema can tell.
func TestSchemaRejectsBrokenFiles(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{
		"unknown-key", "wrong-type", "embedded-and-server", "password-env-and-file", "bad-outcome",
		"unknown-step-fact", "many-problems", "no-device", "bad-matrix", "bad-duration", "bad-server",
		"not-a-mapping", "bad-suite", "device-without-version", "bom", "bad-until", "bad-commands",
		"bad-poll",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/broken/" + name + ".yaml")
			require.NoError(t, err)
			assert.Error(t, sch.Validate(asJSON(t, b, nil)))
		})
	}
}
