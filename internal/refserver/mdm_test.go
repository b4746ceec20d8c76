package refserver

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

var wantCommands = []string{"DeviceInformation", "ProfileList", "InstalledApplicationList", "SecurityInfo", "CertificateList"}

// ueForbiddenQueries are the DeviceInformation queries Apple's schema
// forbids in user enrollment on some platform (apple/device-management
// b6202ca, mdm/commands/information.device.yaml, userenrollment mode
// forbidden).
var ueForbiddenQueries = strings.Fields(`AccessibilitySettings AttestationCertificate AutoSetupAdminAccounts
	AwaitingConfiguration BluetoothMAC CarrierSettingsVersion CurrentCarrierNetwork CurrentMCC CurrentMNC
	DataRoamingEnabled EACSPreflight EstimatedResidentUsers EthernetMAC ICCID IMEI IsActivationLockEnabled
	IsActivationLockSupported IsCloudBackupEnabled IsDoNotDisturbInEffect IsMDMLostModeEnabled IsRoaming
	LastCloudBackupDate MEID ManagedAppleIDDefaultDomains MaximumResidentUsers ModemFirmwareVersion
	OSUpdateSettings OnlineAuthenticationGracePeriod PINRequiredForDeviceLock PINRequiredForEraseDevice
	PersonalHotspotEnabled PhoneNumber ProvisioningUDID PushToken QuotaSize RecommendationsCadence
	ResidentUsers SIMCarrierNetwork SerialNumber ServiceSubscriptionProperty ServiceSubscriptions
	SkipLanguageAndLocaleSetupForNewUsers SoftwareUpdateDeviceID SoftwareUpdateSettings SubscriberCarrierNetwork
	SubscriberMCC SubscriberMNC TemporarySessionOnly TemporarySessionTimeout UDID UserSessionTimeout
	VoiceRoamingEnabled WiFiMAC iTunesStoreAccountHash iTunesStoreAccountIsActive`)

func queriesOf(t *testing.T, cmd map[string]any) []string {
	t.Helper()
	raw, ok := cmd["Queries"].([]any)
	require.True(t, ok, "Queries is an array: %v", cmd)
	out := make([]string, len(raw))
	for i, q := range raw {
		out[i], ok = q.(string)
		require.True(t, ok)
	}
	return out
}

func TestCheckinCleanFlows(t *testing.T) {
	tests := []struct {
		name, account, product, kind string
	}{
		{"BYOD iPhone", "alice@acme.test", "iPhone17,3", KindBYOD},
		{"BYOD iPad", "bob@acme.test", "iPad16,3", KindBYOD},
		{"BYOD Vision Pro", "alice@acme.test", "RealityDevice14,1", KindBYOD},
		{"ADDE iPhone", "carol@acme.test", "iPhone17,3", KindADDE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t)
			d := newDevice(t, s, tt.product, tt.kind, webToken(t, s, tt.account))
			d.enroll()

			assertJWTShaped(t, maidTokenData(t, d))

			types, cmds := d.drain(send{})
			assert.Equal(t, wantCommands, types)
			queries := queriesOf(t, cmds["DeviceInformation"])
			if tt.kind == KindBYOD {
				for _, q := range queries {
					assert.NotContains(t, ueForbiddenQueries, q, "user enrollment forbids %s", q)
				}
				assert.Equal(t, true, cmds["InstalledApplicationList"]["ManagedAppsOnly"])
			} else {
				for _, q := range []string{"UDID", "SerialNumber", "IMEI", "MEID"} {
					assert.Contains(t, queries, q)
				}
				assert.NotContains(t, cmds["InstalledApplicationList"], "ManagedAppsOnly")
			}
			// Nothing more once drained.
			assertEmptyOK(t, d.connect("Idle", nil, send{}))

			e, ok := s.LookupEnrollment(d.id)
			require.True(t, ok)
			assert.Equal(t, tt.kind, e.Kind)
			assert.Equal(t, tt.account, e.User)
			assert.Equal(t, tt.product, e.ProductName)
			assert.False(t, e.Mac)
			assert.True(t, e.TokenUpdate)
			assert.Equal(t, wantCommands, e.Commands)
			require.Len(t, e.Results, len(wantCommands))
			for i, r := range e.Results {
				assert.Equal(t, wantCommands[i], r.RequestType)
				assert.Equal(t, "Acknowledged", r.Status)
				assert.Equal(t, r.CommandUUID, r.Body["CommandUUID"])
			}
			assert.Equal(t, e.Results, s.CommandResults(d.id))
			assert.Equal(t, []Enrollment{e}, s.Enrollments())
		})
	}
}

