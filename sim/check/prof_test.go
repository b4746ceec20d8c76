package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pstr(s string) PlistValue { return PlistValue{Text: fmt.Sprintf("%q", s), Str: &s} }

func pint(n int64) PlistValue { return PlistValue{Text: fmt.Sprintf("%d (uint64)", n), Int: &n} }

// goodProfile is what the reference server's BYOD profile shows an iPhone.
func goodProfile() *Profile {
	return &Profile{
		ContentType: "application/x-apple-aspen-config",
		Signed:      true, Signer: "mdm.acme.test (issuer: Acme CA)", SignatureOK: true,
		Payloads: []ProfilePayload{
			{Type: "com.apple.security.scep", UUID: "U-SCEP", UserEnrollment: "allowed"},
			{Type: "com.apple.mdm", UUID: "U-MDM", UserEnrollment: "allowed"},
		},
		MDM: PlistDict{
			"EnrollmentMode":          pstr("BYOD"),
			"AssignedManagedAppleID":  pstr("alice@acme.test"),
			"IdentityCertificateUUID": pstr("U-SCEP"),
			"Topic":                   pstr("com.apple.mgmt.External.1"),
			"ServerURL":               pstr("https://mdm.acme.test/mdm/connect"),
			"CheckInURL":              pstr("https://mdm.acme.test/mdm/checkin"),
		},
		Version: "mdm-byod", BaseURL: "https://enroll.acme.test/enroll", Account: "alice@acme.test",
		Family: "iPhone", Platform: "iOS", UESchema: "0123456789abcdef",
	}
}

// judgeProfile judges o as the profile step does: the first half of PROF,
// TOK-008, the second half; "ID status" in order.
func judgeProfile(t *testing.T, o *Profile) (list []string, status map[string]Status, byID map[string]Result) {
	status, byID = map[string]Status{}, map[string]Result{}
	for _, v := range []*Verdicts{ProfileHead(o), ProfileToken(o), ProfileBody(o)} {
		require.Empty(t, v.Missing())
		for _, r := range v.Results {
			list = append(list, r.ID+" "+string(r.Status))
			if _, seen := status[r.ID]; !seen {
				status[r.ID] = r.Status
			}
			byID[r.ID] = r
		}
	}
	return list, status, byID
}

func TestProfileJudgeOrder(t *testing.T) {
	list, _, _ := judgeProfile(t, goodProfile())
	assert.Equal(t, []string{"PROF-019 pass", "PROF-002 pass", "PROF-017 pass", "PROF-003 pass", "PROF-004 pass", "PROF-005 pass",
		"PROF-006 pass", "TOK-008 pass", "PROF-007 pass", "PROF-008 skip", "PROF-009 pass", "PROF-010 pass", "PROF-011 pass",
		"PROF-012 pass", "PROF-013 skip", "PROF-014 skip", "PROF-015 skip", "PROF-016 pass", "PROF-018 pass"}, list,
		"the order of report/testdata/run.jsonl")

	o := goodProfile()
	o.ReadError = "the body is not a property list"
	list, _, _ = judgeProfile(t, o)
	assert.Equal(t, []string{"PROF-019 pass", "PROF-002 fail", "PROF-017 skip", "PROF-003 skip", "PROF-004 skip", "PROF-005 skip",
		"PROF-006 skip", "TOK-008 skip", "PROF-007 skip", "PROF-008 skip", "PROF-009 skip", "PROF-010 skip", "PROF-011 skip",
		"PROF-012 skip", "PROF-013 skip", "PROF-014 skip", "PROF-015 skip", "PROF-016 skip", "PROF-018 skip"}, list)

	o = goodProfile()
	o.Payloads, o.MDM = o.Payloads[:1], nil
	list, _, _ = judgeProfile(t, o)
	assert.Equal(t, []string{"PROF-019 pass", "PROF-002 pass", "PROF-017 pass", "PROF-003 fail", "PROF-004 skip", "PROF-005 skip",
		"PROF-006 skip", "TOK-008 skip", "PROF-007 skip", "PROF-008 skip", "PROF-009 skip", "PROF-010 skip", "PROF-011 skip",
		"PROF-012 skip", "PROF-013 skip", "PROF-014 skip", "PROF-018 skip", "PROF-016 pass", "PROF-015 skip"}, list,
		"without an MDM payload the payload types are still judged")
}

