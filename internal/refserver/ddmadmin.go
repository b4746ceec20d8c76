package refserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// The DDM admin API, as the other admin triggers (mdmadmin.go):
// unauthenticated, on the loopback-only server, ?id=<EnrollmentID or UDID>.
//
//	POST   /admin/declarations?id={id}[&activate=false]  body: a declaration (JSON)
//	DELETE /admin/declarations?id={id}&identifier={identifier}
//	GET    /admin/declarations?id={id}                   the set and its DeclarationsToken
//	GET    /admin/ddm-status?id={id}                     the device's last status report
//	GET    /admin/enrollments                            every enrollment: id, kind, account, product, ddm
//
// A change to the set queues the DeclarativeManagement command and pushes.
const (
	adminDeclarationsPath = "/admin/declarations"
	adminDDMStatusPath    = "/admin/ddm-status"
	adminEnrollmentsPath  = "/admin/enrollments"

	// maxDeclarationBody bounds one declaration posted.
	maxDeclarationBody = 1 << 20
)

// Errors of the DDM accessors; the admin API answers them 404, others 400.
var (
	ErrNoEnrollment  = errors.New("refserver: no such enrollment")
	ErrDDMOff        = errors.New("refserver: declarative management is off for this enrollment (serve --ddm turns it on for all)")
	ErrNoDeclaration = errors.New("refserver: no such declaration")
)

func (s *Server) ddmAdminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST "+adminDeclarationsPath, s.adminPutDeclaration)
	mux.HandleFunc("DELETE "+adminDeclarationsPath, s.adminRemoveDeclaration)
	mux.HandleFunc("GET "+adminDeclarationsPath, s.adminListDeclarations)
	mux.HandleFunc("GET "+adminDDMStatusPath, s.adminDDMStatus)
	mux.HandleFunc("GET "+adminEnrollmentsPath, s.adminEnrollments)
}

// EnrollmentInfo is one enrollment as the admin API lists it: the id the
// other admin endpoints take.
type EnrollmentInfo struct {
	ID         string `json:"id"` // EnrollmentID or UDID
	Kind       string `json:"kind"`
	Account    string `json:"account,omitempty"`
	Product    string `json:"product"`
	DDM        bool   `json:"ddm"`
	Unenrolled bool   `json:"unenrolled,omitempty"`
	CheckedOut bool   `json:"checked_out,omitempty"`
}

