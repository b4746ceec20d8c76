package event

import (
	"net/http"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
)

// EventKind names what an Event reports.
type EventKind string

// The event stream of a run, in the order they occur: run-start, then per
// case case-start, (step-start, (exchange|wait)*, check*, step-end)*,
// case-end, and finally run-end.
const (
	EventRunStart  EventKind = "run-start"
	EventCaseStart EventKind = "case-start"
	EventStepStart EventKind = "step-start"
	EventExchange  EventKind = "exchange"
	EventCheck     EventKind = "check"
	EventStepEnd   EventKind = "step-end"
	EventCaseEnd   EventKind = "case-end"
	EventRunEnd    EventKind = "run-end"
	// EventWait: the case waits for real (a fresh TOTP step, its account's
	// turn to sign in); Message says for what, Wait how long if known.
	EventWait EventKind = "wait"
	// EventArtifact: a file-like result of a step, such as a screenshot of
	// a sign-in page (Artifact). The engine carries the bytes; a consumer
	// that writes them to a file replaces them with the path.
	EventArtifact EventKind = "artifact"
)

// Step names a stage of the flow; each follows a section of the spec.
type Step string

// The steps of a case, each after a section of the spec. Flow lists them
// in the order they play.
const (
	StepSignIn       Step = "sign-in"          // §2.1
	StepRegistration Step = "axm-registration" // the server's AxM registration, when under test
	StepDiscovery    Step = "discovery"        // §2.2, organisation domain and redirects
	StepFallback     Step = "axm-fallback"     // §2.3
	StepDocument     Step = "process-document" // §2.4
	StepChallenge    Step = "enroll-challenge" // §2.5–2.6: first POST, 401
	StepESSO         Step = "enrollment-sso"   // §2.9: the Enrollment SSO document, when the 401 names one
	StepWebLogin     Step = "web-login"        // §2.7: apple-as-web
	StepOAuth2       Step = "oauth2"           // §2.8: apple-oauth2
	StepEnroll       Step = "enroll"           // §2.10: POST with the token
	StepProfile      Step = "profile"          // §2.11: the profile
	StepIdentity     Step = "identity"         // §2.13.1: SCEP
	StepCheckIn      Step = "check-in"         // Authenticate, TokenUpdate (§2.13.2-3)
	StepCommands     Step = "commands"         // connect and the first commands (§2.13.4)
	StepDDM          Step = "ddm"              // the declarative-management sync, when the server asks for one
	StepTokenLife    Step = "token-life"       // GetToken, revocation, expiry, unenrollment, CheckOut
)

// Flow is every step in the order a case plays them, written once: the
// engine plays a case's steps in this order (skipping those its flow does
// not take: the registration when the target has none, one of web-login
// and oauth2, the steps past a case's Until), and reports and the TUI
// order what they show by it.
var Flow = []Step{
	StepSignIn, StepRegistration, StepDiscovery, StepFallback, StepDocument,
	StepChallenge, StepESSO, StepWebLogin, StepOAuth2, StepEnroll, StepProfile,
	StepIdentity, StepCheckIn, StepCommands, StepDDM, StepTokenLife,
}

// Index is the step's place in Flow, or -1 for a step not in it.
func (s Step) Index() int {
	for i, f := range Flow {
		if f == s {
			return i
		}
	}
	return -1
}

// StepStatus is how a step ended.
type StepStatus string

// Step outcomes. Refused means the device declined locally, as a real one
// does: an expected result, not an error of the tool.
const (
	StepOK      StepStatus = "ok"
	StepFailed  StepStatus = "failed"
	StepRefused StepStatus = "refused"
	StepError   StepStatus = "error"
	StepSkipped StepStatus = "skipped"
)

