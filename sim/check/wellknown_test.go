package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fuzz target of the discovery document reader; its seeds are the
// engine's (sim/testdata/seeds/wellknown), so `go test` runs them as
// ordinary tests.
func FuzzWellKnownDocument(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "seeds", "wellknown", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"Servers":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		hop := &DiscoveryHop{Status: 200, Header: Header{"Content-Type": {"application/json"}}, Body: body}
		doc, failure := DeviceDocument(body, false)
		results := documentRules(hop)
		status := map[string]Status{}
		for _, r := range results {
			status[r.ID] = r.Status
			if len(r.Actual)+len(r.Detail) > 4000 {
				t.Fatalf("%s quotes %d bytes", r.ID, len(r.Actual)+len(r.Detail))
			}
		}
		raw, _, derr := decodeWellKnown(body)
		if failure == "" {
			// What the device uses, the document rules accept.
			if doc == nil || (status["WK-003"] != Pass && status["WK-003"] != Warn) {
				t.Fatalf("the device used %v, but WK-003 is %s", doc, status["WK-003"])
			}
			first, _ := raw["Servers"].([]any)[0].(map[string]any)
			if first["Version"] != doc.Version || first["BaseURL"] != doc.BaseURL {
				t.Fatalf("the device used %v, not Servers[0] %v", doc, first)
			}
		}
		if isDocLimit(derr) && status["WK-003"] != Error {
			t.Fatalf("over a limit (%v), but WK-003 is %s", derr, status["WK-003"])
		}
		// A root that is no object fails, whatever its depth or length:
		// only an object can be beyond the simulator's bounds.
		text, _ := JSONText(body)
		if kind := rootKind(text); kind != "" && kind != "an object" && status["WK-003"] != Fail {
			t.Fatalf("the root is %s, but WK-003 is %s", kind, status["WK-003"])
		}
	})
}

// A mark in front of broken JSON is still broken JSON: the failure names
// the mark, and offsets count from what the device reads.
func TestByteOrderMarkBeforeBrokenJSON(t *testing.T) {
	_, _, err := decodeWellKnown([]byte("\xEF\xBB\xBF{\"Servers\": ["))
	require.Error(t, err)
	assert.False(t, isDocLimit(err))
	assert.Contains(t, err.Error(), "unexpected end of JSON input (the body starts with a UTF-8 byte-order mark (EF BB BF): read as a device reads it)")
	// Odd bytes that are no whole UTF-16 text are left to the parser.
	text, note := JSONText([]byte("\xFF\xFE{"))
	assert.Equal(t, "\xFF\xFE{", string(text))
	assert.Empty(t, note)
}

// A document past the read cap is judged by its root alone.
func TestCutDocumentIsJudgedByItsRoot(t *testing.T) {
	_, failure := DeviceDocument([]byte(`["`+strings.Repeat("a", 100)), true)
	assert.Contains(t, failure, "the document is an array, not an object")
	_, failure = DeviceDocument([]byte(`{"Servers":[`), true)
	assert.Contains(t, failure, "larger than the simulator's 12 bytes read limit")
}
