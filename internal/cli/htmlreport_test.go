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

// PROF-004's failure, from a real run against the embedded server with
// profile-wrong-mode: the HTML report shows the profile decoded (its
// EnrollmentMode, the signer) in the exchange the check judged, and links
// the check to Apple's page.
func TestHTMLShowsPROF004Evidence(t *testing.T) {
	path := t.TempDir() + "/run.html"
	r := execute(t, "run", "--fault", "profile-wrong-mode", "--email", "alice@acme.test", "--device", "iphone@18.2", "--type", "user", "--no-probes", "--report", "html="+path)
	require.Equal(t, 1, r.code, r.out+r.errOut)
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	html := unpackedHTML(t, page)
	verdict := regexp.MustCompile(`(?s)id="case-\d+-check-PROF-004".*?</tr>`).FindString(html)
	require.NotEmpty(t, verdict, "the PROF-004 verdict has an anchor")
	assert.Contains(t, verdict, "FAIL")
	assert.Contains(t, verdict, `href="https://developer.apple.com/documentation/devicemanagement/`, "a link to Apple's page")
	judged := regexp.MustCompile(`href="#(case-\d+-x-\d+)"`).FindAllStringSubmatch(verdict, -1)
	require.NotEmpty(t, judged, "the verdict links the exchanges it judged")
	found := false
	for _, m := range judged {
		i := strings.Index(html, `id="`+m[1]+`"`)
		require.GreaterOrEqual(t, i, 0, "the judged exchange %s has an anchor", m[1])
		x := html[i:]
		if j := strings.Index(x[1:], `id="case-`); j > 0 {
			x = x[:j+1] // up to the next anchor
		}
		if strings.Contains(x, "&lt;key&gt;EnrollmentMode&lt;/key&gt;") {
			found = true
			assert.Contains(t, x, "&lt;string&gt;ADDE&lt;/string&gt;", "the wrong mode, as the server sent it")
			assert.Contains(t, x, "signed by", "the signer is named")
		}
	}
	assert.True(t, found, "one judged exchange shows the decoded profile: %v", judged)
}
