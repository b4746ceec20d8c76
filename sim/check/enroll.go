package check

import (
	"fmt"
	"strings"
)

// Enroll is what the enroll step observed: the probes without a valid token,
// the POST with the token, and the refresh grant after it.
type Enroll struct {
	// Probes are TOK-002/003: the first POST without a token, then a
	// malformed header, another scheme and a random token; nil with
	// --no-probes.
	Probes []TokenProbe `json:"probes,omitempty"`
	Answer TokenAnswer  `json:"answer"` // to the POST with the token
	// Callback is how the token stood in the callback URL (AUTH-005); nil
	// when it did not come in one.
	Callback *CallbackToken `json:"callback,omitempty"`
	OAuth2   bool           `json:"oauth2,omitempty"` // an apple-oauth2 sign-in
	// RefreshToken: the token response carried a refresh_token.
	RefreshToken bool `json:"refresh_token,omitempty"`
	// Refresh is the refresh grant after enrollment (AUTH-015); nil when it
	// was not sent.
	Refresh *Grant `json:"refresh,omitempty"`
}

// TokenProbe is one POST without a valid token.
type TokenProbe struct {
	What       string `json:"what"`
	Status     int    `json:"status,omitempty"`
	Challenged bool   `json:"challenged,omitempty"` // the answer carries a WWW-Authenticate
	// NoAnswer is why no status came (status 0).
	NoAnswer string `json:"no_answer,omitempty"`
}

// TokenAnswer is the answer to the POST with the token.
type TokenAnswer struct {
	Status int    `json:"status,omitempty"`
	Bytes  int    `json:"bytes,omitempty"` // of the body
	Err    string `json:"err,omitempty"`   // the transport's error when no status came
	// Unjudgeable is why the tester cannot judge the answer (no answer, a
	// 200 whose body broke off), "" when it can.
	Unjudgeable string `json:"unjudgeable,omitempty"`
}

// CallbackToken is what AUTH-005 needs of the token as it stood in the
// callback URL, without the token.
type CallbackToken struct {
	DecodeErr string `json:"decode_err,omitempty"` // it is not valid percent-encoding
	Differs   bool   `json:"differs,omitempty"`    // its decoded form differs from the encoded one
}

// Grant is the answer of the token endpoint to a grant.
type Grant struct {
	Status      int      `json:"status,omitempty"`
	Unjudgeable string   `json:"unjudgeable,omitempty"`
	Problems    []string `json:"problems,omitempty"` // what the token response lacks
}

func init() {
	onEnroll := func(f func(*Enroll) *Verdicts) func(*Observations) *Verdicts {
		return func(o *Observations) *Verdicts {
			if o.Enroll == nil {
				return nil
			}
			return f(o.Enroll)
		}
	}
	register(Judge{Group: "TOK", Reads: "enroll", Owns: []string{"TOK-002", "TOK-003", "TOK-001"}, Run: onEnroll(JudgeEnrollToken)})
	register(Judge{Group: "PROF", Reads: "enroll", Owns: []string{"PROF-001"}, Run: onEnroll(JudgeEnrollAnswer)})
	register(Judge{Group: "AUTH", Reads: "enroll", Owns: []string{"AUTH-005", "AUTH-015"}, Run: onEnroll(JudgeEnrollAuth)})
}

// Enrolled: the POST with the token got the profile (TOK-001).
func (o *Enroll) Enrolled() bool {
	return o.Answer.Unjudgeable == "" && o.Answer.Status == 200 && o.Answer.Bytes > 0
}

// Actual says what came, for a verdict or a message.
func (a TokenAnswer) Actual() string {
	if a.Status == 0 {
		return a.Err
	}
	return fmt.Sprintf("status %d, %d bytes", a.Status, a.Bytes)
}

// JudgeEnrollToken is TOK-002/003 (no valid token is refused, and how) and
// TOK-001 (the token gets the profile).
func JudgeEnrollToken(o *Enroll) *Verdicts {
	v := NewVerdicts("TOK-002", "TOK-003", "TOK-001")
	if o.Probes == nil {
		v.SkipAll("probes are off (--no-probes)", "TOK-002", "TOK-003")
	} else {
		judgeTokenProbes(v, o.Probes)
	}
	if o.Answer.Unjudgeable != "" {
		v.Error("TOK-001", o.Answer.Unjudgeable)
		return v
	}
	v.Check("TOK-001", o.Enrolled(), "200 with the profile for the Bearer token", o.Answer.Actual())
	return v
}

