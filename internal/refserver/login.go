package refserver

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The web login (spec §2.7): a password form and a TOTP form, plain HTML
// without JavaScript, tied together by a login-session cookie. The same
// pages serve three sign-ins, which differ only in how they end:
//
//   - apple-as-web on the MDM host (alice, bob, dave): the OTP answer is the
//     308 to apple-remotemanagement-user-login://authentication-results.
//   - apple-as-web federated to the identity provider (carol): the MDM's
//     login page sends the browser to idp.acme.test, whose OTP answer is a
//     303 back to the MDM's /auth/complete with a one-time ticket, and that
//     answers the 308 callback.
//   - apple-oauth2 (erin, frank): /oauth2/authorize on idp.acme.test opens
//     the session, and the OTP answer is the 308 to the redirect URI with
//     code and state (oauth.go).
const (
	loginPath    = "/auth/login"
	otpPath      = "/auth/otp"
	completePath = "/auth/complete"
	loginURL     = "https://" + MDMHost + loginPath
	completeURL  = "https://" + MDMHost + completePath

	idpLoginPath = "/login"
	idpOTPPath   = "/otp"
	idpLoginURL  = "https://" + IdPHost + idpLoginPath

	callbackScheme = "apple-remotemanagement-user-login"
	callbackHost   = "authentication-results"
	// callbackWrongHost is the host the callback-wrong-host fault uses.
	callbackWrongHost = "login-results"

	// tenantQuery is what login-url-query adds to the challenge's url and
	// then requires on the login page.
	tenantQuery = "tenant=acme"

	maxFormBytes = 16 << 10

	msgBadCredentials = "The username or password is incorrect."
	msgBadCode        = "That code is not right. Wait for the next code and try again."
)

// loginSite is one host's copy of the forms.
type loginSite struct {
	host      string
	cookie    string
	loginPath string
	otpPath   string
	title     string
}

var (
	mdmSite = &loginSite{host: MDMHost, cookie: "acme_mdm_login", loginPath: loginPath, otpPath: otpPath,
		title: "Sign in to Acme device management"}
	idpSite = &loginSite{host: IdPHost, cookie: "acme_idp_login", loginPath: idpLoginPath, otpPath: idpOTPPath,
		title: "Acme ID"}
)

// finish says what a completed sign-in answers.
type finish int

const (
	finishCallback finish = iota // 308 to the apple-as-web callback with an access token
	finishTicket                 // 303 from the identity provider back to the MDM
	finishOAuth                  // 308 to the OAuth redirect URI with code and state
)

// loginSession is one sign-in in progress, found by its cookie.
type loginSession struct {
	site    *loginSite
	csrf    string // the hidden form field must repeat it
	action  string // the password form's action
	user    string // Identifier, once the password was right
	pending string // Identifier typed in a single-page flow's first step
	finish  finish
	oauth   oauthRequest // finishOAuth only
	// signedIn: both factors passed and the callback waits for the
	// page's script to fetch it (callback-in-json-body).
	signedIn bool
	expires  time.Time
}

type sessionStore struct {
	mu sync.Mutex
	m  map[string]loginSession
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]loginSession{}} }

func (s *Server) loginRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+loginPath, s.mdmLoginPage)
	mux.HandleFunc("POST "+loginPath, func(w http.ResponseWriter, r *http.Request) { s.passwordSubmit(w, r, mdmSite) })
	mux.HandleFunc("GET "+otpPath, func(w http.ResponseWriter, r *http.Request) { s.otpPage(w, r, mdmSite) })
	mux.HandleFunc("POST "+otpPath, func(w http.ResponseWriter, r *http.Request) { s.otpSubmit(w, r, mdmSite) })
	mux.HandleFunc("GET "+completePath, s.authComplete)
	mux.HandleFunc("POST "+resultPath, s.authResult)
}

func (s *Server) idpRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+idpLoginPath, s.idpLoginPage)
	mux.HandleFunc("POST "+idpLoginPath, func(w http.ResponseWriter, r *http.Request) { s.passwordSubmit(w, r, idpSite) })
	mux.HandleFunc("GET "+idpOTPPath, func(w http.ResponseWriter, r *http.Request) { s.otpPage(w, r, idpSite) })
	mux.HandleFunc("POST "+idpOTPPath, func(w http.ResponseWriter, r *http.Request) { s.otpSubmit(w, r, idpSite) })
	s.oauthRoutes(mux)
}

