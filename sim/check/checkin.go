package check

// Identity is what the identity step observed: how CHK-001 came out.
// At most one of Skip, Error and Finding is set; none when a certificate
// was issued (Issued says which).
type Identity struct {
	Skip     string `json:"skip,omitempty"`    // the identity cannot be simulated (PKCS#12, ACME)
	Error    string `json:"error,omitempty"`   // the tester could not judge (its timeout, its limit, no payload)
	Finding  string `json:"finding,omitempty"` // the server's failure
	Expected string `json:"expected,omitempty"`
	Issued   string `json:"issued,omitempty"` // the certificate's subject, issuer and key
	// CaseGoesOn: the case plays check-in (its Until), so the checks
	// after are blocked when there is no identity.
	CaseGoesOn bool `json:"case_goes_on,omitempty"`
}

// CheckIn is what the check-in step observed.
type CheckIn struct {
	// NoCheckIn says why the device cannot check in at all (the MDM
	// payload lacks what it needs): the checks after are skipped.
	NoCheckIn string `json:"no_check_in,omitempty"`
	// CannotSend says why the tester could not send (no identity, a client
	// that cannot present one): the checks after are errors.
	CannotSend      string       `json:"cannot_send,omitempty"`
	UserEnrollment  bool         `json:"user_enrollment,omitempty"`
	Mac             bool         `json:"mac,omitempty"`
	Platform        string       `json:"platform,omitempty"` // the device's platform, named in skips
	PerUserCap      bool         `json:"per_user,omitempty"` // ServerCapabilities has com.apple.mdm.per-user-connections
	Authenticate    *MDMExchange `json:"authenticate,omitempty"`
	TokenUpdate     *MDMExchange `json:"token_update,omitempty"`
	UserTokenUpdate *MDMExchange `json:"user_token_update,omitempty"` // the Mac's user channel
	// Stopped is the step's stop message when check-in ended the flow.
	Stopped string `json:"stopped,omitempty"`
}

// Commands is what the commands step observed: every connect the device
// sent, the first one's answer, and what the commands asked.
type Commands struct {
	UserEnrollment bool          `json:"user_enrollment,omitempty"`
	Connects       []MDMExchange `json:"connects,omitempty"`
	// FirstBad says why the first connect's 200 carried no command plist.
	FirstBad string `json:"first_bad,omitempty"`
	// Withheld is what commands asked that user enrollment withholds.
	Withheld []string `json:"withheld,omitempty"`
	// Forbidden are the commands of a user enrollment that Apple's schema
	// forbids there on the device's platform (the device refused each).
	Forbidden []ForbiddenCommand `json:"forbidden,omitempty"`
	// ForbiddenPayloads are the payloads of InstallProfile commands to a
	// user enrollment that Apple's schema forbids there (CMD-002).
	ForbiddenPayloads []ForbiddenPayload `json:"forbidden_payloads,omitempty"`
	// Unavailable are the commands the device's platform or OS version
	// does not have (CMD-003), each with why.
	Unavailable []string `json:"unavailable,omitempty"`
}

// ForbiddenPayload is one payload of an InstallProfile that a user
// enrollment refuses.
type ForbiddenPayload struct {
	PayloadType       string `json:"payload_type"`
	PayloadIdentifier string `json:"payload_identifier,omitempty"`
	Platform          string `json:"platform"`
	CommandUUID       string `json:"command_uuid"`
}

// ForbiddenCommand is one command a user enrollment must never get.
type ForbiddenCommand struct {
	RequestType string `json:"request_type"`
	Platform    string `json:"platform"` // iOS, macOS or visionOS: whose schema forbids it
	Text        string `json:"text"`     // the command as received, credentials masked
}

// sent are the device's own check-in and connect requests, in order.
func sent(c *CheckIn, m *Commands) []MDMExchange {
	var out []MDMExchange
	if c != nil {
		for _, x := range []*MDMExchange{c.Authenticate, c.TokenUpdate, c.UserTokenUpdate} {
			if x != nil {
				out = append(out, *x)
			}
		}
	}
	if m != nil {
		out = append(out, m.Connects...)
	}
	return out
}
