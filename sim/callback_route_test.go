package sim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// issuedLog collects every credential a reference server mints.
type issuedLog struct {
	mu  sync.Mutex
	all []string
}

func (l *issuedLog) add(v string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all = append(l.all, v)
}

func (l *issuedLog) values() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// leakedCredentials names the credentials that show in text in any form
// the redactor registers.
func leakedCredentials(text string, creds []string) []string {
	var out []string
	for _, c := range creds {
		for _, form := range []string{c, url.QueryEscape(c), base64.StdEncoding.EncodeToString([]byte(c)), base64.RawURLEncoding.EncodeToString([]byte(c))} {
			if strings.Contains(text, form) {
				out = append(out, form)
			}
		}
	}
	return out
}

// A callback a page delivers (meta refresh, script navigation, a script
// that fetches it as JSON) ends a device's web session as a 308 does: the
// verdict is the same with either driver, nothing trips, AUTH-003 judges
// the URL and AUTH-004 notes the route. The token, which arrives in a
// body, is redacted from every event before it is emitted.
func TestCallbackInAPageJudgedTheSameByBothDrivers(t *testing.T) {
	// Long (the browser signs in several times): alongside the others.
	t.Parallel()
	for _, fault := range []string{refserver.FaultCallbackMetaRefresh, refserver.FaultCallbackScriptNav, refserver.FaultCallbackInJSONBody} {
		t.Run(fault, func(t *testing.T) {
			t.Parallel()
			var issued issuedLog
			target := startRefWith(t, 10*time.Second, refserver.Config{Faults: []string{fault}, OnIssue: issued.add})
			var cases []sim.Case
			for _, driver := range []string{sim.DriverForm, sim.DriverBrowser} {
				c := caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser)
				c.Name += "/" + driver
				c.Login.Driver = driver
				// The probes' sign-ins are refused before any callback:
				// what is compared is the device's own (and token life's).
				c.NoProbes = true
				cases = append(cases, c)
			}
			reps, events := play(t, target, 10*time.Second, cases...)
			require.Len(t, reps, 2)
			for _, rep := range reps {
				assert.Empty(t, tripped(rep), "%s:%s", rep.Name, describe(rep))
				if fault == refserver.FaultCallbackInJSONBody && strings.HasSuffix(rep.Name, "/form") {
					// Only a script can fetch the callback: the form driver
					// cannot sign in, which is no verdict on the server.
					assert.Equal(t, event.OutcomeError, rep.Outcome, "%s:%s", rep.Name, describe(rep))
					assert.Equal(t, check.Noted, result(rep, "AUTH-017").Status, rep.Name)
					continue
				}
				assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
				assert.Equal(t, check.Pass, result(rep, "AUTH-003").Status, "%s:%s", rep.Name, describe(rep))
				auth004 := result(rep, "AUTH-004")
				assert.Equal(t, check.Noted, auth004.Status, rep.Name)
				assert.Contains(t, auth004.Detail, "not an HTTP redirect", rep.Name)
				assert.Equal(t, check.Pass, result(rep, "AUTH-008").Status, "%s: the page carrying the token says no-store", rep.Name)
			}
			creds := issued.values()
			require.NotEmpty(t, creds, "the server issued tokens")
			b, err := json.Marshal(events)
			require.NoError(t, err)
			assert.Empty(t, leakedCredentials(string(b), creds), "an event shows a credential the server issued")
		})
	}
}
