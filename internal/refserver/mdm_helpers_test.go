package refserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

const (
	checkinURL = "https://mdm.acme.test/mdm/checkin"
	connectURL = "https://mdm.acme.test/mdm/connect"
)

// mdmKey is the key of every test device identity: ECDSA P-256 is cheap,
// and each device still gets a certificate of its own.
var mdmKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// mdmDevice plays one enrolled device against s, in memory.
type mdmDevice struct {
	t       *testing.T
	s       *Server
	cert    *x509.Certificate
	key     crypto.Signer
	kind    string // KindBYOD or KindADDE
	id      string // EnrollmentID or UDID
	userID  string // EnrollmentUserID or UserID of a Mac's user channel
	product string
	token   string
}

// newDevice makes a device of kind with an identity from s's identity CA
// and the access token of a sign-in.
func newDevice(t *testing.T, s *Server, product, kind, token string) *mdmDevice {
	t.Helper()
	cert, err := s.ca.identity.issue(&mdmKey().PublicKey, pkix.Name{CommonName: "device " + product}, s.cfg.Now())
	require.NoError(t, err)
	return &mdmDevice{t: t, s: s, cert: cert, key: mdmKey(), kind: kind, id: newUUID(), userID: newUUID(), product: product, token: token}
}

func (d *mdmDevice) mac() bool { return strings.HasPrefix(d.product, "Mac") }

// send is how one request departs from the device's usual ways.
type send struct {
	user        bool              // a Mac's user channel
	token       string            // instead of the device's own
	noToken     bool              // no Authorization even where one belongs
	forceToken  bool              // Authorization even on a Mac's device channel
	contentType string            // instead of the right one
	body        []byte            // instead of the encoded message
	sig         string            // Mdm-Signature instead of the right one; "-" for none
	signer      *x509.Certificate // sign with this certificate (and the device key)
	strip       []string          // keys to leave out of the message
}

// ids are the message's enrollment keys: EnrollmentID or UDID, and the
// user's on a user-channel request.
func (d *mdmDevice) ids(user bool) map[string]any {
	m := map[string]any{}
	if d.kind == KindBYOD {
		m["EnrollmentID"] = d.id
		if user {
			m["EnrollmentUserID"] = d.userID
		}
	} else {
		m["UDID"] = d.id
		if user {
			m["UserID"] = d.userID
			m["UserShortName"] = "user"
			m["UserLongName"] = "A User"
		}
	}
	return m
}

func (d *mdmDevice) message(mt string, user bool, extra map[string]any) map[string]any {
	m := d.ids(user)
	m["MessageType"] = mt
	m["Topic"] = d.s.topic
	maps.Copy(m, extra)
	return m
}

func (d *mdmDevice) authenticateMsg() map[string]any {
	extra := map[string]any{"BuildVersion": "22C152", "OSVersion": "18.2", "ProductName": d.product}
	if d.kind == KindADDE {
		extra["SerialNumber"] = "C02TEST0001"
		extra["Model"] = d.product
		extra["DeviceName"] = "Test device"
	}
	return d.message("Authenticate", false, extra)
}

func (d *mdmDevice) tokenUpdateMsg(user bool) map[string]any {
	return d.message("TokenUpdate", user, map[string]any{
		"Token": []byte("push-token-" + d.id), "PushMagic": "magic-" + d.id, "AwaitingConfiguration": false,
	})
}

// do sends msg to target with the device's identity and token.
func (d *mdmDevice) do(target, contentType string, msg map[string]any, o send) *httptest.ResponseRecorder {
	d.t.Helper()
	for _, k := range o.strip {
		delete(msg, k)
	}
	body := o.body
	if body == nil {
		var err error
		body, err = plist.MarshalIndent(msg, plist.XMLFormat, "\t")
		require.NoError(d.t, err)
	}
	if o.contentType != "" {
		contentType = o.contentType
	}
	opts := []reqOpt{withBytes(body), withHeader("Content-Type", contentType), withHeader("User-Agent", "MDM/1.0")}
	switch {
	case o.sig == "":
		signer := d.cert
		if o.signer != nil {
			signer = o.signer
		}
		opts = append(opts, withHeader("Mdm-Signature", mdmSignature(d.t, signer, d.key, body)))
	case o.sig != "-":
		opts = append(opts, withHeader("Mdm-Signature", o.sig))
	}
	token := d.token
	if o.token != "" {
		token = o.token
	}
	if !o.noToken && token != "" && (!d.mac() || o.user || o.forceToken) {
		opts = append(opts, bearer(token))
	}
	return serve(d.t, d.s, http.MethodPut, target, opts...)
}

