package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// With every finding known, the gate passes, and the reports show the
// findings as expected, not as failures.
func TestExpectationsPassTheGateAndMarkReports(t *testing.T) {
	dir := t.TempDir()
	known := filepath.Join(dir, "known.yaml")
	require.NoError(t, os.WriteFile(known, []byte(`expectations:
  - check: PROF-011
    reason: TICKET-7
  - check: ENR-*
    case: "iphone@18.2/*"
    reason: TICKET-9
    expires: 2026-11-24
`), 0o600))
	jsonPath, junitPath := filepath.Join(dir, "run.json"), filepath.Join(dir, "run.xml")
	args := []string{"run", "--fault", "esso-http", "--fault", "profile-bad-topic", "--email", "alice@acme.test", "--device", "iphone@18.2",
		"--report", "json=" + jsonPath, "--report", "junit=" + junitPath}

	r := execute(t, args...)
	assert.Equal(t, 1, r.code, "without the file the findings fail the gate")

	r = execute(t, append(args, "--expectations", known)...)
	assert.Equal(t, 0, r.code, r.out+r.errOut)
	assert.Contains(t, r.out, "FAIL  ENR-012 (expected)")
	assert.Contains(t, r.out, "FAIL  PROF-011 (expected)")
	assert.Contains(t, r.out, "expected  ENR-* on iphone@18.2/* (line 4): 1 finding(s); TICKET-9", "the expiry day itself (the test clock's day) still applies")
	assert.Contains(t, r.out, "stale 0, expired 0, unused 0")

	var doc report.JSONReport
	raw, err := os.ReadFile(jsonPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	assert.Equal(t, 0, doc.ExitCode)
	require.Len(t, doc.Cases, 1)
	assert.True(t, doc.Cases[0].Passed)
	assert.Equal(t, []string{"PROF-011", "ENR-*"}, doc.Cases[0].Info.KnownTrips)
	assert.Equal(t, 2, doc.ExpectedTrips)
	require.NotNil(t, doc.Expectations)
	assert.Equal(t, known, doc.Expectations.File)
	assert.Equal(t, []check.KnownFinding{
		{Check: "PROF-011", Case: "*", Reason: "TICKET-7", Line: 2, State: check.KnownExpected, Occurrences: 1},
		{Check: "ENR-*", Case: "iphone@18.2/*", Reason: "TICKET-9", Expires: "2026-11-24", Line: 4, State: check.KnownExpected, Occurrences: 1},
	}, doc.Expectations.Entries)
	raw, err = os.ReadFile(junitPath)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "<failure", "expected findings are no junit failures")
	assert.Contains(t, string(raw), `<testsuite name="expectations"`)
	assert.Contains(t, string(raw), "ENR-* on iphone@18.2/* (line 4): expected: 1 finding(s); TICKET-9")
}

func TestExpectationsFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("expectations:\n  - check: WK-01\n    expires: soon\n"), 0o600))
	r := execute(t, "run", "--embedded", "--email", "alice@acme.test", "--expectations", bad)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "--expectations: 3 problem(s):")
	assert.Contains(t, r.errOut, bad+`:2:12: expectations[0].check: check pattern "WK-01" matches no check`)
	assert.Contains(t, r.errOut, bad+":2:5: expectations[0]: no reason")
	assert.Contains(t, r.errOut, bad+`:3:14: expectations[0].expires "soon": want a date YYYY-MM-DD`)

	r = execute(t, "run", "--embedded", "--email", "alice@acme.test", "--expectations", filepath.Join(dir, "none.yaml"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "none.yaml: cannot read: no such file or directory")
}

// step reads --expectations as run does: before the screen changes, each
// restart's plan marks its cases, and the verdict goes on the run-end
// event that its reports are written from.
func TestStepExpectations(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("expectations:\n  - check: WK-01\n"), 0o600))
	r := execute(t, "step", "--email", "alice@acme.test", "--embedded", "--expectations", bad)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "--expectations: 2 problem(s):", "the file's problems come before the terminal is needed")

	known := filepath.Join(dir, "known.yaml")
	require.NoError(t, os.WriteFile(known, []byte("expectations:\n  - check: PROF-011\n    reason: TICKET-7\n  - check: ENR-002\n    reason: TICKET-3\n"), 0o600))
	r = execute(t, "step", "--replay", filepath.Join(dir, "run.jsonl"), "--expectations", known)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.errOut, "--expectations cannot be combined with it", "a replay carries the verdict of its own run")

	f, _, _ := testFactory(nil)
	k, err := loadExpectations(known, f.Now())
	require.NoError(t, err)
	o := &stepOptions{}
	fl := pflag.NewFlagSet("step", pflag.ContinueOnError)
	addRunFlags(fl, &o.runOptions)
	require.NoError(t, fl.Parse([]string{"--email", "alice@acme.test", "--fault", "profile-bad-topic", "--device", "iphone@18.2", "--expectations", known}))
	assert.Equal(t, known, o.Expectations, "step has the flag")
	p, err := o.plan(f, nil, k)
	require.NoError(t, err)
	defer p.release()
	require.Len(t, p.plan.Cases, 1)
	assert.Equal(t, []string{"PROF-011", "ENR-002"}, p.plan.Cases[0].Expect.Known)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var events []event.Event
	_, err = p.eng.Run(ctx, p.plan, func(ev event.Event) { events = append(events, ev) })
	require.NoError(t, err)
	k.onRunEnd(events, nil)
	end := events[len(events)-1]
	require.Equal(t, event.EventRunEnd, end.Kind)
	require.NotNil(t, end.Expectations)
	require.Len(t, end.Expectations.Entries, 2)
	assert.Equal(t, check.KnownExpected, end.Expectations.Entries[0].State)
	assert.Equal(t, 1, end.Expectations.Entries[0].Occurrences)
	assert.Equal(t, check.KnownStale, end.Expectations.Entries[1].State)
}
