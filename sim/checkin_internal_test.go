package sim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// fakeMDM is a check-in and connect server for one test: it records every
// request and answers as the test's functions say (nil: as a conforming
// server, with a DeviceInformation and a ProfileList queued).
type fakeMDM struct {
	mu       sync.Mutex
	reqs     []seenMDM
	connects int
	checkin  func(msg map[string]any, q *http.Request) (int, string)
	connect  func(n int, msg map[string]any, q *http.Request) (int, string)
	queries  []any // DeviceInformation's Queries
}

type seenMDM struct {
	method string
	path   string
	header http.Header
	body   []byte
	msg    map[string]any
}

const testTopic = "com.apple.mgmt.External.e0bd1eac-1f17-4c8e-8a63-dd17d3dd35d9"

func (f *fakeMDM) ServeHTTP(w http.ResponseWriter, q *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(q.Body, 1<<20))
	var msg map[string]any
	_, _ = plist.Unmarshal(body, &msg)
	f.mu.Lock()
	f.reqs = append(f.reqs, seenMDM{q.Method, q.URL.Path, q.Header.Clone(), body, msg})
	n := -1
	if q.URL.Path == "/mdm/connect" && q.Header.Get("Content-Type") == ctConnect && q.Header.Get("Authorization") != "Bearer " {
		n = f.connects
		f.connects++
	}
	f.mu.Unlock()
	status, answer := http.StatusOK, ""
	switch {
	case q.URL.Path == "/mdm/checkin" && f.checkin != nil:
		status, answer = f.checkin(msg, q)
	case q.URL.Path == "/mdm/connect" && f.connect != nil:
		status, answer = f.connect(n, msg, q)
	case q.URL.Path == "/mdm/connect":
		status, answer = f.conforming(n)
	}
	if answer == challengeBody {
		w.Header().Set("WWW-Authenticate", `Bearer method="apple-as-web",url="https://mdm.acme.test/login"`)
		answer = ""
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

func (f *fakeMDM) conforming(n int) (int, string) {
	queries := f.queries
	if queries == nil {
		queries = []any{"OSVersion", "BuildVersion", "ProductName"}
	}
	switch n {
	case 0:
		return 200, commandPlist("C-1", map[string]any{"RequestType": "DeviceInformation", "Queries": queries})
	case 1:
		return 200, commandPlist("C-2", map[string]any{"RequestType": "ProfileList"})
	}
	return 200, ""
}

func commandPlist(uuid string, cmd map[string]any) string {
	b, err := plist.Marshal(map[string]any{"CommandUUID": uuid, "Command": cmd}, plist.XMLFormat)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// requests are the recorded requests that are not probes: the device's.
func (f *fakeMDM) requests() []seenMDM {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenMDM(nil), f.reqs...)
}

var (
	testIdentOnce sync.Once
	testIdent     *identityState
)

// testIdentity stands for the SCEP identity (RSA 2048, as the profile's
// SCEP payload asks), made once per test binary.
func testIdentity(t *testing.T) *identityState {
	testIdentOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "enrollsim test identity"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		cert, _ := x509.ParseCertificate(der)
		testIdent = &identityState{cert: cert, key: key, how: "scep"}
	})
	return testIdent
}

// mdmSetupT is one test's device and profile.
type mdmSetupT struct {
	device      string // e.g. iphone@18.2
	user        bool   // user enrollment (BYOD); else ADDE
	noSign      bool   // SignMessage false
	caps        []string
	until       event.Until
	noIdentity  bool
	timeout     time.Duration
	stepTimeout time.Duration
	doer        Doer
	noProbes    bool
	url         string // the server's base URL; default the fake's
	// reauthToken, when set, is the token signing in again gives.
	reauthToken string
}

const testToken = "tok-3f9a1c77e2b94d0c"

type mdmRun struct {
	r      *runner
	events []event.Event
	stop   *stop
}

// playMDM plays check-in and commands against f under a deadline, so a
// regression fails instead of hanging.
func playMDM(t *testing.T, s mdmSetupT, f http.Handler) *mdmRun {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	base := srv.URL
	if s.url != "" {
		base = s.url
	}
	var doer Doer = srv.Client()
	if s.doer != nil {
		doer = s.doer
	}
	return playMDMAt(t, s, base, doer)
}

