package chromium

import (
	"context"
	"testing"
	"time"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// BenchmarkEnrollment plays the same case against the same reference
// server with the form driver (the baseline) and in the browser: what a
// browser sign-in costs. Probes are off, so the case has one login.
//
//	go test ./sim/chromium/ -run '^$' -bench Enrollment -benchtime 10x
func BenchmarkEnrollment(b *testing.B) {
	ref := startRef(b)
	d, err := device.LookupDevice("iphone@26.1")
	if err != nil {
		b.Fatal(err)
	}
	for _, driver := range []string{sim.DriverForm, sim.DriverBrowser} {
		b.Run(driver, func(b *testing.B) {
			eng := &sim.Engine{Limits: sim.Limits{Timeout: 10 * time.Second}, Clock: ref.clock.Now, TOTPClock: ref.clock, Browser: shared}
			c := sim.Case{Name: "c", Device: d, Account: ref.account("alice@acme.test"), Target: ref.target, Login: sim.LoginFields{Driver: driver}, NoProbes: true}
			for b.Loop() {
				reps, err := eng.Run(context.Background(), sim.Plan{Cases: []sim.Case{c}}, func(event.Event) {})
				if err != nil || reps[0].Outcome != event.OutcomeEnrolled {
					b.Fatalf("outcome %v, err %v", reps, err)
				}
			}
		})
	}
}
