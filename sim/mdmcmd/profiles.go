package mdmcmd

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// Errors of InstallProfile and RemoveProfile. Apple documents that a device
// refuses what the errors below describe, never the ErrorDomain and
// ErrorCode it sends (its MDM protocol reference calls them internal codes
// hosts must not rely on); see each constant for where its value comes from.
const (
	// ProfileErrorDomain is the device's domain of profile reading errors.
	ProfileErrorDomain = "MCProfileErrorDomain"
	// CodeMalformedProfile is the code of a Payload the device cannot read as
	// a profile. Not Apple-documented: 1000 is the code public third-party
	// material (device-side code indexed on GitHub, MDM vendors' error
	// tables) shows for a malformed profile; unverified against a capture.
	CodeMalformedProfile = 1000
	// CodeProfileNotInstalled (SimulatorErrorDomain) answers a RemoveProfile
	// of an identifier no installed profile has. Devices refuse it ("profile
	// not installed", micromdm/micromdm issue 569); the code is the
	// simulator's own.
	CodeProfileNotInstalled = 3
	// CodeRemoveEnrollmentProfile (SimulatorErrorDomain) answers a
	// RemoveProfile of the enrollment profile, the one holding the MDM
	// payload. Apple documents no answer; devices are reported to acknowledge
	// it and leave management (micromdm's wiki, "Terminating a Management
	// Relationship"), which the simulator cannot play within a run, so it
	// refuses with its own code: the report then shows the server tried.
	CodeRemoveEnrollmentProfile = 4
	// CodeForbiddenPayload (SimulatorErrorDomain) answers an InstallProfile
	// to a user enrollment of a profile holding payloads Apple's schema
	// forbids there. Apple documents that the device refuses such a profile,
	// not the error; the code is the simulator's own.
	CodeForbiddenPayload = 5
)

// certificatePayloads are the payload types whose certificate CertificateList lists.
var certificatePayloads = map[string]bool{
	"com.apple.security.pkcs1":  true,
	"com.apple.security.root":   true,
	"com.apple.security.pem":    true,
	"com.apple.security.pkcs12": true,
}

// readProfile reads an InstallProfile Payload: a plain (XML or binary) or
// CMS-signed profile, within the profile reader's default limits.
func readProfile(data []byte) (*profile.Profile, error) {
	ctx, cancel := context.WithTimeout(context.Background(), parseTimeout)
	defer cancel()
	return profile.ParseContext(ctx, data, profile.DefaultLimits)
}

// ForbiddenPayloads lists, sorted and once each, the PayloadTypes of the
// profile that a user enrollment on the family's platform forbids (Apple's
// mdm/profiles, payload-level supportedOS.<platform>.userenrollment.mode
// forbidden; see applepayloads.go). A payload type the platform does not
// have at all is not listed. Nil for an unknown family; an error when
// profileData is no readable profile.
func ForbiddenPayloads(profileData []byte, family string) ([]string, error) {
	pr, err := readProfile(profileData)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, pl := range forbiddenIn(pr, platformOf(family)) {
		out = append(out, pl.Type)
	}
	return sortedUnique(out), nil
}

func forbiddenIn(pr *profile.Profile, p platform) []profile.Payload {
	if p == platformUnknown {
		return nil
	}
	var out []profile.Payload
	for _, pl := range pr.Payloads {
		if m, ok := payloadModes[pl.Type]; ok && m[p] == modeForbidden {
			out = append(out, pl)
		}
	}
	return out
}

// installProfile answers InstallProfile (profile.install.yaml, key Payload).
// A profile whose PayloadIdentifier is already installed replaces it, as iOS
// and macOS do.
func (s *State) installProfile(c Command, d Device, p platform) map[string]any {
	v, ok := c.Body["Payload"]
	if !ok {
		return formatError(c.RequestType, "it has no Payload")
	}
	data, ok := v.([]byte)
	if !ok {
		return formatError(c.RequestType, fmt.Sprintf("Payload is %s, not data", typeName(v)))
	}
	pr, err := readProfile(data)
	if err != nil {
		return malformedProfile(err.Error())
	}
	if pr.Top.Has("EncryptedPayloadContent") {
		return errorAnswer(SimulatorErrorDomain, CodeNotSupported,
			"The command “InstallProfile” carries an encrypted profile, which the enrollsim device simulator does not decrypt.")
	}
	id, _ := pr.Top.String("PayloadIdentifier")
	uuid, _ := pr.Top.String("PayloadUUID")
	if id == "" || uuid == "" {
		return malformedProfile("the profile has no PayloadIdentifier or no PayloadUUID")
	}
	if _, isArray := pr.Top["PayloadContent"].([]any); !isArray {
		return malformedProfile("the profile has no PayloadContent array")
	}
	if d.UserEnrollment {
		if bad := forbiddenIn(pr, p); len(bad) > 0 {
			return s.refuseForbidden(c, id, bad, p)
		}
	}
	s.install(installedFrom(pr, id, uuid, c.UUID))
	return map[string]any{"Status": "Acknowledged"}
}

