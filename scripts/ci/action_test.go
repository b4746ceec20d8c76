// The action's script is bash: its tests run where bash does, not on
// Windows, whose runners the script itself serves through Git's bash.
//go:build !windows

package ci_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testVersion is the tag the fake release carries, stamped into the binary
// as scripts/release.sh stamps git's.
const testVersion = "v9.9.9-ci"

const script = "enrollsim-action.sh"

var (
	buildOnce sync.Once
	buildDir  string
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// enrollsimBinary builds the real enrollsim once for all the tests, as
// scripts/release.sh does (static, trimmed, version stamped), for this
// machine, whose release file name the script will ask for.
func enrollsimBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is missing (%v): the action's script is a bash script, and these tests run it", err)
	}
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "enrollsim-action-test-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "enrollsim")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+testVersion,
			"-o", builtBin, "../../cmd/enrollsim")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
}

// releaseFile is the name scripts/release.sh gives this machine's binary.
func releaseFile(version string) string {
	return fmt.Sprintf("enrollsim_%s_%s_%s", version, runtime.GOOS, runtime.GOARCH)
}

// fakeRelease serves what GitHub's releases page serves the script:
// /latest redirecting to /tag/TAG, and /download/TAG/FILE.
type fakeRelease struct {
	version string
	files   map[string]string // file name → path on disk
	hits    sync.Map          // URL path → *atomic.Int32
}

