package check

// Profile is what the profile step observed (§2.11): the response's media
// type, whether the body read as a configuration profile, and the facts of
// it the PROF checks and TOK-008 judge, with what the case expected.
//
// The profile travels as facts, not as the decoded plist: through JSON a
// decoded map[string]any would lose the difference between an integer and
// a real or a string and data, which PROF-008 and PROF-014 judge.
type Profile struct {
	// ContentType is the response's first Content-Type; Repeated says how
	// repeated Content-Types differed ("" when they did not).
	ContentType string `json:"content_type"`
	Repeated    string `json:"repeated,omitempty"`

	// ReadError says why the body did not read as a profile, "" when it
	// did; OverLimit when it was the simulator's own limit that stopped
	// it, so that the tester cannot judge the profile.
	ReadError string `json:"read_error,omitempty"`
	OverLimit bool   `json:"over_limit,omitempty"`
	// Problems are the structural problems the reader found (PROF-002).
	Problems []string `json:"problems,omitempty"`

	// Signed when the body was CMS SignedData, by Signer; SignatureOK when
	// the signature verifies, else SignatureError says why not.
	Signed         bool   `json:"signed,omitempty"`
	Signer         string `json:"signer,omitempty"`
	SignatureOK    bool   `json:"signature_ok,omitempty"`
	SignatureError string `json:"signature_error,omitempty"`

	// Payloads are the dictionaries of PayloadContent, in order.
	Payloads []ProfilePayload `json:"payloads,omitempty"`
	// MDM is the first com.apple.mdm payload's keys that the checks read
	// (ProfileMDMKeys); nil when there is none.
	MDM PlistDict `json:"mdm,omitempty"`
	// ACME are the com.apple.security.acme payloads (PROF-015).
	ACME []ACMEPayload `json:"acme,omitempty"`

	// What the case expected: discovery's version (mdm-byod, mdm-adde) and
	// BaseURL, the account the token was issued to, the device's family
	// ("Mac"...) and platform ("iOS", "macOS"...).
	Version  string `json:"version"`
	BaseURL  string `json:"base_url"`
	Account  string `json:"account"`
	Family   string `json:"family"`
	Platform string `json:"platform"`
	// UESchema is the commit of Apple's device-management schema the
	// payloads' user-enrollment modes come from.
	UESchema string `json:"ue_schema,omitempty"`
}

// ProfilePayload is one payload of the profile.
type ProfilePayload struct {
	Type string `json:"type"`
	UUID string `json:"uuid,omitempty"`
	// UserEnrollment is the payload type's user-enrollment mode on the
	// device's platform in Apple's schema ("allowed", "forbidden",
	// "ignored"...), "" when the schema does not list it.
	UserEnrollment string `json:"user_enrollment,omitempty"`
}

// ACMEPayload is what PROF-015 reads of an ACME identity payload: each key's
// value when it has the expected type, the zero value otherwise.
type ACMEPayload struct {
	HardwareBound bool   `json:"hardware_bound,omitempty"`
	Attest        bool   `json:"attest,omitempty"`
	KeyType       string `json:"key_type,omitempty"`
	KeySize       int64  `json:"key_size,omitempty"`
	DirectoryURL  string `json:"directory_url,omitempty"`
}

// ProfileMDMKeys are the keys of the MDM payload the checks read: the step
// records these in Profile.MDM.
var ProfileMDMKeys = []string{
	"EnrollmentMode", "AssignedManagedAppleID", "AccessRights", "ManagedAppleID", "IdentityCertificateUUID",
	"Topic", "ServerURL", "CheckInURL", "ServerCapabilities", "RequiredAppIDForMDM",
}

// PlistDict is what a step read of some keys of a plist dictionary; a key
// not in it was missing.
type PlistDict map[string]PlistValue

// PlistValue is one plist value as the step read it: the forms a check
// compares, each set only when the value has that type, and how a finding
// quotes it.
type PlistValue struct {
	// Text quotes the value in findings: a string in quotes, anything else
	// with its type, cut when long.
	Text string `json:"text"`
	// Str is the value when a string; Int when an integer that fits an
	// int64 (reals and numeric strings are not integers).
	Str *string `json:"string,omitempty"`
	Int *int64  `json:"int,omitempty"`
	// Strings is the value when an array of strings.
	Strings []string `json:"strings,omitempty"`
}

// Has reports whether key was present.
func (d PlistDict) Has(key string) bool {
	_, ok := d[key]
	return ok
}

// String is key's value when it is a string.
func (d PlistDict) String(key string) (string, bool) {
	if v := d[key].Str; v != nil {
		return *v, true
	}
	return "", false
}

// Int is key's value when it is an integer.
func (d PlistDict) Int(key string) (int64, bool) {
	if v := d[key].Int; v != nil {
		return *v, true
	}
	return 0, false
}

// Strings is key's value when it is an array of strings.
func (d PlistDict) Strings(key string) []string { return d[key].Strings }

// Describe quotes key's value for a finding: "missing" when absent.
func (d PlistDict) Describe(key string) string {
	v, ok := d[key]
	if !ok {
		return "missing"
	}
	return v.Text
}
