package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
)

// junitVerdicts counts the <error> and <failure> elements of a junit
// document, and names the testcases that hold them.
func junitVerdicts(t *testing.T, doc []byte) (errs, failures []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	suite, testcase := "", ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "the junit report is not well-formed XML")
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		attr := func(name string) string {
			for _, a := range start.Attr {
				if a.Name.Local == name {
					return a.Value
				}
			}
			return ""
		}
		switch start.Name.Local {
		case "testsuite":
			suite = attr("name")
		case "testcase":
			testcase = suite + " " + attr("name")
		case "error":
			errs = append(errs, testcase+": "+attr("message"))
		case "failure":
			failures = append(failures, testcase+": "+attr("message"))
		}
	}
	return errs, failures
}

// assertCITrusts checks the reports of a run that exited 0 (the full
// suite's, in TestBuiltInSuitesWithEveryReport): its junit holds no
// <error> and no <failure>, its json report matches the published schema,
// and the stream and the reports carry the tool's and the schema's version.
func assertCITrusts(t *testing.T, dir string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(dir, "out.junit"))
	require.NoError(t, err)
	errs, failures := junitVerdicts(t, doc)
	assert.Empty(t, errs, "a run that exits 0 has no <error> in its junit")
	assert.Empty(t, failures, "a run that exits 0 has no <failure> in its junit")
	assert.Contains(t, string(doc), `<property name="expected" value="`, "the negative cases' expected failures pass, saying so")
	assert.Contains(t, string(doc), `<property name="schema_version" value="`+report.SchemaVersion+`">`)

	js, err := os.ReadFile(filepath.Join(dir, "out.json"))
	require.NoError(t, err)
	assertReportSchema(t, js)

	stream, err := os.Open(filepath.Join(dir, "out.jsonl"))
	require.NoError(t, err)
	defer stream.Close()
	first, err := bufio.NewReader(stream).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, first, `"run":{"cases":`)
	assert.Contains(t, first, `"version":"test","schema_version":"`+report.SchemaVersion+`"`)
}

// assertReportSchema validates a json report against the schema the
// binary publishes.
func assertReportSchema(t *testing.T, doc []byte) {
	t.Helper()
	schema, err := jsonschema.UnmarshalJSON(bytes.NewReader(report.JSONSchema()))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	require.NoError(t, c.AddResource("report.schema.json", schema))
	sch, err := c.Compile("report.schema.json")
	require.NoError(t, err)
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	require.NoError(t, err)
	assert.NoError(t, sch.Validate(v))
}

// An unreachable target is the tester not being able to run: exit 3, and
// <error> in the junit, not <failure>.
func TestUnreachableTargetIsAJUnitError(t *testing.T) {
	dir := t.TempDir()
	junit, js := filepath.Join(dir, "out.xml"), filepath.Join(dir, "out.json")
	r := execute(t, "run", "--email", "alice@acme.test", "--device", "iphone@18.2", "--connect-to", "::127.0.0.1:1", "--timeout", "2s",
		"--report", "junit="+junit, "--report", "json="+js)
	require.Equal(t, report.ExitIncomplete, r.code, r.out+r.errOut)
	doc, err := os.ReadFile(junit)
	require.NoError(t, err)
	errs, failures := junitVerdicts(t, doc)
	assert.Contains(t, errs, "iphone@18.2/auto outcome: the case could not complete: "+outcomeMessage(t, js))
	assert.Empty(t, failures, "nothing the server did was judged")
	b, err := os.ReadFile(js)
	require.NoError(t, err)
	assertReportSchema(t, b)
}