// adminEnrollments lists the enrollments, then the last records of those
// that checked out, without their push secrets.
func (s *Server) adminEnrollments(w http.ResponseWriter, _ *http.Request) {
	all := append(s.Enrollments(), s.CheckedOutEnrollments()...)
	out := make([]EnrollmentInfo, 0, len(all))
	for _, e := range all {
		out = append(out, EnrollmentInfo{ID: e.ID, Kind: e.Kind, Account: e.User, Product: e.ProductName, DDM: e.DDM, Unenrolled: e.Unenrolled, CheckedOut: e.CheckedOut})
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// EnrollmentsURL is the admin endpoint that lists the enrollments.
func (s *Server) EnrollmentsURL() string { return "https://" + MDMHost + adminEnrollmentsPath }

// DDMAdminURLs are the DDM admin endpoints as URL templates, {id} standing
// for the enrollment's EnrollmentID or UDID: POST a declaration to (or
// DELETE one with &identifier= from, GET the set of) declarations; GET
// status for the last status report.
func (s *Server) DDMAdminURLs() (declarations, status string) {
	base := "https://" + MDMHost
	return base + adminDeclarationsPath + "?id={id}", base + adminDDMStatusPath + "?id={id}"
}

// ddmStoreOf is the store of enrollment id. The caller holds reg.mu.
func (s *Server) ddmStoreOf(id string) (*enrollment, error) {
	e, ok := s.mdm.byID[id]
	switch {
	case !ok || e.unenrolled:
		return nil, ErrNoEnrollment
	case e.ddm == nil:
		return nil, ErrDDMOff
	}
	return e, nil
}

// PutDeclaration adds d to the set of enrollment id, or replaces the one
// with its Identifier; a configuration is also added to the default
// activation when activate is set. It returns d as stored, with its
// ServerToken. A change queues the DeclarativeManagement command and
// pushes; the same declaration again changes nothing.
func (s *Server) PutDeclaration(id string, d Declaration, activate bool) (Declaration, error) {
	if d.Payload != nil {
		d.Payload, _ = cloneJSON(d.Payload).(map[string]any)
	}
	reg := s.mdm
	reg.mu.Lock()
	stored, pushes, err := s.putDeclaration(id, d, activate)
	reg.mu.Unlock()
	s.sendPushes(pushes)
	return stored, err
}

func (s *Server) putDeclaration(id string, d Declaration, activate bool) (Declaration, []apns.Notification, error) {
	e, err := s.ddmStoreOf(id)
	if err != nil {
		return Declaration{}, nil, err
	}
	st := e.ddm
	if err := s.validDeclaration(e, d); err != nil {
		return Declaration{}, nil, err
	}
	if old, ok := st.decls[d.Identifier]; ok && old.Kind() != d.Kind() {
		return Declaration{}, nil, fmt.Errorf("refserver: %s is a %s declaration; remove it before adding a %s", d.Identifier, old.Kind(), d.Kind())
	}
	st.put(d)
	if activate && d.Kind() == "configuration" {
		act, ok := st.decls[ddmActivationID]
		if !ok {
			act = Declaration{Type: "com.apple.activation.simple", Identifier: ddmActivationID, Payload: map[string]any{}}
		}
		if refs := standardConfigurations(act); !slices.Contains(refs, d.Identifier) {
			act.Payload = maps.Clone(act.Payload)
			act.Payload["StandardConfigurations"] = toAny(append(refs, d.Identifier))
			st.put(act)
		}
	}
	stored := st.decls[d.Identifier].clone()
	if !s.retoken(st) {
		return stored, nil, nil
	}
	return stored, s.ddmChanged(e), nil
}

// validDeclaration checks what a conforming server makes sure of before it
// serves a declaration: a Type of a kind, an Identifier, a Payload; no
// type that user enrollment forbids for a user enrollment; activations
// that name only configurations the set has. The caller holds reg.mu.
func (s *Server) validDeclaration(e *enrollment, d Declaration) error {
	switch {
	case d.Kind() == "":
		return fmt.Errorf("refserver: declaration Type %q is not com.apple.{activation,configuration,asset,management}.<name>", d.Type)
	case d.Identifier == "":
		return errors.New("refserver: the declaration needs an Identifier")
	case d.Payload == nil:
		return errors.New("refserver: the declaration needs a Payload (a JSON object)")
	case e.kind == KindBYOD && slices.Contains(ueForbiddenDeclarations, d.Type):
		return fmt.Errorf("refserver: %s is forbidden in user enrollment, and %s is a user enrollment", d.Type, e.id)
	}
	if d.Kind() != "activation" {
		return nil
	}
	if _, ok := d.Payload["StandardConfigurations"]; !ok && d.Type == "com.apple.activation.simple" {
		return errors.New("refserver: a com.apple.activation.simple needs StandardConfigurations")
	}
	for _, ref := range standardConfigurations(d) {
		if c, ok := e.ddm.decls[ref]; !ok || c.Kind() != "configuration" {
			return fmt.Errorf("refserver: the activation names %q, which is no configuration of the set", ref)
		}
	}
	return nil
}

// standardConfigurations are the identifiers an activation names.
func standardConfigurations(d Declaration) []string {
	var out []string
	switch refs := d.Payload["StandardConfigurations"].(type) {
	case []any:
		for _, r := range refs {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = slices.Clone(refs)
	}
	return out
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// RemoveDeclaration removes the declaration identifier from the set of
// enrollment id, and from the activations that name it, so that they
// name only configurations that exist.
func (s *Server) RemoveDeclaration(id, identifier string) error {
	reg := s.mdm
	reg.mu.Lock()
	pushes, err := s.removeDeclaration(id, identifier)
	reg.mu.Unlock()
	s.sendPushes(pushes)
	return err
}

func (s *Server) removeDeclaration(id, identifier string) ([]apns.Notification, error) {
	e, err := s.ddmStoreOf(id)
	if err != nil {
		return nil, err
	}
	st := e.ddm
	if _, ok := st.decls[identifier]; !ok {
		return nil, ErrNoDeclaration
	}
	delete(st.decls, identifier)
	for _, d := range st.decls {
		refs := standardConfigurations(d)
		if d.Kind() == "activation" && slices.Contains(refs, identifier) {
			d.Payload = maps.Clone(d.Payload)
			d.Payload["StandardConfigurations"] = toAny(slices.DeleteFunc(refs, func(r string) bool { return r == identifier }))
			st.put(d)
		}
	}
	s.retoken(st)
	return s.ddmChanged(e), nil
}

// Declarations returns the declaration set of enrollment id, by kind and
// identifier, and its DeclarationsToken; false without an enrollment or DDM.
func (s *Server) Declarations(id string) ([]Declaration, string, bool) {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, err := s.ddmStoreOf(id)
	if err != nil {
		return nil, "", false
	}
	out := make([]Declaration, 0, len(e.ddm.decls))
	for _, d := range e.ddm.decls {
		out = append(out, d.clone())
	}
	slices.SortFunc(out, func(a, b Declaration) int {
		return strings.Compare(a.Kind()+"/"+a.Identifier, b.Kind()+"/"+b.Identifier)
	})
	return out, e.ddm.token, true
}

// DDMStatus returns the last status report the device of enrollment id
// sent, as sent, also after the enrollment checked out; false when none
// came.
func (s *Server) DDMStatus(id string) (json.RawMessage, bool) {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, err := s.ddmStoreOf(id)
	if err != nil {
		gone, ok := reg.gone[id]
		return slices.Clone(gone.DDMStatus), ok && gone.DDMStatus != nil
	}
	if e.ddm.status == nil {
		return nil, false
	}
	return slices.Clone(e.ddm.status), true
}

func (s *Server) adminPutDeclaration(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDeclarationBody+1))
	if err != nil || len(body) > maxDeclarationBody {
		writeText(w, http.StatusBadRequest, "the body must be a declaration (JSON) of at most 1 MiB\n")
		return
	}
	var d Declaration
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // integers stay exact, and so does the ServerToken over them
	if err := dec.Decode(&d); err != nil {
		writeText(w, http.StatusBadRequest, "the body is no declaration: "+err.Error()+"\n")
		return
	}
	activate := r.URL.Query().Get("activate") != "false"
	stored, err := s.PutDeclaration(adminID(r), d, activate)
	if err != nil {
		writeDDMError(w, err)
		return
	}
	_, token, _ := s.Declarations(adminID(r))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"Identifier": stored.Identifier, "ServerToken": stored.ServerToken, "DeclarationsToken": token})
}

