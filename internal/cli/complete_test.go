package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Shell completion offers the values each flag takes, and the built-in
// suites for run's arguments.
func TestCompletion(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--fault", "wellk"}, []string{"wellknown-404\t", "redirect-loop\t"}},
		{[]string{"serve", "--fault", ""}, []string{"wellknown-404\t"}},
		{[]string{"run", "--device", ""}, []string{"iphone@18.2\t", "mac@15.2\t"}},
		{[]string{"step", "--device", ""}, []string{"iphone@18.2\t"}},
		{[]string{"run", "--until", ""}, []string{"profile\t", "checkin\t", "ddm\t"}},
		{[]string{"run", "--report", ""}, []string{"junit=", "jsonl=", "html="}},
		{[]string{"run", "--checks", "WK-001,RD"}, []string{"WK-001,RD-001\t", "WK-001,RD-*\t"}},
		{[]string{"run", "--expect-fail", ""}, []string{"PROF-004\t"}},
		{[]string{"run", "--type", ""}, []string{"user\t", "device\t", "auto\t"}},
		{[]string{"run", ""}, []string{"demo\n", "conformance\n", "negative\n"}},
		{[]string{"list", "checks", ""}, []string{"TOK-006\t"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := execute(t, append([]string{"__complete"}, tc.args...)...)
			require.Equal(t, 0, r.code, r.errOut)
			for _, w := range tc.want {
				assert.Contains(t, r.out, w)
			}
		})
	}
}

// A typo of a flag, a fault or a suite gets what it may have meant.
func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--emial", "a@acme.test"}, "unknown flag: --emial; did you mean --email?"},
		{[]string{"run", "--fault", "wellknown-40", "--email", "a@acme.test"}, `--fault "wellknown-40": no such fault; did you mean "wellknown-404"?`},
		{[]string{"serve", "--fault", "redirect-lop"}, `did you mean "redirect-loop"?`},
		{[]string{"run", "dmeo"}, `dmeo: no such file or directory, and no built-in suite of that name; did you mean "demo"?`},
		{[]string{"step", "negativ"}, `did you mean "negative"?`},
		{[]string{"list", "checks", "PROF-04"}, `no check "PROF-04"; did you mean "PROF-004"?`},
		{[]string{"rnu"}, "Did you mean this?\n\trun"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := execute(t, tc.args...)
			assert.Equal(t, 2, r.code, r.errOut)
			assert.Contains(t, r.errOut, tc.want)
			assert.Empty(t, r.out)
		})
	}
	// No suggestion for what is far from everything.
	r := execute(t, "run", "--zzzzzzzz")
	assert.NotContains(t, r.errOut, "did you mean")
}

// list checks ID prints one check in full; --json the catalogue's fields.
func TestListChecksEntryAndJSON(t *testing.T) {
	r := execute(t, "list", "checks", "prof-004")
	require.Equal(t, 0, r.code, r.errOut)
	assert.Contains(t, r.out, "PROF-004 · MUST · ")
	assert.Contains(t, r.out, "  rule    EnrollmentMode is present")
	assert.Contains(t, r.out, "  source  ")
	assert.Contains(t, r.out, "  faults  profile-wrong-mode")

	r = execute(t, "list", "checks", "--json")
	require.Equal(t, 0, r.code, r.errOut)
	var got []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	require.NotEmpty(t, got)
	for _, k := range []string{"id", "level", "starred", "group", "rule", "source", "implemented"} {
		assert.Contains(t, got[0], k)
	}
	r = execute(t, "list", "checks", "TOK-006", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.out), &got))
	require.Len(t, got, 1)
	assert.Equal(t, "TOK-006", got[0]["id"])
	assert.Equal(t, 2, execute(t, "list", "checks", "--json", "--markdown").code)
}

// list output wraps at 100 columns when it goes to no terminal; a word
// longer than a line (a URL) keeps a line of its own.
func TestListWraps(t *testing.T) {
	for _, args := range [][]string{{"list", "checks"}, {"list", "checks", "--all"}, {"list", "faults"}, {"list", "checks", "WK-001", "TOK-006"}} {
		r := execute(t, args...)
		require.Equal(t, 0, r.code, r.errOut)
		for _, l := range strings.Split(r.out, "\n") {
			if len(strings.Fields(l)) == 1 {
				continue // a URL longer than the line stays whole, for copying
			}
			assert.LessOrEqual(t, len([]rune(l)), defaultWidth, "%v: %q", args, l)
		}
	}
	assert.Equal(t, []string{"word word word word", "word"}, wrapWords(strings.Repeat("word ", 5), 20))
	assert.Equal(t, []string{"a-very-long-word-indeed-longer-than-twenty", "b"}, wrapWords("a-very-long-word-indeed-longer-than-twenty b", 20))
}

// run --help lists its flags by group, and the group table names only
// flags that exist.
func TestRunHelpGroups(t *testing.T) {
	r := execute(t, "run", "--help")
	require.Equal(t, 0, r.code, r.errOut)
	at := -1
	for _, g := range runFlagGroups {
		i := strings.Index(r.out, "\n"+g.title+":\n")
		require.GreaterOrEqual(t, i, 0, "group %q", g.title)
		assert.Greater(t, i, at, "groups in order")
		at = i
	}
	target := r.out[strings.Index(r.out, "Target flags"):strings.Index(r.out, "Account flags")]
	assert.Contains(t, target, "--fault")
	assert.NotContains(t, target, "    --email string")

	cmd := NewRoot(func() *Factory { f, _, _ := testFactory(nil); return f }())
	run, _, err := cmd.Find([]string{"run"})
	require.NoError(t, err)
	for _, g := range runFlagGroups {
		for _, n := range g.flags {
			assert.NotNil(t, run.Flags().Lookup(n), "group %q names --%s, which run does not have", g.title, n)
		}
	}
	// A flag annotated with its group goes there, wherever it is declared.
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.Bool("new-one", false, "")
	_ = fs.SetAnnotation("new-one", flagGroupAnnotation, []string{"limit"})
	sets, order := groupFlags(fs, runFlagGroups)
	assert.Equal(t, []string{runFlagGroups[4].title}, order)
	assert.NotNil(t, sets[order[0]].Lookup("new-one"))
}