// Outcome codes of a case, as a scenario names them.
const (
	OutcomeEnrolled        = "enrolled"
	OutcomeDiscovered      = "discovered" // discovery done; later steps not part of this plan
	OutcomeRefused         = "refused-on-device"
	OutcomeDiscoveryFailed = "discovery-failed"
	OutcomeAuthFailed      = "auth-failed"
	OutcomeEnrollFailed    = "enrollment-failed"
	OutcomeProfileRejected = "profile-rejected"
	OutcomeIdentityFailed  = "identity-failed" // no identity certificate (CHK-001)
	OutcomeCheckInFailed   = "checkin-failed"  // Authenticate or TokenUpdate refused
	OutcomeUnenrolled      = "unenrolled"      // the server asked the device to unenroll (TOK-007)
	OutcomeError           = "error"
	OutcomeInterrupted     = "interrupted"
)

// Event is one thing that happened during a run. Everything in it is
// already redacted: consumers may print or store it as is.
type Event struct {
	Kind EventKind `json:"kind"`
	// Time is the run's clock: simulated on the embedded target, whose
	// clock jumps ahead instead of waiting for fresh TOTP steps.
	Time time.Time `json:"time"`
	// Wall is the real time when Time is simulated (Engine.Wall set), so
	// reports can say how long a run took; zero when Time is real.
	Wall     time.Time     `json:"wall,omitzero"`
	Case     string        `json:"case,omitempty"`
	Step     Step          `json:"step,omitempty"`
	Run      *RunInfo      `json:"run,omitempty"`      // run-start
	Info     *CaseInfo     `json:"info,omitempty"`     // case-start
	Exchange *Exchange     `json:"exchange,omitempty"` // exchange
	Artifact *Artifact     `json:"artifact,omitempty"` // artifact
	Result   *check.Result `json:"result,omitempty"`   // check
	// Judged are the Seqs of the exchanges the check's step made before it
	// was judged (check): the evidence a report links a verdict to.
	Judged  []int      `json:"judged,omitempty"`
	Status  StepStatus `json:"status,omitempty"`  // step-end
	Message string     `json:"message,omitempty"` // step-end, case-end, wait: what happened, for people
	Outcome string     `json:"outcome,omitempty"` // case-end
	// Facts are what the case learned, for expectations: redirects, via,
	// server, method, enrollment_mode, assigned, body (case-end).
	Facts map[string]string `json:"facts,omitempty"`
	// Stack is the goroutine stack of a panic the engine recovered
	// (step-end, case-end), redacted, for the bug report.
	Stack string `json:"stack,omitempty"`
	// Wait is how long the case waits (wait), when known.
	Wait time.Duration `json:"wait_ns,omitempty"`
	// TOTPSkipped is the TOTP time the run jumped over instead of waiting
	// for fresh codes (run-end; the embedded target only), summed over
	// accounts. Wall-clock durations do not include it.
	TOTPSkipped time.Duration `json:"totp_skipped_ns,omitempty"`
	// Expectations is what became of each entry of the run's expectations
	// file (run-end, with --expectations). It travels in the stream so a
	// report re-rendered from it lists the entries as the live one did.
	Expectations *check.KnownFindings `json:"expectations,omitempty"`
}

// RunInfo describes a run at its start.
type RunInfo struct {
	Cases   int    `json:"cases"`
	Version string `json:"version,omitempty"` // the tool's
	// SchemaVersion is the version of the report formats' schema
	// (report.SchemaVersion), stamped by the jsonl writer.
	SchemaVersion string `json:"schema_version,omitempty"`
}

