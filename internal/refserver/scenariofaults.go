package refserver

import (
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
)

// ScenarioFaults is the fault catalogue as the scenario loader takes it:
// the names that target.embedded.faults may give and the table the built-in
// negative suite is made of. The loader imports no server; the command
// layer hands it this.
func ScenarioFaults() []scenarios.FaultInfo {
	var out []scenarios.FaultInfo
	for _, f := range Faults() {
		out = append(out, scenarios.FaultInfo{
			Name: f.Name, Doc: f.Doc, Trips: slices.Clone(f.Trips), Probe: f.Probe,
			Account: f.Account, Type: accountType(f.Account), Outcome: f.Outcome, Driver: f.Driver,
		})
	}
	return out
}

// accountType is the enrollment a directory account makes: ADDE accounts
// enroll the device, the others a user.
func accountType(identifier string) sim.EnrollmentType {
	for _, a := range builtinAccounts {
		if strings.EqualFold(a.Identifier, identifier) && a.Kind == KindADDE {
			return sim.TypeDevice
		}
	}
	return sim.TypeUser
}
