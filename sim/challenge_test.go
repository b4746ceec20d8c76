package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		scheme  string
		params  map[string]string
		lenient []string
		err     string
	}{
		{name: "apple form", in: `Bearer method="apple-as-web", url="https://mdm.example.com/authenticate"`,
			scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://mdm.example.com/authenticate"}},
		{name: "fleet/zentral form without comma", in: `Bearer method="apple-as-web" url="https://mdm.example.com/a"`,
			scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://mdm.example.com/a"},
			lenient: []string{"parameters separated without a comma"}},
		{name: "bare values", in: `Bearer method=apple-as-web, url=https://x.test/a`,
			scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://x.test/a"},
			lenient: []string{"value of method not in double quotes", "value of url not in double quotes"}},
		{name: "oauth2 multi-param", in: `Bearer method="apple-oauth2",  authorization-url="https://idp/a", token-url="https://idp/t", redirect-url="apple-remotemanagement-user-login:/oauth2/redirection", client-id="03FD", scope="MDM"`,
			scheme: "Bearer", params: map[string]string{"method": "apple-oauth2", "authorization-url": "https://idp/a", "token-url": "https://idp/t", "redirect-url": "apple-remotemanagement-user-login:/oauth2/redirection", "client-id": "03FD", "scope": "MDM"}},
		{name: "lower-case scheme", in: `bearer method="apple-as-web", url="https://x/a"`,
			scheme: "bearer", params: map[string]string{"method": "apple-as-web", "url": "https://x/a"},
			lenient: []string{`scheme spelled "bearer", not Bearer`}},
		{name: "escaped quote", in: `Bearer method="apple-as-web", url="https://x/a\"b"`,
			scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": `https://x/a"b`}},
		{name: "comma inside quotes", in: `Bearer url="https://x/a,b", method="apple-as-web"`,
			scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://x/a,b"}},
		{name: "scheme only", in: `Basic`, scheme: "Basic", params: map[string]string{}},
		{name: "unterminated", in: `Bearer method="apple-as-web`, err: "unterminated"},
		{name: "no equals", in: `Bearer method`, err: "without '='"},
		{name: "empty", in: ` `, err: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseChallenge(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.scheme, c.Scheme)
			assert.Equal(t, tt.params, c.Params)
			assert.Equal(t, tt.lenient, c.Lenient)
		})
	}
}