func (s *State) refuseForbidden(c Command, id string, bad []profile.Payload, p platform) map[string]any {
	var types []string
	for _, pl := range bad {
		s.forbidden = append(s.forbidden, ForbiddenPayload{
			CommandUUID: c.UUID, PayloadType: pl.Type, PayloadIdentifier: pl.Identifier, Platform: platformName(p),
		})
		types = append(types, pl.Type)
	}
	return errorAnswer(SimulatorErrorDomain, CodeForbiddenPayload, fmt.Sprintf(
		"The profile “%s” was not installed: a user enrollment on %s does not allow the payloads %s.",
		id, platformName(p), strings.Join(sortedUnique(types), ", ")))
}

func (s *State) install(ip InstalledProfile) {
	for i := range s.profiles {
		if s.profiles[i].Identifier == ip.Identifier {
			s.profiles[i] = ip
			return
		}
	}
	s.profiles = append(s.profiles, ip)
}

func installedFrom(pr *profile.Profile, id, uuid, commandUUID string) InstalledProfile {
	ip := InstalledProfile{Identifier: id, UUID: uuid, CommandUUID: commandUUID}
	ip.DisplayName, _ = pr.Top.String("PayloadDisplayName")
	ip.Organization, _ = pr.Top.String("PayloadOrganization")
	ip.Description, _ = pr.Top.String("PayloadDescription")
	ip.RemovalDisallowed, _ = pr.Top.Bool("PayloadRemovalDisallowed")
	for _, c := range pr.Certificates {
		ip.SignerCertificates = append(ip.SignerCertificates, c.Raw)
	}
	for _, pl := range pr.Payloads {
		ver, _ := pl.Int("PayloadVersion")
		name, _ := pl.String("PayloadDisplayName")
		ip.Payloads = append(ip.Payloads, InstalledPayload{Type: pl.Type, Identifier: pl.Identifier, UUID: pl.UUID, DisplayName: name, Version: ver})
		if pl.Type == "com.apple.profileRemovalPassword" {
			ip.HasRemovalPasscode = true
		}
		if certificatePayloads[pl.Type] {
			ip.Certificates = append(ip.Certificates, certificateOf(pl))
		}
	}
	return ip
}

// certificateOf reads a certificate payload's PayloadContent: DER, or PEM
// (com.apple.security.pem, and what devices accept in the others; of a
// chain, the first). A PKCS #12
// identity is recorded by name only: opening it needs its Password and a
// PKCS #12 reader the module does not have. A certificate that does not
// parse is recorded by name too, rather than failing the profile as a device
// might: the simulator would rather list too much than refuse a working
// server's profile.
func certificateOf(pl profile.Payload) InstalledCertificate {
	ic := InstalledCertificate{PayloadIdentifier: pl.Identifier, IsIdentity: pl.Type == "com.apple.security.pkcs12"}
	if data, ok := pl.Dict.Data("PayloadContent"); ok && !ic.IsIdentity {
		if b, _ := pem.Decode(data); b != nil { // the first certificate of a PEM chain
			data = b.Bytes
		}
		if cert, err := x509.ParseCertificate(data); err == nil {
			ic.Data, ic.CommonName = cert.Raw, cert.Subject.CommonName
		}
	}
	for _, k := range []string{"PayloadCertificateFileName", "PayloadDisplayName", "PayloadIdentifier"} {
		if ic.CommonName != "" {
			break
		}
		ic.CommonName, _ = pl.String(k)
	}
	return ic
}

func malformedProfile(why string) map[string]any {
	return errorAnswer(ProfileErrorDomain, CodeMalformedProfile,
		"The command “InstallProfile” carries a profile the device cannot read: "+why+".")
}

