package kubernetes_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	k8syaml "sigs.k8s.io/yaml"
)

// TestStrictDecodingCatchesTypos shows the decoder refusing what the API
// server would drop or misread, on edits of the real load-job.yaml.
func TestStrictDecodingCatchesTypos(t *testing.T) {
	data, err := os.ReadFile("load-job.yaml")
	require.NoError(t, err)
	job := string(data)
	_, err = decodeFile("load-job.yaml", "load-job.yaml")
	require.NoError(t, err, "the file itself decodes")

	cases := map[string]struct{ from, to, want string }{
		"a field in the wrong case":    {"completionMode: Indexed", "completionmode: Indexed", `unknown field "spec.completionmode"`},
		"a field that does not exist":  {"parallelism: 3", "parallelism: 3\n  paralellism: 3", `unknown field "spec.paralellism"`},
		"a field at the wrong level":   {"      restartPolicy: Never", "      restartPolicy: Never\n      completions: 3", `unknown field "spec.template.spec.completions"`},
		"a duplicated key":             {"parallelism: 3", "parallelism: 3\n  parallelism: 4", "already set in map"},
		"a kind without a type":        {"kind: Job", "kind: CronJob", `kind "CronJob": no Go type`},
		"a value of the wrong type":    {"completions: 3", "completions: three", "cannot unmarshal"},
		"a separator the parser reads": {"apiVersion: batch/v1", "--- \napiVersion: batch/v1", ""},
		// kubectl splits only on a bare --- line, then keeps the first
		// document of each part: the Job after this one would vanish.
		"a separator with a comment": {"apiVersion: batch/v1", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n--- # the Job\napiVersion: batch/v1", "documents between --- lines"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			require.Contains(t, job, c.from)
			edited := strings.Replace(job, c.from, c.to, 1)
			path := t.TempDir() + "/load-job.yaml"
			require.NoError(t, os.WriteFile(path, []byte(edited), 0o600))
			ms, err := decodeFile(path, "load-job.yaml")
			if c.want == "" {
				require.NoError(t, err)
				require.Len(t, ms, 1, "a trailing space after --- still separates")
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestPlainJSONMissesTheCaseTypo is why the decoder is the API server's:
// encoding/json with DisallowUnknownFields matches names regardless of case,
// so it fills CompletionMode from "completionmode", which the API server
// ignores, running a NonIndexed Job.
func TestPlainJSONMissesTheCaseTypo(t *testing.T) {
	js, err := k8syaml.YAMLToJSONStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completionmode: Indexed\n"))
	require.NoError(t, err)
	var job batchv1.Job
	dec := json.NewDecoder(strings.NewReader(string(js)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&job), "encoding/json takes it")
	require.NotNil(t, job.Spec.CompletionMode)
	_, err = decodeStrict([]byte("apiVersion: batch/v1\nkind: Job\nspec:\n  completionmode: Indexed\n"))
	require.ErrorContains(t, err, "completionmode")
}
