package sim_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
)

// savedSignIn is one saved observation of the sign-in, with the results the
// run reported for it ("ID status", sorted): the sign-in judges' table in
// sim/check judges it again without a server.
type savedSignIn struct {
	Observations check.Observations `json:"observations"`
	Results      []string           `json:"results"`
}

// The sign-in's judges are pure: run again over what the web-login or
// oauth2 step observed (and the OAuth 2 probes of the enroll step), they
// give what the run reported, for the conforming accounts and every fault
// the form driver plays that trips an AUTH or TOTP check. With
// ENROLLSIM_SAVE_SIGNIN=1 the observations are saved for sim/check.
func TestSignInJudgedAgainFromItsObservation(t *testing.T) {
	type probe struct{ fault, device, account string }
	probes := []probe{{"", "iphone@26.1", "alice@acme.test"}, {"", "iphone@26.1", "erin@acme.test"}, {"", "iphone@26.1", "frank@acme.test"}}
	for _, f := range refserver.Faults() {
		signIn := slices.ContainsFunc(f.Trips, func(id string) bool {
			return strings.HasPrefix(id, "AUTH-") || strings.HasPrefix(id, "TOTP-") || id == "ENR-007"
		})
		if signIn && f.Driver == "" {
			probes = append(probes, probe{f.Name, f.Probe, f.Account})
		}
	}
	save := os.Getenv("ENROLLSIM_SAVE_SIGNIN") != ""
	for _, p := range probes {
		var faults []string
		if p.fault != "" {
			faults = []string{p.fault}
		}
		target := startRef(t, 5*time.Second, faults...)
		typ := sim.TypeUser
		if strings.HasPrefix(p.account, "frank") {
			typ = sim.TypeDevice
		}
		c := caseFor(t, p.device, p.account, typ)
		c.Login.Driver = sim.DriverForm
		c.Target, c.Account = target.target, target.account(p.account)
		eng := &sim.Engine{Limits: loadedLimits(5 * time.Second), Clock: target.clock.Now, TOTPClock: target.clock}
		var obs check.Observations
		sim.SignInObserver(eng, func(_ string, o *check.Observations) { obs = *o })
		var reported []string
		_, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e sim.Event) {
			if e.Kind == sim.EventCheck && signInJudged(e) {
				reported = append(reported, e.Result.ID+" "+string(e.Result.Status))
			}
		})
		require.NoError(t, err)
		name := p.fault
		if name == "" {
			name = "conforming-" + strings.Split(p.account, "@")[0]
		}
		require.NotNil(t, obs.SignIn, name)
		only := check.Observations{SignIn: obs.SignIn}
		var again []string
		for _, r := range check.JudgeAll(&only) {
			if check.Implemented(r.ID) {
				again = append(again, r.ID+" "+string(r.Status))
			}
		}
		slices.Sort(reported)
		slices.Sort(again)
		assert.Equal(t, reported, again, name)
		if save {
			b, err := json.MarshalIndent(savedSignIn{Observations: only, Results: reported}, "", "  ")
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join("check", "testdata", "observations", "signin", name+".json"), append(b, '\n'), 0o644))
		}
	}
}

// signInJudged: a result of the sign-in's judges. The enroll step judges
// AUTH-005 itself, and says AUTH-015 has nothing to refresh after a failed
// enrollment.
func signInJudged(e sim.Event) bool {
	id := e.Result.ID
	switch e.Step {
	case sim.StepWebLogin, sim.StepOAuth2:
		// The transport's SEC checks come after the last step played.
		return !strings.HasPrefix(id, "SEC-")
	case sim.StepEnroll:
		return id == "AUTH-014" || id == "AUTH-016" || id == "AUTH-015" && e.Result.Detail != "no enrollment to refresh"
	}
	return false
}