// A Mac's device channel carries no token; its user channel does.
func TestCheckinMacChannels(t *testing.T) {
	for _, tt := range []struct {
		account, kind string
	}{{"alice@acme.test", KindBYOD}, {"carol@acme.test", KindADDE}} {
		t.Run(tt.kind, func(t *testing.T) {
			s := start(t)
			d := newDevice(t, s, "Mac16,1", tt.kind, webToken(t, s, tt.account))
			d.enroll() // device channel: no Authorization
			assertOK(t, d.checkin(d.tokenUpdateMsg(true), send{user: true}))

			// A device-channel request may carry the token; a user-channel
			// one must.
			assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{forceToken: true}))
			assertChallenge(t, d.checkin(d.tokenUpdateMsg(true), send{user: true, noToken: true}), webChallenge)

			types, _ := d.drain(send{})
			assert.Equal(t, wantCommands, types)
			assertEmptyOK(t, d.connect("Idle", nil, send{user: true}))
			assertChallenge(t, d.connect("Idle", nil, send{user: true, noToken: true}), webChallenge)

			e, ok := s.LookupEnrollment(d.id)
			require.True(t, ok)
			assert.True(t, e.Mac)
			assert.Equal(t, d.userID, e.UserChannel)
			assert.Equal(t, tt.account, e.User, "the user channel's token binds the user")
		})
	}
}

func TestCheckinRequiresTokenOffTheMacDeviceChannel(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	assertChallenge(t, d.checkin(d.authenticateMsg(), send{noToken: true}), webChallenge)
	d.enroll()
	assertChallenge(t, d.checkin(d.tokenUpdateMsg(false), send{noToken: true}), webChallenge)
	assertChallenge(t, d.connect("Idle", nil, send{noToken: true}), webChallenge)
	assertChallenge(t, d.connect("Idle", nil, send{token: "not-a-token"}), webChallenge)
	assertRefused(t, d.connect("Idle", nil, send{user: true}), http.StatusBadRequest, "only a Mac has a user channel")

	// OAuth users get the apple-oauth2 challenge.
	o := newDevice(t, s, "iPhone17,3", KindBYOD, oauthTokens(t, s, "erin@acme.test")["access_token"].(string))
	o.enroll()
	assertChallenge(t, o.connect("Idle", nil, send{noToken: true}), oauthChallenge)
}

