package kubernetes_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/enrollsim/enrollsim/load"
)

// The Indexed Job without a cluster: the server's Deployment and the Job's
// pods run as local processes with the manifests' own args and env, as
// Kubernetes would run them; only what the cluster provides is stood in
// for: the Service's DNS name (a loopback address), the mounted Secrets
// (files in a temporary folder), the ConfigMap's values (a small load), and
// each pod's own listen address (loopback, port 0). Three pods with
// JOB_COMPLETION_INDEX 0, 1 and 2 play their shards from one start-at;
// their logs, one after the other as kubectl logs prints them, piped into
// report merge, give the figures of one run of the same load.
func TestIndexedJobOnThisMachineMergesToOneRun(t *testing.T) {
	b := loadBundle(t)
	bin := buildEnrollsim(t)
	dir := t.TempDir()
	run(t, bin, nil, "", "serve", "ca", "--out", filepath.Join(dir, "ca"))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "secrets"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "master-secret"), []byte("local-indexed-job-4b7d1e\n"), 0o600))
	mounts := map[string]string{"/ca": filepath.Join(dir, "ca"), "/secrets": filepath.Join(dir, "secrets"), "/tmp": t.TempDir()}
	config := map[string]string{}
	for k, v := range b.config.Data {
		config[k] = v
	}
	config["devices"], config["accounts"], config["concurrency"] = "12", "12", "4"
	shards := b.job.Spec.Completions
	require.NotNil(t, shards)
	require.Equal(t, fmt.Sprint(*shards), env(container(t, b.job.Spec.Template.Spec))["ENROLLSIM_SHARDS"])

	// The cluster: the Deployment's pod, reached through its Service.
	service := fmt.Sprintf("%s:%d", b.service.Name, b.service.Spec.Ports[0].Port)
	srvAddr := startPod(t, bin, b.server.Spec.Template.Spec, config, mounts, nil)
	config["start-at"] = time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)
	startAt, err := time.Parse(time.RFC3339, config["start-at"])
	require.NoError(t, err)
	job := b.job.Spec.Template.Spec
	// The commands are made here, the pods run in goroutines: a require
	// may stop only the test's own goroutine.
	pods := make([]*exec.Cmd, *shards)
	for i := range pods {
		pods[i] = podCommand(t, bin, job, config, mounts, map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(i)}, service, srvAddr)
	}
	logs := make([]string, *shards)
	var wg sync.WaitGroup
	for i, cmd := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i] = runCmd(t, cmd)
		}()
	}
	wg.Wait()
	for i, l := range logs {
		found, err := load.ReadLogs(strings.NewReader(l), fmt.Sprintf("pod %d", i))
		require.NoError(t, err)
		require.Len(t, found, 1)
		assert.Equal(t, []string{fmt.Sprintf("%d/%d", i+1, *shards)}, found[0].Result.Config.Shards)
		assert.False(t, found[0].Result.Started.Before(startAt), "pod %d started at %s, before --start-at %s", i, found[0].Result.Started, startAt)
	}
	merged := filepath.Join(dir, "merged.json")
	out := run(t, bin, nil, strings.Join(logs, ""), "report", "merge", "-", "--report", "json="+merged)
	assert.Contains(t, out, fmt.Sprintf("shards: 1/%d, 2/%d, 3/%d", *shards, *shards, *shards))
	raw, err := os.ReadFile(merged)
	require.NoError(t, err)
	sum, err := load.ReadJSON(bytes.NewReader(raw))
	require.NoError(t, err)

	// One run of the same load, one pod with no index, against a server of
	// its own (a server refuses a TOTP code it has seen).
	oneAddr := startPod(t, bin, b.server.Spec.Template.Spec, config, mounts, nil)
	config["start-at"] = time.Now().UTC().Format(time.RFC3339)
	one := runCmd(t, podCommand(t, bin, job, config, mounts, map[string]string{"ENROLLSIM_SHARDS": ""}, service, oneAddr))
	found, err := load.ReadLogs(strings.NewReader(one), "one run")
	require.NoError(t, err)
	whole := found[0].Result
	assert.Equal(t, []string{"1/1"}, whole.Config.Shards)

	assert.Equal(t, 12, whole.Cases)
	assert.Equal(t, whole.Cases, sum.Cases)
	assert.Equal(t, whole.Outcomes, sum.Outcomes)
	assert.Equal(t, whole.Requests, sum.Requests)
	assert.Equal(t, whole.Checks, sum.Checks)
	assert.Equal(t, whole.Total.Count(), sum.Total.Count())
	require.Len(t, sum.Steps, len(whole.Steps))
	for step, h := range whole.Steps {
		require.NotNil(t, sum.Steps[step], step)
		assert.Equal(t, h.Count(), sum.Steps[step].Count(), step)
	}
}

