package scenarios_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/scenarios"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// playEmbedded plays every case of a suite against embedded reference
// servers, one per fault set, as the CLI does, and folds the events.
func playEmbedded(t *testing.T, suite *scenarios.Suite) *report.Summary {
	t.Helper()
	type group struct {
		faults []string
		cases  []sim.Case
	}
	var order []string
	groups := map[string]*group{}
	for _, sc := range suite.Scenarios {
		specs, err := sc.Cases(func(string) string { return "" })
		require.NoError(t, err, sc.Name)
		for _, spec := range specs {
			require.True(t, spec.Embedded, spec.Case.Name)
			key := strings.Join(spec.Faults, ",")
			if groups[key] == nil {
				groups[key] = &group{faults: spec.Faults}
				order = append(order, key)
			}
			groups[key].cases = append(groups[key].cases, spec.Case)
		}
	}
	sum := &report.Summary{}
	var mu sync.Mutex // the groups play at once; the summary folds one event at a time
	add := func(ev event.Event) {
		mu.Lock()
		defer mu.Unlock()
		sum.Add(ev)
	}
	// Groups play four at once, each against its own server: most of a
	// negative suite's time is a few cases waiting (a stall that must
	// outlast the timeout, browser pages), which then overlap.
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for i, key := range order {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			errs[i] = playGroup(key, groups[key].faults, groups[key].cases, add)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "fault set %q", order[i])
	}
	return sum
}

// playGroup plays the cases of one fault set against a server of its own.
func playGroup(key string, faults []string, cases []sim.Case, add func(event.Event)) error {
	timeout := 5 * time.Second
	if key == refserver.FaultWellKnownSlow {
		// Far shorter than the server's stall (WK-015), which ends
		// when the client gives up; long enough for the case's other
		// requests on a loaded machine.
		timeout = 3 * time.Second
	}
	clock := &sim.VirtualClock{}
	// As the CLI's embedded target: pushes through an APNs stand-in,
	// and a push fault's own command delay.
	standIn, err := apns.Start("127.0.0.1:0", apns.Config{})
	if err != nil {
		return err
	}
	defer standIn.Close()
	var delay time.Duration
	for _, f := range refserver.Faults() {
		if slices.Contains(faults, f.Name) {
			delay = max(delay, f.CommandDelay)
		}
	}
	srv, err := refserver.Start(refserver.Config{Faults: faults, SlowDelay: time.Minute, Now: clock.Now, TOTPNow: clock.TOTPNow,
		WorkerNow: clock.WorkerNow, CommandDelay: delay, APNs: &refserver.APNs{URL: standIn.URL(), Roots: standIn.CertPool()}})
	if err != nil {
		return err
	}
	defer srv.Close()
	clock.OnWorkerAdvance(srv.RunWorker)
	client, err := transport.New(transport.Options{Timeout: timeout, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	reg := srv.ObserveAxM(context.Background(), client)
	target := sim.Target{Name: "embedded", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Admin: adminHooks(srv), Keys: keys.Reused, AxM: &reg,
		Push: sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return standIn.Subscribe(token) })}
	for i := range cases {
		cases[i].Target = target
		for _, a := range srv.Accounts() {
			if a.Identifier == cases[i].Account.Identifier {
				cases[i].Account.Password, cases[i].Account.TOTPSecret = secret.New(a.Password), secret.New(a.TOTPSecret)
			}
		}
	}
	// The browser's page and step timeouts get room no loaded machine
	// needs: the production 10 s and 60 s can expire on busy cores and
	// end a sign-in that would have worked.
	eng := &sim.Engine{Limits: sim.Limits{Timeout: timeout, PageTimeout: 2 * time.Minute, StepTimeout: 5 * time.Minute}, Clock: clock.Now, TOTPClock: clock, WorkerClock: clock, Browser: testBrowser}
	_, err = eng.Run(context.Background(), sim.Plan{Cases: cases}, add)
	return err
}

// playedElsewhere are the slow built-in suites that other packages'
// default tests play whole against the reference server through the
// command, which exits 0 only when every case passes: conformance
// (internal/cli's TestBuiltInSuitesWithEveryReport) and negative (its
// TestNoSecretInAnyOutputOrFormat; sim's TestEveryFaultTripsItsChecks also
// plays the negative suite's cases through the engine). Here they play
// with fullSweep only.
var playedElsewhere = []string{"conformance", "negative"}

// Every built-in suite passes against the reference server: its expected
// outcomes, facts and failing checks are what really happens.
func TestBuiltInSuitesPassAgainstTheReferenceServer(t *testing.T) {
	for _, info := range scenarios.BuiltIn(opts(nil)) {
		if !fullSweep() && slices.Contains(playedElsewhere, info.Name) {
			continue
		}
		t.Run(info.Name, func(t *testing.T) {
			suite, err := scenarios.BuiltInSuite(info.Name, opts(nil))
			require.NoError(t, err)
			sum := playEmbedded(t, suite)
			require.Len(t, sum.Cases, info.Cases)
			outcomes := map[string]int{}
			for _, c := range sum.Cases {
				outcomes[c.Outcome]++
				assert.Empty(t, c.Problems(false), "%s (%s): %s", c.Name, c.Outcome, c.Message)
			}
			t.Logf("%s: %d cases, outcomes %v", info.Name, len(sum.Cases), outcomes)
			assert.NotZero(t, outcomes[event.OutcomeEnrolled], "a suite where nothing enrolls proves little")
		})
	}
}

// adminHooks are the reference server's admin triggers, for the token-life
// checks (TOK-006, TOK-007, TOK-009).
func adminHooks(srv *refserver.Server) sim.AdminHooks {
	revoke, expire, unenroll := srv.AdminURLs()
	declarations, _ := srv.DDMAdminURLs()
	return sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll, Queue: srv.QueueURL(), Declarations: declarations}
}
