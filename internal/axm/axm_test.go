package axm

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/oauth1/oauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
)

var (
	testKeyOnce sync.Once
	testKey     *rsa.PrivateKey
)

func depPair(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	testKeyOnce.Do(func() {
		var err error
		testKey, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
	})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dep"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &testKey.PublicKey, testKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, testKey
}

func creds(t *testing.T) Credentials {
	t.Helper()
	c, err := NewCredentials(time.Now())
	require.NoError(t, err)
	return c
}

// standIn serves a stand-in over TLS, as enrollsim axm serve does.
func standIn(t *testing.T, cfg Config) (*Stand, *httptest.Server) {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	ts := httptest.NewTLSServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func TestTokenRoundTrip(t *testing.T) {
	cert, key := depPair(t)
	c := creds(t)
	tok, err := EncryptToken(c, cert)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(tok), "Content-Type: application/pkcs7-mime"))
	for _, secret := range []string{c.ConsumerSecret, c.AccessSecret, c.AccessToken} {
		assert.NotContains(t, string(tok), secret, "encrypted, not encoded")
	}
	got, err := DecryptToken(tok, cert, key)
	require.NoError(t, err)
	assert.Equal(t, c, got)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", c, c, c), c.ConsumerSecret, "credentials never print their secrets")

	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	for name, bad := range map[string][]byte{
		"not a token":   []byte("hello"),
		"bad base64":    []byte("Content-Type: x\r\n\r\n!!!\r\n"),
		"not CMS":       []byte("Content-Type: x\r\n\r\naGVsbG8=\r\n"),
		"too large":     make([]byte, maxTokenFile+1),
		"truncated CMS": tok[:len(tok)/2],
	} {
		_, err := DecryptToken(bad, cert, key)
		assert.Error(t, err, name)
	}
	_, err = DecryptToken(tok, cert, otherKey)
	assert.ErrorContains(t, err, "cannot decrypt with this key pair")
}

// The stand-in verifies signatures made by the library real clients use,
// and refuses any change to what was signed.
func TestSessionVerifiesOAuth(t *testing.T) {
	c := creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: c}}})
	sign := func(cr Credentials, u string) string {
		oc := oauth.Client{SignatureMethod: oauth.HMACSHA1, Credentials: oauth.Credentials{Token: cr.ConsumerKey, Secret: cr.ConsumerSecret}}
		h := http.Header{}
		pu, _ := url.Parse(u)
		require.NoError(t, oc.SetAuthorizationHeader(h, &oauth.Credentials{Token: cr.AccessToken, Secret: cr.AccessSecret}, http.MethodGet, pu, nil))
		return h.Get("Authorization")
	}
	get := func(u, auth string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := ts.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	good := sign(c, ts.URL+SessionPath)
	assert.Equal(t, 200, get(ts.URL+SessionPath, good))
	assert.Equal(t, 401, get(ts.URL+SessionPath, good), "a nonce is used once")
	assert.Equal(t, 200, get(ts.URL+SessionPath+"?a=b%20c&x=%2F", sign(c, ts.URL+SessionPath+"?a=b%20c&x=%2F")), "the query is signed")
	wrong := c
	wrong.AccessSecret = "AS_wrong"
	assert.Equal(t, 401, get(ts.URL+SessionPath, sign(wrong, ts.URL+SessionPath)))
	unknown := creds(t)
	assert.Equal(t, 401, get(ts.URL+SessionPath, sign(unknown, ts.URL+SessionPath)))
	assert.Equal(t, 401, get(ts.URL+SessionPath+"?x=1", sign(c, ts.URL+SessionPath)), "a changed query breaks the signature")
	assert.Equal(t, 401, get(ts.URL+SessionPath, ""))
	assert.Equal(t, 401, get(ts.URL+SessionPath, `OAuth oauth_consumer_key="`+c.ConsumerKey+`"`))
	assert.Equal(t, 401, get(ts.URL+AccountPath, ""), "the account needs a session")
	for _, call := range s.Calls("") {
		assert.NotContains(t, fmt.Sprint(call.Header), c.ConsumerKey+`", oauth_nonce`)
	}
	for _, call := range s.Calls("acme-mdm") {
		assert.Equal(t, "[redacted]", call.Header.Get("Authorization"))
	}
}

