package sim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A sign-in answer that is not a 200 says what it says by its status and
// headers: a redirect whose body passes the page cap is still followed
// (a web view follows it on the headers), and an error page past the cap is
// judged by its status. Neither may end the sign-in on the simulator's own
// bound.
func TestSignInRedirectBodyPastThePageCap(t *testing.T) {
	huge := strings.Repeat("x", 2<<20) // past the 1 MiB page cap
	var rewritten int
	rep, evs := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
		if resp.StatusCode/100 == 3 && strings.Contains(req.URL.Path, "/auth/") {
			rewritten++
			resp.Body = io.NopCloser(strings.NewReader(huge))
			resp.ContentLength = int64(len(huge))
			resp.Header.Del("Content-Length")
		}
	})
	assert.Positive(t, rewritten, "the sign-in has a redirect to rewrite")
	assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s\n%s", caseMessage(evs), describe(rep))
	for _, r := range rep.Results {
		assert.NotEqual(t, check.Fail, r.Status, "%s: %s", r.ID, r.Actual)
	}
}

// An error page is judged by its status whatever its size: the same
// verdict for a short 404 and one past the page cap.
func TestSignInErrorPageJudgedByItsStatusPastThePageCap(t *testing.T) {
	verdict := func(body string) (string, check.Status) {
		rep, _ := playRewritten(t, "alice@acme.test", func(req *http.Request, resp *http.Response) {
			if req.Method == http.MethodGet && req.URL.Path == "/auth/login" {
				resp.StatusCode, resp.Status = http.StatusNotFound, "404 Not Found"
				resp.Body = io.NopCloser(strings.NewReader(body))
				resp.ContentLength = int64(len(body))
				resp.Header.Del("Content-Length")
			}
		})
		return rep.Outcome, result(rep, "AUTH-001").Status
	}
	shortOutcome, shortStatus := verdict("<p>not found</p>")
	hugeOutcome, hugeStatus := verdict(strings.Repeat("x", 2<<20))
	assert.Equal(t, check.Fail, shortStatus, "a 404 sign-in page fails AUTH-001")
	assert.Equal(t, shortStatus, hugeStatus)
	assert.Equal(t, shortOutcome, hugeOutcome)
}
