package mdmcmd

import (
	"reflect"
	"strings"
	"testing"

	catalogue "github.com/enrollsim/enrollsim/sim/device"
)

func TestAvailable(t *testing.T) {
	tests := []struct {
		rt, family, os string
		ok             bool
		why            string
	}{
		// UserConfigured: iOS 17.0 (user.configured.yaml), iOS only.
		{"UserConfigured", "iPhone", "16.7", false, "introduced in iOS 17.0"},
		{"UserConfigured", "iPad", "16.7", false, "introduced in iOS 17.0"},
		{"UserConfigured", "iPhone", "17.0", true, ""},
		{"UserConfigured", "iPhone", "17", true, ""},
		{"UserConfigured", "iPad", "18.2", true, ""},
		{"UserConfigured", "Mac", "15.2", false, "not on macOS"},
		{"UserConfigured", "RealityDevice", "2.2", false, "not on visionOS"},
		// ContentCachingInformation: macOS 10.15.4 only.
		{"ContentCachingInformation", "iPhone", "18.2", false, "not on iOS"},
		{"ContentCachingInformation", "Mac", "10.15.3", false, "introduced in macOS 10.15.4"},
		{"ContentCachingInformation", "Mac", "10.15.4", true, ""},
		{"ContentCachingInformation", "Mac", "10.16", true, ""},
		// DeclarativeManagement: iOS 15.0, macOS 13.0, visionOS 1.1.
		{"DeclarativeManagement", "iPhone", "14.8", false, "introduced in iOS 15.0"},
		{"DeclarativeManagement", "iPhone", "15.0", true, ""},
		{"DeclarativeManagement", "Mac", "12.7.6", false, "introduced in macOS 13.0"},
		{"DeclarativeManagement", "Mac", "13.6", true, ""},
		// DeviceLock: visionOS 2.0.
		{"DeviceLock", "RealityDevice", "1.2", false, "introduced in visionOS 2.0"},
		{"DeviceLock", "RealityDevice", "2.0", true, ""},
		// Removed in 27.0 (commandLifecycle).
		{"ScheduleOSUpdate", "iPhone", "26.1", true, ""},
		{"ScheduleOSUpdate", "iPhone", "27.0", false, "removed in iOS 27.0"},
		{"ScheduleOSUpdate", "Mac", "27.0.1", false, "removed in macOS 27.0"},
		{"ScheduleOSUpdate", "RealityDevice", "26.1", false, "not on visionOS"},
		{"ScheduleOSUpdate", "iPhone", "8.4", false, "introduced in iOS 9.0"},
		// MDM came to visionOS in 1.1: the schema's commands start there.
		{"DeviceInformation", "RealityDevice", "1.0", false, "introduced in visionOS 1.1"},
		{"DeviceInformation", "RealityDevice", "1.1", true, ""},
		// What the schema does not know is not refused.
		{"UserConfigured", "AppleTV", "17.0", true, ""},
		{"FrobnicateDevice", "iPhone", "18.2", true, ""},
		// An unreadable version meets every minimum (atLeast) and no removal.
		{"UserConfigured", "iPhone", "", true, ""},
		{"ScheduleOSUpdate", "iPhone", "27.x", true, ""},
	}
	for _, tc := range tests {
		ok, why := Available(tc.rt, tc.family, tc.os)
		if ok != tc.ok || why != tc.why {
			t.Errorf("Available(%q, %q, %q) = %v, %q, want %v, %q", tc.rt, tc.family, tc.os, ok, why, tc.ok, tc.why)
		}
	}
}

