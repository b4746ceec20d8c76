package ddm

// ueMode is how user enrollment treats a declaration or status item on one platform, derived
// from Apple's allowed-enrollments (scripts/gen-ddm-schema.py says how).
type ueMode int

const (
	// ueNone: the platform lacks the item.
	ueNone ueMode = iota
	// ueUnrestricted: Apple lists no allowed-enrollments for the platform.
	ueUnrestricted
	ueAllowed
	ueForbidden
)

// osSupport is one platform's support of a declaration type or status item; the zero value means
// the platform does not have it.
type osSupport struct {
	Introduced     string
	Removed        string
	Enrollments    string // Apple's allowed-enrollments, comma-separated; "" when unrestricted
	UserEnrollment ueMode
}

// declType is a declaration type: its kind (activation, configuration, asset, management) and
// its support on iOS, macOS, visionOS.
type declType struct {
	Kind string
	OS   [3]osSupport
}
