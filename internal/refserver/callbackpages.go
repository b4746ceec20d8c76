package refserver

import (
	"encoding/json"
	"html"
	"net/http"
)

// Callbacks delivered in a page rather than a 308 (the callback-meta-refresh,
// callback-script-navigation and callback-in-json-body faults). Real
// servers do this: an interstitial "Returning to your device…" page, or a
// single-page app that asks its API where to go. A device's web session
// completes on the navigation all the same.

// resultPath is where the callback-in-json-body page's script asks for the
// callback, with the login session's cookie.
const resultPath = "/auth/result"

// writeRefreshCallback answers with a page whose meta refresh goes to the
// callback at once.
func writeRefreshCallback(w http.ResponseWriter, location string) {
	writeCallbackPage(w, `<meta http-equiv="refresh" content="0;url=`+html.EscapeString(location)+`">`, "")
}

// writeScriptCallback answers with a page whose script replaces the
// location with the callback, as a JSON-encoded string literal (& and <
// escaped as \u0026 and \u003c, as Go and many templates write them).
func writeScriptCallback(w http.ResponseWriter, location string) {
	lit, _ := json.Marshal(location) // a string: cannot fail
	writeCallbackPage(w, "", "window.location.replace("+string(lit)+");")
}

// writeResultPage answers the code with a page whose script fetches the
// callback from resultPath and navigates there.
func writeResultPage(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	writeCallbackPage(w, "", `fetch(`+`"`+resultPath+`"`+`, {method: "POST", credentials: "same-origin", headers: {"Accept": "application/json"}})
  .then(function (r) { return r.json(); })
  .then(function (j) { window.location.replace(j.redirect); });`)
}

// writeCallbackPage writes the interstitial: head markup, a line for the
// person, and a script. Cache-Control is the caller's (callback-cacheable
// applies to it as to the 308).
func writeCallbackPage(w http.ResponseWriter, head, script string) {
	body := "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" + head + "<title>Signed in</title></head>\n<body><p>Signed in. Returning to your device…</p>\n"
	if script != "" {
		body += "<noscript><p>Turn on JavaScript to finish signing in.</p></noscript>\n<script>\n" + script + "\n</script>\n"
	}
	body += "</body></html>\n"
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// authResult answers the callback-in-json-body page's script: the callback,
// once, for a login session whose factors both passed.
func (s *Server) authResult(w http.ResponseWriter, r *http.Request) {
	id, sess, ok := s.session(r, mdmSite)
	if !ok || !sess.signedIn {
		writeJSONError(w, http.StatusBadRequest, "no finished sign-in in this session; start again from the device")
		return
	}
	acct, known := s.dir.lookup(sess.user)
	if !known {
		writeJSONError(w, http.StatusBadRequest, "the signed-in user is no longer in the directory")
		return
	}
	s.endSession(w, id, mdmSite)
	writeStep(w, http.StatusOK, map[string]string{"redirect": s.callbackLocation(acct, true)})
}
