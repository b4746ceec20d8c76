package profile

import "strings"

// User-enrollment modes found in Apple's device-management schema, plus two
// the table uses for gaps.
const (
	UEAllowed     = "allowed"     // the payload may be installed in a user enrollment
	UEForbidden   = "forbidden"   // the payload is refused in a user enrollment
	UEIgnored     = "ignored"     // accepted but without effect
	UERequired    = "required"    // must be present
	UEUnsupported = "unsupported" // the payload type does not exist on that platform
	UENone        = "none"        // the platform supports the payload but the schema gives no user-enrollment mode
)

// UserEnrollmentMode returns the payload-level user-enrollment mode Apple's
// schema (apple/device-management, see uemodes.go) gives payloadType on
// platform: "iOS" (also "iPadOS"), "macOS" or "visionOS"; platform names are
// matched case-insensitively. known is false when the payload type is not in
// the schema or the platform is none of those.
func UserEnrollmentMode(payloadType, platform string) (mode string, known bool) {
	modes, ok := ueModes[payloadType]
	if !ok {
		return "", false
	}
	var key string
	switch strings.ToLower(platform) {
	case "ios", "ipados":
		key = "iOS"
	case "macos":
		key = "macOS"
	case "visionos":
		key = "visionOS"
	default:
		return "", false
	}
	m, ok := modes[key]
	return m, ok
}

// UserEnrollmentSchemaCommit is the apple/device-management commit the
// user-enrollment table was generated from, for reports.
func UserEnrollmentSchemaCommit() string { return ueModesCommit }
