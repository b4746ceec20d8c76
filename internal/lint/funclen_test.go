// Package lint holds tests of the code's shape that no single package can
// hold for the others: they read the whole module's source.
package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is the longest a function may be, counted from its func
// keyword to its closing brace. Past it a function does several things, and
// a reader has to hold all of them at once (issue 24).
const maxFuncLines = 100

// TestNoFunctionOver100Lines holds the rule for every non-test Go file of
// the module, so that a long function is split when it is written rather
// than found later.
func TestNoFunctionOver100Lines(t *testing.T) {
	root := moduleRoot(t)
	long, files, err := longFunctions(root, maxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read %d Go files under %s: not the module", files, root)
	}
	for _, l := range long {
		t.Errorf("%s: %s is %d lines, over %d: split it into a function per concern", l.pos, l.name, l.lines, maxFuncLines)
	}
}

// moduleRoot is the directory of the go.mod above the test's own.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// longFunc is a function over the limit: where it starts (relative to
// the module), its name and its length in lines.
type longFunc struct {
	pos   string
	name  string
	lines int
}

// longFunctions parses every non-test .go file under root, as the go tool
// sees the module (testdata and directories starting with . or _ left
// out), and returns the functions, methods and function literals longer
// than limit lines, and how many files it read.
func longFunctions(root string, limit int) ([]longFunc, int, error) {
	fset := token.NewFileSet()
	var long []longFunc
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		long = append(long, fileLongFunctions(fset, f, filepath.ToSlash(rel), limit)...)
		return nil
	})
	return long, files, err
}

// fileLongFunctions is longFunctions for one parsed file, named rel. A
// function literal is named after the declaration it sits in; one inside a
// long function is reported with it, not on its own.
func fileLongFunctions(fset *token.FileSet, f *ast.File, rel string, limit int) []longFunc {
	var long []longFunc
	check := func(n ast.Node, name string) bool {
		start, end := fset.Position(n.Pos()), fset.Position(n.End())
		if lines := end.Line - start.Line + 1; lines > limit {
			long = append(long, longFunc{pos: fmt.Sprintf("%s:%d", rel, start.Line), name: name, lines: lines})
			return true
		}
		return false
	}
	for _, decl := range f.Decls {
		name := declName(decl)
		if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body != nil && check(fd, name) {
			continue
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			if lit, ok := n.(*ast.FuncLit); ok {
				return !check(lit, "a function literal in "+name)
			}
			return true
		})
	}
	return long
}

// declName names a declaration as a reader looks for it: Recv.Method,
// Func, or the first name a var declares.
func declName(decl ast.Decl) string {
	switch d := decl.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil || len(d.Recv.List) == 0 {
			return d.Name.Name
		}
		return recvName(d.Recv.List[0].Type) + "." + d.Name.Name
	case *ast.GenDecl:
		for _, spec := range d.Specs {
			if vs, ok := spec.(*ast.ValueSpec); ok && len(vs.Names) > 0 {
				return d.Tok.String() + " " + vs.Names[0].Name
			}
		}
		return d.Tok.String() + " declaration"
	}
	return "a declaration"
}

// recvName is the type name of a receiver, pointer and type parameters
// dropped.
func recvName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return "?"
		}
	}
}

// TestLongFunctionsCounts keeps the rule's own counting honest: a limit
// off by one, or functions of one kind left out, would let the module test
// pass without looking.
func TestLongFunctionsCounts(t *testing.T) {
	body := func(lines int) string { return strings.Repeat("\t_ = 0\n", lines-2) }
	src := "package p\n\n" +
		"func fits() {\n" + body(100) + "}\n\n" +
		"func tooLong() {\n" + body(101) + "}\n\n" +
		"type T struct{}\n\n" +
		"func (*T) method() {\n" + body(101) + "}\n\n" +
		"var handler = func() {\n" + body(101) + "}\n\n" +
		"func outer() {\n\tgo func() {\n" + body(101) + "\t}()\n}\n"
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := fileLongFunctions(fset, f, "p.go", maxFuncLines)
	want := []longFunc{
		{pos: "p.go:104", name: "tooLong", lines: 101},
		{pos: "p.go:208", name: "T.method", lines: 101},
		{pos: "p.go:310", name: "a function literal in var handler", lines: 101},
		// Its 101-line literal is reported with it, not again.
		{pos: "p.go:412", name: "outer", lines: 103},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("long functions:\n got %v\nwant %v", got, want)
	}
}