func playMDMAt(t *testing.T, s mdmSetupT, base string, doer Doer) *mdmRun {
	t.Helper()
	d, err := device.LookupDevice(s.device)
	require.NoError(t, err)
	caps := s.caps
	if caps == nil {
		caps = []string{capPerUser, "com.apple.mdm.bootstraptoken", capToken}
	}
	mode := "ADDE"
	if s.user {
		mode = "BYOD"
	}
	p := testProfile(t, map[string]any{
		"PayloadType": profile.PayloadTypeMDM, "PayloadIdentifier": "com.acme.mdm.payload", "PayloadUUID": "5B1F4C8E-0000-4000-8000-000000000002", "PayloadVersion": 1,
		"Topic": testTopic, "ServerURL": base + "/mdm/connect", "CheckInURL": base + "/mdm/checkin",
		"SignMessage": !s.noSign, "ServerCapabilities": caps, "EnrollmentMode": mode, "IdentityCertificateUUID": "5B1F4C8E-0000-4000-8000-000000000003",
	})
	lim := Limits{Timeout: s.timeout, StepTimeout: s.stepTimeout}
	if lim.Timeout == 0 {
		lim.Timeout = 3 * time.Second
	}
	run := &mdmRun{}
	var mu sync.Mutex
	red := (&secret.Redactor{}).ForCase()
	r := &runner{e: &Engine{Doer: doer}, ctx: context.Background(), clock: time.Now, lim: lim.withDefaults(), red: red,
		c:    Case{Name: s.device + "/" + mode, Device: d, Account: Account{Identifier: "alice@acme.test"}, Until: s.until, NoProbes: s.noProbes},
		emit: func(ev event.Event) { mu.Lock(); run.events = append(run.events, ev); mu.Unlock() }}
	r.enroll = &enrollState{token: testToken, profile: p}
	red.Add(testToken)
	if !s.noIdentity {
		r.identity = testIdentity(t)
	}
	run.r = r
	if s.reauthToken != "" {
		m, err := r.mdmSetup()
		require.NoError(t, err)
		m.signInAgain = func(*response, string) (bool, string) {
			r.enroll.token = s.reauthToken
			red.Add(s.reauthToken)
			return true, ""
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if run.stop = r.runStep(event.StepCheckIn, r.checkInStep); run.stop == nil && r.c.Until.Reaches(event.UntilCommands) {
			run.stop = r.runStep(event.StepCommands, r.commandsStep)
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("check-in and commands hung")
	}
	return run
}

func testProfile(t *testing.T, mdm map[string]any) *profile.Profile {
	t.Helper()
	b, err := plist.Marshal(map[string]any{
		"PayloadType": "Configuration", "PayloadIdentifier": "com.acme.enrollment", "PayloadUUID": "5B1F4C8E-0000-4000-8000-000000000001",
		"PayloadVersion": 1, "PayloadDisplayName": "Acme", "PayloadContent": []any{mdm},
	}, plist.XMLFormat)
	require.NoError(t, err)
	p, err := profile.Parse(b)
	require.NoError(t, err)
	return p
}

func (m *mdmRun) status(id string) check.Status {
	for _, res := range m.r.results {
		if res.ID == id {
			return res.Status
		}
	}
	return ""
}

func (m *mdmRun) result(id string) check.Result {
	for _, res := range m.r.results {
		if res.ID == id {
			return res
		}
	}
	return check.Result{}
}

func (m *mdmRun) tripped() []string {
	out := []string{}
	for _, res := range m.r.results {
		if res.Tripped() {
			out = append(out, res.ID)
		}
	}
	sort.Strings(out)
	return out
}

func (m *mdmRun) describe() string {
	var b strings.Builder
	for _, res := range m.r.results {
		b.WriteString("\n  " + string(res.Status) + " " + res.ID + ": " + res.Actual + res.Detail)
	}
	return b.String()
}

// identityChecks are the checks of check-in and commands that need the
// identity: with none they are blocked (error, never fail).
var identityChecks = []string{"CHK-002", "CHK-003", "CHK-004", "CHK-005", "CHK-006", "TOK-004", "TOK-005", "CHK-008", "CHK-012"}

// Every MDM check is reported exactly once per case.
func (m *mdmRun) assertEachOnce(t *testing.T) {
	t.Helper()
	count := map[string]int{}
	for _, res := range m.r.results {
		count[res.ID]++
	}
	for _, id := range identityChecks {
		assert.Equal(t, 1, count[id], "%s reported %d times:%s", id, count[id], m.describe())
	}
}

// The device's requests have the shape of the device of the enrollment
// type, family and channel: headers, body keys, a signature that verifies
// over the exact body with the identity.
func TestCheckInRequestShapes(t *testing.T) {
	forbiddenInUE := []string{"UDID", "SerialNumber", "IMEI", "MEID", "UserID"}
	tests := []struct {
		device string
		user   bool
		// paths and message types in order: Authenticate, TokenUpdate, ...
		want []string
	}{
		{"iphone@18.2", true, []string{"Authenticate", "TokenUpdate", "Idle", "Acknowledged", "Acknowledged"}},
		{"iphone@18.2", false, []string{"Authenticate", "TokenUpdate", "Idle", "Acknowledged", "Acknowledged"}},
		{"ipad@17.5", true, []string{"Authenticate", "TokenUpdate", "Idle", "Acknowledged", "Acknowledged"}},
		{"vision@2.2", false, []string{"Authenticate", "TokenUpdate", "Idle", "Acknowledged", "Acknowledged"}},
		{"mac@15.2", true, []string{"Authenticate", "TokenUpdate", "TokenUpdate/user", "Idle", "Acknowledged", "Acknowledged"}},
		{"mac@15.2", false, []string{"Authenticate", "TokenUpdate", "TokenUpdate/user", "Idle", "Acknowledged", "Acknowledged"}},
	}
	for _, tt := range tests {
		name := tt.device + map[bool]string{true: "/user", false: "/device"}[tt.user]
		t.Run(name, func(t *testing.T) {
			f := &fakeMDM{}
			run := playMDM(t, mdmSetupT{device: tt.device, user: tt.user}, f)
			require.Nil(t, run.stop, run.describe())
			assert.Empty(t, run.tripped(), run.describe())
			run.assertEachOnce(t)
			mac := strings.HasPrefix(tt.device, "mac")
			var got []string
			for _, q := range f.requests() {
				user := q.msg["UserShortName"] != nil
				what, _ := q.msg["MessageType"].(string)
				if q.path == "/mdm/connect" {
					what, _ = q.msg["Status"].(string)
					assert.Equal(t, ctConnect, q.header.Get("Content-Type"))
				} else {
					assert.Equal(t, ctCheckIn, q.header.Get("Content-Type"))
					assert.Equal(t, testTopic, q.msg["Topic"])
				}
				if user {
					what += "/user"
				}
				got = append(got, what)
				assert.Equal(t, http.MethodPut, q.method)
				assert.Equal(t, "MDM/1.0", q.header.Get("User-Agent"))
				// The access token: every request on iOS, iPadOS and
				// visionOS; on a Mac the user channel's only.
				if !mac || user {
					assert.Equal(t, "Bearer "+testToken, q.header.Get("Authorization"), what)
				} else {
					assert.Empty(t, q.header.Get("Authorization"), what)
				}
				verifySignature(t, q)
				if tt.user {
					assert.NotEmpty(t, q.msg["EnrollmentID"], what)
					for _, k := range forbiddenInUE {
						assert.False(t, hasKeyDeep(q.msg, k), "%s carries %s in user enrollment", what, k)
					}
					if user {
						assert.NotEmpty(t, q.msg["EnrollmentUserID"], what)
					}
				} else {
					assert.NotEmpty(t, q.msg["UDID"], what)
					assert.Nil(t, q.msg["EnrollmentID"], what)
					if user {
						assert.NotEmpty(t, q.msg["UserID"], what)
						assert.NotEmpty(t, q.msg["UserLongName"], what)
					}
				}
				switch what {
				case "Authenticate":
					for _, k := range []string{"BuildVersion", "OSVersion", "ProductName"} {
						assert.NotEmpty(t, q.msg[k], k)
					}
					if !tt.user {
						assert.NotEmpty(t, q.msg["SerialNumber"])
					}
				case "TokenUpdate", "TokenUpdate/user":
					assert.IsType(t, []byte{}, q.msg["Token"])
					assert.NotEmpty(t, q.msg["PushMagic"])
					assert.Equal(t, false, q.msg["AwaitingConfiguration"])
				case "Acknowledged":
					assert.NotEmpty(t, q.msg["CommandUUID"])
				}
			}
			assert.Equal(t, tt.want, got)
			facts := map[string]string{}
			run.r.mdmFacts(facts)
			assert.Equal(t, map[string]string{"checkin": "ok", "commands": "2", "command_types": "DeviceInformation,ProfileList"}, facts)
			assert.Equal(t, "checked in, answered 2 commands: DeviceInformation, ProfileList", run.r.afterProfileSummary())
			if mac && tt.user {
				assert.Equal(t, check.Pass, run.status("CHK-005"))
				assert.Equal(t, check.Pass, run.status("TOK-005"))
			} else {
				assert.Equal(t, check.Skip, run.status("CHK-005"))
			}
			assert.Equal(t, check.Pass, run.status("CHK-008"))
			assert.Equal(t, check.Pass, run.status("TOK-004"))
			assert.Equal(t, check.Pass, run.status("CHK-006"))
		})
	}
}

// verifySignature: Mdm-Signature is a detached CMS SignedData over the
// exact body, by the identity, in standard base64.
func verifySignature(t *testing.T, q seenMDM) {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(q.header.Get("Mdm-Signature"))
	require.NoError(t, err)
	p7, err := pkcs7.Parse(der)
	require.NoError(t, err)
	assert.Empty(t, p7.Content, "the signature is detached")
	p7.Content = q.body
	require.NoError(t, p7.Verify(), "the signature verifies over the body")
	require.NotNil(t, p7.GetOnlySigner())
	assert.True(t, p7.GetOnlySigner().Equal(testIdent.cert), "signed by the identity")
}

func hasKeyDeep(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if k == key || hasKeyDeep(val, key) {
				return true
			}
		}
	case []any:
		for _, val := range x {
			if hasKeyDeep(val, key) {
				return true
			}
		}
	}
	return false
}

