package sim

import (
	"net/http"

	"github.com/enrollsim/enrollsim/sim/check"
)

// The WWW-Authenticate reader lives in package check, with the judges that
// read its results; these names keep the steps that meet a challenge again
// (a new sign-in, a refused token) reading it the same way.

// Bounds on what the challenge parser reads (check.MaxChallengeBytes...).
const (
	maxChallengeBytes  = check.MaxChallengeBytes
	maxChallenges      = check.MaxChallenges
	maxChallengeParams = check.MaxChallengeParams
)

// Challenge is one parsed challenge of a 401 (§2.6), as check's reader
// gives it.
type Challenge struct{ *check.AuthChallenge }

func (c *Challenge) isBearer() bool { return c.IsBearer() }

// ParseChallenges reads every challenge of every WWW-Authenticate value of
// an answer, in order (check.ParseChallenges).
func ParseChallenges(values []string) ([]*Challenge, error) {
	cs, err := check.ParseChallenges(values)
	if cs == nil {
		return nil, err
	}
	out := make([]*Challenge, len(cs))
	for i, c := range cs {
		out[i] = &Challenge{c}
	}
	return out, err
}

// pickBearer is the device's choice among the challenges (check.PickBearer).
func pickBearer(cs []*Challenge) (chosen *Challenge, index, bearers int) {
	in := make([]*check.AuthChallenge, len(cs))
	for i, c := range cs {
		in[i] = c.AuthChallenge
	}
	_, index, bearers = check.PickBearer(in)
	if index < 0 {
		return nil, index, bearers
	}
	return cs[index], index, bearers
}

// hasChallenge: the answer carries a WWW-Authenticate that is not blank.
func hasChallenge(h http.Header) bool { return check.HasChallenge(check.Header(h)) }

// maxResultText bounds each text of a check result (Expected, Actual,
// Detail): a hostile server's URL or header can be a megabyte.
const maxResultText = 2000

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string { return check.Truncate(s, n) }

// runeCut is the longest prefix of s of at most n bytes that does not split
// a character.
func runeCut(s string, n int) string { return check.RuneCut(s, n) }
