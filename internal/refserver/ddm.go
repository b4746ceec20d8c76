package refserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/internal/apns"
)

// Declarative device management (issue 26), behind Config.DDM: a
// declaration store per enrollment, the DeclarationsToken over it, the
// DeclarativeManagement check-in (tokens, declaration-items,
// declaration/<kind>/<identifier>, status) and the DeclarativeManagement
// command that tells the device to sync. Shapes are Apple's
// (apple/device-management declarative/protocol/*.yaml,
// declarative/declarations/declarationbase.yaml,
// mdm/checkin/declarativemanagement.yaml,
// mdm/commands/declarativemanagement.yaml).
//
// The store is the enrollment's, whichever channel asks: a Mac's user
// channel is served the device channel's set, and only the device
// channel is sent the command.

// Identifiers of the declarations the server seeds.
const (
	ddmActivationID    = "com.acme.ddm.activation.default"
	ddmSubscriptionsID = "com.acme.ddm.status-subscriptions"
	ddmTestID          = "com.acme.ddm.test"
	// Seeded only under faults.
	ddmSoftwareUpdateID = "com.acme.ddm.softwareupdate"
	ddmUnfetchableID    = "com.acme.ddm.not-fetchable"
	ddmMissingID        = "com.acme.ddm.missing"
)

const (
	requestDeclarativeManagement = "DeclarativeManagement"
	mediaJSON                    = "application/json"
	// maxStatusReport caps what the server keeps of one status report.
	maxStatusReport = 512 << 10
)

// ddmKinds are the declaration kinds: the <kind> of the declaration
// endpoint, the Type prefix that makes one, and its array in
// declaration-items (DeclarationItemsResponse.Declarations).
type ddmKind struct{ kind, prefix, items string }

var ddmKinds = []ddmKind{
	{"activation", "com.apple.activation.", "Activations"},
	{"configuration", "com.apple.configuration.", "Configurations"},
	{"asset", "com.apple.asset.", "Assets"},
	{"management", "com.apple.management.", "Management"},
}

// ueForbiddenDeclarations are declaration types whose allowed-enrollments
// in Apple's schema lack "user" on every platform the simulator plays
// (declarative/declarations/configurations/softwareupdate.*.yaml): a
// user enrollment is never sent them. Not exhaustive: the admin API
// refuses these, the rest is the administrator's business.
var ueForbiddenDeclarations = []string{
	"com.apple.configuration.softwareupdate.enforcement.specific",
	"com.apple.configuration.softwareupdate.settings",
}

// subscribedStatusItems are what the seeded status subscription asks
// every device for.
var subscribedStatusItems = []string{
	"device.operating-system.version", "device.model.family",
	"management.client-capabilities", "management.declarations",
}

// subscribedSoftwareUpdate are the software-update status items a device
// enrollment is subscribed to too; user enrollment forbids them
// (declarative/status/softwareupdate.*.yaml), so a BYOD device never is.
var subscribedSoftwareUpdate = []string{
	"softwareupdate.install-state", "softwareupdate.pending-version", "softwareupdate.failure-reason",
	"softwareupdate.install-reason", "softwareupdate.beta-enrollment",
}

// Declaration is one declaration as the server serves it
// (DeclarationBase: Type, Identifier, ServerToken, Payload).
type Declaration struct {
	Type        string
	Identifier  string
	ServerToken string
	Payload     map[string]any
}

// Kind is the declaration's kind (activation, configuration, asset,
// management) from its Type; "" for a Type of no kind.
func (d Declaration) Kind() string {
	for _, k := range ddmKinds {
		if strings.HasPrefix(d.Type, k.prefix) && len(d.Type) > len(k.prefix) {
			return k.kind
		}
	}
	return ""
}

// withToken is d with its ServerToken computed over the whole content, as
// Apple asks of servers (DeclarationItemsResponse, ServerToken): it
// changes whenever the content does.
func (d Declaration) withToken() Declaration {
	b, _ := json.Marshal(struct { // maps of JSON values marshal, keys sorted
		Type, Identifier string
		Payload          map[string]any
	}{d.Type, d.Identifier, d.Payload})
	sum := sha256.Sum256(b)
	d.ServerToken = hex.EncodeToString(sum[:16])
	return d
}