func (d *mdmDevice) checkin(msg map[string]any, o send) *httptest.ResponseRecorder {
	d.t.Helper()
	return d.do(checkinURL, mediaCheckin, msg, o)
}

func (d *mdmDevice) connect(status string, extra map[string]any, o send) *httptest.ResponseRecorder {
	d.t.Helper()
	m := d.ids(o.user)
	m["Status"] = status
	maps.Copy(m, extra)
	return d.do(connectURL, mediaConnect, m, o)
}

// enroll runs Authenticate and the device-channel TokenUpdate.
func (d *mdmDevice) enroll() {
	d.t.Helper()
	assertOK(d.t, d.checkin(d.authenticateMsg(), send{}))
	assertOK(d.t, d.checkin(d.tokenUpdateMsg(false), send{}))
}

// mdmSignature is the Mdm-Signature of body: detached CMS, base64.
func mdmSignature(t *testing.T, cert *x509.Certificate, key crypto.Signer, body []byte) string {
	t.Helper()
	sd, err := pkcs7.NewSignedData(body)
	require.NoError(t, err)
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	require.NoError(t, sd.AddSigner(cert, key, pkcs7.SignerInfoConfig{}))
	sd.Detach()
	der, err := sd.Finish()
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(der)
}

func assertOK(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
}

// assertEmptyOK checks the answer of a connect with nothing queued.
func assertEmptyOK(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
	assert.Empty(t, rec.Body.String())
}

// assertRefused checks a 4xx with a plain-text reason containing want.
func assertRefused(t *testing.T, rec *httptest.ResponseRecorder, status int, want string) {
	t.Helper()
	assert.Equal(t, status, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), want)
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
}

// assertUnrecognized checks the unenroll answer.
func assertUnrecognized(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, http.StatusForbidden, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"code":"com.apple.unrecognized.device"}`, rec.Body.String())
}

// assertBare401 checks a 401 without a challenge.
func assertBare401(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "body: %s", rec.Body.String())
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
	assert.Empty(t, rec.Body.String())
}

// command decodes a connect answer that carries a command.
func command(t *testing.T, rec *httptest.ResponseRecorder) (uuid, requestType string, cmd map[string]any) {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body.String())
	assert.Equal(t, "application/xml", rec.Header().Get("Content-Type"))
	var body map[string]any
	_, err := plist.Unmarshal(rec.Body.Bytes(), &body)
	require.NoError(t, err, rec.Body.String())
	cmd, ok := body["Command"].(map[string]any)
	require.True(t, ok, "no Command dictionary in %s", rec.Body.String())
	uuid, _ = body["CommandUUID"].(string)
	requestType, _ = cmd["RequestType"].(string)
	return uuid, requestType, cmd
}

// drain answers every command Acknowledged and returns the RequestTypes
// in order, with the command dictionaries by type.
func (d *mdmDevice) drain(o send) ([]string, map[string]map[string]any) {
	d.t.Helper()
	var types []string
	cmds := map[string]map[string]any{}
	rec := d.connect("Idle", nil, o)
	for i := 0; rec.Body.Len() > 0; i++ {
		require.Less(d.t, i, 20, "the queue never drains")
		uuid, rt, cmd := command(d.t, rec)
		require.NotEmpty(d.t, uuid)
		types = append(types, rt)
		cmds[rt] = cmd
		rec = d.connect("Acknowledged", map[string]any{"CommandUUID": uuid}, o)
	}
	assertEmptyOK(d.t, rec)
	return types, cmds
}

// adminPost calls an admin trigger for id.
func adminPost(t *testing.T, s *Server, template, id string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, s, http.MethodPost, strings.ReplaceAll(template, "{id}", id))
}

// ddm sends a DeclarativeManagement check-in for endpoint, with Data when
// data is not nil, as a device does: no Topic.
func (d *mdmDevice) ddm(endpoint string, data []byte) *httptest.ResponseRecorder {
	d.t.Helper()
	extra := map[string]any{"Endpoint": endpoint}
	if data != nil {
		extra["Data"] = data
	}
	msg := d.message("DeclarativeManagement", false, extra)
	delete(msg, "Topic")
	return d.checkin(msg, send{})
}
