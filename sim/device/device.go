package device

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/enrollsim/enrollsim/sim/ats"
)

// Family is the device's model family as sent in the well-known query's
// `model-family` parameter.
type Family string

// The model families that do account-driven enrollment (spec §2.0).
const (
	IPhone        Family = "iPhone"
	IPad          Family = "iPad"
	Mac           Family = "Mac"
	RealityDevice Family = "RealityDevice"
)

// Platform names the OS a family runs, as Apple's version matrix does.
func (f Family) Platform() string {
	switch f {
	case IPhone:
		return "iOS"
	case IPad:
		return "iPadOS"
	case Mac:
		return "macOS"
	case RealityDevice:
		return "visionOS"
	}
	return string(f)
}

// Short is the lower-case name used in device references (iphone@18.2).
func (f Family) Short() string {
	switch f {
	case RealityDevice:
		return "vision"
	}
	return strings.ToLower(string(f))
}

// Version is an OS version such as 18.2 or 15.2.1. Its JSON keys are
// snake_case like every other key in the reports (saved streams with
// "Major" still load: encoding/json matches keys without regard to case).
type Version struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
	Patch int `json:"patch"`
}

// ParseVersion reads "18", "18.2" or "18.2.1".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) == 0 || len(parts) > 3 {
		return Version{}, fmt.Errorf("version %q: want MAJOR[.MINOR[.PATCH]], e.g. 18.2", s)
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 {
			return Version{}, fmt.Errorf("version %q: want MAJOR[.MINOR[.PATCH]], e.g. 18.2", s)
		}
		n[i] = v
	}
	return Version{n[0], n[1], n[2]}, nil
}