func (d Declaration) clone() Declaration {
	d.Payload, _ = cloneJSON(d.Payload).(map[string]any)
	return d
}

// cloneJSON deep-copies a decoded JSON value.
func cloneJSON(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = cloneJSON(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = cloneJSON(x)
		}
		return a
	}
	return v
}

// ddmStore is one enrollment's declarations and what its device reported.
type ddmStore struct {
	decls map[string]Declaration // by Identifier
	// hash is over the set as it is; token is the DeclarationsToken
	// served, which is hash but for ddm-token-never-changes.
	hash, token string
	changed     time.Time // Timestamp of the SyncTokens
	status      json.RawMessage
}

// ddmOn reports whether the server plays DDM: Config.DDM, or a DDM fault,
// which exists to be shown.
func (s *Server) ddmOn() bool {
	if s.cfg.DDM {
		return true
	}
	for name, on := range s.faults {
		if on && strings.HasPrefix(name, "ddm-") {
			return true
		}
	}
	return false
}

// seedDDM gives a new enrollment the default set: one simple activation
// of a status subscription and a test configuration, both allowed in
// device and user enrollment on iOS, macOS and visionOS
// (management.status-subscriptions.yaml, management.test.yaml). An
// Enrollment SSO enrollment whose device read the document's
// declarations gets them too, pre-staged for its first sync as Apple
// requires, and so declarative management whatever Config.DDM says.
func (s *Server) seedDDM(e *enrollment, osVersion string) {
	staged := s.essoStaged(e, osVersion)
	if (!s.ddmOn() && !staged) || !ddmSupported(e.product, osVersion) {
		return
	}
	st := &ddmStore{decls: map[string]Declaration{}}
	if staged && !s.has(FaultDDMESSONotPrestaged) {
		for _, d := range essoDeclarationSet(s.has(FaultESSONoActivation)) {
			st.put(d)
		}
	}
	items := make([]any, 0, len(subscribedStatusItems)+len(subscribedSoftwareUpdate))
	for _, name := range subscribedStatusItems {
		items = append(items, map[string]any{"Name": name})
	}
	if e.kind == KindADDE {
		for _, name := range subscribedSoftwareUpdate {
			items = append(items, map[string]any{"Name": name})
		}
	}
	st.put(Declaration{Type: "com.apple.configuration.management.status-subscriptions", Identifier: ddmSubscriptionsID,
		Payload: map[string]any{"StatusItems": items}})
	st.put(Declaration{Type: "com.apple.configuration.management.test", Identifier: ddmTestID,
		Payload: map[string]any{"Echo": "enrollsim reference server"}})
	configs := []any{ddmSubscriptionsID, ddmTestID}
	if e.kind == KindBYOD && s.has(FaultDDMSoftwareUpdateBYOD) {
		st.put(Declaration{Type: "com.apple.configuration.softwareupdate.enforcement.specific", Identifier: ddmSoftwareUpdateID,
			Payload: map[string]any{"TargetOSVersion": "26.1", "TargetLocalDateTime": "2026-12-31T20:00:00"}})
		configs = append(configs, ddmSoftwareUpdateID)
	}
	if s.has(FaultDDMActivationMissingConfig) {
		configs = append(configs, ddmMissingID)
	}
	st.put(Declaration{Type: "com.apple.activation.simple", Identifier: ddmActivationID,
		Payload: map[string]any{"StandardConfigurations": configs}})
	s.retoken(st)
	e.ddm = st
}

// essoStaged reports whether e signed in through Enrollment SSO on a
// device that reads the document's Declarations (iOS and iPadOS 18.4,
// visionOS 2.4; a Mac ignores Enrollment SSO).
func (s *Server) essoStaged(e *enrollment, osVersion string) bool {
	a, ok := s.dir.lookup(e.user)
	if !ok || !a.ESSO {
		return false
	}
	switch {
	case strings.HasPrefix(e.product, "iPhone"), strings.HasPrefix(e.product, "iPad"):
		return versionAtLeast(osVersion, 18, 4)
	case strings.HasPrefix(e.product, "RealityDevice"):
		return versionAtLeast(osVersion, 2, 4)
	}
	return false
}