func (f *fakeRelease) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n, _ := f.hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	switch {
	case r.URL.Path == "/latest":
		http.Redirect(w, r, "/tag/"+f.version, http.StatusFound)
	case r.URL.Path == "/tag/"+f.version:
		fmt.Fprintf(w, "<html>release %s</html>", f.version)
	case strings.HasPrefix(r.URL.Path, "/download/"+f.version+"/"):
		path, ok := f.files[strings.TrimPrefix(r.URL.Path, "/download/"+f.version+"/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, path)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeRelease) hitCount(path string) int32 {
	n, ok := f.hits.Load(path)
	if !ok {
		return 0
	}
	return n.(*atomic.Int32).Load()
}

// serveRelease serves bin as this machine's file of testVersion, with a
// SHA256SUMS line of sum (the binary's own when empty), on 127.0.0.1.
func serveRelease(t *testing.T, bin, sum string) (*fakeRelease, string) {
	t.Helper()
	if sum == "" {
		sum = sha256File(t, bin)
	}
	sums := filepath.Join(t.TempDir(), "SHA256SUMS")
	name := releaseFile(testVersion)
	// The other files of a release are listed too, as release.sh lists them.
	content := fmt.Sprintf("%s  %s\n%s  enrollsim_%s_windows_arm64.exe\n", sum, name, strings.Repeat("0", 64), testVersion)
	require.NoError(t, os.WriteFile(sums, []byte(content), 0o644))
	rel := &fakeRelease{version: testVersion, files: map[string]string{name: bin, "SHA256SUMS": sums}}
	srv := httptest.NewServer(rel)
	t.Cleanup(srv.Close)
	return rel, srv.URL
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// jobEnv is a runner's environment: its own tool cache, step summary and
// output files, a working directory holding the scenario files, and
// nothing of the environment the test runs in (no RUNNER_OS of a real runner).
type jobEnv struct {
	work, cache, summary, output string
	vars                         map[string]string
}

func newJob(t *testing.T, baseURL string) *jobEnv {
	t.Helper()
	dir := t.TempDir()
	j := &jobEnv{
		work:    filepath.Join(dir, "work"),
		cache:   filepath.Join(dir, "toolcache"),
		summary: filepath.Join(dir, "step_summary.md"),
		output:  filepath.Join(dir, "github_output"),
	}
	require.NoError(t, os.MkdirAll(filepath.Join(j.work, "qa"), 0o755))
	for _, f := range []string{"pass.yaml", "fail.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(j.work, "qa", f), b, 0o644))
	}
	// GitHub creates both files empty before the step.
	require.NoError(t, os.WriteFile(j.summary, nil, 0o644))
	require.NoError(t, os.WriteFile(j.output, nil, 0o644))
	j.vars = map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        dir,
		"TMPDIR":                      dir,
		"RUNNER_TOOL_CACHE":           j.cache,
		"GITHUB_STEP_SUMMARY":         j.summary,
		"GITHUB_OUTPUT":               j.output,
		"ENROLLSIM_DOWNLOAD_URL":      baseURL,
		"ENROLLSIM_WORKING_DIRECTORY": j.work,
	}
	return j
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the script with bash, as the action's step does, with vars
// added to the job's environment.
func (j *jobEnv) run(t *testing.T, vars map[string]string) result {
	t.Helper()
	path, err := filepath.Abs(script)
	require.NoError(t, err)
	return j.runScript(t, path, vars)
}

// runScript runs a bash script in the job's working directory.
func (j *jobEnv) runScript(t *testing.T, path string, vars map[string]string) result {
	t.Helper()
	cmd := exec.Command("bash", path)
	cmd.Dir = j.work
	for k, v := range j.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exit, ok := err.(*exec.ExitError)
		require.True(t, ok, "bash did not run: %v", err)
		code = exit.ExitCode()
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// outputs reads what the script wrote to GITHUB_OUTPUT.
func (j *jobEnv) outputs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(j.output)
	require.NoError(t, err)
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			_, dup := out[k]
			require.False(t, dup, "output %s written twice", k)
			out[k] = v
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// junitCounts parses a JUnit report and returns its testcase and failure
// counts, so a file that is not JUnit fails the test.
func junitCounts(t *testing.T, path string) (tests, failures int) {
	t.Helper()
	var doc struct {
		Suites []struct {
			Cases []struct {
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	require.NoError(t, xml.Unmarshal([]byte(readFile(t, path)), &doc))
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			tests++
			if c.Failure != nil {
				failures++
			}
		}
	}
	return tests, failures
}

// A passing suite: the latest release is found by the redirect, downloaded,
// checked and run; the reports, the step summary and the outputs are
// written and the step exits 0. A second job on the same runner takes the
// binary from the tool cache, and one whose cached binary was altered
// downloads it again.
func TestActionPassingRun(t *testing.T) {
	bin := enrollsimBinary(t)
	rel, url := serveRelease(t, bin, "")
	job := newJob(t, url)

	r := job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/pass.yaml", "ENROLLSIM_ARGS": "--strict\n--parallel 1"})
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "downloading enrollsim "+testVersion)

	junit := filepath.Join(job.work, "enrollsim-junit.xml")
	tests, failures := junitCounts(t, junit)
	assert.Positive(t, tests)
	assert.Zero(t, failures)
	summary := readFile(t, job.summary)
	assert.Contains(t, summary, "enrollsim report: PASS")
	assert.Contains(t, summary, "enrollsim "+testVersion, "the summary names the release that ran")
	assert.Equal(t, map[string]string{
		"exit-code": "0",
		"junit":     junit,
		"json":      filepath.Join(job.work, "enrollsim.json"),
		"markdown":  filepath.Join(job.work, "enrollsim-summary.md"),
	}, job.outputs(t))
	binPath := "/download/" + testVersion + "/" + releaseFile(testVersion)
	assert.Equal(t, int32(1), rel.hitCount(binPath))

	r = job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/pass.yaml", "ENROLLSIM_VERSION": testVersion})
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "from the cache")
	assert.Equal(t, int32(1), rel.hitCount(binPath), "the cached binary is used")

	cached := filepath.Join(job.cache, "enrollsim", testVersion, runtime.GOOS+"-"+runtime.GOARCH, releaseFile(testVersion))
	require.NoError(t, os.WriteFile(cached, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	r = job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/pass.yaml", "ENROLLSIM_VERSION": testVersion})
	require.Equal(t, 0, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "no longer matches its checksum")
	assert.Equal(t, int32(2), rel.hitCount(binPath))
	assert.Equal(t, sha256File(t, bin), sha256File(t, cached))
}

// A failing run: a fault of the embedded server trips WK-001, enrollsim
// exits 1 and so does the step, with every report written all the same.
func TestActionFailingRun(t *testing.T) {
	bin := enrollsimBinary(t)
	_, url := serveRelease(t, bin, "")
	job := newJob(t, url)

	r := job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/fail.yaml", "ENROLLSIM_VERSION": strings.TrimPrefix(testVersion, "v")})
	require.Equal(t, 1, r.code, "stderr:\n%s", r.stderr)

	_, failures := junitCounts(t, filepath.Join(job.work, "enrollsim-junit.xml"))
	assert.Positive(t, failures)
	var doc struct {
		ExitCode int `json:"exit_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(job.work, "enrollsim.json"))), &doc))
	assert.Equal(t, 1, doc.ExitCode)
	summary := readFile(t, job.summary)
	assert.Contains(t, summary, "enrollsim report: FAIL")
	assert.Contains(t, summary, "WK-001")
	assert.Equal(t, "1", job.outputs(t)["exit-code"])

	require.NoError(t, os.WriteFile(job.summary, nil, 0o644))
	r = job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/fail.yaml", "ENROLLSIM_VERSION": testVersion, "ENROLLSIM_SUMMARY": "false"})
	require.Equal(t, 1, r.code, "stderr:\n%s", r.stderr)
	assert.Empty(t, readFile(t, job.summary), "summary: false leaves the step summary alone")
}

// A markdown report over GitHub's 1 MiB step summary limit (which would
// drop the summary whole) goes in cut, saying where the whole one is; the
// step exits with the binary's code, whatever it is. The "binary" is a
// script that writes 2 MiB of markdown and exits 3.
func TestActionCutsAHugeSummary(t *testing.T) {
	enrollsimBinary(t)
	fake := filepath.Join(t.TempDir(), "enrollsim")
	body := `#!/bin/sh
for a in "$@"; do
  case $a in markdown=*) head -c 2097152 /dev/zero | tr '\0' 'x' >"${a#markdown=}" ;; esac
done
exit 3
`
	require.NoError(t, os.WriteFile(fake, []byte(body), 0o755))
	_, url := serveRelease(t, fake, "")
	job := newJob(t, url)

	r := job.run(t, map[string]string{"ENROLLSIM_VERSION": testVersion})
	require.Equal(t, 3, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "enrollsim run (the default suite)")
	summary := readFile(t, job.summary)
	assert.LessOrEqual(t, len(summary), 1024*1024)
	assert.Contains(t, summary, "cut at 1 MiB, the step summary limit: the whole report is enrollsim-summary.md")
	assert.Equal(t, "3", job.outputs(t)["exit-code"])
}

// A download whose checksum is not the one SHA256SUMS lists is refused and
// never run: the "binary" here would leave a mark if it were.
func TestActionRefusesChecksumMismatch(t *testing.T) {
	enrollsimBinary(t)
	dir := t.TempDir()
	mark := filepath.Join(dir, "ran")
	impostor := filepath.Join(dir, "enrollsim")
	require.NoError(t, os.WriteFile(impostor, []byte("#!/bin/sh\ntouch '"+mark+"'\n"), 0o755))
	_, url := serveRelease(t, impostor, strings.Repeat("ab", 32))
	job := newJob(t, url)

	r := job.run(t, map[string]string{"ENROLLSIM_SUITE": "qa/pass.yaml", "ENROLLSIM_VERSION": testVersion})
	assert.Equal(t, 3, r.code, "stderr:\n%s", r.stderr)
	assert.Contains(t, r.stderr, "checksum mismatch for "+releaseFile(testVersion))
	assert.Contains(t, r.stderr, "refusing to run it")
	assert.NoFileExists(t, mark, "the binary was run")
	assert.NoFileExists(t, filepath.Join(job.work, "enrollsim-junit.xml"))
	assert.Empty(t, readFile(t, job.summary))
	assert.Equal(t, map[string]string{"exit-code": "3"}, job.outputs(t))
	left, err := filepath.Glob(filepath.Join(job.cache, "enrollsim", "*", "*"))
	require.NoError(t, err)
	assert.Empty(t, left, "nothing refused stays in the cache")
}

// A version with no release is a clear error naming it, not curl's alone;
// one that is not a tag, or a download URL that is not http(s), is refused
// before any request.
func TestActionUnknownVersion(t *testing.T) {
	bin := enrollsimBinary(t)
	rel, url := serveRelease(t, bin, "")
	for _, tc := range []struct {
		version, base string // base: the server's when empty
		code          int
		says          string
	}{
		{"v0.0.1", "", 3, "not found (HTTP 404) at " + url + "/download/v0.0.1/SHA256SUMS; is there a release v0.0.1"},
		{"../../etc", "", 2, "version '../../etc' is not a release tag"},
		{"v1 --help", "", 2, "is not a release tag"},
		{testVersion, "file:///etc", 2, "download URL 'file:///etc' is not an https:// URL"},
	} {
		t.Run(tc.version+tc.base, func(t *testing.T) {
			job := newJob(t, url)
			vars := map[string]string{"ENROLLSIM_SUITE": "qa/pass.yaml", "ENROLLSIM_VERSION": tc.version}
			if tc.base != "" {
				vars["ENROLLSIM_DOWNLOAD_URL"] = tc.base
			}
			r := job.run(t, vars)
			assert.Equal(t, tc.code, r.code, "stderr:\n%s", r.stderr)
			assert.Contains(t, r.stderr, tc.says)
			assert.Equal(t, tc.code, mustAtoi(t, job.outputs(t)["exit-code"]))
		})
	}
	assert.Zero(t, rel.hitCount("/download/"+testVersion+"/"+releaseFile(testVersion)))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	require.NoError(t, err, "%q", s)
	return n
}
