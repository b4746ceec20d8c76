package refserver

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// Sign-in pages that need JavaScript (issue 13), on the identity provider.
// Production identity providers build their forms in script and post them
// with fetch or XHR; these three play that, each for its own accounts, so
// that a browser driver has something real to sign in to and the form
// driver something to report AUTH-017 on. The MDM's /auth/login routes
// their users here by user-identifier, as it routes carol to /login.
//
//   - /spa/login (AuthWebSPA, grace): an Entra-like single-page flow. One
//     document whose script draws the user-name step, then the password
//     step, then the code step, each posted as JSON with fetch() and an
//     X-CSRF-Token header; the last answer names the callback and the
//     script sets window.location to it.
//   - /xhr/login (AuthWebXHR, heidi): a script builds one form (user name,
//     password, code) and sends it by XMLHttpRequest with an X-CSRF-Token
//     header read from a cookie the page set (double submit); the answer
//     names the callback, and the script navigates there.
//   - /mobile/login (AuthWebSafari, ivan): only Safari on Apple devices may
//     open it (403 "unsupported browser" otherwise); a script builds a plain
//     form, whose native submission ends in the usual 308 callback.
//
// None has a form in its markup, and each shows a <noscript> notice.
const (
	spaLoginPath    = "/spa/login"
	spaUsernameAPI  = "/spa/api/username"
	spaPasswordAPI  = "/spa/api/password"
	spaOTPAPI       = "/spa/api/otp"
	xhrLoginPath    = "/xhr/login"
	xhrSessionAPI   = "/xhr/session"
	mobileLoginPath = "/mobile/login"

	spaLoginURL    = "https://" + IdPHost + spaLoginPath
	xhrLoginURL    = "https://" + IdPHost + xhrLoginPath
	mobileLoginURL = "https://" + IdPHost + mobileLoginPath

	csrfHeader = "X-CSRF-Token"
	xsrfCookie = "acme_xsrf" // readable by script: the XHR page's double-submit token

	// httpPasswordURL is where js-password-http sends the password step:
	// another origin, in clear text. Nothing serves it, and browsers block
	// it from an https page as mixed content.
	httpPasswordURL = "http://sso.acme-login.test" + spaPasswordAPI

	maxJSONBytes = 4 << 10

	msgUnsupportedBrowser = "Acme ID opens only in Safari on iPhone, iPad, Mac and Apple Vision Pro. Start again from your device."
)

var (
	spaSite    = &loginSite{host: IdPHost, cookie: "acme_spa_login", loginPath: spaLoginPath, title: "Sign in to Acme"}
	xhrSite    = &loginSite{host: IdPHost, cookie: "acme_xhr_login", loginPath: xhrLoginPath, title: "Acme ID"}
	mobileSite = &loginSite{host: IdPHost, cookie: "acme_mobile_login", loginPath: mobileLoginPath, title: "Acme ID"}
)

func (s *Server) jsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+spaLoginPath, s.spaPage)
	mux.HandleFunc("POST "+spaUsernameAPI, s.spaUsername)
	mux.HandleFunc("POST "+spaPasswordAPI, s.spaPassword)
	mux.HandleFunc("POST "+spaOTPAPI, s.spaOTP)
	mux.HandleFunc("GET "+xhrLoginPath, s.xhrPage)
	mux.HandleFunc("POST "+xhrSessionAPI, s.xhrSubmit)
	mux.HandleFunc("GET "+mobileLoginPath, s.mobilePage)
	mux.HandleFunc("POST "+mobileLoginPath, s.mobileSubmit)
}

// jsLoginFor is where the MDM sends a user whose sign-in needs JavaScript.
// Under js-no-prefill the hint is dropped on the way, so that no page of
// the sign-in carries the identifier.
func (s *Server) jsLoginFor(acct Account, hint string) string {
	u := spaLoginURL
	switch acct.Auth {
	case AuthWebXHR:
		u = xhrLoginURL
	case AuthWebSafari:
		u = mobileLoginURL
	}
	if hint == "" || (acct.Auth == AuthWebSPA && s.has(FaultJSNoPrefill)) {
		return u
	}
	return u + "?login_hint=" + url.QueryEscape(hint)
}

