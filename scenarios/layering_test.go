package scenarios_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLibraryImportsNothingInternal holds the layering of DESIGN.md: sim,
// scenarios and report are a library that a program outside this module can
// import, so none of them may depend on internal/... (test files aside).
func TestLibraryImportsNothingInternal(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", "./sim/...", "./scenarios/...", "./report/...", "./route/...")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go list: %s", out)
	const internal = "github.com/enrollsim/enrollsim/internal/"
	var bad []string
	pkgs := strings.Fields(string(out))
	for _, p := range pkgs {
		if strings.HasPrefix(p, internal) {
			bad = append(bad, p)
		}
	}
	require.Empty(t, bad, "the library packages import internal packages; pass what they need in (scenarios.Options) instead")
	require.Contains(t, pkgs, "github.com/enrollsim/enrollsim/scenarios", "go list saw the library packages")
}
