package refserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"howett.net/plist"
)

// Discovery paths and values (spec §2.0, §2.2).
const (
	wellKnownPath        = "/.well-known/com.apple.remotemanagement"
	serviceDiscoveryPath = "/mdm/service-discovery"

	// ServiceDiscoveryURL is the URL the server registers with AxM.
	ServiceDiscoveryURL = "https://" + MDMHost + serviceDiscoveryPath

	VersionBYOD = "mdm-byod"
	VersionADDE = "mdm-adde"

	// BaseURLs (spec §2.5). The path names the sign-in method as well as
	// the enrollment type, because the first POST carries no user: the 401
	// challenge can only be chosen from the URL discovery handed out.
	enrollBYODPath      = "/enroll/byod"
	enrollADDEPath      = "/enroll/adde"
	enrollOAuthBYODPath = "/enroll/oauth/byod"
	enrollOAuthADDEPath = "/enroll/oauth/adde"
	enrollESSOBYODPath  = "/enroll/esso/byod" // apple-as-web after Enrollment SSO (esso.go)

	enrollBYODURL      = "https://" + MDMHost + enrollBYODPath
	enrollADDEURL      = "https://" + MDMHost + enrollADDEPath
	enrollOAuthBYODURL = "https://" + MDMHost + enrollOAuthBYODPath
	enrollOAuthADDEURL = "https://" + MDMHost + enrollOAuthADDEPath
	enrollESSOBYODURL  = "https://" + MDMHost + enrollESSOBYODPath
	enrollOtherURL     = "https://" + MDMHost + "/enroll/other"

	codeWellKnownFailed = "com.apple.well-known.failed"
	// codeWellKnownWrong is the plausible-looking but undocumented code of
	// the wellknown-bad-rejection fault.
	codeWellKnownWrong = "com.apple.well-known.rejected"

	sessionCookie = "session"
)

// modelFamilies are the families that do account-driven enrollment; Apple
// also defines AppleTV and Watch, which this organisation refuses.
var modelFamilies = map[string]bool{"iPhone": true, "iPad": true, "Mac": true, "RealityDevice": true}

// wellKnown is Apple's WellKnown object.
type wellKnown struct {
	Servers []availableServer `json:"Servers"`
}

// availableServer is Apple's AvailableServer. BaseURL is omitempty only so
// that the wellknown-missing-baseurl fault can leave it out.
type availableServer struct {
	Version string `json:"Version"`
	BaseURL string `json:"BaseURL,omitempty"`
}

// errorWellKnownFailed is Apple's ErrorWellKnownFailed 403 body.
type errorWellKnownFailed struct {
	Code        string `json:"code" plist:"code"`
	Message     string `json:"message,omitempty" plist:"message,omitempty"`
	Description string `json:"description,omitempty" plist:"description,omitempty"`
}

// endpoint tells the shared discovery logic who is asking: the well-known
// path (reached through the organisation domain) or the URL registered with
// AxM. Faults name the one they break.
type endpoint int

const (
	atWellKnown endpoint = iota
	atServiceDiscovery
)

// rejectReason separates the rejections whose body a fault may spoil (the
// unknown user, which the WK-009/WK-010/WK-011 probes ask about) from the
// others.
type rejectReason int

const (
	rejectUnknownUser rejectReason = iota
	rejectOther
)

func (s *Server) orgRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+wellKnownPath, s.orgWellKnown)
}

func (s *Server) discoveryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+wellKnownPath, func(w http.ResponseWriter, r *http.Request) {
		s.discover(w, r, atWellKnown)
	})
	mux.HandleFunc("GET "+serviceDiscoveryPath, func(w http.ResponseWriter, r *http.Request) {
		if s.has(FaultDiscoveryURLSetsCookie) {
			http.SetCookie(w, &http.Cookie{Name: "mdm_session", Value: newUUID(), Path: "/", Secure: true, HttpOnly: true})
		}
		s.discover(w, r, atServiceDiscovery)
	})
}

