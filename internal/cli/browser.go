package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/chromium"
	"github.com/enrollsim/enrollsim/sim/event"
)

// attachBrowser gives the engine the browser driver. Chromium starts on
// the first sign-in that needs it, so a run of plain forms never pays for
// it; the returned func ends it (and must run, or a process stays behind).
func (o *runOptions) attachBrowser(eng *sim.Engine) func() {
	b := chromium.New(o.BrowserPath)
	eng.Browser = b
	return func() { b.Close() }
}

// keepScreenshots tells the engine whether anyone keeps the pictures of the
// browser sign-ins: a run with no directory for them takes none, as they
// cost each page a frame and about 70 ms, and finish says how to get them.
func (a *artifactWriter) keepScreenshots(eng *sim.Engine) {
	eng.NoScreenshots = a.dir == ""
	if b, ok := eng.Browser.(*chromium.Browser); ok {
		a.browser = b
	}
}

// artifactWriter writes the screenshots of a run to files and replaces
// their bytes in the event with the path, so jsonl stays small and the
// reports can link or embed them.
type artifactWriter struct {
	mu      sync.Mutex
	dir     string
	written int
	dropped int
	err     error
	// browser, when set, says whether any sign-in ran in the browser of a
	// run that took no screenshots.
	browser interface{ Started() bool }
}

// newArtifactWriter picks the directory: --artifacts, else next to the
// first --report file (report.html → report-artifacts/). Without either,
// nobody asked for files: the screenshots are not written (a temporary
// directory would outlive the run), and finish says how to keep them.
func newArtifactWriter(flag string, reports []string) *artifactWriter {
	if flag != "" {
		return &artifactWriter{dir: flag}
	}
	for _, spec := range reports {
		if _, path, ok := strings.Cut(spec, "="); ok && path != "" && path != "-" {
			return &artifactWriter{dir: strings.TrimSuffix(path, filepath.Ext(path)) + "-artifacts"}
		}
	}
	return &artifactWriter{}
}

func (a *artifactWriter) handle(ev *event.Event) {
	if ev.Kind != event.EventArtifact || ev.Artifact == nil || len(ev.Artifact.Data) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	png := ev.Artifact.Data
	art := *ev.Artifact
	art.Data = nil
	ev.Artifact = &art
	if a.err != nil {
		return
	}
	if a.dir == "" {
		a.dropped++
		return
	}
	caseDir := filepath.Join(a.dir, safeName(ev.Case))
	if err := os.MkdirAll(caseDir, 0o755); err != nil {
		a.err = err
		return
	}
	path := filepath.Join(caseDir, safeName(art.File))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		a.err = err
		return
	}
	ev.Artifact.Path = path
	a.written++
}

func (a *artifactWriter) finish(errOut io.Writer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.err != nil:
		fmt.Fprintf(errOut, "enrollsim: writing screenshots: %v\n  pass --artifacts DIR to choose where they go\n", a.err)
	case a.written > 0:
		fmt.Fprintf(errOut, "enrollsim: %d screenshot(s) of browser sign-ins in %s\n", a.written, a.dir)
	case a.dropped > 0:
		fmt.Fprintf(errOut, "enrollsim: %d screenshot(s) of browser sign-ins not kept: pass --artifacts DIR, or --report FORMAT=FILE to keep them next to the report\n", a.dropped)
	case a.dir == "" && a.browser != nil && a.browser.Started():
		fmt.Fprintf(errOut, "enrollsim: no screenshots of the browser sign-ins were taken: pass --artifacts DIR, or --report FORMAT=FILE to keep them next to the report\n")
	}
}

// safeName keeps a file name to letters, digits, dot, dash and underscore:
// case names carry e-mail addresses and device names.
func safeName(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), ".-")
	if name == "" {
		return "case"
	}
	return name
}
