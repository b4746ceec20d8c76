package refserver

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"howett.net/plist"
)

// The first commands (§2.13.4): on an enrollment's first Idle connect (or,
// with Config.CommandDelay, the first one after its worker's due time) the
// server queues what an MDM asks a new device, hands one command per
// connect, records each answer and, once the queue is drained, answers 200
// with an empty body.

// Device-information queries. In user enrollment only keys that Apple's
// schema (mdm/commands/information.device.yaml, userenrollment mode) does
// not forbid; a device enrollment also asks for the hardware identifiers.
var (
	ueQueries = []string{"DeviceName", "OSVersion", "BuildVersion", "ModelName", "Model", "ProductName",
		"DeviceCapacity", "AvailableDeviceCapacity", "IsSupervised"}
	addeQueries = append(slices.Clone(ueQueries), "UDID", "SerialNumber", "IMEI", "MEID", "WiFiMAC", "BluetoothMAC")
)

// Statuses a connect may report; every one but Idle answers a command.
var resultStatuses = []string{"Acknowledged", "Error", "CommandFormatError", "NotNow"}

// mdmCommand is one queued command.
type mdmCommand struct {
	uuid        string
	requestType string
	keys        map[string]any // the Command dictionary without RequestType
}

// commandChannel is one channel's command queue: the device channel gets
// the first commands, a Mac's user channel none.
type commandChannel struct {
	queued  bool          // the first Idle came and the queue was made
	queue   []*mdmCommand // not yet sent
	sent    *mdmCommand   // sent, not yet answered
	handed  []string      // RequestTypes sent, in order
	results []CommandResult
}

// CommandResult is a device's answer to one command.
type CommandResult struct {
	CommandUUID string
	RequestType string
	Status      string         // Acknowledged, Error, CommandFormatError or NotNow
	UserChannel bool           // answered on a Mac's user channel
	Body        map[string]any // the whole connect body, as decoded; a copy at the top level only: read, do not change
}

// Enrollment is a read-only view of one enrollment in the registry.
type Enrollment struct {
	ID          string // EnrollmentID (user enrollment) or UDID (device enrollment)
	Kind        string // KindBYOD or KindADDE
	User        string // directory identifier of the bound token's user; "" until a token is seen
	ProductName string
	Mac         bool
	TokenUpdate bool     // the device channel's TokenUpdate arrived
	UserChannel string   // EnrollmentUserID or UserID of the user channel's TokenUpdate; "" when none
	Unenrolled  bool     // unenrolled by the admin trigger, awaiting the device's next request
	Commands    []string // RequestTypes handed to the device channel, in order
	Results     []CommandResult
	// Push and UserPush are what the last TokenUpdate of the device and
	// the user channel told the server (zero when none came).
	Push, UserPush Push
	// CheckedOut marks the last record of an enrollment that checked out
	// (CheckedOutEnrollment); the registry itself no longer has it.
	CheckedOut bool
	DDM        bool // the enrollment has declarative management (a declaration store)
	// DDMStatus is the last status report its device sent, as sent.
	DDMStatus json.RawMessage
}

func (s *Server) firstCommands(e *enrollment) []*mdmCommand {
	queries := addeQueries
	if e.kind == KindBYOD {
		queries = ueQueries
		if s.has(FaultQueriesSerialInBYOD) {
			queries = append(slices.Clone(ueQueries), "SerialNumber")
		}
	}
	apps := map[string]any{}
	if e.kind == KindBYOD {
		// A user enrollment reports only the apps the MDM manages.
		apps["ManagedAppsOnly"] = true
	}
	cmds := []*mdmCommand{
		{requestType: "DeviceInformation", keys: map[string]any{"Queries": queries}},
		{requestType: "ProfileList", keys: map[string]any{}},
		{requestType: "InstalledApplicationList", keys: apps},
		{requestType: "SecurityInfo", keys: map[string]any{}},
		{requestType: "CertificateList", keys: map[string]any{}},
	}
	if !e.mac && s.has(FaultCommandNotOnPlatform) {
		// Content caching is a macOS service (information.contentcaching.yaml).
		cmds = append(cmds, &mdmCommand{requestType: "ContentCachingInformation", keys: map[string]any{}})
	}
	if e.kind == KindBYOD && s.has(FaultForbiddenPayloadBYOD) {
		cmds = append(cmds, &mdmCommand{requestType: "InstallProfile", keys: map[string]any{"Payload": cellularProfile()}})
	}
	if e.kind == KindBYOD && s.has(FaultEraseBYOD) {
		cmds = append(cmds, &mdmCommand{requestType: "EraseDevice", keys: map[string]any{"PIN": "123456", "PreserveDataPlan": true}})
	}
	if e.ddm != nil {
		// Turns declarative management on and syncs the seeded set.
		cmds = append(cmds, ddmCommand(e.ddm))
	}
	for _, c := range cmds {
		c.uuid = newUUID()
	}
	return cmds
}

