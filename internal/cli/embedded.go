package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// scenarioOptions tells the scenario loader what the embedded server can
// do: the loader is a library and knows no server of its own, and the
// server, which owns its faults, knows no loader.
func scenarioOptions(getenv func(string) string) scenarios.Options {
	return scenarios.Options{Getenv: getenv, Faults: scenarioFaults()}
}

// scenarioFaults copies the embedded server's faults into what the loader
// takes (scenarios/options_test.go does the same for the loader's tests).
func scenarioFaults() []scenarios.FaultInfo {
	var out []scenarios.FaultInfo
	for _, f := range refserver.Faults() {
		out = append(out, scenarios.FaultInfo{
			Name: f.Name, Doc: f.Doc, Trips: f.Trips, Probe: f.Probe,
			Account: f.Account, Type: f.EnrollmentType(), Outcome: f.Outcome, Driver: f.Driver,
		})
	}
	return out
}

// embeddedServer is a reference server started in-process with the client
// that reaches it: every host name is sent to its loopback port and its
// generated CA is the only trust anchor, so verification stays on.
type embeddedServer struct {
	srv     *refserver.Server
	client  *transport.Client
	faults  []string
	timeout time.Duration
	axm     *sim.AxMRegistration // what its stand-in saw of its registration, once observed
	observe func()               // fills axm, once, before the first case's first step
	apns    *apns.Server         // the APNs stand-in it pushes through; nil: its devices poll
}

// embeddedIssued, when set (by tests, before any run), sees every
// credential an embedded server mints, so a test can prove none of them
// reaches an output.
var embeddedIssued func(credential string)

// startEmbedded starts a reference server with faults and AxM default
// assignments (nil: every family to the reference server), and judges its
// registration with its own stand-in once, for all its cases.
//
// Unless noPush, the server pushes through an APNs stand-in of its own and
// its devices wait for the pushes (the push route); with noPush they poll.
// Without a commandDelay of the user's, a push fault's own applies: its
// commands must come after the device's first connect to be seen.
func startEmbedded(faults []string, defaults map[device.Family]string, timeout, commandDelay time.Duration, noPush bool, clock *sim.VirtualClock, opts ...func(*refserver.Config)) (*embeddedServer, error) {
	if commandDelay == 0 {
		for _, f := range refserver.Faults() {
			if slices.Contains(faults, f.Name) {
				commandDelay = max(commandDelay, f.CommandDelay)
			}
		}
	}
	cfg := refserver.Config{Faults: faults, Now: clock.Now, TOTPNow: clock.TOTPNow, WorkerNow: clock.WorkerNow, OnIssue: embeddedIssued, CommandDelay: commandDelay}
	for _, o := range opts {
		o(&cfg)
	}
	var standIn *apns.Server
	if !noPush {
		var err error
		if standIn, err = apns.Start("127.0.0.1:0", apns.Config{}); err != nil {
			return nil, incompleteErr(fmt.Errorf("embedded APNs stand-in: %w", err), "")
		}
		cfg.APNs = &refserver.APNs{URL: standIn.URL(), Roots: standIn.CertPool()}
	}
	for fam, name := range defaults {
		if cfg.AxMDefaults == nil {
			cfg.AxMDefaults = map[string]string{}
		}
		cfg.AxMDefaults[string(fam)] = name
	}
	for _, f := range faults {
		if f == refserver.FaultWellKnownSlow {
			// The stall must outlast the timeout to be seen (WK-015); a
			// short pair keeps a suite from waiting 15 s per probe. The
			// timeout also bounds the case's other requests, so it leaves
			// room for a busy machine, and the stall well beyond it.
			cfg.SlowDelay, timeout = 10*time.Second, 3*time.Second
		}
	}
	srv, err := refserver.Start(cfg)
	if err != nil {
		if standIn != nil {
			standIn.Close()
		}
		return nil, usageHint(err, "see 'enrollsim list faults'")
	}
	clock.OnWorkerAdvance(srv.RunWorker)
	client, err := transport.New(transport.Options{
		Timeout:   timeout,
		RootCAs:   srv.CertPool(),
		ConnectTo: []string{"::" + srv.Addr()},
	})
	if err != nil {
		srv.Close()
		if standIn != nil {
			standIn.Close()
		}
		return nil, incompleteErr(fmt.Errorf("embedded server client: %w", err), "")
	}
	es := &embeddedServer{srv: srv, client: client, faults: faults, timeout: timeout, axm: &sim.AxMRegistration{}, apns: standIn}
	// Observed when the first of its cases begins, not here: a suite
	// starts a server per fault set, and a faulty registration waits for
	// its bound (5 s), which held back the whole suite's first case. Every
	// case of this server waits for the observation before its first step
	// (Target.Prepare), so all judge the same registration, and none runs
	// while the probe turns the server's registration off and on. The
	// triggers act before they answer, so a conforming server costs no
	// waiting; ObserveAxM bounds the wait for a faulty one.
	es.observe = sync.OnceFunc(func() { *es.axm = srv.ObserveAxM(context.Background(), client) })
	return es, nil
}

func (e *embeddedServer) target() sim.Target {
	name := "embedded reference server"
	if len(e.faults) > 0 {
		name += " with fault " + strings.Join(e.faults, ", ")
	}
	// The server's own CA stands in for the public PKI a stock device
	// trusts (SEC-002).
	revoke, expire, unenroll := e.srv.AdminURLs()
	declarations, _ := e.srv.DDMAdminURLs()
	return sim.Target{Name: name, AxMURL: e.srv.AxMURL(), AxMDeclared: true, Doer: e.client, StockRoots: e.srv.StockPool(), Timeout: e.timeout,
		Admin: sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll, Queue: e.srv.QueueURL(), Declarations: declarations}, AxM: e.axm, Prepare: func(context.Context) { e.observe() },
		// The reference server keys nothing on device keys (keys.Reused).
		Keys: keys.Reused, Push: e.pushReceiver()}
}