// challenge401 is a 401 with the Bearer challenge of enrollment: sign in again.
func challenge401() (int, string) { return http.StatusUnauthorized, challengeBody }

const challengeBody = "(challenge)"

// Each check trips on its own server bug and on nothing else: a refusal is
// put down to one check, by probes where the cause can be shown.
func TestCheckInChecksTrip(t *testing.T) {
	typ := func(msg map[string]any) string { s, _ := msg["MessageType"].(string); return s }
	tests := []struct {
		name    string
		s       mdmSetupT
		f       *fakeMDM
		tripped []string
		status  map[string]check.Status
		outcome string // the stop's, "" for none
	}{
		{name: "byod authenticate refused without a UDID", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if msg["UDID"] == nil {
					return 400, "UDID required"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-002"}, status: map[string]check.Status{"CHK-004": check.Skip, "CHK-008": check.Skip, "TOK-004": check.Skip, "CHK-006": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "adde authenticate refused", s: mdmSetupT{device: "iphone@18.2"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if typ(msg) == "Authenticate" {
					return 403, "no"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-003"}, status: map[string]check.Status{"CHK-002": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "tokenupdate refused", s: mdmSetupT{device: "ipad@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if typ(msg) == "TokenUpdate" {
					return 500, ""
				}
				return 200, ""
			}},
			tripped: []string{"CHK-004"}, status: map[string]check.Status{"CHK-002": check.Pass, "TOK-004": check.Pass, "CHK-006": check.Pass}, outcome: event.OutcomeCheckInFailed},
		{name: "mac user channel refused", s: mdmSetupT{device: "mac@15.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if msg["EnrollmentUserID"] != nil {
					return 400, "no user channel"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-005"}, status: map[string]check.Status{"CHK-004": check.Pass, "CHK-008": check.Pass, "TOK-005": check.Pass, "TOK-004": check.Skip}},
		{name: "mac adde user channel refused", s: mdmSetupT{device: "mac@15.2"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if msg["UserID"] != nil {
					return 400, "no user channel"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-004"}, status: map[string]check.Status{"CHK-005": check.Skip, "CHK-008": check.Pass}},
		{name: "check-in content type refused with 415", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Content-Type") != "application/xml" {
					return 415, ""
				}
				return 200, ""
			}},
			tripped: []string{"CHK-006"}, status: map[string]check.Status{"CHK-002": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "check-in content type refused with 400, xml accepted", s: mdmSetupT{device: "vision@2.2"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Content-Type") != "application/xml" {
					return 400, "bad request"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-006"}, status: map[string]check.Status{"CHK-003": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "the signature refused, said in words", s: mdmSetupT{device: "iphone@18.2"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				return 403, "Mdm-Signature does not verify"
			}},
			tripped: []string{"CHK-006"}, status: map[string]check.Status{"CHK-006": check.Warn, "CHK-003": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "the bearer token refused", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") != "" {
					return 400, "unexpected Authorization"
				}
				return 200, ""
			}},
			tripped: []string{"TOK-004"}, status: map[string]check.Status{"CHK-002": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "sign in again, not built", s: mdmSetupT{device: "ipad@18.2"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				return challenge401()
			}},
			tripped: []string{}, status: map[string]check.Status{"CHK-003": check.Error, "TOK-004": check.Error}, outcome: event.OutcomeError},
		{name: "sign in again, then accepted", s: mdmSetupT{device: "ipad@18.2", reauthToken: "tok-fresh-after-sign-in"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") == "Bearer "+testToken {
					return challenge401()
				}
				return 200, ""
			}},
			tripped: []string{}, status: map[string]check.Status{"CHK-003": check.Pass, "TOK-004": check.Pass, "CHK-008": check.Pass}},
		{name: "sign in again, challenged again", s: mdmSetupT{device: "ipad@18.2", reauthToken: "tok-fresh-after-sign-in"},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				return challenge401()
			}},
			tripped: []string{"TOK-004"}, status: map[string]check.Status{"CHK-003": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "the bearer token refused in words", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") != "" {
					return 400, "check-in requests must not carry Authorization"
				}
				return challenge401()
			}},
			tripped: []string{"TOK-004"}, status: map[string]check.Status{"TOK-004": check.Warn, "CHK-002": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "a refusal for another reason stays the request's own", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") == "" {
					return challenge401()
				}
				return 400, "a user enrollment (EnrollmentID) must not send UDID"
			}},
			tripped: []string{"CHK-002"}, outcome: event.OutcomeCheckInFailed},
		{name: "mac device channel requires the token", s: mdmSetupT{device: "mac@15.2", user: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") == "" {
					return challenge401()
				}
				return 200, ""
			}},
			tripped: []string{"TOK-005"}, status: map[string]check.Status{"CHK-002": check.Skip, "TOK-004": check.Skip}, outcome: event.OutcomeCheckInFailed},
		{name: "first connect answers garbage", s: mdmSetupT{device: "iphone@18.2", user: true},
			f:       &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) { return 200, "<html>hello</html>" }},
			tripped: []string{"CHK-008"}, status: map[string]check.Status{"CHK-012": check.Pass, "TOK-004": check.Pass}},
		{name: "first connect fails", s: mdmSetupT{device: "mac@15.2", user: true},
			f:       &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) { return 500, "" }},
			tripped: []string{"CHK-008"}, status: map[string]check.Status{"TOK-005": check.Pass}},
		{name: "connect unenrolls", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				return 403, `{"code":"com.apple.unrecognized.device"}`
			}},
			tripped: []string{"CHK-008"}, outcome: event.OutcomeUnenrolled},
		{name: "serial number asked in user enrollment", s: mdmSetupT{device: "iphone@18.2", user: true},
			f:       &fakeMDM{queries: []any{"OSVersion", "SerialNumber", "UDID"}},
			tripped: []string{}, status: map[string]check.Status{"CHK-012": check.Noted, "CHK-008": check.Pass}},
		{name: "serial number asked in device enrollment", s: mdmSetupT{device: "iphone@18.2"},
			f:       &fakeMDM{queries: []any{"OSVersion", "SerialNumber", "UDID"}},
			tripped: []string{}, status: map[string]check.Status{"CHK-012": check.Skip}},
		{name: "no probes: a refusal is the request's own", s: mdmSetupT{device: "iphone@18.2", user: true, noProbes: true},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				if q.Header.Get("Authorization") != "" {
					return 400, "bad request"
				}
				return 200, ""
			}},
			tripped: []string{"CHK-002"}, outcome: event.OutcomeCheckInFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := playMDM(t, tt.s, tt.f)
			assert.Equal(t, tt.tripped, run.tripped(), run.describe())
			for id, st := range tt.status {
				assert.Equal(t, st, run.status(id), "%s:%s", id, run.describe())
			}
			run.assertEachOnce(t)
			if tt.outcome == "" {
				assert.Nil(t, run.stop, run.describe())
			} else if assert.NotNil(t, run.stop) {
				assert.Equal(t, tt.outcome, run.stop.outcome, run.stop.message)
			}
		})
	}
}