// callbackLocation is the apple-as-web callback URL for acct, with a fresh
// access token issued and percent-encoded as writeCallback does (and with
// the callback faults that change the URL applied).
func (s *Server) callbackLocation(acct Account, withToken bool) string {
	host := callbackHost
	if s.has(FaultCallbackWrongHost) {
		host = callbackWrongHost
	}
	location := callbackScheme + "://" + host
	if !withToken || s.has(FaultCallbackNoToken) {
		return location
	}
	token := url.QueryEscape(s.issueAccess(acct))
	if s.has(FaultCallbackDoubleEncoded) {
		token = url.QueryEscape(token)
	}
	return location + "?access-token=" + token
}

// jsPageData is what the three script templates show. Config is handed to
// the script as JSON (html/template escapes it for the script context).
type jsPageData struct {
	Title  string
	Hint   string
	Error  string
	Config any
}

// spaConfig is the single-page app's configuration.
type spaConfig struct {
	CSRF     string `json:"csrf"`
	Hint     string `json:"hint"`
	Username string `json:"username"`
	Password string `json:"password"`
	OTP      string `json:"otp"`
}

func (s *Server) spaPage(w http.ResponseWriter, r *http.Request) {
	hint := r.URL.Query().Get("login_hint")
	if s.has(FaultJSNoPrefill) {
		hint = ""
	}
	sess := s.newSession(w, loginSession{site: spaSite, finish: finishCallback})
	password := spaPasswordAPI
	if s.has(FaultJSPasswordHTTP) {
		password = httpPasswordURL
	}
	writeHTML(w, spaTemplate, jsPageData{Title: spaSite.title, Hint: hint, Config: spaConfig{
		CSRF: sess.csrf, Hint: hint, Username: spaUsernameAPI, Password: password, OTP: spaOTPAPI,
	}})
}

// jsonStep reads one JSON step of a script-driven sign-in: a live session
// for site, the session's CSRF token in the X-CSRF-Token header and a JSON
// object of strings. It answers 400 itself.
func (s *Server) jsonStep(w http.ResponseWriter, r *http.Request, site *loginSite) (string, loginSession, map[string]string, bool) {
	if mediaType(r.Header.Get("Content-Type")) != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "send the step as application/json")
		return "", loginSession{}, nil, false
	}
	id, sess, ok := s.session(r, site)
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "the sign-in session has expired or cookies are off; start again from the device")
		return "", loginSession{}, nil, false
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(csrfHeader)), []byte(sess.csrf)) != 1 {
		writeJSONError(w, http.StatusBadRequest, "the page is out of date (bad csrf token); start again from the device")
		return "", loginSession{}, nil, false
	}
	var body map[string]string
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes)).Decode(&body); err != nil {
		writeJSONError(w, http.StatusBadRequest, "the step could not be read")
		return "", loginSession{}, nil, false
	}
	return id, sess, body, true
}

// spaUsername is the first step: the user name must be one of the
// single-page app's users. It only remembers the name.
func (s *Server) spaUsername(w http.ResponseWriter, r *http.Request) {
	id, sess, body, ok := s.jsonStep(w, r, spaSite)
	if !ok {
		return
	}
	acct, known := s.dir.lookup(body["username"])
	if !known || acct.Auth != AuthWebSPA {
		writeJSONError(w, http.StatusUnauthorized, "We couldn't find an Acme account with that user name.")
		return
	}
	sess.pending, sess.user = acct.Identifier, ""
	s.saveSession(id, sess)
	writeStep(w, http.StatusOK, map[string]string{"next": "password"})
}

func (s *Server) spaPassword(w http.ResponseWriter, r *http.Request) {
	id, sess, body, ok := s.jsonStep(w, r, spaSite)
	if !ok {
		return
	}
	acct, known := s.dir.lookup(sess.pending)
	if sess.pending == "" || !known {
		writeJSONError(w, http.StatusBadRequest, "enter your user name first")
		return
	}
	if subtle.ConstantTimeCompare([]byte(body["password"]), []byte(acct.Password)) != 1 {
		writeJSONError(w, http.StatusUnauthorized, msgBadCredentials)
		return
	}
	sess.user = acct.Identifier
	s.saveSession(id, sess)
	writeStep(w, http.StatusOK, map[string]string{"next": "otp"})
}

