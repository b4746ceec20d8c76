package refserver

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"html"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

const (
	enrollBYOD      = "https://mdm.acme.test/enroll/byod"
	enrollADDE      = "https://mdm.acme.test/enroll/adde"
	enrollOAuthBYOD = "https://mdm.acme.test/enroll/oauth/byod"
	enrollOAuthADDE = "https://mdm.acme.test/enroll/oauth/adde"

	webChallenge   = `Bearer method="apple-as-web", url="https://mdm.acme.test/auth/login"`
	oauthChallenge = `Bearer method="apple-oauth2", authorization-url="https://idp.acme.test/oauth2/authorize", ` +
		`token-url="https://idp.acme.test/oauth2/token", redirect-url="apple-remotemanagement-user-login:/oauth2/redirection", ` +
		`client-id="7D1C3E5A-9B2F-4A6D-8E0C-5F3B1A7D9C2E", scope="MDM"`

	callbackPrefix = "apple-remotemanagement-user-login://authentication-results?access-token="
	redirectPrefix = "apple-remotemanagement-user-login:/oauth2/redirection?code="
	authorizeBase  = "https://idp.acme.test/oauth2/authorize"
	tokenEndpoint  = "https://idp.acme.test/oauth2/token"
)

// testClock is a settable clock; start gives every server its own, at
// fixedNow, so that tests can move time (token expiry, TOTP steps).
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testClocks sync.Map // *Server → *testClock

// clockOf returns the settable clock of a server made by start.
func clockOf(t *testing.T, s *Server) *testClock {
	t.Helper()
	c, ok := testClocks.Load(s)
	require.True(t, ok, "server was not made by start")
	return c.(*testClock)
}

// deviceIdentity is a self-signed stand-in for a device's Apple identity,
// made once per test binary.
var deviceIdentity = sync.OnceValues(func() (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "test device"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert, key
})

// signCMS wraps content in CMS SignedData signed by the test device.
func signCMS(content []byte) []byte {
	cert, key := deviceIdentity()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		panic(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}); err != nil {
		panic(err)
	}
	out, err := sd.Finish()
	if err != nil {
		panic(err)
	}
	return out
}

// bodyWith is a signed enrollment request body with these plist entries.
func bodyWith(entries map[string]string) []byte {
	content, err := plist.MarshalIndent(entries, plist.XMLFormat, "\t")
	if err != nil {
		panic(err)
	}
	return signCMS(content)
}

// deviceBody is the device's enrollment request body for product.
func deviceBody(product string) []byte {
	return bodyWith(map[string]string{"LANGUAGE": "en-US", "PRODUCT": product, "VERSION": "22C161"})
}

var iPhoneBody = sync.OnceValue(func() []byte { return deviceBody("iPhone17,2") })

func withBytes(b []byte) reqOpt {
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

// enrollPost is the device's POST to a BaseURL, as an iPhone sends it.
func enrollPost(t *testing.T, s *Server, target string, opts ...reqOpt) *httptest.ResponseRecorder {
	t.Helper()
	base := []reqOpt{withBytes(iPhoneBody()), withHeader("Content-Type", "application/pkcs7-signature"),
		withHeader("User-Agent", "DeviceManagementClient/1.0")}
	return serve(t, s, http.MethodPost, target, append(base, opts...)...)
}

func bearer(token string) reqOpt { return withHeader("Authorization", "Bearer "+token) }

// assertChallenge checks a conforming 401 challenge.
func assertChallenge(t *testing.T, rec *httptest.ResponseRecorder, want string) {
	t.Helper()
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, want, rec.Header().Get("WWW-Authenticate"))
	assert.Equal(t, "0", rec.Header().Get("Content-Length"))
	assert.Empty(t, rec.Body.String())
	assert.NotContains(t, rec.Header(), "X-Apple-Mdm-Esso")
}

// browser keeps cookies across requests sent through Handler and, like the
// device's engine, follows no redirect by itself.
type browser struct {
	t   *testing.T
	s   *Server
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T, s *Server) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, s: s, jar: jar}
}

func (b *browser) do(method, target string, body io.Reader, opts ...reqOpt) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(method, target, body)
	for _, c := range b.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	b.s.Handler().ServeHTTP(rec, req)
	b.jar.SetCookies(req.URL, rec.Result().Cookies())
	return rec
}

func (b *browser) get(target string) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.do(http.MethodGet, target, nil)
}

func (b *browser) post(target string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	return b.do(http.MethodPost, target, strings.NewReader(form.Encode()),
		withHeader("Content-Type", "application/x-www-form-urlencoded"))
}

// resolve makes a Location or form action absolute against base.
func resolve(t *testing.T, base, ref string) string {
	t.Helper()
	b, err := url.Parse(base)
	require.NoError(t, err)
	r, err := url.Parse(ref)
	require.NoError(t, err)
	return b.ResolveReference(r).String()
}