// ddmSupported reports whether a device of this ProductName and OSVersion
// (Authenticate's) has declarative management: iOS 15.0, macOS 13.0,
// visionOS 1.1 (mdm/commands/declarativemanagement.yaml; Apple's
// DeclarativeManagementCommand page for visionOS). An OSVersion the
// server cannot read is given the benefit of the doubt.
func ddmSupported(product, osVersion string) bool {
	switch {
	case strings.HasPrefix(product, "Mac"):
		return versionAtLeast(osVersion, 13, 0)
	case strings.HasPrefix(product, "RealityDevice"):
		return versionAtLeast(osVersion, 1, 1)
	}
	return versionAtLeast(osVersion, 15, 0)
}

// versionAtLeast compares an OSVersion's major.minor with least; one the
// server cannot read is given the benefit of the doubt.
func versionAtLeast(osVersion string, major, minor int) bool {
	var v [2]int
	parts := strings.Split(osVersion, ".")
	for i := 0; i < len(v) && i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return true
		}
		v[i] = n
	}
	return v[0] > major || (v[0] == major && v[1] >= minor)
}

func (st *ddmStore) put(d Declaration) { st.decls[d.Identifier] = d.withToken() }

// retoken recomputes the set's hash and reports whether the set changed.
// The DeclarationsToken follows it, but for ddm-token-never-changes.
func (s *Server) retoken(st *ddmStore) bool {
	ids := slices.Sorted(maps.Keys(st.decls))
	h := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(h, "%q %q\n", id, st.decls[id].ServerToken)
	}
	hash := hex.EncodeToString(h.Sum(nil)[:16])
	if hash == st.hash {
		return false
	}
	st.hash = hash
	if st.token == "" || !s.has(FaultDDMTokenNeverChanges) {
		st.token, st.changed = hash, s.cfg.Now()
	}
	return true
}

// tokensJSON is the TokensResponse (tokensresponse.yaml): the body of the
// tokens endpoint and the Data of the DeclarativeManagement command.
func (st *ddmStore) tokensJSON() []byte {
	b, _ := json.Marshal(map[string]any{"SyncTokens": map[string]string{
		"DeclarationsToken": st.token,
		"Timestamp":         st.changed.UTC().Format(time.RFC3339),
	}})
	return b
}

// itemsJSON is the DeclarationItemsResponse
// (declarationitemsresponse.yaml): every kind's array, empty ones too.
func (s *Server) itemsJSON(st *ddmStore) []byte {
	type item struct{ Identifier, ServerToken string }
	decls := map[string][]item{}
	for _, k := range ddmKinds {
		decls[k.items] = []item{}
	}
	for _, id := range slices.Sorted(maps.Keys(st.decls)) {
		d := st.decls[id]
		for _, k := range ddmKinds {
			if k.kind == d.Kind() {
				decls[k.items] = append(decls[k.items], item{d.Identifier, d.ServerToken})
			}
		}
	}
	if s.has(FaultDDMItemNotFetchable) {
		decls["Configurations"] = append(decls["Configurations"], item{ddmUnfetchableID, "0f0f0f0f0f0f0f0f"})
	}
	b, _ := json.Marshal(map[string]any{"Declarations": decls, "DeclarationsToken": st.token})
	return b
}

// ddmCommand is the DeclarativeManagement command with the set's tokens.
func ddmCommand(st *ddmStore) *mdmCommand {
	return &mdmCommand{uuid: newUUID(), requestType: requestDeclarativeManagement, keys: map[string]any{"Data": st.tokensJSON()}}
}

