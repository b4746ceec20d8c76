package load

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckShards makes sure results are every shard of one load, each once:
// a shard given twice would count its enrollments twice, and a missing one
// would leave its arrivals out while the merge looks whole. Each result
// records its shards as "I/N" (a merged result lists each of its own).
// names, when given, name the results in the errors (their files).
func CheckShards(names []string, results []*Result) error {
	name := func(i int) string {
		if i < len(names) {
			return names[i]
		}
		return fmt.Sprintf("result %d", i+1)
	}
	seen := map[int]int{} // shard I -> the result that has it
	total, totalFrom, totalShard := 0, -1, ""
	for i, r := range results {
		if len(r.Config.Shards) == 0 {
			return fmt.Errorf("%s records no shard: write each shard with 'enrollsim load --shard I/N --report json=FILE'", name(i))
		}
		if totalFrom >= 0 {
			if a, b := results[totalFrom].Config.plan(), r.Config.plan(); a != b {
				return fmt.Errorf("%s and %s are shards of different loads (%s; %s)", name(totalFrom), name(i), a, b)
			}
		}
		for _, s := range r.Config.Shards {
			shard, of, err := parseShardID(s)
			if err != nil {
				return fmt.Errorf("%s: %v", name(i), err)
			}
			switch {
			case totalFrom < 0:
				total, totalFrom, totalShard = of, i, s
			case of != total:
				return fmt.Errorf("%s holds shard %s but %s holds shard %s: shards of different splits", name(i), s, name(totalFrom), totalShard)
			}
			if j, dup := seen[shard]; dup {
				if j == i {
					return fmt.Errorf("shard %s is given twice: %s holds it twice", s, name(i))
				}
				return fmt.Errorf("shard %s is given twice: in %s and in %s", s, name(j), name(i))
			}
			seen[shard] = i
		}
	}
	var missing, have []string
	for s := 1; s <= total; s++ {
		id := fmt.Sprintf("%d/%d", s, total)
		if _, ok := seen[s]; ok {
			have = append(have, id)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return &MissingShardsError{Missing: missing, Have: have}
	}
	return nil
}

// MissingShardsError is CheckShards' refusal of results that are shards
// of one load, each once, but not all of them; a caller may let it through.
type MissingShardsError struct{ Missing, Have []string }

func (e *MissingShardsError) Error() string {
	return fmt.Sprintf("shard %s missing: give every shard of the load (given: %s), or merge what is there with --partial", strings.Join(e.Missing, ", "), strings.Join(e.Have, ", "))
}

// parseShardID reads a recorded "I/N".
func parseShardID(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("shard %q is not I/N", s)
	}
	return i, n, nil
}

// plan is what the shards of one load share: the command line but for
// --shard.
func (c ResultConfig) plan() string {
	load := fmt.Sprintf("%d devices", c.Devices)
	if c.Model == "open" {
		load = fmt.Sprintf("%g/s for %s", c.Rate, c.Duration)
	}
	return fmt.Sprintf("%s model, %s, mix %s, until %s, probes %t", c.Model, load, c.Mix, c.Until, c.Probes)
}