func TestProfileJudges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Profile)
		want   map[string]Status
		actual map[string]string // substrings of a result's Actual or Detail
	}{
		{"conforming", func(*Profile) {}, map[string]Status{"PROF-019": Pass, "PROF-002": Pass, "PROF-017": Pass, "PROF-003": Pass,
			"PROF-004": Pass, "PROF-005": Pass, "PROF-006": Pass, "TOK-008": Pass, "PROF-007": Pass, "PROF-008": Skip, "PROF-009": Pass,
			"PROF-010": Pass, "PROF-011": Pass, "PROF-012": Pass, "PROF-013": Skip, "PROF-014": Skip, "PROF-015": Skip, "PROF-016": Pass,
			"PROF-018": Pass}, nil},
		{"content type", func(o *Profile) { o.ContentType = "text/xml" }, map[string]Status{"PROF-019": Warn}, map[string]string{"PROF-019": `"text/xml"`}},
		{"content type with parameters", func(o *Profile) { o.ContentType = "application/x-apple-aspen-config; charset=utf-8" }, map[string]Status{"PROF-019": Pass}, nil},
		{"repeated content types", func(o *Profile) { o.Repeated = "2 Content-Type headers with different values" }, map[string]Status{"PROF-019": Pass}, nil},
		{"over the limit", func(o *Profile) { o.ReadError, o.OverLimit = "more than 100000 objects", true },
			map[string]Status{"PROF-002": Error, "PROF-003": Skip, "TOK-008": Skip}, map[string]string{"PROF-002": "100000 objects"}},
		{"problems", func(o *Profile) {
			o.Problems = []string{"top-level PayloadVersion is missing", "PayloadContent[1] has no PayloadUUID"}
		},
			map[string]Status{"PROF-002": Fail, "PROF-003": Pass}, map[string]string{"PROF-002": "missing; PayloadContent[1]"}},
		{"unsigned", func(o *Profile) { o.Signed = false }, map[string]Status{"PROF-017": Noted}, nil},
		{"bad signature", func(o *Profile) { o.SignatureOK, o.SignatureError = false, "crypto/rsa: verification error" },
			map[string]Status{"PROF-017": Pass}, map[string]string{"PROF-017": "does not verify: crypto/rsa"}},
		{"two MDM payloads", func(o *Profile) { o.Payloads = append(o.Payloads, ProfilePayload{Type: "com.apple.mdm", UUID: "U-2"}) },
			map[string]Status{"PROF-003": Fail, "PROF-004": Pass}, map[string]string{"PROF-003": "2"}},
		{"wrong mode", func(o *Profile) { o.MDM["EnrollmentMode"] = pstr("ADDE") },
			map[string]Status{"PROF-004": Fail, "PROF-007": Skip, "PROF-008": Skip}, map[string]string{"PROF-004": `"ADDE"`}},
		{"no assigned account", func(o *Profile) { delete(o.MDM, "AssignedManagedAppleID") },
			map[string]Status{"PROF-005": Fail, "PROF-006": Skip, "TOK-008": Skip}, map[string]string{"PROF-005": "missing"}},
		{"assigned account without a domain", func(o *Profile) { o.MDM["AssignedManagedAppleID"] = pstr("alice@") },
			map[string]Status{"PROF-005": Fail, "PROF-006": Skip, "TOK-008": Skip}, nil},
		{"another user", func(o *Profile) { o.MDM["AssignedManagedAppleID"] = pstr("bob@acme.test") },
			map[string]Status{"PROF-005": Pass, "PROF-006": Warn, "TOK-008": Warn}, map[string]string{"PROF-006": "bob@acme.test", "TOK-008": "a profile for bob@acme.test"}},
		{"the account in another case", func(o *Profile) { o.MDM["AssignedManagedAppleID"] = pstr("Alice@ACME.test") },
			map[string]Status{"PROF-006": Pass, "TOK-008": Pass}, nil},
		{"BYOD with AccessRights", func(o *Profile) { o.MDM["AccessRights"] = pint(8191) },
			map[string]Status{"PROF-007": Fail, "PROF-008": Skip}, map[string]string{"PROF-007": "8191"}},
		{"ADDE without AccessRights", adde(nil), map[string]Status{"PROF-007": Skip, "PROF-008": Skip, "PROF-016": Skip, "PROF-004": Pass}, nil},
		{"ADDE AccessRights 8191", adde(ptr(pint(8191))), map[string]Status{"PROF-008": Pass}, nil},
		{"ADDE AccessRights 0", adde(ptr(pint(0))), map[string]Status{"PROF-008": Fail}, map[string]string{"PROF-008": "0: 0"}},
		{"ADDE AccessRights 2", adde(ptr(pint(2))), map[string]Status{"PROF-008": Fail}, map[string]string{"PROF-008": "2: 2 without 1"}},
		{"ADDE AccessRights 128", adde(ptr(pint(129))), map[string]Status{"PROF-008": Fail}, map[string]string{"PROF-008": "128 without 64"}},
		{"ADDE AccessRights a string", adde(ptr(pstr("8191"))), map[string]Status{"PROF-008": Fail}, map[string]string{"PROF-008": `"8191"`}},
		{"ADDE AccessRights a real", adde(&PlistValue{Text: "8191 (float64)"}), map[string]Status{"PROF-008": Fail}, map[string]string{"PROF-008": "float64"}},
		{"neither mode", func(o *Profile) { o.MDM["EnrollmentMode"] = pstr("Device") },
			map[string]Status{"PROF-004": Fail, "PROF-007": Skip, "PROF-008": Skip}, map[string]string{"PROF-007": "neither BYOD nor ADDE"}},
		{"ManagedAppleID", func(o *Profile) { o.MDM["ManagedAppleID"] = pstr("alice@acme.test") },
			map[string]Status{"PROF-009": Warn}, map[string]string{"PROF-009": `"alice@acme.test"`}},
		{"identity matches nothing", func(o *Profile) { o.MDM["IdentityCertificateUUID"] = pstr("U-NONE") },
			map[string]Status{"PROF-010": Fail}, map[string]string{"PROF-010": "matches no payload"}},
		{"identity points at the MDM payload", func(o *Profile) { o.MDM["IdentityCertificateUUID"] = pstr("U-MDM") },
			map[string]Status{"PROF-010": Fail}, map[string]string{"PROF-010": "points at a com.apple.mdm payload"}},
		{"no identity", func(o *Profile) { delete(o.MDM, "IdentityCertificateUUID") },
			map[string]Status{"PROF-010": Fail}, map[string]string{"PROF-010": "IdentityCertificateUUID missing"}},
		{"topic", func(o *Profile) { o.MDM["Topic"] = pstr("com.acme.mdm.push") },
			map[string]Status{"PROF-011": Fail}, map[string]string{"PROF-011": `"com.acme.mdm.push"`}},
		{"http ServerURL", func(o *Profile) { o.MDM["ServerURL"] = pstr("http://mdm.acme.test/mdm/connect") },
			map[string]Status{"PROF-012": Fail, "PROF-018": Pass}, map[string]string{"PROF-012": "ServerURL"}},
		{"http CheckInURL", func(o *Profile) { o.MDM["CheckInURL"] = pstr("http://mdm.acme.test/checkin") },
			map[string]Status{"PROF-012": Fail}, map[string]string{"PROF-012": "CheckInURL"}},
		{"no CheckInURL", func(o *Profile) { delete(o.MDM, "CheckInURL") }, map[string]Status{"PROF-012": Pass}, nil},
		{"Mac without per-user connections", mac([]string{"com.apple.mdm.bootstraptoken"}),
			map[string]Status{"PROF-013": Warn}, map[string]string{"PROF-013": "[com.apple.mdm.bootstraptoken]"}},
		{"Mac with per-user connections", mac([]string{"com.apple.mdm.per-user-connections"}), map[string]Status{"PROF-013": Pass}, nil},
		{"RequiredAppIDForMDM an integer", func(o *Profile) { o.MDM["RequiredAppIDForMDM"] = pint(1234567890) },
			map[string]Status{"PROF-014": Pass}, nil},
		{"RequiredAppIDForMDM a string", func(o *Profile) { o.MDM["RequiredAppIDForMDM"] = pstr("1234567890") },
			map[string]Status{"PROF-014": Fail}, map[string]string{"PROF-014": `"1234567890"`}},
		{"RequiredAppIDForMDM a string on a Mac", func(o *Profile) {
			mac([]string{"com.apple.mdm.per-user-connections"})(o)
			o.MDM["RequiredAppIDForMDM"] = pstr("1234567890")
		}, map[string]Status{"PROF-014": Noted}, map[string]string{"PROF-014": "macOS ignores the key"}},
		{"ACME hardware-bound RSA", acme(ACMEPayload{HardwareBound: true, KeyType: "RSA", KeySize: 2048, DirectoryURL: "https://acme.acme.test/dir"}),
			map[string]Status{"PROF-015": Fail}, map[string]string{"PROF-015": `KeyType "RSA", KeySize 2048`}},
		{"ACME attest without hardware binding", acme(ACMEPayload{Attest: true, DirectoryURL: "https://acme.acme.test/dir"}),
			map[string]Status{"PROF-015": Fail}, map[string]string{"PROF-015": "Attest without HardwareBound"}},
		{"ACME http directory", acme(ACMEPayload{DirectoryURL: "http://acme.acme.test/dir"}),
			map[string]Status{"PROF-015": Fail}, map[string]string{"PROF-015": "is not https"}},
		{"ACME conforming", acme(ACMEPayload{HardwareBound: true, Attest: true, KeyType: "ECSECPrimeRandom", KeySize: 384, DirectoryURL: "https://acme.acme.test/dir"}),
			map[string]Status{"PROF-015": Pass}, nil},
		{"forbidden payload", func(o *Profile) {
			o.Payloads = append(o.Payloads, ProfilePayload{Type: "com.apple.domains", UUID: "U-D", UserEnrollment: "forbidden"})
		}, map[string]Status{"PROF-016": Warn}, map[string]string{"PROF-016": "forbidden: com.apple.domains"}},
		{"another tenant", func(o *Profile) { o.MDM["ServerURL"] = pstr("https://mdm.globex.test/mdm/connect") },
			map[string]Status{"PROF-018": Warn, "PROF-012": Pass}, map[string]string{"PROF-018": "mdm.globex.test"}},
		{"the same host", func(o *Profile) { o.MDM["ServerURL"] = pstr("https://enroll.acme.test/mdm") }, map[string]Status{"PROF-018": Pass}, nil},
		{"no ServerURL", func(o *Profile) { delete(o.MDM, "ServerURL") },
			map[string]Status{"PROF-012": Fail, "PROF-018": Skip}, map[string]string{"PROF-012": "ServerURL missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := goodProfile()
			tc.change(o)
			_, got, byID := judgeProfile(t, o)
			for id, want := range tc.want {
				assert.Equal(t, want, got[id], "%s: %+v", id, byID[id])
			}
			for id, sub := range tc.actual {
				assert.Contains(t, byID[id].Actual+byID[id].Detail, sub, id)
			}
		})
	}
}

