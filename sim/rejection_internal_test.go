package sim

import (
	"net/http"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 403 body is read as JSON or a plist to find its code (WK-010, TOK-007);
// a plist bomb in it must cost what its bytes cost, not what it expands to.
func TestRejectionBodyIsBounded(t *testing.T) {
	for _, name := range []string{"bomb.bplist", "cycle.bplist"} {
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile("profile/testdata/" + name)
			require.NoError(t, err)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			rej := parseRejection(&response{status: http.StatusForbidden, body: body})
			runtime.ReadMemStats(&after)
			assert.Nil(t, rej, "a bomb is no rejection body")
			assert.Less(t, time.Since(start), 2*time.Second)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))
		})
	}
	plistBody := []byte(`<?xml version="1.0"?><plist version="1.0"><dict><key>code</key><string>com.apple.unrecognized.device</string></dict></plist>`)
	rej := parseRejection(&response{status: http.StatusForbidden, body: plistBody})
	require.NotNil(t, rej)
	assert.Equal(t, "plist", rej.format)
	assert.Equal(t, "com.apple.unrecognized.device", rej.code)
	rej = parseRejection(&response{status: http.StatusForbidden, body: []byte(`{"code":"com.apple.well-known.failed"}`)})
	require.NotNil(t, rej)
	assert.Equal(t, "json", rej.format)
}
