package sim_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// ref is a reference server with the target that reaches it over real
// TLS on loopback and the virtual clock both share.
type ref struct {
	target sim.Target
	srv    *refserver.Server
	clock  *sim.VirtualClock
	apns   *apns.Server // the APNs stand-in the server pushes through
}

// noPush is a Config.APNs for a server that never pushes, whose devices
// poll: the push stand-in off.
var noPush = &refserver.APNs{}

// pushReceiver is the stand-in as the engine's PushReceiver.
func (r *ref) pushReceiver() sim.PushReceiver {
	return sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return r.apns.Subscribe(token) })
}

func startRef(t *testing.T, timeout time.Duration, faults ...string) *ref {
	t.Helper()
	return startRefWith(t, timeout, refserver.Config{Faults: faults})
}

// startRefWith starts a reference server with cfg, its clocks set to the
// virtual one.
func startRefWith(t *testing.T, timeout time.Duration, cfg refserver.Config) *ref {
	t.Helper()
	clock := &sim.VirtualClock{}
	// The slow well-known stalls until the client gives up (WK-015).
	cfg.SlowDelay, cfg.Now, cfg.TOTPNow, cfg.WorkerNow = time.Minute, clock.Now, clock.TOTPNow, clock.WorkerNow
	// The server pushes through an APNs stand-in, as the embedded
	// target's does, unless cfg.APNs says otherwise (noPush).
	var standIn *apns.Server
	if cfg.APNs == nil {
		var err error
		standIn, err = apns.Start("127.0.0.1:0", apns.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { standIn.Close() })
		cfg.APNs = &refserver.APNs{URL: standIn.URL(), Roots: standIn.CertPool()}
	}
	srv, err := refserver.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	clock.OnWorkerAdvance(srv.RunWorker)
	client, err := transport.New(transport.Options{Timeout: timeout, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	require.NoError(t, err)
	revoke, expire, unenroll := srv.AdminURLs()
	declarations, _ := srv.DDMAdminURLs()
	reg := srv.ObserveAxM(context.Background(), client)
	out := &ref{
		target: sim.Target{Name: "ref", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(),
			Admin: sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll, Queue: srv.QueueURL(), Declarations: declarations}, Keys: keys.Reused, AxM: &reg},
		srv: srv, clock: clock, apns: standIn,
	}
	if standIn != nil {
		out.target.Push = out.pushReceiver()
	}
	return out
}

// account is a directory account with its secrets.
func (r *ref) account(id string) sim.Account {
	a := sim.Account{Identifier: id}
	for _, d := range r.srv.Accounts() {
		if d.Identifier == id {
			a.Password, a.TOTPSecret, a.ManagedAppleID = secret.New(d.Password), secret.New(d.TOTPSecret), d.ManagedAppleID
		}
	}
	return a
}

func play(t *testing.T, r *ref, timeout time.Duration, cases ...sim.Case) ([]sim.CaseReport, []event.Event) {
	t.Helper()
	for i := range cases {
		cases[i].Target = r.target
		if cases[i].Account.Password.IsZero() {
			cases[i].Account = r.account(cases[i].Account.Identifier)
		}
	}
	var events []event.Event
	eng := &sim.Engine{Limits: loadedLimits(timeout), Clock: r.clock.Now, TOTPClock: r.clock, WorkerClock: r.clock, Browser: testBrowser, NoScreenshots: true}
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	return reps, events
}

// loadedLimits are the engine's limits for tests whose verdicts must not
// depend on the machine's speed. The browser's page timeout (10 s) and the
// sign-in's step timeout (60 s) are production bounds that a browser
// sign-in on two cores loaded by other work can exceed: a test of what a
// server does gets bounds no loaded machine reaches. A test of the bounds
// themselves sets its own.
func loadedLimits(timeout time.Duration) sim.Limits {
	return sim.Limits{Timeout: timeout, PageTimeout: 2 * time.Minute, StepTimeout: 5 * time.Minute}
}

func tripped(rep sim.CaseReport) []string {
	set := map[string]bool{}
	for _, r := range rep.Results {
		if r.Tripped() {
			set[r.ID] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// describe says why a case ended as it did: its outcome and the engine's
// reason (the sign-in driver's failure, with the page it was on), then
// every result that did not pass with what was seen.
func describe(rep sim.CaseReport) string {
	var b strings.Builder
	b.WriteString("\n  outcome " + rep.Outcome + ": " + rep.Message)
	for _, r := range rep.Results {
		if r.Status != check.Pass && r.Status != check.Skip {
			b.WriteString("\n  " + string(r.Status) + " " + r.ID + ": " + r.Actual + r.Detail)
		}
	}
	return b.String()
}

func caseFor(t *testing.T, ref, identifier string, typ sim.EnrollmentType) sim.Case {
	d, err := device.LookupDevice(ref)
	require.NoError(t, err)
	return sim.Case{Name: ref + "/" + identifier, Device: d, Account: sim.Account{Identifier: identifier}, Type: typ, Expect: sim.Expect{Enroll: true}}
}

// The reference server's first DeviceInformation of a device enrollment
// asks for IMEI and MEID, which Apple's schema removes in iOS 26.0. Devices
// answer by their OS version: the iOS 18.2 iPhone reports them, the 26.1
// and 27.0 ones leave them out of an Acknowledged answer, and the judge
// finds nothing to say about it on any of them.
func TestFirstCommandsAnsweredByOSVersion(t *testing.T) {
	target := startRef(t, 5*time.Second)
	refs := []string{"iphone@18.2", "iphone@26.1", "iphone@27.0"}
	var cases []sim.Case
	for _, ref := range refs {
		c := caseFor(t, ref, "carol@acme.test", sim.TypeDevice)
		c.Target, c.Account = target.target, target.account(c.Account.Identifier)
		cases = append(cases, c)
	}
	var events []event.Event
	lim := loadedLimits(5 * time.Second)
	lim.ExcerptBody = 1 << 16 // the whole answer, not its first 2 KiB
	eng := &sim.Engine{Limits: lim, Clock: target.clock.Now, TOTPClock: target.clock, Browser: testBrowser, NoScreenshots: true}
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	require.Len(t, reps, len(cases))
	answers := map[string]string{}
	for _, ev := range events {
		if ev.Kind == event.EventExchange && ev.Exchange.Purpose == "connect: answer DeviceInformation" {
			answers[ev.Case] = ev.Exchange.RequestBody
		}
	}
	for i, rep := range reps {
		assert.Empty(t, tripped(rep), "%s tripped checks:%s", rep.Name, describe(rep))
		assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, rep.Name)
		body := answers[cases[i].Name]
		require.Contains(t, body, "<key>QueryResponses</key>", rep.Name)
		assert.Contains(t, body, "<string>Acknowledged</string>", rep.Name)
		assert.Contains(t, body, "<key>SerialNumber</key>", rep.Name)
		if refs[i] == "iphone@18.2" {
			assert.Contains(t, body, "<key>IMEI</key>", rep.Name)
			assert.Contains(t, body, "<key>MEID</key>", rep.Name)
		} else {
			assert.NotContains(t, body, "<key>IMEI</key>", rep.Name)
			assert.NotContains(t, body, "<key>MEID</key>", rep.Name)
		}
	}
}

// The conforming server trips no check on any catalogue device, for either
// enrollment type.
func TestConformingServerTripsNothing(t *testing.T) {
	// Long: alongside the other long ones, once the short ones are done.
	t.Parallel()
	target := startRef(t, 5*time.Second)
	var cases []sim.Case
	for _, d := range device.Catalogue() {
		cases = append(cases,
			sim.Case{Name: d.Ref() + "/direct", Device: d, Account: sim.Account{Identifier: "dave@mdm.acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}},
			sim.Case{Name: d.Ref() + "/esso", Device: d, Account: sim.Account{Identifier: "judy@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}},
		)
		if !fullSweep() {
			// The conformance suite plays every catalogue device with the
			// other four accounts, and internal/cli's
			// TestBuiltInSuitesWithEveryReport holds it to the same: every
			// case as its capabilities allow, no check tripped.
			continue
		}
		cases = append(cases,
			sim.Case{Name: d.Ref() + "/user", Device: d, Account: sim.Account{Identifier: "alice@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}},
			sim.Case{Name: d.Ref() + "/device", Device: d, Account: sim.Account{Identifier: "carol@acme.test"}, Type: sim.TypeDevice, Expect: sim.Expect{Enroll: true}},
			sim.Case{Name: d.Ref() + "/oauth-user", Device: d, Account: sim.Account{Identifier: "erin@acme.test"}, Type: sim.TypeUser, Expect: sim.Expect{Enroll: true}},
			sim.Case{Name: d.Ref() + "/oauth-device", Device: d, Account: sim.Account{Identifier: "frank@acme.test"}, Type: sim.TypeDevice, Expect: sim.Expect{Enroll: true}},
		)
	}
	reps, _ := play(t, target, 5*time.Second, cases...)
	require.Len(t, reps, len(cases))
	enrolled := 0
	for i, rep := range reps {
		c := cases[i]
		assert.Empty(t, tripped(rep), "%s tripped checks:%s", rep.Name, describe(rep))
		canUser, _ := c.Device.Can(device.CapUserEnrollment)
		canType := canUser
		if c.Type == sim.TypeDevice {
			canType = c.Device.Has(device.CapDeviceEnrollment)
		}
		oauthUser := strings.HasPrefix(c.Account.Identifier, "erin") || strings.HasPrefix(c.Account.Identifier, "frank")
		if canType && oauthUser && !c.Device.Has(device.CapOAuth2) {
			// The server asks for OAuth 2, which iOS 15 cannot do: the
			// device gives up after the challenge, through no fault of
			// the server's that a check could name.
			assert.Equal(t, event.OutcomeEnrollFailed, rep.Outcome, rep.Name)
			continue
		}
		if canType {
			assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
			assert.NotEmpty(t, rep.Results, rep.Name)
			enrolled++
		} else {
			assert.Equal(t, event.OutcomeRefused, rep.Outcome, rep.Name)
			assert.Empty(t, rep.Results, "%s: a refusing device sends nothing, so nothing is judged", rep.Name)
		}
	}
	// Every user-enrollment-capable catalogue device enrolls dave, and the
	// ESSO-capable ones judy (the others enroll her without ESSO).
	assert.Greater(t, enrolled, 40)
}

// Each fault trips exactly the checks it lists on its probe device, and
// together the faults trip every implemented MUST and SHOULD check.
func TestEveryFaultTripsItsChecks(t *testing.T) {
	// Long: alongside the other long ones, once the short ones are done.
	t.Parallel()
	var mu sync.Mutex
	covered := map[string]bool{}
	// A group, so that the coverage below is read once every fault's
	// subtest, parallel ones included, has ended.
	t.Run("faults", func(t *testing.T) { everyFault(t, &mu, covered) })
	for _, c := range check.Checks() {
		if c.Level == check.Info {
			continue
		}
		assert.True(t, covered[c.ID], "no reference-server fault trips %s: a check that cannot fail is a defect", c.ID)
	}
}

// everyFault plays each fault's probe and notes in covered what it tripped.
// The faults play in parallel, as many at once as go test's -parallel
// allows: most of a browser fault's time is the browser's.
func everyFault(t *testing.T, mu *sync.Mutex, covered map[string]bool) {
	for _, f := range refserver.Faults() {
		t.Run(f.Name, func(t *testing.T) {
			timeout := 5 * time.Second
			if f.Name == refserver.FaultWellKnownSlow {
				// The stall must outlast it; the case's other requests
				// must meet it on a loaded machine (1 s left little room):
				// this one plays before the others, alone.
				timeout = 3 * time.Second
			} else {
				t.Parallel()
			}
			target := startRefWith(t, timeout, refserver.Config{Faults: []string{f.Name}, CommandDelay: f.CommandDelay})
			typ := sim.TypeUser
			if strings.HasPrefix(f.Account, "carol") || strings.HasPrefix(f.Account, "frank") {
				typ = sim.TypeDevice
			}
			c := caseFor(t, f.Probe, f.Account, typ)
			c.Login.Driver = f.Driver // the JavaScript pages' faults need the browser
			if !fullSweep() && (f.Driver == refserver.DriverBrowser || f.Name == refserver.FaultCallbackInJSONBody) {
				// Their probes are a dozen more sign-ins in the browser, for
				// trips judged on the device's own: the negative suite
				// (internal/cli's TestNoSecretInAnyOutputOrFormat) plays
				// these faults with probes.
				c.NoProbes = true
			}
			if slices.Contains(f.Trips, "AUTH-017") {
				// A fault about what the form driver can read: with the
				// browser at hand, auto would sign in through it.
				c.Login.Driver = sim.DriverForm
			}
			reps, _ := play(t, target, timeout, c)
			got := tripped(reps[0])
			if f.Outcome != "" {
				assert.Equal(t, f.Outcome, reps[0].Outcome, "fault %s:%s", f.Name, describe(reps[0]))
			}
			want := append([]string(nil), f.Trips...)
			// INFO checks never trip; their firing shows as an info result.
			var infoWant []string
			var trip []string
			for _, id := range want {
				if spec, _ := check.Lookup(id); spec.Level == check.Info {
					infoWant = append(infoWant, id)
				} else {
					trip = append(trip, id)
				}
			}
			sort.Strings(trip)
			if len(trip) == 0 {
				trip = []string{}
			}
			assert.Equal(t, trip, got, "fault %s on %s:%s", f.Name, f.Probe, describe(reps[0]))
			if strings.HasPrefix(f.Doc, "legal:") {
				// An odd but legal server: a device enrolls, so what it
				// trips may warn, never fail.
				for _, r := range reps[0].Results {
					assert.NotEqual(t, check.Fail, r.Status, "legal fault %s: %s failed: %s", f.Name, r.ID, r.Actual)
				}
			}
			for _, id := range infoWant {
				found := false
				for _, r := range reps[0].Results {
					if r.ID == id && r.Status == check.Noted {
						found = true
					}
				}
				assert.True(t, found, "fault %s: INFO check %s should report info:%s", f.Name, id, describe(reps[0]))
			}
			mu.Lock()
			for _, id := range f.Trips {
				covered[id] = true
			}
			mu.Unlock()
		})
	}
}

// INFO checks never fail, but each must be able to say something: for every
// implemented INFO check some reference-server setup reports it as info and
// another as pass.
func TestInfoChecksFireAndStayQuiet(t *testing.T) {
	runs := []struct {
		fault, device, account string
	}{
		{"", "iphone@18.1", "alice@acme.test"},
		{"", "iphone@18.1", "dave@mdm.acme.test"},
		{refserver.FaultWellKnown404, "iphone@18.1", "alice@acme.test"},
		{refserver.FaultWellKnown404, "iphone@18.2", "alice@acme.test"},
		{refserver.FaultWellKnownCacheable, "iphone@18.1", "alice@acme.test"},
		{refserver.FaultDirectWellKnown, "iphone@18.1", "alice@acme.test"},
		{"profile-unsigned", "iphone@18.2", "alice@acme.test"},
		{"otp-needs-javascript", "iphone@18.2", "alice@acme.test"},
		{refserver.FaultQueriesSerialInBYOD, "iphone@18.2", "alice@acme.test"},
		{refserver.FaultNeverRemovesURL, "iphone@18.2", "alice@acme.test"},
	}
	seen := map[string]map[check.Status]bool{}
	for _, r := range runs {
		var faults []string
		if r.fault != "" {
			faults = []string{r.fault}
		}
		target := startRef(t, 5*time.Second, faults...)
		reps, _ := play(t, target, 5*time.Second, caseFor(t, r.device, r.account, sim.TypeUser))
		for _, res := range reps[0].Results {
			if seen[res.ID] == nil {
				seen[res.ID] = map[check.Status]bool{}
			}
			seen[res.ID][res.Status] = true
		}
	}
	for _, c := range check.Checks() {
		if c.Level != check.Info {
			continue
		}
		assert.True(t, seen[c.ID][check.Noted], "%s never reported info", c.ID)
		assert.True(t, seen[c.ID][check.Pass], "%s never passed", c.ID)
	}
	// WK-001 is a MUST whose covered-by-fallback case is only noted.
	assert.True(t, seen["WK-001"][check.Noted])
}

// Parallel play gives the same cases, in the same order, with the same
// verdicts as one after another, even for one account signing in many
// times at once (the TOTP ledger hands each login its own step).
func TestParallelMatchesSerial(t *testing.T) {
	r := startRef(t, 5*time.Second)
	var cases []sim.Case
	for _, ref := range []string{"iphone@26.1", "ipad@18.2", "mac@15.2", "vision@2.2", "iphone@17.5", "mac@14.0"} {
		cases = append(cases, caseFor(t, ref, "alice@acme.test", sim.TypeUser), caseFor(t, ref, "erin@acme.test", sim.TypeUser))
	}
	for i := range cases {
		cases[i].Target = r.target
		cases[i].Account = r.account(cases[i].Account.Identifier)
	}
	verdicts := func(parallel int) ([]string, []event.Event) {
		var events []event.Event
		eng := &sim.Engine{Limits: sim.Limits{Timeout: 5 * time.Second}, Clock: r.clock.Now, TOTPClock: r.clock, Parallel: parallel}
		reps, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(e event.Event) { events = append(events, e) })
		require.NoError(t, err)
		var out []string
		for _, rep := range reps {
			line := rep.Name + " " + rep.Outcome
			for _, res := range rep.Results {
				line += " " + res.ID + "=" + string(res.Status)
			}
			out = append(out, line)
		}
		return out, events
	}
	serial, _ := verdicts(1)
	parallel, events := verdicts(4)
	assert.Equal(t, serial, parallel)
	for _, v := range parallel {
		assert.Contains(t, v, " enrolled ")
	}
	// Events of one case are contiguous: case-start … case-end.
	current := ""
	for _, ev := range events {
		switch ev.Kind {
		case event.EventCaseStart:
			assert.Empty(t, current, "case %s starts inside %s", ev.Case, current)
			current = ev.Case
		case event.EventCaseEnd:
			current = ""
		case event.EventRunStart, event.EventRunEnd:
		default:
			assert.Equal(t, current, ev.Case)
		}
	}
}

// The accounts whose sign-in pages need JavaScript enroll through the
// browser with the default driver choice (auto) on every family, with
// nothing tripped, while the form driver alone says the page needs
// JavaScript and ends in error, never in a verdict about the server.
func TestJavaScriptAccountsEnrollInTheBrowser(t *testing.T) {
	// Long: alongside the other long ones, once the short ones are done.
	t.Parallel()
	target := startRef(t, 10*time.Second)
	accounts := []struct {
		id  string
		typ sim.EnrollmentType
	}{{"grace@acme.test", sim.TypeUser}, {"heidi@acme.test", sim.TypeDevice}, {"ivan@acme.test", sim.TypeUser}}
	// Each account on the iPhone (with probes) and on one other family, so
	// that every family signs in to some JavaScript account; every family
	// with every account with ENROLLSIM_TEST_SWEEP=full.
	others := []string{"ipad@26.1", "mac@26.1", "vision@26.1"}
	var cases []sim.Case
	for k, a := range accounts {
		devices := []string{"iphone@26.1", others[k%len(others)]}
		if fullSweep() {
			devices = append([]string{"iphone@26.1"}, others...)
		}
		for i, dev := range devices {
			c := caseFor(t, dev, a.id, a.typ)
			c.Name += "/auto"
			// Probes sign in again several times; one family with them is
			// enough to show the browser passes them too. The iPhone goes
			// the whole life (token life signs in again in the browser);
			// the others until the profile, but in the full sweep.
			c.NoProbes = i > 0
			if i > 0 && !fullSweep() {
				c.Until = event.UntilProfile
			}
			cases = append(cases, c)
		}
		form := caseFor(t, "iphone@26.1", a.id, a.typ)
		form.Name += "/form"
		form.Login.Driver = sim.DriverForm
		cases = append(cases, form)
	}
	reps, _ := play(t, target, 10*time.Second, cases...)
	require.Len(t, reps, len(cases))
	for _, rep := range reps {
		if strings.HasSuffix(rep.Name, "/form") {
			assert.Equal(t, event.OutcomeError, rep.Outcome, "%s:%s", rep.Name, describe(rep))
			assert.Equal(t, check.Noted, result(rep, "AUTH-017").Status, rep.Name)
			assert.Empty(t, tripped(rep), "%s: the tester could not sign in, which says nothing of the server:%s", rep.Name, describe(rep))
			continue
		}
		assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, "%s:%s", rep.Name, describe(rep))
		assert.Empty(t, tripped(rep), "%s:%s", rep.Name, describe(rep))
	}
}

// A target without admin hooks (a deployed server nobody can ask to act)
// skips the checks that need the server to act, with the reason, and
// still judges the rest of token life.
func TestTokenLifeWithoutHooksSkips(t *testing.T) {
	r := startRef(t, 5*time.Second)
	r.target.Admin = sim.AdminHooks{}
	reps, _ := play(t, r, 5*time.Second, caseFor(t, "iphone@18.2", "erin@acme.test", sim.TypeUser))
	require.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
	got := map[string]check.Result{}
	for _, res := range reps[0].Results {
		got[res.ID] = res
	}
	for id, hook := range map[string]string{"TOK-006": "revoke-token", "TOK-009": "expire-token", "TOK-007": "unenroll"} {
		assert.Equal(t, check.Skip, got[id].Status, id)
		assert.Contains(t, got[id].Detail+got[id].Actual, "the target has no "+hook+" hook", id)
	}
	for _, id := range []string{"CHK-007", "CHK-009", "CHK-010", "CHK-011"} {
		assert.Equal(t, check.Pass, got[id].Status, "%s: %s", id, got[id].Actual)
	}
	assert.Empty(t, tripped(reps[0]), describe(reps[0]))
}

// A case that does not enroll says why in its report, as its case-end
// event does: a failing test can print the sign-in's reason without the
// event stream.
func TestCaseReportSaysWhyASignInFailed(t *testing.T) {
	r := startRef(t, 5*time.Second)
	c := caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser)
	c.Account = r.account(c.Account.Identifier)
	c.Account.Password = secret.New("not-alices-password")
	c.NoProbes = true
	reps, events := play(t, r, 5*time.Second, c)
	require.Len(t, reps, 1)
	assert.Equal(t, event.OutcomeAuthFailed, reps[0].Outcome, describe(reps[0]))
	assert.Contains(t, reps[0].Message, "the sign-in was rejected", describe(reps[0]))
	for _, ev := range events {
		if ev.Kind == event.EventCaseEnd {
			assert.Equal(t, ev.Message, reps[0].Message, "the report's reason is the case-end event's")
		}
	}
	assert.NotContains(t, reps[0].Message, "not-alices-password")
}

// A personal device sent EraseDevice fails its case, and the report quotes
// the command (its PIN masked); the device itself refused it.
func TestEraseOfAPersonalDeviceFails(t *testing.T) {
	r := startRef(t, 5*time.Second, refserver.FaultEraseBYOD)
	reps, events := play(t, r, 5*time.Second, caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser))
	var cmd *check.Result
	for i, res := range reps[0].Results {
		if res.ID == "CMD-001" {
			cmd = &reps[0].Results[i]
		}
	}
	require.NotNil(t, cmd, describe(reps[0]))
	assert.Equal(t, check.Fail, cmd.Status)
	assert.Contains(t, cmd.Actual, "EraseDevice {PIN: [redacted], PreserveDataPlan: true}")
	refused := false
	for _, e := range events {
		assert.NotContains(t, fmt.Sprint(e.Result), "123456", "the PIN is masked")
		if e.Kind == event.EventExchange && strings.Contains(e.Exchange.RequestBody, "EraseDevice") && strings.Contains(e.Exchange.RequestBody, "<string>Error</string>") {
			refused = true
		}
	}
	assert.True(t, refused, "the device answers EraseDevice with an Error")
}