func adde(rights *PlistValue) func(o *Profile) {
	return func(o *Profile) {
		o.Version = "mdm-adde"
		o.MDM["EnrollmentMode"] = pstr("ADDE")
		if rights != nil {
			o.MDM["AccessRights"] = *rights
		}
	}
}

func mac(caps []string) func(o *Profile) {
	return func(o *Profile) {
		o.Family, o.Platform = "Mac", "macOS"
		o.MDM["ServerCapabilities"] = PlistValue{Text: fmt.Sprint(caps), Strings: caps}
	}
}

func acme(a ACMEPayload) func(o *Profile) {
	return func(o *Profile) {
		o.ACME = append(o.ACME, a)
		o.Payloads = append(o.Payloads, ProfilePayload{Type: "com.apple.security.acme", UUID: "U-ACME", UserEnrollment: "allowed"})
	}
}

// The cancellation the device makes is on the failures it refuses a
// profile for, not on every failed check.
func TestProfileCancels(t *testing.T) {
	o := goodProfile()
	o.MDM["Topic"] = pstr("com.acme.mdm.push")
	o.MDM["ServerURL"] = pstr("https://mdm.globex.test/mdm/connect")
	o.ACME = []ACMEPayload{{DirectoryURL: "http://acme.test"}}
	head, body := ProfileHead(o), ProfileBody(o)
	assert.Equal(t, []string{`PROF-011: "com.acme.mdm.push"`}, ProfileCancels(head, body),
		"PROF-015 fails and PROF-018 warns without the device cancelling")
	assert.Empty(t, ProfileCancels(ProfileHead(goodProfile()), ProfileBody(goodProfile())))
}