// mdmLoginPage is the url of the apple-as-web challenge. The device adds
// (or, on iOS 26.1, replaces the query with) user-identifier, which
// pre-fills the form and routes federated users to the identity provider.
func (s *Server) mdmLoginPage(w http.ResponseWriter, r *http.Request) {
	if s.has(FaultLoginPage404) {
		writeText(w, http.StatusNotFound, "404 page not found\n")
		return
	}
	if s.has(FaultLoginRateLimitedOnce) && s.rateLimited.CompareAndSwap(false, true) {
		w.Header().Set("Retry-After", "1")
		writeText(w, http.StatusTooManyRequests, "too many sign-in attempts; try again in a second\n")
		return
	}
	q := r.URL.Query()
	action := loginPath
	if s.has(FaultLoginURLQuery) {
		if q.Get("tenant") != "acme" {
			writeText(w, http.StatusBadRequest, "tenant is required\n")
			return
		}
		action += "?" + tenantQuery
	}
	hint := q.Get("user-identifier")
	if acct, ok := s.dir.lookup(hint); ok && (acct.Auth == AuthWebIdP || acct.NeedsJavaScript) {
		w.Header().Set("Cache-Control", "no-store")
		target := idpLoginFor(hint)
		if acct.NeedsJavaScript {
			target = s.jsLoginFor(acct, hint)
		}
		redirect(w, http.StatusFound, target)
		return
	}
	sess := s.newSession(w, loginSession{site: mdmSite, action: action, finish: finishCallback})
	s.writePasswordPage(w, sess, hint, "")
}

// idpLoginFor is where the MDM sends a federated user: the identity
// provider's form, which returns to /auth/complete.
func idpLoginFor(hint string) string {
	q := "return=" + url.QueryEscape(completeURL)
	if hint != "" {
		q += "&login_hint=" + url.QueryEscape(hint)
	}
	return idpLoginURL + "?" + q
}

// idpLoginPage starts a federated sign-in. It only ever returns to the
// MDM's /auth/complete: an open redirect would hand tickets to anyone.
func (s *Server) idpLoginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("return") != completeURL {
		writeText(w, http.StatusBadRequest, "return must be "+completeURL+"\n")
		return
	}
	hint := q.Get("login_hint")
	sess := s.newSession(w, loginSession{site: idpSite, action: idpLoginPath, finish: finishTicket})
	s.writePasswordPage(w, sess, hint, "")
}

// newSession opens a login session from sess (site, hint, action, finish
// and OAuth request set by the caller) and sets its cookie.
func (s *Server) newSession(w http.ResponseWriter, sess loginSession) loginSession {
	now := s.cfg.Now()
	id := newSecret()
	sess.csrf = newSecret()
	sess.expires = now.Add(loginSessionTTL)
	s.logins.mu.Lock()
	maps.DeleteFunc(s.logins.m, func(_ string, v loginSession) bool { return !now.Before(v.expires) })
	s.logins.m[id] = sess
	s.logins.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sess.site.cookie, Value: id, Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
	return sess
}

// session finds the request's live login session on site.
func (s *Server) session(r *http.Request, site *loginSite) (string, loginSession, bool) {
	c, err := r.Cookie(site.cookie)
	if err != nil || c.Value == "" {
		return "", loginSession{}, false
	}
	s.logins.mu.Lock()
	defer s.logins.mu.Unlock()
	sess, ok := s.logins.m[c.Value]
	if !ok || sess.site != site || !s.cfg.Now().Before(sess.expires) {
		return "", loginSession{}, false
	}
	return c.Value, sess, true
}

func (s *Server) saveSession(id string, sess loginSession) {
	s.logins.mu.Lock()
	defer s.logins.mu.Unlock()
	s.logins.m[id] = sess
}

func (s *Server) endSession(w http.ResponseWriter, id string, site *loginSite) {
	s.logins.mu.Lock()
	delete(s.logins.m, id)
	s.logins.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: site.cookie, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true,
		SameSite: http.SameSiteLaxMode})
}