var (
	csrfRE   = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	userRE   = regexp.MustCompile(`name="username" [^>]*value="([^"]*)"`)
)

// form reads a login page: its action (absolute) and CSRF token.
func form(t *testing.T, pageURL string, rec *httptest.ResponseRecorder) (action, csrf string) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	a := actionRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(t, a, "no form in %s", rec.Body.String())
	c := csrfRE.FindStringSubmatch(rec.Body.String())
	require.NotNil(t, c, "no csrf field in %s", rec.Body.String())
	return resolve(t, pageURL, html.UnescapeString(a[1])), html.UnescapeString(c[1])
}

func prefilled(body string) string {
	m := userRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// totpAt is acct's code at the given time.
func totpAt(t *testing.T, acct Account, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(acct.TOTPSecret, at, totpOpts)
	require.NoError(t, err)
	return code
}

// wrongCode is a 6-digit code that is none of acct's codes within ±6 steps.
func wrongCode(t *testing.T, acct Account, at time.Time) string {
	t.Helper()
	taken := map[string]bool{}
	for i := -6; i <= 6; i++ {
		taken[totpAt(t, acct, at.Add(time.Duration(i)*30*time.Second))] = true
	}
	for n := 123456; ; n++ {
		c := strconv.Itoa(n % 1000000)
		if !taken[c] {
			return c
		}
	}
}

func account(t *testing.T, s *Server, id string) Account {
	t.Helper()
	a, ok := s.dir.lookup(id)
	require.True(t, ok, id)
	return a
}

// login is one sign-in in progress, page by page.
type login struct {
	b       *browser
	pageURL string
	page    *httptest.ResponseRecorder
}

// startLogin opens the web login at start (the challenge's url with the
// device's query, or an authorization request), following the MDM's
// redirect to the identity provider when there is one.
func (b *browser) startLogin(start string) *login {
	b.t.Helper()
	rec := b.get(start)
	if rec.Code == http.StatusFound {
		start = resolve(b.t, start, rec.Header().Get("Location"))
		rec = b.get(start)
	}
	return &login{b: b, pageURL: start, page: rec}
}

// password submits the first form. It returns the answer; on a 303 to the
// OTP page the login moves on to that page.
func (l *login) password(user, pass string) *httptest.ResponseRecorder {
	t := l.b.t
	t.Helper()
	action, csrf := form(t, l.pageURL, l.page)
	rec := l.b.post(action, url.Values{"csrf": {csrf}, "username": {user}, "password": {pass}})
	switch rec.Code {
	case http.StatusOK:
		l.page = rec
	case http.StatusSeeOther:
		next := resolve(t, action, rec.Header().Get("Location"))
		if strings.HasSuffix(next, "/otp") {
			l.pageURL, l.page = next, l.b.get(next)
		}
	}
	return rec
}

// otp submits the second form and returns the answer; a 303 from the
// identity provider back to the MDM is followed.
func (l *login) otp(code string) *httptest.ResponseRecorder {
	t := l.b.t
	t.Helper()
	action, csrf := form(t, l.pageURL, l.page)
	rec := l.b.post(action, url.Values{"csrf": {csrf}, "otp": {code}})
	if rec.Code == http.StatusOK {
		l.page = rec
	}
	if rec.Code == http.StatusSeeOther && strings.HasPrefix(rec.Header().Get("Location"), completeURL) {
		return l.b.get(rec.Header().Get("Location"))
	}
	return rec
}

// webLogin walks acct's whole apple-as-web sign-in with the right password
// and current code. It first moves the server's clock to the next TOTP step,
// so that every sign-in has a fresh code; what it issues is issued at the
// clock's time when it returns. It returns the final answer.
func webLogin(t *testing.T, s *Server, id string) *httptest.ResponseRecorder {
	t.Helper()
	clockOf(t, s).advance(totpPeriod * time.Second)
	acct := account(t, s, id)
	l := newBrowser(t, s).startLogin(loginURL + "?user-identifier=" + url.QueryEscape(id))
	rec := l.password(id, acct.Password)
	require.Equal(t, http.StatusSeeOther, rec.Code, "password: %s", rec.Body.String())
	return l.otp(totpAt(t, acct, s.cfg.Now()))
}

// callbackToken checks the apple-as-web callback and returns its token.
func callbackToken(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	loc := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(loc, callbackPrefix), "Location %q (status %d, body %s)", loc, rec.Code, rec.Body.String())
	u, err := url.Parse(loc)
	require.NoError(t, err)
	token := u.Query().Get("access-token")
	require.NotEmpty(t, token)
	return token
}

