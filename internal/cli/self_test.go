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

// /dev/null is a character device but no terminal: step refuses it with a
// usage message (exit 2) instead of failing on the terminal (exit 3).
func TestDevNullIsNoTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	require.NoError(t, err)
	defer null.Close()
	assert.False(t, isTerminal(null))
	f, _, errOut := testFactory(nil)
	f.IO.In, f.IO.Out, f.IO.OutTTY = null, null, isTerminal(null)
	code := Execute(t.Context(), f, []string{"step"})
	assert.Equal(t, 2, code, errOut.String())
	assert.Contains(t, errOut.String(), "step is interactive and needs a terminal")
}
