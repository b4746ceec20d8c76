package check

// TokenLife is what the token-life step observed: GetToken, the probes
// (a wrong Topic, another enrollment's token), what the server did when
// the target's admin hooks asked it to act, and CheckOut. A probe's field
// is nil when it was not sent.
type TokenLife struct {
	NoProbes bool `json:"no_probes,omitempty"` // --no-probes: no probe and no admin hook
	// NoToken says why no request of token life carries the token ("" when
	// one does); "blocked..." when the server refused what it needs.
	NoToken  string      `json:"no_token,omitempty"`
	OAuth    bool        `json:"oauth,omitempty"` // an OAuth 2 enrollment: its token has an expiry
	GetToken GetToken    `json:"get_token"`
	Topic    *TopicProbe `json:"topic,omitempty"`
	Other    *OtherProbe `json:"other,omitempty"`
	Revoke   *Reauth     `json:"revoke,omitempty"` // TOK-006
	Expire   *Reauth     `json:"expire,omitempty"` // TOK-009
	Unenroll *Unenroll   `json:"unenroll,omitempty"`
	CheckOut CheckOut    `json:"check_out"`
}

// GetToken is CHK-010's observation: GetToken for com.apple.maid and (with
// probes) for a service no server issues.
type GetToken struct {
	NotAdvertised bool         `json:"not_advertised,omitempty"` // ServerCapabilities lacks com.apple.mdm.token
	Why           string       `json:"why,omitempty"`            // an answer could not be judged
	Problem       string       `json:"problem,omitempty"`        // the com.apple.maid answer carries no TokenData
	Size          int          `json:"size,omitempty"`           // of the TokenData (never the data: a credential)
	JWTProblem    string       `json:"jwt_problem,omitempty"`    // why the TokenData is not a signed JWT
	Unknown       *ReplyAnswer `json:"unknown,omitempty"`        // the answer for TokenServiceUnknown
}

// ReplyAnswer is an MDM answer's status and its bounded summary.
type ReplyAnswer struct {
	Status  int    `json:"status"`
	Summary string `json:"summary,omitempty"`
}

// TokenServiceUnknown is a TokenServiceType no server issues (CHK-010).
const TokenServiceUnknown = "com.enrollsim.unknown-service"

// TopicProbe is CHK-007's: a TokenUpdate with a Topic that is not the
// profile's, then the device's own TokenUpdate again to restore.
type TopicProbe struct {
	Topic  string      `json:"topic"`
	Why    string      `json:"why,omitempty"`
	Answer ReplyAnswer `json:"answer"`
	// Restore is an error note when the restoring TokenUpdate was refused.
	Restore string `json:"restore,omitempty"`
}

// OtherProbe is CHK-009's and TOK-008's: this enrollment connects with the
// token of a second device's enrollment.
type OtherProbe struct {
	NoSecond string      `json:"no_second,omitempty"` // why there is no second enrollment
	Why      string      `json:"why,omitempty"`       // the probe's connect could not be judged
	Answer   ReplyAnswer `json:"answer"`
	Restore  string      `json:"restore,omitempty"`
	// Own and Assigned are the AssignedManagedAppleID of this profile and
	// of the second's; Account is who signed in for both.
	Own      string `json:"own,omitempty"`
	Assigned string `json:"assigned,omitempty"`
	Account  string `json:"account,omitempty"`
}

// Reauth is TOK-006's or TOK-009's: the server drops the token (its admin
// hook), the device connects, signs in again and sends the request again.
type Reauth struct {
	What   string      `json:"what"` // the hook: revoke-token, expire-token
	NoHook bool        `json:"no_hook,omitempty"`
	Why    string      `json:"why,omitempty"` // the hook, the connect or the retry could not be judged
	Answer ReplyAnswer `json:"answer"`
	// Challenged: the answer's challenge could be read; Method is its
	// method.
	Challenged  bool        `json:"challenged,omitempty"`
	Method      string      `json:"method,omitempty"`
	SignedIn    bool        `json:"signed_in,omitempty"`
	How         string      `json:"how,omitempty"` // silent refresh, sign-in, authorization
	SignInWhy   string      `json:"sign_in_why,omitempty"`
	SignInBlame bool        `json:"sign_in_blame,omitempty"` // the sign-in failed through the server's fault
	Retry       ReplyAnswer `json:"retry"`
}

// Unenroll is TOK-007's: the server unenrolls a device (its admin hook),
// which connects again.
type Unenroll struct {
	Who     string      `json:"who"`
	Blocked string      `json:"blocked,omitempty"` // no device to unenroll
	NoHook  bool        `json:"no_hook,omitempty"`
	Why     string      `json:"why,omitempty"`
	Answer  ReplyAnswer `json:"answer"`
	Asked   bool        `json:"asked,omitempty"`    // 403 com.apple.unrecognized.device
	Bare401 bool        `json:"bare_401,omitempty"` // 401 without a challenge
}

// CheckOut is CHK-011's: the CheckOut a device sends, without a token,
// when its profile goes.
type CheckOut struct {
	NotSet bool        `json:"not_set,omitempty"` // the profile does not set CheckOutWhenRemoved
	Why    string      `json:"why,omitempty"`
	Answer ReplyAnswer `json:"answer"`
}
