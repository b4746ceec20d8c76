package chromium

import (
	"context"
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
// after the browser's cancel returns.
func gone(s string) int {
	deadline := time.Now().Add(5 * time.Second)
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
	_, srv := newIDP(t)
	for _, tc := range []struct {
		name, path  string
		cancelAfter time.Duration
	}{
		{"a normal login", "/xhr", 0},
		{"a page that never answers", "/hang", 0},
		{"a login cancelled halfway", "/hang", 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New("")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if tc.cancelAfter > 0 {
				time.AfterFunc(tc.cancelAfter, cancel)
			}
			var secrets []string
			req := request(srv.URL+tc.path, &secrets)
			req.OTP = nil
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = b.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
			}()
			deadline := time.Now().Add(10 * time.Second)
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
			select {
			case <-done:
			case <-time.After(15 * time.Second):
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
