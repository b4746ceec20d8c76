package load

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
)

// DefaultMix is a company's fleet on Monday morning.
const DefaultMix = "iphone@18.2:60,mac@15.2:30,vision@2.2:10"

// MixEntry is one kind of device and its share of the arrivals.
type MixEntry struct {
	Device device.Device
	Type   sim.EnrollmentType
	Weight int
}

// Mix is the devices a load plays, by weight.
type Mix []MixEntry

// ParseMix reads "iphone@18.2:60,mac@15.2/device:30": a device reference,
// optionally /user or /device (default user), and a whole-number weight.
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ref, w, ok := strings.Cut(part, ":")
		weight := 1
		if ok {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("mix entry %q: weight %q: want a whole number above 0, e.g. iphone@18.2:60", part, w)
			}
			weight = n
		}
		typ := sim.TypeUser
		if dev, t, ok := strings.Cut(ref, "/"); ok {
			parsed, err := sim.ParseEnrollmentType(t)
			if err != nil || parsed == sim.TypeAuto {
				return nil, fmt.Errorf("mix entry %q: after / want user or device", part)
			}
			ref, typ = dev, parsed
		}
		d, err := device.LookupDevice(strings.TrimSpace(ref))
		if err != nil {
			return nil, fmt.Errorf("mix entry %q: %v", part, err)
		}
		m = append(m, MixEntry{Device: d, Type: typ, Weight: weight})
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("empty mix: want e.g. %s", DefaultMix)
	}
	return m, nil
}

// sequence spreads one cycle of the weights evenly (smooth weighted round
// robin), so that any stretch of arrivals has the mix's proportions.
func (m Mix) sequence() []int {
	total := 0
	for _, e := range m {
		total += e.Weight
	}
	current := make([]int, len(m))
	out := make([]int, 0, total)
	for range total {
		best := 0
		for i, e := range m {
			current[i] += e.Weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		out = append(out, best)
	}
	return out
}

func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, e := range m {
		parts[i] = fmt.Sprintf("%s/%s:%d", e.Device.Ref(), e.Type, e.Weight)
	}
	return strings.Join(parts, ",")
}