// Without an identity nothing is sent and the checks that need one are
// blocked: error, never fail.
func TestCheckInBlockedWithoutIdentity(t *testing.T) {
	for _, s := range []mdmSetupT{
		{device: "iphone@18.2", user: true, noIdentity: true},
		{device: "mac@15.2", noIdentity: true},
		// SignMessage false and a client that cannot present a certificate.
		{device: "iphone@18.2", user: true, noSign: true, doer: plainDoer{http.DefaultClient}},
	} {
		t.Run(s.device, func(t *testing.T) {
			f := &fakeMDM{}
			run := playMDM(t, s, f)
			assert.Empty(t, f.requests(), "nothing is sent without an identity")
			assert.Nil(t, run.stop, "the case still ends enrolled: the profile is installed")
			run.assertEachOnce(t)
			for _, id := range identityChecks {
				assert.Equal(t, check.Error, run.status(id), id)
			}
			if s.noIdentity {
				assert.Equal(t, "blocked: no identity certificate (CHK-001)", run.result("CHK-002").Detail)
			} else {
				assert.Contains(t, run.result("CHK-006").Detail, "TLS client certificate")
			}
			assert.Equal(t, "", run.r.afterProfileSummary())
			assert.Empty(t, run.r.facts()["checkin"])
		})
	}
}

