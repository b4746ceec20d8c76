package weblogin_test

import (
	"net/http"
	"testing"
)

// acme is an MDM with a Django-style login: a session cookie, a CSRF token
// per form, the session rotated at sign-in, a TOTP page, then the callback.
type acme struct {
	t              *testing.T
	password, code string // what the server accepts
	token          string // the access token of the callback
	rejectStatus   int    // status of a form re-shown after a wrong input; 200 when 0
	skipOTP        bool   // answer the callback right after the password (TOTP-001 broken)
	callbackStatus int    // 308 when 0
	seen           *seen
}

const (
	acmeCSRFLogin  = "lOgInCsRf-3b9f1c0e7d2a4b6c"
	acmeCSRFVerify = "vErIfYcSrF-9d8e7f6a5b4c3d2e"
	acmePreAuth    = "preauth-7f3a9b2c1d0e4f5a"
	acmePostAuth   = "postauth-c41d2e8f9a0b1c2d"
)

func newAcme(t *testing.T, password, code string) *acme {
	return &acme{t: t, password: password, code: code, token: "dXNlci1pZGVudGl0eS0xMjM0NTY3ODkw", seen: newSeen()}
}

func (a *acme) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authenticate", a.loginPage)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("GET /verify", a.verifyPage)
	mux.HandleFunc("POST /verify", a.verify)
	return mux
}

func (a *acme) loginPage(w http.ResponseWriter, r *http.Request) {
	a.seen.record(a.t, r)
	http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: acmePreAuth, Path: "/", HttpOnly: true})
	render(a.t, w, http.StatusOK, "login.html", pageData{CSRF: acmeCSRFLogin, Hint: r.URL.Query().Get("user-identifier")})
}

func (a *acme) login(w http.ResponseWriter, r *http.Request) {
	f := a.seen.record(a.t, r)
	if cookie(r, "sessionid") != acmePreAuth || f.Get("csrfmiddlewaretoken") != acmeCSRFLogin {
		http.Error(w, "CSRF verification failed. Request aborted.", http.StatusForbidden)
		return
	}
	if f.Get("password") != a.password {
		render(a.t, w, a.status(), "login.html", pageData{CSRF: acmeCSRFLogin, Hint: f.Get("username"), Error: "Invalid password"})
		return
	}
	if a.skipOTP {
		a.callback(w)
		return
	}
	// Django rotates the session at sign-in.
	http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: acmePostAuth, Path: "/", HttpOnly: true})
	http.Redirect(w, r, "/verify", http.StatusSeeOther)
}

func (a *acme) verifyPage(w http.ResponseWriter, r *http.Request) {
	a.seen.record(a.t, r)
	if cookie(r, "sessionid") != acmePostAuth {
		http.Redirect(w, r, "/authenticate", http.StatusFound)
		return
	}
	render(a.t, w, http.StatusOK, "totp.html", pageData{CSRF: acmeCSRFVerify})
}

func (a *acme) verify(w http.ResponseWriter, r *http.Request) {
	f := a.seen.record(a.t, r)
	if cookie(r, "sessionid") != acmePostAuth || f.Get("csrfmiddlewaretoken") != acmeCSRFVerify {
		http.Error(w, "CSRF verification failed. Request aborted.", http.StatusForbidden)
		return
	}
	if f.Get("verification_code") != a.code {
		render(a.t, w, a.status(), "totp.html", pageData{CSRF: acmeCSRFVerify, Error: "Invalid code. Try again."})
		return
	}
	a.callback(w)
}

func (a *acme) callback(w http.ResponseWriter) {
	status := a.callbackStatus
	if status == 0 {
		status = http.StatusPermanentRedirect
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", callbackURL(a.token))
	w.WriteHeader(status)
}

func (a *acme) status() int {
	if a.rejectStatus == 0 {
		return http.StatusOK
	}
	return a.rejectStatus
}
