package refserver

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"
)

// The enrollment profile (spec §2.11): a configuration profile with one
// com.apple.mdm payload and the SCEP payload that gives the device its MDM
// identity, CMS-signed by the server's profile-signing certificate.
const (
	profileContentType = "application/x-apple-aspen-config"
	profileIdentifier  = "test.acme.mdm.enrollment"

	mdmServerURL  = "https://" + MDMHost + "/mdm/connect"
	mdmCheckInURL = "https://" + MDMHost + "/mdm/checkin"
	scepURL       = "https://" + MDMHost + "/scep"

	capPerUserConnections = "com.apple.mdm.per-user-connections"
	capBootstrapToken     = "com.apple.mdm.bootstraptoken"
	capMDMToken           = "com.apple.mdm.token" // GetToken check-ins (§2.13.6)

	// addeAccessRights grants every right (1 through 4096).
	addeAccessRights = 8191

	// Values the profile faults put in.
	otherTenantServerURL = "https://mdm.globex.test/mdm/connect"
	badTopic             = "com.acme.mdm.push"
	hugeProfileBytes     = 2 << 20
)

// writeProfile answers the authorized POST: 200 with the profile of acct
// for an enrollment of kind.
func (s *Server) writeProfile(w http.ResponseWriter, acct Account, kind string) {
	body, err := s.profileBody(acct, kind)
	if err != nil {
		// Signing with the server's own key cannot fail short of a bug.
		s.logf("refserver: building the profile of %s: %v", acct.Identifier, err)
		writeText(w, http.StatusInternalServerError, "internal server error\n")
		return
	}
	contentType := profileContentType
	if s.has(FaultProfileContentType) {
		contentType = "text/xml"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// profileBody encodes and signs the profile, as the active faults allow.
func (s *Server) profileBody(acct Account, kind string) ([]byte, error) {
	if s.has(FaultProfileEmpty) {
		return nil, nil
	}
	if s.has(FaultProfileBomb) {
		return s.signProfile(plistBomb())
	}
	p := s.buildProfile(acct, kind)
	if s.has(FaultProfileNotPlist) {
		return json.Marshal(p)
	}
	xml, err := plist.MarshalIndent(p, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("encoding the profile plist: %w", err)
	}
	if s.has(FaultProfileUnsigned) {
		return xml, nil
	}
	return s.signProfile(xml)
}

// signProfile wraps the plist in CMS SignedData (SHA-256, content attached)
// signed by the profile-signing certificate, with the CA alongside.
func (s *Server) signProfile(content []byte) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("signing the profile: %w", err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSignerChain(s.ca.profileCert, s.ca.profileKey, []*x509.Certificate{s.ca.caCert}, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("signing the profile: %w", err)
	}
	out, err := sd.Finish()
	if err != nil {
		return nil, fmt.Errorf("signing the profile: %w", err)
	}
	return out, nil
}

// buildProfile is the profile as a plist value, faults applied.
func (s *Server) buildProfile(acct Account, kind string) map[string]any {
	scep, scepUUID := s.scepPayload(acct)
	mdm := s.mdmPayload(acct, kind, scepUUID)
	content := append([]any{mdm, scep}, s.faultPayloads(mdm)...)

	top := map[string]any{
		"PayloadType":         "Configuration",
		"PayloadVersion":      1,
		"PayloadIdentifier":   profileIdentifier,
		"PayloadUUID":         newUUID(),
		"PayloadDisplayName":  "Acme device management",
		"PayloadOrganization": "Acme",
		"PayloadDescription":  "Lets Acme manage this device for " + acct.ManagedAppleID + ".",
		"PayloadContent":      content,
	}
	if s.has(FaultProfileHuge) {
		top["PayloadDescription"] = strings.Repeat("Acme device management. ", hugeProfileBytes/24+1)
	}
	return top
}

// scepPayload is the SCEP payload that gives the device its MDM identity,
// and its PayloadUUID, which the MDM payload names as its identity.
func (s *Server) scepPayload(acct Account) (map[string]any, string) {
	scepUUID := newUUID()
	return map[string]any{
		"PayloadType":        "com.apple.security.scep",
		"PayloadVersion":     1,
		"PayloadIdentifier":  profileIdentifier + ".scep",
		"PayloadUUID":        scepUUID,
		"PayloadDisplayName": "Acme device identity",
		// Apple's key names: Keysize, "Key Type", "Key Usage" (5 is
		// digital signature and key encipherment).
		"PayloadContent": map[string]any{
			"URL":       scepURL,
			"Name":      "Acme MDM CA",
			"Subject":   [][][]string{{{"O", "Acme"}}, {{"CN", "Acme MDM identity " + acct.Identifier}}},
			"Challenge": s.newSCEPChallenge(acct),
			"Keysize":   2048,
			"Key Type":  "RSA",
			"Key Usage": 5,
		},
	}, scepUUID
}

// enrollmentMode is the EnrollmentMode the profile claims for kind, which
// profile-wrong-mode swaps.
func (s *Server) enrollmentMode(kind string) string {
	mode := "BYOD"
	if kind == KindADDE {
		mode = "ADDE"
	}
	if s.has(FaultProfileWrongMode) {
		mode = map[string]string{"BYOD": "ADDE", "ADDE": "BYOD"}[mode]
	}
	return mode
}

// mdmPayload is the com.apple.mdm payload of acct's enrollment of kind,
// with the faults that alter its keys applied.
func (s *Server) mdmPayload(acct Account, kind, scepUUID string) map[string]any {
	capabilities := []string{capPerUserConnections, capBootstrapToken, capMDMToken}
	if s.has(FaultProfileMacNoPerUser) {
		capabilities = []string{capBootstrapToken, capMDMToken}
	}
	mdm := map[string]any{
		"PayloadType":             "com.apple.mdm",
		"PayloadVersion":          1,
		"PayloadIdentifier":       profileIdentifier + ".mdm",
		"PayloadUUID":             newUUID(),
		"PayloadDisplayName":      "Acme device management",
		"EnrollmentMode":          s.enrollmentMode(kind),
		"AssignedManagedAppleID":  acct.ManagedAppleID,
		"IdentityCertificateUUID": scepUUID,
		"Topic":                   s.topic,
		"ServerURL":               mdmServerURL,
		"CheckInURL":              mdmCheckInURL,
		"ServerCapabilities":      capabilities,
		"SignMessage":             true,
		// The device checks out when the profile is removed, so the
		// registry forgets it (§2.13.7).
		"CheckOutWhenRemoved": true,
	}
	switch {
	case kind == KindADDE && s.has(FaultProfileBadAccessRights):
		mdm["AccessRights"] = 2 // inspect profiles without query device information
	case kind == KindADDE, s.has(FaultProfileBYODAccessRights):
		mdm["AccessRights"] = addeAccessRights
	}
	s.applyMDMFaults(mdm, acct)
	return mdm
}

// applyMDMFaults rewrites the keys of the MDM payload that the profile
// faults break, each on its own so that faults combine.
func (s *Server) applyMDMFaults(mdm map[string]any, acct Account) {
	if s.has(FaultProfileNoAssignedID) {
		delete(mdm, "AssignedManagedAppleID")
	}
	if s.has(FaultProfileWrongUser) {
		mdm["AssignedManagedAppleID"] = s.someoneElse(acct).ManagedAppleID
	}
	if s.has(FaultProfileManagedAppleID) {
		mdm["ManagedAppleID"] = acct.ManagedAppleID
	}
	if s.has(FaultProfileIdentityMismatch) {
		mdm["IdentityCertificateUUID"] = newUUID()
	}
	if s.has(FaultProfileBadTopic) {
		mdm["Topic"] = badTopic
	}
	if s.has(FaultProfileHTTPServerURL) {
		mdm["ServerURL"] = "http://" + strings.TrimPrefix(mdmServerURL, "https://")
	}
	if s.has(FaultProfileOtherTenant) {
		mdm["ServerURL"] = otherTenantServerURL
	}
	if s.has(FaultProfileRequiredAppIDString) {
		mdm["RequiredAppIDForMDM"] = "1234567890"
	}
}

// faultPayloads are the payloads a conforming profile leaves out and the
// active faults add after the MDM and SCEP payloads; mdm is the MDM payload
// that profile-two-mdm copies.
func (s *Server) faultPayloads(mdm map[string]any) []any {
	var extra []any
	if s.has(FaultProfileTwoMDM) {
		second := make(map[string]any, len(mdm))
		for k, v := range mdm {
			second[k] = v
		}
		second["PayloadIdentifier"] = profileIdentifier + ".mdm2"
		second["PayloadUUID"] = newUUID()
		extra = append(extra, second)
	}
	if s.has(FaultProfileBYODDisallowedPayload) {
		// Managed Domains: Apple's schema forbids it in user enrollment on
		// every platform. (Restrictions, com.apple.applicationaccess, would
		// not do: the schema allows that payload, with fewer keys.)
		extra = append(extra, map[string]any{
			"PayloadType":        "com.apple.domains",
			"PayloadVersion":     1,
			"PayloadIdentifier":  profileIdentifier + ".domains",
			"PayloadUUID":        newUUID(),
			"PayloadDisplayName": "Acme managed domains",
			"WebDomains":         []string{OrgDomain},
		})
	}
	if s.has(FaultProfileACMEHardwareRSA) {
		// Hardware-bound keys live in the Secure Enclave, which holds only
		// EC P-256/P-384 keys (PROF-015).
		extra = append(extra, map[string]any{
			"PayloadType":       "com.apple.security.acme",
			"PayloadVersion":    1,
			"PayloadIdentifier": profileIdentifier + ".acme",
			"PayloadUUID":       newUUID(),
			"DirectoryURL":      "https://" + MDMHost + "/acme/directory",
			"ClientIdentifier":  "enrollsim-acme",
			"HardwareBound":     true,
			"KeyType":           "RSA",
			"KeySize":           2048,
			"Subject":           []any{[]any{[]any{"CN", "enrollsim"}}},
		})
	}
	return extra
}

// someoneElse is another user of the directory, for profile-wrong-user.
func (s *Server) someoneElse(acct Account) Account {
	for _, a := range s.dir.accounts {
		if a.ManagedAppleID != acct.ManagedAppleID {
			return a
		}
	}
	return acct
}

// newUUID returns a random (version 4) UUID in upper case, as Apple's
// tools write PayloadUUIDs.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// plistBomb is a binary plist (bplist00) whose PayloadContent is ten levels
// of arrays, each holding 16 references to the level below: every reader
// that copies shared objects expands it to 16^10 of them.
func plistBomb() []byte {
	const levels, fan = 10, 16
	var objs [][]byte
	objs = append(objs, append([]byte{0x53}, "lol"...))
	for k := 1; k <= levels; k++ {
		o := []byte{0xAF, 0x10, fan}
		for i := 0; i < fan; i++ {
			o = append(o, byte(k-1))
		}
		objs = append(objs, o)
	}
	str := func(s string) []byte { return append([]byte{0x5F, 0x10, byte(len(s))}, s...) }
	objs = append(objs, str("PayloadType"), str("Configuration"), str("PayloadContent"))
	objs = append(objs, []byte{0xD2, levels + 1, levels + 3, levels + 2, levels})
	b := []byte("bplist00")
	var offs []byte
	for _, o := range objs {
		offs = append(offs, byte(len(b)>>8), byte(len(b)))
		b = append(b, o...)
	}
	table := len(b)
	b = append(b, offs...)
	trailer := make([]byte, 32)
	trailer[6], trailer[7] = 2, 1 // 2-byte offsets, 1-byte references
	trailer[15] = byte(len(objs))
	trailer[23] = byte(len(objs) - 1)
	trailer[30], trailer[31] = byte(table>>8), byte(table)
	return append(b, trailer...)
}
