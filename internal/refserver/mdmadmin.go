package refserver

import (
	"io"
	"maps"
	"net/http"
	"strings"

	"github.com/enrollsim/enrollsim/internal/apns"
	"howett.net/plist"
)

// Admin triggers (§2.14): what an MDM administrator does to an enrollment,
// as HTTP endpoints that the simulator's token-life probes call. POST with
// ?id=<EnrollmentID or UDID> and no body; 204 on success, 404 for an
// unknown id. They are unauthenticated: the server listens on loopback
// only and exists to be tested.
const (
	adminRevokePath   = "/admin/revoke-token"
	adminExpirePath   = "/admin/expire-token"
	adminUnenrollPath = "/admin/unenroll"
	// adminQueuePath queues the command plist of its body
	// ({CommandUUID, Command: {RequestType, ...}}) on the enrollment's
	// device channel, after its first commands, and pushes, as an MDM's
	// API does (NanoMDM's /v1/enqueue/{id}).
	adminQueuePath = "/admin/queue"
)

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+adminRevokePath, s.admin(func(e *enrollment) { s.dropToken(e, tokenRevoked) }))
	mux.HandleFunc("POST "+adminExpirePath, s.admin(func(e *enrollment) { s.dropToken(e, tokenExpired) }))
	mux.HandleFunc("POST "+adminUnenrollPath, s.admin(func(e *enrollment) { e.unenrolled = true }))
	mux.HandleFunc("POST "+adminQueuePath, s.adminQueue)
	s.ddmAdminRoutes(mux)
}

// QueueURL is the queue trigger as a URL template (sim.AdminHooks.Queue).
func (s *Server) QueueURL() string { return "https://" + MDMHost + adminQueuePath + "?id={id}" }

// maxQueuedBody bounds a queued command: a real one is a few kilobytes.
const maxQueuedBody = 1 << 20

func (s *Server) adminQueue(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQueuedBody+1))
	if err != nil || len(body) > maxQueuedBody {
		writeText(w, http.StatusBadRequest, "the body must be a command plist of at most 1 MiB\n")
		return
	}
	var msg struct {
		CommandUUID string
		Command     map[string]any
	}
	if _, err := plist.Unmarshal(body, &msg); err != nil {
		writeText(w, http.StatusBadRequest, "the body is no command plist: "+err.Error()+"\n")
		return
	}
	rt, _ := msg.Command["RequestType"].(string)
	if rt == "" || msg.CommandUUID == "" {
		writeText(w, http.StatusBadRequest, "the command plist needs CommandUUID and Command.RequestType\n")
		return
	}
	keys := maps.Clone(msg.Command)
	delete(keys, "RequestType")
	reg := s.mdm
	reg.mu.Lock()
	e, ok := reg.byID[id]
	var pushes []apns.Notification
	if ok && !e.unenrolled {
		ch := &e.channels[0]
		ch.queue = append(ch.queue, &mdmCommand{uuid: msg.CommandUUID, requestType: rt, keys: keys})
		pushes = s.pushesFor(e)
	}
	reg.mu.Unlock()
	if !ok {
		writeText(w, http.StatusNotFound, "no enrollment "+id+"\n")
		return
	}
	s.sendPushes(pushes)
	w.WriteHeader(http.StatusNoContent)
}

// AdminURLs are the admin triggers as URL templates, {id} standing for the
// enrollment's EnrollmentID or UDID: what sim.Target.Admin takes.
func (s *Server) AdminURLs() (revoke, expire, unenroll string) {
	const q = "?id={id}"
	base := "https://" + MDMHost
	return base + adminRevokePath + q, base + adminExpirePath + q, base + adminUnenrollPath + q
}

func (s *Server) admin(act func(e *enrollment)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSpace(r.URL.Query().Get("id"))
		if id == "" {
			writeText(w, http.StatusBadRequest, "the query needs id=<EnrollmentID or UDID>\n")
			return
		}
		reg := s.mdm
		reg.mu.Lock()
		e, ok := reg.byID[id]
		if ok && !e.unenrolled {
			act(e)
		}
		reg.mu.Unlock()
		if !ok {
			writeText(w, http.StatusNotFound, "no enrollment "+id+"\n")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// dropToken ends the enrollment's bound access token: revoked, it is gone
// from the token store; expired, it stays but is past its expires_in (as
// if the hour had passed), so an OAuth refresh still works for both. The
// caller holds reg.mu.
func (s *Server) dropToken(e *enrollment, state string) {
	if e.token == "" {
		return
	}
	e.tokenState = state
	now := s.cfg.Now()
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if state == tokenRevoked {
		ts.revoke(e.token)
		return
	}
	if g, ok := ts.access[e.token]; ok && now.Before(g.expires) {
		g.expires = now
		ts.access[e.token] = g
	}
}