// outcomeMessage is the first case's message in a json report.
func outcomeMessage(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc struct {
		Cases []struct {
			Message string `json:"message"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.NotEmpty(t, doc.Cases)
	return doc.Cases[0].Message
}

// A usage error writes no report file, and leaves one from an earlier run
// as it was.
func TestUsageErrorLeavesNoReportFile(t *testing.T) {
	dir := t.TempDir()
	earlier := filepath.Join(dir, "earlier.xml")
	require.NoError(t, os.WriteFile(earlier, []byte("<testsuites/>\n"), 0o644))
	reports := func() []string {
		return []string{"--report", "junit=" + filepath.Join(dir, "out.xml"), "--report", "jsonl=" + filepath.Join(dir, "out.jsonl"),
			"--report", "json=" + earlier}
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad device", []string{"run", "--email", "a@acme.test", "--device", "watch@10"}, "--device"},
		{"bad fault", []string{"run", "--fault", "nope", "--email", "a@acme.test"}, "nope"},
		{"unknown suite", []string{"run", "extra"}, "no built-in suite"},
		{"bad parallel", []string{"run", "--parallel", "0"}, "--parallel 0"},
		{"bad shard", []string{"run", "--shard", "4/3"}, "--shard"},
		{"bad checks", []string{"run", "--checks", "WK-999"}, "--checks"},
		{"device without email", []string{"run", "--device", "iphone@18.2"}, "need --email"},
		{"a later report unknown", []string{"run", "--report", "pdf=" + filepath.Join(dir, "x.pdf")}, `unknown format "pdf"`},
		{"a later report in a missing directory", []string{"run", "--report", "text=" + filepath.Join(dir, "missing", "x.txt")}, "no such file or directory"},
		{"two reports to stdout", []string{"run", "--report", "json=-", "--report", "junit=-"}, "only one report can"},
		{"two reports to one file", []string{"run", "--report", "html=" + filepath.Join(dir, "out.xml")}, "already writes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, append(reports(), tt.args...)...)
			require.Equal(t, report.ExitUsage, r.code, r.out+r.errOut)
			assert.Contains(t, r.errOut, tt.want)
			for _, name := range []string{"out.xml", "out.jsonl", "x.pdf"} {
				assert.NoFileExists(t, filepath.Join(dir, name))
			}
			b, err := os.ReadFile(earlier)
			require.NoError(t, err)
			assert.Equal(t, "<testsuites/>\n", string(b), "an earlier report is left as it was")
		})
	}
}

// --report FORMAT=- writes the report to standard output, which it then
// has to itself: the transcript goes to standard error.
func TestReportToStandardOutput(t *testing.T) {
	base := []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@18.2"}
	r := execute(t, append(base, "--report", "junit=-")...)
	require.Equal(t, 0, r.code, r.errOut)
	require.True(t, strings.HasPrefix(r.out, "<?xml"), r.out[:min(len(r.out), 200)])
	errs, failures := junitVerdicts(t, []byte(r.out))
	assert.Empty(t, append(errs, failures...))
	assert.Contains(t, r.errOut, "Summary:", "the transcript goes to standard error")
	assert.NotContains(t, r.out, "Summary:")

	r = execute(t, append(base, "--report", "jsonl=-", "--report", "json="+filepath.Join(t.TempDir(), "run.json"))...)
	require.Equal(t, 0, r.code, r.errOut)
	lines := strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
	require.Greater(t, len(lines), 10)
	for _, l := range lines {
		require.True(t, json.Valid([]byte(l)), l)
	}
	assert.Contains(t, lines[0], `"kind":"run-start"`)

	// The interactive step's standard output is its screen.
	_, err := parseReports([]string{"json=-"}, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "write the report to a file")
}

func TestVersionFallsBackToTheModuleVersion(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{}
			bi.Main.Version = v
			return bi, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		stamped string
		info    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.2.3", info("v9.9.9"), "v1.2.3"},
		{"dev", info("v1.4.0"), "v1.4.0"},
		{"", info("v0.0.0-20261207081500-0123456789ab"), "v0.0.0-20261207081500-0123456789ab"},
		{"dev", info("(devel)"), "dev"},
		{"dev", info(""), "dev"},
		{"dev", none, "dev"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, versionOf(tt.stamped, tt.info), "%q", tt.stamped)
	}
}

// The json report's schema is published with the binary.
func TestSchemaReport(t *testing.T) {
	r := execute(t, "schema", "report")
	require.Equal(t, 0, r.code, r.errOut)
	assert.Equal(t, string(report.JSONSchema()), r.out)
	assert.Contains(t, r.out, `"schema_version": {"const": "`+report.SchemaVersion+`"`)
	r = execute(t, "schema", "scenario")
	require.Equal(t, 0, r.code, r.errOut)
	assert.Contains(t, r.out, "scenario")
	assert.NotEqual(t, string(report.JSONSchema()), r.out)
}