// plainDoer hides any optional interface of the client it wraps.
type plainDoer struct{ d Doer }

func (p plainDoer) Do(q *http.Request) (*http.Response, error) { return p.d.Do(q) }

// The tester's own timeout and read limit are errors, never the server's
// failure; hostile answers and endless command streams stay bounded.
func TestCheckInHostileAnswers(t *testing.T) {
	// Mostly waits for timeouts to expire: alongside the others.
	t.Parallel()
	endless := func(n int, msg map[string]any, q *http.Request) (int, string) {
		return 200, commandPlist(fmt.Sprintf("C-%d", n), map[string]any{"RequestType": "DeviceInformation", "Queries": []any{"OSVersion"}})
	}
	tests := []struct {
		name     string
		s        mdmSetupT
		f        *fakeMDM
		status   map[string]check.Status
		commands int
		outcome  string
		step     event.StepStatus // of the commands step, "" when it does not run
	}{
		// The request that never answers ends at the timeout; the ones
		// before it (Authenticate, TokenUpdate) must answer within it on a
		// loaded machine (200 ms left little room).
		{name: "authenticate never answered", s: mdmSetupT{device: "iphone@18.2", user: true, timeout: 2 * time.Second},
			f: &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
				<-q.Context().Done()
				return 200, ""
			}},
			status: map[string]check.Status{"CHK-002": check.Error, "TOK-004": check.Error, "CHK-006": check.Error, "CHK-008": check.Skip}, outcome: event.OutcomeError},
		{name: "first connect never answered", s: mdmSetupT{device: "iphone@18.2", user: true, timeout: 2 * time.Second},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				<-q.Context().Done()
				return 200, ""
			}},
			status: map[string]check.Status{"CHK-002": check.Pass, "CHK-008": check.Error, "TOK-004": check.Pass}, step: event.StepError},
		{name: "first connect over the read limit", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				return 200, strings.Repeat("x", 2<<20)
			}},
			status: map[string]check.Status{"CHK-008": check.Error}, step: event.StepError},
		{name: "a refusal over the read limit is still a refusal", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				return 500, strings.Repeat("x", 2<<20)
			}},
			status: map[string]check.Status{"CHK-008": check.Warn}, step: event.StepFailed},
		{name: "binary garbage as a command", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				return 200, "bplist00\xff\xff\xff\x00\x01garbage"
			}},
			status: map[string]check.Status{"CHK-008": check.Warn}, step: event.StepFailed},
		{name: "a command without its UUID", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				return 200, commandPlist("", map[string]any{"RequestType": "DeviceInformation"})
			}},
			status: map[string]check.Status{"CHK-008": check.Warn}, step: event.StepFailed},
		{name: "garbage after a good first command", s: mdmSetupT{device: "iphone@18.2", user: true},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				if n == 0 {
					return endless(n, msg, q)
				}
				return 200, "not a plist"
			}},
			status: map[string]check.Status{"CHK-008": check.Pass}, commands: 1, step: event.StepFailed},
		{name: "an endless command stream", s: mdmSetupT{device: "iphone@18.2", user: true},
			f:        &fakeMDM{connect: endless},
			status:   map[string]check.Status{"CHK-008": check.Pass, "CHK-012": check.Pass},
			commands: maxCommands, step: event.StepOK},
		{name: "an endless slow command stream", s: mdmSetupT{device: "iphone@18.2", stepTimeout: 300 * time.Millisecond},
			f: &fakeMDM{connect: func(n int, msg map[string]any, q *http.Request) (int, string) {
				time.Sleep(100 * time.Millisecond)
				return endless(n, msg, q)
			}},
			status: map[string]check.Status{"CHK-008": check.Pass}, commands: -1, step: event.StepOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			run := playMDM(t, tt.s, tt.f)
			// A hang's bound: the slowest case waits 2 s for its timeout.
			assert.Less(t, time.Since(start), time.Minute)
			for id, st := range tt.status {
				assert.Equal(t, st, run.status(id), "%s:%s", id, run.describe())
			}
			for _, res := range run.r.results {
				if res.Tripped() {
					assert.Contains(t, []string{"CHK-008"}, res.ID, "only the connect's own check may trip:%s", run.describe())
				}
			}
			run.assertEachOnce(t)
			if tt.outcome == "" {
				assert.Nil(t, run.stop, run.describe())
			} else if assert.NotNil(t, run.stop) {
				assert.Equal(t, tt.outcome, run.stop.outcome)
			}
			got := len(run.r.mdm.commands)
			switch {
			case tt.commands >= 0:
				assert.Equal(t, tt.commands, got)
			default: // bounded by the step's time, well before the count
				assert.Greater(t, got, 0)
				assert.Less(t, got, maxCommands)
			}
			if tt.step != "" {
				assert.Equal(t, tt.step, stepEnd(run.events, event.StepCommands).Status, stepEnd(run.events, event.StepCommands).Message)
			}
		})
	}
}