// connect serves PUT ServerURL.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	req, refusal, ok := s.readMDM(w, r, mediaConnect)
	if !ok {
		s.writeMDM(w, refusal)
		return
	}
	s.writeMDM(w, s.connectAnswer(req))
}

func (s *Server) connectAnswer(req *mdmRequest) mdmAnswer {
	status, err := req.str("Status")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	uuid, err := req.str("CommandUUID")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	switch {
	case status == "":
		return answerText(http.StatusBadRequest, "the connect has no Status")
	case status != "Idle" && !slices.Contains(resultStatuses, status):
		return answerText(http.StatusBadRequest, "unknown Status %q (Idle, Acknowledged, Error, CommandFormatError or NotNow)", status)
	case status != "Idle" && uuid == "":
		return answerText(http.StatusBadRequest, "a %s result needs the CommandUUID of its command", status)
	}
	if req.userChannel && s.has(FaultUserChannelRefused) {
		return answerText(http.StatusBadRequest, "user-channel requests are not supported")
	}
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, a, ok := s.known(req)
	if !ok {
		return a
	}
	ch := &e.channels[0]
	if req.userChannel {
		ch = &e.channels[1]
	}
	if status == "Idle" {
		if !ch.queued && (req.userChannel || s.workerQueued(e)) {
			if !req.userChannel {
				ch.queue = append(s.firstCommands(e), ch.queue...)
			}
			ch.queued = true
		}
	} else {
		if ch.sent == nil || ch.sent.uuid != uuid {
			return answerText(http.StatusBadRequest, "CommandUUID %q is not the command awaiting an answer on this channel", uuid)
		}
		// NotNow is recorded and not sent again: on this test server the
		// next poll is the same session's next connect, and a device that
		// says NotNow to everything would loop.
		ch.results = append(ch.results, CommandResult{
			CommandUUID: uuid, RequestType: ch.sent.requestType, Status: status,
			UserChannel: req.userChannel, Body: req.msg,
		})
		ch.sent = nil
	}
	next := s.nextCommand(ch)
	if s.has(FaultPushLoop) && !req.userChannel && len(next.body) == 0 {
		// Pushes again whatever is queued: a device that heeds every push
		// connects to an empty queue again and again.
		next.pushes = s.pushesFor(e)
	}
	return next
}

// workerQueued reports whether the first commands of e are queued by now:
// at once without Config.CommandDelay, else once the worker's clock has
// reached the due time its TokenUpdate set (never without a TokenUpdate).
// The caller holds reg.mu.
func (s *Server) workerQueued(e *enrollment) bool {
	if s.cfg.CommandDelay <= 0 {
		return true
	}
	return e.tokenUpdate && !s.workerNow(e.id).Before(e.commandsDue)
}

// workerNow is the worker's clock for enrollment id.
func (s *Server) workerNow(id string) time.Time {
	if s.cfg.WorkerNow != nil {
		return s.cfg.WorkerNow(id)
	}
	return s.cfg.Now()
}

