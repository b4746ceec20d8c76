package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/enrollsim/enrollsim/sim/check"
)

// An expectations file lists the findings a deployment is known to have, in
// the style of the OpenID conformance suite's expected-failure lists, so
// that a gate fails only on new findings:
//
//	expectations:
//	  - check: WK-004           # a check ID or pattern, as --checks
//	    case: "*/iphone@18.*"   # a pattern over case names; default *
//	    reason: JIRA-123, the CDN adds a charset
//	    expires: 2027-01-31     # optional: after this day it no longer applies
//
// It is read with the scenario files' walker, so its problems come with
// file:line:col, all of them at once.

var (
	expectationsFileKeys = []string{"expectations"}
	expectationKeys      = []string{"check", "case", "reason", "expires"}
)

// Expectations is a loaded expectations file.
type Expectations struct {
	File    string
	Entries []Expectation
}

// Expectation is one known finding: check pattern, case pattern, reason.
type Expectation struct {
	Check  string // upper-case check ID or pattern (path.Match, as --checks)
	Case   string // pattern over case names: * is any text (slashes too), ? one character
	Reason string
	// Expires is the last day the entry applies; zero means it never
	// expires.
	Expires   time.Time
	Line, Col int // where the entry starts in File
	caseRe    *regexp.Regexp
}

// String names the entry for messages: "WK-004 on */user (line 3)".
func (e Expectation) String() string {
	return fmt.Sprintf("%s on %s (line %d)", e.Check, e.Case, e.Line)
}

// MatchCase reports whether the entry covers the case.
func (e Expectation) MatchCase(name string) bool {
	if e.caseRe == nil {
		e.caseRe = casePattern(e.Case)
	}
	return e.caseRe.MatchString(name)
}

// MatchCheck reports whether the entry covers the check.
func (e Expectation) MatchCheck(id string) bool {
	return check.Filter{e.Check}.Match(strings.ToUpper(id))
}

// Expired reports whether the entry no longer applies on day now: it
// applies through the whole of its expiry day.
func (e Expectation) Expired(now time.Time) bool {
	if e.Expires.IsZero() {
		return false
	}
	y, m, d := now.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).After(e.Expires)
}

// Split returns the entries in force on day now and the expired ones.
func (x *Expectations) Split(now time.Time) (active, expired []Expectation) {
	for _, e := range x.Entries {
		if e.Expired(now) {
			expired = append(expired, e)
		} else {
			active = append(active, e)
		}
	}
	return active, expired
}

// Known returns the check patterns of the entries that cover the case, for
// sim.Expect.Known.
func Known(entries []Expectation, caseName string) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range entries {
		if e.MatchCase(caseName) && !seen[e.Check] {
			seen[e.Check] = true
			out = append(out, e.Check)
		}
	}
	return out
}

// Finding is a check that failed or warned in a case.
type Finding struct{ Case, Check string }

// Occurrences counts, per entry, the findings it covers.
func Occurrences(entries []Expectation, findings []Finding) []int {
	n := make([]int, len(entries))
	for i, e := range entries {
		for _, f := range findings {
			if e.MatchCase(f.Case) && e.MatchCheck(f.Check) {
				n[i]++
			}
		}
	}
	return n
}

// casePattern turns a case pattern into an anchored regexp: case names hold
// a slash (scenario/device, device/type), so * must cross it.
func casePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// LoadExpectations reads an expectations file; every problem of it is in
// the returned *Error.
func LoadExpectations(path string) (*Expectations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problems{readProblem(path, err)}.err()
	}
	return ParseExpectations(path, data)
}