func TestCheckinRefusesGarbage(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()
	xml := func(body string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">` + body + `</plist>`)
	}
	bplist, err := plist.Marshal(d.authenticateMsg(), plist.BinaryFormat)
	require.NoError(t, err)
	auth := d.authenticateMsg()
	tests := []struct {
		name   string
		msg    map[string]any
		o      send
		status int
		want   string
	}{
		{"empty body", nil, send{body: []byte{}}, 400, "not an XML property list"},
		{"JSON", nil, send{body: []byte(`{"MessageType":"Authenticate"}`)}, 400, "not an XML property list"},
		{"binary plist", nil, send{body: bplist}, 400, "not an XML property list"},
		{"truncated XML", nil, send{body: xml("<dict><key>MessageType</key>")}, 400, "malformed property list"},
		{"not a dictionary", nil, send{body: xml("<array><string>x</string></array>")}, 400, "not a dictionary"},
		{"random bytes", nil, send{body: bytes.Repeat([]byte{0xff, 0x00, '<'}, 500)}, 400, "not an XML property list"},
		{"XML bomb of nesting", nil, send{body: xml(strings.Repeat("<array>", 100000))}, 400, "malformed property list"},
		{"over 1 MiB", nil, send{body: append(xml("<dict>"), bytes.Repeat([]byte(" "), 1<<20)...)}, 413, "larger than 1024 KiB"},
		{"no MessageType", d.ids(false), send{}, 400, "no MessageType"},
		{"unknown MessageType", d.message("Hello", false, nil), send{}, 400, `unknown MessageType "Hello"`},
		{"MessageType not a string", d.message("Authenticate", false, map[string]any{"MessageType": 7}), send{}, 400, "MessageType is a number"},
		{"no enrollment id", auth, send{strip: []string{"EnrollmentID"}}, 400, "names no enrollment"},
		{"BYOD with UDID", d.message("Authenticate", false, map[string]any{"UDID": "0000"}), send{}, 400, "must not send UDID"},
		{"BYOD with SerialNumber", d.message("Authenticate", false, map[string]any{"SerialNumber": "C02"}), send{}, 400, "must not send SerialNumber"},
		{"BYOD with IMEI", d.message("Authenticate", false, map[string]any{"IMEI": "35"}), send{}, 400, "must not send IMEI"},
		{"BYOD with MEID", d.message("Authenticate", false, map[string]any{"MEID": "A0"}), send{}, 400, "must not send MEID"},
		{"BYOD user channel with UserID only", d.message("TokenUpdate", false, map[string]any{"UserID": "u"}), send{}, 400, "EnrollmentUserID"},
		{"no Topic", d.authenticateMsg(), send{strip: []string{"Topic"}}, 400, "Authenticate needs Topic"},
		{"TokenUpdate without Token", d.tokenUpdateMsg(false), send{strip: []string{"Token"}}, 400, "needs Token"},
		{"TokenUpdate without PushMagic", d.tokenUpdateMsg(false), send{strip: []string{"PushMagic"}}, 400, "needs PushMagic"},
		{"wrong content type", d.authenticateMsg(), send{contentType: "application/xml"}, 415, "Content-Type must be application/x-apple-aspen-mdm-checkin"},
		{"connect type at check-in", d.authenticateMsg(), send{contentType: mediaConnect}, 415, "Content-Type must be"},
		{"malformed Authorization", d.authenticateMsg(), send{token: "two words"}, 400, "Bearer <token>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertRefused(t, d.checkin(tt.msg, tt.o), tt.status, tt.want)
		})
	}
	t.Run("connect", func(t *testing.T) {
		assertRefused(t, d.connect("Busy", nil, send{}), 400, `unknown Status "Busy"`)
		assertRefused(t, d.connect("", nil, send{}), 400, "no Status")
		assertRefused(t, d.connect("Acknowledged", nil, send{}), 400, "needs the CommandUUID")
		assertRefused(t, d.connect("Idle", nil, send{contentType: mediaCheckin}), 415, "Content-Type must be application/x-apple-aspen-mdm ")
		assertRefused(t, d.connect("Idle", nil, send{body: []byte("garbage")}), 400, "not an XML property list")
	})
	// The enrollment is unharmed.
	types, _ := d.drain(send{})
	assert.Equal(t, wantCommands, types)
}

