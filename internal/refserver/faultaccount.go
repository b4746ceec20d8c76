package refserver

import (
	"strings"

	"github.com/enrollsim/enrollsim/sim"
)

// EnrollmentType is the enrollment the fault's probe account makes: ADDE
// accounts enroll the device, the others a user. Whoever plays the fault
// (the scenario loader's negative suite, through the command layer) needs
// it to say what the probe should end as.
func (f Fault) EnrollmentType() sim.EnrollmentType {
	for _, a := range builtinAccounts {
		if strings.EqualFold(a.Identifier, f.Account) && a.Kind == KindADDE {
			return sim.TypeDevice
		}
	}
	return sim.TypeUser
}
