package sim_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// rateLimiter answers the first times requests whose path is path with 429
// and the given Retry-After, before the server sees them.
type rateLimiter struct {
	next       sim.Doer
	method     string
	path       string
	retryAfter string
	mu         sync.Mutex
	times      int
}

func (l *rateLimiter) Do(req *http.Request) (*http.Response, error) {
	l.mu.Lock()
	limited := req.Method == l.method && req.URL.Path == l.path && l.times > 0
	if limited {
		l.times--
	}
	l.mu.Unlock()
	if !limited {
		return l.next.Do(req)
	}
	h := http.Header{"Content-Type": {"text/plain"}}
	if l.retryAfter != "" {
		h.Set("Retry-After", l.retryAfter)
	}
	return &http.Response{StatusCode: http.StatusTooManyRequests, Status: "429 Too Many Requests", Header: h,
		Body: io.NopCloser(strings.NewReader("slow down\n")), Request: req, ContentLength: -1}, nil
}

// rateLimitedRun plays alice against the reference server behind a
// rateLimiter, with a sleeper that records its waits and returns at once.
func rateLimitedRun(t *testing.T, method, path, retryAfter string, times int) (sim.CaseReport, []event.Event, []time.Duration) {
	t.Helper()
	return rateLimitedRunOn(t, "iphone@18.2", method, path, retryAfter, times)
}

func rateLimitedRunOn(t *testing.T, device, method, path, retryAfter string, times int) (sim.CaseReport, []event.Event, []time.Duration) {
	t.Helper()
	ref := startRef(t, 5*time.Second)
	ref.target.Doer = &rateLimiter{next: ref.target.Doer, method: method, path: path, retryAfter: retryAfter, times: times}
	c := caseFor(t, device, "alice@acme.test", sim.TypeUser)
	c.Target, c.Account = ref.target, ref.account("alice@acme.test")
	c.NoProbes = true
	var slept []time.Duration
	var events []event.Event
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 5 * time.Second}, Clock: ref.clock.Now, TOTPClock: ref.clock,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	return reps[0], events, slept
}

func resultOf(rep sim.CaseReport, id string) check.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return check.Result{}
}

// statuses lists the answers to method path, in order.
func statuses(events []event.Event, method, path string) []int {
	var out []int
	for _, ev := range events {
		if ev.Kind == event.EventExchange && ev.Exchange.Method == method && strings.Contains(ev.Exchange.URL, path) && !ev.Exchange.Probe {
			out = append(out, ev.Exchange.Status)
		}
	}
	return out
}

func waits(events []event.Event) []event.Event {
	var out []event.Event
	for _, ev := range events {
		if ev.Kind == event.EventWait {
			out = append(out, ev)
		}
	}
	return out
}

// A 429 with a short Retry-After on the sign-in page is waited out once,
// through the engine's sleeper, shown as a wait event, and the page after
// it is what AUTH-001 judges.
func TestRateLimitedSignInPageIsWaitedOut(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, retryAfter string }{
		{"seconds", "7"},
		{"HTTP-date", time.Now().Add(12 * time.Second).UTC().Format(http.TimeFormat)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, events, slept := rateLimitedRun(t, http.MethodGet, "/auth/login", tc.retryAfter, 1)

			assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
			assert.Equal(t, check.Pass, resultOf(rep, "AUTH-001").Status, describe(rep))
			assert.Empty(t, tripped(rep), describe(rep))
			require.Len(t, slept, 1, "one wait")
			assert.Equal(t, []int{429, 200}, statuses(events, http.MethodGet, "/auth/login"), "the page after the wait is fetched once more")
			w := waits(events)
			require.Len(t, w, 1)
			assert.Equal(t, slept[0], w[0].Wait)
			assert.Equal(t, event.StepWebLogin, w[0].Step)
			assert.Contains(t, w[0].Message, "429 Too Many Requests")
			if tc.name == "seconds" {
				assert.Equal(t, 7*time.Second, slept[0])
			} else {
				assert.InDelta(t, float64(12*time.Second), float64(slept[0]), float64(3*time.Second), "the date, less the time until it")
			}
		})
	}
}

// After the one wait, a second 429 is judged as any answer: AUTH-001 fails.
func TestRateLimitedTwiceIsJudged(t *testing.T) {
	t.Parallel()
	rep, events, slept := rateLimitedRun(t, http.MethodGet, "/auth/login", "1", 2)

	assert.Equal(t, []time.Duration{time.Second}, slept, "one wait, never two")
	assert.Equal(t, []int{429, 429}, statuses(events, http.MethodGet, "/auth/login"))
	assert.Equal(t, check.Fail, resultOf(rep, "AUTH-001").Status, describe(rep))
	assert.Equal(t, event.OutcomeAuthFailed, rep.Outcome)
}