// judgeTokenProbes: no token, a malformed header and a random token must
// all be refused, with a challenge or a 400/403, never a 5xx.
func judgeTokenProbes(v *Verdicts, ps []TokenProbe) {
	var accepted, badRefusal, unanswered []string
	for _, p := range ps {
		switch {
		case p.Status == 200:
			accepted = append(accepted, p.What)
		case p.Status == 0:
			// Not the server's refusal: the tester cannot say what it was.
			unanswered = append(unanswered, p.What+": "+p.NoAnswer)
		case p.Status == 401 && !p.Challenged:
			badRefusal = append(badRefusal, p.What+": 401 without a challenge")
		case p.Status >= 500:
			badRefusal = append(badRefusal, fmt.Sprintf("%s: %d", p.What, p.Status))
		}
	}
	if len(accepted) == 0 && len(unanswered) > 0 {
		v.Error("TOK-002", strings.Join(unanswered, "; "))
	} else {
		v.Check("TOK-002", len(accepted) == 0, "an error status without a valid token", "200 for "+strings.Join(accepted, ", "))
	}
	if len(badRefusal) == 0 && len(unanswered) > 0 {
		v.Error("TOK-003", strings.Join(unanswered, "; "))
	} else {
		v.Check("TOK-003", len(badRefusal) == 0, "401 with a fresh challenge, or 400/403; never a 5xx", strings.Join(badRefusal, "; "))
	}
}

// JudgeEnrollAnswer is PROF-001: the authorized POST returns a body.
func JudgeEnrollAnswer(o *Enroll) *Verdicts {
	v := NewVerdicts("PROF-001")
	if o.Answer.Unjudgeable != "" {
		v.Error("PROF-001", o.Answer.Unjudgeable)
		return v
	}
	v.Check("PROF-001", o.Answer.Status == 200 && o.Answer.Bytes > 0, "200 with a non-empty body", o.Answer.Actual())
	return v
}

// JudgeEnrollAuth is AUTH-005 (the callback's token decodes to the one the
// server accepts) and AUTH-015 (the refresh grant, after enrollment).
func JudgeEnrollAuth(o *Enroll) *Verdicts {
	v := NewVerdicts("AUTH-005", "AUTH-015")
	a := o.Answer
	switch {
	case a.Unjudgeable != "" && a.Status != 200:
		v.Skip("AUTH-005", "the enrollment request with the token got no answer")
	case o.Callback == nil:
		v.Skip("AUTH-005", "the token did not come in a callback URL")
	case a.Status == 200:
		v.Check("AUTH-005", true, "", "")
	case o.Callback.DecodeErr != "":
		v.Check("AUTH-005", false, "a correctly percent-encoded access-token", "the access-token is not valid percent-encoding: "+o.Callback.DecodeErr)
	case o.Callback.Differs && (a.Status == 401 || a.Status == 403):
		v.Check("AUTH-005", false, "an access-token that decodes to the token the server accepts",
			fmt.Sprintf("the server refused the decoded token (%d); the callback's form differs from it (unescaped '+' or '%%' in the token?)", a.Status))
	default:
		v.Skip("AUTH-005", "the token was refused, but not because of its encoding")
	}
	judgeRefresh(v, o)
	return v
}

// judgeRefresh is AUTH-015: the refresh grant gives a new access token.
func judgeRefresh(v *Verdicts, o *Enroll) {
	r := o.Refresh
	switch {
	case o.Answer.Unjudgeable != "":
		v.Skip("AUTH-015", "the enrollment request with the token could not be judged")
	case !o.OAuth2:
		v.Skip("AUTH-015", "not an OAuth 2 enrollment")
	case !o.Enrolled():
		v.Skip("AUTH-015", "no enrollment to refresh")
	case !o.RefreshToken:
		v.Skip("AUTH-015", "the token response had no refresh_token")
	case r == nil:
		v.Skip("AUTH-015", "the refresh grant was not sent")
	case r.Unjudgeable != "":
		v.Error("AUTH-015", r.Unjudgeable)
	default:
		actual := fmt.Sprintf("status %d", r.Status)
		if len(r.Problems) > 0 {
			actual += ": " + strings.Join(r.Problems, "; ")
		}
		v.Check("AUTH-015", r.Status == 200 && len(r.Problems) == 0, "200 with a new access token for grant_type=refresh_token", actual)
	}
}
