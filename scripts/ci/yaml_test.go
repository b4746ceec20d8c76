package ci_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "write the script into the GitLab template again")

const (
	actionPath   = "../../action.yml"
	templatePath = "../../ci/gitlab/enrollsim.gitlab-ci.yml"
	heredocStart = "<<'ENROLLSIM_ACTION_SH'\n"
	heredocEnd   = "ENROLLSIM_ACTION_SH\n"
)

// actionFile is the metadata syntax of a composite action; decoding it
// strictly refuses a misspelt key.
type actionFile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Author      string `yaml:"author"`
	Branding    struct {
		Icon  string `yaml:"icon"`
		Color string `yaml:"color"`
	} `yaml:"branding"`
	Inputs map[string]struct {
		Description string  `yaml:"description"`
		Required    bool    `yaml:"required"`
		Default     *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func decodeStrict(t *testing.T, path string, v any) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
	return b
}

// action.yml is a composite action of one bash step that runs the script,
// and an input reaches it only as an environment variable: "${{" never
// appears in the script's text (GitHub's script-injection rule), every
// input used is declared and every one declared is passed, and every
// output is one the script writes.
func TestActionMetadata(t *testing.T) {
	var a actionFile
	raw := decodeStrict(t, actionPath, &a)
	require.Equal(t, "composite", a.Runs.Using)
	require.Len(t, a.Runs.Steps, 1)
	step := a.Runs.Steps[0]
	assert.Equal(t, "bash", step.Shell)
	assert.Equal(t, `bash "$GITHUB_ACTION_PATH/scripts/ci/enrollsim-action.sh"`, strings.TrimSpace(step.Run))
	assert.NotContains(t, step.Run, "${{")
	body := readFile(t, script)
	assert.NotContains(t, body, "${{")

	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(raw), -1) {
		used[m[1]] = true
		assert.Contains(t, a.Inputs, m[1], "input %s used but not declared", m[1])
	}
	envOf := regexp.MustCompile(`^\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}$`)
	for name, in := range a.Inputs {
		assert.True(t, used[name], "input %s declared but not used", name)
		assert.NotEmpty(t, in.Description, "input %s", name)
		assert.False(t, in.Required, "input %s: every input has a default", name)
		assert.NotNil(t, in.Default, "input %s", name)
	}
	for k, v := range step.Env {
		assert.Regexp(t, envOf, v, "env %s passes one input as it is", k)
		assert.Contains(t, body, "${"+k, "the script reads %s", k)
	}
	assert.Len(t, step.Env, len(a.Inputs), "every input is passed as env")
	for name, out := range a.Outputs {
		assert.Equal(t, "${{ steps."+step.ID+".outputs."+name+" }}", out.Value)
		assert.Regexp(t, `output `+regexp.QuoteMeta(name)+` "`, body, "the script writes output %s", name)
	}
	assert.Equal(t, "latest", *a.Inputs["version"].Default)
	assert.Equal(t, "enrollsim-junit.xml", *a.Inputs["junit"].Default)
	assert.Equal(t, "https://github.com/enrollsim/enrollsim/releases", *a.Inputs["download-url"].Default)
	assert.Contains(t, body, "default_base=https://github.com/enrollsim/enrollsim/releases\n", "the script's default is the action's")
}

// gitlabJob is the part of a GitLab CI job the template uses; decoding it
// strictly refuses any other key.
type gitlabJob struct {
	Image     string            `yaml:"image"`
	Variables map[string]string `yaml:"variables"`
	Script    []string          `yaml:"script"`
	Artifacts struct {
		When    string   `yaml:"when"`
		Paths   []string `yaml:"paths"`
		Reports struct {
			JUnit string `yaml:"junit"`
		} `yaml:"reports"`
	} `yaml:"artifacts"`
}

func gitlabTemplate(t *testing.T) gitlabJob {
	t.Helper()
	var doc map[string]gitlabJob
	decodeStrict(t, templatePath, &doc)
	require.Len(t, doc, 1)
	job, ok := doc[".enrollsim"]
	require.True(t, ok, "the template's one job is the hidden .enrollsim")
	require.Len(t, job.Script, 1)
	return job
}