// webToken signs id in and returns the access token.
func webToken(t *testing.T, s *Server, id string) string {
	t.Helper()
	rec := webLogin(t, s, id)
	require.Equal(t, http.StatusPermanentRedirect, rec.Code)
	return callbackToken(t, rec)
}

// authorizeURLFor is the device's authorization request (spec §2.8).
func authorizeURLFor(id, state string, extra ...string) string {
	q := "response_type=code&client_id=" + OAuthClientID + "&redirect_uri=" + url.QueryEscape(oauthRedirectURL) +
		"&scope=MDM&state=" + url.QueryEscape(state) + "&login_hint=" + url.QueryEscape(id)
	for _, e := range extra {
		q += "&" + e
	}
	return authorizeBase + "?" + q
}

// oauthLogin walks id's OAuth sign-in up to the authorization response,
// moving the clock to a fresh TOTP step first as webLogin does.
func oauthLogin(t *testing.T, s *Server, authorize string, id string) *httptest.ResponseRecorder {
	t.Helper()
	clockOf(t, s).advance(totpPeriod * time.Second)
	acct := account(t, s, id)
	l := newBrowser(t, s).startLogin(authorize)
	rec := l.password(id, acct.Password)
	require.Equal(t, http.StatusSeeOther, rec.Code, "password: %s", rec.Body.String())
	return l.otp(totpAt(t, acct, s.cfg.Now()))
}

// codeOf checks an authorization response and returns code and state.
func codeOf(t *testing.T, rec *httptest.ResponseRecorder) (code, state string) {
	t.Helper()
	require.Equal(t, http.StatusPermanentRedirect, rec.Code, "body: %s", rec.Body.String())
	loc := rec.Header().Get("Location")
	require.True(t, strings.HasPrefix(loc, redirectPrefix), "Location %q", loc)
	u, err := url.Parse(loc)
	require.NoError(t, err)
	return u.Query().Get("code"), u.Query().Get("state")
}

// tokenRequest posts a form to the token endpoint.
func tokenRequest(t *testing.T, s *Server, form url.Values, opts ...reqOpt) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	opts = append([]reqOpt{withHeader("Content-Type", "application/x-www-form-urlencoded"), withBody(form.Encode())}, opts...)
	rec := serve(t, s, http.MethodPost, tokenEndpoint, opts...)
	var body map[string]any
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	}
	return rec, body
}

func codeGrant(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {oauthRedirectURL}, "client_id": {OAuthClientID}}
}

// oauthTokens signs id in with OAuth 2 and redeems the code.
func oauthTokens(t *testing.T, s *Server, id string) map[string]any {
	t.Helper()
	code, _ := codeOf(t, oauthLogin(t, s, authorizeURLFor(id, "340B948D-6D4A-4C16-9B8C-3C0E4F5A6B7C"), id))
	rec, body := tokenRequest(t, s, codeGrant(code))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return body
}

// parsedProfile is an enrollment profile unwrapped from its signature.
type parsedProfile struct {
	signed bool
	signer *x509.Certificate
	top    map[string]any
}

func (p parsedProfile) payloads(typ string) []map[string]any {
	var out []map[string]any
	content, _ := p.top["PayloadContent"].([]any)
	for _, c := range content {
		if d, ok := c.(map[string]any); ok && d["PayloadType"] == typ {
			out = append(out, d)
		}
	}
	return out
}

func (p parsedProfile) mdm(t *testing.T) map[string]any {
	t.Helper()
	m := p.payloads("com.apple.mdm")
	require.Len(t, m, 1)
	return m[0]
}

// parseProfile unwraps a CMS-signed (or bare) plist profile; a signature
// must verify and chain to the server's CA.
func parseProfile(t *testing.T, s *Server, body []byte) parsedProfile {
	t.Helper()
	var p parsedProfile
	content := body
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		p7, err := pkcs7.Parse(body)
		require.NoError(t, err)
		require.NoError(t, p7.VerifyWithChain(s.CertPool()))
		p.signed, p.signer, content = true, p7.GetOnlySigner(), p7.Content
	}
	_, err := plist.Unmarshal(content, &p.top)
	require.NoError(t, err)
	return p
}

// fetchProfileWith POSTs with token to target and parses the 200 answer.
func fetchProfileWith(t *testing.T, s *Server, target, token string) (*httptest.ResponseRecorder, parsedProfile) {
	t.Helper()
	rec := enrollPost(t, s, target, bearer(token))
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
	return rec, parseProfile(t, s, rec.Body.Bytes())
}

// aliceProfile signs alice in and fetches her profile.
func aliceProfile(t *testing.T, s *Server) (*httptest.ResponseRecorder, parsedProfile) {
	t.Helper()
	return fetchProfileWith(t, s, enrollBYOD, webToken(t, s, "alice@acme.test"))
}
