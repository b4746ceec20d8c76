package check

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clockReads are the functions of package time that read or wait on the
// wall clock: a judge that called one would judge the same observations
// differently on another day.
var clockReads = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"Tick": true, "NewTimer": true, "NewTicker": true,
}

// A judge sends nothing and reads no clock: no file of the package imports
// net/http or calls the clock, and nothing it depends on brings net/http
// (or the engine's SCEP, PKCS#7 and HTML parsers) in.
func TestJudgesArePure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fs := token.NewFileSet()
	seen := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		seen++
		f, err := parser.ParseFile(fs, name, nil, parser.ImportsOnly|parser.ParseComments)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			assert.False(t, p == "net/http" || strings.HasPrefix(p, "net/http/"), "%s imports %s: judges send nothing", name, p)
			assert.False(t, strings.HasPrefix(p, "github.com/") || strings.HasPrefix(p, "golang.org/"),
				"%s imports %s: the judges' package stands on the standard library alone", name, p)
		}
		full, err := parser.ParseFile(fs, name, nil, 0)
		require.NoError(t, err)
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && clockReads[sel.Sel.Name] {
				t.Errorf("%s: time.%s at %s: a judge reads no clock; put the time the step saw in its observation", name, sel.Sel.Name, fs.Position(sel.Pos()))
			}
			return true
		})
	}
	assert.Greater(t, seen, 10, "the package's files were not found")

	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, dep := range strings.Fields(string(out)) {
		assert.False(t, dep == "net/http" || strings.Contains(dep, "smallstep") || strings.Contains(dep, "goquery"),
			"sim/check depends on %s", dep)
	}
	assert.Contains(t, strings.Fields(string(out)), "github.com/enrollsim/enrollsim/sim/check")
}

// The formatters read the vocabulary only: report depends on none of the
// engine's protocol libraries.
func TestReportNeedsNoEngine(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../report").CombinedOutput()
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(string(out))
	require.Contains(t, deps, "github.com/enrollsim/enrollsim/report")
	for _, dep := range deps {
		for _, banned := range []string{"smallstep", "goquery", "pquerna", "chromedp", "github.com/enrollsim/enrollsim/sim/profile",
			"github.com/enrollsim/enrollsim/sim/weblogin", "net/http/httptest"} {
			assert.NotContains(t, dep, banned, "report depends on %s", dep)
		}
		assert.NotEqual(t, "github.com/enrollsim/enrollsim/sim", dep, "report imports the engine")
	}
}
