package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/scenarios"
)

// A scenario file is read whole: one far beyond any suite's size is refused
// before the YAML parser spends memory on it.
func TestHugeFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	body := "name: huge\ndescription: " + strings.Repeat("x", 4<<20) + "\n"
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	_, err := scenarios.LoadFile(path, opts(nil))
	require.Error(t, err)
	assert.Contains(t, err.Error(), path+":1:1: the file is ")
	assert.Contains(t, err.Error(), "at most 4194304 (4 MiB)")
}
