package cli

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serve's printed command calls the binary the way that works when pasted:
// by name when PATH finds this binary, else by the path it was started by.
func TestInvokedAs(t *testing.T) {
	dir := t.TempDir()
	built := filepath.Join(dir, "bin", "enrollsim")
	other := filepath.Join(dir, "go", "bin", "enrollsim")
	for _, p := range []string{built, other} {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	}
	t.Chdir(dir)
	onPath := func(p string) func(string) (string, error) {
		return func(string) (string, error) { return p, nil }
	}
	notOnPath := func(string) (string, error) { return "", errors.New("not found") }
	for _, tc := range []struct {
		name, arg0 string
		look       func(string) (string, error)
		want       string
	}{
		{"from PATH", "enrollsim", onPath(other), "enrollsim"},
		{"bin/enrollsim, none on PATH", "bin/enrollsim", notOnPath, built},
		{"bin/enrollsim, another on PATH", "./bin/enrollsim", onPath(other), built},
		{"the one on PATH by its path", other, onPath(other), "enrollsim"},
		{"no arg0", "", notOnPath, "enrollsim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, invokedAs(tc.arg0, tc.look))
		})
	}
	f := &Factory{Self: "/home/a b/bin/enrollsim"}
	assert.Equal(t, "'/home/a b/bin/enrollsim' run --email x", f.asInvoked("enrollsim run --email x"))
	assert.Equal(t, "enrollsim run", (&Factory{}).asInvoked("enrollsim run"))
	assert.Equal(t, "/opt/enrollsim run", (&Factory{Self: "/opt/enrollsim"}).asInvoked("enrollsim run"))
}
