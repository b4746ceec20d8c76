package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The release build (scripts/release.sh): a static linux binary stamped
// with the version, as a release archive holds it, says that version.
func TestReleaseBinaryReportsItsVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "enrollsim")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=v9.9.9-test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	f, err := elf.Open(bin)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "a static binary has no dynamic loader")
	}
	if runtime.GOOS != "linux" {
		return // built for linux: it runs only there
	}
	got, err := exec.Command(bin, "--version").CombinedOutput()
	require.NoError(t, err, string(got))
	assert.Equal(t, "enrollsim version v9.9.9-test", strings.TrimSpace(string(got)))
}

// NOTICE carries the NOTICE file of every module linked into the binary
// (Apache-2.0 §4(d)); scripts/notice.sh writes it again.
func TestNoticeHoldsEveryDependencyNotice(t *testing.T) {
	notice, err := os.ReadFile(filepath.Join("..", "..", "NOTICE"))
	require.NoError(t, err)
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{if not .Main}}{{.Path}}@{{.Version}} {{.Dir}}{{end}}{{end}}", ".").Output()
	require.NoError(t, err)
	found := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		mod, dir, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		dep, err := os.ReadFile(filepath.Join(dir, "NOTICE"))
		if err != nil {
			continue // no NOTICE: nothing to carry
		}
		found++
		assert.Contains(t, string(notice), "---- "+mod+" ----\n"+string(dep), "run scripts/notice.sh")
	}
	assert.Positive(t, found, "the binary links modules with a NOTICE (otp, prometheus)")
}