var builtOnce struct {
	sync.Once
	path string
	err  error
}

// buildEnrollsim builds the binary the pods run, once per test binary.
func buildEnrollsim(t *testing.T) string {
	t.Helper()
	builtOnce.Do(func() {
		dir, err := os.MkdirTemp("", "enrollsim-k8s-")
		if err != nil {
			builtOnce.err = err
			return
		}
		builtOnce.path = filepath.Join(dir, "enrollsim")
		out, err := exec.Command("go", "build", "-o", builtOnce.path, "github.com/enrollsim/enrollsim/cmd/enrollsim").CombinedOutput()
		if err != nil {
			builtOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, builtOnce.err)
	return builtOnce.path
}

// podCommand is a pod's container as a local command: its args with
// $(VAR) expanded from its env and config (the ConfigMap's data), the
// mount paths moved to local folders, the Service's name:port to its
// address, and the pod's own listen addresses on loopback.
func podCommand(t *testing.T, bin string, spec corev1.PodSpec, config, mounts, extraEnv map[string]string, service, addr string) *exec.Cmd {
	t.Helper()
	ctr := container(t, spec)
	vars := map[string]string{}
	for _, e := range ctr.Env {
		switch {
		case e.ValueFrom == nil:
			vars[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			v, ok := config[e.ValueFrom.ConfigMapKeyRef.Key]
			require.True(t, ok, e.Name)
			vars[e.Name] = v
		}
	}
	for k, v := range extraEnv {
		vars[k] = v
	}
	for _, m := range ctr.VolumeMounts {
		require.Contains(t, mounts, m.MountPath, "a local folder for the mount %s", m.MountPath)
	}
	var args []string
	for _, a := range ctr.Args {
		a = envVarRef.ReplaceAllStringFunc(a, func(ref string) string {
			v, ok := vars[ref[2:len(ref)-1]]
			require.True(t, ok, "%s: %s is not in the pod's env", a, ref)
			return v
		})
		if flag, path, ok := strings.Cut(a, "="); ok {
			for from, to := range mounts {
				if strings.HasPrefix(path, from+"/") {
					a = flag + "=" + to + strings.TrimPrefix(path, from)
					break
				}
			}
		}
		if service != "" {
			a = strings.ReplaceAll(a, ":"+service, ":"+addr)
		}
		switch {
		case strings.HasPrefix(a, "--addr="), strings.HasPrefix(a, "--metrics-addr="):
			a = a[:strings.Index(a, "=")+1] + "127.0.0.1:0"
		}
		args = append(args, a)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + mounts["/tmp"]}
	for k, v := range vars {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.Env = append(cmd.Env, "TMPDIR="+mounts["/tmp"])
	return cmd
}

var listening = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// startPod runs the server's pod until the test ends and returns where it
// listens.
func startPod(t *testing.T, bin string, spec corev1.PodSpec, config, mounts, extraEnv map[string]string) string {
	t.Helper()
	cmd := podCommand(t, bin, spec, config, mounts, extraEnv, "", "")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		close(addr)
	}()
	a, ok := <-addr
	require.True(t, ok, "the server pod did not say where it listens: %s", stderr.String())
	return a
}

// runCmd runs one of the Job's pods to its end and returns its log
// (stdout), as kubectl logs gives it. It may run in any goroutine.
func runCmd(t *testing.T, cmd *exec.Cmd) string {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%v: %v\n%s%s", cmd.Args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// run runs the binary to its end with stdin, requiring exit 0.
func run(t *testing.T, bin string, extraEnv []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%v: %s", args, stderr.String())
	return stdout.String()
}