// spaOTP is the last step; its answer carries the callback, token and all,
// so it must not be cached (writeJSON says no-store).
func (s *Server) spaOTP(w http.ResponseWriter, r *http.Request) {
	id, sess, body, ok := s.jsonStep(w, r, spaSite)
	if !ok {
		return
	}
	acct, known := s.dir.lookup(sess.user)
	if sess.user == "" || !known {
		writeJSONError(w, http.StatusBadRequest, "sign in with your password first")
		return
	}
	if !s.checkTOTP(acct, body["otp"]) {
		writeJSONError(w, http.StatusUnauthorized, msgBadCode)
		return
	}
	s.endSession(w, id, spaSite)
	writeStep(w, http.StatusOK, map[string]string{"callback": s.callbackLocation(acct, !s.has(FaultJSCallbackNoToken))})
}

// xhrConfig is the XHR page's configuration; the CSRF token is not in it:
// the script reads it from the acme_xsrf cookie.
type xhrConfig struct {
	Action string `json:"action"`
	Cookie string `json:"cookie"`
	Hint   string `json:"hint"`
}

func (s *Server) xhrPage(w http.ResponseWriter, r *http.Request) {
	hint := r.URL.Query().Get("login_hint")
	sess := s.newSession(w, loginSession{site: xhrSite, finish: finishCallback})
	// Not HttpOnly: the page's script must read it to send it back.
	http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: sess.csrf, Path: "/xhr/", Secure: true, SameSite: http.SameSiteStrictMode})
	writeHTML(w, xhrTemplate, jsPageData{Title: xhrSite.title, Hint: hint, Config: xhrConfig{Action: xhrSessionAPI, Cookie: xsrfCookie, Hint: hint}})
}

// xhrSubmit takes the whole sign-in at once. The X-CSRF-Token header must
// repeat the cookie, and both the session's token: a page on another
// origin can neither read the cookie nor set the header without CORS.
func (s *Server) xhrSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "the form could not be read")
		return
	}
	id, sess, ok := s.session(r, xhrSite)
	if !ok {
		writeJSONError(w, http.StatusBadRequest, "the sign-in session has expired or cookies are off; start again from the device")
		return
	}
	header := r.Header.Get(csrfHeader)
	cookie, err := r.Cookie(xsrfCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(header), []byte(cookie.Value)) != 1 ||
		subtle.ConstantTimeCompare([]byte(header), []byte(sess.csrf)) != 1 {
		writeJSONError(w, http.StatusBadRequest, "the page is out of date (bad csrf token); start again from the device")
		return
	}
	acct, known := s.dir.lookup(r.PostForm.Get("username"))
	if !known || acct.Auth != AuthWebXHR ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("password")), []byte(acct.Password)) != 1 {
		writeJSONError(w, http.StatusUnauthorized, msgBadCredentials)
		return
	}
	if !s.checkTOTP(acct, r.PostForm.Get("otp")) {
		writeJSONError(w, http.StatusUnauthorized, msgBadCode)
		return
	}
	s.endSession(w, id, xhrSite)
	http.SetCookie(w, &http.Cookie{Name: xsrfCookie, Value: "", Path: "/xhr/", MaxAge: -1, Secure: true, SameSite: http.SameSiteStrictMode})
	writeStep(w, http.StatusOK, map[string]string{"location": s.callbackLocation(acct, true)})
}

// safariUA reports whether an agent is Safari (Mobile Safari included) on
// an Apple device, as the device's web view announces itself (see
// device.Device.WebUserAgent). Other browsers copy "Safari/" into their
// agents, so their own tokens rule them out.
func safariUA(ua string) bool {
	apple := strings.Contains(ua, "(iPhone;") || strings.Contains(ua, "(iPad;") || strings.Contains(ua, "(Macintosh;")
	if !apple || !strings.Contains(ua, "AppleWebKit/") || !strings.Contains(ua, "Version/") || !strings.Contains(ua, "Safari/") {
		return false
	}
	for _, other := range []string{"Chrome/", "Chromium/", "HeadlessChrome", "CriOS/", "FxiOS/", "Firefox/", "Edg/", "EdgiOS/", "OPR/"} {
		if strings.Contains(ua, other) {
			return false
		}
	}
	return true
}