// ddmChanged tells e's device that its set changed: a DeclarativeManagement
// command with the new tokens (the one still queued, if any, gets them)
// and a push. Before the first commands are queued nothing is needed:
// they carry the sync. The caller holds reg.mu.
func (s *Server) ddmChanged(e *enrollment) []apns.Notification {
	ch := &e.channels[0]
	if !ch.queued || s.has(FaultDDMNoResyncCommand) {
		return nil
	}
	if i := slices.IndexFunc(ch.queue, func(c *mdmCommand) bool { return c.requestType == requestDeclarativeManagement }); i >= 0 {
		ch.queue[i].keys["Data"] = e.ddm.tokensJSON()
	} else {
		ch.queue = append(ch.queue, ddmCommand(e.ddm))
	}
	return s.pushesFor(e)
}

// answerDDM is a JSON body of the DeclarativeManagement check-in.
func (s *Server) answerDDM(body []byte) mdmAnswer {
	ct := mediaJSON
	if s.has(FaultDDMContentType) {
		ct = "text/plain; charset=utf-8"
	}
	return mdmAnswer{status: http.StatusOK, contentType: ct, body: body}
}

// declarativeManagement answers the DeclarativeManagement check-in
// (mdm/checkin/declarativemanagement.yaml; Apple's "Declarative
// Management" endpoint page for the answers).
func (s *Server) declarativeManagement(req *mdmRequest) mdmAnswer {
	endpoint, err := req.str("Endpoint")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, a, ok := s.known(req)
	if !ok {
		return a
	}
	st := e.ddm
	if st == nil {
		return answerText(http.StatusBadRequest, "enrollment %s has no declarative management: its OS has none, or it authenticated before the server turned it on", e.id)
	}
	switch {
	case endpoint == "tokens":
		return s.answerDDM(st.tokensJSON())
	case endpoint == "declaration-items":
		return s.answerDDM(s.itemsJSON(st))
	case endpoint == "status":
		return s.ddmStatus(st, req)
	case strings.HasPrefix(endpoint, "declaration/"):
		return s.ddmDeclaration(st, strings.TrimPrefix(endpoint, "declaration/"))
	case endpoint == "":
		return answerText(http.StatusBadRequest, "a DeclarativeManagement check-in needs Endpoint")
	}
	return answerText(http.StatusBadRequest, "unknown Endpoint %q (tokens, declaration-items, declaration/<kind>/<identifier> or status)", endpoint)
}

// ddmDeclaration answers declaration/<kind>/<identifier>: the declaration,
// or 404 for one the server does not have, as Apple requires (the device
// then removes its copy).
func (s *Server) ddmDeclaration(st *ddmStore, rest string) mdmAnswer {
	kind, id, ok := strings.Cut(rest, "/")
	if !ok || id == "" || !slices.ContainsFunc(ddmKinds, func(k ddmKind) bool { return k.kind == kind }) {
		return answerText(http.StatusBadRequest, "the Endpoint must be declaration/<kind>/<identifier>, <kind> one of activation, configuration, asset, management")
	}
	d, ok := st.decls[id]
	if !ok || d.Kind() != kind {
		if s.has(FaultDDMUnknown500) {
			return answerText(http.StatusInternalServerError, "internal server error")
		}
		return answerText(http.StatusNotFound, "no %s declaration %q", kind, id)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return answerText(http.StatusInternalServerError, "internal server error")
	}
	return s.answerDDM(b)
}

// ddmStatus takes a status report (Data: the StatusReport JSON,
// statusreport.yaml) and keeps the last one; 200 with an empty body.
func (s *Server) ddmStatus(st *ddmStore, req *mdmRequest) mdmAnswer {
	data, ok := req.msg["Data"].([]byte)
	if !ok {
		return answerText(http.StatusBadRequest, "the status endpoint needs Data (data): the status report")
	}
	var report map[string]any
	if err := json.Unmarshal(data, &report); err != nil {
		return answerText(http.StatusBadRequest, "the status report is not a JSON object: %v", err)
	}
	if len(data) > maxStatusReport {
		return answerText(http.StatusRequestEntityTooLarge, "the status report is larger than %d KiB", maxStatusReport>>10)
	}
	st.status = json.RawMessage(slices.Clone(data))
	if s.has(FaultDDMStatusBody) {
		return mdmAnswer{status: http.StatusOK, contentType: mediaJSON, body: []byte(`{"Status":"received"}`)}
	}
	return answerOK()
}