func (v Version) String() string {
	if v.Patch != 0 {
		return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// Less orders versions numerically (26.0 comes after 18.2: Apple's 2025
// renumbering keeps the order).
func (v Version) Less(o Version) bool {
	if v.Major != o.Major {
		return v.Major < o.Major
	}
	if v.Minor != o.Minor {
		return v.Minor < o.Minor
	}
	return v.Patch < o.Patch
}

// AtLeast reports v >= o.
func (v Version) AtLeast(o Version) bool { return !v.Less(o) }

// Device is one simulated client: a product on an OS build.
type Device struct {
	Family  Family  `json:"family"`
	Product string  `json:"product"` // e.g. iPhone17,2; sent as PRODUCT in the enrollment body
	Name    string  `json:"name"`    // marketing name, for people
	OS      Version `json:"os"`
	Build   string  `json:"build"` // sent as VERSION in the enrollment body
	// Note says where the build or product comes from when it is not
	// Apple's own published data (a third-party report, a beta); "" when
	// it is.
	Note string `json:"note,omitempty"`
}

// Ref is the short reference a user types: iphone@18.2.
func (d Device) Ref() string { return d.Family.Short() + "@" + d.OS.String() }

func (d Device) String() string {
	return fmt.Sprintf("%s (%s, %s %s %s)", d.Name, d.Product, d.Family.Platform(), d.OS, d.Build)
}

// UserAgent of discovery, enrollment and token requests (spec §2.0).
func (d Device) UserAgent() string { return "DeviceManagementClient/1.0" }

// WebUserAgent is the Safari-like agent of the web view used for sign-in.
func (d Device) WebUserAgent() string {
	u := strings.ReplaceAll(d.OS.String(), ".", "_")
	switch d.Family {
	case IPhone:
		return "Mozilla/5.0 (iPhone; CPU iPhone OS " + u + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + d.OS.String() + " Mobile/15E148 Safari/604.1"
	case IPad:
		return "Mozilla/5.0 (iPad; CPU OS " + u + " like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + d.OS.String() + " Mobile/15E148 Safari/604.1"
	case RealityDevice:
		return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + d.OS.String() + " Safari/605.1.15"
	}
	// Safari on macOS freezes the OS part of its agent at 10_15_7.
	return "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/" + d.OS.String() + " Safari/605.1.15"
}

// WebLanguage is the device's language as the web view announces it. The
// catalogue has no language per device yet: every device is set up in
// US English, as the form driver's Accept-Language says.
func (d Device) WebLanguage() string { return "en-US" }

// Capability is something a device can or cannot do, by OS version.
type Capability string

// Capabilities from the spec's version matrix (§3).
const (
	CapUserEnrollment   Capability = "user-enrollment"       // ADUE, mdm-byod
	CapDeviceEnrollment Capability = "device-enrollment"     // ADDE, mdm-adde
	CapAxMFallback      Capability = "axm-fallback"          // simplified discovery through AxM
	CapAsWeb            Capability = "apple-as-web"          // simple web authentication
	CapOAuth2           Capability = "apple-oauth2"          // OAuth 2 authentication incl. refresh
	CapWellKnownFailed  Capability = "wellknown-failed-body" // understands the 403 com.apple.well-known.failed body
	CapESSO             Capability = "enrollment-sso"        // X-Apple-MDM-ESSO
)

type capRule struct {
	cap   Capability
	what  string // human phrase for refusals
	since map[Family]string
}

// capRules is section 3 of the spec as data. A family missing from since
// never has the capability.
var capRules = []capRule{
	{CapUserEnrollment, "account-driven user enrollment", map[Family]string{IPhone: "15.0", IPad: "15.0", Mac: "14.0", RealityDevice: "1.1"}},
	{CapDeviceEnrollment, "account-driven device enrollment", map[Family]string{IPhone: "17.0", IPad: "17.0", Mac: "14.0", RealityDevice: "1.1"}},
	{CapAxMFallback, "the Apple Business Manager discovery fallback", map[Family]string{IPhone: "18.2", IPad: "18.2", Mac: "15.2", RealityDevice: "2.2"}},
	{CapAsWeb, "the apple-as-web sign-in", map[Family]string{IPhone: "15.0", IPad: "15.0", Mac: "14.0", RealityDevice: "1.1"}},
	{CapOAuth2, "the apple-oauth2 sign-in", map[Family]string{IPhone: "16.0", IPad: "16.0", Mac: "14.0", RealityDevice: "1.1"}},
	{CapWellKnownFailed, "the com.apple.well-known.failed rejection body", map[Family]string{IPhone: "17.5", IPad: "17.5", Mac: "14.5", RealityDevice: "1.2"}},
	{CapESSO, "enrollment single sign-on", map[Family]string{IPhone: "16.0", IPad: "16.0", RealityDevice: "2.0"}},
}

// AllCapabilities lists the capabilities in matrix order.
func AllCapabilities() []Capability {
	out := make([]Capability, len(capRules))
	for i, r := range capRules {
		out[i] = r.cap
	}
	return out
}

// Can reports whether the device has a capability and, when it has not,
// the reason a real device would give ("account-driven device enrollment
// needs iOS 17.0 or later").
func (d Device) Can(c Capability) (bool, string) {
	for _, r := range capRules {
		if r.cap != c {
			continue
		}
		since, ok := r.since[d.Family]
		if !ok {
			return false, fmt.Sprintf("%s is not available on %s", r.what, d.Family.Platform())
		}
		min, _ := ParseVersion(since)
		if d.OS.AtLeast(min) {
			return true, ""
		}
		return false, fmt.Sprintf("%s needs %s %s or later (this device runs %s)", r.what, d.Family.Platform(), min, d.OS)
	}
	return false, fmt.Sprintf("unknown capability %q", c)
}

// TLSPolicy is the set of TLS rules the device applies (package sim/ats).
// The 27 releases of all four platforms add Apple's stricter rules
// (support.apple.com/126655); Apple says they "might refuse" from then on,
// and the simulated 27 device does refuse, which is what a vendor needs to
// prepare for.
func (d Device) TLSPolicy() ats.Policy {
	if d.OS.Major >= 27 {
		return ats.Strict27
	}
	return ats.Classic
}

// Has is Can without the reason.
func (d Device) Has(c Capability) bool { ok, _ := d.Can(c); return ok }

// catalogue holds realistic products and builds at and around every
// threshold of the version matrix. Builds are Apple's public build numbers,
// except where a device's Note says otherwise.
//
// The 27.0 devices (the 27 releases, September 2026) are products sold
// before the release that run it, one a family; their identifiers agree
// across SOFA's and other public device lists. Apple publishes no 27.0
// build in what the project could read: the iOS/iPadOS and macOS builds
// are third-party reports, the visionOS one is the last beta (beta 6,
// 2026-08-17, Apple's developer releases as collected by SOFA). 27.0 adds
// no capability of the version matrix: a 27 device has all of 26.1's.
var catalogue = []Device{
	{IPhone, "iPhone12,1", "iPhone 11", Version{14, 8, 0}, "18H17", ""},
	{IPhone, "iPhone13,2", "iPhone 12", Version{15, 0, 0}, "19A346", ""},
	{IPhone, "iPhone14,2", "iPhone 13 Pro", Version{16, 0, 0}, "20A362", ""},
	{IPhone, "iPhone14,5", "iPhone 13", Version{16, 7, 0}, "20H19", ""},
	{IPhone, "iPhone15,2", "iPhone 14 Pro", Version{17, 0, 0}, "21A329", ""},
	{IPhone, "iPhone15,4", "iPhone 15", Version{17, 4, 0}, "21E219", ""},
	{IPhone, "iPhone15,5", "iPhone 15 Plus", Version{17, 5, 0}, "21F79", ""},
	{IPhone, "iPhone16,1", "iPhone 15 Pro", Version{18, 1, 0}, "22B83", ""},
	{IPhone, "iPhone17,3", "iPhone 16", Version{18, 2, 0}, "22C152", ""},
	{IPhone, "iPhone17,2", "iPhone 16 Pro Max", Version{26, 1, 0}, "23B85", ""},
	{IPhone, "iPhone18,1", "iPhone 17 Pro", Version{27, 0, 0}, "24A437", noteBuild27iOS},
	{IPad, "iPad13,18", "iPad (10th generation)", Version{14, 8, 0}, "18H17", ""},
	{IPad, "iPad13,18", "iPad (10th generation)", Version{15, 0, 0}, "19A346", ""},
	{IPad, "iPad14,1", "iPad mini (6th generation)", Version{16, 0, 0}, "20A362", ""},
	{IPad, "iPad14,1", "iPad mini (6th generation)", Version{16, 7, 0}, "20H19", ""},
	{IPad, "iPad14,3", "iPad Pro 11-inch (4th generation)", Version{17, 0, 0}, "21A329", ""},
	{IPad, "iPad14,8", "iPad Air 11-inch (M2)", Version{17, 5, 0}, "21F79", ""},
	{IPad, "iPad16,3", "iPad Pro 11-inch (M4)", Version{18, 1, 0}, "22B83", ""},
	{IPad, "iPad16,3", "iPad Pro 11-inch (M4)", Version{18, 2, 0}, "22C152", ""},
	{IPad, "iPad16,1", "iPad mini (A17 Pro)", Version{26, 1, 0}, "23B85", ""},
	{IPad, "iPad17,1", "iPad Pro 11-inch (M5)", Version{27, 0, 0}, "24A437", noteBuild27iOS},
	{Mac, "Mac14,2", "MacBook Air (M2, 2022)", Version{13, 6, 0}, "22G120", ""},
	{Mac, "Mac15,3", "MacBook Pro (14-inch, M3, 2023)", Version{14, 0, 0}, "23A344", ""},
	{Mac, "Mac15,3", "MacBook Pro (14-inch, M3, 2023)", Version{14, 4, 0}, "23E214", ""},
	{Mac, "Mac15,12", "MacBook Air (13-inch, M3, 2024)", Version{14, 5, 0}, "23F79", ""},
	{Mac, "Mac16,1", "MacBook Pro (14-inch, M4, 2024)", Version{15, 1, 0}, "24B83", ""},
	{Mac, "Mac16,1", "MacBook Pro (14-inch, M4, 2024)", Version{15, 2, 0}, "24C101", ""},
	{Mac, "Mac16,12", "MacBook Air (13-inch, M4, 2025)", Version{26, 1, 0}, "25B78", ""},
	{Mac, "Mac17,2", "MacBook Pro (14-inch, M5)", Version{27, 0, 0}, "26A425", "build reported by third parties, not by Apple"},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{1, 0, 0}, "21N305", ""},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{1, 1, 0}, "21O211", ""},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{1, 2, 0}, "21O589", ""},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{2, 0, 0}, "22N320", ""},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{2, 1, 0}, "22N580", ""},
	{RealityDevice, "RealityDevice14,1", "Apple Vision Pro", Version{2, 2, 0}, "22N842", ""},
	{RealityDevice, "RealityDevice17,1", "Apple Vision Pro (M5)", Version{26, 1, 0}, "23N49", ""},
	{RealityDevice, "RealityDevice17,1", "Apple Vision Pro (M5)", Version{27, 0, 0}, "24M5355a", "beta 6 build: the release build is not published"},
}