// formSession checks what every form POST needs: a live session for this
// site and the session's CSRF token in the form. It answers 400 itself.
func (s *Server) formSession(w http.ResponseWriter, r *http.Request, site *loginSite) (string, loginSession, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeText(w, http.StatusBadRequest, "the form could not be read\n")
		return "", loginSession{}, false
	}
	id, sess, ok := s.session(r, site)
	if !ok {
		writeText(w, http.StatusBadRequest, "the sign-in session has expired or cookies are off; start again from the device\n")
		return "", loginSession{}, false
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(sess.csrf)) != 1 {
		writeText(w, http.StatusBadRequest, "the form is out of date (bad csrf token); start again from the device\n")
		return "", loginSession{}, false
	}
	return id, sess, true
}

// passwordSubmit checks the first factor. Accounts sign in where their
// password lives: the MDM's own users on the MDM, the others on the
// identity provider (a federated user who types their name on the MDM is
// sent there).
func (s *Server) passwordSubmit(w http.ResponseWriter, r *http.Request, site *loginSite) {
	id, sess, ok := s.formSession(w, r, site)
	if !ok {
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	acct, known := s.dir.lookup(username)
	if known && site == mdmSite && (acct.Auth == AuthWebIdP || acct.NeedsJavaScript) {
		s.endSession(w, id, site)
		w.Header().Set("Cache-Control", "no-store")
		target := idpLoginFor(acct.Identifier)
		if acct.NeedsJavaScript {
			target = s.jsLoginFor(acct, acct.Identifier)
		}
		redirect(w, http.StatusSeeOther, target)
		return
	}
	right := known && acct.atIdP() == (site == idpSite) &&
		(subtle.ConstantTimeCompare([]byte(password), []byte(acct.Password)) == 1 || s.has(FaultWrongPasswordAccepted))
	if !right {
		s.writePasswordPage(w, sess, username, msgBadCredentials)
		return
	}
	sess.user = acct.Identifier
	if s.has(FaultTOTPNotEnforced) {
		s.endSession(w, id, site)
		s.finishLogin(w, sess, acct)
		return
	}
	s.saveSession(id, sess)
	w.Header().Set("Cache-Control", "no-store")
	redirect(w, http.StatusSeeOther, site.otpPath)
}

func (s *Server) otpPage(w http.ResponseWriter, r *http.Request, site *loginSite) {
	_, sess, ok := s.session(r, site)
	if !ok || sess.user == "" {
		writeText(w, http.StatusBadRequest, "sign in with your password first\n")
		return
	}
	s.writeOTPPage(w, sess, "")
}

// otpSubmit checks the second factor and, when it is right, ends the
// sign-in the way the session was opened for.
func (s *Server) otpSubmit(w http.ResponseWriter, r *http.Request, site *loginSite) {
	id, sess, ok := s.formSession(w, r, site)
	if !ok {
		return
	}
	acct, known := s.dir.lookup(sess.user)
	if sess.user == "" || !known {
		writeText(w, http.StatusBadRequest, "sign in with your password first\n")
		return
	}
	code := r.PostForm.Get("otp")
	if s.has(FaultLoginSplitOTP) {
		code = splitCode(r.PostForm)
	}
	if !s.checkTOTP(acct, code) {
		if s.has(FaultTOTP5xx) {
			writeText(w, http.StatusInternalServerError, "internal server error\n")
			return
		}
		s.writeOTPPage(w, sess, msgBadCode)
		return
	}
	if sess.finish == finishCallback && site == mdmSite && s.has(FaultCallbackInJSONBody) {
		sess.signedIn = true
		s.saveSession(id, sess)
		writeResultPage(w)
		return
	}
	s.endSession(w, id, site)
	s.finishLogin(w, sess, acct)
}

// splitCode joins the boxes of login-split-otp, one digit each; anything
// else in a box (the whole code in the first, an empty one) is no code.
func splitCode(form url.Values) string {
	code := ""
	for i := 1; i <= totpDigits; i++ {
		d := form.Get(fmt.Sprintf("digit%d", i))
		if !isDigits(d, 1) {
			return ""
		}
		code += d
	}
	return code
}

func (s *Server) finishLogin(w http.ResponseWriter, sess loginSession, acct Account) {
	switch sess.finish {
	case finishTicket:
		w.Header().Set("Cache-Control", "no-store")
		redirect(w, http.StatusSeeOther, completeURL+"?ticket="+url.QueryEscape(s.issueTicket(acct)))
	case finishOAuth:
		s.writeAuthorizationResponse(w, sess.oauth, acct)
	default:
		s.writeCallback(w, acct)
	}
}

// authComplete is where the identity provider hands a federated user back
// to the MDM; the ticket works once.
func (s *Server) authComplete(w http.ResponseWriter, r *http.Request) {
	g, ok := s.redeemTicket(r.URL.Query().Get("ticket"))
	if !ok {
		writeText(w, http.StatusBadRequest, "the sign-in ticket is unknown, used or expired; start again from the device\n")
		return
	}
	acct, ok := s.dir.lookup(g.user)
	if !ok {
		writeText(w, http.StatusBadRequest, "the signed-in user is no longer in the directory\n")
		return
	}
	s.writeCallback(w, acct)
}

// writeCallback ends an apple-as-web sign-in (spec §2.7 step 4): 308 to
// apple-remotemanagement-user-login://authentication-results with the
// access token, nothing else.
func (s *Server) writeCallback(w http.ResponseWriter, acct Account) {
	location := s.callbackLocation(acct, true)
	status := http.StatusPermanentRedirect
	switch {
	case s.has(FaultCallback302):
		status = http.StatusFound
	case s.has(FaultCallback303):
		status = http.StatusSeeOther
	}
	if !s.has(FaultCallbackCacheable) {
		w.Header().Set("Cache-Control", "no-store")
	}
	switch {
	case s.has(FaultCallbackMetaRefresh):
		writeRefreshCallback(w, location)
		return
	case s.has(FaultCallbackScriptNav):
		writeScriptCallback(w, location)
		return
	}
	w.Header().Set("Content-Length", "0")
	redirect(w, status, location)
}

// page is what the form template shows.
type page struct {
	Title    string
	Error    string
	Action   string
	CSRF     string
	Username string
	User     string
	OTP      bool
}

// htmlHead opens every page the server renders.
const htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
</head>
<body>
`

// The forms need no JavaScript; the OTP field's attributes come first and
// in this order so that simple form readers find the field by its markup.
var pageTemplate = template.Must(template.New("page").Parse(htmlHead + `<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error">{{.Error}}</p>
{{end}}{{if .OTP}}<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p>Enter the 6-digit code from your authenticator app{{if .User}} for {{.User}}{{end}}.</p>
<label for="otp">Verification code</label>
<input name="otp" autocomplete="one-time-code" inputmode="numeric" id="otp" type="text" pattern="[0-9]{6}" maxlength="6" required autofocus>
<button type="submit">Verify</button>
</form>
{{else}}<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label for="username">Username</label>
<input name="username" autocomplete="username" id="username" type="text" inputmode="email" value="{{.Username}}" required>
<label for="password">Password</label>
<input name="password" autocomplete="current-password" id="password" type="password" required>
<button type="submit">Continue</button>
</form>
{{end}}</main>
</body>
</html>
`))

// splitOTPTemplate is the one-time-code page of login-split-otp: one box
// per digit, as many sign-in pages draw it, with a script that moves the
// focus along (the form works without it).
var splitOTPTemplate = template.Must(template.New("otp-split").Parse(htmlHead + `<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="err">{{.Error}}</p>
{{end}}<form method="post" action="{{.Action}}" id="otp-form">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<p>Enter the 6-digit code from your authenticator app{{if .User}} for {{.User}}{{end}}.</p>
<div class="otp-boxes">
<input name="digit1" type="text" maxlength="1" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]" aria-label="Digit 1" required autofocus>
<input name="digit2" type="text" maxlength="1" inputmode="numeric" pattern="[0-9]" aria-label="Digit 2" required>
<input name="digit3" type="text" maxlength="1" inputmode="numeric" pattern="[0-9]" aria-label="Digit 3" required>
<input name="digit4" type="text" maxlength="1" inputmode="numeric" pattern="[0-9]" aria-label="Digit 4" required>
<input name="digit5" type="text" maxlength="1" inputmode="numeric" pattern="[0-9]" aria-label="Digit 5" required>
<input name="digit6" type="text" maxlength="1" inputmode="numeric" pattern="[0-9]" aria-label="Digit 6" required>
</div>
<button type="submit">Verify</button>
</form>
</main>
<script>
(function () {
  var boxes = document.querySelectorAll(".otp-boxes input");
  boxes.forEach(function (box, i) {
    box.addEventListener("input", function () {
      if (box.value.length === 1 && i + 1 < boxes.length) boxes[i + 1].focus();
    });
  });
})();
</script>
</body>
</html>
`))

// jsOTPTemplate is the one-time-code page of otp-needs-javascript: no
// form in the markup, only a notice for browsers without JavaScript and a
// script that builds the form (and sends the user back to the start).
var jsOTPTemplate = template.Must(template.New("otp-js").Parse(htmlHead + `<main id="app"></main>
<noscript>This page needs JavaScript.</noscript>
<script>
(function () {
  var app = document.getElementById("app");
  var h1 = document.createElement("h1");
  h1.textContent = {{.Title}};
  app.appendChild(h1);
  var error = {{.Error}};
  if (error) {
    var p = document.createElement("p");
    p.className = "error";
    p.textContent = error;
    app.appendChild(p);
  }
  var form = document.createElement("form");
  form.method = "post";
  form.action = {{.Action}};
  var csrf = document.createElement("input");
  csrf.type = "hidden";
  csrf.name = "csrf";
  csrf.value = {{.CSRF}};
  form.appendChild(csrf);
  var otp = document.createElement("input");
  otp.name = "otp";
  otp.autocomplete = "one-time-code";
  otp.inputMode = "numeric";
  otp.pattern = "[0-9]{6}";
  otp.maxLength = 6;
  otp.required = true;
  form.appendChild(otp);
  var verify = document.createElement("button");
  verify.type = "submit";
  verify.textContent = "Verify";
  form.appendChild(verify);
  var restart = document.createElement("button");
  restart.type = "button";
  restart.textContent = "Start again";
  restart.onclick = function () { location.href = {{.Restart}}; };
  form.appendChild(restart);
  app.appendChild(form);
  otp.focus();
})();
</script>
</body>
</html>
`))

// jsPage is what jsOTPTemplate shows.
type jsPage struct {
	Title, Error, Action, CSRF, Restart string
}

func (s *Server) writePasswordPage(w http.ResponseWriter, sess loginSession, username, errMsg string) {
	if s.has(FaultLoginNoPrefill) {
		username = ""
	}
	writeHTML(w, pageTemplate, page{Title: sess.site.title, Error: errMsg, Action: sess.action, CSRF: sess.csrf, Username: username})
}

func (s *Server) writeOTPPage(w http.ResponseWriter, sess loginSession, errMsg string) {
	if s.has(FaultOTPNeedsJavaScript) {
		writeHTML(w, jsOTPTemplate, jsPage{Title: sess.site.title, Error: errMsg, Action: sess.site.otpPath, CSRF: sess.csrf,
			Restart: sess.site.loginPath})
		return
	}
	user := sess.user
	if s.has(FaultLoginNoPrefill) {
		user = ""
	}
	if s.has(FaultLoginSplitOTP) {
		writeHTML(w, splitOTPTemplate, page{Title: sess.site.title, Error: errMsg, Action: sess.site.otpPath, CSRF: sess.csrf, User: user, OTP: true})
		return
	}
	writeHTML(w, pageTemplate, page{Title: sess.site.title, Error: errMsg, Action: sess.site.otpPath, CSRF: sess.csrf, User: user, OTP: true})
}

// writeHTML answers 200 with a form page. Pages carry a CSRF token, so no
// cache may keep them.
func writeHTML(w http.ResponseWriter, tmpl *template.Template, data any) {
	writeHTMLStatus(w, http.StatusOK, tmpl, data)
}

func writeHTMLStatus(w http.ResponseWriter, status int, tmpl *template.Template, data any) {
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		panic("refserver: rendering " + tmpl.Name() + ": " + err.Error()) // fixed templates and types: cannot happen
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// errorTemplate is an HTML error page, for answers a person reads in the
// device's web view.
var errorTemplate = template.Must(template.New("error").Parse(htmlHead + `<main>
<h1>{{.Title}}</h1>
<p class="error">{{.Message}}</p>
</main>
</body>
</html>
`))

// writeHTMLError answers status with an HTML error page.
func writeHTMLError(w http.ResponseWriter, status int, title, message string) {
	writeHTMLStatus(w, status, errorTemplate, struct{ Title, Message string }{title, message})
}
