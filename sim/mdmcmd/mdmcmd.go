// Package mdmcmd is how a simulated Apple device answers the MDM server's
// first commands (issue 14 item 3): it reads a command from a connect answer
// and builds the result a device of the enrollment type would send. It does
// no HTTP: the caller wraps the answer with its identifiers (UDID or
// EnrollmentID, CommandUUID) and sends it.
//
// The source is Apple's schema, github.com/apple/device-management at the
// commit in appleschema.go (mdm/commands/*.yaml): which commands a user
// enrollment refuses, which DeviceInformation queries and SecurityInfo keys
// it withholds, which keys exist on which platform and since when; and
// (mdm/profiles/*.yaml, applepayloads.go) which payloads a user enrollment
// refuses in an InstallProfile.
//
// Answer plays a freshly enrolled device. A device that stays enrolled
// answers through its State (NewState), which remembers what InstallProfile,
// RemoveProfile and InstallApplication changed, and can play a locked device
// that answers NotNow.
package mdmcmd

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// Device is the simulated device as the commands see it. Every value in an
// answer derives from these fields, so answers are deterministic.
type Device struct {
	// Family is one of "iPhone", "iPad", "Mac", "RealityDevice".
	Family, Product, OSVersion, BuildVersion, DeviceName, SerialNumber, UDID string
	UserEnrollment                                                           bool
	// ProfileIdentifiers are the PayloadIdentifiers of the profiles installed
	// at enrollment (all installed by MDM, so all managed). The first is the
	// enrollment profile, the one holding the MDM payload, which
	// RemoveProfile does not remove (CodeRemoveEnrollmentProfile).
	ProfileIdentifiers []string
	// IdentityDER is the device identity certificate from SCEP (DER).
	IdentityDER []byte
}

// Command is one command the server sent.
type Command struct {
	UUID, RequestType string
	// Body is the Command dictionary, RequestType included.
	Body map[string]any
}

// Limits on a command body. A real command is a few kilobytes; the largest
// (InstallProfile, InstallApplication with a manifest) carry one data blob of
// some hundred kilobytes, never thousands of objects or deep nesting.
var limits = profile.Limits{MaxBytes: 4 << 20, MaxDepth: 32, MaxObjects: 50_000}

// parseTimeout stops a decode that the limits somehow let run long.
const parseTimeout = 5 * time.Second

// Parse reads a connect answer, {CommandUUID, Command: {RequestType, ...}},
// XML or binary, within fixed limits (4 MiB, 32 levels, 50 000 objects).
func Parse(body []byte) (Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), parseTimeout)
	defer cancel()
	return ParseContext(ctx, body)
}

// ParseContext is Parse that also stops when ctx is done.
func ParseContext(ctx context.Context, body []byte) (Command, error) {
	v, err := profile.DecodePlist(ctx, body, limits)
	if err != nil {
		return Command{}, fmt.Errorf("reading the command: %w", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return Command{}, fmt.Errorf("reading the command: the top level is %s, not a dictionary", typeName(v))
	}
	uuid, err := stringKey(top, "CommandUUID", "the command")
	if err != nil {
		return Command{}, err
	}
	cv, ok := top["Command"]
	if !ok {
		return Command{}, errors.New("reading the command: no Command dictionary")
	}
	cmd, ok := cv.(map[string]any)
	if !ok {
		return Command{}, fmt.Errorf("reading the command: Command is %s, not a dictionary", typeName(cv))
	}
	rt, err := stringKey(cmd, "RequestType", "the Command dictionary")
	if err != nil {
		return Command{}, err
	}
	return Command{UUID: uuid, RequestType: rt, Body: cmd}, nil
}

func stringKey(m map[string]any, key, where string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", fmt.Errorf("reading the command: %s has no %s", where, key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("reading the command: %s in %s is %s, not a string", key, where, typeName(v))
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("reading the command: %s in %s is empty", key, where)
	}
	return s, nil
}

