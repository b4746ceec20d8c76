package cli

import (
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
)

// stopBound is how long a signalled run may take to write its reports and
// exit: ten times what it takes on a loaded machine, so only a run that
// goes on (waits for a request's timeout, plays the next case) breaks it.
const stopBound = 20 * time.Second

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the built command when the tests end: no test leaves a
// folder in TMPDIR.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// enrollsimBinary builds the command once per test binary: signals are
// tested on the real process, not on a cancelled context.
func enrollsimBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "enrollsim-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "enrollsim")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/enrollsim/enrollsim/cmd/enrollsim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// slowBodyServer answers the iPhones' discovery at once and the Mac's with
// a body that trickles forever, until the client goes away. started is
// closed when the endless body has begun.
func slowBodyServer(t *testing.T) (*httptest.Server, <-chan struct{}) {
	started := make(chan struct{})
	var once sync.Once
	srv := quietTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/.well-known/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("model-family") != "Mac" {
			fmt.Fprint(w, `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://example.com/enroll"}]}`)
			return
		}
		w.WriteHeader(200)
		fmt.Fprint(w, `{"Servers":[`)
		w.(http.Flusher).Flush()
		once.Do(func() { close(started) })
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, started
}

func TestSignalStopsRunWritesReportsExits130(t *testing.T) {
	bin := enrollsimBinary(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			srv, started := slowBodyServer(t)
			dir := t.TempDir()
			ca := filepath.Join(dir, "ca.pem")
			require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
			port := srv.Listener.Addr().(*net.TCPAddr).Port
			jsonPath, junitPath, jsonlPath := filepath.Join(dir, "run.json"), filepath.Join(dir, "run.xml"), filepath.Join(dir, "run.jsonl")
			cmd := exec.Command(bin, "run", "--email", "alice@example.com", "--type", "user",
				"--device", "iphone@18.2", "--device", "iphone@26.1", "--device", "mac@15.2", "--device", "mac@26.1",
				"--connect-to", fmt.Sprintf("example.com:443:127.0.0.1:%d", port), "--cacert", ca,
				"--discovery-only", "--timeout", "60s",
				"--report", "json="+jsonPath, "--report", "junit="+junitPath, "--report", "jsonl="+jsonlPath)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-started:
			case err := <-exited:
				t.Fatalf("enrollsim ended before the slow body: %v\n%s%s", err, stdout.String(), stderr.String())
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("the Mac's discovery never reached the server")
			}
			require.NoError(t, cmd.Process.Signal(sig))
			sent := time.Now()
			var err error
			select {
			case err = <-exited:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("enrollsim ignored %s for a minute", sig)
			}
			// stopBound is a third of the 60 s request timeout the signal
			// must cut short.
			took := time.Since(sent)
			assert.Less(t, took, stopBound, "stopping took %s", took)
			var ee *exec.ExitError
			require.True(t, errors.As(err, &ee), "want an exit code, got %v", err)
			assert.Equal(t, 130, ee.ExitCode(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			assert.Contains(t, stderr.String(), "interrupted")

			var doc report.JSONReport
			raw, rerr := os.ReadFile(jsonPath)
			require.NoError(t, rerr)
			require.NoError(t, json.Unmarshal(raw, &doc), "the json report must be valid")
			assert.True(t, doc.Interrupted)
			assert.Equal(t, 130, doc.ExitCode)
			require.Len(t, doc.Cases, 3, "two finished cases and the interrupted one; the last never started")
			for _, c := range doc.Cases[:2] {
				assert.Equal(t, "discovered", c.Outcome, c.Name)
				assert.True(t, c.Passed, c.Name)
			}
			assert.Equal(t, "mac@15.2/user", doc.Cases[2].Name)
			assert.Equal(t, "interrupted", doc.Cases[2].Outcome)

			var junit struct {
				Suites []struct {
					Cases []struct {
						Name string `xml:"name,attr"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			raw, rerr = os.ReadFile(junitPath)
			require.NoError(t, rerr)
			require.NoError(t, xml.Unmarshal(raw, &junit), "the junit report must be valid XML")
			var names []string
			for _, s := range junit.Suites {
				for _, c := range s.Cases {
					names = append(names, c.Name)
				}
			}
			assert.NotEmpty(t, names)
			assert.Contains(t, string(raw), "iphone@18.2/user")
			assert.Contains(t, string(raw), "iphone@26.1/user")
			assert.Contains(t, string(raw), "mac@15.2/user")

			raw, rerr = os.ReadFile(jsonlPath)
			require.NoError(t, rerr)
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			for _, l := range lines {
				assert.True(t, json.Valid([]byte(l)), "jsonl line %q", l)
			}
			assert.Contains(t, lines[len(lines)-1], `"kind":"run-end"`)
		})
	}
}

// An embedded suite played in parallel stops as fast: every worker's case
// ends interrupted and the embedded servers shut down without waiting.
func TestSignalStopsParallelEmbeddedSuite(t *testing.T) {
	bin := enrollsimBinary(t)
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "run.json")
	cmd := exec.Command(bin, "run", "conformance", "--parallel", "4", "--report", "json="+jsonPath)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	firstCase := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		var seen strings.Builder
		signalled := false
		for {
			n, err := out.Read(buf)
			seen.Write(buf[:n])
			if !signalled && strings.Contains(seen.String(), "=== ") {
				signalled = true
				close(firstCase)
			}
			if err != nil {
				break
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case <-firstCase:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no case finished within 60 s")
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	sent := time.Now()
	select {
	case err = <-exited:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("enrollsim ignored SIGINT for a minute")
	}
	took := time.Since(sent)
	assert.Less(t, took, stopBound, "stopping took %s", took)
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "want an exit code, got %v (the suite finished before the signal?)", err)
	assert.Equal(t, 130, ee.ExitCode(), stderr.String())
	var doc report.JSONReport
	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.True(t, doc.Interrupted)
	assert.NotEmpty(t, doc.Cases)
}
