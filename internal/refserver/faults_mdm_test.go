package refserver

import (
	"maps"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"
)

func init() { maps.Copy(faultEffects, mdmFaultEffects) }

// aliceDevice is alice's enrolled iPhone (Authenticate and TokenUpdate done).
func aliceDevice(t *testing.T, s *Server) *mdmDevice {
	t.Helper()
	d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
	d.enroll()
	return d
}

// The check-in faults: each breaks its one rule, and the row shows the
// rest working where the fault leaves it alone.
var mdmFaultEffects = map[string]func(t *testing.T, s *Server){
	FaultCheckinRequiresUDIDForBYOD: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertRefused(t, d.checkin(d.authenticateMsg(), send{}), 400, "Authenticate needs UDID")
		c := newDevice(t, s, "iPhone17,3", KindADDE, webToken(t, s, "carol@acme.test"))
		c.enroll()
	},
	FaultADDEAuthenticateRefused: func(t *testing.T, s *Server) {
		c := newDevice(t, s, "iPhone17,3", KindADDE, webToken(t, s, "carol@acme.test"))
		assertRefused(t, c.checkin(c.authenticateMsg(), send{}), 400, "device enrollments cannot check in")
		aliceDevice(t, s)
	},
	FaultTokenUpdateRefused: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertOK(t, d.checkin(d.authenticateMsg(), send{}))
		assertRefused(t, d.checkin(d.tokenUpdateMsg(false), send{}), 400, "TokenUpdate is not supported")
		m := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertOK(t, m.checkin(m.authenticateMsg(), send{}))
		assertOK(t, m.checkin(m.tokenUpdateMsg(true), send{user: true}))
	},
	FaultUserChannelRefused: func(t *testing.T, s *Server) {
		m := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
		m.enroll()
		assertRefused(t, m.checkin(m.tokenUpdateMsg(true), send{user: true}), 400, "user-channel requests are not supported")
		assertRefused(t, m.connect("Idle", nil, send{user: true}), 400, "user-channel requests are not supported")
		_, rt, _ := command(t, m.connect("Idle", nil, send{}))
		assert.Equal(t, "DeviceInformation", rt)
	},
	FaultCheckinContentType: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertRefused(t, d.checkin(d.authenticateMsg(), send{}), 415, "Content-Type must be application/xml")
		assertOK(t, d.checkin(d.authenticateMsg(), send{contentType: "application/xml"}))
		// Connect keeps its media type.
		_, rt, _ := command(t, d.connect("Idle", nil, send{}))
		assert.Equal(t, "DeviceInformation", rt)
	},
	FaultTopicNotChecked: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		msg := d.authenticateMsg()
		msg["Topic"] = badTopic
		assertOK(t, d.checkin(msg, send{}))
		tu := d.tokenUpdateMsg(false)
		tu["Topic"] = badTopic
		assertOK(t, d.checkin(tu, send{}))
		// Stored as sent, as NanoMDM stores it: the wrong topic is what
		// the server would now push on.
		e, ok := s.LookupEnrollment(d.id)
		require.True(t, ok)
		assert.Equal(t, badTopic, e.Push.Topic)
	},
	FaultConnectBadCommand: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		uuid, rt, _ := command(t, d.connect("Idle", nil, send{}))
		assert.Empty(t, uuid, "the first command has no CommandUUID")
		assert.Equal(t, "DeviceInformation", rt)
		uuid, _, _ = command(t, d.connect("Idle", nil, send{}))
		assert.Empty(t, uuid, "nor when it is handed again")
	},
	FaultCheckinIgnoresToken: func(t *testing.T, s *Server) {
		first := aliceDevice(t, s)
		second := aliceDevice(t, s)
		bobs := webToken(t, s, "bob@acme.test")
		_, _, _ = command(t, first.connect("Idle", nil, send{token: second.token}))
		assertOK(t, first.checkin(first.tokenUpdateMsg(false), send{token: bobs}))
		// The binding is not moved: the enrollment's own token still works.
		assertOK(t, first.checkin(first.tokenUpdateMsg(false), send{}))
		// Missing, unknown and revoked tokens are still refused.
		assertChallenge(t, first.connect("Idle", nil, send{noToken: true}), webChallenge)
		assertChallenge(t, first.connect("Idle", nil, send{token: "unknown"}), webChallenge)
		revoke, _, _ := s.AdminURLs()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, first.id).Code)
		assertChallenge(t, first.connect("Idle", nil, send{}), webChallenge)
	},
	FaultSecondEnrollmentOtherUser: func(t *testing.T, s *Server) {
		// Alice's first enrollment is hers; a token from a second sign-in,
		// once she has one, gets another user's profile and is theirs.
		_, p := fetchProfileWith(t, s, enrollBYOD, webToken(t, s, "alice@acme.test"))
		assert.Equal(t, "alice@acme.test", p.mdm(t)["AssignedManagedAppleID"], "no enrollment yet: her own profile")
		first := aliceDevice(t, s)
		second := webToken(t, s, "alice@acme.test")
		_, p = fetchProfileWith(t, s, enrollBYOD, second)
		other := p.mdm(t)["AssignedManagedAppleID"]
		assert.NotEqual(t, "alice@acme.test", other)
		g, ok := s.lookupAccess(second)
		require.True(t, ok)
		assert.NotEqual(t, "alice@acme.test", g.user, "the token is rebound to the other user")
		// And the first enrollment takes that other user's token.
		assertOK(t, first.connect("Idle", nil, send{token: second}))
	},
	FaultGetTokenUnknownType200: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		rec := d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.example.unknown"}), send{})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var body map[string]any
		_, err := plist.Unmarshal(rec.Body.Bytes(), &body)
		require.NoError(t, err)
		assert.IsType(t, []byte(nil), body["TokenData"])
	},
	FaultGetTokenOpaqueTokenData: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		data := maidTokenData(t, d)
		assert.NotContains(t, string(data), ".", "an opaque string, no JWT: %q", data)
		// The unknown service is still refused.
		assertRefused(t, d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.example.unknown"}), send{}), 400, "unknown TokenServiceType")
	},
	FaultCheckoutRequiresToken: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		assertChallenge(t, d.checkin(d.message("CheckOut", false, nil), send{noToken: true}), webChallenge)
		clockOf(t, s).advance(accessTokenTTL)
		assertChallenge(t, d.checkin(d.message("CheckOut", false, nil), send{}), webChallenge)
		_, ok := s.LookupEnrollment(d.id)
		assert.True(t, ok, "the refused CheckOut leaves the enrollment")
		d.token = webToken(t, s, "alice@acme.test")
		assertOK(t, d.checkin(d.message("CheckOut", false, nil), send{}))
	},
	FaultQueriesSerialInBYOD: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		_, _, cmd := command(t, d.connect("Idle", nil, send{}))
		assert.Contains(t, queriesOf(t, cmd), "SerialNumber")
	},
	FaultCommandNotOnPlatform: func(t *testing.T, s *Server) {
		types, _ := aliceDevice(t, s).drain(send{})
		assert.Contains(t, types, "ContentCachingInformation")
	},
	FaultForbiddenPayloadBYOD: func(t *testing.T, s *Server) {
		types, cmds := aliceDevice(t, s).drain(send{})
		assert.Contains(t, types, "InstallProfile")
		payload, _ := cmds["InstallProfile"]["Payload"].([]byte)
		assert.Contains(t, string(payload), "com.apple.cellular")
	},
	FaultEraseBYOD: func(t *testing.T, s *Server) {
		types, cmds := aliceDevice(t, s).drain(send{})
		assert.Contains(t, types, "EraseDevice")
		assert.Equal(t, "123456", cmds["EraseDevice"]["PIN"])
	},
	FaultCheckinRejectsBearer: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertRefused(t, d.checkin(d.authenticateMsg(), send{}), 400, "must not carry Authorization")
		// A Mac's device channel, which carries none, works.
		m := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
		m.enroll()
		assertRefused(t, m.checkin(m.tokenUpdateMsg(true), send{user: true}), 400, "must not carry Authorization")
	},
	FaultMacDeviceChannelRequiresToken: func(t *testing.T, s *Server) {
		m := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
		assertChallenge(t, m.checkin(m.authenticateMsg(), send{}), webChallenge)
		assertOK(t, m.checkin(m.authenticateMsg(), send{forceToken: true}))
		assertChallenge(t, m.connect("Idle", nil, send{}), webChallenge)
	},
	FaultRevokedTokenBare401: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		revoke, expire, _ := s.AdminURLs()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, d.id).Code)
		assertBare401(t, d.connect("Idle", nil, send{}))
		// An expired token still gets the challenge.
		e := aliceDevice(t, s)
		require.Equal(t, http.StatusNoContent, adminPost(t, s, expire, e.id).Code)
		assertChallenge(t, e.connect("Idle", nil, send{}), webChallenge)
	},
	FaultUnenrollBare401: func(t *testing.T, s *Server) {
		d := aliceDevice(t, s)
		_, _, unenroll := s.AdminURLs()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, unenroll, d.id).Code)
		assertBare401(t, d.connect("Idle", nil, send{}))
	},
	FaultExpiredTokenAccepted: func(t *testing.T, s *Server) {
		d := newDevice(t, s, "iPhone17,3", KindBYOD, oauthTokens(t, s, "erin@acme.test")["access_token"].(string))
		d.enroll()
		_, expire, _ := s.AdminURLs()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, expire, d.id).Code)
		_, rt, _ := command(t, d.connect("Idle", nil, send{}))
		assert.Equal(t, "DeviceInformation", rt)
		clockOf(t, s).advance(2 * accessTokenTTL)
		assertOK(t, d.checkin(d.tokenUpdateMsg(false), send{}))
		// A revoked one is still refused.
		revoke, _, _ := s.AdminURLs()
		require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, d.id).Code)
		assertChallenge(t, d.connect("Idle", nil, send{}), oauthChallenge)
	},
}

// The clean server shows none of the check-in faults' effects; the rows
// above are the negative of these.
func TestMDMFaultsOffByDefault(t *testing.T) {
	s := start(t)
	d := aliceDevice(t, s)
	uuid, _, cmd := command(t, d.connect("Idle", nil, send{}))
	assert.NotEmpty(t, uuid)
	assert.NotContains(t, queriesOf(t, cmd), "SerialNumber")
	assertRefused(t, d.checkin(d.message("GetToken", false, map[string]any{"TokenServiceType": "com.example.unknown"}), send{}), 400, "unknown TokenServiceType")
	revoke, _, unenroll := s.AdminURLs()
	require.Equal(t, http.StatusNoContent, adminPost(t, s, revoke, d.id).Code)
	assertChallenge(t, d.connect("Idle", nil, send{}), webChallenge)
	require.Equal(t, http.StatusNoContent, adminPost(t, s, unenroll, d.id).Code)
	assertUnrecognized(t, d.connect("Idle", nil, send{}))
	m := newDevice(t, s, "Mac16,1", KindBYOD, webToken(t, s, "alice@acme.test"))
	m.enroll()
	assertOK(t, m.checkin(m.tokenUpdateMsg(true), send{user: true}))
}