// TestNotYetIntroducedAnswersAsRemoved: a command introduced on the
// device's platform after its OS version is answered exactly as a removed
// one, before the user-enrollment rule and the locked rule.
func TestNotYetIntroducedAnswersAsRemoved(t *testing.T) {
	cmd := func(rt string) Command {
		return Command{UUID: "i1", RequestType: rt, Body: map[string]any{"RequestType": rt}}
	}
	iphone167 := Device{Family: "iPhone", Product: "iPhone14,5", OSVersion: "16.7", BuildVersion: "20H19", DeviceName: "Ana’s iPhone"}
	iphone170 := Device{Family: "iPhone", Product: "iPhone15,2", OSVersion: "17.0", BuildVersion: "21A329", DeviceName: "Ana’s iPhone"}
	vision12 := Device{Family: "RealityDevice", Product: "RealityDevice14,1", OSVersion: "1.2", BuildVersion: "21O589", DeviceName: "Ana’s Apple Vision Pro"}
	mac := devices[2]
	type want int
	const (
		removed want = iota
		forbidden
		notSimulated
	)
	tests := []struct {
		name   string
		rt     string
		d      Device
		ue     bool
		locked bool
		want   want
	}{
		{"UserConfigured iOS 16.7", "UserConfigured", iphone167, false, false, removed},
		{"UserConfigured iOS 16.7 user enrollment (forbidden there)", "UserConfigured", iphone167, true, false, removed},
		{"UserConfigured iOS 16.7 locked", "UserConfigured", iphone167, false, true, removed},
		{"UserConfigured iOS 17.0", "UserConfigured", iphone170, false, false, notSimulated},
		{"UserConfigured iOS 17.0 user enrollment", "UserConfigured", iphone170, true, false, forbidden},
		{"UserConfigured macOS: never had it", "UserConfigured", mac, false, false, notSimulated},
		{"DeviceConfigured visionOS 1.2 user enrollment", "DeviceConfigured", vision12, true, false, removed},
		{"DeviceLock visionOS 1.2", "DeviceLock", vision12, false, false, removed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := cmd(tc.rt)
			s := NewState()
			s.Locked = tc.locked
			got := s.Answer(c, device(t, tc.d, tc.ue))
			var w map[string]any
			switch tc.want {
			case removed:
				w = withType(c, removedCommand(tc.rt))
			case forbidden:
				w = withType(c, forbiddenInUE(tc.rt))
			case notSimulated:
				w = withType(c, notSupported(tc.rt))
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("answer = %v, want %v", got, w)
			}
			if tc.want == removed {
				msg := got["ErrorChain"].([]any)[0].(map[string]any)["USEnglishDescription"].(string)
				if want := "\"" + tc.rt + "\" is not a valid request type for the target OS/device"; msg != want {
					t.Errorf("USEnglishDescription = %q, want %q", msg, want)
				}
			}
			if !tc.locked && !reflect.DeepEqual(Answer(c, device(t, tc.d, tc.ue)), got) {
				t.Error("Answer and a fresh State's Answer differ")
			}
		})
	}
}

// firstCommands are the commands the engine sends first.
var firstCommands = []string{"DeviceInformation", "ProfileList", "InstalledApplicationList", "SecurityInfo", "CertificateList"}

// TestFirstCommandsOnEveryCatalogueDevice: no catalogue device that can
// enroll lacks one of the engine's first commands. The one device Apple's
// schema leaves without them, visionOS 1.0 (MDM came in 1.1), cannot
// enroll at all (sim/device capabilities), so it never receives them.
func TestFirstCommandsOnEveryCatalogueDevice(t *testing.T) {
	for _, d := range catalogue.Catalogue() {
		enrolls := d.Has(catalogue.CapUserEnrollment) || d.Has(catalogue.CapDeviceEnrollment)
		for _, rt := range firstCommands {
			ok, why := Available(rt, string(d.Family), d.OS.String())
			switch {
			case ok:
			case enrolls:
				t.Errorf("%s (%s %s): %s not available (%s), and the device can enroll", d.Name, d.Family, d.OS, rt, why)
			case !strings.HasPrefix(why, "introduced in "):
				t.Errorf("%s (%s %s): %s not available (%s)", d.Name, d.Family, d.OS, rt, why)
			default:
				t.Logf("%s (%s %s), which cannot enroll: %s %s", d.Name, d.Family, d.OS, rt, why)
			}
		}
	}
}
