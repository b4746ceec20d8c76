package scenarios

import (
	"os"

	"github.com/enrollsim/enrollsim/sim"
)

// Options are what the loader needs from outside the files. The package
// knows no server: the command layer, which starts the embedded reference
// server, says which faults it has.
type Options struct {
	// Getenv serves ${env:NAME} references; nil means os.Getenv.
	Getenv func(string) string
	// Faults are the embedded server's faults: target.embedded.faults is
	// checked against their names, and the built-in negative suite is one
	// scenario per fault. With none, no fault name is accepted.
	Faults []FaultInfo
}

// FaultInfo is what the negative suite needs of one named misbehaviour of
// the embedded server. The server owns its faults and knows nothing of
// scenarios; the command layer copies each into one of these.
type FaultInfo struct {
	Name string
	Doc  string
	// Trips are the check IDs the fault must trip.
	Trips []string
	// Probe is the device that shows the fault, e.g. iphone@18.1.
	Probe string
	// Account is the identifier the probe signs in with, and Type the
	// enrollment that account makes.
	Account string
	Type    sim.EnrollmentType
	// Outcome is the probe's expected outcome when no check explains the
	// fault's effect ("" means any).
	Outcome string
	// Driver is the web-login driver the probe needs ("browser" for faults
	// in pages that need JavaScript; "" for the form driver).
	Driver string
}

func (o Options) getenv() func(string) string {
	if o.Getenv == nil {
		return os.Getenv
	}
	return o.Getenv
}

func (o Options) faultNames() []string {
	out := make([]string, 0, len(o.Faults))
	for _, f := range o.Faults {
		out = append(out, f.Name)
	}
	return out
}
