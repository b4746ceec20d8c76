package report_test

import (
	"bytes"
	"html"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// commandsRun is one enrolled case that answered the commands answered,
// against a scenario that expects want (expect.commands as a list) and
// count (expect.commands as a number, "" for none).
func commandsRun(t *testing.T, want []string, count, answered, n string) []event.Event {
	t.Helper()
	d, err := device.LookupDevice("iphone@26.1")
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	info := &event.CaseInfo{Device: d, Identifier: "alice@acme.test", Type: "user", Expect: "enroll",
		ExpectOutcome: event.OutcomeEnrolled, ExpectCommandTypes: want}
	if count != "" {
		info.ExpectFacts = map[string]string{"commands": count}
	}
	facts := map[string]string{"commands": n}
	if answered != "" {
		facts["command_types"] = answered
	}
	const c = "byod/iphone@26.1"
	return []event.Event{
		{Kind: event.EventRunStart, Time: t0, Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Time: t0, Case: c, Info: info},
		{Kind: event.EventCaseEnd, Time: t0.Add(time.Second), Case: c, Outcome: event.OutcomeEnrolled, Message: "BYOD enrollment", Facts: facts},
		{Kind: event.EventRunEnd, Time: t0.Add(time.Second)},
	}
}

func TestExpectCommands(t *testing.T) {
	for _, tc := range []struct {
		name            string
		want            []string
		count, answered string
		n               string
		problem         string // "" when the case passes
	}{
		{name: "all answered, any order", want: []string{"ProfileList", "DeviceInformation"},
			answered: "DeviceInformation,ProfileList,SecurityInfo", n: "3"},
		{name: "one missing", want: []string{"DeviceInformation", "CertificateList"},
			answered: "DeviceInformation,ProfileList", n: "2",
			problem: "expected commands DeviceInformation, CertificateList answered, missing CertificateList (answered: DeviceInformation, ProfileList)"},
		{name: "none answered", want: []string{"DeviceInformation"}, n: "0",
			problem: "expected commands DeviceInformation answered, missing DeviceInformation (answered: none)"},
		{name: "count matches", count: "2", answered: "DeviceInformation,ProfileList", n: "2"},
		{name: "count differs", count: "5", answered: "DeviceInformation,ProfileList", n: "2",
			problem: "expected commands 5, got 2"},
		{name: "a name is not a prefix of another", want: []string{"Device"}, answered: "DeviceInformation", n: "1",
			problem: "missing Device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events := commandsRun(t, tc.want, tc.count, tc.answered, tc.n)
			s := summaryOf(events)
			require.Len(t, s.Cases, 1)
			problems := s.Cases[0].Problems(false)
			if tc.problem == "" {
				assert.Empty(t, problems)
				assert.Equal(t, report.ExitOK, s.ExitCode(false))
				return
			}
			require.Len(t, problems, 1)
			assert.Contains(t, problems[0], tc.problem)
			assert.Equal(t, report.ExitFailed, s.ExitCode(false))
			// Every final format shows the mismatch, as other expectation
			// failures (har carries exchanges, not verdicts).
			for _, format := range []string{"json", "junit", "markdown", "html", "text"} {
				out := render(t, format, events, false)
				assert.Contains(t, html.UnescapeString(string(bytes.ReplaceAll(out, []byte(`\u0026`), []byte("&")))), tc.problem, format)
			}
		})
	}
}

// New outcomes after the profile fail a case that should enroll, as the
// earlier failures do, unless the scenario names them.
func TestOutcomesAfterTheProfile(t *testing.T) {
	for _, o := range []string{event.OutcomeIdentityFailed, event.OutcomeCheckInFailed, event.OutcomeUnenrolled} {
		for _, expected := range []bool{false, true} {
			events := commandsRun(t, nil, "", "", "0")
			events[1].Info.ExpectOutcome = ""
			if expected {
				events[1].Info.ExpectOutcome = o
			}
			events[2].Outcome, events[2].Message = o, "stopped"
			problems := summaryOf(events).Cases[0].Problems(false)
			if expected {
				assert.Empty(t, problems, o)
			} else {
				require.Len(t, problems, 1, o)
				assert.Equal(t, "expected to enroll, but the outcome is "+o+": stopped", problems[0])
			}
		}
	}
}

// A scripted server action the device did not answer in time fails the
// case, with what went wrong; one it answered does not.
func TestScriptedActionsFailTheCase(t *testing.T) {
	for _, failed := range []string{"", "queue DeviceLock after 2s: not answered within 5s"} {
		events := commandsRun(t, nil, "", "DeviceInformation", "1")
		end := &events[2]
		end.Facts["actions"] = "queued DeviceInformation after 2s, answered 0s later"
		if failed != "" {
			end.Facts["actions"] += "; " + failed
			end.Facts["actions_failed"] = failed
		}
		s := summaryOf(events)
		problems := s.Cases[0].Problems(false)
		if failed == "" {
			assert.Empty(t, problems)
			continue
		}
		assert.Equal(t, []string{"scenario actions: " + failed}, problems)
		assert.Equal(t, report.ExitFailed, s.ExitCode(false))
	}
}
