package scenarios_test

import (
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/scenarios"
)

// opts is what the command layer passes: the environment and the embedded
// server's faults. Only the tests import the server; the package does not.
func opts(getenv func(string) string) scenarios.Options {
	return scenarios.Options{Getenv: getenv, Faults: faults()}
}

// faults copies the server's faults as internal/cli's scenarioFaults does:
// the server owns them and imports no scenarios.
func faults() []scenarios.FaultInfo {
	var out []scenarios.FaultInfo
	for _, f := range refserver.Faults() {
		out = append(out, scenarios.FaultInfo{
			Name: f.Name, Doc: f.Doc, Trips: f.Trips, Probe: f.Probe,
			Account: f.Account, Type: f.EnrollmentType(), Outcome: f.Outcome, Driver: f.Driver,
		})
	}
	return out
}