func TestCheckinVerifiesIdentity(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()

	// An identity of the same shape from another server: its CA has the
	// same key (made once per process), so only the issued-here ledger
	// tells them apart.
	other := start(t)
	foreign, err := other.ca.identity.issue(&mdmKey().PublicKey, pkix.Name{CommonName: "foreign"}, other.cfg.Now())
	require.NoError(t, err)
	selfSigned := selfSignedIdentity(t)
	second := newDevice(t, s, "iPhone17,3", KindBYOD, "")

	otherBody := []byte("<plist><dict/></plist>")
	tests := []struct {
		name   string
		o      send
		status int
		want   string
	}{
		{"no identity", send{sig: "-"}, 400, "no device identity"},
		{"signature not base64", send{sig: "%%%"}, 403, "not base64"},
		{"signature not CMS", send{sig: "aGVsbG8="}, 403, "not CMS SignedData"},
		{"signature too long", send{sig: strings.Repeat("A", 40<<10)}, 403, "longer than 32 KiB"},
		{"signature of nested BER", send{sig: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x30, 0x80}, 12<<10))}, 403, "not CMS SignedData"},
		{"signature over another body", send{sig: mdmSignature(t, d.cert, d.key, otherBody)}, 403, "not a valid signature"},
		{"identity of another server", send{signer: foreign}, 403, "was not issued by this server"},
		{"self-signed identity", send{signer: selfSigned}, 403, "does not chain"},
		{"another identity of this CA", send{signer: second.cert}, 403, "is not the one enrollment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertRefused(t, d.connect("Idle", nil, tt.o), tt.status, tt.want)
		})
	}
	t.Run("expired identity", func(t *testing.T) {
		clockOf(t, s).advance(366 * 24 * time.Hour)
		assertRefused(t, d.connect("Idle", nil, send{}), 403, "does not chain")
	})
}

func selfSignedIdentity(t *testing.T) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "self"},
		NotBefore: fixedNow.Add(-time.Hour), NotAfter: fixedNow.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &mdmKey().PublicKey, mdmKey())
	require.NoError(t, err)
	c, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return c
}

// With SignMessage false the identity is the TLS client certificate: over
// the real listener, without Mdm-Signature.
func TestCheckinTLSClientIdentity(t *testing.T) {
	s := start(t)
	token := webToken(t, s, "alice@acme.test")
	d := newDevice(t, s, "iPhone17,3", KindBYOD, token)
	put := func(c *http.Client, msg map[string]any) int {
		body, err := plist.MarshalIndent(msg, plist.XMLFormat, "\t")
		require.NoError(t, err)
		req, err := http.NewRequest(http.MethodPut, checkinURL, bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", mediaCheckin)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	withCert := client(s, &tls.Config{RootCAs: s.CertPool(), Certificates: []tls.Certificate{{
		Certificate: [][]byte{d.cert.Raw}, PrivateKey: d.key, Leaf: d.cert,
	}}})
	assert.Equal(t, http.StatusOK, put(withCert, d.authenticateMsg()))
	assert.Equal(t, http.StatusOK, put(withCert, d.tokenUpdateMsg(false)))
	bare := client(s, &tls.Config{RootCAs: s.CertPool()})
	assert.Equal(t, http.StatusBadRequest, put(bare, d.tokenUpdateMsg(false)))
}

func TestCheckinTopic(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	msg := d.authenticateMsg()
	msg["Topic"] = "com.apple.mgmt.External.00000000-0000-0000-0000-000000000000"
	assertRefused(t, d.checkin(msg, send{}), 400, "is not this MDM's push topic")
	d.enroll()
	tu := d.tokenUpdateMsg(false)
	tu["Topic"] = badTopic
	assertRefused(t, d.checkin(tu, send{}), 400, "is not this MDM's push topic")
	co := d.message("CheckOut", false, map[string]any{"Topic": badTopic})
	assertRefused(t, d.checkin(co, send{}), 400, "is not this MDM's push topic")
}

