package sim

import (
	"fmt"
	"net/http"
)

// singleHeader returns the value the engine uses of a header that carries
// one field (Location, Content-Type): the first, as Go's Header.Get and a
// device's lookup by name do. When the answer repeats the header with other
// values, note says so and which was used. Identical repeats are resolved
// silently: they mean the same. A device may join repeats with ", "
// (CFNetwork coalesces header lines), so this is a note, never a failure.
func singleHeader(h http.Header, name string) (value, note string) {
	vs := h.Values(name)
	if len(vs) == 0 {
		return "", ""
	}
	value = vs[0]
	distinct := 1
	for _, v := range vs[1:] {
		if v != value {
			distinct++
		}
	}
	if distinct > 1 {
		note = fmt.Sprintf("%d %s headers with different values; the first is used: %q", len(vs), name, truncate(value, 200))
	}
	return value, note
}
