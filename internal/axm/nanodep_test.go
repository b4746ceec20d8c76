package axm

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	depclient "github.com/micromdm/nanodep/client"
	"github.com/micromdm/nanodep/godep"
	"github.com/micromdm/nanodep/tokenpki"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nanodepStore is the least storage nanodep's client needs: one DEP name
// with its tokens and the stand-in as its base URL.
type nanodepStore struct {
	tokens depclient.OAuth1Tokens
	base   string
}

func (s *nanodepStore) RetrieveAuthTokens(context.Context, string) (*depclient.OAuth1Tokens, error) {
	t := s.tokens
	return &t, nil
}

func (s *nanodepStore) RetrieveConfig(context.Context, string) (*depclient.Config, error) {
	return &depclient.Config{BaseURL: s.base}, nil
}

// A client nobody here wrote works against the stand-in: micromdm/nanodep's
// godep, the DEP client of a real MDM server, reads the token file, signs
// in, reads the account and registers, fetches and removes the discovery
// URL.
func TestNanodepClientAgainstTheStandIn(t *testing.T) {
	cert, key := depPair(t)
	c := creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: c}}})

	tok, err := EncryptToken(c, cert)
	require.NoError(t, err)
	js, err := tokenpki.DecryptTokenJSON(tok, cert, key)
	require.NoError(t, err, "nanodep reads the token file")
	store := &nanodepStore{base: ts.URL}
	require.NoError(t, json.Unmarshal(js, &store.tokens))
	require.True(t, store.tokens.Valid())

	ctx := context.Background()
	client := godep.NewClient(store, godep.WithClient(ts.Client()))
	acct, err := client.AccountDetail(ctx, "acme")
	require.NoError(t, err)
	require.NotNil(t, acct.ServerName)
	assert.Equal(t, "acme-mdm", *acct.ServerName)

	require.NoError(t, client.AssignAccountDrivenEnrollmentProfile(ctx, "acme", "https://mdm.acme.com/mdm/service-discovery"))
	u, _, ok := s.Registered("acme-mdm")
	require.True(t, ok)
	assert.Equal(t, "https://mdm.acme.com/mdm/service-discovery", u)

	var got struct {
		URL     string `json:"mdm_service_discovery_url"`
		Updated string `json:"last_updated_timestamp"`
	}
	require.NoError(t, client.Do(ctx, "acme", http.MethodGet, ProfilePath, nil, &got))
	assert.Equal(t, "https://mdm.acme.com/mdm/service-discovery", got.URL)
	assert.NotEmpty(t, got.Updated)
	require.NoError(t, client.Do(ctx, "acme", http.MethodDelete, ProfilePath, nil, nil))
	_, _, ok = s.Registered("acme-mdm")
	assert.False(t, ok)

	err = client.AssignAccountDrivenEnrollmentProfile(ctx, "acme", "http://mdm.acme.com/x")
	var he *godep.HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, http.StatusBadRequest, he.StatusCode)
	assert.Contains(t, string(he.Body), CodeURLNotValid)

	for _, call := range s.Calls("acme-mdm") {
		assert.Equal(t, "7", call.Header.Get(ProtocolHeader), "%s %s", call.Method, call.Path)
		assert.True(t, call.SessionOK)
	}
}
