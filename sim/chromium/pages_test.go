package chromium

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// The test identity provider: pages that only work with JavaScript.
const (
	testUser     = "alice@acme.test"
	testPassword = "pa55-w0rd!"
	testCode     = "492039"
	testToken    = "tok-4f1c2a9e8b7d6c5e4f3a2b1c0d9e8f7a"
	testCSRF     = "csrf-7a6b5c4d3e2f1a0b"
	testSession  = "sess-1b2c3d4e5f6a7b8c"
	callback     = "apple-remotemanagement-user-login://authentication-results?access-token=" + testToken
)

// spaPage is an Entra-like single-page flow: user name, then password,
// then the code, each step drawn by script and posted with fetch(), ending
// in a window.location to the callback. Pressing a step's button disables
// it; the post leaves SEND_AFTER ms later (0 on /spa, 1500 on /slowspa: a
// page whose request leaves well after the page looks settled).
const spaPage = `<!doctype html><html><head><title>Sign in</title></head><body>
<div id="app"></div>
<noscript>This page needs JavaScript.</noscript>
<script>
const app = document.getElementById('app');
const sendAfter = SEND_AFTER;
function step(html, handler) {
  app.innerHTML = html;
  const btn = app.querySelector('button');
  btn.addEventListener('click', () => { btn.disabled = true; setTimeout(handler, sendAfter); });
}
async function post(path, body) {
  const r = await fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
  return r.json();
}
function user() {
  step('<h1>Sign in</h1><input id="i0116" name="loginfmt" type="email" placeholder="Email"><button type="button">Next</button>', async () => {
    const name = document.getElementById('i0116').value;
    const r = await post('/api/user', {user: name});
    if (r.ok) password(); else { user(); app.insertAdjacentHTML('beforeend', '<div role="alert">' + r.error + '</div>'); }
  });
}
function password() {
  step('<h1>Enter password</h1><input id="i0118" name="passwd" type="password"><button type="button">Sign in</button>', async () => {
    const r = await post('/api/password', {password: document.getElementById('i0118').value});
    if (r.ok) { document.cookie = 'scriptcookie=' + r.hint + '; path=/'; code(); }
    else { password(); app.insertAdjacentHTML('beforeend', '<div role="alert">Your password is incorrect.</div>'); }
  });
}
function code() {
  step('<h1>Enter code</h1><input id="otc" name="otc" autocomplete="one-time-code" inputmode="numeric" maxlength="6"><button type="button">Verify</button>', async () => {
    const r = await post('/api/otp', {code: document.getElementById('otc').value});
    if (r.redirect) window.location = r.redirect; else code();
  });
}
setTimeout(user, 300);
</script></body></html>`

// xhrPage builds its form in a script and posts it by XHR with a CSRF
// header read from a cookie; the server then redirects to the callback.
const xhrPage = `<!doctype html><html><head><title>Portal</title></head><body><div id="root"></div>
<script>
const f = document.createElement('form');
f.innerHTML = '<label>User <input name="username" autocomplete="username"></label><label>Password <input type="password" name="password"></label><input type="submit" value="Sign in">';
f.addEventListener('submit', ev => {
  ev.preventDefault();
  const csrf = document.cookie.split('; ').find(c => c.startsWith('csrf=')).slice(5);
  const x = new XMLHttpRequest();
  x.open('POST', '/xhr/login');
  x.setRequestHeader('X-CSRF-Token', csrf);
  x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
  x.onload = () => {
    const r = JSON.parse(x.responseText);
    if (r.next) { location.href = r.next; return; }
    // The typed password stays in its field, as many pages leave it.
    setTimeout(() => document.getElementById('root').insertAdjacentHTML('beforeend', '<p class="error">Invalid user name or password.</p>'), 200);
  };
  x.send(new URLSearchParams(new FormData(f)).toString());
});
document.getElementById('root').appendChild(f);
</script></body></html>`

// idp serves the pages and records what it saw.
type idp struct {
	mu      sync.Mutex
	seen    []string // "METHOD path" in order
	headers []http.Header
	bodies  []string
	hang    chan struct{}
}

