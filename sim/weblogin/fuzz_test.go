package weblogin_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// FuzzFormFinder plays a whole login over pages a server controls: the
// first page is the input, and every later request (form submissions,
// redirects, refreshes) gets the input again with the status and a
// Location taken from it. Seeds are the fixtures of testdata/ and
// testdata/hostile/, so `go test` runs them.
//
// Properties: no panic; the login ends within its deadline and page cap;
// the password and the one-time code never appear in the error or the
// trail; messages stay bounded.
func FuzzFormFinder(f *testing.F) {
	for _, glob := range []string{"testdata/*.html", "testdata/hostile/*.html"} {
		files, err := filepath.Glob(glob)
		if err != nil || len(files) == 0 {
			f.Fatalf("no seeds %s: %v", glob, err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, uint16(200), "")
		}
	}
	f.Add([]byte(`<form method="post"><input name="u"><input type="password" name="p"></form>`), uint16(302), "apple-remotemanagement-user-login://authentication-results?access-token=t")
	f.Add([]byte(""), uint16(308), "javascript:alert(1)")
	f.Add([]byte(`<p>x`), uint16(401), "")

	const password, code = "correct horse battery staple", "493817"
	f.Fuzz(func(t *testing.T, body []byte, status uint16, location string) {
		st := int(status%500) + 100 // 100..599
		fetch := func(ctx context.Context, method, rawURL string, _ http.Header, _ []byte, _ string) (*weblogin.Page, error) {
			u, err := url.Parse(rawURL)
			if err != nil {
				return nil, err
			}
			h := http.Header{"Content-Type": {"text/html"}}
			if location != "" {
				h.Set("Location", location)
			}
			return &weblogin.Page{URL: u, Status: st, Header: h, Body: body}, nil
		}
		req := baseRequest("https://idp.test/login")
		req.Password = password
		req.OTP = func() (string, error) { return code, nil }
		req.MaxPages = 6
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		res, err := weblogin.Login(ctx, fetch, req)
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("the login took %s", el)
		}
		if res == nil {
			t.Fatalf("no result (err %v)", err)
		}
		if res.Pages > req.MaxPages {
			t.Fatalf("%d pages, over the cap of %d", res.Pages, req.MaxPages)
		}
		var texts []string
		texts = append(texts, res.Trail...)
		if err != nil {
			texts = append(texts, err.Error())
			var we *weblogin.Error
			if errors.As(err, &we) {
				texts = append(texts, we.Trail...)
				if len(we.Msg) > 1100 {
					t.Fatalf("a message of %d bytes", len(we.Msg))
				}
			}
		}
		for _, s := range texts {
			if strings.Contains(s, password) || strings.Contains(s, url.QueryEscape(password)) {
				t.Fatalf("the password leaked: %q", s)
			}
			if strings.Contains(s, code) && !strings.Contains(string(body)+location, code) {
				t.Fatalf("the one-time code leaked: %q", s)
			}
			if len(s) > 1100 {
				t.Fatalf("a line of %d bytes", len(s))
			}
		}
	})
}
