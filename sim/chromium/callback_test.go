package chromium

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

const pageToken = "pAgEtOkEn-0123456789abcdef"

// The browser and the form driver find a callback a page delivers by the
// same route, or agree that there is none: the verdict must not depend on
// the driver. A device's web session completes on a navigation to the
// callback scheme however the page makes it; it does not on window.open
// or on a link nobody taps.
func TestPageCallbackRoutesMatchTheFormDriver(t *testing.T) {
	t.Parallel()
	cb := "apple-remotemanagement-user-login://authentication-results?access-token=" + pageToken
	pages := map[string]string{
		"/meta":   `<!doctype html><html><head><meta http-equiv="refresh" content="0;url=` + cb + `"><title>Signed in</title></head><body><p>Signed in</p></body></html>`,
		"/script": `<!doctype html><html><head><title>Signed in</title></head><body><p>Signed in</p><script>window.location.replace("` + cb + `");</script></body></html>`,
		"/open":   `<!doctype html><html><head><title>Signed in</title></head><body><p>Signed in</p><script>window.open("` + cb + `");</script></body></html>`,
		"/link":   `<!doctype html><html><head><title>Signed in</title></head><body><p><a href="` + cb + `">Return to Settings</a></p></body></html>`,
		"/fetch":  `<!doctype html><html><head><title>Signed in</title></head><body><p>Signed in</p><script>fetch("/result", {method: "POST"}).then(function (r) { return r.json() }).then(function (j) { location.href = j.redirect })</script></body></html>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Path == "/result" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"redirect":"` + cb + `"}`))
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		path  string
		route weblogin.Route // "" when no callback may count
		// formKind is the form driver's error when it cannot follow what
		// the browser does (a script that fetches the callback).
		formKind weblogin.ErrKind
	}{
		{path: "/meta", route: weblogin.RouteRefresh},
		{path: "/script", route: weblogin.RouteScript},
		{path: "/fetch", route: weblogin.RouteScript, formKind: weblogin.KindJavaScript},
		{path: "/open"},
		{path: "/link"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.path, "/"), func(t *testing.T) {
			t.Parallel()
			var secrets []string
			req := request(srv.URL+tt.path, &secrets)
			req.PageTimeout = 2 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			browser, berr := shared.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
			form, ferr := weblogin.Login(ctx, (&recorder{}).fetch(noRedirects()), req)
			if tt.route == "" {
				if browser.Callback != nil || form.Callback != nil {
					t.Fatalf("a callback counted: browser %v (%s), form %v (%s)", browser.Callback != nil, browser.CallbackRoute, form.Callback != nil, form.CallbackRoute)
				}
				var be, fe *weblogin.Error
				if !errors.As(berr, &be) || !errors.As(ferr, &fe) || be.Kind != fe.Kind {
					t.Errorf("the drivers disagree: browser %v, form %v", berr, ferr)
				}
				return
			}
			if berr != nil || browser.Callback == nil {
				t.Fatalf("browser: %v, callback %v\ntrail:\n%s", berr, browser.Callback, strings.Join(browser.Trail, "\n"))
			}
			if got := browser.Callback.Query().Get("access-token"); got != pageToken || browser.CallbackRoute != tt.route || browser.CallbackStatus != http.StatusOK {
				t.Errorf("browser: token %q route %q status %d, want route %q from a 200 page", got, browser.CallbackRoute, browser.CallbackStatus, tt.route)
			}
			if !strings.Contains(browser.CallbackHeader.Get("Cache-Control"), "no-store") {
				t.Errorf("browser: CallbackHeader %v, want the no-store of the response carrying the token", browser.CallbackHeader)
			}
			if strings.Contains(strings.Join(browser.Trail, "\n"), pageToken) {
				t.Errorf("browser trail shows the token:\n%s", strings.Join(browser.Trail, "\n"))
			}
			if tt.formKind != "" {
				var fe *weblogin.Error
				if !errors.As(ferr, &fe) || fe.Kind != tt.formKind {
					t.Errorf("form driver: %v, want %s", ferr, tt.formKind)
				}
				return
			}
			if ferr != nil || form.Callback == nil {
				t.Fatalf("form driver: %v, callback %v", ferr, form.Callback)
			}
			if form.Callback.String() != browser.Callback.String() || form.CallbackRoute != browser.CallbackRoute || form.CallbackStatus != browser.CallbackStatus {
				t.Errorf("the drivers disagree: form %s by %q (%d), browser %s by %q (%d)",
					weblogin.ElideQuery(form.Callback), form.CallbackRoute, form.CallbackStatus, weblogin.ElideQuery(browser.Callback), browser.CallbackRoute, browser.CallbackStatus)
			}
		})
	}
}