// pushReceiver is the server's APNs stand-in as the engine's receiver;
// nil without one.
func (e *embeddedServer) pushReceiver() sim.PushReceiver {
	if e.apns == nil {
		return nil
	}
	return sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return e.apns.Subscribe(token) })
}

// fillAccount takes the password and TOTP seed of a directory account the
// flags did not give, so an embedded run needs no secrets from the user.
func (e *embeddedServer) fillAccount(a sim.Account) sim.Account {
	for _, d := range e.srv.Accounts() {
		if !strings.EqualFold(d.Identifier, a.Identifier) {
			continue
		}
		if a.Password.IsZero() {
			a.Password = secret.New(d.Password)
		}
		if a.TOTPSecret.IsZero() && d.TOTPSecret != "" {
			a.TOTPSecret = secret.New(d.TOTPSecret)
		}
		if a.ManagedAppleID == "" {
			a.ManagedAppleID = d.ManagedAppleID
		}
	}
	return a
}

func (e *embeddedServer) close() {
	e.client.CloseIdleConnections()
	e.srv.Close()
	if e.apns != nil {
		e.apns.Close()
	}
}

// defaultSuite is what `enrollsim run` plays with no arguments: every
// catalogue device with a BYOD and an ADDE account on the conforming server,
// then both sides of each AxM fallback threshold against a server whose
// organisation domain answers 404.
type suiteGroup struct {
	faults []string
	ddm    bool // the server manages its devices declaratively too
	cases  []sim.Case
}

func defaultPlan(o *runOptions) (runPlan, func(), error) {
	accounts := []struct {
		id  string
		typ sim.EnrollmentType
	}{{"alice@acme.test", sim.TypeUser}, {"carol@acme.test", sim.TypeDevice}}
	var groups []suiteGroup
	conforming := suiteGroup{}
	for _, d := range device.Catalogue() {
		for _, a := range accounts {
			conforming.cases = append(conforming.cases, sim.Case{
				Name: d.Ref() + "/" + string(a.typ), Device: d, Type: a.typ,
				Account: sim.Account{Identifier: a.id}, Expect: sim.Expect{Enroll: true},
			})
		}
	}
	// One Enrollment SSO sign-in: judy's organisation signs in through an
	// identity provider's app (§2.9), played on an iPhone.
	if d, err := device.LookupDevice("iphone@26.1"); err == nil {
		conforming.cases = append(conforming.cases, sim.Case{
			Name: d.Ref() + "/esso", Device: d, Type: sim.TypeUser,
			Account: sim.Account{Identifier: "judy@acme.test"}, Expect: sim.Expect{Enroll: true},
		})
	}
	groups = append(groups, conforming)
	// One declarative-management sync with a status report on each family.
	ddmGroup := suiteGroup{ddm: true}
	for _, ref := range []string{"iphone@26.1", "ipad@26.1", "mac@26.1", "vision@2.2"} {
		d, err := device.LookupDevice(ref)
		if err != nil {
			return runPlan{}, func() {}, err
		}
		ddmGroup.cases = append(ddmGroup.cases, sim.Case{
			Name: "ddm/" + d.Ref() + "/user", Device: d, Type: sim.TypeUser,
			Account: sim.Account{Identifier: "alice@acme.test"}, Expect: sim.Expect{Enroll: true},
		})
	}
	groups = append(groups, ddmGroup)
	fallback := suiteGroup{faults: []string{"wellknown-404"}}
	for _, ref := range []string{"iphone@18.1", "iphone@18.2", "ipad@18.1", "ipad@18.2", "mac@15.1", "mac@15.2", "vision@2.1", "vision@2.2"} {
		d, err := device.LookupDevice(ref)
		if err != nil {
			return runPlan{}, func() {}, err
		}
		c := sim.Case{
			Name: "wellknown-404/" + d.Ref() + "/user", Device: d, Type: sim.TypeUser,
			Account: sim.Account{Identifier: "alice@acme.test"}, Expect: sim.Expect{Enroll: true},
		}
		if !d.Has(device.CapAxMFallback) {
			// Without the fallback the device cannot enroll: that is the
			// point of this pair, so the failure is expected.
			c.Expect.Trips = []string{"WK-001"}
		}
		fallback.cases = append(fallback.cases, c)
	}
	groups = append(groups, fallback)
	if o.embeddedDDM() {
		for i := range groups {
			groups[i].ddm = true
		}
	}
	return playGroups(groups, o.Timeout, o.CommandDelay, o.NoPush)
}

// withDDM turns the server's declarative management on when on.
func withDDM(on bool) func(*refserver.Config) {
	return func(c *refserver.Config) { c.DDM = c.DDM || on }
}

// playGroups starts one embedded server per fault set and points each
// group's cases at it.
func playGroups(groups []suiteGroup, timeout, commandDelay time.Duration, noPush bool) (runPlan, func(), error) {
	clock := &sim.VirtualClock{}
	var servers []*embeddedServer
	cleanup := func() {
		for _, s := range servers {
			s.close()
		}
	}
	plan := runPlan{clock: clock}
	for _, g := range groups {
		es, err := startEmbedded(g.faults, nil, timeout, commandDelay, noPush, clock, withDDM(g.ddm))
		if err != nil {
			cleanup()
			return runPlan{}, func() {}, err
		}
		servers = append(servers, es)
		for _, c := range g.cases {
			c.Target = es.target()
			c.Account = es.fillAccount(c.Account)
			plan.Cases = append(plan.Cases, c)
		}
	}
	return plan, cleanup, nil
}