// lastExchange is the exchange event emitted last.
func lastExchange(evs []event.Event) event.Exchange {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == event.EventExchange {
			return *evs[i].Exchange
		}
	}
	return event.Exchange{}
}

func stepEnd(evs []event.Event, s event.Step) event.Event {
	for _, e := range evs {
		if e.Kind == event.EventStepEnd && e.Step == s {
			return e
		}
	}
	return event.Event{}
}

// The access token and the Mdm-Signature never leave the engine: not in
// exchange events, not in results, not in step messages.
func TestCheckInSecretsRedacted(t *testing.T) {
	for _, dev := range []string{"iphone@18.2", "mac@15.2"} {
		f := &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
			if msg["EnrollmentUserID"] != nil {
				// A server that echoes what it got must not leak it either.
				return 400, "refused: " + q.Header.Get("Authorization") + " " + q.Header.Get("Mdm-Signature")
			}
			return 200, ""
		}}
		run := playMDM(t, mdmSetupT{device: dev, user: true}, f)
		out, err := json.Marshal(run.events)
		require.NoError(t, err)
		assert.False(t, strings.Contains(string(out), testToken), "the token leaked")
		var sigs, exchanges int
		for _, q := range f.requests() {
			sig := q.header.Get("Mdm-Signature")
			require.NotEmpty(t, sig)
			sigs++
			assert.False(t, strings.Contains(string(out), sig[len(sig)-60:]), "an Mdm-Signature leaked")
		}
		for _, e := range run.events {
			if e.Kind == event.EventExchange {
				exchanges++
				assert.Equal(t, secret.Redacted, e.Exchange.RequestHeaders.Get("Mdm-Signature"))
				if h := e.Exchange.RequestHeaders.Get("Authorization"); h != "" {
					assert.Equal(t, "Bearer "+secret.Redacted, h)
				}
			}
		}
		assert.Equal(t, sigs, exchanges, "every request is an exchange event")
		assert.Greater(t, sigs, 3)
	}
}