func (s *Server) adminRemoveDeclaration(w http.ResponseWriter, r *http.Request) {
	identifier := strings.TrimSpace(r.URL.Query().Get("identifier"))
	if identifier == "" {
		writeText(w, http.StatusBadRequest, "the query needs identifier=<the declaration's Identifier>\n")
		return
	}
	if err := s.RemoveDeclaration(adminID(r), identifier); err != nil {
		writeDDMError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) adminListDeclarations(w http.ResponseWriter, r *http.Request) {
	decls, token, ok := s.Declarations(adminID(r))
	if !ok {
		writeText(w, http.StatusNotFound, "no enrollment with declarative management "+adminID(r)+"\n")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"Declarations": decls, "DeclarationsToken": token})
}

func (s *Server) adminDDMStatus(w http.ResponseWriter, r *http.Request) {
	report, ok := s.DDMStatus(adminID(r))
	if !ok {
		writeText(w, http.StatusNotFound, "no status report from "+adminID(r)+"\n")
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(report)
}

func adminID(r *http.Request) string { return strings.TrimSpace(r.URL.Query().Get("id")) }

func writeDDMError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNoEnrollment) || errors.Is(err, ErrDDMOff) || errors.Is(err, ErrNoDeclaration) {
		status = http.StatusNotFound
	}
	writeText(w, status, strings.TrimPrefix(err.Error(), "refserver: ")+"\n")
}
