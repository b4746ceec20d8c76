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

// Aliases let a few bytes name a scenario or a value a million times; the
// loader refuses such fan-outs by what it would visit, and prints a
// repeated mistake a bounded number of times.
func TestAliasFanOutIsBounded(t *testing.T) {
	const n = 100_000
	tests := []struct {
		name, body string
		want       []string
		problems   int
	}{
		{"scenarios", "s: &s {name: x, device: iphone@18.2, account: {identifier: alice@acme.test}}\nscenarios: [" + strings.Repeat("*s,", n) + "*s]\n",
			[]string{"fan.yaml:2:12: scenarios: 100001 scenarios; a file may have at most 5000"}, 2},
		{"list", "name: x\naccount: {identifier: a@acme.test}\ndevice: iphone@18.2\ntags: [" + strings.Repeat("t,", n) + "t]\n",
			[]string{"fan.yaml:4:7: tags: 100001 items; a list may have at most 1000"}, 1},
		{"mapping", "name: x\naccount: {identifier: a@acme.test}\ndevice: iphone@18.2\nlogin: {fields: {" + strings.Repeat("a: b, ", n) + "}}\n",
			[]string{"fan.yaml:4:17: login.fields: 100000 keys; a mapping may have at most 1000"}, 1},
		{"problems", "name: x\naccount: {identifier: a@acme.test}\ndevice: iphone@18.2\nexpect: {fail: [" + strings.Repeat("NOPE-1,", 999) + "NOPE-1]}\n",
			[]string{`fan.yaml:4:17: expect.fail: unknown check "NOPE-1"`, "and 800 more problems from here on; fix those above first"}, 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "fan.yaml")
			require.NoError(t, os.WriteFile(path, []byte(tt.body), 0o644))
			_, err := scenarios.LoadFile(path, opts(nil))
			require.Error(t, err)
			var se *scenarios.Error
			require.ErrorAs(t, err, &se)
			msg := strings.ReplaceAll(err.Error(), filepath.Dir(path)+string(filepath.Separator), "")
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
			assert.Len(t, se.Problems, tt.problems)
		})
	}
}
