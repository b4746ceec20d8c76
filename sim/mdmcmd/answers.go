package mdmcmd

import (
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"strings"
)

// profileList answers ProfileList (profile.list.yaml): the enrollment-time
// profiles (Device.ProfileIdentifiers) that s has not removed or replaced,
// then the profiles InstallProfile installed. Every profile the simulator
// installed came by MDM, so ManagedOnly and a user enrollment (which lists
// managed profiles only) give the same list.
func profileList(c Command, d Device, p platform, s *State) map[string]any {
	if v, ok := c.Body["ManagedOnly"]; ok {
		if _, isBool := v.(bool); !isBool {
			return formatError(c.RequestType, fmt.Sprintf("ManagedOnly is %s, not a boolean", typeName(v)))
		}
	}
	items := []any{}
	for _, id := range d.ProfileIdentifiers {
		if !s.listed(id) {
			continue
		}
		item := map[string]any{
			"PayloadIdentifier":        id,
			"PayloadUUID":              uuidFrom("profile\x00" + id),
			"PayloadVersion":           1,
			"PayloadDisplayName":       id,
			"PayloadRemovalDisallowed": false,
			"HasRemovalPasscode":       false,
			"IsEncrypted":              false,
		}
		if p != platformMacOS { // IsManaged: introduced n/a on macOS
			item["IsManaged"] = true
		}
		items = append(items, item)
	}
	if s != nil {
		for _, ip := range s.profiles {
			items = append(items, profileItem(ip, p, d.OSVersion))
		}
	}
	return map[string]any{"Status": "Acknowledged", "ProfileList": items}
}

// app is one installed app of the simulated device.
type app struct {
	id, name, version, short string
	size                     int64
}

// Apps a freshly set-up device plausibly lists. iOS and visionOS list only
// apps from the App Store (Apple: "installed 3rd party applications",
// application.installed.list.yaml), so Apple's own App Store apps stand in;
// macOS lists what is in /Applications, Safari included.
var (
	iosApps = []app{
		{"com.apple.Keynote", "Keynote", "7130.0.76", "14.3", 512_000_000},
		{"com.apple.Numbers", "Numbers", "7130.0.76", "14.3", 471_000_000},
		{"com.apple.Pages", "Pages", "7130.0.76", "14.3", 498_000_000},
	}
	visionApps = []app{
		{"com.apple.Keynote", "Keynote", "7130.0.76", "14.3", 512_000_000},
	}
	macApps = []app{
		{"com.apple.Safari", "Safari", "20620.1.16.11.8", "18.2", 14_500_000},
		{"com.apple.iWork.Keynote", "Keynote", "7130.0.76", "14.3", 668_000_000},
		{"com.apple.iWork.Numbers", "Numbers", "7130.0.76", "14.3", 590_000_000},
		{"com.apple.iWork.Pages", "Pages", "7130.0.76", "14.3", 618_000_000},
	}
)

// installedApplicationList answers InstalledApplicationList. A user
// enrollment lists managed apps only, and the simulator has installed none:
// an empty list (on macOS a user enrollment refuses the command outright,
// handled in Answer). ManagedAppsOnly gives the same empty list; Identifiers
// narrows the list; Items (iOS 14 and later) narrows each entry's keys, with
// Identifier always kept.
func installedApplicationList(c Command, d Device, p platform) map[string]any {
	managedOnly := false
	if v, ok := c.Body["ManagedAppsOnly"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return formatError(c.RequestType, fmt.Sprintf("ManagedAppsOnly is %s, not a boolean", typeName(v)))
		}
		managedOnly = b
	}
	only, err := stringSet(c, "Identifiers")
	if err != nil {
		return formatError(c.RequestType, err.Error())
	}
	keys, err := stringSet(c, "Items")
	if err != nil {
		return formatError(c.RequestType, err.Error())
	}
	var apps []app
	switch {
	case d.UserEnrollment || managedOnly:
	case p == platformMacOS:
		apps = macApps
	case p == platformVisionOS:
		apps = visionApps
	case p == platformIOS:
		apps = iosApps
	}
	list := []any{}
	for _, a := range apps {
		if only != nil && !only[a.id] {
			continue
		}
		list = append(list, appItem(a, p, d.OSVersion, keys))
	}
	return map[string]any{"Status": "Acknowledged", "InstalledApplicationList": list}
}

func appItem(a app, p platform, osVersion string, keys map[string]bool) map[string]any {
	item := map[string]any{
		"Identifier":   a.id,
		"Name":         a.name,
		"Version":      a.version,
		"ShortVersion": a.short,
		"Installing":   false,
	}
	if p == platformMacOS {
		item["BundleSize"] = a.size // HasUpdateAvailable: VPP apps only on macOS
	} else {
		item["DynamicSize"] = a.size / 50
		item["IsValidated"] = true
		item["AppStoreVendable"] = true
		item["DeviceBasedVPP"] = false
		item["BetaApp"] = false
		item["AdHocCodeSigned"] = false
		item["HasUpdateAvailable"] = false
		if atLeast(osVersion, "16.0") || p == platformVisionOS {
			item["IsAppClip"] = false
		}
		// Source is left out: Apple documents only its value for apps that
		// Declarative Device Management manages, and none are.
	}
	if keys != nil && p != platformMacOS { // Items: introduced n/a on macOS
		for k := range item {
			if k != "Identifier" && !keys[k] {
				delete(item, k)
			}
		}
	}
	return item
}

