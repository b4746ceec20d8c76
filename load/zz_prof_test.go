package load_test

import (
	"context"
	"testing"

	"github.com/enrollsim/enrollsim/load"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

func BenchmarkZZWholeLife(b *testing.B) {
	const n = 1000
	tgt := target(b, n*(b.N+1))
	mix, _ := load.ParseMix(load.DefaultMix)
	for i := 0; i < b.N; i++ {
		res, err := load.Run(context.Background(), &sim.Engine{}, load.Config{Devices: n, Concurrency: 200, Mix: mix,
			Accounts: load.Accounts{Pattern: load.DefaultPattern, Count: n * (b.N + 1), Master: secret.New(master), First: i * n},
			Target:   tgt, Until: event.UntilCommands}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Cases)/res.Elapsed().Seconds(), "enrollments/s")
		for s, h := range res.Steps {
			b.Logf("%s p50 %v", s, h.Quantile(0.5))
		}
	}
}