// Answer is the device's result for c: Status, the result keys, and
// RequestType (real devices echo it: micromdm/nanomdm
// mdm/testdata/DeviceInformation.1.plist). It holds no identifier keys: the
// caller adds UDID or EnrollmentID and CommandUUID. Answer is a freshly
// enrolled, unlocked device's answer (NewState().Answer): a device that
// stays enrolled answers through its own State, which remembers what
// InstallProfile, RemoveProfile and InstallApplication changed.
//
// NotNow is answered only by a State that is Locked (see State.Locked).
// Apple documents it for states a fresh device does not have (a
// CertificateList before the first unlock after boot, certificate.list.yaml;
// a locked device with Data Protection), and a device that says NotNow is
// asked again.
//
// A command Apple's schema removes in the device's OS version (the
// software-update commands in 27.0), or introduces on the device's platform
// only in a later version (UserConfigured before iOS 17.0), is answered as a
// device that does not know it (removedCommand), before any other rule: the
// command does not exist there, whatever the enrollment type. See Available.
func Answer(c Command, d Device) map[string]any {
	return NewState().Answer(c, d)
}

func withType(c Command, a map[string]any) map[string]any {
	a["RequestType"] = c.RequestType
	return a
}

// Withheld lists, sorted, the identifiers c asks for that a user enrollment
// never returns (CHK-012): for DeviceInformation, the queried keys Apple's
// schema marks userenrollment forbidden on every platform that has them
// (information.device.yaml), so that no platform's legitimate query is
// reported. A query that only some platforms withhold (PushToken: iOS, not
// macOS) is left to WithheldOn. Nil for other commands and for device
// enrollment.
func Withheld(c Command, userEnrollment bool) []string {
	if !userEnrollment || c.RequestType != "DeviceInformation" {
		return nil
	}
	var out []string
	for _, q := range queries(c) {
		if withheldEverywhere(q) {
			out = append(out, q)
		}
	}
	return sortedUnique(out)
}

// WithheldOn is Withheld for one device: the queried keys its platform
// withholds in a user enrollment.
func WithheldOn(c Command, d Device) []string {
	p := platformOf(d.Family)
	if !d.UserEnrollment || c.RequestType != "DeviceInformation" || p == platformUnknown {
		return nil
	}
	var out []string
	for _, q := range queries(c) {
		if k, ok := deviceInfoKeys[q]; ok && k[p].Supported && k[p].UEForbidden {
			out = append(out, q)
		}
	}
	return sortedUnique(out)
}

func withheldEverywhere(key string) bool {
	k, ok := deviceInfoKeys[key]
	if !ok {
		return false
	}
	exists := false
	for _, os := range k {
		if os.Supported && !os.UEForbidden {
			return false
		}
		exists = exists || os.Supported
	}
	return exists
}

// queries are the string items of the command's Queries array.
func queries(c Command) []string {
	arr, _ := c.Body["Queries"].([]any)
	var out []string
	for _, v := range arr {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	out := s[:1]
	for _, v := range s[1:] {
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// typeName names a plist value's type, as the profile reader does.
func typeName(v any) string { return profile.TypeName(v) }

// ForbiddenInUserEnrollment reports whether Apple's schema forbids the
// command in a user enrollment on the family's platform
// (supportedOS.<platform>.userenrollment.mode forbidden), and names the
// platform. A device so enrolled refuses it (Answer); a server should
// never send it.
func ForbiddenInUserEnrollment(requestType, family string) (bool, string) {
	p := platformOf(family)
	if p == platformUnknown {
		return false, ""
	}
	return commandModes[requestType][p] == modeForbidden, [...]string{"iOS", "macOS", "visionOS"}[p]
}

// Available reports whether the family's platform, at osVersion, has the
// command in Apple's schema (commandIntroduced, commandLifecycle), and if
// not why: "not on macOS", "introduced in iOS 17.0", "removed in iOS 27.0".
// The platform is the schema's (an iPad's is iOS). An unknown family or
// RequestType is available: the schema says nothing against it. A device
// answers a command introduced later or removed with removedCommand
// (Answer); one its platform never had keeps the simulator's
// not-supported answer, as it did before this table existed.
func Available(requestType, family, osVersion string) (ok bool, why string) {
	p := platformOf(family)
	in, known := commandIntroduced[requestType]
	if p == platformUnknown || !known {
		return true, ""
	}
	name := platformName(p)
	switch {
	case in[p] == "":
		return false, "not on " + name
	case commandNotYetIntroduced(requestType, p, osVersion):
		return false, fmt.Sprintf("introduced in %s %s", name, in[p])
	case commandRemoved(requestType, p, osVersion):
		return false, fmt.Sprintf("removed in %s %s", name, commandLifecycle[requestType][p].Removed)
	}
	return true, ""
}
