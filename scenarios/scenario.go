// Package scenarios reads the scenario files QA teams keep (YAML, one
// scenario per file or a `scenarios:` list in a suite file), validates them
// with every problem of a file at once and a file:line:col for each, and
// turns a scenario into the engine's cases: one per device of its device,
// devices or matrix. Built-in suites (demo, conformance, thresholds, and
// negative, generated from the faults Options.Faults lists) are embedded.
//
// The package imports nothing of the command layer: a scenario describes
// its target as data, and the caller says which faults its embedded server
// has (Options), starts it and builds the transport.
//
// Loading checks the format only. Whatever lies outside the file (secrets in
// the environment or in files, CA and replay files) is read by
// Scenario.Cases, right before a run.
package scenarios

import (
	"time"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// Special values of expect.outcome besides sim's outcome codes.
const (
	// OutcomeAuto, the default, expects what the device can do:
	// refused-on-device when it lacks the enrollment type, enrollment-failed
	// when it lacks the expected sign-in method (expect.steps
	// enroll-challenge.method), discovered for discovery_only, else enrolled.
	OutcomeAuto = "auto"
	// OutcomeAny leaves the outcome unchecked (negative scenarios judge
	// their checks instead).
	OutcomeAny = "any"
)

// Scenario is one parsed, validated scenario.
type Scenario struct {
	Name        string
	Description string
	Tags        []string

	// Exactly one of Device, Devices and Matrix is set.
	Device  string
	Devices []string
	Matrix  *Matrix

	Type    sim.EnrollmentType
	Account Account
	Target  Target
	Options sim.DeviceOptions
	Login   sim.LoginFields
	// ReplayBody is a captured enrollment body, relative to File.
	ReplayBody    string
	Probes        bool
	DiscoveryOnly bool
	// Until says how far the cases go after the profile; zero: commands.
	Until event.Until
	// Poll and Stay are sim.Case's: how often the device reconnects after
	// an empty answer (zero: sim.DefaultPoll; below zero: never) and how
	// long it stays polling (zero: until its first commands only).
	Poll, Stay time.Duration
	// Actions are sim.Case's: server actions scripted for the stay.
	Actions []sim.Action
	Expect  Expect

	// Suite names the suite the scenario was loaded with.
	Suite string
	// File and Line locate the scenario; File is as given to the loader
	// (suites/NAME.yaml for built-in suites).
	File string
	Line int
	col  int

	// at remembers where keys were, for problems found by Cases.
	at map[string]position
}

// Matrix is the devices of some families at some versions.
type Matrix struct {
	// Families are short family names (iphone, ipad, mac, vision).
	Families []string
	// Versions are OS versions applied to each family, or "catalogue" for
	// every catalogue version of each family.
	Versions []string
}

// VersionsCatalogue in Matrix.Versions stands for every catalogue version.
const VersionsCatalogue = "catalogue"

// Account is who signs in, with references to the secrets, never values.
type Account struct {
	Identifier     string
	Username       string
	ManagedAppleID string
	PasswordEnv    string
	PasswordFile   string // relative to the scenario's file
	TOTPSecretEnv  string
	TOTPSecretFile string // relative to the scenario's file
	TOTP           sim.TOTPOptions
}

// Target is the embedded reference server (with faults) or a deployed one.
type Target struct {
	Embedded bool
	Faults   []string
	// DDM: the embedded server manages its devices declaratively too
	// (target.embedded.ddm).
	DDM bool
	// Server is a deployed server; its file paths are as written, relative
	// to the scenario's file (CaseSpec.Server has them resolved).
	Server ServerTarget
	// AxM is target.axm: the Device Assignment API stand-in the server
	// registers with, or (embedded) its default assignments; nil: none.
	AxM *AxMTarget
}

// AxMTarget is target.axm. For a deployed server the run starts a stand-in
// for Apple's Device Assignment API (as `enrollsim axm serve` does), waits
// for the server to register its discovery URL there, judges the
// registration (ABM-001/002/006/007) and plays the devices' fallback
// through the URL the server registered. For the embedded server only
// Defaults applies: its stand-in is built in.
type AxMTarget struct {
	Serve bool
	// Listen is the loopback HOST:PORT the server under test was told to
	// use as its Device Assignment base URL; default DefaultAxMListen.
	Listen string
	// State is the stand-in's directory (its CA and the server tokens that
	// 'enrollsim axm token' wrote), as written, relative to the file;
	// CaseSpec.AxM has it resolved.
	State string
	// Server is the AxM MDM server (a token's name) whose registration is
	// judged; empty: the state's first.
	Server string
	// Wait bounds the wait for the registration; zero: DefaultAxMWait.
	Wait time.Duration
	// Defaults are AxM's default device assignments: model family
	// (device.Family) to server name. Nil: every family to the judged server.
	Defaults map[device.Family]string
	// Withdraw and Restore are the server's admin hooks for the
	// configuration-change probe (https URLs, POSTed with no body).
	Withdraw, Restore string
	// RefuseFirst is a documented error code the stand-in answers to the
	// server's first registration, so that ABM-006 can be judged.
	RefuseFirst string
}

// Defaults of target.axm.
const (
	DefaultAxMListen = "127.0.0.1:8443"
	DefaultAxMWait   = 60 * time.Second
)

// AxMErrorCodes are the documented registration errors refuse_first takes.
var AxMErrorCodes = []string{"ORG_NOT_SUPPORTED", "MDM_SERVICE_DISCOVERY_URL_NOT_VALID", "MDM_SERVICE_DISCOVERY_URL_REQUIRED"}

// ServerTarget is how to reach a deployed server.
type ServerTarget struct {
	// BaseURL names the server in reports; discovery still starts at the
	// identifier's domain.
	BaseURL   string
	Resolve   []string // HOST:PORT:ADDR, as curl --resolve
	ConnectTo []string // HOST:PORT:CONNECT-HOST:CONNECT-PORT, as curl --connect-to
	CACerts   []string // PEM files of extra CAs
	StockCAs  []string // PEM files of CAs that also count as stock device roots
	// AxMURL is the device-side AxM endpoint; set, it declares an AxM
	// registration. Empty means Apple's.
	AxMURL  string
	Timeout time.Duration // per request; 0 means the run's
	// AdminQueue is the server's hook to queue a command (sim.AdminHooks.Queue).
	AdminQueue string
	// AdminDeclarations is the server's hook to add and remove a
	// declaration (sim.AdminHooks.Declarations).
	AdminDeclarations string
}

// Expect is what the scenario expects of each of its cases.
type Expect struct {
	// Outcome is a sim outcome code, OutcomeAuto or OutcomeAny.
	Outcome string
	// Enroll says the account should be able to enroll (WK-001).
	Enroll bool
	// Fail lists checks expected to fail or warn.
	Fail []string
	// Steps holds the expected facts by step, as written.
	Steps map[string]map[string]string
	// Commands is the number of commands the device answers (expect.commands
	// as a number); nil for no expectation.
	Commands *int
	// CommandTypes are RequestTypes the device must have answered, in any
	// order (expect.commands as a list).
	CommandTypes []string
}

// Facts flattens Steps into sim.Expect.Facts keys.
func (e Expect) Facts() map[string]string {
	var out map[string]string
	for _, st := range stepFacts {
		for _, f := range st.facts {
			if v, ok := e.Steps[st.name][f.name]; ok {
				if out == nil {
					out = map[string]string{}
				}
				out[f.name] = v
			}
		}
	}
	return out
}

// Suite is a set of scenarios loaded together.
type Suite struct {
	Name        string
	Description string
	Scenarios   []Scenario
	BuiltIn     bool
}

// CaseSpec is one case of a scenario and the target it needs. The caller
// builds the target's Doer: an embedded server per fault set, or a client
// for the deployed server.
type CaseSpec struct {
	// Case has everything but the target's connection: Target is zero
	// except AxMURL and AxMDeclared for server targets.
	Case     sim.Case
	Embedded bool
	Faults   []string // sorted; embedded targets only
	DDM      bool     // the embedded server manages declaratively (target.embedded.ddm, or until: ddm)
	Server   ServerTarget
	// AxM is the scenario's target.axm with State resolved; nil: none.
	AxM *AxMTarget
}

// stepFacts are the facts a scenario may expect, by step, in flow order.
// Each fact name is its sim.Expect.Facts key.
var stepFacts = []struct {
	name  string
	step  event.Step
	facts []factSpec
}{
	{"discovery", event.StepDiscovery, []factSpec{{name: "redirects", integer: true}}},
	{"process-document", event.StepDocument, []factSpec{
		{name: "server", values: []string{"mdm-byod", "mdm-adde"}},
		{name: "via", values: []string{"well-known", "axm-fallback"}},
	}},
	{"enroll-challenge", event.StepChallenge, []factSpec{{name: "method", values: []string{"apple-as-web", "apple-oauth2"}}}},
	{"profile", event.StepProfile, []factSpec{
		{name: "enrollment_mode", values: []string{"BYOD", "ADDE"}},
		{name: "assigned"},
	}},
}

type factSpec struct {
	name    string
	integer bool
	values  []string // nil: any string
}

// outcomes are the accepted expect.outcome values.
var outcomes = []string{
	OutcomeAuto, OutcomeAny,
	event.OutcomeEnrolled, event.OutcomeDiscovered, event.OutcomeRefused, event.OutcomeDiscoveryFailed,
	event.OutcomeAuthFailed, event.OutcomeEnrollFailed, event.OutcomeProfileRejected,
	event.OutcomeIdentityFailed, event.OutcomeCheckInFailed, event.OutcomeUnenrolled, event.OutcomeError,
}

// OutcomeNeeds is the stage a case must reach for outcome o to happen
// (identity-failed needs the identity step, checkin-failed and unenrolled
// the check-in), "" for outcomes of the steps up to the profile.
func OutcomeNeeds(o string) event.Until {
	switch o {
	case event.OutcomeIdentityFailed:
		return event.UntilIdentity
	case event.OutcomeCheckInFailed, event.OutcomeUnenrolled:
		return event.UntilCheckIn
	}
	return ""
}