// orgWellKnown is the organisation domain's well-known: a static redirect to
// the MDM host, as a web server with one rewrite rule would do. The device
// does not carry the query across a redirect (spec §2.2), so the Location
// repeats the raw query byte for byte.
func (s *Server) orgWellKnown(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if s.has(FaultWellKnownSlow) && !sleep(r.Context(), s.cfg.SlowDelay) {
		return // the client gave up; nobody is left to answer
	}
	mdmWellKnown := "https://" + MDMHost + withQuery(wellKnownPath, r.URL.RawQuery)
	switch {
	case s.has(FaultWellKnown404):
		writeText(w, http.StatusNotFound, "404 page not found\n")
	case s.has(FaultDirectWellKnown):
		s.discover(w, r, atWellKnown)
	case s.has(FaultRedirectNoLocation):
		w.WriteHeader(http.StatusFound)
	case s.has(FaultRedirectLoop):
		redirect(w, http.StatusTemporaryRedirect, "https://"+r.Host+r.URL.RequestURI())
	case s.has(FaultRedirectToHTTP):
		redirect(w, http.StatusTemporaryRedirect, "http://"+strings.TrimPrefix(mdmWellKnown, "https://"))
	case s.has(FaultRedirectDropsQuery):
		redirect(w, http.StatusTemporaryRedirect, "https://"+MDMHost+wellKnownPath)
	default:
		redirect(w, http.StatusTemporaryRedirect, mdmWellKnown)
	}
}

// discover answers a discovery request on behalf of the MDM: the same logic
// serves the well-known path and the URL registered with AxM, since Apple
// expects the same document from both (spec §2.3.2).
func (s *Server) discover(w http.ResponseWriter, r *http.Request, at endpoint) {
	wk := at == atWellKnown
	// The document is per user: no cache may hand it to someone else.
	w.Header().Set("Cache-Control", "no-store")

	if wk && s.has(FaultWellKnownNeedsCookie) {
		if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: rand.Text(), Path: "/", Secure: true, HttpOnly: true})
			redirect(w, http.StatusFound, "https://"+r.Host+r.URL.RequestURI())
			return
		}
	}

	q := r.URL.Query()
	// An empty model-family counts as absent: it carries no more
	// information than a missing one.
	family := q.Get("model-family")
	if family == "" && wk && s.has(FaultWellKnownRequiresModelFamily) {
		writeText(w, http.StatusBadRequest, "model-family is required\n")
		return
	}
	if family != "" && !modelFamilies[family] && !(wk && s.has(FaultWellKnownAnyFamily)) {
		s.reject(w, at, rejectOther, errorWellKnownFailed{
			Message:     "Account-driven enrollment is not available for this type of device.",
			Description: fmt.Sprintf("model-family %q is not one of iPhone, iPad, Mac, RealityDevice", family),
		})
		return
	}

	id := q.Get("user-identifier")
	if id == "" {
		if !wk && s.has(FaultAxMNeedsQuery) {
			writeText(w, http.StatusInternalServerError, "internal server error\n")
			return
		}
		s.reject(w, at, rejectOther, errorWellKnownFailed{
			Message:     "user-identifier is required",
			Description: "the request has no user-identifier query parameter",
		})
		return
	}

	version := VersionBYOD
	oauth, esso := false, false
	if acct, ok := s.dir.lookup(id); ok {
		oauth, esso = acct.Auth == AuthOAuth2, acct.ESSO
		if acct.Kind == KindADDE {
			version = VersionADDE
		}
		if wk && s.has(FaultWellKnownBYODForAll) {
			version = VersionBYOD
		}
		// adde-for-all is checked last so that it wins when both are on.
		if wk && s.has(FaultWellKnownADDEForAll) {
			version = VersionADDE
		}
	} else if !(wk && s.has(FaultWellKnownAcceptsAnyone)) {
		s.reject(w, at, rejectUnknownUser, errorWellKnownFailed{
			Message:     "This account cannot enroll with Acme. Check the address, or contact your IT department.",
			Description: fmt.Sprintf("user-identifier %q is not in the directory", id),
		})
		return
	}

	doc := s.document(at, version, oauth)
	if esso && version == VersionBYOD && len(doc.Servers) == 1 && doc.Servers[0].BaseURL == enrollBYODURL {
		doc.Servers[0].BaseURL = enrollESSOBYODURL
	}
	s.writeDocument(w, at, doc)
}

