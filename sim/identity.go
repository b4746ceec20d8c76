package sim

import (
	"crypto"
	"crypto/x509"
)

// StepIdentity is §2.13.1: the device obtains the identity certificate
// named by the MDM payload's IdentityCertificateUUID.
const StepIdentity Step = "identity"

// identityState is the device's MDM identity once obtained.
type identityState struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate // the issuing CA certificates the server returned
	how   string              // "scep"; empty when none was obtained
}

// identityStep is filled in by the identity work (issue 14, item 1).
func (r *runner) identityStep() (*stop, StepStatus, string) {
	return nil, StepSkipped, "identity: not built yet"
}
