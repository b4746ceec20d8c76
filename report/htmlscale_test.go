package report_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// copiedRun is the recorded run played copies times: the first copy keeps
// the case names, the others get "#N" (so case-1..4 are the recorded run's).
func copiedRun(t *testing.T, copies int) []event.Event {
	base := loadRun(t)
	events := []event.Event{base[0]}
	for i := range copies {
		for _, ev := range base[1 : len(base)-1] {
			if i > 0 {
				ev.Case = fmt.Sprintf("%s#%d", ev.Case, i)
			}
			events = append(events, ev)
		}
	}
	return append(events, base[len(base)-1])
}

// unpack is report.UnpackHTML, which does in Go what the page's script
// does in the browser.
func unpack(t *testing.T, page string) string {
	t.Helper()
	out, err := report.UnpackHTML([]byte(page))
	require.NoError(t, err)
	return string(out)
}

// caseBodies are the rendered details of the page's cases by anchor.
func caseBodies(page string) map[string]string {
	out := map[string]string{}
	parts := strings.Split(page, "\n<details class=\"case ")
	for _, p := range parts[1:] {
		id := p[strings.Index(p, `id="`)+4:]
		id = id[:strings.Index(id, `"`)]
		body := p[strings.Index(p, `<div class="body">`)+len(`<div class="body">`):]
		end := strings.LastIndex(body, "</div>\n</details>")
		out[id] = body[:end]
	}
	return out
}

// A large run is packed: the page holds the index, the strings once and
// each case gzipped; unpacked, each case's detail is what a small report
// shows inline, byte for byte, redactions included.
func TestHTMLPacksALargeRun(t *testing.T) {
	recorded := string(render(t, "html", loadRun(t), false))
	require.NotContains(t, recorded, `<script`, "a small report is plain HTML")
	events := copiedRun(t, 12)
	page := string(render(t, "html", events, false))
	assert.Contains(t, page, `<script type="application/gzip" id="z-strings">`)
	assert.Contains(t, page, `<h3 id="by-check">Findings by check</h3>`)
	full := unpack(t, page)
	assert.Less(t, len(page)*4, len(full), "packed %d bytes, unpacked %d", len(page), len(full))
	small, big := caseBodies(recorded), caseBodies(full)
	require.Len(t, small, 4)
	require.Len(t, big, 48)
	for id, want := range small {
		assert.Equal(t, want, big[id], id)
	}
	assert.Empty(t, leaks(page, cookieNames(events)))
	assert.Empty(t, leaks(full, cookieNames(events)))
	assert.Contains(t, full, "[redacted]")
	for _, ev := range events {
		if ev.Exchange != nil {
			assert.Contains(t, full, html.EscapeString(ev.Exchange.URL))
		}
	}
	// The script only reads the page: no fetch, no network.
	script := page[strings.LastIndex(page, "<script>"):]
	for _, word := range []string{"fetch(", "XMLHttpRequest", "http:", "https:", "import(", "eval(", "innerHTML = r[1]"} {
		assert.NotContains(t, script, word)
	}
}

// chromiumDOM opens a page in headless Chromium, with scripts run until
// the page is idle, and returns the DOM it ends with.
func chromiumDOM(t *testing.T, page, fragment string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not on PATH, so the html report cannot be opened: run `make deps` (or apt-get install chromium)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang's bound
	defer cancel()
	profile := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir="+profile,
		"--virtual-time-budget=10000", "--dump-dom", "file://"+page+fragment)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "chromium: %s", stderr.String())
	return string(out)
}

// Chromium opens a packed report at a check's anchor: the index is there,
// and the script unpacked that case with its strings as text.
func TestHTMLPackedCaseOpensInChromium(t *testing.T) {
	events := copiedRun(t, 12)
	page := render(t, "html", events, true)
	file := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, os.WriteFile(file, page, 0o644))
	// case-6 is the second copy's callback-303 case; AUTH-004 warns there.
	dom := chromiumDOM(t, file, "#case-6-check-AUTH-004")
	assert.Contains(t, dom, `<h3 id="by-check">Findings by check</h3>`)
	assert.Regexp(t, `AUTH-004 warned on 12 devices`, dom)
	bodies := caseBodies(dom)
	want := caseBodies(unpack(t, string(page)))
	got := bodies["case-6"]
	assert.Contains(t, got, `id="case-6-check-AUTH-004"`)
	assert.Contains(t, got, `id="case-6-step-1"`)
	assert.NotContains(t, got, "<x-s")
	assert.Contains(t, got, "[redacted]")
	for _, ev := range events {
		if ev.Exchange != nil && ev.Case == "iphone@18.2/callback-303#1" {
			assert.Contains(t, got, html.EscapeString(ev.Exchange.Purpose))
		}
	}
	assert.NotEmpty(t, want["case-6"])
	assert.Equal(t, "", bodies["case-7"], "a case not opened stays packed")
}
