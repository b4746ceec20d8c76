package check

import (
	"fmt"
	"strings"
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

func TestParseChallenges(t *testing.T) {
	type ch struct {
		scheme, token68 string
		params          map[string]string
		err             string
	}
	tests := []struct {
		name   string
		values []string
		want   []ch
		err    string
	}{
		{name: "RFC 9110 list: Basic then Bearer in one value",
			values: []string{`Basic realm="x", Bearer method="apple-as-web", url="https://mdm.test/a"`},
			want:   []ch{{scheme: "Basic", params: map[string]string{"realm": "x"}}, {scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://mdm.test/a"}}}},
		{name: "two headers, Bearer second",
			values: []string{`Basic realm="acme"`, `Bearer method="apple-oauth2", client-id="c"`},
			want:   []ch{{scheme: "Basic", params: map[string]string{"realm": "acme"}}, {scheme: "Bearer", params: map[string]string{"method": "apple-oauth2", "client-id": "c"}}}},
		{name: "token68 and a param-less scheme before Bearer",
			values: []string{`Negotiate abc+/==, NTLM, Bearer method="apple-as-web" url="https://x/a"`},
			want:   []ch{{scheme: "Negotiate", token68: "abc+/==", params: map[string]string{}}, {scheme: "NTLM", params: map[string]string{}}, {scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://x/a"}}}},
		{name: "commaless challenges",
			values: []string{`Basic realm="x" Bearer method="apple-as-web"`},
			want:   []ch{{scheme: "Basic", params: map[string]string{"realm": "x"}}, {scheme: "Bearer", params: map[string]string{"method": "apple-as-web"}}}},
		{name: "a broken challenge keeps those before it",
			values: []string{`Bearer method="apple-as-web", url="https://x/a", Basic realm="unterminated`, `Digest realm="d"`},
			want: []ch{{scheme: "Bearer", params: map[string]string{"method": "apple-as-web", "url": "https://x/a"}},
				{scheme: "Basic", params: map[string]string{}, err: "unterminated"}, {scheme: "Digest", params: map[string]string{"realm": "d"}}}},
		{name: "parameter before any scheme", values: []string{`realm="x"`},
			want: []ch{{scheme: "realm", params: map[string]string{}, err: "where an auth-scheme should be"}}},
		{name: "too long", values: []string{`Bearer url="` + strings.Repeat("a", 20<<10) + `"`}, err: "over the simulator's limit of 16 KiB"},
		{name: "too many challenges", values: []string{strings.Repeat("Basic, ", 40)}, err: "more than 32 challenges"},
		{name: "too many parameters", values: []string{"Bearer " + manyParams(70)},
			want: []ch{{scheme: "Bearer", params: nil, err: "more than 64 parameters"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := ParseChallenges(tt.values)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, cs, len(tt.want))
			for i, w := range tt.want {
				assert.Equal(t, w.scheme, cs[i].Scheme, i)
				assert.Equal(t, w.token68, cs[i].Token68, i)
				if w.params != nil {
					assert.Equal(t, w.params, cs[i].Params, i)
				}
				if w.err == "" {
					assert.NoError(t, cs[i].Err, i)
				} else if assert.Error(t, cs[i].Err, i) {
					assert.Contains(t, cs[i].Err.Error(), w.err, i)
				}
			}
		})
	}
}

func TestPickBearer(t *testing.T) {
	cs, err := ParseChallenges([]string{`Basic realm="x"`, `Bearer method="apple-maid"`, `Bearer method="apple-as-web", url="https://x/a"`, `Bearer method="apple-oauth2"`})
	require.NoError(t, err)
	c, i, n := PickBearer(cs)
	require.NotNil(t, c)
	assert.Equal(t, 2, i)
	assert.Equal(t, 3, n)
	assert.Equal(t, "apple-as-web", c.Method())

	cs, _ = ParseChallenges([]string{`Bearer method="apple-maid"`, `Basic realm="x"`})
	c, i, n = PickBearer(cs)
	assert.Equal(t, "apple-maid", c.Method(), "no usable method: the first Bearer, which then fails on its method")
	assert.Equal(t, 0, i)
	assert.Equal(t, 1, n)

	cs, _ = ParseChallenges([]string{`Basic realm="x"`})
	c, _, n = PickBearer(cs)
	assert.Nil(t, c)
	assert.Zero(t, n)
}

func TestDuplicateChallengeParam(t *testing.T) {
	c, err := ParseChallenge(`Bearer method="apple-as-web", url="https://a/1", url="https://b/2"`)
	require.NoError(t, err)
	assert.Equal(t, "https://a/1", c.Params["url"])
	assert.Contains(t, c.Lenient, "parameter url given more than once; the first is used")
}

func manyParams(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "p%d=v, ", i)
	}
	return b.String()
}