// A token is bound to its enrollment: another enrollment's, or another
// user's, gets the challenge; the user's fresh sign-in re-binds.
func TestCheckinTokenBinding(t *testing.T) {
	s := start(t)
	first := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	first.enroll()
	second := newDevice(t, s, "iPad16,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	second.enroll()
	bobs := webToken(t, s, "bob@acme.test")
	carols := webToken(t, s, "carol@acme.test")

	assertChallenge(t, first.connect("Idle", nil, send{token: second.token}), webChallenge)
	assertChallenge(t, first.checkin(first.tokenUpdateMsg(false), send{token: second.token}), webChallenge)
	assertChallenge(t, first.checkin(first.authenticateMsg(), send{token: second.token}), webChallenge)
	assertChallenge(t, first.connect("Idle", nil, send{token: bobs}), webChallenge)
	assertChallenge(t, first.checkin(first.authenticateMsg(), send{token: bobs}), webChallenge)
	assertChallenge(t, first.connect("Idle", nil, send{token: carols}), webChallenge)
	// A new enrollment cannot start with a token bound to another.
	third := newDevice(t, s, "iPhone17,3", KindBYOD, first.token)
	assertChallenge(t, third.checkin(third.authenticateMsg(), send{}), webChallenge)
	// A device-enrollment token does not authenticate a user enrollment.
	fourth := newDevice(t, s, "iPhone17,3", KindBYOD, carols)
	assertChallenge(t, fourth.checkin(fourth.authenticateMsg(), send{}), webChallenge)

	// Both enrollments still work with their own tokens.
	_, _, _ = command(t, first.connect("Idle", nil, send{}))
	_, _, _ = command(t, second.connect("Idle", nil, send{}))

	// Another sign-in of the same user, unasked while the enrollment's
	// token lives, is refused too; the sign-in after the challenge is the
	// one the server asked for, and takes the old token's place.
	early := webToken(t, s, "alice@acme.test")
	clockOf(t, s).advance(time.Second)
	assertChallenge(t, first.connect("Idle", nil, send{token: early}), webChallenge)
	assertChallenge(t, first.connect("Idle", nil, send{token: early}), webChallenge)
	fresh := webToken(t, s, "alice@acme.test")
	_, _, _ = command(t, first.connect("Idle", nil, send{token: fresh}))
	assertChallenge(t, second.connect("Idle", nil, send{token: fresh}), webChallenge)
	assertChallenge(t, first.connect("Idle", nil, send{token: first.token}), webChallenge)
	first.token = fresh
	_, _, _ = command(t, first.connect("Idle", nil, send{}))
	e, ok := s.LookupEnrollment(first.id)
	require.True(t, ok)
	assert.Equal(t, "alice@acme.test", e.User)
}

func TestCommandQueue(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()

	uuid, rt, _ := command(t, d.connect("Idle", nil, send{}))
	assert.Equal(t, "DeviceInformation", rt)
	// Idle again: the device never got it, so it comes again.
	again, rt2, _ := command(t, d.connect("Idle", nil, send{}))
	assert.Equal(t, uuid, again)
	assert.Equal(t, "DeviceInformation", rt2)
	assertRefused(t, d.connect("Acknowledged", map[string]any{"CommandUUID": "00000000-0000-0000-0000-000000000000"}, send{}),
		400, "is not the command awaiting an answer")

	answers := []string{"Acknowledged", "Error", "NotNow", "CommandFormatError", "Acknowledged"}
	rec := d.connect(answers[0], map[string]any{"CommandUUID": uuid, "QueryResponses": map[string]any{"OSVersion": "18.2"}}, send{})
	var got []string
	for i := 1; i < len(answers); i++ {
		u, rt, _ := command(t, rec)
		got = append(got, rt)
		extra := map[string]any{"CommandUUID": u}
		if answers[i] == "Error" {
			extra["ErrorChain"] = []any{map[string]any{"ErrorCode": 12021, "ErrorDomain": "MCMDMErrorDomain"}}
		}
		rec = d.connect(answers[i], extra, send{})
	}
	assertEmptyOK(t, rec)
	assert.Equal(t, wantCommands[1:], got)

	results := s.CommandResults(d.id)
	require.Len(t, results, len(answers))
	for i, r := range results {
		assert.Equal(t, wantCommands[i], r.RequestType)
		assert.Equal(t, answers[i], r.Status)
		assert.False(t, r.UserChannel)
	}
	assert.Equal(t, map[string]any{"OSVersion": "18.2"}, results[0].Body["QueryResponses"])
	assert.Contains(t, results[1].Body, "ErrorChain")
	// Results are copies.
	results[0].Body["QueryResponses"] = "changed"
	assert.Equal(t, map[string]any{"OSVersion": "18.2"}, s.CommandResults(d.id)[0].Body["QueryResponses"])
	assert.Nil(t, s.CommandResults("nobody"))
}

func TestGetToken(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()
	for _, service := range []string{"com.apple.watch.pairing", "com.example.other", ""} {
		assertRefused(t, d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": service}), send{}),
			400, "unknown TokenServiceType")
	}
	assertChallenge(t, d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.apple.maid"}), send{noToken: true}), webChallenge)
}

func TestCheckOut(t *testing.T) {
	for _, tt := range []struct {
		name  string
		prep  func(t *testing.T, s *Server, d *mdmDevice)
		token send
	}{
		{"live token", func(*testing.T, *Server, *mdmDevice) {}, send{}},
		{"no token", func(*testing.T, *Server, *mdmDevice) {}, send{noToken: true}},
		{"expired token", func(t *testing.T, s *Server, d *mdmDevice) { clockOf(t, s).advance(2 * time.Hour) }, send{}},
		{"revoked token", func(t *testing.T, s *Server, d *mdmDevice) {
			revoke, _, _ := s.AdminURLs()
			require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, d.id).Code)
		}, send{}},
		{"unenrolled", func(t *testing.T, s *Server, d *mdmDevice) {
			_, _, unenroll := s.AdminURLs()
			require.Equal(t, http.StatusNoContent, adminPost(t, s, unenroll, d.id).Code)
		}, send{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t)
			d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
			d.enroll()
			tt.prep(t, s, d)
			assertOK(t, d.checkin(d.message("CheckOut", false, nil), tt.token))
			_, ok := s.LookupEnrollment(d.id)
			assert.False(t, ok, "CheckOut removes the enrollment")
			assertUnrecognized(t, d.connect("Idle", nil, send{}))
			// Checking out again is harmless.
			assertOK(t, d.checkin(d.message("CheckOut", false, nil), tt.token))
		})
	}
	t.Run("another identity", func(t *testing.T) {
		s := start(t)
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		d.enroll()
		other := newDevice(t, s, "iPhone17,3", KindBYOD, "")
		assertRefused(t, d.checkin(d.message("CheckOut", false, nil), send{signer: other.cert}), 403, "is not the one enrollment")
		_, ok := s.LookupEnrollment(d.id)
		assert.True(t, ok)
	})
}

