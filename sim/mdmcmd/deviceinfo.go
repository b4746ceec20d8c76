package mdmcmd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
)

// deviceInformation answers DeviceInformation (information.device.yaml):
// QueryResponses holds the queried keys the device knows, exist on its
// platform and OS version (introduced, not yet removed), and (in a user
// enrollment) that Apple does not mark userenrollment forbidden for it.
// Unknown keys are left out, as a device leaves them out, and so are keys
// removed in the device's version (SoftwareUpdateSettings, OSUpdateSettings
// and SoftwareUpdateDeviceID in 27.0; the carrier keys such as IMEI in iOS
// 26.0): the answer stays Acknowledged. Apple does not document what a
// device answers to a removed or unknown query; leaving the key out is
// the commonly reported behaviour, not verified against a capture.
// Without Queries (Apple marks it required; older devices answer
// everything) the device answers every key it knows.
func deviceInformation(c Command, d Device, p platform) map[string]any {
	raw, present := c.Body["Queries"]
	var asked []string
	if present {
		arr, ok := raw.([]any)
		if !ok {
			return formatError(c.RequestType, fmt.Sprintf("Queries is %s, not an array", typeName(raw)))
		}
		for _, v := range arr {
			if s, ok := v.(string); ok {
				asked = append(asked, s)
			}
		}
	}
	values := deviceValues(d, p)
	if !present {
		for k := range values {
			asked = append(asked, k)
		}
	}
	out := map[string]any{}
	for _, q := range asked {
		v, known := values[q]
		if !known {
			continue
		}
		k, inSchema := deviceInfoKeys[q]
		if !inSchema || !k.has(p, d.OSVersion) {
			continue
		}
		if d.UserEnrollment && k[p].UEForbidden {
			continue
		}
		out[q] = v
	}
	return map[string]any{"Status": "Acknowledged", "QueryResponses": out}
}

// deviceValues is every DeviceInformation value the simulated device
// knows, before the schema's platform, version and user-enrollment filters.
// Keys a device would only know with state the simulator does not have
// (OrganizationInfo and MDMOptions before a Settings command, a backup date,
// the push token, carrier networks, attestation, the board identifier behind
// SoftwareUpdateDeviceID) are absent. The software-update settings are the
// defaults of a device nobody has configured.
func deviceValues(d Device, p platform) map[string]any {
	v := map[string]any{
		"UDID":                       d.UDID,
		"SerialNumber":               d.SerialNumber,
		"DeviceName":                 d.DeviceName,
		"OSVersion":                  d.OSVersion,
		"BuildVersion":               d.BuildVersion,
		"SupplementalBuildVersion":   d.BuildVersion, // no Rapid Security Response installed
		"ProductName":                d.Product,
		"ModelName":                  modelName(d),
		"Model":                      partNumber(d),
		"ModelNumber":                partNumber(d),
		"DeviceCapacity":             capacity(d),
		"AvailableDeviceCapacity":    math.Round(capacity(d)*62) / 100,
		"BatteryLevel":               0.86,
		"IsSupervised":               false,
		"AwaitingConfiguration":      false,
		"iTunesStoreAccountIsActive": false,
		"WiFiMAC":                    mac(d, "wifi"),
		"BluetoothMAC":               mac(d, "bluetooth"),
	}
	if d.SerialNumber == "" {
		delete(v, "SerialNumber") // user enrollment: the device gives the simulator none
	}
	if d.UDID == "" {
		delete(v, "UDID")
	}
	switch p {
	case platformIOS, platformVisionOS:
		v["EASDeviceIdentifier"] = strings.ToUpper(hexID(d, "eas", 16))
		v["IsDeviceLocatorServiceEnabled"] = true
		v["IsDoNotDisturbInEffect"] = false
		v["IsCloudBackupEnabled"] = true
		v["DiagnosticSubmissionEnabled"] = false
		v["AppAnalyticsEnabled"] = false
		v["TimeZone"] = "America/Los_Angeles"
	}
	if p == platformIOS {
		v["IsMultiUser"] = false
		v["IsActivationLockEnabled"] = true
		v["IsMDMLostModeEnabled"] = false
		v["IsNetworkTethered"] = false
		v["CellularTechnology"] = 0
		// RecommendationCadence 0: all updates, Apple's default value.
		v["SoftwareUpdateSettings"] = map[string]any{"RecommendationCadence": 0}
	}
	if d.Family == "iPhone" {
		v["CellularTechnology"] = 3 // GSM and CDMA (Apple's range: 0 none, 1 GSM, 2 CDMA, 3 both)
		v["IMEI"] = imei(d)
		v["MEID"] = imei(d)[:14] // a phone with both reports the IMEI's first 14 digits
		v["ModemFirmwareVersion"] = "1.50.04"
		v["ICCID"] = iccid(d)
		v["IsRoaming"] = false
		v["DataRoamingEnabled"] = false
		v["VoiceRoamingEnabled"] = true
		v["PersonalHotspotEnabled"] = false
	}
	if p == platformMacOS {
		host := hostName(d.DeviceName)
		v["HostName"] = host + ".local"
		v["LocalHostName"] = host
		v["EthernetMAC"] = mac(d, "ethernet")
		v["Model"] = d.Product     // macOS reports the model identifier here
		v["IsAppleSilicon"] = true // every Mac in the catalogue is
		v["ProvisioningUDID"] = provisioningUDID(d)
		v["HasBattery"] = strings.HasPrefix(modelName(d), "MacBook")
		v["SystemIntegrityProtectionEnabled"] = true
		v["IsActivationLockSupported"] = true
		v["IsActivationLockEnabled"] = false
		v["SupportsLOMDevice"] = false
		v["SupportsiOSAppInstalls"] = true
		v["PINRequiredForEraseDevice"] = false
		v["PINRequiredForDeviceLock"] = false
		// Apple's default catalog and plausible Software Update switches of
		// a Mac nobody has configured (check, download, install security
		// responses and app updates; macOS updates left to the user), not
		// checked against a capture. No CatalogURL (optional) and no
		// PreviousScanDate: the simulator has run no scan.
		v["OSUpdateSettings"] = map[string]any{
			"IsDefaultCatalog":                true,
			"PerformPeriodicCheck":            true,
			"AutoCheckEnabled":                true,
			"BackgroundDownloadEnabled":       true,
			"AutomaticAppInstallationEnabled": true,
			"AutomaticOSInstallationEnabled":  false,
			"AutomaticSecurityUpdatesEnabled": true,
		}
	}
	return v
}