// document builds the discovery document for the chosen enrollment type and
// sign-in method, with whatever damage the active faults do to it.
func (s *Server) document(at endpoint, version string, oauth bool) wellKnown {
	entry := availableServer{Version: version, BaseURL: baseURLFor(version, oauth)}
	if at == atServiceDiscovery {
		if s.has(FaultAxMDisagrees) {
			entry.BaseURL = enrollOtherURL
		}
		return wellKnown{Servers: []availableServer{entry}}
	}
	if s.has(FaultWellKnownHTTPBaseURL) {
		entry.BaseURL = "http://" + strings.TrimPrefix(entry.BaseURL, "https://")
	}
	if s.has(FaultWellKnownUnknownVersion) {
		entry.Version += "-v2"
	}
	if s.has(FaultWellKnownMissingBaseURL) {
		entry.BaseURL = ""
	}
	doc := wellKnown{Servers: []availableServer{entry}}
	if s.has(FaultWellKnownTwoServers) {
		doc.Servers = append(doc.Servers, availableServer{Version: VersionADDE, BaseURL: enrollADDEURL})
	}
	if s.has(FaultWellKnownEmptyServers) {
		doc.Servers = []availableServer{}
	}
	return doc
}

func baseURLFor(version string, oauth bool) string {
	switch {
	case version == VersionADDE && oauth:
		return enrollOAuthADDEURL
	case version == VersionADDE:
		return enrollADDEURL
	case oauth:
		return enrollOAuthBYODURL
	default:
		return enrollBYODURL
	}
}

// wellKnownLargeNotes is the length of FaultWellKnownLarge's Notes: past
// SEC-003's 64 KiB bound, well under the simulator's 1 MiB read cap.
const wellKnownLargeNotes = 100 << 10

func (s *Server) writeDocument(w http.ResponseWriter, at endpoint, doc wellKnown) {
	wk := at == atWellKnown
	body, err := json.Marshal(doc)
	if err != nil {
		panic("refserver: encoding the discovery document: " + err.Error()) // fixed types: cannot happen
	}
	if wk && s.has(FaultWellKnownBadJSON) {
		body = []byte(`{"Servers": [`)
	}
	if wk && s.has(FaultWellKnownLarge) {
		// A vendor's key beside Servers: legal, and devices ignore it.
		body = append(body[:len(body)-1], `,"Notes":"`+strings.Repeat("n", wellKnownLargeNotes)+`"}`...)
	}
	if wk && s.has(FaultWellKnownBOM) {
		body = append([]byte("\xEF\xBB\xBF"), body...)
	}
	contentType := "application/json"
	if wk && s.has(FaultWellKnownContentType) {
		contentType = "text/plain"
	}
	if wk && s.has(FaultWellKnownCacheable) {
		w.Header().Del("Cache-Control")
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// reject answers 403 with Apple's ErrorWellKnownFailed, which iOS 17.5+
// shows to the user instead of a generic failure (spec §2.2).
func (s *Server) reject(w http.ResponseWriter, at endpoint, why rejectReason, body errorWellKnownFailed) {
	body.Code = codeWellKnownFailed
	if at == atWellKnown && why == rejectUnknownUser {
		switch {
		case s.has(FaultWellKnownBadRejection):
			writeJSON(w, http.StatusForbidden, errorWellKnownFailed{Code: codeWellKnownWrong})
			return
		case s.has(FaultWellKnownPlistRejection):
			out, err := plist.MarshalIndent(body, plist.XMLFormat, "\t")
			if err != nil {
				panic("refserver: encoding the rejection plist: " + err.Error()) // fixed types: cannot happen
			}
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(out)
			return
		}
	}
	writeJSON(w, http.StatusForbidden, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("refserver: encoding JSON response: " + err.Error()) // fixed types: cannot happen
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// redirect sets Location verbatim; http.Redirect would rewrite relative
// targets and add an HTML body, and the faults need exact control.
func redirect(w http.ResponseWriter, status int, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

func withQuery(path, rawQuery string) string {
	if rawQuery == "" {
		return path
	}
	return path + "?" + rawQuery
}

// sleep waits d or until ctx ends, and reports whether the full delay passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
