package scenarios_test

import (
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/scenarios"
)

// opts is what the command layer passes: the environment and the embedded
// server's faults. Only the tests import the server; the package does not.
func opts(getenv func(string) string) scenarios.Options {
	return scenarios.Options{Getenv: getenv, Faults: refserver.ScenarioFaults()}
}
