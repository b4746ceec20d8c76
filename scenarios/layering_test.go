package scenarios_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/enrollsim/enrollsim/"

// deps lists every package the given ones import, directly or not, and
// themselves (test files aside).
func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)
	cmd := exec.Command(goBin, args...)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	return strings.Fields(string(out))
}

// TestLibraryImportsNothingInternal holds the layering of DESIGN.md: sim,
// scenarios, report, route, load and accounts are a library that a program
// outside this module can import, so none of them may depend on
// internal/... (test files aside).
func TestLibraryImportsNothingInternal(t *testing.T) {
	pkgs := deps(t, "./sim/...", "./scenarios/...", "./report/...", "./route/...", "./load/...", "./accounts/...")
	var bad []string
	for _, p := range pkgs {
		if strings.HasPrefix(p, module+"internal/") {
			bad = append(bad, p)
		}
	}
	require.Empty(t, bad, "the library packages import internal packages; pass what they need in (scenarios.Options) instead")
	for _, p := range []string{"scenarios", "load", "accounts"} {
		require.Contains(t, pkgs, module+p, "go list saw the library packages")
	}
}

// TestNoSidewaysArrows keeps the reference server below the load mode and
// the scenario loader: they are its clients, not its parts. What it shares
// with load (how pattern accounts are named and their secrets derived) is
// package accounts, which imports nothing of the project; its faults are its
// own, and the command layer hands them to the loader.
func TestNoSidewaysArrows(t *testing.T) {
	pkgs := deps(t, "./internal/refserver")
	require.Contains(t, pkgs, module+"internal/refserver", "go list saw the server")
	for _, p := range []string{"load", "scenarios"} {
		require.NotContains(t, pkgs, module+p, "internal/refserver imports %s", p)
	}
	acct := slices.DeleteFunc(deps(t, "./accounts"), func(p string) bool {
		return !strings.HasPrefix(p, module) || p == module+"accounts"
	})
	require.Empty(t, acct, "accounts is at the bottom: it imports nothing of the project")
}