// mobileConfig is the Safari-only page's configuration.
type mobileConfig struct {
	Action string `json:"action"`
	CSRF   string `json:"csrf"`
	Hint   string `json:"hint"`
}

func (s *Server) mobilePage(w http.ResponseWriter, r *http.Request) {
	if !safariUA(r.UserAgent()) {
		writeHTMLError(w, http.StatusForbidden, "Unsupported browser", msgUnsupportedBrowser)
		return
	}
	hint := r.URL.Query().Get("login_hint")
	sess := s.newSession(w, loginSession{site: mobileSite, finish: finishCallback})
	s.writeMobilePage(w, sess, hint, "")
}

func (s *Server) writeMobilePage(w http.ResponseWriter, sess loginSession, hint, errMsg string) {
	writeHTML(w, mobileTemplate, jsPageData{Title: mobileSite.title, Hint: hint, Error: errMsg,
		Config: mobileConfig{Action: mobileLoginPath, CSRF: sess.csrf, Hint: hint}})
}

// mobileSubmit is the native submission of the script-built form. Right
// credentials end as every simple sign-in does: the 308 callback.
func (s *Server) mobileSubmit(w http.ResponseWriter, r *http.Request) {
	if !safariUA(r.UserAgent()) {
		writeHTMLError(w, http.StatusForbidden, "Unsupported browser", msgUnsupportedBrowser)
		return
	}
	id, sess, ok := s.formSession(w, r, mobileSite)
	if !ok {
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	acct, known := s.dir.lookup(username)
	if !known || acct.Auth != AuthWebSafari ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("password")), []byte(acct.Password)) != 1 {
		s.writeMobilePage(w, sess, username, msgBadCredentials)
		return
	}
	if !s.checkTOTP(acct, r.PostForm.Get("otp")) {
		s.writeMobilePage(w, sess, username, msgBadCode)
		return
	}
	s.endSession(w, id, mobileSite)
	s.writeCallback(w, acct)
}