// noteBuild27iOS: third parties report 24A434, 24A435 and 24A437 for iOS
// and iPadOS 27.0; 24A437 is the latest of them.
const noteBuild27iOS = "build reported by third parties (24A434, 24A435 and 24A437 are reported), not by Apple"

// Catalogue returns every catalogue device, ordered by family then version.
func Catalogue() []Device {
	out := append([]Device(nil), catalogue...)
	order := map[Family]int{IPhone: 0, IPad: 1, Mac: 2, RealityDevice: 3}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Family != out[j].Family {
			return order[out[i].Family] < order[out[j].Family]
		}
		return out[i].OS.Less(out[j].OS)
	})
	return out
}

var familyNames = map[string]Family{
	"iphone": IPhone, "ios": IPhone,
	"ipad": IPad, "ipados": IPad,
	"mac": Mac, "macos": Mac,
	"vision": RealityDevice, "visionos": RealityDevice, "visionpro": RealityDevice, "realitydevice": RealityDevice,
}

// LookupDevice resolves a reference such as "iphone@18.2", "mac@15.2.1" or
// "iPhone17,2@26.1". The version is required: a bare family would be played
// as whatever version is newest in this build, so a suite would silently
// test something else after an upgrade. A version the catalogue lacks is
// still accepted: the device takes the product and build of the nearest
// lower catalogue entry, so any OS version can be simulated.
func LookupDevice(ref string) (Device, error) {
	trimmed := strings.TrimSpace(ref)
	name, ver, hasVer := strings.Cut(trimmed, "@")
	if name == "" {
		return Device{}, fmt.Errorf("device %q: no family or product before the '@' (%s)", ref, deviceForms)
	}
	var candidates []Device
	what := name
	if fam, ok := familyNames[strings.ToLower(name)]; ok {
		what = fam.Platform()
		for _, d := range Catalogue() {
			if d.Family == fam {
				candidates = append(candidates, d)
			}
		}
	} else {
		for _, d := range Catalogue() {
			if strings.EqualFold(d.Product, name) {
				candidates = append(candidates, d)
			}
		}
		if len(candidates) == 0 {
			return Device{}, fmt.Errorf("device %q: unknown family or product %q (families: iphone, ipad, mac, vision; products: %s)", ref, name, strings.Join(products(), ", "))
		}
	}
	versions := catalogueVersions(candidates)
	switch {
	case !hasVer:
		return Device{}, fmt.Errorf("device %q: no OS version; say which, e.g. %s@%s (%s; %s)", ref, name, versions[len(versions)-1], catalogueNote(what, versions), deviceForms)
	case strings.TrimSpace(ver) == "":
		return Device{}, fmt.Errorf("device %q: no OS version after the '@' (%s; %s)", ref, catalogueNote(what, versions), deviceForms)
	case strings.Contains(ver, "@"):
		return Device{}, fmt.Errorf("device %q: more than one '@' (%s)", ref, deviceForms)
	}
	v, err := ParseVersion(ver)
	if err != nil {
		return Device{}, fmt.Errorf("device %q: %w (%s)", ref, err, catalogueNote(what, versions))
	}
	var best *Device
	for i := range candidates {
		c := candidates[i]
		if c.OS == v {
			return c, nil
		}
		if !v.Less(c.OS) {
			best = &candidates[i]
		}
	}
	if best == nil {
		best = &candidates[0]
	}
	// The build stays the catalogue entry's: a made-up build number would
	// look real in reports; the OS version is what capabilities follow.
	d := *best
	d.OS = v
	return d, nil
}

const deviceForms = "accepted: FAMILY@VERSION such as iphone@18.2, mac@15.2 or vision@2.2, or PRODUCT@VERSION such as iPhone17,2@26.1"

func catalogueVersions(ds []Device) []string {
	var out []string
	for _, d := range ds {
		if v := d.OS.String(); len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// catalogueNote lists the catalogue versions of what a reference named;
// other versions are simulated from the nearest lower one.
func catalogueNote(what string, versions []string) string {
	return fmt.Sprintf("catalogue versions of %s: %s; any other MAJOR.MINOR[.PATCH] is simulated from the nearest lower one", what, strings.Join(versions, ", "))
}

func products() []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range catalogue {
		if !seen[d.Product] {
			seen[d.Product] = true
			out = append(out, d.Product)
		}
	}
	return out
}