// nextCommand hands the command awaiting an answer again (the device said
// Idle: it never got it), else the next in the queue, else an empty 200.
func (s *Server) nextCommand(ch *commandChannel) mdmAnswer {
	if ch.sent == nil {
		if len(ch.queue) == 0 {
			return answerOK()
		}
		ch.sent, ch.queue = ch.queue[0], ch.queue[1:]
		ch.handed = append(ch.handed, ch.sent.requestType)
	}
	c := ch.sent
	command := maps.Clone(c.keys)
	command["RequestType"] = c.requestType
	body := map[string]any{"CommandUUID": c.uuid, "Command": command}
	if s.has(FaultConnectBadCommand) && len(ch.handed) == 1 {
		delete(body, "CommandUUID")
	}
	return answerPlist(body)
}

// Enrollments returns every enrollment the registry holds, by id.
func (s *Server) Enrollments() []Enrollment {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := make([]Enrollment, 0, len(reg.byID))
	for _, id := range reg.sortedIDs() {
		out = append(out, reg.byID[id].view())
	}
	return out
}

// LookupEnrollment returns the enrollment with this EnrollmentID or UDID.
func (s *Server) LookupEnrollment(id string) (Enrollment, bool) {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, ok := reg.byID[id]
	if !ok {
		return Enrollment{}, false
	}
	return e.view(), true
}

// CommandResults returns the device-channel answers of the enrollment with
// this id, in order; nil when there is none.
func (s *Server) CommandResults(id string) []CommandResult {
	e, ok := s.LookupEnrollment(id)
	if !ok {
		return nil
	}
	return e.Results
}

// view copies e for callers outside the lock. The caller holds reg.mu.
func (e *enrollment) view() Enrollment {
	dev := &e.channels[0]
	results := make([]CommandResult, len(dev.results))
	for i, r := range dev.results {
		r.Body = maps.Clone(r.Body)
		results[i] = r
	}
	return Enrollment{
		ID: e.id, Kind: e.kind, User: e.user, ProductName: e.product, Mac: e.mac,
		TokenUpdate: e.tokenUpdate, UserChannel: e.userChannel, Unenrolled: e.unenrolled,
		Commands: slices.Clone(dev.handed), Results: results,
		Push: e.push.clone(), UserPush: e.userPush.clone(), DDM: e.ddm != nil, DDMStatus: e.ddmStatus(),
	}
}

func (e *enrollment) ddmStatus() json.RawMessage {
	if e.ddm == nil {
		return nil
	}
	return slices.Clone(e.ddm.status)
}

func (p Push) clone() Push {
	p.Token, p.UnlockToken = slices.Clone(p.Token), slices.Clone(p.UnlockToken)
	return p
}

// CheckedOutEnrollment returns the last record of the enrollment with this
// id that checked out: what the server held for it when it left.
func (s *Server) CheckedOutEnrollment(id string) (Enrollment, bool) {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, ok := reg.gone[id]
	return e, ok
}

// CheckedOutEnrollments returns the last records of every enrollment that
// checked out (up to a bound), by id.
func (s *Server) CheckedOutEnrollments() []Enrollment {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	out := make([]Enrollment, 0, len(reg.gone))
	for _, e := range reg.gone {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Enrollment) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Topic is the MDM's push topic, the profile's Topic.
func (s *Server) Topic() string { return s.topic }

// cellularProfile is a profile with a Cellular payload (APN settings),
// which Apple's schema forbids in user enrollment on iOS
// (mdm/profiles/com.apple.cellular.yaml, userenrollment mode forbidden).
func cellularProfile() []byte {
	p := map[string]any{
		"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadIdentifier": "test.acme.cellular",
		"PayloadUUID": newUUID(), "PayloadDisplayName": "Cellular (APN)",
		"PayloadContent": []any{map[string]any{
			"PayloadType": "com.apple.cellular", "PayloadVersion": 1, "PayloadIdentifier": "test.acme.cellular.apn",
			"PayloadUUID": newUUID(), "PayloadDisplayName": "APN",
			"APNs": []any{map[string]any{"Name": "internet.acme.test", "AuthenticationType": "PAP"}},
		}},
	}
	b, _ := plist.Marshal(p, plist.XMLFormat) // the server's own map of strings and numbers
	return b
}
