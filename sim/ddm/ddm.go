// Package ddm is the simulated device's side of Apple's declarative device management (DDM):
// the DeclarativeManagement check-in messages, readers for the server's answers, the
// device's declaration store with what it supports (from Apple's schema, appleschema.go),
// and its status report. It does no HTTP: the engine sends the messages and judges the
// answers.
//
// Sync, as Apple's "Integrating Declarative Management" describes it: tokens, then
// declaration-items (ParseItems), State.Plan says what to fetch (DeclarationPath) and what to
// remove, State.Apply takes each declaration, and State.StatusReport is the Data of the
// status check-in.
package ddm

import (
	"strings"

	"github.com/enrollsim/enrollsim/sim/mdmcmd"
)

// The check-in Endpoint values (Apple's DeclarativeManagement check-in).
const (
	EndpointTokens           = "tokens"
	EndpointDeclarationItems = "declaration-items"
	EndpointStatus           = "status"
)

// Declaration kinds, as the declaration endpoint names them
// (declaration/activation/{identifier}, .../asset/..., .../configuration/..., .../management/...).
const (
	KindActivation    = "activation"
	KindConfiguration = "configuration"
	KindAsset         = "asset"
	KindManagement    = "management"
)

// CheckIn is the DeclarativeManagement check-in message for endpoint; data (the status
// report) goes in Data when not nil, and a plist encoder writes it as <data>. The caller
// adds the enrollment's id keys (UDID, or EnrollmentID for a user enrollment).
func CheckIn(endpoint string, data []byte) map[string]any {
	m := map[string]any{"MessageType": "DeclarativeManagement", "Endpoint": endpoint}
	if data != nil {
		m["Data"] = data
	}
	return m
}

// DeclarationPath is the Endpoint that fetches one declaration: declaration/<kind>/<identifier>,
// kind one of the Kind constants. The identifier goes as the server listed it: the Endpoint
// is a plist string, not a URL.
func DeclarationPath(kind, identifier string) string {
	return "declaration/" + kind + "/" + identifier
}

// SchemaCommit is the apple/device-management commit the tables come from, for reports.
func SchemaCommit() string { return schemaCommit }

// Device is what the device's DDM side needs to know about the simulated device.
type Device struct {
	Family        string // iPhone, iPad, Mac, RealityDevice (the well-known query's model family)
	OSVersion     string // 18.2
	BuildVersion  string // 22C152
	Product       string // iPhone17,3 (device.model.identifier)
	MarketingName string // iPhone 16 (device.model.marketing-name)
	// UserEnrollment: an account-driven user enrollment; else a device enrollment.
	UserEnrollment bool
	// Supervised: an iPhone, iPad or Vision Pro enrolled supervised. A Mac's device enrollment
	// counts as supervised whatever this says (see enrollment).
	Supervised bool
	// UDID and SerialNumber feed device.identifier.* where the enrollment allows them
	// (never a user enrollment); "" leaves the item out.
	UDID, SerialNumber string
}

// platform indexes the schema tables: iOS (iPhone and iPad), macOS, visionOS.
type platform int

const (
	platformIOS platform = iota
	platformMacOS
	platformVisionOS
	platformUnknown
)

func (d Device) platform() platform {
	switch d.Family {
	case "iPhone", "iPad":
		return platformIOS
	case "Mac":
		return platformMacOS
	case "RealityDevice":
		return platformVisionOS
	}
	return platformUnknown
}

// osFamily is device.operating-system.family ("such as 'macOS' or 'iOS'", Apple's status
// schema); iPadOS for an iPad is inferred from Apple's platform names.
func (d Device) osFamily() string {
	switch d.Family {
	case "iPhone":
		return "iOS"
	case "iPad":
		return "iPadOS"
	case "Mac":
		return "macOS"
	case "RealityDevice":
		return "visionOS"
	}
	return d.Family
}

// enrollment is the device's entry in Apple's allowed-enrollments (supervised, device, user).
// Apple's schema never lists "device" for macOS, and a Mac enrolled in MDM on macOS 11 or later
// is supervised (inferred: Apple's schema, and vendors' documentation, e.g. JumpCloud's
// "Understand Supervised Devices"), so a Mac's device enrollment is "supervised".
func (d Device) enrollment() string {
	switch {
	case d.UserEnrollment:
		return "user"
	case d.Supervised || d.platform() == platformMacOS:
		return "supervised"
	}
	return "device"
}

// has says whether the device has what s describes: the platform has it, the OS version
// introduced it and has not removed it, and the enrollment is among the allowed ones.
// why says which failed ("" when it has it).
func (d Device) has(s [3]osSupport) (ok bool, why string) {
	p := d.platform()
	if p == platformUnknown {
		return false, "the simulator does not know the platform of " + d.Family
	}
	o := s[p]
	switch {
	case o.Introduced == "":
		return false, d.osFamily() + " does not have it"
	case !mdmcmd.AtLeast(d.OSVersion, o.Introduced):
		return false, d.osFamily() + " has it from " + o.Introduced + ", the device runs " + d.OSVersion
	case o.Removed != "" && mdmcmd.VersionKnown(d.OSVersion) && mdmcmd.AtLeast(d.OSVersion, o.Removed):
		return false, d.osFamily() + " removed it in " + o.Removed
	case d.UserEnrollment && o.UserEnrollment == ueForbidden:
		return false, "user enrollment forbids it"
	case o.Enrollments != "" && !listed(o.Enrollments, d.enrollment()):
		return false, "a " + d.enrollment() + " enrollment does not allow it (" + o.Enrollments + ")"
	}
	return true, ""
}

func listed(csv, v string) bool {
	for _, e := range strings.Split(csv, ",") {
		if e == v {
			return true
		}
	}
	return false
}

// ForbiddenInUserEnrollment reports whether Apple's schema keeps the
// declaration type from a user enrollment on the device's platform (its
// allowed-enrollments leave user out, or its user-enrollment mode forbids
// it). An unknown type or platform is not forbidden: no server is blamed
// for what the simulator's schema does not know.
func ForbiddenInUserEnrollment(typ string, dev Device) bool {
	t, ok := declarationTypes[typ]
	p := dev.platform()
	if !ok || p == platformUnknown {
		return false
	}
	o := t.OS[p]
	return o.UserEnrollment == ueForbidden || (o.Enrollments != "" && !listed(o.Enrollments, "user"))
}
