package mdmcmd

import "sort"

// State is what the server's commands changed on one simulated device: the
// profiles InstallProfile installed (and their certificates), the enrollment
// profiles RemoveProfile removed, the apps InstallApplication tried to
// install, and the payloads a user enrollment refused. Locked is a scenario
// option, not something a command changes.
//
// A State belongs to one device and is not safe for concurrent use: the
// caller answers one device's commands one at a time, from one goroutine,
// as the device itself does. Give every simulated device its own State.
type State struct {
	// Locked plays a passcode-protected device that is locked, its Data
	// Protection keys unavailable (Apple documents the same for the time
	// before the first unlock after boot): the commands notNowWhileLocked
	// names are answered NotNow until Unlock. Apple's "Handling NotNow status
	// responses": the device does not cache the command; the server sends it
	// again, and a device that can run it then answers it as usual.
	Locked bool

	profiles  []InstalledProfile // installed by InstallProfile, in install order
	removed   map[string]bool    // Device.ProfileIdentifiers that RemoveProfile removed
	apps      map[string]*managedApp
	forbidden []ForbiddenPayload
}

// InstalledProfile is a profile InstallProfile installed.
type InstalledProfile struct {
	Identifier, UUID, DisplayName string
	Organization, Description     string
	// RemovalDisallowed is the profile's PayloadRemovalDisallowed: the user
	// may not remove it (MDM still may).
	RemovalDisallowed bool
	// HasRemovalPasscode: the profile holds a com.apple.profileRemovalPassword payload.
	HasRemovalPasscode bool
	Payloads           []InstalledPayload
	Certificates       []InstalledCertificate
	// SignerCertificates are the DER certificates of a signed profile's CMS message.
	SignerCertificates [][]byte
	// CommandUUID is the InstallProfile that installed it.
	CommandUUID string
}

// InstalledPayload is one payload of an installed profile.
type InstalledPayload struct {
	Type, Identifier, UUID, DisplayName string
	Version                             int64
}

// InstalledCertificate is a certificate a profile's certificate payload
// installed (com.apple.security.pkcs1, .root, .pem, .pkcs12).
type InstalledCertificate struct {
	CommonName string
	// Data is the DER certificate; empty when the simulator could not read
	// one (always for PKCS #12: see certificateOf).
	Data       []byte
	IsIdentity bool
	// PayloadIdentifier is the payload that installed it.
	PayloadIdentifier string
}

// ForbiddenPayload is a payload an InstallProfile sent to a user enrollment
// although Apple's schema forbids it there (mdm/profiles, payload-level
// supportedOS.<platform>.userenrollment.mode forbidden). The device refused
// the whole profile.
type ForbiddenPayload struct {
	CommandUUID, PayloadType, PayloadIdentifier string
	// Platform is "iOS", "macOS" or "visionOS".
	Platform string
}

// NewState is a freshly enrolled device: nothing installed by command, unlocked.
func NewState() *State { return &State{} }

// Unlock ends Locked: the commands answered NotNow are answered as usual
// when the server sends them again.
func (s *State) Unlock() { s.Locked = false }

// Profiles are the profiles InstallProfile installed and RemoveProfile has
// not removed, in install order (a profile that replaced another keeps the
// replaced one's place).
func (s *State) Profiles() []InstalledProfile {
	return append([]InstalledProfile(nil), s.profiles...)
}

// ForbiddenPayloads are the payloads user enrollment forbids that
// InstallProfile commands carried, in the order the commands came.
func (s *State) ForbiddenPayloads() []ForbiddenPayload {
	return append([]ForbiddenPayload(nil), s.forbidden...)
}

// Answer is the device's result for c given what earlier commands changed
// (see the package function Answer for the rules every answer follows). It
// records what c changes.
func (s *State) Answer(c Command, d Device) map[string]any {
	p := platformOf(d.Family)
	if commandRemoved(c.RequestType, p, d.OSVersion) || commandNotYetIntroduced(c.RequestType, p, d.OSVersion) {
		return withType(c, removedCommand(c.RequestType))
	}
	if d.UserEnrollment && p != platformUnknown && commandModes[c.RequestType][p] == modeForbidden {
		return withType(c, forbiddenInUE(c.RequestType))
	}
	if s.Locked && notNowWhileLocked(c.RequestType, p, d.OSVersion) {
		return withType(c, map[string]any{"Status": "NotNow"})
	}
	var a map[string]any
	switch c.RequestType {
	case "DeviceInformation":
		a = deviceInformation(c, d, p)
	case "ProfileList":
		a = profileList(c, d, p, s)
	case "InstalledApplicationList":
		a = installedApplicationList(c, d, p)
	case "SecurityInfo":
		a = securityInfo(d, p)
	case "CertificateList":
		a = certificateList(d, s)
	case "DeclarativeManagement":
		// The device acknowledges, then syncs through its check-in
		// endpoint (mdm/commands/declarativemanagement.yaml); the
		// engine plays the sync.
		a = map[string]any{"Status": "Acknowledged"}
	case "InstallProfile":
		a = s.installProfile(c, d, p)
	case "RemoveProfile":
		a = s.removeProfile(c, d)
	case "InstallApplication":
		a = s.installApplication(c, p)
	case "ManagedApplicationList":
		a = s.managedApplicationList(c, p)
	default:
		a = notSupported(c.RequestType)
	}
	return withType(c, a)
}

// notNowWhileLocked names the commands a locked device answers NotNow, on
// iOS and iPadOS, and on visionOS, which the simulator lets follow iOS (Apple
// documents NotNow for iOS only; a Mac answers as usual):
//   - CertificateList: Apple, certificate.list.yaml: "Starting with iOS 15.4,
//     the CertificateList command will return a Not Now response prior to the
//     first time a passcode-protected device is unlocked after boot"; before
//     15.4 the device answered, so an older iOS does too.
//   - InstallProfile, InstallProvisioningProfile, SecurityInfo: observed NotNow
//     "while the iOS device is locked" (a developer's report on Apple
//     Developer Forums, thread 747460); Apple's documentation names no list.
//
// The same thread reports NotNow for InstallApplication and
// ManagedMediaList under conditions it could not name; they are left out.
func notNowWhileLocked(requestType string, p platform, osVersion string) bool {
	if p != platformIOS && p != platformVisionOS {
		return false
	}
	switch requestType {
	case "CertificateList":
		return p != platformIOS || atLeast(osVersion, "15.4")
	case "InstallProfile", "InstallProvisioningProfile", "SecurityInfo":
		return true
	}
	return false
}

// NotNowWhileLocked reports whether a locked device of the family answers
// the command NotNow (see State.Locked).
func NotNowWhileLocked(requestType, family, osVersion string) bool {
	return notNowWhileLocked(requestType, platformOf(family), osVersion)
}

func platformName(p platform) string {
	return [...]string{"iOS", "macOS", "visionOS", ""}[p]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