// modelName is Apple's ModelName ("iPhone", "iPad", "MacBook Pro",
// "Apple Vision Pro"), read from the product where the product says it.
func modelName(d Device) string {
	switch d.Family {
	case "iPhone":
		return "iPhone"
	case "iPad":
		return "iPad"
	case "RealityDevice":
		return "Apple Vision Pro"
	case "Mac":
		// Product identifiers of Apple silicon Macs (Mac14,2) no longer say
		// the model; the catalogue's Macs are all laptops.
		return "MacBook Pro"
	}
	return d.Family
}

// partNumber is a plausible Apple part number (Model, ModelNumber), e.g.
// MXK93LL/A: four characters from the device, region LL/A.
func partNumber(d Device) string {
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	h := digest(d, "part")
	b := []byte{'M'}
	for _, x := range h[:3] {
		b = append(b, alnum[int(x)%len(alnum)])
	}
	b = append(b, '0'+h[3]%10)
	return string(b) + "LL/A"
}

// capacity in GB, as devices report it (a real number).
func capacity(d Device) float64 {
	switch d.Family {
	case "Mac":
		return 494.38
	case "RealityDevice":
		return 238.35
	}
	return 119.07
}

func hostName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '_':
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "Mac"
	}
	return b.String()
}

// digest is the seed of every derived value: the device's own fields, so a
// device answers the same on every run.
func digest(d Device, label string) []byte {
	h := sha256.Sum256([]byte(label + "\x00" + d.Family + "\x00" + d.Product + "\x00" + d.UDID + "\x00" + d.SerialNumber + "\x00" + d.DeviceName))
	return h[:]
}

func hexID(d Device, label string, n int) string { return hex.EncodeToString(digest(d, label)[:n]) }

func mac(d Device, label string) string {
	h := digest(d, "mac-"+label)
	parts := make([]string, 6)
	for i := range parts {
		b := h[i]
		if i == 0 {
			b &^= 0x03 // a unicast, globally administered address, as hardware has
		}
		parts[i] = fmt.Sprintf("%02x", b)
	}
	return strings.Join(parts, ":")
}

// imei is fifteen digits with a valid Luhn check digit, under the test TAC
// range 00 (reserved, never a real handset).
func imei(d Device) string {
	h := digest(d, "imei")
	digits := []byte("00")
	for i := 0; len(digits) < 14; i++ {
		digits = append(digits, '0'+h[i]%10)
	}
	return string(digits) + string('0'+luhn(digits))
}

func luhn(digits []byte) byte {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		n := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return byte((10 - sum%10) % 10)
}

// iccid is nineteen digits starting 89 (telecom) 01 (US), Luhn-checked.
func iccid(d Device) string {
	h := digest(d, "iccid")
	digits := []byte("8901")
	for i := 0; len(digits) < 18; i++ {
		digits = append(digits, '0'+h[i]%10)
	}
	return string(digits) + string('0'+luhn(digits))
}

// provisioningUDID has the Apple silicon form 0000XXXX-XXXXXXXXXXXXXXXX,
// which Apple says differs from the UDID there (information.device.yaml).
func provisioningUDID(d Device) string {
	return "00008" + strings.ToUpper(hexID(d, "provisioning", 2)[:3]) + "-" + strings.ToUpper(hexID(d, "provisioning-ecid", 8))
}
