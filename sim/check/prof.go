package check

import (
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strings"
)

// The profile's PROF checks are judged in two halves, since the profile
// step emits TOK-008 between them (after PROF-006, before PROF-007).
var (
	profHeadOwns = []string{"PROF-019", "PROF-002", "PROF-017", "PROF-003", "PROF-004", "PROF-005", "PROF-006"}
	profBodyOwns = []string{"PROF-007", "PROF-008", "PROF-009", "PROF-010", "PROF-011", "PROF-012", "PROF-013",
		"PROF-014", "PROF-015", "PROF-016", "PROF-018"}
)

// profCancels are the checks whose failure makes the device cancel the
// enrollment; the other PROF checks are the tester's findings.
var profCancels = []string{"PROF-002", "PROF-003", "PROF-004", "PROF-005", "PROF-007", "PROF-008",
	"PROF-010", "PROF-011", "PROF-012", "PROF-014"}

// Identity payload types the MDM payload may point at (PROF-010).
var profIdentityTypes = []string{"com.apple.security.scep", "com.apple.security.acme", "com.apple.security.pkcs12"}

// payloadTypeMDM is the PayloadType of the MDM payload.
const payloadTypeMDM = "com.apple.mdm"

// ueForbidden is the user-enrollment mode of a payload a user enrollment
// refuses (sim/profile's UEForbidden).
const ueForbidden = "forbidden"

func init() {
	register(Judge{Group: "PROF", Reads: "profile", Owns: append(slices.Clone(profHeadOwns), profBodyOwns...),
		Run: func(o *Observations) *Verdicts {
			if o.Profile == nil {
				return nil
			}
			v := NewVerdicts(append(slices.Clone(profHeadOwns), profBodyOwns...)...)
			v.Add(ProfileHead(o.Profile).Results...)
			v.Add(ProfileBody(o.Profile).Results...)
			return v
		}})
	register(Judge{Group: "TOK", Reads: "profile", Owns: []string{"TOK-008"},
		Run: func(o *Observations) *Verdicts {
			if o.Profile == nil {
				return nil
			}
			return ProfileToken(o.Profile)
		}})
}

// ProfileCancels lists, as "ID: actual", the failures among vs that make
// the device cancel the enrollment, in order.
func ProfileCancels(vs ...*Verdicts) []string {
	var out []string
	for _, v := range vs {
		for _, r := range v.Results {
			if r.Status == Fail && slices.Contains(profCancels, r.ID) {
				out = append(out, r.ID+": "+r.Actual)
			}
		}
	}
	return out
}

// mdmCount is how many com.apple.mdm payloads the profile has.
func (o *Profile) mdmCount() int {
	n := 0
	for _, p := range o.Payloads {
		if p.Type == payloadTypeMDM {
			n++
		}
	}
	return n
}

// ProfileHead judges the profile's media type and reading, its signature,
// its MDM payload and the account it is assigned to: PROF-019, -002, -017,
// -003..006.
func ProfileHead(o *Profile) *Verdicts {
	v := NewVerdicts(profHeadOwns...)
	// The first of repeated Content-Types is judged, as for WK-002;
	// differing repeats are noted, never failed.
	mt, _, _ := mime.ParseMediaType(o.ContentType)
	v.Check("PROF-019", mt == "application/x-apple-aspen-config", "Content-Type application/x-apple-aspen-config", fmt.Sprintf("%q", o.ContentType))
	if o.Repeated != "" {
		v.Note("PROF-019", o.Repeated)
	}
	if o.ReadError != "" {
		if o.OverLimit {
			// The simulator's own limit: it could not judge the profile.
			v.Error("PROF-002", o.ReadError)
		} else {
			v.Check("PROF-002", false, "a configuration profile: a plist, optionally CMS-signed", o.ReadError)
		}
		v.SkipRest("no profile")
		return v
	}
	v.Check("PROF-002", len(o.Problems) == 0, "PayloadType Configuration, a PayloadContent array, PayloadIdentifier, PayloadUUID, PayloadVersion 1", strings.Join(o.Problems, "; "))
	if o.Signed {
		detail := "signed by " + o.Signer
		if !o.SignatureOK {
			detail += "; the signature does not verify: " + o.SignatureError
		}
		v.Add(With("PROF-017", Pass, detail))
	} else {
		v.Note("PROF-017", "the profile is not signed (Apple's account-driven articles do not require it)")
	}
	n := o.mdmCount()
	v.Check("PROF-003", n == 1, "exactly one com.apple.mdm payload", fmt.Sprintf("%d", n))
	if n == 0 {
		v.SkipRest("no MDM payload")
		return v
	}
	m := o.MDM
	want := map[string]string{"mdm-byod": "BYOD", "mdm-adde": "ADDE"}[o.Version]
	mode, _ := m.String("EnrollmentMode")
	v.Check("PROF-004", mode == want, fmt.Sprintf("EnrollmentMode %s (discovery said %s)", want, o.Version), m.Describe("EnrollmentMode"))
	assigned, ok := o.assigned()
	v.Check("PROF-005", ok, "AssignedManagedAppleID, an account local@domain", m.Describe("AssignedManagedAppleID"))
	if !ok {
		v.Skip("PROF-006", "no assigned account")
		return v
	}
	v.Check("PROF-006", strings.EqualFold(assigned, o.Account), "AssignedManagedAppleID "+o.Account, assigned)
	return v
}