// ParseExpectations reads an expectations file's bytes.
func ParseExpectations(file string, data []byte) (*Expectations, error) {
	var probs problems
	d := &decoder{file: file, probs: &probs, spoilt: map[*yaml.Node]bool{}}
	x := &Expectations{File: file}
	src := newSource(data)
	if p, bad := encodingProblem(file, data, src); bad {
		return nil, append(probs, p).err()
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			probs.add(file, position{1, 1}, "empty file: want expectations: with a list of known findings (check, case, reason, expires)")
		} else {
			probs = append(probs, yamlProblem(file, src, err))
		}
		return nil, probs.err()
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		probs.add(file, position{extra.Line, extra.Column}, "a second YAML document: put every known finding in the one expectations: list")
	case !errors.Is(err, io.EOF):
		probs = append(probs, yamlProblem(file, src, err))
	}
	if len(root.Content) == 0 {
		probs.add(file, position{1, 1}, "empty file: want expectations: with a list of known findings (check, case, reason, expires)")
		return nil, probs.err()
	}
	doc := root.Content[0]
	f, ok := d.mapping(doc, "the expectations file", "key", expectationsFileKeys)
	if ok {
		list := deref(f.get("expectations"))
		switch {
		case f.missing("expectations"):
			d.errf(doc, "the expectations file: no expectations: list (want expectations: [{check: WK-004, case: \"*\", reason: ...}])")
		case list == nil: // misspelt, and said so
		case isNull(list): // an empty list: nothing is known
		case list.Kind != yaml.SequenceNode:
			d.errf(list, "expectations: want a list of known findings, got %s", describe(list))
		default:
			for i, n := range list.Content {
				if e, ok := d.expectation(n, fmt.Sprintf("expectations[%d]", i)); ok {
					x.Entries = append(x.Entries, e)
				}
			}
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return x, nil
}

// expectation reads one entry; ok is false when it has a problem.
func (d *decoder) expectation(n *yaml.Node, ctx string) (Expectation, bool) {
	n = deref(n)
	before := len(*d.probs)
	e := Expectation{Case: "*", Line: n.Line, Col: n.Column}
	f, ok := d.mapping(n, ctx, "key", expectationKeys)
	if !ok {
		return e, false
	}
	if f.missing("check") {
		d.errf(n, "%s: no check: say which check ID (or pattern, e.g. WK-*) the deployment is known to trip", ctx)
	} else if v := f.get("check"); v != nil {
		if s, ok := d.str(v, ctx+".check"); ok {
			e.Check = strings.ToUpper(strings.TrimSpace(s))
			d.checkPattern(deref(v), ctx+".check", e.Check)
		}
	}
	if v := f.get("case"); v != nil {
		if s, ok := d.str(v, ctx+".case"); ok {
			if strings.TrimSpace(s) == "" {
				d.errf(deref(v), "%s.case: empty: give a case name or pattern such as alice-byod/* (or leave case out for every case)", ctx)
			}
			e.Case = s
		}
	}
	if f.missing("reason") {
		d.errf(n, "%s: no reason: say why the finding is accepted (a ticket, a vendor answer), so the list can be reviewed", ctx)
	} else if v := f.get("reason"); v != nil {
		if s, ok := d.str(v, ctx+".reason"); ok {
			if strings.TrimSpace(s) == "" {
				d.errf(deref(v), "%s.reason: empty: say why the finding is accepted", ctx)
			}
			e.Reason = strings.TrimSpace(s)
		}
	}
	if v := f.get("expires"); v != nil {
		v = deref(v)
		t, err := time.Parse(time.DateOnly, v.Value)
		if v.Kind != yaml.ScalarNode || err != nil {
			d.errf(v, "%s.expires %q: want a date YYYY-MM-DD, e.g. 2027-01-31 (the last day the entry applies)", ctx, v.Value)
		}
		e.Expires = t
	}
	e.caseRe = casePattern(e.Case)
	return e, len(*d.probs) == before
}

// checkPattern reports a check pattern that cannot match a finding.
func (d *decoder) checkPattern(n *yaml.Node, what, p string) {
	if strings.Contains(p, ",") {
		d.errf(n, "%s %q: one check or pattern per entry: give each check its own entry (each has its own reason)", what, p)
		return
	}
	if _, err := check.ParseFilter(p); err != nil {
		d.errf(n, "%s: %v", what, err)
		return
	}
	if spec, found := check.Lookup(p); found {
		switch {
		case !check.Implemented(p):
			d.errf(n, "%s: check %s is in the catalogue but not judged yet, so it never trips (accepted: the IDs 'enrollsim list checks' prints)", what, p)
		case spec.Level == check.Info:
			d.errf(n, "%s: %s is an INFO check: it is noted, never failed or warned, so it is no finding", what, p)
		}
		return
	}
	if strings.ContainsAny(p, "*?[") {
		for _, c := range check.Checks() {
			if check.Implemented(c.ID) && c.Level != check.Info && (check.Filter{p}).Match(c.ID) {
				return
			}
		}
		d.errf(n, "%s: pattern %s matches no check that can fail or warn", what, p)
	}
}
