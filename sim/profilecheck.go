package sim

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// Identity payload types the MDM payload may point at (PROF-010).
var identityTypes = map[string]bool{
	"com.apple.security.scep":   true,
	"com.apple.security.acme":   true,
	"com.apple.security.pkcs12": true,
}

// profileDependents are the checks that need a parsed profile.
var profileDependents = []string{"PROF-003", "PROF-004", "PROF-005", "PROF-006", "PROF-007", "PROF-008", "PROF-009", "PROF-010",
	"PROF-011", "PROF-012", "PROF-013", "PROF-014", "PROF-015", "PROF-016", "PROF-017", "PROF-018", "TOK-008"}

// readProfile parses the body under the run's limits and context. A body
// cut at the read cap is not parsed at all: its end is missing, and the
// cap is the simulator's, so the error names the limit.
func (r *runner) readProfile(resp *response) (p *profile.Profile, overLimit bool, err error) {
	if resp.tooLarge {
		return nil, true, fmt.Errorf("the profile is larger than the simulator's %s read limit; a device-facing profile should stay within %s (SEC-003)",
			byteSize(r.lim.ProfileBody), byteSize(secProfileBound))
	}
	p, err = profile.ParseContext(r.ctx, resp.body, profile.Limits{MaxBytes: r.lim.ProfileBody})
	return p, errors.Is(err, profile.ErrLimit), err
}

