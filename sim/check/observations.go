package check

// Observations are everything one case observed, one field per step that
// observes for a judge; nil when the step did not play. Steps fill them in,
// the engine hands them to the judges, and tests save them as JSON under
// testdata/observations so the judges can be table-tested without a server.
type Observations struct {
	Registration *Registration `json:"registration,omitempty"` // axm-registration (ABM)
	Discovery    *Discovery    `json:"discovery,omitempty"`    // discovery: the well-known chain and its probes (WK, RD)
	Fallback     *Fallback     `json:"fallback,omitempty"`     // axm-fallback (ABM, WK)
	Document     *Document     `json:"document,omitempty"`     // process-document (WK)
	Challenge    *Challenge    `json:"challenge,omitempty"`    // enroll-challenge (ENR)
	ESSO         *ESSO         `json:"esso,omitempty"`         // enrollment-sso (ESSO)
	SignIn       *SignIn       `json:"sign_in,omitempty"`      // web-login or oauth2 (AUTH, TOTP)
	Enroll       *Enroll       `json:"enroll,omitempty"`       // enroll: the POST with the token (TOK, PROF, AUTH)
	Profile      *Profile      `json:"profile,omitempty"`      // profile (PROF, TOK)
	Identity     *Identity     `json:"identity,omitempty"`     // identity: SCEP (CHK)
	CheckIn      *CheckIn      `json:"check_in,omitempty"`     // check-in (CHK, TOK)
	Commands     *Commands     `json:"commands,omitempty"`     // commands (CHK, TOK)
	Push         *PushLife     `json:"push,omitempty"`         // commands: the pushes that woke them (PUSH)
	DDM          *DDM          `json:"ddm,omitempty"`          // ddm: the declarative-management sync (DDM)
	TokenLife    *TokenLife    `json:"token_life,omitempty"`   // token-life (CHK, TOK)
	Transport    *Transport    `json:"transport,omitempty"`    // every connection of the case (SEC)
}
