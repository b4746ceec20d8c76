package report_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/apns"
	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/internal/transport"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// update rewrites the recorded run and every golden file from it:
//
//	go test ./report/ -update
var update = flag.Bool("update", false, "record testdata/run.jsonl again and rewrite the golden files")

const recordedRun = "testdata/run.jsonl"

// recordCases is the recorded run: a case that passes, one whose server
// answers the login callback with a 303 (AUTH-004 warns; --strict makes it a
// failure), one that expects its server's fault (AUTH-003 fails, as
// expected), and a device that refuses locally. The faulty cases skip the
// tester's probes to keep the fixture small.
func recordCases() []struct {
	ref, account, name string
	faults             []string
	noProbes           bool
	expect             sim.Expect
} {
	return []struct {
		ref, account, name string
		faults             []string
		noProbes           bool
		expect             sim.Expect
	}{
		{ref: "iphone@26.1", account: "alice@acme.test", name: "iphone@26.1/user", expect: sim.Expect{Enroll: true}},
		{ref: "iphone@18.2", account: "alice@acme.test", name: "iphone@18.2/callback-303", faults: []string{refserver.FaultCallback303}, noProbes: true, expect: sim.Expect{Enroll: true}},
		{ref: "iphone@18.2", account: "alice@acme.test", name: "iphone@18.2/callback-no-token", faults: []string{refserver.FaultCallbackNoToken}, noProbes: true,
			expect: sim.Expect{Enroll: true, Trips: []string{"AUTH-003"}, Outcome: event.OutcomeAuthFailed}},
		{ref: "iphone@14.8", account: "alice@acme.test", name: "iphone@14.8/user", expect: sim.Expect{Enroll: true}},
	}
}

// record plays the recorded run's cases with the real engine against the
// embedded reference server (one server per fault set, one virtual clock).
func record(t *testing.T) []event.Event {
	t.Helper()
	clock := &sim.VirtualClock{}
	var cases []sim.Case
	for _, rc := range recordCases() {
		// As the CLI's embedded target: the server pushes through an APNs
		// stand-in of its own, and its devices wait for the pushes.
		standIn, err := apns.Start("127.0.0.1:0", apns.Config{})
		require.NoError(t, err)
		t.Cleanup(func() { standIn.Close() })
		srv, err := refserver.Start(refserver.Config{Faults: rc.faults, Now: clock.Now, TOTPNow: clock.TOTPNow, WorkerNow: clock.WorkerNow,
			APNs: &refserver.APNs{URL: standIn.URL(), Roots: standIn.CertPool()}})
		require.NoError(t, err)
		t.Cleanup(func() { srv.Close() })
		clock.OnWorkerAdvance(srv.RunWorker)
		client, err := transport.New(transport.Options{Timeout: 5 * time.Second, RootCAs: srv.CertPool(), ConnectTo: []string{"::" + srv.Addr()}})
		require.NoError(t, err)
		reg := srv.ObserveAxM(context.Background(), client)
		d, err := device.LookupDevice(rc.ref)
		require.NoError(t, err)
		acct := sim.Account{Identifier: rc.account}
		for _, a := range srv.Accounts() {
			if a.Identifier == rc.account {
				acct.Password, acct.TOTPSecret, acct.ManagedAppleID = secret.New(a.Password), secret.New(a.TOTPSecret), a.ManagedAppleID
			}
		}
		require.False(t, acct.Password.IsZero(), "the reference server has no account %s", rc.account)
		cases = append(cases, sim.Case{
			Name: rc.name, Device: d, Account: acct, Type: sim.TypeUser, Expect: rc.expect,
			Target: sim.Target{Name: "embedded reference server", AxMURL: srv.AxMURL(), AxMDeclared: true, Doer: client, StockRoots: srv.StockPool(), Admin: adminHooks(srv), Keys: keys.Reused, AxM: &reg,
				Push: sim.PushReceiverFunc(func(token []byte) sim.PushMailbox { return standIn.Subscribe(token) })},
			NoProbes: rc.noProbes, Scenario: "report-fixture", Suite: "report",
		})
	}
	var events []event.Event
	// As the CLI sets it for embedded runs: wall-clock event times, and
	// per-account TOTP time that jumps (reported apart at run end).
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 5 * time.Second}, Clock: clock.Now, TOTPClock: clock, WorkerClock: clock}
	_, err := eng.Run(context.Background(), sim.Plan{Cases: cases}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	return events
}

var (
	recordOnce sync.Once
	recorded   []event.Event
)

// loadRun returns the recorded run: read from testdata/run.jsonl, or with
// -update played afresh and written there first (once per test binary).
func loadRun(t *testing.T) []event.Event {
	t.Helper()
	if *update {
		recordOnce.Do(func() {
			events := record(t)
			var buf bytes.Buffer
			j := report.NewJSONL(&buf)
			for _, ev := range events {
				j.Handle(ev)
			}
			require.NoError(t, j.Err())
			require.NoError(t, os.WriteFile(recordedRun, buf.Bytes(), 0o644))
		})
	}
	f, err := os.Open(recordedRun)
	require.NoError(t, err, "the recorded run is missing: go test ./report/ -update")
	defer f.Close()
	var events []event.Event
	require.NoError(t, report.ReadJSONL(f, func(ev event.Event) { events = append(events, ev) }))
	require.NotEmpty(t, events)
	return events
}

// skeleton is what must not drift between the engine and the recorded run:
// the order of events, cases, steps, exchanges and check verdicts, without
// times, durations or bodies.
func skeleton(events []event.Event) string {
	var b strings.Builder
	for _, ev := range events {
		fmt.Fprintf(&b, "%s %s %s", ev.Kind, ev.Case, ev.Step)
		switch {
		case ev.Exchange != nil:
			fmt.Fprintf(&b, " %s %s %d", ev.Exchange.Purpose, ev.Exchange.Method, ev.Exchange.Status)
		case ev.Result != nil:
			fmt.Fprintf(&b, " %s %s", ev.Result.ID, ev.Result.Status)
		case ev.Kind == event.EventStepEnd:
			fmt.Fprintf(&b, " %s", ev.Status)
		case ev.Kind == event.EventCaseEnd:
			fmt.Fprintf(&b, " %s", ev.Outcome)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// The recorded run is what the engine does today: when the engine changes
// the flow, this fails and -update records the run (and goldens) again.
func TestRecordedRunIsCurrent(t *testing.T) {
	live := record(t)
	saved := loadRun(t)
	require.Equal(t, skeleton(saved), skeleton(live),
		"the engine no longer plays the recorded run the same way; record it again with: go test ./report/ -update (then review the golden diffs)")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; create it with: go test ./report/ -update")
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the golden file (rewrite with -update and review the diff):\n%s", path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  want: %q\n  got:  %q", i+1, w, g)
		}
	}
	return "(same lines, different bytes)"
}

// adminHooks are the reference server's admin triggers, for the token-life
// checks (TOK-006, TOK-007, TOK-009).
func adminHooks(srv *refserver.Server) sim.AdminHooks {
	revoke, expire, unenroll := srv.AdminURLs()
	return sim.AdminHooks{RevokeToken: revoke, ExpireToken: expire, Unenroll: unenroll}
}