// profileStep is step 13 (§2.11): the device reads the profile and cancels
// on anything account-driven enrollment forbids.
func (r *runner) profileStep() (*stop, StepStatus, string) {
	es := r.enroll
	resp := es.second
	// The first of repeated Content-Types is judged, as for WK-002;
	// differing repeats are noted, never failed.
	ct, repeated := singleHeader(resp.header, "Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	r.check("PROF-019", mt == "application/x-apple-aspen-config", "Content-Type application/x-apple-aspen-config", fmt.Sprintf("%q", ct))
	if repeated != "" {
		r.note("PROF-019", repeated)
	}

	p, overLimit, err := r.readProfile(resp)
	if err != nil && r.ctx.Err() != nil {
		// Interrupted mid-parse: nothing was judged.
		return &stop{OutcomeInterrupted, err.Error()}, StepError, err.Error()
	}
	if err != nil {
		r.skipAll("no profile", profileDependents...)
		if overLimit {
			// The simulator's own limit: it could not judge the profile.
			// SEC-003 says what the limit says about the server (judgeTransport
			// already sees a body over the read cap).
			r.cannotJudge("PROF-002", err.Error())
			if !resp.tooLarge {
				r.limitIssues = append(r.limitIssues, "the profile: "+err.Error())
			}
			return &stop{OutcomeError, "the profile could not be read: " + err.Error()}, StepError, err.Error()
		}
		r.check("PROF-002", false, "a configuration profile: a plist, optionally CMS-signed", err.Error())
		return &stop{OutcomeProfileRejected, "the profile does not parse: " + err.Error()}, StepFailed, err.Error()
	}
	es.profile = p
	// The SCEP challenge is a credential: whoever holds it gets an
	// identity for this enrollment. Events from here on never show it.
	for _, pl := range p.OfType("com.apple.security.scep") {
		if c, ok := pl.Dict.Dict("PayloadContent"); ok {
			if v, ok := c.String("Challenge"); ok {
				r.red.Add(v)
			}
		}
	}
	var cancel []string
	fail := func(id, expected, actual string) {
		r.check(id, false, expected, actual)
		if res := check.Verdict(id, false, "", ""); res.Status == Fail {
			cancel = append(cancel, id+": "+actual)
		}
	}
	if len(p.Problems) > 0 {
		fail("PROF-002", "PayloadType Configuration, a PayloadContent array, PayloadIdentifier, PayloadUUID, PayloadVersion 1", strings.Join(p.Problems, "; "))
	} else {
		r.check("PROF-002", true, "", "")
	}
	if p.Signed {
		detail := "signed by " + p.Signer
		if !p.SignatureOK {
			detail += "; the signature does not verify: " + p.SignatureError
		}
		r.report(check.With("PROF-017", Pass, detail))
	} else {
		r.note("PROF-017", "the profile is not signed (Apple's account-driven articles do not require it)")
	}

	mdms := p.MDM()
	if len(mdms) != 1 {
		fail("PROF-003", "exactly one com.apple.mdm payload", fmt.Sprintf("%d", len(mdms)))
		if len(mdms) == 0 {
			r.skipAll("no MDM payload", "PROF-004", "PROF-005", "PROF-006", "PROF-007", "PROF-008", "PROF-009", "PROF-010",
				"PROF-011", "PROF-012", "PROF-013", "PROF-014", "PROF-018", "TOK-008")
			r.judgePayloadTypes(p)
			r.judgeACME(p)
			return &stop{OutcomeProfileRejected, "the profile has no com.apple.mdm payload"}, StepFailed, "no MDM payload"
		}
	} else {
		r.check("PROF-003", true, "", "")
	}
	m := mdms[0]
	want := map[string]string{"mdm-byod": "BYOD", "mdm-adde": "ADDE"}[r.discovery.version]
	mode, _ := m.String("EnrollmentMode")
	if mode != want {
		fail("PROF-004", fmt.Sprintf("EnrollmentMode %s (discovery said %s)", want, r.discovery.version), describeKey(m, "EnrollmentMode"))
	} else {
		r.check("PROF-004", true, "", "")
	}

	assigned, ok := m.String("AssignedManagedAppleID")
	local, dom, found := strings.Cut(assigned, "@")
	if !ok || !found || local == "" || dom == "" {
		fail("PROF-005", "AssignedManagedAppleID, an account local@domain", describeKey(m, "AssignedManagedAppleID"))
		r.skipAll("no assigned account", "PROF-006", "TOK-008")
	} else {
		r.check("PROF-005", true, "", "")
		expected := r.c.Account.ManagedAppleID
		if expected == "" {
			expected = r.c.Account.Identifier
		}
		same := strings.EqualFold(assigned, expected)
		r.check("PROF-006", same, "AssignedManagedAppleID "+expected, assigned)
		r.check("TOK-008", same, "the token fetches the profile of the user it was issued to ("+expected+")", "a profile for "+assigned)
	}

	_, hasRights := m.Dict["AccessRights"]
	switch {
	case mode == "BYOD":
		if hasRights {
			fail("PROF-007", "no AccessRights in a BYOD profile", describeKey(m, "AccessRights"))
		} else {
			r.check("PROF-007", true, "", "")
		}
		r.skip("PROF-008", "not an ADDE profile")
	case mode == "ADDE":
		r.skip("PROF-007", "not a BYOD profile")
		if !hasRights {
			r.skip("PROF-008", "no AccessRights")
		} else if v, ok := m.Int("AccessRights"); !ok {
			fail("PROF-008", "an integer AccessRights", describeKey(m, "AccessRights"))
		} else {
			var bad []string
			if v == 0 {
				bad = append(bad, "0")
			}
			if v&2 != 0 && v&1 == 0 {
				bad = append(bad, "2 without 1")
			}
			if v&128 != 0 && v&64 == 0 {
				bad = append(bad, "128 without 64")
			}
			if len(bad) > 0 {
				fail("PROF-008", "non-zero AccessRights where 2 implies 1 and 128 implies 64", fmt.Sprintf("%d: %s", v, strings.Join(bad, ", ")))
			} else {
				r.check("PROF-008", true, "", "")
			}
		}
	default:
		r.skipAll("EnrollmentMode is neither BYOD nor ADDE", "PROF-007", "PROF-008")
	}

	r.check("PROF-009", !m.Has("ManagedAppleID"), "no ManagedAppleID key (removed from the OS)", describeKey(m, "ManagedAppleID"))

	idUUID, _ := m.String("IdentityCertificateUUID")
	if target, ok := p.ByUUID(idUUID); ok && identityTypes[target.Type] {
		r.check("PROF-010", true, "", "")
	} else {
		actual := "IdentityCertificateUUID " + describeKey(m, "IdentityCertificateUUID")
		if ok {
			actual += " points at a " + target.Type + " payload"
		} else if idUUID != "" {
			actual += " matches no payload"
		}
		fail("PROF-010", "the PayloadUUID of a SCEP, ACME or PKCS#12 payload in the profile", actual)
	}

	topic, _ := m.String("Topic")
	if !strings.HasPrefix(topic, "com.apple.mgmt.") {
		fail("PROF-011", "a Topic starting with com.apple.mgmt.", describeKey(m, "Topic"))
	} else {
		r.check("PROF-011", true, "", "")
	}

	var badURL []string
	server, _ := m.String("ServerURL")
	if !strings.HasPrefix(server, "https://") {
		badURL = append(badURL, "ServerURL "+describeKey(m, "ServerURL"))
	}
	if m.Has("CheckInURL") {
		if c, _ := m.String("CheckInURL"); !strings.HasPrefix(c, "https://") {
			badURL = append(badURL, "CheckInURL "+describeKey(m, "CheckInURL"))
		}
	}
	if len(badURL) > 0 {
		fail("PROF-012", "https ServerURL and CheckInURL", strings.Join(badURL, "; "))
	} else {
		r.check("PROF-012", true, "", "")
	}

	if r.c.Device.Family == Mac {
		caps, _ := m.Strings("ServerCapabilities")
		r.check("PROF-013", contains(caps, "com.apple.mdm.per-user-connections"), "ServerCapabilities with com.apple.mdm.per-user-connections for a Mac", fmt.Sprintf("%v", caps))
	} else {
		r.skip("PROF-013", "not a Mac")
	}

	if m.Has("RequiredAppIDForMDM") {
		if _, ok := m.Int("RequiredAppIDForMDM"); ok {
			r.check("PROF-014", true, "", "")
		} else if r.c.Device.Family == Mac {
			r.note("PROF-014", "RequiredAppIDForMDM is not an integer ("+describeKey(m, "RequiredAppIDForMDM")+"); macOS ignores the key")
		} else {
			fail("PROF-014", "an integer RequiredAppIDForMDM", describeKey(m, "RequiredAppIDForMDM"))
		}
	} else {
		r.skip("PROF-014", "no RequiredAppIDForMDM")
	}
	r.judgeACME(p)
	r.judgePayloadTypes(p)
	r.judgeTenant(server)

	if len(cancel) > 0 {
		msg := "the device cancels the enrollment: " + strings.Join(cancel, "; ")
		return &stop{OutcomeProfileRejected, msg}, StepFailed, msg
	}
	return nil, StepOK, fmt.Sprintf("%s profile for %s, %d payloads, %s", mode, assigned, len(p.Payloads), map[bool]string{true: "signed", false: "unsigned"}[p.Signed])
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func describeKey(p profile.Payload, key string) string {
	v, ok := p.Dict[key]
	if !ok {
		return "missing"
	}
	var s string
	switch x := v.(type) {
	case string:
		s = fmt.Sprintf("%q", x)
	default:
		s = fmt.Sprintf("%v (%T)", v, v)
	}
	// A hostile value (a 100,000-element array) must not become the text
	// of a finding.
	if len(s) > maxDescribed {
		s = fmt.Sprintf("%s… (%d bytes in all)", strings.ToValidUTF8(s[:maxDescribed], ""), len(s))
	}
	return s
}

// maxDescribed caps the text describeKey gives for one value.
const maxDescribed = 200

// judgeACME is PROF-015: the key rules of an ACME identity payload.
func (r *runner) judgeACME(p *profile.Profile) {
	acmes := p.OfType("com.apple.security.acme")
	if len(acmes) == 0 {
		r.skip("PROF-015", "no ACME payload")
		return
	}
	var bad []string
	for _, a := range acmes {
		hw, _ := a.Bool("HardwareBound")
		att, _ := a.Bool("Attest")
		if hw {
			kt, _ := a.String("KeyType")
			ks, _ := a.Int("KeySize")
			if kt != "ECSECPrimeRandom" || (ks != 256 && ks != 384) {
				bad = append(bad, fmt.Sprintf("HardwareBound with KeyType %q, KeySize %d (want ECSECPrimeRandom 256 or 384)", kt, ks))
			}
		}
		if att && !hw {
			bad = append(bad, "Attest without HardwareBound")
		}
		if d, _ := a.String("DirectoryURL"); !strings.HasPrefix(d, "https://") {
			bad = append(bad, fmt.Sprintf("DirectoryURL %q is not https", d))
		}
	}
	r.check("PROF-015", len(bad) == 0, "ACME key rules (HardwareBound: EC P-256/P-384; Attest needs HardwareBound; https DirectoryURL)", strings.Join(bad, "; "))
}

// judgePayloadTypes is PROF-016: a BYOD profile holds only payloads Apple's
// schema allows in user enrollment on this platform.
func (r *runner) judgePayloadTypes(p *profile.Profile) {
	if r.discovery.version != "mdm-byod" {
		r.skip("PROF-016", "not a user enrollment")
		return
	}
	platform := r.c.Device.Family.Platform()
	var bad []string
	for _, pl := range p.Payloads {
		if mode, known := profile.UserEnrollmentMode(pl.Type, platform); known && mode == profile.UEForbidden {
			bad = append(bad, pl.Type)
		}
	}
	r.check("PROF-016", len(bad) == 0, "only payload types user enrollment allows on "+platform+" (Apple's schema, "+profile.UserEnrollmentSchemaCommit()[:12]+")", "forbidden: "+strings.Join(bad, ", "))
}

// judgeTenant is PROF-018: the profile's ServerURL belongs to the
// organisation discovery pointed to (same host or same parent domain).
func (r *runner) judgeTenant(server string) {
	su, err1 := url.Parse(server)
	bu, err2 := url.Parse(r.discovery.baseURL)
	if err1 != nil || err2 != nil || su.Host == "" || bu.Host == "" {
		r.skip("PROF-018", "no ServerURL host to compare")
		return
	}
	same := strings.EqualFold(su.Hostname(), bu.Hostname()) || parentDomain(su.Hostname()) == parentDomain(bu.Hostname())
	r.check("PROF-018", same, "a ServerURL on the host family of the BaseURL ("+bu.Hostname()+")", su.Hostname())
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