// With SignMessage false the identity is the TLS client certificate: no
// Mdm-Signature, and the server sees the identity in the handshake.
func TestCheckInClientCertificate(t *testing.T) {
	f := &fakeMDM{}
	var mu sync.Mutex
	var peers []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		mu.Lock()
		for _, c := range q.TLS.PeerCertificates {
			peers = append(peers, c.Subject.CommonName)
		}
		mu.Unlock()
		f.ServeHTTP(w, q)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	client, err := transport.New(transport.Options{RootCAs: pool, Timeout: 3 * time.Second})
	require.NoError(t, err)
	run := playMDMAt(t, mdmSetupT{device: "ipad@18.2", user: true, noSign: true}, srv.URL, client)
	require.Nil(t, run.stop, run.describe())
	assert.Empty(t, run.tripped(), run.describe())
	assert.Equal(t, check.Pass, run.status("CHK-006"))
	reqs := f.requests()
	require.Len(t, reqs, 5)
	for _, q := range reqs {
		assert.Empty(t, q.header.Get("Mdm-Signature"))
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, peers, len(reqs))
	for _, p := range peers {
		assert.Equal(t, "enrollsim test identity", p)
	}
}

// A case that stops after check-in judges the token and content-type
// checks there; one that goes on judges them over the connects too.
func TestCheckInUntil(t *testing.T) {
	f := &fakeMDM{}
	run := playMDM(t, mdmSetupT{device: "iphone@18.2", user: true, until: event.UntilCheckIn}, f)
	require.Nil(t, run.stop)
	assert.Len(t, f.requests(), 2, "Authenticate and TokenUpdate only")
	assert.Equal(t, check.Pass, run.status("TOK-004"))
	assert.Equal(t, check.Pass, run.status("CHK-006"))
	assert.Equal(t, "", string(run.status("CHK-008")), "no connect, no verdict on it")
	assert.Equal(t, "checked in", run.r.afterProfileSummary())
	facts := map[string]string{}
	run.r.mdmFacts(facts)
	assert.Equal(t, map[string]string{"checkin": "ok"}, facts)
	assert.Equal(t, event.StepCheckIn, checkStep(run.events, "TOK-004"))

	run = playMDM(t, mdmSetupT{device: "iphone@18.2", user: true}, &fakeMDM{})
	assert.Equal(t, event.StepCommands, checkStep(run.events, "TOK-004"))
}

func checkStep(evs []event.Event, id string) event.Step {
	for _, e := range evs {
		if e.Kind == event.EventCheck && e.Result.ID == id {
			return e.Step
		}
	}
	return ""
}