// writeStep answers a script's step. Answers may carry a callback with a
// token, so no cache may keep any of them.
func writeStep(w http.ResponseWriter, status int, v map[string]string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	writeJSON(w, status, v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeStep(w, status, map[string]string{"error": msg})
}

// jsNotice is the <noscript> text of every page here: what a person with
// JavaScript turned off reads, and what tells a form reader to stop.
const jsNotice = `<noscript><p>Acme ID needs JavaScript. Turn it on and start again from your device.</p></noscript>
`

// jsCommon are the script helpers the pages share: an element builder and
// a labelled input.
const jsCommon = `  function el(tag, props, parent) {
    var e = document.createElement(tag);
    for (var k in props) { e[k] = props[k]; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function field(form, id, label, props) {
    el("label", {htmlFor: id, textContent: label}, form);
    props.id = id;
    return el("input", props, form);
  }
`

// spaTemplate draws one step at a time into #app; each step is posted as
// JSON and the answer says what comes next.
var spaTemplate = template.Must(template.New("spa").Parse(htmlHead + `<main id="app" data-login-hint="{{.Hint}}"><p>Loading{{if .Hint}} the sign-in for {{.Hint}}{{end}}…</p></main>
` + jsNotice + `<script>
(function () {
  var cfg = {{.Config}};
  var app = document.getElementById("app");
  var username = cfg.hint;
` + jsCommon + `  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": cfg.csrf}, body: JSON.stringify(body)})
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok || j.error) { throw new Error(j.error || ("the server answered " + r.status)); }
          return j;
        });
      });
  }
  function step(heading, intro, input, button, send) {
    app.textContent = "";
    el("h1", {textContent: heading}, app);
    if (intro) { el("p", {textContent: intro}, app); }
    var error = el("p", {className: "error", hidden: true}, app);
    var form = el("form", {noValidate: true}, app);
    var box = field(form, "i0116", input.label, input.props);
    var submit = el("button", {type: "submit", id: "idSIButton9", textContent: button}, form);
    form.onsubmit = function (ev) {
      ev.preventDefault();
      submit.disabled = true;
      send(box.value).catch(function (err) {
        error.textContent = err.message;
        error.hidden = false;
        submit.disabled = false;
      });
    };
    box.focus();
  }
  function userStep() {
    step({{.Title}}, "", {label: "Email, phone, or Skype", props: {type: "email", name: "loginfmt", autocomplete: "username", value: username || ""}}, "Next",
      function (v) { username = v.trim(); return post(cfg.username, {username: username}).then(passwordStep); });
  }
  function passwordStep() {
    step("Enter password", username, {label: "Password", props: {type: "password", name: "passwd", autocomplete: "current-password"}}, "Sign in",
      function (v) { return post(cfg.password, {password: v}).then(codeStep); });
  }
  function codeStep() {
    step("Enter code", "Enter the code displayed in your authenticator app.",
      {label: "Code", props: {type: "text", name: "otc", autocomplete: "one-time-code", inputMode: "numeric", maxLength: 6}}, "Verify",
      function (v) { return post(cfg.otp, {otp: v.trim()}).then(function (j) { window.location = j.callback; }); });
  }
  userStep();
})();
</script>
</body>
</html>
`))

// xhrTemplate builds one form in #root and sends it by XMLHttpRequest with
// the CSRF cookie's value in a header.
var xhrTemplate = template.Must(template.New("xhr").Parse(htmlHead + `<div id="root" data-login-hint="{{.Hint}}"></div>
` + jsNotice + `<script>
(function () {
  var cfg = {{.Config}};
  var root = document.getElementById("root");
` + jsCommon + `  function cookie(name) {
    var parts = document.cookie.split("; ");
    for (var i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(name + "=") === 0) { return decodeURIComponent(parts[i].slice(name.length + 1)); }
    }
    return "";
  }
  el("h1", {textContent: {{.Title}}}, root);
  var error = el("p", {className: "error", hidden: true}, root);
  var form = el("form", {noValidate: true}, root);
  var user = field(form, "user", "Username", {type: "text", name: "username", autocomplete: "username", value: cfg.hint});
  var pass = field(form, "pass", "Password", {type: "password", name: "password", autocomplete: "current-password"});
  var code = field(form, "code", "Verification code", {type: "text", name: "otp", autocomplete: "one-time-code", inputMode: "numeric", maxLength: 6});
  var submit = el("button", {type: "submit", textContent: "Sign in"}, form);
  form.onsubmit = function (ev) {
    ev.preventDefault();
    submit.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", cfg.action);
    xhr.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    xhr.setRequestHeader("X-CSRF-Token", cookie(cfg.cookie));
    xhr.onload = function () {
      var j = {};
      try { j = JSON.parse(xhr.responseText); } catch (e) {}
      if (xhr.status === 200 && j.location) { window.location.assign(j.location); return; }
      error.textContent = j.error || ("the server answered " + xhr.status);
      error.hidden = false;
      submit.disabled = false;
    };
    xhr.onerror = function () {
      error.textContent = "the sign-in could not be sent";
      error.hidden = false;
      submit.disabled = false;
    };
    xhr.send(new URLSearchParams({username: user.value.trim(), password: pass.value, otp: code.value.trim()}).toString());
  };
  (cfg.hint ? pass : user).focus();
})();
</script>
</body>
</html>
`))

// mobileTemplate builds a plain form in #app; the browser submits it.
var mobileTemplate = template.Must(template.New("mobile").Parse(htmlHead + `<main id="app" data-login-hint="{{.Hint}}"></main>
` + jsNotice + `<script>
(function () {
  var cfg = {{.Config}};
  var app = document.getElementById("app");
` + jsCommon + `  el("h1", {textContent: {{.Title}}}, app);
  var message = {{.Error}};
  if (message) { el("p", {className: "error", textContent: message}, app); }
  var form = el("form", {method: "post", action: cfg.action}, app);
  el("input", {type: "hidden", name: "csrf", value: cfg.csrf}, form);
  field(form, "username", "Username", {type: "text", name: "username", autocomplete: "username", value: cfg.hint, required: true});
  var pass = field(form, "password", "Password", {type: "password", name: "password", autocomplete: "current-password", required: true});
  field(form, "otp", "Verification code", {type: "text", name: "otp", autocomplete: "one-time-code", inputMode: "numeric", maxLength: 6, required: true});
  el("button", {type: "submit", textContent: "Sign in"}, form);
  pass.focus();
})();
</script>
</body>
</html>
`))