// The template is a hidden job whose variables are the script's inputs,
// whose reports are the files its script asks for, kept when the job
// fails, and whose JUnit file GitLab reads.
func TestGitLabTemplate(t *testing.T) {
	job := gitlabTemplate(t)
	assert.NotEmpty(t, job.Image)
	for _, v := range []string{"ENROLLSIM_VERSION", "ENROLLSIM_SUITE", "ENROLLSIM_ARGS", "ENROLLSIM_DOWNLOAD_URL"} {
		assert.Contains(t, job.Variables, v)
	}
	assert.Equal(t, "latest", job.Variables["ENROLLSIM_VERSION"])
	assert.Equal(t, "always", job.Artifacts.When)
	assert.Equal(t, "enrollsim-junit.xml", job.Artifacts.Reports.JUnit)
	run := job.Script[0]
	for _, f := range job.Artifacts.Paths {
		assert.Contains(t, run, `="$CI_PROJECT_DIR/`+f+`"`, "the script writes %s where the artifact is taken", f)
	}
	assert.True(t, slices.Contains(job.Artifacts.Paths, job.Artifacts.Reports.JUnit))
}

// The template carries the script whole; go test -run
// TestGitLabTemplateCarriesTheScript -update writes it in again.
func TestGitLabTemplateCarriesTheScript(t *testing.T) {
	want := readFile(t, script)
	if *update {
		raw := readFile(t, templatePath)
		start := strings.Index(raw, heredocStart)
		end := strings.Index(raw, "      "+heredocEnd)
		require.True(t, start > 0 && end > start, "heredoc markers in %s", templatePath)
		var b strings.Builder
		for _, line := range strings.SplitAfter(want, "\n") {
			if strings.TrimSpace(line) != "" {
				b.WriteString("      ")
			}
			b.WriteString(line)
		}
		raw = raw[:start+len(heredocStart)] + b.String() + raw[end:]
		require.NoError(t, os.WriteFile(templatePath, []byte(raw), 0o644))
	}
	got := carriedScript(t, gitlabTemplate(t).Script[0])
	assert.Equal(t, want, got, "the template's copy of %s differs: go test ./scripts/ci -run TestGitLabTemplateCarriesTheScript -update", script)
}

func carriedScript(t *testing.T, run string) string {
	t.Helper()
	_, body, ok := strings.Cut(run, heredocStart)
	require.True(t, ok)
	body, _, ok = strings.Cut(body, "\n"+heredocEnd)
	require.True(t, ok)
	return body + "\n"
}

// The template's job, run as a GitLab runner would run it (its variables
// and CI_PROJECT_DIR in the environment, the project as working
// directory), downloads the release and writes the JUnit report where the
// artifact is taken. GitLab itself is not run here.
func TestGitLabTemplateRuns(t *testing.T) {
	bin := enrollsimBinary(t)
	_, url := serveRelease(t, bin, "")
	job := gitlabTemplate(t)
	gl := newJob(t, url)
	vars := map[string]string{}
	for k, v := range job.Variables {
		vars[k] = v
	}
	vars["ENROLLSIM_VERSION"] = testVersion
	vars["ENROLLSIM_DOWNLOAD_URL"] = url
	vars["ENROLLSIM_SUITE"] = "qa/pass.yaml"
	vars["ENROLLSIM_WORKING_DIRECTORY"] = gl.work
	vars["CI_PROJECT_DIR"] = gl.work
	delete(gl.vars, "GITHUB_STEP_SUMMARY")
	delete(gl.vars, "GITHUB_OUTPUT")
	jobScript := filepath.Join(t.TempDir(), "job.sh")
	require.NoError(t, os.WriteFile(jobScript, []byte("set -eo pipefail\n"+job.Script[0]), 0o644))

	r := gl.runScript(t, jobScript, vars)
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	for _, f := range job.Artifacts.Paths {
		assert.FileExists(t, filepath.Join(gl.work, f))
	}
	tests, failures := junitCounts(t, filepath.Join(gl.work, job.Artifacts.Reports.JUnit))
	assert.Positive(t, tests)
	assert.Zero(t, failures)
}
