package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
)

// The index is what a large run's report opens on: the suites, the cases
// failures first, and the checks pivoted across cases ("PROF-004 failed
// on 33 devices"), each linking to the verdicts in the cases.

type htmlSuite struct {
	Name                  string
	Cases, Passed, Failed int
}

// htmlPivot is one check across the run: per status, the number of cases
// (devices) that judged it so at least once, and the cases with findings.
type htmlPivot struct {
	ID, Rule, Level, Source string
	Links                   []check.Link
	Pass, Fail, Warn        int
	Info, Skip, Error       int
	// Expected counts the cases whose findings of the check were expected.
	Expected int
	Headline string
	Class    string
	Cases    []htmlCaseRef
}

type htmlCaseRef struct {
	Name, Anchor, Status, Class string
	Expected                    bool
}

// index fills the view's index from its cases.
func (v *htmlView) index() {
	bySuite := map[string]*htmlSuite{}
	for i := range v.CaseList {
		c := &v.CaseList[i]
		name := c.Suite
		if name == "" {
			name = "(no suite)"
		}
		su := bySuite[name]
		if su == nil {
			v.Suites = append(v.Suites, htmlSuite{Name: name})
			su = &htmlSuite{Name: name}
			bySuite[name] = su
		}
		su.Cases++
		if c.Verdict == "FAIL" {
			su.Failed++
		} else {
			su.Passed++
		}
	}
	for i, s := range v.Suites {
		v.Suites[i] = *bySuite[s.Name]
	}
	for i := range v.CaseList {
		v.Rows = append(v.Rows, &v.CaseList[i])
	}
	// Failed cases first, then passing ones with warnings, then the rest.
	rank := func(c *htmlCase) int {
		switch {
		case c.Verdict == "FAIL":
			return 0
		case c.Warn > 0:
			return 1
		}
		return 2
	}
	sort.SliceStable(v.Rows, func(a, b int) bool { return rank(v.Rows[a]) < rank(v.Rows[b]) })
	v.pivot()
}

// pivot counts each check's verdicts per case: a case that judged it twice
// counts once, under its worst status.
func (v *htmlView) pivot() {
	byID := map[string]*htmlPivot{}
	var ids []string
	for i := range v.CaseList {
		c := &v.CaseList[i]
		worst := map[string]*htmlCheck{}
		expected := map[string]bool{}
		var order []string
		for _, s := range c.Steps {
			for _, group := range [][]htmlCheck{s.Notable, s.Passed, s.Skipped} {
				for j := range group {
					k := &group[j]
					if byID[k.ID] == nil {
						byID[k.ID] = &htmlPivot{ID: k.ID, Rule: k.Rule, Level: strings.TrimSuffix(k.Level, "*"), Source: k.Source, Links: check.SourceLinks(k.Source)}
						ids = append(ids, k.ID)
					}
					if worst[k.ID] == nil {
						order = append(order, k.ID)
					}
					if worst[k.ID] == nil || severity(k.Status) > severity(worst[k.ID].Status) {
						worst[k.ID] = k
					}
					if k.ExpectedTrip {
						expected[k.ID] = true
					}
				}
			}
		}
		for _, id := range order {
			p, k := byID[id], worst[id]
			p.count(k.Status)
			if severity(k.Status) >= severity("WARN") {
				p.Cases = append(p.Cases, htmlCaseRef{Name: c.Name, Anchor: c.firstFinding[id], Status: k.Status, Class: k.Class, Expected: expected[id]})
				if expected[id] {
					p.Expected++
				}
			}
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := byID[id]
		p.headline()
		v.Catalogue = append(v.Catalogue, p)
		if len(p.Cases) > 0 {
			v.Pivot = append(v.Pivot, p)
		}
	}
	// Failures first, then warnings (both are the server's), then what
	// could not be judged; unexpected before expected.
	sort.SliceStable(v.Pivot, func(a, b int) bool {
		pa, pb := v.Pivot[a], v.Pivot[b]
		for _, k := range [][2]int{{pa.Fail, pb.Fail}, {pa.Warn, pb.Warn}, {pa.Error, pb.Error}, {pb.Expected, pa.Expected}} {
			if k[0] != k[1] {
				return k[0] > k[1]
			}
		}
		return false
	})
}

// severity orders the statuses of one check in one case.
func severity(status string) int {
	switch status {
	case "ERROR":
		return 5
	case "FAIL":
		return 4
	case "WARN":
		return 3
	case "INFO":
		return 2
	case "PASS":
		return 1
	}
	return 0
}

func (p *htmlPivot) count(status string) {
	switch status {
	case "PASS":
		p.Pass++
	case "FAIL":
		p.Fail++
	case "WARN":
		p.Warn++
	case "INFO":
		p.Info++
	case "ERROR":
		p.Error++
	default:
		p.Skip++
	}
}

func (p *htmlPivot) headline() {
	var parts []string
	for _, s := range []struct {
		n    int
		verb string
	}{{p.Fail, "failed"}, {p.Error, "could not be judged"}, {p.Warn, "warned"}} {
		if s.n > 0 {
			parts = append(parts, fmt.Sprintf("%s on %d %s", s.verb, s.n, nounFor(s.n, "device", "devices")))
		}
	}
	p.Headline = strings.Join(parts, ", ")
	switch {
	case p.Fail > 0:
		p.Class = "s-fail"
	case p.Error > 0:
		p.Class = "s-error"
	case p.Warn > 0:
		p.Class = "s-warn"
	}
}

func nounFor(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
