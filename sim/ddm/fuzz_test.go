package ddm

import (
	"encoding/json"
	"testing"
)

// FuzzDDM feeds one body to the three readers of a server's DDM answers. None may panic; what
// they accept must hold their promises, and the device must be able to store it and report
// on it. Seeds: testdata/fuzz/FuzzDDM (run as ordinary tests) and the ones below.
func FuzzDDM(f *testing.F) {
	for _, s := range []string{goodTokens, goodItems, goodDeclaration, `{}`, `[`, "\xEF\xBB\xBF{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := ParseTokens(body); err != nil && !IsBodyError(err) {
			t.Fatalf("ParseTokens: %v is not a *BodyError", err)
		}
		var s State
		items, err := ParseItems(body)
		if err == nil {
			seen := map[string]bool{}
			for _, it := range items.All() {
				if it.Identifier == "" || seen[it.Identifier] || it.Kind == "" {
					t.Fatalf("ParseItems accepted item %+v (seen %v)", it, seen[it.Identifier])
				}
				seen[it.Identifier] = true
			}
			if fetch, remove := s.Plan(items); len(fetch) != len(seen) || len(remove) != 0 {
				t.Fatalf("Plan on an empty store: fetch %d of %d, remove %v", len(fetch), len(seen), remove)
			}
		}
		d, err := ParseDeclaration(body)
		if err != nil {
			return
		}
		if d.Type == "" || d.Identifier == "" || d.Payload == nil {
			t.Fatalf("ParseDeclaration accepted %+v", d)
		}
		for _, dev := range []Device{iPhoneUE, macDE, visionDE} {
			var s State
			r := s.Apply(d, dev)
			if r.Valid != ValidValid && r.Valid != ValidInvalid {
				t.Fatalf("Apply valid %q", r.Valid)
			}
			out, err := s.StatusReport(dev, true)
			if err != nil || !json.Valid(out) {
				t.Fatalf("StatusReport: %v %q", err, out)
			}
		}
	})
}