func (p *idp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.URL.Path)
	p.headers = append(p.headers, r.Header.Clone())
	p.bodies = append(p.bodies, string(body))
	p.mu.Unlock()
	var in map[string]string
	_ = json.Unmarshal(body, &in)
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(v)
	}
	html := func(s string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, s)
	}
	switch r.URL.Path {
	case "/spa":
		html(strings.Replace(spaPage, "SEND_AFTER", "0", 1))
	case "/slowspa":
		html(strings.Replace(spaPage, "SEND_AFTER", "1500", 1))
	case "/api/user":
		if in["user"] != testUser {
			reply(map[string]any{"ok": false, "error": "We couldn't find an account with that username."})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: testSession, Path: "/", HttpOnly: true})
		reply(map[string]any{"ok": true})
	case "/api/password":
		c, err := r.Cookie("session")
		reply(map[string]any{"ok": err == nil && c.Value == testSession && in["password"] == testPassword, "hint": "scriptset-9f8e7d6c"})
	case "/api/otp":
		c, err := r.Cookie("scriptcookie")
		if err == nil && c.Value == "scriptset-9f8e7d6c" && in["code"] == testCode {
			reply(map[string]any{"redirect": callback})
			return
		}
		reply(map[string]any{"ok": false})
	case "/xhr":
		http.SetCookie(w, &http.Cookie{Name: "csrf", Value: testCSRF, Path: "/"})
		html(xhrPage)
	case "/xhr/login":
		form, _ := url.ParseQuery(string(body))
		if r.Header.Get("X-CSRF-Token") != testCSRF || form.Get("password") != testPassword || form.Get("username") != testUser {
			w.WriteHeader(http.StatusForbidden)
			reply(map[string]any{"error": "refused"})
			return
		}
		reply(map[string]any{"next": "/xhr/done"})
	case "/xhr/done":
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", callback)
		w.WriteHeader(http.StatusPermanentRedirect)
	case "/hang":
		select {
		case <-p.hang:
		case <-r.Context().Done():
		}
	case "/cookiestart":
		// Whether this browser context had been here, handed on to the
		// callback; the cookie goes with a redirect the browser follows.
		state := "fresh"
		if _, err := r.Cookie("visited"); err == nil {
			state = "visited"
		}
		http.SetCookie(w, &http.Cookie{Name: "visited", Value: "yes-1a2b3c4d5e6f", Path: "/", MaxAge: 3600})
		w.Header().Set("Location", "/cookiecb?state="+state)
		w.WriteHeader(http.StatusFound)
	case "/cookiecb":
		w.Header().Set("Location", callback+"&state="+r.URL.Query().Get("state"))
		w.WriteHeader(http.StatusFound)
	case "/storagestart":
		// What this tab and its browser context kept from an earlier
		// login (cookies, storage of either kind, history), handed on to
		// the callback; then it leaves some of each for the next one, and
		// keeps the page's own scripts from clearing any.
		html(`<!doctype html><title>Storage</title><body><script>
Storage.prototype.clear = function () {};
const kept = [];
if (document.cookie) kept.push('cookie');
if (localStorage.length) kept.push('local');
if (sessionStorage.length) kept.push('session');
document.cookie = 'c=yes-9f8e7d6c5b4a; path=/';
localStorage.setItem('k', 'v');
sessionStorage.setItem('k', 'v');
location.href = ` + "`/storagecb?state=${kept.join(',') || 'fresh'}&history=${history.length}`" + `;
</script></body>`)
	case "/hstsstart":
		// A page of the origin that sets HSTS, then goes to the callback
		// by the redirect of /storagecb.
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		html(`<!doctype html><title>HSTS</title><body><script>location.href = '/storagecb?state=fresh';</script></body>`)
	case "/storagecb":
		w.Header().Set("Location", callback+"&"+r.URL.RawQuery)
		w.WriteHeader(http.StatusFound)
	case "/empty":
		html(`<!doctype html><title>Loading</title><body><p>Please wait</p><script>/* never draws a form */</script></body>`)
	default:
		http.NotFound(w, r)
	}
}

func (p *idp) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func (p *idp) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for i := range p.seen {
		fmt.Fprintf(&b, "%s %v %s\n", p.seen[i], p.headers[i], p.bodies[i])
	}
	return b.String()
}
