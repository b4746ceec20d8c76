package sim

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

type refusingDoer struct{}

func (refusingDoer) Do(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}

// With a simulated clock, every event also carries the wall clock's
// reading, taken when the event happens: parallel cases hold their events
// back, and a stamp taken when they are let out would make each case look
// as if it took no time.
func TestEventsCarryWallTimeWhenTheClockIsSimulated(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		var mu sync.Mutex
		tick := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		wall := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			tick = tick.Add(time.Second)
			return tick
		}
		sim := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		d, err := device.LookupDevice("iphone@18.2")
		require.NoError(t, err)
		var cases []Case
		for _, n := range []string{"a", "b", "c", "d"} {
			cases = append(cases, Case{Name: n, Device: d, Type: TypeUser, Account: Account{Identifier: "alice@acme.test"}, NoProbes: true})
		}
		eng := &Engine{Doer: refusingDoer{}, Clock: func() time.Time { return sim }, Wall: wall, Parallel: parallel}
		var events []event.Event
		_, err = eng.Run(context.Background(), Plan{Cases: cases}, func(ev event.Event) { events = append(events, ev) })
		require.NoError(t, err)
		seen := map[time.Time]bool{}
		for _, ev := range events {
			require.False(t, ev.Wall.IsZero(), "%s %s has no wall time", ev.Kind, ev.Case)
			assert.Equal(t, sim, ev.Time)
			assert.False(t, seen[ev.Wall], "each event read the wall clock once, when it happened")
			seen[ev.Wall] = true
		}
		start, end := events[0], events[len(events)-1]
		require.Equal(t, event.EventRunStart, start.Kind)
		require.Equal(t, event.EventRunEnd, end.Kind)
		for _, ev := range events[1 : len(events)-1] {
			assert.True(t, start.Wall.Before(ev.Wall) && ev.Wall.Before(end.Wall), "run-start and run-end bracket every event")
		}
	}

	// Without Wall the stream is as before: Time is the real clock.
	d, _ := device.LookupDevice("iphone@18.2")
	eng := &Engine{Doer: refusingDoer{}, Clock: time.Now}
	_, err := eng.Run(context.Background(), Plan{Cases: []Case{{Name: "a", Device: d, Type: TypeUser, Account: Account{Identifier: "alice@acme.test"}, NoProbes: true}}}, func(ev event.Event) {
		assert.True(t, ev.Wall.IsZero())
	})
	require.NoError(t, err)
}