// A saved observation is judged the same as the step's own.
func TestProfileRoundTrips(t *testing.T) {
	for _, change := range []func(*Profile){
		func(*Profile) {}, adde(ptr(pint(2))), mac(nil),
		func(o *Profile) { o.MDM["RequiredAppIDForMDM"] = pstr("1") },
		acme(ACMEPayload{HardwareBound: true, KeyType: "RSA", KeySize: 2048}),
	} {
		o := goodProfile()
		change(o)
		b, err := json.Marshal(&Observations{Profile: o})
		require.NoError(t, err)
		var back Observations
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, JudgeAll(&Observations{Profile: o}), JudgeAll(&back), string(b))
	}
}

func TestProfileJudgesRegistered(t *testing.T) {
	groups := map[string][]string{}
	for _, j := range Judges() {
		if j.Reads == "profile" {
			groups[j.Group] = j.Owns
		}
	}
	assert.Equal(t, []string{"TOK-008"}, groups["TOK"])
	assert.Len(t, groups["PROF"], 18)
	for _, id := range groups["PROF"] {
		assert.True(t, strings.HasPrefix(id, "PROF-"), id)
	}
	assert.Empty(t, JudgeAll(&Observations{}), "no profile, no verdicts")
	n := 0
	for _, r := range JudgeAll(&Observations{Profile: goodProfile()}) {
		if strings.HasPrefix(r.ID, "PROF-") || r.ID == "TOK-008" {
			n++
		}
	}
	assert.Equal(t, 19, n)
}