func TestAdminTriggers(t *testing.T) {
	revoke, expire, unenroll := (&Server{}).AdminURLs()
	assert.Equal(t, "https://mdm.acme.test/admin/revoke-token?id={id}", revoke)
	assert.Equal(t, "https://mdm.acme.test/admin/expire-token?id={id}", expire)
	assert.Equal(t, "https://mdm.acme.test/admin/unenroll?id={id}", unenroll)

	t.Run("unknown id, no id, wrong method", func(t *testing.T) {
		s := start(t)
		for _, tmpl := range []string{revoke, expire, unenroll} {
			rec := adminPost(t, s, tmpl, "nobody")
			assert.Equal(t, http.StatusNotFound, rec.Code, tmpl)
			assert.Contains(t, rec.Body.String(), "no enrollment nobody")
			assert.Equal(t, http.StatusBadRequest, adminPost(t, s, tmpl, "").Code, tmpl)
			assert.Equal(t, http.StatusMethodNotAllowed, serve(t, s, http.MethodGet, strings.ReplaceAll(tmpl, "{id}", "x")).Code)
		}
	})

	for _, tt := range []struct {
		name, trigger string
	}{{"revoke", revoke}, {"expire", expire}} {
		t.Run(tt.name+" then sign in again", func(t *testing.T) {
			s := start(t)
			d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
			d.enroll()
			rec := adminPost(t, s, tt.trigger, d.id)
			assert.Equal(t, http.StatusNoContent, rec.Code)
			assert.Empty(t, rec.Body.String())
			assertChallenge(t, d.connect("Idle", nil, send{}), webChallenge)
			assertChallenge(t, d.checkin(d.tokenUpdateMsg(false), send{}), webChallenge)
			d.token = webToken(t, s, "alice@acme.test")
			assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{}))
			types, _ := d.drain(send{})
			assert.Equal(t, wantCommands, types)
		})
	}

	t.Run("expire then refresh (OAuth)", func(t *testing.T) {
		s := start(t)
		tokens := oauthTokens(t, s, "erin@acme.test")
		d := newDevice(t, s, "iPhone17,3", KindBYOD, tokens["access_token"].(string))
		d.enroll()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, expire, d.id).Code)
		assertChallenge(t, d.connect("Idle", nil, send{}), oauthChallenge)
		rec, body := tokenRequest(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {OAuthClientID}})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		d.token = body["access_token"].(string)
		_, rt, _ := command(t, d.connect("Idle", nil, send{}))
		assert.Equal(t, "DeviceInformation", rt)
	})

	t.Run("the hour passes", func(t *testing.T) {
		s := start(t)
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		d.enroll()
		clockOf(t, s).advance(accessTokenTTL)
		assertChallenge(t, d.connect("Idle", nil, send{}), webChallenge)
	})

	t.Run("unenroll", func(t *testing.T) {
		s := start(t)
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		d.enroll()
		assert.Equal(t, http.StatusNoContent, adminPost(t, s, unenroll, d.id).Code)
		e, ok := s.LookupEnrollment(d.id)
		require.True(t, ok)
		assert.True(t, e.Unenrolled)
		assertUnrecognized(t, d.connect("Idle", nil, send{}))
		assertUnrecognized(t, d.checkin(d.tokenUpdateMsg(false), send{}))
		// A fresh enrollment of the same device is a new start.
		assertOK(t, d.checkin(d.authenticateMsg(), send{}))
		_, rt, _ := command(t, d.connect("Idle", nil, send{}))
		assert.Equal(t, "DeviceInformation", rt)
	})

	t.Run("a Mac's device channel needs no token, revoked or not", func(t *testing.T) {
		s := start(t)
		d := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
		d.enroll()
		assertOK(t, d.checkin(d.tokenUpdateMsg(true), send{user: true}))
		require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, d.id).Code)
		assertChallenge(t, d.checkin(d.tokenUpdateMsg(true), send{user: true}), webChallenge)
		assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{}))
	})
}