// removeProfile answers RemoveProfile (profile.remove.yaml, key Identifier):
// a profile InstallProfile installed, or one of Device.ProfileIdentifiers
// but the first, the enrollment profile (see CodeRemoveEnrollmentProfile).
// The profile's certificates go with it.
func (s *State) removeProfile(c Command, d Device) map[string]any {
	v, ok := c.Body["Identifier"]
	if !ok {
		return formatError(c.RequestType, "it has no Identifier")
	}
	id, ok := v.(string)
	if !ok {
		return formatError(c.RequestType, fmt.Sprintf("Identifier is %s, not a string", typeName(v)))
	}
	if len(d.ProfileIdentifiers) > 0 && id == d.ProfileIdentifiers[0] {
		return errorAnswer(SimulatorErrorDomain, CodeRemoveEnrollmentProfile, fmt.Sprintf(
			"The command “RemoveProfile” names “%s”, the enrollment profile holding the MDM payload, which the enrollsim device simulator does not remove.", id))
	}
	found := false
	for i := range s.profiles {
		if s.profiles[i].Identifier == id {
			s.profiles = append(s.profiles[:i], s.profiles[i+1:]...)
			found = true
			break
		}
	}
	for _, base := range d.ProfileIdentifiers {
		if base == id && !s.removed[id] {
			if s.removed == nil {
				s.removed = map[string]bool{}
			}
			s.removed[id] = true
			found = true
		}
	}
	if !found {
		return errorAnswer(SimulatorErrorDomain, CodeProfileNotInstalled,
			fmt.Sprintf("The command “RemoveProfile” names “%s”, which is not installed.", id))
	}
	return map[string]any{"Status": "Acknowledged"}
}

// listed says whether ProfileList lists the enrollment-time profile id: not
// when RemoveProfile removed it, nor when an installed profile replaced it
// (listed in its stead).
func (s *State) listed(id string) bool {
	if s == nil {
		return true
	}
	if s.removed[id] {
		return false
	}
	for _, ip := range s.profiles {
		if ip.Identifier == id {
			return false
		}
	}
	return true
}

// profileItem is an installed profile as ProfileList lists it
// (profile.list.yaml ProfileListItem).
func profileItem(ip InstalledProfile, p platform, osVersion string) map[string]any {
	item := map[string]any{
		"PayloadIdentifier":        ip.Identifier,
		"PayloadUUID":              ip.UUID,
		"PayloadVersion":           1,
		"PayloadDisplayName":       ip.DisplayName,
		"PayloadRemovalDisallowed": ip.RemovalDisallowed,
		"HasRemovalPasscode":       ip.HasRemovalPasscode,
		"IsEncrypted":              false,
	}
	if ip.DisplayName == "" {
		item["PayloadDisplayName"] = ip.Identifier
	}
	for k, v := range map[string]string{"PayloadOrganization": ip.Organization, "PayloadDescription": ip.Description} {
		if v != "" {
			item[k] = v
		}
	}
	if len(ip.SignerCertificates) > 0 {
		certs := []any{}
		for _, c := range ip.SignerCertificates {
			certs = append(certs, c)
		}
		item["SignerCertificates"] = certs
	}
	if p != platformMacOS { // IsManaged: introduced n/a on macOS
		item["IsManaged"] = true
	}
	// PayloadContent's PayloadUUID: iOS 17.0, macOS 14.0 (visionOS: as old as the command).
	withUUID := p == platformVisionOS || p == platformIOS && atLeast(osVersion, "17.0") || p == platformMacOS && atLeast(osVersion, "14.0")
	content := []any{}
	for _, pl := range ip.Payloads {
		c := map[string]any{"PayloadType": pl.Type, "PayloadIdentifier": pl.Identifier, "PayloadVersion": pl.Version}
		if pl.Version == 0 {
			c["PayloadVersion"] = 1
		}
		if withUUID {
			c["PayloadUUID"] = pl.UUID
		}
		if pl.DisplayName != "" {
			c["PayloadDisplayName"] = pl.DisplayName
		}
		content = append(content, c)
	}
	item["PayloadContent"] = content
	return item
}

// installedCertificates are the CertificateList items of the installed
// profiles' certificate payloads, in install order, each DER once.
func (s *State) installedCertificates() []any {
	if s == nil {
		return nil
	}
	var out []any
	seen := map[string]bool{}
	for _, ip := range s.profiles {
		for _, c := range ip.Certificates {
			if len(c.Data) > 0 {
				if seen[string(c.Data)] {
					continue
				}
				seen[string(c.Data)] = true
			}
			data := c.Data
			if data == nil {
				data = []byte{} // Data is required; the simulator has none to give
			}
			out = append(out, map[string]any{"CommonName": c.CommonName, "Data": data, "IsIdentity": c.IsIdentity})
		}
	}
	return out
}