// assigned is the MDM payload's AssignedManagedAppleID when it names an
// account, local@domain.
func (o *Profile) assigned() (string, bool) {
	assigned, ok := o.MDM.String("AssignedManagedAppleID")
	local, dom, found := strings.Cut(assigned, "@")
	return assigned, ok && found && local != "" && dom != ""
}

// ProfileToken is TOK-008's first half: the token fetched the profile of
// the user it was issued to.
func ProfileToken(o *Profile) *Verdicts {
	v := NewVerdicts("TOK-008")
	assigned, ok := o.assigned()
	switch {
	case o.ReadError != "":
		v.Skip("TOK-008", "no profile")
	case o.mdmCount() == 0:
		v.Skip("TOK-008", "no MDM payload")
	case !ok:
		v.Skip("TOK-008", "no assigned account")
	default:
		v.Check("TOK-008", strings.EqualFold(assigned, o.Account), "the token fetches the profile of the user it was issued to ("+o.Account+")", "a profile for "+assigned)
	}
	return v
}

// ProfileBody judges the rest of the MDM payload and the other payloads:
// PROF-007..016 and PROF-018.
func ProfileBody(o *Profile) *Verdicts {
	v := NewVerdicts(profBodyOwns...)
	switch {
	case o.ReadError != "":
		v.SkipRest("no profile")
		return v
	case o.mdmCount() == 0:
		v.SkipAll("no MDM payload", "PROF-007", "PROF-008", "PROF-009", "PROF-010", "PROF-011", "PROF-012", "PROF-013", "PROF-014", "PROF-018")
		judgePayloadTypes(v, o)
		judgeACME(v, o)
		return v
	}
	m := o.MDM
	judgeAccessRights(v, o)
	v.Check("PROF-009", !m.Has("ManagedAppleID"), "no ManagedAppleID key (removed from the OS)", m.Describe("ManagedAppleID"))
	judgeIdentityRef(v, o)
	topic, _ := m.String("Topic")
	v.Check("PROF-011", strings.HasPrefix(topic, "com.apple.mgmt."), "a Topic starting with com.apple.mgmt.", m.Describe("Topic"))
	judgeURLs(v, m)
	if o.Family == "Mac" {
		caps := m.Strings("ServerCapabilities")
		v.Check("PROF-013", slices.Contains(caps, "com.apple.mdm.per-user-connections"), "ServerCapabilities with com.apple.mdm.per-user-connections for a Mac", fmt.Sprintf("%v", caps))
	} else {
		v.Skip("PROF-013", "not a Mac")
	}
	judgeRequiredAppID(v, o)
	judgeACME(v, o)
	judgePayloadTypes(v, o)
	server, _ := m.String("ServerURL")
	judgeTenant(v, server, o.BaseURL)
	return v
}

// judgeAccessRights is PROF-007 and PROF-008: no AccessRights in a BYOD
// profile, coherent ones in an ADDE profile.
func judgeAccessRights(v *Verdicts, o *Profile) {
	m := o.MDM
	mode, _ := m.String("EnrollmentMode")
	hasRights := m.Has("AccessRights")
	switch mode {
	case "BYOD":
		v.Check("PROF-007", !hasRights, "no AccessRights in a BYOD profile", m.Describe("AccessRights"))
		v.Skip("PROF-008", "not an ADDE profile")
		return
	case "ADDE":
		v.Skip("PROF-007", "not a BYOD profile")
	default:
		v.SkipAll("EnrollmentMode is neither BYOD nor ADDE", "PROF-007", "PROF-008")
		return
	}
	if !hasRights {
		v.Skip("PROF-008", "no AccessRights")
		return
	}
	n, ok := m.Int("AccessRights")
	if !ok {
		v.Check("PROF-008", false, "an integer AccessRights", m.Describe("AccessRights"))
		return
	}
	var bad []string
	if n == 0 {
		bad = append(bad, "0")
	}
	if n&2 != 0 && n&1 == 0 {
		bad = append(bad, "2 without 1")
	}
	if n&128 != 0 && n&64 == 0 {
		bad = append(bad, "128 without 64")
	}
	v.Check("PROF-008", len(bad) == 0, "non-zero AccessRights where 2 implies 1 and 128 implies 64", fmt.Sprintf("%d: %s", n, strings.Join(bad, ", ")))
}