// Requests for an enrollment the server does not know get the 403 that
// unenrolls.
func TestCheckinUnknownEnrollment(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	assertUnrecognized(t, d.checkin(d.tokenUpdateMsg(false), send{}))
	assertUnrecognized(t, d.connect("Idle", nil, send{}))
	assertUnrecognized(t, d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.apple.maid"}), send{}))
}

// The server never panics and never answers 5xx, whatever the body or
// signature.
func TestCheckinNoServerErrors(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()
	seeds := [][]byte{
		[]byte(`<?xml version="1.0"?><plist><dict><key>MessageType</key><array/></dict></plist>`),
		[]byte(`<?xml version="1.0"?><plist><dict><key>EnrollmentID</key><data>AAAA</data></dict></plist>`),
		[]byte(`<?xml version="1.0"?><plist><dict><key>Status</key><integer>1</integer></dict></plist>`),
		[]byte(`<plist><dict><key>a</key><date>never</date></dict></plist>`),
		[]byte(`<!DOCTYPE plist [<!ENTITY a "aaaaaaaa">]><plist><string>&a;&a;</string></plist>`),
		[]byte("<?xml"),
	}
	for i, body := range seeds {
		for _, target := range []string{checkinURL, connectURL} {
			ct := mediaCheckin
			if target == connectURL {
				ct = mediaConnect
			}
			rec := d.do(target, ct, nil, send{body: body})
			assert.Less(t, rec.Code, 500, "seed %d at %s: %s", i, target, rec.Body.String())
			assert.GreaterOrEqual(t, rec.Code, 400, "seed %d at %s", i, target)
			// A signature in base64 of random DER.
			junk := make([]byte, 64)
			_, _ = rand.Read(junk)
			rec = d.do(target, ct, d.message("Authenticate", false, nil), send{sig: base64.StdEncoding.EncodeToString(append([]byte{0x30, 0x82, 0x01, 0x00}, junk...))})
			assert.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
		}
	}
}

// The listener asks for, and does not require, a client certificate:
// other hosts keep working without one.
func TestTLSRequestsClientCertificate(t *testing.T) {
	s := start(t)
	asked := false
	c := client(s, &tls.Config{RootCAs: s.CertPool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		asked = true
		return &tls.Certificate{}, nil
	}})
	resp, _, err := get(t, c, orgWK+aliceQ)
	require.NoError(t, err)
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.True(t, asked, "the server asks for a client certificate")
}

