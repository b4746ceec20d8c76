package sim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// gettokenMDM answers GetToken for com.apple.maid with data, 400 for any
// other service, and every other check-in with 200.
func gettokenMDM(data []byte) *fakeMDM {
	return &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
		if msg["MessageType"] != "GetToken" {
			return 200, ""
		}
		if msg["TokenServiceType"] != "com.apple.maid" {
			return 400, "unknown TokenServiceType"
		}
		b, err := plist.Marshal(map[string]any{"TokenData": data}, plist.XMLFormat)
		if err != nil {
			panic(err)
		}
		return 200, string(b)
	}}
}

func jwtOf(header string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(`{"sub":"x","jti":"a8Fq0"}`)) + "." + enc.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
}

// CHK-010 reads the com.apple.maid TokenData as the signed JWT Apple
// documents: anything else warns (never fails), naming what is wrong and
// never the token.
func TestGetTokenDataIsAJWT(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		says       string // "" passes
	}{
		{"a signed JWT", jwtOf(`{"alg":"ES256","typ":"JWT"}`), ""},
		{"a JWT and a newline", jwtOf(`{"alg":"RS256"}`) + "\n", ""},
		{"a 27-byte static string", "acme-static-maid-token-0001", "no dot: one part where a JWT has three"},
		{"two parts", "eyJhbGciOiJFUzI1NiJ9.c2lnbmF0dXJl", "2 dot-separated parts where a JWT has three"},
		{"an empty signature", strings.TrimSuffix(jwtOf(`{"alg":"ES256"}`), "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"), "the signature part is empty"},
		{"not base64url", "eyJhbGciOiJFUzI1NiJ9.c3ViIG!!.c2ln", "the payload part is not base64url"},
		{"a header that is not JSON", jwtOf(`alg=ES256`), "the header part does not decode to a JSON object"},
		{"a header that is a JSON array", jwtOf(`["ES256"]`), "the header part does not decode to a JSON object"},
		{"a header without alg", jwtOf(`{"typ":"JWT"}`), "the JSON header has no alg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, noProbes := range []bool{false, true} {
				run := playMDM(t, mdmSetupT{device: "iphone@18.2", user: true, noProbes: noProbes}, gettokenMDM([]byte(tc.data)))
				run.r.step = event.StepTokenLife
				run.r.judged(check.JudgeTokenLifeCHK(check.TokenLife{GetToken: run.r.getToken(false), NoProbes: true}))
				res := run.result("CHK-010")
				if tc.says == "" {
					assert.Equal(t, check.Pass, res.Status, "%s %s", res.Actual, res.Detail)
				} else {
					assert.Equal(t, check.Warn, res.Status, "%s %s", res.Actual, res.Detail)
					assert.Contains(t, res.Actual, "not a signed JWT ("+tc.says+")")
					assert.Contains(t, res.Expected, "signed JWT")
				}
				secret := strings.TrimSpace(tc.data)
				for _, ev := range run.events {
					b, err := json.Marshal(ev)
					require.NoError(t, err)
					assert.NotContains(t, string(b), secret, "the TokenData is a credential")
				}
			}
		})
	}
}

// An unknown TokenServiceType answered 200 still warns beside a JWT, and
// a JWT problem and a 200 are both named.
func TestGetTokenUnknownServiceAndShape(t *testing.T) {
	f := gettokenMDM([]byte("opaque-maid-token-0123456789"))
	inner := f.checkin
	f.checkin = func(msg map[string]any, q *http.Request) (int, string) {
		if msg["MessageType"] == "GetToken" {
			msg["TokenServiceType"] = "com.apple.maid"
		}
		return inner(msg, q)
	}
	run := playMDM(t, mdmSetupT{device: "iphone@18.2", user: true}, f)
	run.r.step = event.StepTokenLife
	run.r.judged(check.JudgeTokenLifeCHK(check.TokenLife{GetToken: run.r.getToken(false), NoProbes: true}))
	res := run.result("CHK-010")
	assert.Equal(t, check.Warn, res.Status)
	assert.Contains(t, res.Actual, "not a signed JWT (no dot: one part where a JWT has three)")
	assert.Contains(t, res.Actual, unknownTokenService+": status 200")
}

// CHK-007's wrong Topic is followed by the device's own TokenUpdate on the
// same channel, with the same identity and token; a refused restore is an
// error note on the result, never a change of its verdict.
func TestTopicProbeRestores(t *testing.T) {
	for _, tc := range []struct {
		name          string
		device        string
		user          bool // the probe's channel
		takesWrong    bool // the server accepts the wrong topic
		refusesLater  bool // and every TokenUpdate after it
		status        check.Status
		restoreStatus string
	}{
		{"a conforming server", "iphone@18.2", false, false, false, check.Pass, ""},
		{"a server that stores the wrong topic", "iphone@18.2", false, true, false, check.Warn, ""},
		{"the Mac user channel", "mac@15.2", true, true, false, check.Warn, ""},
		{"a restore the server refuses", "iphone@18.2", false, true, true, check.Warn, "error: after probe CHK-007 the device's own TokenUpdate, resent to restore what the server stores, was not accepted (status 400"},
		{"a restore refused after a refused probe", "iphone@18.2", false, false, true, check.Pass, "was not accepted (status 400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probed := false
			f := &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if msg["MessageType"] != "TokenUpdate" {
					return 200, ""
				}
				if msg["Topic"] != testTopic {
					probed = true
					if tc.takesWrong {
						return 200, ""
					}
					return 400, "not this MDM's topic"
				}
				if probed && tc.refusesLater {
					return 400, "no"
				}
				return 200, ""
			}}
			run := playMDM(t, mdmSetupT{device: tc.device, user: true}, f)
			before := len(f.requests())
			run.r.step = event.StepTokenLife
			run.r.judged(check.JudgeTokenLifeCHK(check.TokenLife{GetToken: check.GetToken{NotAdvertised: true},
				Topic: run.r.topicProbe(tc.user), NoToken: "the test plays no second enrollment"}))
			res := run.result("CHK-007")
			assert.Equal(t, tc.status, res.Status, "%s %s", res.Actual, res.Detail)
			if tc.restoreStatus == "" {
				assert.Empty(t, res.Detail)
			} else {
				assert.Contains(t, res.Detail, tc.restoreStatus)
			}
			sent := f.requests()[before:]
			require.Len(t, sent, 2, "the probe, then the restore")
			probe, restore := sent[0], sent[1]
			assert.Equal(t, testTopic+".enrollsim-other", probe.msg["Topic"])
			assert.Equal(t, "TokenUpdate", restore.msg["MessageType"])
			assert.Equal(t, testTopic, restore.msg["Topic"], "the device's own topic")
			for _, k := range []string{"EnrollmentID", "EnrollmentUserID", "Token", "PushMagic"} {
				assert.Equal(t, probe.msg[k], restore.msg[k], "%s: the same channel and device", k)
			}
			_, userKey := restore.msg["EnrollmentUserID"]
			assert.Equal(t, tc.user, userKey, "the probe's channel")
			assert.Equal(t, probe.header.Get("Authorization"), restore.header.Get("Authorization"))
			assert.Equal(t, probe.header.Get("Mdm-Signature") != "", restore.header.Get("Mdm-Signature") != "", "signed with the identity")
		})
	}
}
