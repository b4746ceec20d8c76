package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

func compileReportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.JSONSchema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	require.NoError(t, c.AddResource("report.schema.json", doc))
	sch, err := c.Compile("report.schema.json")
	require.NoError(t, err)
	return sch
}

func validateReport(t *testing.T, sch *jsonschema.Schema, doc []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	require.NoError(t, err)
	return sch.Validate(v)
}

// The published schema describes the json report of real runs: the
// recorded one, hand-made ones with every verdict, an expectations file.
func TestJSONReportMatchesItsSchema(t *testing.T) {
	sch := compileReportSchema(t)
	unfinished := caseSpec{name: "cut/iphone@18.2", info: event.CaseInfo{Expect: "enroll"}, results: []check.Result{result(t, "WK-001", check.Error, "x")}}
	runs := map[string][]event.Event{
		"recorded":     loadRun(t),
		"synthetic":    syntheticRun(t),
		"expectations": knownRun(t),
		"interrupted":  runOf(t, true, unfinished),
		"empty":        nil,
	}
	for name, events := range runs {
		for _, strict := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/strict=%t", name, strict), func(t *testing.T) {
				doc := render(t, "json", events, strict)
				assert.NoError(t, validateReport(t, sch, doc))
				assert.Contains(t, string(doc), `"schema_version": "`+report.SchemaVersion+`"`)
			})
		}
	}
}

// The schema is strict enough to catch a key in another casing.
func TestReportSchemaRejectsOtherCasing(t *testing.T) {
	sch := compileReportSchema(t)
	doc := render(t, "json", loadRun(t), false)
	require.Contains(t, string(doc), `"major": 26`)
	err := validateReport(t, sch, []byte(strings.Replace(string(doc), `"major": 26`, `"Major": 26`, 1)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Major")
	assert.Error(t, validateReport(t, sch, []byte(strings.Replace(string(doc), `"schema_version": "1"`, `"schema_version": "0"`, 1))))
}

// Streams saved before the OS version keys were snake_case still load.
func TestStreamWithOldVersionKeysLoads(t *testing.T) {
	old := `{"kind":"case-start","time":"2026-12-07T06:05:38Z","case":"c","info":{"device":{"family":"iPhone","product":"iPhone17,3","name":"iPhone 16","os":{"Major":18,"Minor":2,"Patch":1},"build":"22C152"},"identifier":"a@b.test","type":"user"}}` + "\n"
	var got []event.Event
	require.NoError(t, report.ReadJSONL(strings.NewReader(old), func(ev event.Event) { got = append(got, ev) }))
	require.Len(t, got, 1)
	assert.Equal(t, "18.2.1", got[0].Info.Device.OS.String())
	var buf bytes.Buffer
	j := report.NewJSONL(&buf)
	j.Handle(got[0])
	assert.Contains(t, buf.String(), `"os":{"major":18,"minor":2,"patch":1}`)
}
