package route

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseAcceptsCurlSyntaxOnly(t *testing.T) {
	tests := []struct {
		in                 string
		resolve, connectTo bool
	}{
		{"acme.test:443:127.0.0.1", true, false},
		{"*:443:127.0.0.1", true, false},
		{"acme.test:443:[::1]", true, false},
		{"acme.test:443:::1", true, false}, // ADDR is the rest, brackets optional
		{"[::1]:443:127.0.0.1", true, false},
		{"h:0443:1.2.3.4", true, false},
		{"acme.test:443:localhost", false, false}, // --resolve wants an IP address
		{"acme.test:0:127.0.0.1", false, false},
		{"acme.test:65536:127.0.0.1", false, false},
		{"acme.test::127.0.0.1", false, false},
		{":443:127.0.0.1", false, false},
		{"acme.test:443", false, false},
		{"acme.test:443:", false, false},
		{"acme.test", false, false},
		{"", false, false},
		{"[::1:443:1.2.3.4", false, false},
		{"a:b:c", false, false},
		{"h:-1:1.2.3.4", false, false},
		{"h:+443:1.2.3.4", false, false},
		{":::", false, true}, // every field empty: any host and port, keep both
		{"acme.test:443:127.0.0.1:8443", false, true},
		{"::127.0.0.1:8443", false, true},
		{"acme.test:443::", false, true},
		{"[::1]:443:[::2]:8443", false, true},
		{"acme.test:x:h:1", false, false},
		{"acme.test:443:h:x", false, false},
		{"acme.test:443:h:1:2", false, false},
	}
	for _, tt := range tests {
		_, rErr := ParseResolve(tt.in)
		assert.Equal(t, tt.resolve, rErr == nil, "resolve %q: %v", tt.in, rErr)
		_, cErr := ParseConnectTo(tt.in)
		assert.Equal(t, tt.connectTo, cErr == nil, "connect-to %q: %v", tt.in, cErr)
	}
}

func TestParseValuesAndMessages(t *testing.T) {
	r, err := ParseResolve("Acme.test:443:[::1]")
	assert.NoError(t, err)
	assert.Equal(t, ResolveRule{Host: "acme.test", Port: 443, Addr: netip.MustParseAddr("::1")}, r)
	c, err := ParseConnectTo("::127.0.0.1:8443")
	assert.NoError(t, err)
	assert.Equal(t, ConnectToRule{ConnectHost: "127.0.0.1", ConnectPort: 8443}, c)

	_, err = ParseResolve("acme.test:443:localhost")
	assert.EqualError(t, err, `"localhost" is not an IP address (want HOST:PORT:ADDR, e.g. acme.test:443:127.0.0.1)`)
	_, err = ParseConnectTo("acme.test:443:h:x")
	assert.EqualError(t, err, `connect port "x" is not a number from 1 to 65535 (want HOST:PORT:CONNECT-HOST:CONNECT-PORT, e.g. acme.test:443:127.0.0.1:8443)`)
}
