package chromium

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// processes counts the running processes whose command line contains s.
func processes(s string) int {
	n := 0
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && strings.Contains(string(b), s) {
			n++
		}
	}
	return n
}

// gone waits for the processes to exit: the kernel reaps them a moment
// after the browser's cancel returns, a longer moment on a loaded machine.
func gone(s string) int {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if processes(s) == 0 {
			return 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	return processes(s)
}

// A browser of its own per case, to count its processes by its profile
// directory: after a login, after a page that never answers, and after a
// login cancelled halfway, none is left once Close returns.
func TestNoProcessLeftBehind(t *testing.T) {
	p, srv := newIDP(t)
	for _, tc := range []struct {
		name, path string
		// cancel: the login is cancelled once the server holds its
		// request, halfway by what happened rather than by the clock;
		// otherwise the hanging page ends at its request's timeout.
		cancel  bool
		timeout time.Duration
	}{
		{"a normal login", "/xhr", false, 0},
		{"a page that never answers", "/hang", false, 3 * time.Second},
		{"a login cancelled halfway", "/hang", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New("")
			ctx, cancel := loginCtx()
			defer cancel()
			var secrets []string
			req := request(srv.URL+tc.path, &secrets)
			req.OTP = nil
			held := len(p.requests())
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = b.Login(ctx, (&recorder{timeout: tc.timeout}).fetch(noRedirects()), req)
			}()
			// Waits, not assertions of speed: Chromium can take many seconds
			// to start on a loaded machine.
			deadline := time.Now().Add(time.Minute)
			for b.UserDataDir() == "" && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			dir := b.UserDataDir()
			if dir == "" {
				t.Fatal("the browser never started")
			}
			for processes(dir) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if processes(dir) == 0 {
				t.Fatal("no browser process found by its profile directory: the count would prove nothing")
			}
			if tc.cancel {
				for len(p.requests()) == held && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if len(p.requests()) == held {
					t.Fatal("the page was never requested: the cancel would not be halfway")
				}
				cancel()
			}
			select {
			case <-done:
			case <-time.After(loginBound + time.Minute):
				t.Fatal("the login did not end")
			}
			b.Close()
			if n := gone(dir); n != 0 {
				t.Errorf("%d browser processes left behind", n)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the profile directory %s is still there", dir)
			}
		})
	}
}

// A browser sign-in leaves nothing in $TMPDIR: neither its profile nor the
// org.chromium.Chromium.* folders Chromium makes there for itself. Not
// parallel: TMPDIR is the process's, and the browser inherits it.
func TestNoTemporaryFolderLeftBehind(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	_, srv := newIDP(t)
	b := New("")
	ctx, cancel := loginCtx()
	defer cancel()
	var secrets []string
	req := request(srv.URL+"/xhr", &secrets)
	req.OTP = nil
	res, err := b.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
	if err != nil || res.Callback == nil {
		t.Fatalf("login: %v (callback %v); trail:\n%s", err, res.Callback, strings.Join(res.Trail, "\n"))
	}
	if dir := b.UserDataDir(); !strings.HasPrefix(dir, tmp+string(os.PathSeparator)) {
		t.Fatalf("the profile %s is not in the test's TMPDIR %s: the test would prove nothing", dir, tmp)
	}
	b.Close()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("left behind in TMPDIR: %s", e.Name())
	}
}
