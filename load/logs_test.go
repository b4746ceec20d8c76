package load_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/load"
)

// marked is r as load --report json=- prints it, after some text, each
// line carrying prefix as kubectl logs --prefix does.
func marked(t *testing.T, r *load.Result, prefix string) []string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("Load: 3 enrollments\n  enrolled 3, failed 0\n")
	require.NoError(t, load.WriteMarked(&b, r))
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		lines = append(lines, prefix+l)
	}
	return lines
}

// splitLong cuts every line over n bytes into lines of n, as a log
// pipeline that does not join a container runtime's partial lines would.
func splitLong(lines []string, n int, prefix string) []string {
	var out []string
	for _, l := range lines {
		body := strings.TrimPrefix(l, prefix)
		for len(body) > n {
			out = append(out, prefix+body[:n])
			body = body[n:]
		}
		out = append(out, prefix+body)
	}
	return out
}

func TestReadLogsFindsEveryResult(t *testing.T) {
	cfg := load.ResultConfig{Model: "closed", Devices: 90, Concurrency: 5, Mix: "iphone@18.2:1", Until: "profile"}
	a, b, c := shardResult(cfg, "1/3"), shardResult(cfg, "2/3"), shardResult(cfg, "3/3")
	join := func(parts ...[]string) string {
		var all []string
		for _, p := range parts {
			all = append(all, p...)
		}
		return strings.Join(all, "\n") + "\n"
	}
	interleave := func(x, y []string) []string {
		var out []string
		for i := 0; i < max(len(x), len(y)); i++ {
			if i < len(x) {
				out = append(out, x[i])
			}
			if i < len(y) {
				out = append(out, y[i])
			}
		}
		return out
	}
	pa, pb, pc := "[pod/enrollsim-load-0-x7k2p/load] ", "[pod/enrollsim-load-1-q9w3z/load] ", "[pod/enrollsim-load-2-m4n8v/load] "
	for _, tt := range []struct {
		name  string
		log   string
		names []string
	}{
		{"one after another", join(marked(t, a, ""), marked(t, b, ""), marked(t, c, "")),
			[]string{"stdin (result 1, line 3)", "stdin (result 2, line 8)", "stdin (result 3, line 13)"}},
		{"kubectl --prefix", join(marked(t, a, pa), marked(t, b, pb), marked(t, c, pc)),
			[]string{"stdin " + strings.TrimSpace(pa), "stdin " + strings.TrimSpace(pb), "stdin " + strings.TrimSpace(pc)}},
		{"prefixed and interleaved", join(interleave(marked(t, a, pa), marked(t, b, pb)), marked(t, c, pc)),
			[]string{"stdin " + strings.TrimSpace(pa), "stdin " + strings.TrimSpace(pb), "stdin " + strings.TrimSpace(pc)}},
		{"long lines split", join(splitLong(marked(t, a, pa), 16<<10, pa), splitLong(marked(t, b, ""), 1000, ""), marked(t, c, "")),
			[]string{"stdin " + strings.TrimSpace(pa), "", ""}}, // line numbers depend on the splits
		{"windows line ends", strings.ReplaceAll(join(marked(t, a, ""), marked(t, b, ""), marked(t, c, "")), "\n", "\r\n"),
			[]string{"stdin (result 1, line 3)", "stdin (result 2, line 8)", "stdin (result 3, line 13)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			found, err := load.ReadLogs(strings.NewReader(tt.log), "stdin")
			require.NoError(t, err)
			require.Len(t, found, 3)
			var shards []string
			for i, f := range found {
				shards = append(shards, f.Result.Config.Shards...)
				if tt.names[i] != "" {
					assert.Equal(t, tt.names[i], f.Name)
				}
			}
			assert.ElementsMatch(t, []string{"1/3", "2/3", "3/3"}, shards)
			var results []*load.Result
			for _, f := range found {
				results = append(results, f.Result)
			}
			assert.NoError(t, load.CheckShards(nil, results))
		})
	}
}

func TestReadLogsRefusesWhatIsNotWhole(t *testing.T) {
	cfg := load.ResultConfig{Model: "closed", Devices: 90, Concurrency: 5, Mix: "iphone@18.2:1", Until: "profile"}
	whole := marked(t, shardResult(cfg, "1/1"), "")
	cut := strings.Join(whole[:len(whole)-1], "\n") // no end marker
	broken := strings.Replace(strings.Join(whole, "\n"), `"config"`, `"config`, 1)
	for _, tt := range []struct{ name, log, want string }{
		{"empty", "", "no load result in it: write one with 'enrollsim load --report json=-'"},
		{"the text only", "Load: 3 enrollments\n", "kubectl logs --tail=-1"},
		{"cut short", cut, "the result that begins at line 3 does not end: the log is cut short (with kubectl logs, pass --tail=-1"},
		{"broken json", broken, "stdin (result 1, line 3): not a load result"},
		{"not a result", load.ResultBegin + "\n{\"total\": null}\n" + load.ResultEnd + "\n", "no total histogram"},
	} {
		_, err := load.ReadLogs(strings.NewReader(tt.log), "stdin")
		assert.ErrorContains(t, err, tt.want, tt.name)
	}
}
