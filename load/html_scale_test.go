package load

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Latency axes turn logarithmic past a 100× span; ticks stay inside the
// plot, in order, and an axis with nothing to show is still finite.
func TestHTMLScales(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lo, hi    float64
		log       bool
		first     string
		last      string
		wantTicks int
	}{
		{"empty", 0, 0, false, "0", "1", 6},
		{"narrow", 12, 480, false, "0", "500", 6},
		{"exactly 100x", 5, 500, false, "0", "500", 6},
		{"wide", 0.8, 2400, true, "0.1", "10000", 6},
		{"few decades", 3, 900, true, "1", "1000", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ticks := msScale(tc.lo, tc.hi, 100, 900)
			assert.Equal(t, tc.log, s.Log)
			assert.Len(t, ticks, tc.wantTicks)
			assert.Equal(t, tc.first, ticks[0].Label)
			assert.Equal(t, tc.last, ticks[len(ticks)-1].Label)
			assert.InDelta(t, 100, ticks[0].Pos, 1e-9)
			assert.InDelta(t, 900, ticks[len(ticks)-1].Pos, 1e-9)
			for i := 1; i < len(ticks); i++ {
				assert.Greater(t, ticks[i].Pos, ticks[i-1].Pos, "ticks in order")
			}
			for _, v := range []float64{-1, 0, tc.lo, tc.hi, 1e12, math.NaN()} {
				x := s.at(v)
				assert.False(t, math.IsNaN(x) || math.IsInf(x, 0), "at(%v) = %v", v, x)
				assert.True(t, x >= 100 && x <= 900, "at(%v) = %v stays in the plot", v, x)
			}
		})
	}
	assert.Equal(t, "0", svgNum(math.NaN()))
	assert.Equal(t, "0", svgNum(math.Inf(1)))
	assert.Equal(t, "0", svgNum(-0.01))
	assert.Equal(t, "12.5", svgNum(12.54))
	assert.Equal(t, "7", svgNum(7))
}