// maidTokenData is the TokenData of d's GetToken for com.apple.maid.
func maidTokenData(t *testing.T, d *mdmDevice) []byte {
	t.Helper()
	rec := d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.apple.maid"}), send{})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var tok map[string]any
	_, err := plist.Unmarshal(rec.Body.Bytes(), &tok)
	require.NoError(t, err)
	data, ok := tok["TokenData"].([]byte)
	require.True(t, ok, "TokenData is data: %v", tok)
	return data
}

// assertJWTShaped: Apple documents the com.apple.maid TokenData as a signed
// JWT, which the conforming server's stand-in must look like (CHK-010).
func assertJWTShaped(t *testing.T, data []byte) {
	t.Helper()
	parts := strings.Split(string(data), ".")
	require.Len(t, parts, 3, "a JWT has three dot-separated parts")
	for _, p := range parts {
		_, err := base64.RawURLEncoding.DecodeString(p)
		assert.NoError(t, err, "base64url without padding")
		assert.NotEmpty(t, p)
	}
	head, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var header map[string]any
	require.NoError(t, json.Unmarshal(head, &header))
	assert.NotEmpty(t, header["alg"])
}

// A TokenUpdate's push details are stored per enrollment and channel, as a
// real server stores them, each channel's last one replacing its previous;
// a CheckOut removes the enrollment but keeps its last record, marked.
func TestTokenUpdateStoresPush(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()
	e, ok := s.LookupEnrollment(d.id)
	require.True(t, ok)
	want := Push{Topic: s.topic, PushMagic: "magic-" + d.id, Token: []byte("push-token-" + d.id)}
	assert.Equal(t, want, e.Push)
	assert.Equal(t, Push{}, e.UserPush, "no user-channel TokenUpdate yet")

	tu := d.tokenUpdateMsg(true)
	tu["Token"], tu["PushMagic"], tu["UnlockToken"], tu["AwaitingConfiguration"] = []byte("user-push"), "user-magic", []byte("unlock"), true
	assertOK(t, d.checkin(tu, send{user: true}))
	e, _ = s.LookupEnrollment(d.id)
	assert.Equal(t, want, e.Push, "the user channel leaves the device channel's alone")
	assert.Equal(t, Push{Topic: s.topic, PushMagic: "user-magic", Token: []byte("user-push"), UnlockToken: []byte("unlock"), AwaitingConfiguration: true}, e.UserPush)

	again := d.tokenUpdateMsg(false)
	again["PushMagic"] = "magic-2"
	assertOK(t, d.checkin(again, send{}))
	e, _ = s.LookupEnrollment(d.id)
	assert.Equal(t, "magic-2", e.Push.PushMagic, "the last TokenUpdate wins")

	_, ok = s.CheckedOutEnrollment(d.id)
	assert.False(t, ok)
	assertOK(t, d.checkin(d.message("CheckOut", false, nil), send{}))
	_, ok = s.LookupEnrollment(d.id)
	assert.False(t, ok)
	left, ok := s.CheckedOutEnrollment(d.id)
	require.True(t, ok)
	assert.True(t, left.CheckedOut)
	assert.Equal(t, "magic-2", left.Push.PushMagic)
	assert.Equal(t, "user-push", string(left.UserPush.Token))
	assert.Equal(t, []Enrollment{left}, s.CheckedOutEnrollments())
}