// A Retry-After beyond the cap is not waited; the tester cannot judge
// (error, exit 3), and no check fails the server for asking for patience.
func TestRateLimitedBeyondTheCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, device, method, path, check string }{
		{"sign-in page", "iphone@18.2", http.MethodGet, "/auth/login", "AUTH-001"},
		{"enrollment request", "iphone@18.2", http.MethodPost, "/enroll/byod", "ENR-001"},
		// A device before the AxM fallback has nowhere else to go; an
		// 18.2 device falls back (TestRateLimitedDomainFallsBack).
		{"discovery", "iphone@18.1", http.MethodGet, "/.well-known/com.apple.remotemanagement", "WK-001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, events, slept := rateLimitedRunOn(t, tc.device, tc.method, tc.path, "3600", 1)

			assert.Empty(t, slept)
			assert.Empty(t, waits(events))
			res := resultOf(rep, tc.check)
			assert.Equal(t, check.Error, res.Status, describe(rep))
			assert.Contains(t, res.Actual+res.Detail, "Retry-After 3600 s, longer than the simulator waits (30 s)")
			assert.Empty(t, tripped(rep), describe(rep))
			assert.Equal(t, event.OutcomeError, rep.Outcome)
		})
	}
}

// The enrollment POST's 429 is waited out the same way.
func TestRateLimitedEnrollmentIsWaitedOut(t *testing.T) {
	t.Parallel()
	rep, events, slept := rateLimitedRun(t, http.MethodPost, "/enroll/byod", "2", 1)

	assert.Equal(t, []time.Duration{2 * time.Second}, slept)
	assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
	assert.Empty(t, tripped(rep), describe(rep))
	assert.Equal(t, 429, statuses(events, http.MethodPost, "/enroll/byod")[0])
}

// The reference server's legal fault: the one 429 is waited out.
func TestLoginRateLimitedOnceFault(t *testing.T) {
	t.Parallel()
	ref := startRef(t, 5*time.Second, refserver.FaultLoginRateLimitedOnce)
	c := caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser)
	c.Target, c.Account = ref.target, ref.account("alice@acme.test")
	var slept []time.Duration
	var events []event.Event
	eng := &sim.Engine{Limits: sim.Limits{Timeout: 5 * time.Second}, Clock: ref.clock.Now, TOTPClock: ref.clock,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	reps, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(e event.Event) { events = append(events, e) })
	require.NoError(t, err)
	assert.Equal(t, event.OutcomeEnrolled, reps[0].Outcome, describe(reps[0]))
	assert.Empty(t, tripped(reps[0]), describe(reps[0]))
	assert.Equal(t, []time.Duration{time.Second}, slept)
	assert.Len(t, waits(events), 1)
}

// A sign-in page the simulator cannot fill (here: a code split over six
// boxes while the scenario's codes have eight digits) ends the case in
// error, the tester's verdict, with no finding against the server: not
// auth-failed, no TOTP-002.
func TestUnfillableSignInIsNoFinding(t *testing.T) {
	t.Parallel()
	ref := startRef(t, 5*time.Second, refserver.FaultLoginSplitOTP)
	c := caseFor(t, "iphone@18.2", "alice@acme.test", sim.TypeUser)
	c.Account = ref.account("alice@acme.test")
	c.Account.TOTP.Digits = 8
	reps, events := play(t, ref, 5*time.Second, c)
	rep := reps[0]

	assert.Equal(t, event.OutcomeError, rep.Outcome, describe(rep))
	assert.Empty(t, tripped(rep), "no FAIL or WARN against the server:%s", describe(rep))
	assert.Equal(t, check.Error, resultOf(rep, "TOTP-002").Status, describe(rep))
	msg := ""
	for _, ev := range events {
		if ev.Kind == event.EventStepEnd && ev.Step == event.StepWebLogin {
			msg = ev.Message
		}
	}
	assert.Contains(t, msg, "the simulator cannot fill the sign-in page")
	assert.Contains(t, msg, "splits the one-time code over 6 one-character boxes, but the code has 8 digits")
	assert.Equal(t, []int{303}, statuses(events, http.MethodPost, "/auth/login"), "the password was sent and accepted")
	assert.Empty(t, statuses(events, http.MethodPost, "/auth/otp"), "the code form was never sent")
}

// A domain that asks for a long wait is a failed domain to a device with
// the AxM fallback: it enrolls through the registered URL.
func TestRateLimitedDomainFallsBack(t *testing.T) {
	t.Parallel()
	rep, _, slept := rateLimitedRun(t, http.MethodGet, "/.well-known/com.apple.remotemanagement", "3600", 1)

	assert.Empty(t, slept)
	assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
	assert.Empty(t, tripped(rep), describe(rep))
	assert.Equal(t, check.Noted, resultOf(rep, "WK-001").Status)
}

// Discovery's 429 is waited out the same way: the same helper serves every
// request the device makes.
func TestRateLimitedDiscoveryIsWaitedOut(t *testing.T) {
	t.Parallel()
	rep, events, slept := rateLimitedRun(t, http.MethodGet, "/.well-known/com.apple.remotemanagement", "3", 1)

	assert.Equal(t, []time.Duration{3 * time.Second}, slept)
	assert.Equal(t, event.OutcomeEnrolled, rep.Outcome, describe(rep))
	assert.Empty(t, tripped(rep), describe(rep))
	assert.Equal(t, 429, statuses(events, http.MethodGet, "/.well-known/com.apple.remotemanagement")[0])
}
