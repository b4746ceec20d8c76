package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/scenarios"
)

// The scenario loader checks --resolve and --connect-to syntax itself (it
// may not import the transport); both must accept the same strings, or a
// file that validates would fail to run.
func TestScenarioRouteSyntaxAgreesWithTransport(t *testing.T) {
	inputs := []string{
		"acme.test:443:127.0.0.1", "*:443:127.0.0.1", "acme.test:443:[::1]", "acme.test:443:::1", "[::1]:443:127.0.0.1",
		"acme.test:443:localhost", "acme.test:0:127.0.0.1", "acme.test:65536:127.0.0.1", "acme.test::127.0.0.1",
		":443:127.0.0.1", "acme.test:443", "acme.test:443:", "acme.test", "", ":::", "[::1:443:1.2.3.4", "a:b:c",
		"acme.test:443:127.0.0.1:8443", "::127.0.0.1:8443", "acme.test:443::", "acme.test:x:h:1", "acme.test:443:h:x",
		"acme.test:443:h:1:2", "[::1]:443:[::2]:8443", "h:-1:1.2.3.4", "h:+443:1.2.3.4", "h:0443:1.2.3.4",
	}
	for _, in := range inputs {
		_, rErr := transport.ParseResolve(in)
		assert.Equal(t, rErr == nil, scenarios.CheckResolve(in) == nil, "resolve %q: transport says %v", in, rErr)
		_, cErr := transport.ParseConnectTo(in)
		assert.Equal(t, cErr == nil, scenarios.CheckConnectTo(in) == nil, "connect-to %q: transport says %v", in, cErr)
	}
}