// judgeIdentityRef is PROF-010: IdentityCertificateUUID names an identity
// payload of the profile.
func judgeIdentityRef(v *Verdicts, o *Profile) {
	m := o.MDM
	id, _ := m.String("IdentityCertificateUUID")
	var target *ProfilePayload
	for i, p := range o.Payloads {
		if id != "" && p.UUID == id {
			target = &o.Payloads[i]
			break
		}
	}
	if target != nil && slices.Contains(profIdentityTypes, target.Type) {
		v.Check("PROF-010", true, "", "")
		return
	}
	actual := "IdentityCertificateUUID " + m.Describe("IdentityCertificateUUID")
	if target != nil {
		actual += " points at a " + target.Type + " payload"
	} else if id != "" {
		actual += " matches no payload"
	}
	v.Check("PROF-010", false, "the PayloadUUID of a SCEP, ACME or PKCS#12 payload in the profile", actual)
}

// judgeURLs is PROF-012: https ServerURL and CheckInURL.
func judgeURLs(v *Verdicts, m PlistDict) {
	var bad []string
	if s, _ := m.String("ServerURL"); !strings.HasPrefix(s, "https://") {
		bad = append(bad, "ServerURL "+m.Describe("ServerURL"))
	}
	if m.Has("CheckInURL") {
		if s, _ := m.String("CheckInURL"); !strings.HasPrefix(s, "https://") {
			bad = append(bad, "CheckInURL "+m.Describe("CheckInURL"))
		}
	}
	v.Check("PROF-012", len(bad) == 0, "https ServerURL and CheckInURL", strings.Join(bad, "; "))
}

// judgeRequiredAppID is PROF-014: an integer RequiredAppIDForMDM, which
// macOS ignores.
func judgeRequiredAppID(v *Verdicts, o *Profile) {
	m := o.MDM
	switch _, isInt := m.Int("RequiredAppIDForMDM"); {
	case !m.Has("RequiredAppIDForMDM"):
		v.Skip("PROF-014", "no RequiredAppIDForMDM")
	case isInt:
		v.Check("PROF-014", true, "", "")
	case o.Family == "Mac":
		v.Note("PROF-014", "RequiredAppIDForMDM is not an integer ("+m.Describe("RequiredAppIDForMDM")+"); macOS ignores the key")
	default:
		v.Check("PROF-014", false, "an integer RequiredAppIDForMDM", m.Describe("RequiredAppIDForMDM"))
	}
}

// judgeACME is PROF-015: the key rules of an ACME identity payload.
func judgeACME(v *Verdicts, o *Profile) {
	if len(o.ACME) == 0 {
		v.Skip("PROF-015", "no ACME payload")
		return
	}
	var bad []string
	for _, a := range o.ACME {
		if a.HardwareBound && (a.KeyType != "ECSECPrimeRandom" || (a.KeySize != 256 && a.KeySize != 384)) {
			bad = append(bad, fmt.Sprintf("HardwareBound with KeyType %q, KeySize %d (want ECSECPrimeRandom 256 or 384)", a.KeyType, a.KeySize))
		}
		if a.Attest && !a.HardwareBound {
			bad = append(bad, "Attest without HardwareBound")
		}
		if !strings.HasPrefix(a.DirectoryURL, "https://") {
			bad = append(bad, fmt.Sprintf("DirectoryURL %q is not https", a.DirectoryURL))
		}
	}
	v.Check("PROF-015", len(bad) == 0, "ACME key rules (HardwareBound: EC P-256/P-384; Attest needs HardwareBound; https DirectoryURL)", strings.Join(bad, "; "))
}

// judgePayloadTypes is PROF-016: a BYOD profile holds only payloads Apple's
// schema allows in user enrollment on this platform.
func judgePayloadTypes(v *Verdicts, o *Profile) {
	if o.Version != "mdm-byod" {
		v.Skip("PROF-016", "not a user enrollment")
		return
	}
	var bad []string
	for _, p := range o.Payloads {
		if p.UserEnrollment == ueForbidden {
			bad = append(bad, p.Type)
		}
	}
	commit := o.UESchema
	if len(commit) > 12 {
		commit = commit[:12]
	}
	v.Check("PROF-016", len(bad) == 0, "only payload types user enrollment allows on "+o.Platform+" (Apple's schema, "+commit+")", "forbidden: "+strings.Join(bad, ", "))
}

// judgeTenant is PROF-018: the profile's ServerURL belongs to the
// organisation discovery pointed to (same host or same parent domain).
func judgeTenant(v *Verdicts, server, base string) {
	su, err1 := url.Parse(server)
	bu, err2 := url.Parse(base)
	if err1 != nil || err2 != nil || su.Host == "" || bu.Host == "" {
		v.Skip("PROF-018", "no ServerURL host to compare")
		return
	}
	same := strings.EqualFold(su.Hostname(), bu.Hostname()) || parentDomain(su.Hostname()) == parentDomain(bu.Hostname())
	v.Check("PROF-018", same, "a ServerURL on the host family of the BaseURL ("+bu.Hostname()+")", su.Hostname())
}

// parentDomain drops the first label: mdm.acme.test → acme.test. Without a
// public-suffix list this is a heuristic, so the check only warns.
func parentDomain(h string) string {
	h = strings.ToLower(h)
	if i := strings.IndexByte(h, '.'); i >= 0 && strings.Count(h, ".") >= 2 {
		return h[i+1:]
	}
	return h
}
