package mdmcmd

import (
	"fmt"
	"strconv"
	"strings"
)

// ueMode is a command's payload-level supportedOS.<platform>.userenrollment.mode.
type ueMode uint8

const (
	modeNone        ueMode = iota // the platform has the command; the schema gives no mode
	modeAllowed                   // a user enrollment runs it
	modeForbidden                 // a user enrollment refuses it
	modeUnsupported               // the platform does not have the command
)

// keyOS is one key's support on one platform.
type keyOS struct {
	Supported   bool   // false where Apple's introduced is "n/a"
	Since       string // the OS version that introduced it; "" = as old as the command
	UEForbidden bool   // userenrollment mode forbidden: a user enrollment withholds it
	Deprecated  string // the OS version that deprecated it (still answered); "" = never
	Removed     string // the OS version that removed it (no longer answered); "" = never
}

// lifecycle is a command's deprecation and removal on one platform
// (Apple's supportedOS.<platform>.deprecated and .removed).
type lifecycle struct {
	Deprecated string // still run, Apple advises against it
	Removed    string // the device no longer knows the command
}

// keySupport is one key's support on iOS, macOS and visionOS.
type keySupport [3]keyOS

// platform indexes the schema tables: iOS (iPhone and iPad), macOS, visionOS.
type platform int

const (
	platformIOS platform = iota
	platformMacOS
	platformVisionOS
	platformUnknown
)

func platformOf(family string) platform {
	switch family {
	case "iPhone", "iPad":
		return platformIOS
	case "Mac":
		return platformMacOS
	case "RealityDevice":
		return platformVisionOS
	}
	return platformUnknown
}

// SchemaCommit is the apple/device-management commit the tables come from,
// for reports.
func SchemaCommit() string { return schemaCommit }

// LifecycleCommit is the apple/device-management commit (27.0) of the
// tables' deprecated and removed fields.
func LifecycleCommit() string { return lifecycleCommit }

// has says whether the device's platform and OS version have the key:
// introduced by then and not yet removed.
func (k keySupport) has(p platform, osVersion string) bool {
	if p == platformUnknown || !k[p].Supported {
		return false
	}
	return atLeast(osVersion, k[p].Since) && !removedBy(osVersion, k[p].Removed)
}

// removedBy says whether a device on osVersion no longer has what Apple
// removed in removed. Unlike atLeast, an empty or unreadable version counts
// as never removed: a device answers rather than drops on a typo.
func removedBy(osVersion, removed string) bool {
	if _, ok := versionParts(removed); !ok {
		return false
	}
	if _, ok := versionParts(osVersion); !ok {
		return false
	}
	return atLeast(osVersion, removed)
}

// commandRemoved says whether the device's platform and OS version no
// longer have the command.
func commandRemoved(requestType string, p platform, osVersion string) bool {
	l, ok := commandLifecycle[requestType]
	if !ok || p == platformUnknown {
		return false
	}
	return removedBy(osVersion, l[p].Removed)
}

// commandNotYetIntroduced says whether the device's platform has the
// command only from a later OS version than the device's. A platform that
// never has it ("" in commandIntroduced) is not this case: such a command
// keeps the answer of a command the simulator does not simulate.
func commandNotYetIntroduced(requestType string, p platform, osVersion string) bool {
	in, ok := commandIntroduced[requestType]
	if !ok || p == platformUnknown {
		return false
	}
	return !atLeast(osVersion, in[p])
}

// AtLeast compares dotted OS versions as Apple's schema writes them
// ("17.4", "10.15.3"), numerically: an empty or unreadable minimum is
// met, and an unreadable device version meets every minimum (better to
// answer a key than to drop it on a typo). sim/ddm compares with it too.
func AtLeast(have, min string) bool { return atLeast(have, min) }

// VersionKnown reports whether v is a dotted version AtLeast can read.
func VersionKnown(v string) bool { _, ok := versionParts(v); return ok }

func atLeast(have, min string) bool {
	m, ok := versionParts(min)
	if !ok {
		return true
	}
	h, ok := versionParts(have)
	if !ok {
		return true
	}
	for i := 0; i < len(m) || i < len(h); i++ {
		var a, b int
		if i < len(h) {
			a = h[i]
		}
		if i < len(m) {
			b = m[i]
		}
		if a != b {
			return a > b
		}
	}
	return true
}

func versionParts(v string) ([]int, bool) {
	if v == "" {
		return nil, false
	}
	var out []int
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// Error answers. Apple's MDM protocol reference says the ErrorDomain and
// ErrorCode values are Apple's internal codes that hosts must not rely on,
// so the simulator's own refusals say so by their domain, and only the
// user-enrollment refusal uses the device's MCMDMErrorDomain.
const (
	// SimulatorErrorDomain marks a command the simulator does not simulate.
	SimulatorErrorDomain = "EnrollsimErrorDomain"
	// CodeNotSupported is SimulatorErrorDomain's code for such a command.
	CodeNotSupported = 1
	// CodeMalformed is SimulatorErrorDomain's code for a malformed command.
	CodeMalformed = 2
	// DeviceErrorDomain is the domain of the device's MDM errors.
	DeviceErrorDomain = "MCMDMErrorDomain"
	// CodeForbiddenInUE is the code the simulator gives a command a user
	// enrollment refuses. Apple documents that the device refuses such
	// commands (userenrollment mode forbidden) but not the error it sends;
	// 12021 is MCMDMErrorDomain's code for a request the device does not
	// accept, as far as we know it, unverified against a capture.
	CodeForbiddenInUE = 12021
	// CodeRemoved is the code of a command removed in the device's OS
	// version. Apple does not document what a device answers to a
	// RequestType it no longer has; the answer follows third-party
	// observations (a public code comment citing Apple Developer Forums
	// thread 717027 quotes `MCMDMErrorDomain 12021 "DeclarativeManagement"
	// is not a valid request type for the target OS/device` from a device
	// without that command), not a capture of a 27 device.
	CodeRemoved = 12021
)

func errorAnswer(domain string, code int, msg string) map[string]any {
	return map[string]any{
		"Status": "Error",
		"ErrorChain": []any{map[string]any{
			"ErrorCode":            code,
			"ErrorDomain":          domain,
			"LocalizedDescription": msg,
			"USEnglishDescription": msg,
		}},
	}
}

func notSupported(requestType string) map[string]any {
	return errorAnswer(SimulatorErrorDomain, CodeNotSupported,
		fmt.Sprintf("The command “%s” is not supported by the enrollsim device simulator.", requestType))
}

// removedCommand is the answer of a device whose OS no longer has the
// command (see CodeRemoved): Status Error, not NotNow, which would tell
// the server to send it again.
func removedCommand(requestType string) map[string]any {
	return errorAnswer(DeviceErrorDomain, CodeRemoved,
		fmt.Sprintf("\"%s\" is not a valid request type for the target OS/device", requestType))
}

func forbiddenInUE(requestType string) map[string]any {
	return errorAnswer(DeviceErrorDomain, CodeForbiddenInUE,
		fmt.Sprintf("The command “%s” is not allowed for a user enrollment.", requestType))
}

// formatError is the answer to a command whose keys have the wrong type
// (Apple's MDM protocol reference: "CommandFormatError: a protocol error has
// occurred, the command may be malformed"). Apple gives it no ErrorChain;
// the simulator adds its own reason so a report can say what was wrong.
func formatError(requestType, why string) map[string]any {
	a := errorAnswer(SimulatorErrorDomain, CodeMalformed, fmt.Sprintf("The command “%s” is malformed: %s.", requestType, why))
	a["Status"] = "CommandFormatError"
	return a
}
