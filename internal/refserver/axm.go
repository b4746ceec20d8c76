package refserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The AxM stand-in plays two Apple services on one host: the registration
// API of mdmenrollment.apple.com (spec §2.3.1) and the device-side fallback
// of axm-servicediscovery.apple.com (spec §2.3.2).
//
// Error bodies are plain text equal to the error code (for example
// "MDM_SERVICE_DISCOVERY_URL_REQUIRED"), as Device Assignment Services
// answers its other errors. That keeps them deterministic and easy to match;
// nothing in the discovery checks reads more than the status and the code.
const (
	axmProfilePath  = "/account-driven-enrollment/profile"
	axmFallbackPath = "/mdmBaseURL"

	axmSessionHeader = "X-ADM-Auth-Session"
	// selfSession is the session the server presents when it registers with
	// its own stand-in; any non-empty value is accepted.
	selfSession = "refserver-self-registration"

	errUnauthorized       = "UNAUTHORIZED"
	errURLRequired        = "MDM_SERVICE_DISCOVERY_URL_REQUIRED"
	errURLNotValid        = "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"
	errMalformedBody      = "MALFORMED_REQUEST_BODY"
	errNotFound           = "NOT_FOUND"
	maxRegistrationBodyKB = 64
)

// axmRegistry is the organisation's account-driven enrollment profile as
// AxM stores it: at most one discovery URL.
type axmRegistry struct {
	mu      sync.Mutex
	url     string
	updated time.Time
}

func (a *axmRegistry) get() (string, time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.url, a.updated, a.url != ""
}

func (a *axmRegistry) set(u string, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.url, a.updated = u, at
}

type axmProfileRequest struct {
	URL *string `json:"mdm_service_discovery_url"`
}

type axmProfileResponse struct {
	URL         string `json:"mdm_service_discovery_url"`
	LastUpdated string `json:"last_updated_timestamp"`
}

func (s *Server) axmRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+axmProfilePath, s.axmSession(s.axmAssign))
	mux.HandleFunc("GET "+axmProfilePath, s.axmSession(s.axmFetch))
	mux.HandleFunc("DELETE "+axmProfilePath, s.axmSession(s.axmRemove))
	mux.HandleFunc("GET "+axmFallbackPath, s.axmFallback)
}

// axmSession demands the DEP session header on every registration call, as
// Apple's API does: a server that forgets it must see the failure here
// rather than in production.
func (s *Server) axmSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if strings.TrimSpace(r.Header.Get(axmSessionHeader)) == "" {
			writeText(w, http.StatusUnauthorized, errUnauthorized)
			return
		}
		next(w, r)
	}
}

func (s *Server) axmAssign(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistrationBodyKB<<10))
	if err != nil {
		writeText(w, http.StatusBadRequest, errMalformedBody)
		return
	}
	var req axmProfileRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		writeText(w, http.StatusBadRequest, errMalformedBody)
		return
	}
	if req.URL == nil || strings.TrimSpace(*req.URL) == "" {
		writeText(w, http.StatusBadRequest, errURLRequired)
		return
	}
	u, err := url.Parse(*req.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		writeText(w, http.StatusBadRequest, errURLNotValid)
		return
	}
	s.axm.set(*req.URL, s.cfg.Now())
	// Apple documents a bare 200; an empty JSON object keeps clients that
	// decode every answer as JSON happy.
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) axmFetch(w http.ResponseWriter, r *http.Request) {
	u, at, ok := s.axm.get()
	if !ok {
		writeText(w, http.StatusNotFound, errNotFound)
		return
	}
	writeJSON(w, http.StatusOK, axmProfileResponse{URL: u, LastUpdated: at.UTC().Format(time.RFC3339)})
}

func (s *Server) axmRemove(w http.ResponseWriter, r *http.Request) {
	s.axm.set("", time.Time{})
	w.WriteHeader(http.StatusOK)
}

// axmFallback is what an 18.2+ device asks after the organisation domain
// failed: Apple redirects it to the registered URL when the identifier's
// domain is verified for the organisation. Whether Apple appends the query
// is undocumented (spec §5); the stand-in does, as sample servers expect,
// and ABM-004 separately covers servers that would need it.
func (s *Server) axmFallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	registered, _, ok := s.axm.get()
	if !ok {
		writeText(w, http.StatusNotFound, "no account-driven enrollment service discovery URL is registered\n")
		return
	}
	q := r.URL.Query()
	id := q.Get("user-identifier")
	if !isVerifiedDomain(domainOf(id)) {
		writeText(w, http.StatusNotFound, fmt.Sprintf("the domain of %q is not verified for any organisation\n", id))
		return
	}
	target, err := url.Parse(registered)
	if err != nil {
		// assign validated it; a broken URL here is a bug in the stand-in.
		writeText(w, http.StatusInternalServerError, "registered URL does not parse\n")
		return
	}
	// Appended by hand, in the device's order, so that the registered URL's
	// own query stays exactly as registered (url.Values.Encode would sort
	// and re-escape it).
	add := "user-identifier=" + url.QueryEscape(id)
	if family := q.Get("model-family"); family != "" {
		add += "&model-family=" + url.QueryEscape(family)
	}
	if target.RawQuery == "" {
		target.RawQuery = add
	} else {
		target.RawQuery += "&" + add
	}
	redirect(w, http.StatusFound, target.String())
}

// registerWithAxM sends the registration through the stand-in's own handler,
// so the registration path is exercised exactly as an outside server's
// would be.
func (s *Server) registerWithAxM() error {
	body, err := json.Marshal(axmProfileRequest{URL: new(ServiceDiscoveryURL)})
	if err != nil {
		return fmt.Errorf("refserver: encoding AxM registration: %w", err)
	}
	req := httptest.NewRequest(http.MethodPost, "https://"+AxMHost+axmProfilePath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json;charset=UTF8")
	req.Header.Set(axmSessionHeader, selfSession)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("refserver: registering %s with the AxM stand-in: %d %s",
			ServiceDiscoveryURL, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}
