package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/load"
)

// A small load against the embedded server: every enrollment checked, the
// per-step table printed, the json result written; and two shards merged
// give the counts of one run.
func TestLoadAgainstTheEmbeddedServerAndMerge(t *testing.T) {
	dir := t.TempDir()
	var shards []string
	for _, s := range []string{"1/2", "2/2"} {
		path := filepath.Join(dir, "s"+strings.ReplaceAll(s, "/", "of")+".json")
		r := execute(t, "load", "--devices", "12", "--concurrency", "4", "--mix", "iphone@18.2:2,mac@15.2:1", "--shard", s, "--report", "json="+path)
		require.Equal(t, 0, r.code, r.out+r.errOut)
		assert.Contains(t, r.out, "web-login")
		assert.Contains(t, r.out, "enrolled 6, failed 0")
		shards = append(shards, path)
	}
	out := filepath.Join(dir, "all.json")
	r := execute(t, append(append([]string{"report", "merge"}, shards...), "--report", "json="+out)...)
	require.Equal(t, 0, r.code, r.errOut)
	assert.Contains(t, r.out, "12 enrollments")
	assert.Contains(t, r.out, "shards: 1/2, 2/2")
	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	merged, err := load.ReadJSON(f)
	require.NoError(t, err)
	assert.Equal(t, 12, merged.Enrolled())
	assert.Equal(t, int64(12), merged.Total.Count())
}

func TestLoadFailuresAndUsage(t *testing.T) {
	r := execute(t, "load", "--devices", "4", "--mix", "iphone@18.1:1", "--fault", "wellknown-404")
	assert.Equal(t, 1, r.code, "enrollments that fail make the load fail")
	assert.Contains(t, r.out, "WK-001")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"load"}, "give a number of devices"},
		{[]string{"load", "--devices", "1", "--mix", "toaster@1:1"}, "--mix"},
		{[]string{"load", "--devices", "1", "--until", "forever"}, "--until"},
		{[]string{"load", "--devices", "1", "--report", "pdf=x"}, "--report"},
		{[]string{"load", "--devices", "1", "--shard", "3/2"}, "--shard"},
		{[]string{"load", "--devices", "1", "--connect-to", "a:443:127.0.0.1:1"}, "master-secret"},
		{[]string{"load", "--devices", "1", "--master-secret-env", "NOPE", "--connect-to", "a:443:127.0.0.1:1"}, "NOPE is not set"},
		{[]string{"load", "--rate", "5"}, "needs a duration"},
		{[]string{"report", "merge", "/nonexistent.json"}, "no such file"},
	} {
		r := execute(t, tt.args...)
		assert.Equal(t, 2, r.code, "%v: %s", tt.args, r.errOut)
		assert.Contains(t, r.errOut, tt.want, tt.args)
	}
}

// --report html=PATH writes the load's HTML report with its three charts,
// for a load and for merged shards; a format it does not know is a usage
// error that names the ones it does.
func TestLoadHTMLReport(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "load.html")
	shard := filepath.Join(dir, "s.json")
	r := execute(t, "load", "--devices", "6", "--concurrency", "3", "--mix", "iphone@18.2:1", "--report", "html="+page, "--report", "json="+shard)
	require.Equal(t, 0, r.code, r.out+r.errOut)
	raw, err := os.ReadFile(page)
	require.NoError(t, err)
	out := string(raw)
	assert.True(t, strings.HasPrefix(out, "<!DOCTYPE html>"))
	assert.Contains(t, out, "Load: 6 enrollments")
	assert.Equal(t, 3, strings.Count(out, "<svg "), "three charts")
	assert.Contains(t, out, "<td>web-login</td>")

	merged := filepath.Join(dir, "merged.html")
	r = execute(t, "report", "merge", shard, "--report", "html="+merged)
	require.Equal(t, 0, r.code, r.errOut)
	raw, err = os.ReadFile(merged)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "Load: 6 enrollments")

	r = execute(t, "load", "--devices", "1", "--report", "pdf=x")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "want text=PATH, json=PATH or html=PATH")
	r = execute(t, "load", "--help")
	assert.Contains(t, r.out, "text, json, html")
}
