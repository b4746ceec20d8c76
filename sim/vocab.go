package sim

// The vocabulary of a run lives in small packages at the bottom, so that a
// formatter or a dashboard can read events without importing the engine:
// sim/check (the catalogue and results), sim/device (the simulated
// clients) and sim/event (the event stream and the flow's steps). These
// aliases keep the names importers of sim have always used.

import (
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// Types of package check.
type (
	CheckSpec     = check.Spec
	Level         = check.Level
	Status        = check.Status
	Result        = check.Result
	CheckFilter   = check.Filter
	KnownFindings = check.KnownFindings
	KnownFinding  = check.KnownFinding
)

// Constants of package check.
const (
	Must          = check.Must
	Should        = check.Should
	Info          = check.Info
	Pass          = check.Pass
	Fail          = check.Fail
	Warn          = check.Warn
	Skip          = check.Skip
	Error         = check.Error
	Noted         = check.Noted
	KnownExpected = check.KnownExpected
	KnownStale    = check.KnownStale
	KnownExpired  = check.KnownExpired
	KnownUnused   = check.KnownUnused
)

// Checks is check.Checks.
func Checks() []CheckSpec { return check.Checks() }

// AllChecks is check.AllChecks.
func AllChecks() []CheckSpec { return check.AllChecks() }

// Implemented is check.Implemented.
func Implemented(id string) bool { return check.Implemented(id) }

// LookupCheck is check.Lookup.
func LookupCheck(id string) (CheckSpec, bool) { return check.Lookup(id) }

// ParseCheckFilter is check.ParseFilter.
func ParseCheckFilter(s string) (CheckFilter, error) { return check.ParseFilter(s) }

// Types of package device.
type (
	Family     = device.Family
	Version    = device.Version
	Device     = device.Device
	Capability = device.Capability
)

// Constants of package device.
const (
	IPhone              = device.IPhone
	IPad                = device.IPad
	Mac                 = device.Mac
	RealityDevice       = device.RealityDevice
	CapUserEnrollment   = device.CapUserEnrollment
	CapDeviceEnrollment = device.CapDeviceEnrollment
	CapAxMFallback      = device.CapAxMFallback
	CapAsWeb            = device.CapAsWeb
	CapOAuth2           = device.CapOAuth2
	CapWellKnownFailed  = device.CapWellKnownFailed
	CapESSO             = device.CapESSO
)

// Catalogue is device.Catalogue.
func Catalogue() []Device { return device.Catalogue() }

// LookupDevice is device.LookupDevice.
func LookupDevice(ref string) (Device, error) { return device.LookupDevice(ref) }

// ParseVersion is device.ParseVersion.
func ParseVersion(s string) (Version, error) { return device.ParseVersion(s) }

// AllCapabilities is device.AllCapabilities.
func AllCapabilities() []Capability { return device.AllCapabilities() }

// Types of package event.
type (
	EventKind  = event.EventKind
	Until      = event.Until
	Step       = event.Step
	StepStatus = event.StepStatus
	Event      = event.Event
	RunInfo    = event.RunInfo
	CaseInfo   = event.CaseInfo
	Artifact   = event.Artifact
	Exchange   = event.Exchange
)

// Constants of package event.
const (
	UntilProfile           = event.UntilProfile
	UntilIdentity          = event.UntilIdentity
	UntilCheckIn           = event.UntilCheckIn
	UntilCommands          = event.UntilCommands
	EventRunStart          = event.EventRunStart
	EventCaseStart         = event.EventCaseStart
	EventStepStart         = event.EventStepStart
	EventExchange          = event.EventExchange
	EventCheck             = event.EventCheck
	EventStepEnd           = event.EventStepEnd
	EventCaseEnd           = event.EventCaseEnd
	EventRunEnd            = event.EventRunEnd
	EventWait              = event.EventWait
	EventArtifact          = event.EventArtifact
	StepSignIn             = event.StepSignIn
	StepRegistration       = event.StepRegistration
	StepDiscovery          = event.StepDiscovery
	StepFallback           = event.StepFallback
	StepDocument           = event.StepDocument
	StepChallenge          = event.StepChallenge
	StepWebLogin           = event.StepWebLogin
	StepOAuth2             = event.StepOAuth2
	StepEnroll             = event.StepEnroll
	StepProfile            = event.StepProfile
	StepIdentity           = event.StepIdentity
	StepCheckIn            = event.StepCheckIn
	StepCommands           = event.StepCommands
	StepTokenLife          = event.StepTokenLife
	StepOK                 = event.StepOK
	StepFailed             = event.StepFailed
	StepRefused            = event.StepRefused
	StepError              = event.StepError
	StepSkipped            = event.StepSkipped
	OutcomeEnrolled        = event.OutcomeEnrolled
	OutcomeDiscovered      = event.OutcomeDiscovered
	OutcomeRefused         = event.OutcomeRefused
	OutcomeDiscoveryFailed = event.OutcomeDiscoveryFailed
	OutcomeAuthFailed      = event.OutcomeAuthFailed
	OutcomeEnrollFailed    = event.OutcomeEnrollFailed
	OutcomeProfileRejected = event.OutcomeProfileRejected
	OutcomeIdentityFailed  = event.OutcomeIdentityFailed
	OutcomeCheckInFailed   = event.OutcomeCheckInFailed
	OutcomeUnenrolled      = event.OutcomeUnenrolled
	OutcomeError           = event.OutcomeError
	OutcomeInterrupted     = event.OutcomeInterrupted
)

// ParseUntil is event.ParseUntil.
func ParseUntil(s string) (Until, error) { return event.ParseUntil(s) }

// Secret is secret.Secret; Redactor is secret.Redactor.
type (
	Secret   = secret.Secret
	Redactor = secret.Redactor
)

// NewSecret is secret.New.
func NewSecret(v string) Secret { return secret.New(v) }

const redacted = secret.Redacted