// stringSet reads an optional array of strings; nil when absent.
func stringSet(c Command, key string) (map[string]bool, error) {
	v, ok := c.Body[key]
	if !ok {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s is %s, not an array", key, typeName(v))
	}
	set := map[string]bool{}
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s holds %s, not only strings", key, typeName(x))
		}
		set[s] = true
	}
	return set, nil
}

// securityInfo answers SecurityInfo (information.security.yaml) with the
// keys of the device's platform and OS version; a user enrollment drops the
// keys Apple marks userenrollment forbidden there.
func securityInfo(d Device, p platform) map[string]any {
	var all map[string]any
	switch p {
	case platformMacOS:
		firewall := map[string]any{"FirewallEnabled": false, "BlockAllIncoming": false, "StealthMode": false}
		if !d.UserEnrollment { // FirewallSettings.Applications: userenrollment forbidden on macOS
			firewall["Applications"] = []any{}
		}
		if atLeast(d.OSVersion, "12.0") {
			firewall["LoggingEnabled"] = false
			firewall["LoggingOption"] = "throttled"
		}
		all = map[string]any{
			"FDE_Enabled":                      true,
			"FDE_HasPersonalRecoveryKey":       true,
			"FDE_HasInstitutionalRecoveryKey":  false,
			"SystemIntegrityProtectionEnabled": true,
			"FirewallSettings":                 firewall,
			"FirmwarePasswordStatus":           map[string]any{"PasswordExists": false, "ChangePending": false, "AllowOroms": true},
			"ManagementStatus": map[string]any{
				"EnrolledViaDEP":             false,
				"UserApprovedEnrollment":     true,
				"IsUserEnrollment":           d.UserEnrollment,
				"IsActivationLockManageable": false,
			},
			"SecureBoot":                                       map[string]any{"SecureBootLevel": "full", "ExternalBootLevel": "not supported"},
			"RemoteDesktopEnabled":                             false,
			"AuthenticatedRootVolumeEnabled":                   true,
			"BootstrapTokenAllowedForAuthentication":           "not supported",
			"BootstrapTokenRequiredForSoftwareUpdate":          false,
			"BootstrapTokenRequiredForKernelExtensionApproval": false,
			"IsRecoveryLockEnabled":                            false,
		}
	case platformIOS, platformVisionOS:
		// PasscodeLockGracePeriod, PasscodeLockGracePeriodEnforced and
		// AutoLockTime exist on Shared iPad only (Apple's text), which the
		// simulator never is.
		all = map[string]any{
			"HardwareEncryptionCaps":        3, // block- and file-level: data protection with a passcode
			"PasscodePresent":               true,
			"PasscodeCompliant":             true,
			"PasscodeCompliantWithProfiles": true,
			"ManagementStatus":              map[string]any{"IsUserEnrollment": d.UserEnrollment},
		}
	default:
		return notSupported("SecurityInfo")
	}
	out := map[string]any{}
	for k, v := range all {
		s, ok := securityInfoKeys[k]
		if !ok || !s.has(p, d.OSVersion) || d.UserEnrollment && s[p].UEForbidden {
			continue
		}
		out[k] = v
	}
	return map[string]any{"Status": "Acknowledged", "SecurityInfo": out}
}

// certificateList answers CertificateList (certificate.list.yaml) with the
// identity certificate, then the certificates of the profiles InstallProfile
// installed. A user enrollment lists the certificates MDM installed only;
// these are all of them.
func certificateList(d Device, s *State) map[string]any {
	list := []any{}
	if len(d.IdentityDER) > 0 {
		item := map[string]any{"Data": d.IdentityDER, "IsIdentity": true}
		if cert, err := x509.ParseCertificate(d.IdentityDER); err == nil && cert.Subject.CommonName != "" {
			item["CommonName"] = cert.Subject.CommonName
		} else {
			item["CommonName"] = "MDM identity"
		}
		list = append(list, item)
	}
	list = append(list, s.installedCertificates()...)
	return map[string]any{"Status": "Acknowledged", "CertificateList": list}
}

// uuidFrom is a name-based UUID (version 5 layout, SHA-256 truncated) so
// answers stay the same on every run.
func uuidFrom(name string) string {
	h := sha256.Sum256([]byte(name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := fmt.Sprintf("%X", h[:16])
	return strings.Join([]string{x[0:8], x[8:12], x[12:16], x[16:20], x[20:32]}, "-")
}
