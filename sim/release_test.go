package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// What a case learns dies with it (DESIGN.md: state that grows with a run
// is scoped to its case): after 50 parallel cases the run's redactor holds
// the plan's secrets and nothing else, every case's events were still
// redacted with that case's tokens, and the heap does not grow by a
// buffered case's events or redactor per finished case.
func TestFinishedCasesReleaseSecretsAndEvents(t *testing.T) {
	const n, early = 50, 10
	r := startRef(t, 10*time.Second)
	watch := &wireSecrets{next: r.target.Doer, seen: map[string]bool{}}
	r.target.Doer = watch
	acct := r.account("alice@acme.test")
	var cases []sim.Case
	for i := 0; i < n; i++ {
		c := caseFor(t, "iphone@26.1", "alice@acme.test", sim.TypeUser)
		c.Name = fmt.Sprintf("%s/%d", c.Name, i)
		c.Target, c.Account = r.target, acct
		cases = append(cases, c)
	}
	runRed := &secret.Redactor{}
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 10 * time.Second}, Clock: r.clock.Now, TOTPClock: r.clock, Parallel: 2, Redactor: runRed}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a hang's bound
	defer cancel()
	// The events go to a file, not the heap, to be searched for secrets
	// once the run is over.
	stream, err := os.Create(filepath.Join(t.TempDir(), "events.jsonl"))
	require.NoError(t, err)
	defer stream.Close()
	heapAt := map[int]uint64{}
	ended := 0
	reps, err := eng.Run(ctx, sim.Plan{Cases: cases}, func(ev event.Event) {
		// The events are dropped once written, as load mode will: what
		// the heap holds after a GC is the engine's.
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		_, err = stream.Write(append(raw, '\n'))
		require.NoError(t, err)
		if ev.Kind != event.EventCaseEnd {
			return
		}
		if ended++; ended == early || ended == n {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapAt[ended] = ms.HeapAlloc
		}
	})
	require.NoError(t, err, "the run did not finish within its deadline")
	require.Len(t, reps, n)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, rep.Name)
	}
	all, err := os.ReadFile(stream.Name())
	require.NoError(t, err)
	require.Greater(t, len(watch.seen), 2*n, "the traffic should have carried every case's tokens and cookies")
	for s := range watch.seen {
		if i := strings.Index(string(all), s); i >= 0 {
			t.Errorf("a secret leaked into the events: …%s…", all[max(0, i-120):i])
		}
	}
	assert.Contains(t, string(all), "[redacted]")

	plan := &secret.Redactor{}
	plan.AddSecret(acct.Password)
	plan.AddSecret(acct.TOTPSecret)
	assert.Equal(t, plan.Len(), runRed.Len(), "the run's redactor holds more than the plan's secrets")
	assert.Equal(t, "[redacted] [redacted]", runRed.Redact(acct.Password.Reveal()+" "+acct.TOTPSecret.Reveal()))
	for s := range watch.seen {
		if s != acct.Password.Reveal() && s != acct.TOTPSecret.Reveal() {
			require.Equal(t, s, runRed.Redact(s), "a case's secret outlived the case in the run's redactor")
		}
	}

	// Run still returns every case's report (the summary's business, not
	// this one's): about 7 KiB a case. When the run's redactor learned
	// every token and runParallel kept every case's events, a case left
	// 135 KiB behind; 48 KiB catches either coming back without flaking
	// on the reports.
	perCase := (int64(heapAt[n]) - int64(heapAt[early])) / (n - early)
	t.Logf("heap after GC: %d KiB at case %d, %d KiB at case %d: %d KiB per case",
		heapAt[early]>>10, early, heapAt[n]>>10, n, perCase>>10)
	assert.Less(t, perCase, int64(48<<10), "the heap grows per finished case: its events or secrets are kept")
}
