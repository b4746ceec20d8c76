package weblogin_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

const tokenURL = "apple-remotemanagement-user-login://authentication-results?access-token=SECRET-tok_123"

// Every route by which a page sends the web view to the callback on its
// own, and the near misses that must not count: a device's web session
// completes on the first, and waits for a person (or never ends) on the
// second.
func TestPageCallbackRoutes(t *testing.T) {
	page := func(body string) string {
		return "<!doctype html><html><head><title>t</title></head><body>" + body + "</body></html>"
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   string // "" when no callback counts
		route  weblogin.Route
	}{
		{name: "meta refresh", body: `<html><head><meta http-equiv="refresh" content="0;url=` + tokenURL + `"></head></html>`, want: tokenURL, route: weblogin.RouteRefresh},
		{name: "meta refresh, quoted URL and upper case", body: `<meta HTTP-EQUIV="Refresh" content="0; URL='` + tokenURL + `'">`, want: tokenURL, route: weblogin.RouteRefresh},
		{name: "meta refresh, entity-escaped ampersand", body: `<meta http-equiv="refresh" content="0;url=` + tokenURL + `&amp;x=1">`, want: tokenURL + "&x=1", route: weblogin.RouteRefresh},
		{name: "Refresh header", header: http.Header{"Refresh": {"0; url=" + tokenURL}}, body: page("wait"), want: tokenURL, route: weblogin.RouteRefresh},
		{name: "location.href", body: page(`<script>location.href = "` + tokenURL + `";</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "window.location =", body: page(`<script>window.location='` + tokenURL + `'</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "document.location.href", body: page(`<script>document.location.href="` + tokenURL + `"</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "window.top.location", body: page(`<script>window.top.location = "` + tokenURL + `"</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "location.replace", body: page(`<script>window.location.replace("` + tokenURL + `");</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "location.assign", body: page(`<script>location.assign( '` + tokenURL + `' )</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "template literal without substitution", body: page("<script>location.href = `" + tokenURL + "`</script>"), want: tokenURL, route: weblogin.RouteScript},
		{name: "JSON-escaped literal", body: page(`<script>location.replace("apple-remotemanagement-user-login:\/\/authentication-results?access-token=SECRET-tok_123\u0026x=1")</script>`), want: tokenURL + "&x=1", route: weblogin.RouteScript},
		{name: "after a timeout", body: page(`<script>setTimeout(function () { window.location.href = "` + tokenURL + `"; }, 500);</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "scheme in another letter case", body: page(`<script>location.href = "Apple-RemoteManagement-User-Login://authentication-results?access-token=SECRET-tok_123"</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "body onload", body: `<html><body onload="location.href='` + tokenURL + `'"><p>wait</p></body></html>`, want: tokenURL, route: weblogin.RouteScript},
		{name: "a comment before a real one", body: page(`<script>// location.href = "apple-remotemanagement-user-login://old"
location.href = "` + tokenURL + `";</script>`), want: tokenURL, route: weblogin.RouteScript},
		{name: "a statement on the next line", body: page("<script>location.href = '" + tokenURL + "'\nconsole.log(1)</script>"), want: tokenURL, route: weblogin.RouteScript},

		// Near misses.
		{name: "commented out with //", body: page(`<script>// location.href = "` + tokenURL + `";</script>`)},
		{name: "commented out with /* */", body: page(`<script>/* window.location.replace("` + tokenURL + `") */</script>`)},
		{name: "HTML comment around the script", body: page(`<!-- <script>location.href = "` + tokenURL + `"</script> -->`)},
		{name: "window.open", body: page(`<script>window.open("` + tokenURL + `")</script>`)},
		{name: "a link the user must tap", body: page(`<a href="` + tokenURL + `">Open the Settings app</a>`)},
		{name: "an onclick handler", body: page(`<button onclick="location.href='` + tokenURL + `'">Continue</button>`)},
		{name: "an http URL", body: page(`<script>location.href = "https://mdm.test/done?access-token=SECRET"</script>`)},
		{name: "meta refresh to an http URL", body: `<meta http-equiv="refresh" content="0;url=https://mdm.test/next">`},
		{name: "a comparison, not an assignment", body: page(`<script>if (location == "` + tokenURL + `") {}</script>`)},
		{name: "a variable assigned, not the location", body: page(`<script>var next = "` + tokenURL + `"; console.log(next)</script>`)},
		{name: "another object's location", body: page(`<script>frame.location = "` + tokenURL + `"</script>`)},
		{name: "a concatenation in front", body: page(`<script>location.href = base + "` + tokenURL + `"</script>`)},
		{name: "a method called on the literal", body: page(`<script>location.href = "` + tokenURL + `".replace("x", y)</script>`)},
		{name: "built by concatenation", body: page(`<script>location.href = "apple-remotemanagement-user-login://authentication-results?access-token=" + t</script>`)},
		{name: "a JSON data block", body: page(`<script type="application/json">{"location": "` + tokenURL + `"}</script>`)},
		{name: "a template", body: page(`<script type="text/template">location.href = "` + tokenURL + `"</script>`)},
		{name: "an external script's inline text", body: page(`<script src="/app.js">location.href = "` + tokenURL + `"</script>`)},
		{name: "template literal with a substitution", body: page("<script>location.href = `apple-remotemanagement-user-login://authentication-results?access-token=${t}`</script>")},
		{name: "text that mentions it", body: page(`<p>location.href = "` + tokenURL + `"</p>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			u, _ := url.Parse("https://mdm.test/auth/otp")
			got, route := weblogin.PageCallback(&weblogin.Page{URL: u, Status: 200, Header: h, Body: []byte(tt.body)}, callbackScheme)
			if tt.want == "" {
				assert.Nil(t, got, "no navigation to the callback counts")
				return
			}
			require.NotNil(t, got)
			assert.Equal(t, tt.want, got.String())
			assert.Equal(t, tt.route, route)
		})
	}
}

// The form driver ends at a callback delivered by a page as a browser does,
// and says by which route; a page whose only way on is a script it cannot
// read stays a JavaScript dead end.
func TestFormDriverFollowsPageCallbacks(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		route weblogin.Route
		kind  weblogin.ErrKind
	}{
		{name: "meta refresh", body: `<!doctype html><html><head><meta http-equiv="refresh" content="0;url=` + tokenURL + `"></head><body>Signed in</body></html>`, route: weblogin.RouteRefresh},
		{name: "script navigation", body: `<!doctype html><html><body><p>Signed in</p><noscript>Turn on JavaScript</noscript><script>window.location.replace("` + tokenURL + `")</script></body></html>`, route: weblogin.RouteScript},
		{name: "script that fetches the callback", body: `<!doctype html><html><body><script>fetch("/r").then(r => r.json()).then(j => { location.href = j.redirect })</script></body></html>`, kind: weblogin.KindJavaScript},
		{name: "window.open", body: `<!doctype html><html><body><p>Signed in</p><script>window.open("` + tokenURL + `")</script></body></html>`, kind: weblogin.KindNoForm},
		{name: "a link to tap", body: `<!doctype html><html><body><a href="` + tokenURL + `">Return to Settings</a></body></html>`, kind: weblogin.KindNoForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /authenticate", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Cache-Control", "no-store")
				_, _ = w.Write([]byte(tt.body))
			})
			base := serve(t, "mdm.test", mux)

			res, err := weblogin.Login(context.Background(), newRecorder(t).Fetch, baseRequest(base+"/authenticate"))

			if tt.kind != "" {
				assert.Equal(t, tt.kind, asError(t, err).Kind)
				assert.Nil(t, res.Callback)
				return
			}
			require.NoError(t, err)
			require.NotNil(t, res.Callback)
			assert.Equal(t, tokenURL, res.Callback.String())
			assert.Equal(t, tt.route, res.CallbackRoute)
			assert.Equal(t, http.StatusOK, res.CallbackStatus)
			assert.Equal(t, "no-store", res.CallbackHeader.Get("Cache-Control"))
			require.Len(t, res.Trail, 1)
			assert.NotContains(t, res.Trail[0], "SECRET", "the trail elides the token")
		})
	}
}
