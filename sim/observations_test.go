package sim_test

import (
	"context"
	"encoding/json"
	"flag"
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
	"github.com/enrollsim/enrollsim/sim/event"
)

var updateObservations = flag.Bool("update-observations", false,
	"play every reference-server fault and save each case's observations under sim/check/testdata/observations")

const observationsDir = "check/testdata/observations"

// observationSetup is one case against the reference server: a fault (or
// none) on a device.
type observationSetup struct {
	name   string // the fault, or "conforming"
	fault  refserver.Fault
	device string
	typ    sim.EnrollmentType
}

// observationSetups are the conforming server on a device of each family
// and kind of enrollment, then the faults: with update all of them, else
// enough faults that every group of checks is tripped by one.
func observationSetups(all bool) []observationSetup {
	out := []observationSetup{
		{name: "conforming", device: "iphone@26.1", typ: sim.TypeUser},
		{name: "conforming", device: "iphone@26.1", typ: sim.TypeDevice},
		{name: "conforming", device: "mac@15.2", typ: sim.TypeUser},
		{name: "conforming", device: "vision@2.2", typ: sim.TypeDevice},
	}
	tripped := map[string]bool{}
	for _, f := range refserver.Faults() {
		adds := false
		for _, id := range f.Trips {
			g := id[:strings.IndexByte(id, '-')]
			adds = adds || !tripped[g]
			tripped[g] = true
		}
		if all || adds {
			typ := sim.TypeUser
			if f.EnrollmentType() == "device" {
				typ = sim.TypeDevice
			}
			out = append(out, observationSetup{name: f.Name, fault: f, device: f.Probe, typ: typ})
		}
	}
	return out
}

// Every result the engine emits comes from a judge of package check over
// the case's observations: judging the saved observations again gives the
// same results, so the judges' table tests (sim/check) stand for the
// engine's verdicts.
func TestObservationsAreWhatTheEngineJudged(t *testing.T) {
	t.Parallel()
	setups := observationSetups(*updateObservations)
	if *updateObservations {
		old, _ := filepath.Glob(filepath.Join(observationsDir, "*.json"))
		for _, f := range old {
			if !strings.HasPrefix(filepath.Base(f), "hostile_") { // the corpus tests rewrite those
				require.NoError(t, os.Remove(f))
			}
		}
		require.NoError(t, os.MkdirAll(observationsDir, 0o755))
	}
	for _, s := range setups {
		t.Run(s.name+"/"+s.device+"/"+string(s.typ), func(t *testing.T) {
			timeout := 5 * time.Second
			if s.name == refserver.FaultWellKnownSlow {
				timeout = 3 * time.Second
			}
			var faults []string
			if s.name != "conforming" {
				faults = []string{s.name}
			}
			r := startRef(t, timeout, faults...)
			account := map[sim.EnrollmentType]string{sim.TypeUser: "alice@acme.test", sim.TypeDevice: "carol@acme.test"}[s.typ]
			if s.fault.Account != "" {
				account = s.fault.Account
			}
			c := caseFor(t, s.device, account, s.typ)
			c.Login.Driver = s.fault.Driver
			if slices.Contains(s.fault.Trips, "AUTH-017") {
				c.Login.Driver = sim.DriverForm
			}
			c.Target = r.target
			c.Account = r.account(account)
			var obs *check.Observations
			eng := &sim.Engine{Limits: loadedLimits(timeout), Clock: r.clock.Now, TOTPClock: r.clock, Browser: testBrowser, NoScreenshots: true}
			eng.SetObserved(func(_ string, o *check.Observations) { cp := *o; obs = &cp })
			reps, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(event.Event) {})
			require.NoError(t, err)
			require.NotNil(t, obs)
			engine := check.Outcomes(reps[0].Results)
			assert.Equal(t, engine, check.Outcomes(check.JudgeAll(obs)),
				"the judges over the case's observations disagree with what the engine emitted: a result was judged outside package check")
			if *updateObservations {
				b, err := json.MarshalIndent(check.Saved{Setup: s.name, Device: s.device, Type: string(s.typ), Observations: obs, Results: engine}, "", " ")
				require.NoError(t, err)
				name := strings.NewReplacer("@", "-", "/", "-").Replace(s.name + "_" + s.device + "_" + string(s.typ))
				require.NoError(t, os.WriteFile(filepath.Join(observationsDir, name+".json"), append(b, '\n'), 0o644))
			}
		})
	}
}
