package refserver

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSAliceEndToEnd walks alice's whole simple flow as a device would,
// over real TLS with a cookie jar and the wall clock: discovery, the first
// POST and its challenge, both web-login forms with a TOTP code computed
// from her secret, the callback, the second POST and the profile.
func TestTLSAliceEndToEnd(t *testing.T) {
	s := startCfg(t, Config{})
	c := client(s, &tls.Config{RootCAs: s.CertPool()})
	defer c.CloseIdleConnections()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c.Jar = jar
	alice := account(t, s, "alice@acme.test")

	do := func(req *http.Request) (*http.Response, []byte) {
		t.Helper()
		resp, err := c.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NotNil(t, resp.TLS)
		return resp, body
	}
	get := func(u string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		return do(req)
	}
	postForm := func(u string, form url.Values) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return do(req)
	}
	enroll := func(baseURL, token string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, baseURL, bytes.NewReader(iPhoneBody()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/pkcs7-signature")
		req.Header.Set("User-Agent", "DeviceManagementClient/1.0")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(req)
	}
	formOf := func(pageURL string, body []byte) (string, string) {
		t.Helper()
		a := actionRE.FindSubmatch(body)
		require.NotNil(t, a, string(body))
		m := csrfRE.FindSubmatch(body)
		require.NotNil(t, m, string(body))
		return resolve(t, pageURL, string(a[1])), string(m[1])
	}

	// Discovery: the organisation domain redirects to the MDM's document.
	resp, _ := get(orgWK + aliceQ)
	require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	resp, body := get(resp.Header.Get("Location"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var doc wellKnown
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Len(t, doc.Servers, 1)
	baseURL := doc.Servers[0].BaseURL
	assert.Equal(t, enrollBYOD, baseURL)

	// First POST: the challenge names the web login.
	resp, body = enroll(baseURL, "")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Empty(t, body)
	m := regexp.MustCompile(`^Bearer method="apple-as-web", url="([^"]+)"$`).FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	require.NotNil(t, m, resp.Header.Get("WWW-Authenticate"))
	start := m[1] + "?user-identifier=" + url.QueryEscape(alice.Identifier)

	// The password form, pre-filled.
	resp, body = get(start)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `value="alice@acme.test"`)
	action, csrf := formOf(start, body)
	resp, _ = postForm(action, url.Values{"csrf": {csrf}, "username": {alice.Identifier}, "password": {alice.Password}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	otpURL := resolve(t, action, resp.Header.Get("Location"))

	// The TOTP form, answered with the current code.
	resp, body = get(otpURL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `autocomplete="one-time-code"`)
	action, csrf = formOf(otpURL, body)
	code, err := totp.GenerateCode(alice.TOTPSecret, time.Now())
	require.NoError(t, err)
	resp, body = postForm(action, url.Values{"csrf": {csrf}, "otp": {code}})
	require.Equal(t, http.StatusPermanentRedirect, resp.StatusCode, string(body))
	assert.Empty(t, body)
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	callback, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "apple-remotemanagement-user-login", callback.Scheme)
	assert.Equal(t, "authentication-results", callback.Host)
	token := callback.Query().Get("access-token")
	require.NotEmpty(t, token)

	// Second POST: the profile.
	resp, body = enroll(baseURL, token)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "application/x-apple-aspen-config", resp.Header.Get("Content-Type"))
	p := parseProfile(t, s, body)
	assert.True(t, p.signed)
	mdm := p.mdm(t)
	assert.Equal(t, "BYOD", mdm["EnrollmentMode"])
	assert.Equal(t, "alice@acme.test", mdm["AssignedManagedAppleID"])
	assert.Equal(t, "https://mdm.acme.test/mdm/connect", mdm["ServerURL"])
	assert.Equal(t, p.payloads("com.apple.security.scep")[0]["PayloadUUID"], mdm["IdentityCertificateUUID"])

	// The same code cannot sign in again.
	_, body = get(start)
	action, csrf = formOf(start, body)
	resp, _ = postForm(action, url.Values{"csrf": {csrf}, "username": {alice.Identifier}, "password": {alice.Password}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = get(otpURL)
	action, csrf = formOf(otpURL, body)
	resp, body = postForm(action, url.Values{"csrf": {csrf}, "otp": {code}})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `<p class="error">`)
}
