package check

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Level is how much a check matters (spec §4).
type Level string

// Check levels.
const (
	Must   Level = "MUST"
	Should Level = "SHOULD"
	Info   Level = "INFO"
)

// Spec is one catalogue entry: a requirement a server must meet.
type Spec struct {
	ID      string `json:"id"`
	Level   Level  `json:"level"`
	Starred bool   `json:"starred"` // basis is observation or inference only: a violation warns
	Group   string `json:"group"`
	Rule    string `json:"rule"`
	Source  string `json:"source"`
}

// Status is the outcome of one check in one case.
type Status string

// Check statuses. Info is a noted observation of an INFO-level check (or an
// INFO-rated sub-case of a MUST); it never counts against a server.
const (
	Pass  Status = "pass"
	Fail  Status = "fail"
	Warn  Status = "warn"
	Skip  Status = "skip"
	Error Status = "error"
	Noted Status = "info"
)

// Result is one judged check.
type Result struct {
	ID       string `json:"id"`
	Level    Level  `json:"level"`
	Status   Status `json:"status"`
	Rule     string `json:"rule"`
	Source   string `json:"source"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Detail   string `json:"detail,omitempty"`
}

// Link is one reference of a check's Source that a report can link: a
// label as the source names it ("S14", "RFC 8555") and where it is.
type Link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// Tripped reports whether the result counts against the server.
func (r Result) Tripped() bool { return r.Status == Fail || r.Status == Warn }

// implemented lists the catalogue IDs the engine judges today. Others are in
// the catalogue (so `list checks --all` shows the whole spec) but never run.
var implemented = map[string]bool{}

func init() {
	for _, id := range strings.Fields(`
		WK-001 WK-002 WK-003 WK-004 WK-005 WK-006 WK-007 WK-008 WK-009 WK-010
		WK-011 WK-012 WK-013 WK-014 WK-015 WK-016 WK-017
		RD-001 RD-002 RD-003 RD-004 RD-005
		ABM-001 ABM-002 ABM-003 ABM-004 ABM-005 ABM-006 ABM-007 ABM-008 ABM-009
		ENR-001 ENR-002 ENR-003 ENR-004 ENR-005 ENR-006 ENR-007 ENR-008 ENR-009
		ENR-010 ENR-011 ENR-012 ENR-013
		AUTH-001 AUTH-002 AUTH-003 AUTH-004 AUTH-005 AUTH-006 AUTH-007 AUTH-008
		AUTH-009 AUTH-010 AUTH-011 AUTH-012 AUTH-013 AUTH-014 AUTH-015 AUTH-016 AUTH-017
		TOTP-001 TOTP-002 TOTP-003 TOTP-004 TOTP-005 TOTP-006
		TOK-001 TOK-002 TOK-003 TOK-004 TOK-005 TOK-008
		CHK-002 CHK-003 CHK-004 CHK-005 CHK-006 CHK-007 CHK-008 CHK-009 CHK-010 CHK-011 CHK-012
		TOK-006 TOK-007 TOK-009
		PROF-001 PROF-002 PROF-003 PROF-004 PROF-005 PROF-006 PROF-007 PROF-008 PROF-009
		PROF-010 PROF-011 PROF-012 PROF-013 PROF-014 PROF-015 PROF-016 PROF-017 PROF-018 PROF-019
		CHK-001
		SEC-001 SEC-002 SEC-003 SEC-004 SEC-005 SEC-006
		CMD-001 CMD-002 CMD-003
		ESSO-001 ESSO-002 ESSO-003 ESSO-004 ESSO-005
		DDM-001 DDM-002 DDM-003 DDM-004 DDM-005 DDM-006 DDM-007 DDM-008 DDM-009
		PUSH-001 PUSH-002 PUSH-003 PUSH-004 PUSH-005 PUSH-006`) {
		implemented[id] = true
	}
	for id := range implemented {
		if _, ok := Lookup(id); !ok {
			panic("implemented check " + id + " is not in the catalogue")
		}
	}
}

// Checks returns the catalogue entries the engine judges, in catalogue order.
func Checks() []Spec {
	var out []Spec
	for _, c := range checkCatalogue() {
		if implemented[c.ID] {
			out = append(out, c)
		}
	}
	return out
}

// AllChecks returns the whole catalogue, including checks not judged yet.
func AllChecks() []Spec { return checkCatalogue() }

// checkCatalogue is the digest's catalogue followed by the checks beyond it.
func checkCatalogue() []Spec { return slices.Concat(specCatalogue, beyondDigest) }

// Implemented reports whether the engine judges a check.
func Implemented(id string) bool { return implemented[id] }

// Lookup finds a catalogue entry by ID.
func Lookup(id string) (Spec, bool) {
	for _, c := range beyondDigest {
		if c.ID == id {
			return c, true
		}
	}
	for _, c := range specCatalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Spec{}, false
}

// Filter selects checks by ID patterns such as "WK-*,AUTH-003".
type Filter []string

// ParseFilter validates a comma-separated list of IDs or globs; every
// pattern must match at least one catalogue check, so typos are caught.
func ParseFilter(s string) (Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var f Filter
	for _, p := range strings.Split(s, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("check pattern %q: %v (want check IDs like WK-001 or patterns like WK-*, comma-separated)", p, err)
		}
		matched := false
		for _, c := range checkCatalogue() {
			if ok, _ := path.Match(p, c.ID); ok {
				matched = true
				break
			}
		}
		if !matched {
			return nil, fmt.Errorf("check pattern %q matches no check; see `enrollsim list checks` (IDs look like WK-001, patterns like WK-*)", p)
		}
		f = append(f, p)
	}
	return f, nil
}

// Match reports whether the filter selects id; an empty filter selects all.
func (f Filter) Match(id string) bool {
	if len(f) == 0 {
		return true
	}
	for _, p := range f {
		if ok, _ := path.Match(p, id); ok {
			return true
		}
	}
	return false
}

// Verdict turns a raw verdict into a Result with the catalogue's level rules:
// a violated SHOULD or starred MUST warns; a violated INFO is only noted.
func Verdict(id string, ok bool, expected, actual string) Result {
	spec, found := Lookup(id)
	if !found {
		panic("check.Verdict: unknown check " + id)
	}
	r := Result{ID: id, Level: spec.Level, Rule: spec.Rule, Source: spec.Source, Status: Pass}
	if ok {
		return r
	}
	r.Expected, r.Actual = expected, actual
	switch {
	case spec.Level == Info:
		r.Status = Noted
	case spec.Level == Should || spec.Starred:
		r.Status = Warn
	default:
		r.Status = Fail
	}
	return r
}

// With is a result of a status other than a judged pass or failure: a skip
// with its reason, a noted observation, or an error (the tester could not
// judge).
func With(id string, st Status, detail string) Result {
	spec, _ := Lookup(id)
	return Result{ID: id, Level: spec.Level, Rule: spec.Rule, Source: spec.Source, Status: st, Detail: detail}
}