// CaseInfo describes a case at its start.
type CaseInfo struct {
	Device     device.Device `json:"device"`
	Identifier string        `json:"identifier"`
	Type       string        `json:"type"`
	Target     string        `json:"target,omitempty"`
	Expect     string        `json:"expect,omitempty"`
	// ExpectTrips are checks the scenario expects to fail or warn.
	ExpectTrips []string `json:"expect_trips,omitempty"`
	// KnownTrips are check patterns of findings the deployment is known to
	// have (--expectations): expected when they trip, fine when they do not.
	KnownTrips []string `json:"known_trips,omitempty"`
	// ExpectOutcome is the outcome the scenario expects ("" for none).
	ExpectOutcome string `json:"expect_outcome,omitempty"`
	// ExpectFacts are facts the scenario expects (see Event.Facts).
	ExpectFacts map[string]string `json:"expect_facts,omitempty"`
	// ExpectCommandTypes are RequestTypes the case must have answered, in
	// any order (the case-end fact command_types lists those answered).
	ExpectCommandTypes []string `json:"expect_command_types,omitempty"`
	// Until is how far the case goes after the profile (sim.Until; empty:
	// all the way).
	Until string `json:"until,omitempty"`
	// Scenario, Suite, Description and Tags come from the scenario file.
	Scenario    string   `json:"scenario,omitempty"`
	Suite       string   `json:"suite,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Checks are the --checks patterns of the run: checks outside them
	// were not judged, so expecting them to fail means nothing.
	Checks []string `json:"checks,omitempty"`
	// Body says whether the enrollment body was self-signed or replayed.
	Body string `json:"body,omitempty"`
}

// Artifact is a screenshot of what the device showed. Name never holds a
// secret (pages are named without their query); Data is the PNG until a
// consumer writes it to Path.
type Artifact struct {
	Name      string `json:"name"` // "screenshot 2: password on https://idp.test/login"
	File      string `json:"file"` // a file name for it, unique in the case: "02-password.png"
	MediaType string `json:"media_type"`
	Data      []byte `json:"data,omitempty"`
	Path      string `json:"path,omitempty"`
}

// Exchange is one HTTP request and its response (or the error instead).
type Exchange struct {
	Seq             int         `json:"seq"`
	Purpose         string      `json:"purpose"`
	Probe           bool        `json:"probe,omitempty"` // a tester's probe, not something a device sends
	Method          string      `json:"method"`
	URL             string      `json:"url"`
	RequestHeaders  http.Header `json:"request_headers,omitempty"`
	RequestBody     string      `json:"request_body,omitempty"`
	Status          int         `json:"status,omitempty"`
	ResponseHeaders http.Header `json:"response_headers,omitempty"`
	ResponseBody    string      `json:"response_body,omitempty"` // excerpt
	// RequestDecoded and ResponseDecoded are a binary body as people read
	// it (a CMS-signed plist decoded, with its signer; a SCEP message's
	// type and attributes; a binary plist as XML), redacted and bounded;
	// "" when the body is text or nothing decodes it.
	RequestDecoded  string        `json:"request_decoded,omitempty"`
	ResponseDecoded string        `json:"response_decoded,omitempty"`
	BodySize        int64         `json:"body_size,omitempty"`
	Truncated       bool          `json:"truncated,omitempty"`
	TLSVersion      string        `json:"tls_version,omitempty"`
	Duration        time.Duration `json:"duration_ns"`
	Error           string        `json:"error,omitempty"`
	// PushedAt, on a connect a push woke, is when the APNs stand-in
	// received that push: the load mode's push-to-connect latency.
	PushedAt *time.Time `json:"pushed_at,omitempty"`

	// RequestBase64 and ResponseBase64 are a binary body's own bytes,
	// base64, for a HAR: only when the body is whole, at most 64 KiB, and
	// holds nothing the case's redactor knows as a secret. When a binary
	// body's bytes are left out, RequestBase64Omitted or
	// ResponseBase64Omitted says why.
	RequestBase64         string `json:"request_base64,omitempty"`
	ResponseBase64        string `json:"response_base64,omitempty"`
	RequestBase64Omitted  string `json:"request_base64_omitted,omitempty"`
	ResponseBase64Omitted string `json:"response_base64_omitted,omitempty"`
}

// Expects reports whether the case expects check id to fail or warn: a trip
// the scenario names, or a finding the deployment is known to have.
func (i *CaseInfo) Expects(id string) bool {
	for _, t := range i.ExpectTrips {
		if t == id {
			return true
		}
	}
	return len(i.KnownTrips) > 0 && check.Filter(i.KnownTrips).Match(id)
}