func TestClientRegistersAndDevicesFollow(t *testing.T) {
	a, b := creds(t), creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}, {Name: "other-mdm", Creds: b}},
		Defaults: map[string]string{"iPhone": "acme-mdm", "Mac": "other-mdm"}, VerifiedDomains: []string{"acme.com"}})
	ctx := context.Background()
	c := &Client{BaseURL: ts.URL, HTTP: ts.Client(), Creds: a}
	acct, err := c.Account(ctx)
	require.NoError(t, err)
	assert.Equal(t, "acme-mdm", acct.ServerName)
	assert.True(t, acct.Offers(ProfilePath, "DELETE"))

	_, _, err = c.FetchProfile(ctx)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, APIError{Status: 404, Code: CodeNotFound}, *ae)
	require.NoError(t, c.AssignProfile(ctx, "https://mdm.acme.com/sd?tenant=7"))
	u, updated, err := c.FetchProfile(ctx)
	require.NoError(t, err)
	assert.Equal(t, "https://mdm.acme.com/sd?tenant=7", u)
	_, err = time.Parse(time.RFC3339, updated)
	assert.NoError(t, err)
	require.ErrorAs(t, c.AssignProfile(ctx, "http://mdm.acme.com/sd"), &ae)
	assert.Equal(t, CodeURLNotValid, ae.Code)

	noRedirect := *ts.Client()
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	lookup := func(q string) (int, string) {
		resp, err := noRedirect.Get(ts.URL + FallbackPath + q)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	code, loc := lookup("?user-identifier=qa%40acme.com&model-family=iPhone")
	assert.Equal(t, 302, code)
	assert.Equal(t, "https://mdm.acme.com/sd?tenant=7&user-identifier=qa%40acme.com&model-family=iPhone", loc)
	code, _ = lookup("?user-identifier=qa%40acme.com&model-family=Mac")
	assert.Equal(t, 404, code, "the Mac's default server registered nothing")
	code, _ = lookup("?user-identifier=qa%40acme.com&model-family=iPad")
	assert.Equal(t, 404, code, "no default for the iPad")
	code, _ = lookup("?user-identifier=qa%40example.com&model-family=iPhone")
	assert.Equal(t, 404, code, "unverified domain")

	require.NoError(t, c.RemoveProfile(ctx))
	_, _, ok := s.Registered("acme-mdm")
	assert.False(t, ok)
	code, _ = lookup("?user-identifier=qa%40acme.com&model-family=iPhone")
	assert.Equal(t, 404, code)
}

func TestRefuseFirstAnswersOneDocumentedError(t *testing.T) {
	a := creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}}, RefuseFirst: CodeOrgNotSupported})
	c := &Client{BaseURL: ts.URL, HTTP: ts.Client(), Creds: a}
	var ae *APIError
	require.ErrorAs(t, c.AssignProfile(context.Background(), "https://mdm.acme.com/sd"), &ae)
	assert.Equal(t, CodeOrgNotSupported, ae.Code)
	require.NoError(t, c.AssignProfile(context.Background(), "https://mdm.acme.com/sd"))
	calls := s.Calls("acme-mdm")
	assert.Equal(t, CodeOrgNotSupported, calls[1].Code)
}

func TestNewRefusesBadConfig(t *testing.T) {
	a := creds(t)
	one := []ServerConfig{{Name: "acme-mdm", Creds: a}}
	for name, cfg := range map[string]Config{
		"no server":       {},
		"duplicate":       {Servers: append(one, one...)},
		"unknown default": {Servers: one, Defaults: map[string]string{"iPhone": "nobody"}},
		"unknown family":  {Servers: one, Defaults: map[string]string{"AppleTV": "acme-mdm"}},
		"unknown code":    {Servers: one, RefuseFirst: "TEAPOT"},
		"no credentials":  {Servers: []ServerConfig{{Name: "x"}}},
	} {
		_, err := New(cfg)
		assert.Error(t, err, name)
	}
}

