package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumProcesses counts the processes whose command line names dir:
// the run's browser keeps its profile under the TMPDIR the test gives it.
func chromiumProcesses(dir string) int {
	n := 0
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), dir) && strings.Contains(string(b), "enrollsim-chromium-") {
			n++
		}
	}
	return n
}

// waitNoChromium waits for the browser's processes to go: the kernel
// reaps them a moment after the run ends, a longer moment on a busy machine.
func waitNoChromium(dir string) int {
	deadline := time.Now().Add(30 * time.Second)
	for chromiumProcesses(dir) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return chromiumProcesses(dir)
}

// A run in the browser writes the screenshots next to the report, names
// them without secrets, and leaves no browser process behind; nor does a
// run interrupted by SIGINT while the browser signs in.
func TestBrowserRunLeavesNoProcess(t *testing.T) {
	bin := enrollsimBinary(t)
	tmp := t.TempDir()
	out := t.TempDir()
	// The production page timeout (10 s) can expire on a loaded machine.
	args := []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--login-driver", "browser", "--no-probes", "--page-timeout", "2m"}

	cmd := exec.Command(bin, append(args, "--report", "html="+filepath.Join(out, "run.html"), "--report", "jsonl="+filepath.Join(out, "run.jsonl"))...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	assert.Contains(t, stdout.String(), "(in the browser)")
	assert.Zero(t, waitNoChromium(tmp), "browser processes left after a normal run")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	for _, e := range left {
		t.Errorf("left behind in TMPDIR after a normal run: %s", e.Name())
	}

	shots, _ := filepath.Glob(filepath.Join(out, "run-artifacts", "*", "*.png"))
	assert.Len(t, shots, 2, "one screenshot per sign-in page (password, code); stderr:\n%s", stderr.String())
	for _, s := range shots {
		assert.NotContains(t, s, "?")
		assert.NotContains(t, s, "=")
	}
	jsonl, err := os.ReadFile(filepath.Join(out, "run.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(jsonl), `"kind":"artifact"`)
	assert.NotContains(t, string(jsonl), `"data":`, "the bytes are replaced by the path")
	html, err := os.ReadFile(filepath.Join(out, "run.html"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(html), "data:image/png;base64,"), "the HTML report embeds the screenshots")

	// Interrupted while the browser is up. A sign-in takes half a second,
	// less than a poll of /proc can be sure to catch on a busy machine: the
	// login page's 404 keeps the browser waiting for a field for the whole
	// page timeout (2 min), so the SIGINT always lands while it signs in.
	cmd = exec.Command(bin, append(args, "--fault", "login-page-404")...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "NO_COLOR=1")
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(2 * time.Minute) // a wait, not a bound on speed
	for chromiumProcesses(tmp) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.NotZero(t, chromiumProcesses(tmp), "the browser never started: the count would prove nothing")
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a hang's bound; stopping takes a second
		_ = cmd.Process.Kill()
		t.Fatal("the run did not end after SIGINT")
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		assert.Contains(t, []int{130, 0}, ee.ExitCode(), stderr.String())
	}
	assert.Zero(t, waitNoChromium(tmp), "browser processes left after SIGINT")
}

// A run asked for no files leaves none: no screenshot folder
// (enrollsim-artifacts-*), no browser profile, none of the folders Chromium
// makes in TMPDIR for itself. It takes no screenshots, and says how to get
// them.
// Not parallel: TMPDIR is the process's, and the browser inherits it.
func TestRunWithoutReportLeavesNothingInTMPDIR(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f, out, errOut := testFactory(nil)
	code := Execute(context.Background(), f, []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--login-driver", "browser", "--no-probes"})
	require.Equal(t, 0, code, "%s\n%s", errOut.String(), failedCases(out.String()))
	assert.Contains(t, out.String(), "(in the browser)", "the sign-in ran in the browser: the test would prove nothing otherwise")
	assert.Contains(t, errOut.String(), "no screenshots of the browser sign-ins were taken: pass --artifacts DIR")
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	for _, e := range entries {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}

// A browser that could not start took no screenshots either, but the run
// does not say so as if --artifacts would have kept some: it names the
// missing browser and how to install one.
func TestMissingBrowserIsNamedNotItsScreenshots(t *testing.T) {
	r := execute(t, "run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1", "--login-driver", "browser", "--no-probes",
		"--browser-path", filepath.Join(t.TempDir(), "no-such-chromium"))
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.out, "no browser could be started")
	assert.Contains(t, r.out+r.errOut, "install Chromium")
	assert.NotContains(t, r.errOut, "screenshots")
}
