package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
)

// htmlReportBound is issue 27's bound on the full suite's HTML report
// (conformance, negative and thresholds: 342 cases gave 53 MB before the
// report packed its case details; it is about 3.7 MB now).
const htmlReportBound = 5_000_000

// checkLargeHTMLReport holds the full suite's HTML report to its bounds:
// under htmlReportBound, and headless Chromium opens it on the by-check
// pivot and unpacks the case a pivot link names.
func checkLargeHTMLReport(t *testing.T, path string) {
	t.Helper()
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	t.Logf("html report: %d bytes", len(page))
	assert.Less(t, len(page), htmlReportBound, "the full suite's html report is too big to open fast")
	assert.NotContains(t, unpackedHTML(t, page), "<x-s ", "every packed text resolves")
	pivot := page[bytes.Index(page, []byte(`<h3 id="by-check">`)):]
	m := regexp.MustCompile(`<a href="#(case-\d+)-check-([A-Z0-9-]+)">`).FindSubmatch(pivot)
	require.NotNil(t, m, "the pivot links no verdict")
	anchor := string(m[1]) + "-check-" + string(m[2])

	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH, so the html report cannot be opened: run `make deps` (or apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang's bound
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+t.TempDir(),
		"--virtual-time-budget=10000", "--dump-dom", "file://"+path+"#"+anchor)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	dom := string(out)
	assert.Contains(t, dom, `<h3 id="by-check">Findings by check</h3>`)
	assert.Regexp(t, `WK-001 failed on \d+ devices`, dom)
	assert.Contains(t, dom, `id="`+anchor+`"`, "the case the anchor names was unpacked")
	assert.Less(t, strings.Count(dom, `<x-s `), 1, "its strings are back as text")
}

// unpackedHTML is an html report with its packed case details in place, so
// a search of its text sees them.
func unpackedHTML(t *testing.T, page []byte) string {
	t.Helper()
	out, err := report.UnpackHTML(page)
	require.NoError(t, err)
	return string(out)
}