// Observe waits for the registration and then plays the change probe:
// a server that removes and renews its registration is followed both
// times; one that ignores the withdrawal is not.
func TestObserve(t *testing.T) {
	for _, removes := range []bool{true, false} {
		t.Run(fmt.Sprint("removes=", removes), func(t *testing.T) {
			a := creds(t)
			s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}}})
			c := &Client{BaseURL: ts.URL, HTTP: ts.Client(), Creds: a}
			hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/off" && removes:
					require.NoError(t, c.RemoveProfile(r.Context()))
				case r.URL.Path == "/on":
					require.NoError(t, c.AssignProfile(r.Context(), "https://mdm.acme.com/sd"))
				}
			}))
			defer hooks.Close()
			go func() {
				time.Sleep(50 * time.Millisecond) // the server comes up after the stand-in
				_ = c.AssignProfile(context.Background(), "https://mdm.acme.com/sd")
			}()
			reg := s.Observe(context.Background(), ObserveOptions{Wait: 10 * time.Second, ChangeWait: 300 * time.Millisecond,
				Withdraw: hooks.URL + "/off", Restore: hooks.URL + "/on", Doer: hooks.Client(), StandIn: ts.URL})
			assert.False(t, reg.TimedOut)
			require.Len(t, reg.Changes, 2)
			assert.Equal(t, removes, reg.Changes[0].Followed != nil)
			require.NotNil(t, reg.Changes[1].Followed)
			assert.Equal(t, http.MethodPost, reg.Changes[1].Followed.Method)
			assert.NotEmpty(t, reg.Calls)
		})
	}
	a := creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}}})
	reg := s.Observe(context.Background(), ObserveOptions{Wait: 50 * time.Millisecond, StandIn: ts.URL})
	assert.True(t, reg.TimedOut)
	assert.Contains(t, reg.NoChangeHooks, "no withdraw/restore hooks")
	var _ sim.AxMRegistration = reg
}

func TestAccountAnswerShape(t *testing.T) {
	a := creds(t)
	_, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}}})
	c := &Client{BaseURL: ts.URL, HTTP: ts.Client(), Creds: a}
	var raw map[string]any
	require.NoError(t, c.do(context.Background(), http.MethodGet, AccountPath, nil, &raw))
	for _, k := range []string{"server_name", "server_uuid", "admin_id", "org_name", "org_email", "org_phone", "org_address", "org_id", "org_id_hash", "org_type", "org_version", "urls"} {
		assert.Contains(t, raw, k)
	}
	js, _ := json.Marshal(raw["urls"])
	assert.Contains(t, string(js), `{"http_method":["POST","GET","DELETE"],"limit":{"default":1,"maximum":1},"uri":"/account-driven-enrollment/profile"}`)
}

// A registration body with a byte-order mark is read as a device's JSON
// reader reads it: the stand-in takes the URL, and the simulator warns
// (ABM-001) rather than lose the registration.
func TestStandReadsARegistrationWithAByteOrderMark(t *testing.T) {
	a := creds(t)
	s, ts := standIn(t, Config{Servers: []ServerConfig{{Name: "acme-mdm", Creds: a}}})
	c := &Client{BaseURL: ts.URL, HTTP: ts.Client(), Creds: a}
	sess, err := c.newSession(context.Background())
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, c.url(ProfilePath), strings.NewReader("\xEF\xBB\xBF"+`{"mdm_service_discovery_url":"https://mdm.acme.com/sd"}`))
	require.NoError(t, err)
	req.Header.Set(SessionHeader, sess)
	req.Header.Set("Content-Type", jsonType)
	req.Header.Set(ProtocolHeader, "7")
	resp, err := ts.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	u, _, ok := s.Registered("acme-mdm")
	assert.True(t, ok)
	assert.Equal(t, "https://mdm.acme.com/sd", u)
}