// The primitives the token-life probes use: the zero options are the
// device's own request; each option changes one thing, and probes are
// marked as such.
func TestCheckInPrimitives(t *testing.T) {
	f := &fakeMDM{}
	run := playMDM(t, mdmSetupT{device: "mac@15.2", user: true, until: event.UntilCheckIn}, f)
	require.Nil(t, run.stop)
	r := run.r
	before := len(f.requests())
	other := r.otherDeviceIDs(1)
	msg := r.mdm.checkInMessage("Authenticate", other, false)
	tests := []struct {
		o       mdmOpts
		bearer  string
		probe   bool
		connect bool
		purpose string
	}{
		{o: mdmOpts{purpose: "p1"}, bearer: "", purpose: "p1"},
		{o: mdmOpts{userChannel: true, purpose: "p2"}, bearer: "Bearer " + testToken, purpose: "p2"},
		{o: mdmOpts{userChannel: true, noToken: true, probe: true, purpose: "p3"}, bearer: "", probe: true, purpose: "p3"},
		{o: mdmOpts{token: "another-token-1234", probe: true, purpose: "p4"}, bearer: "Bearer another-token-1234", probe: true, purpose: "p4"},
		{o: mdmOpts{userChannel: true, purpose: "p5"}, bearer: "Bearer " + testToken, connect: true, purpose: "p5"},
	}
	for i, tt := range tests {
		var resp *response
		if tt.connect {
			resp = r.connect(r.mdm.connectMessage(other, true, "Idle"), tt.o)
		} else {
			resp = r.checkIn(msg, tt.o)
		}
		require.Equal(t, 200, resp.status, i)
		reqs := f.requests()
		require.Len(t, reqs, before+i+1)
		q := reqs[len(reqs)-1]
		assert.Equal(t, tt.bearer, q.header.Get("Authorization"), i)
		verifySignature(t, q)
		if tt.connect {
			assert.Equal(t, "/mdm/connect", q.path)
			assert.Equal(t, other.enrollmentUserID, q.msg["EnrollmentUserID"])
		} else {
			assert.Equal(t, other.enrollmentID, q.msg["EnrollmentID"])
		}
		ev := lastExchange(run.events)
		assert.Equal(t, tt.probe, ev.Probe, i)
		assert.Equal(t, tt.purpose, ev.Purpose, i)
	}
	// Another identity signs when given; none at all is refused unsent.
	resp := r.checkIn(msg, mdmOpts{ident: &identityState{}})
	assert.ErrorIs(t, resp.err, errNoIdentity)
	assert.Len(t, f.requests(), before+len(tests))
}

// Device identifiers are stable per case, distinct across cases and
// enrollments, and shaped like a real device's.
func TestDeviceIDs(t *testing.T) {
	iphone, _ := device.LookupDevice("iphone@18.2")
	mac, _ := device.LookupDevice("mac@15.2")
	a := deviceIDsFor("case-a", "", iphone, "alice@acme.test")
	assert.Equal(t, a, deviceIDsFor("case-a", "", iphone, "alice@acme.test"), "stable across reruns")
	b := deviceIDsFor("case-b", "", iphone, "alice@acme.test")
	second := deviceIDsFor("case-a", "other-1", iphone, "alice@acme.test")
	for _, o := range []deviceIDs{b, second} {
		assert.NotEqual(t, a.enrollmentID, o.enrollmentID)
		assert.NotEqual(t, a.udid, o.udid)
		assert.NotEqual(t, a.enrollmentUserID, o.enrollmentUserID)
		assert.NotEqual(t, a.serial, o.serial)
	}
	uuid := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)
	assert.Regexp(t, uuid, a.enrollmentID)
	assert.Regexp(t, uuid, a.enrollmentUserID)
	assert.Regexp(t, `^00008120-[0-9A-F]{16}$`, a.udid)
	assert.Regexp(t, uuid, deviceIDsFor("case-a", "", mac, "alice@acme.test").udid, "a Mac's UDID is its hardware UUID")
	assert.Regexp(t, `^[0-9C-Y]{10}$`, a.serial)
	assert.Equal(t, "alice", a.userShortName)
	assert.Len(t, a.pushToken, 32)
}

// What the answer itself says is read even with probes off.
func TestCheckInNoProbesReadsTheAnswer(t *testing.T) {
	for _, tt := range []struct {
		device string
		status int
		want   []string
	}{
		{"mac@15.2", 401, []string{"TOK-005"}},
		{"iphone@18.2", 401, []string{}}, // sign in again: not a refusal of the token
		{"iphone@18.2", 415, []string{"CHK-006"}},
	} {
		f := &fakeMDM{checkin: func(msg map[string]any, q *http.Request) (int, string) {
			if tt.status == 401 {
				return challenge401()
			}
			return tt.status, ""
		}}
		run := playMDM(t, mdmSetupT{device: tt.device, user: true, noProbes: true}, f)
		assert.Equal(t, tt.want, run.tripped(), run.describe())
		assert.Len(t, f.requests(), 1, "no probe is sent")
	}
}
