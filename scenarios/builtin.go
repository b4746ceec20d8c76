package scenarios

import (
	"embed"
	"fmt"
	"slices"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
)

//go:embed suites/*.yaml
var suiteFiles embed.FS

//go:embed schema.json
var schema []byte

// Schema is the JSON Schema (draft 2020-12) of scenario and suite files.
func Schema() []byte { return slices.Clone(schema) }

// builtinSuites maps each built-in suite to its loader.
var builtinSuites = map[string]func(Options) (*Suite, error){
	"demo":        func(o Options) (*Suite, error) { return embeddedSuite("demo", o) },
	"conformance": func(o Options) (*Suite, error) { return embeddedSuite("conformance", o) },
	"thresholds":  func(o Options) (*Suite, error) { return embeddedSuite("thresholds", o) },
	"tls27":       func(o Options) (*Suite, error) { return embeddedSuite("tls27", o) },
	"negative":    negativeSuite,
}

func builtinNames() []string {
	var names []string
	for n := range builtinSuites {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// SuiteInfo describes a built-in suite for `enrollsim list scenarios`.
type SuiteInfo struct {
	Name        string
	Description string
	Scenarios   int // scenarios in the suite
	Cases       int // cases they expand to
}

// BuiltIn lists the built-in suites by name.
func BuiltIn(opt Options) []SuiteInfo {
	var out []SuiteInfo
	for _, name := range builtinNames() {
		s, err := BuiltInSuite(name, opt)
		if err != nil {
			// The tests load every built-in suite; this cannot happen in a
			// tested build.
			panic(err)
		}
		info := SuiteInfo{Name: s.Name, Description: s.Description, Scenarios: len(s.Scenarios)}
		for _, sc := range s.Scenarios {
			ds, _ := sc.Expand()
			info.Cases += len(ds)
		}
		out = append(out, info)
	}
	return out
}

// BuiltInSuite loads a built-in suite by name.
func BuiltInSuite(name string, opt Options) (*Suite, error) {
	load, ok := builtinSuites[name]
	if !ok {
		return nil, problems{{File: name, Msg: "no built-in suite of that name" + accepted(builtinNames())}}.err()
	}
	return load(opt)
}

func embeddedSuite(name string, opt Options) (*Suite, error) {
	file := "suites/" + name + ".yaml"
	data, err := suiteFiles.ReadFile(file)
	if err != nil {
		return nil, problems{readProblem(file, err)}.err()
	}
	// Built-in suites are hermetic: no ${env:...} is served.
	opt.Getenv = func(string) string { return "" }
	s, probs := parse(file, data, opt)
	checkDuplicates(s.Scenarios, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	s.BuiltIn = true
	setSuite(s)
	return s, nil
}

// negativeSuite plays each fault of opt.Faults on its probe device with its
// account and expects the checks it must trip. INFO checks are left out:
// they are noted, never failed. A fault whose every check is INFO
// (otp-needs-javascript) stops the sign-in without a check to name, so its
// scenario does not expect the account to enroll: the report would
// otherwise count the unexplained failure against the case. A fault that
// trips AUTH-017 plays with the form driver.
func negativeSuite(opt Options) (*Suite, error) {
	if len(opt.Faults) == 0 {
		return nil, problems{{File: "negative", Msg: "the negative suite is one scenario per fault of the embedded server, and no faults were given (scenarios.Options.Faults)"}}.err()
	}
	s := &Suite{
		Name:        "negative",
		Description: "one scenario per reference-server fault: its probe device and account against the embedded server with only that fault, expecting the checks it must trip",
		BuiltIn:     true,
	}
	for _, f := range opt.Faults {
		typ := f.Type
		if typ == "" {
			typ = sim.TypeUser
		}
		var fail []string
		for _, id := range f.Trips {
			if spec, ok := check.Lookup(id); ok && spec.Level == check.Info {
				continue
			}
			fail = append(fail, id)
		}
		enroll := len(fail) > 0 || len(f.Trips) == 0
		outcome := OutcomeAny
		if f.Outcome != "" {
			outcome = f.Outcome
		}
		// The JavaScript pages' faults need the browser.
		login := sim.LoginFields{Driver: f.Driver}
		if slices.Contains(f.Trips, "AUTH-017") {
			// A fault that only a browser can sign in through is about the
			// form driver's verdict: pin it, or a run with Chromium would
			// enroll.
			login.Driver = sim.DriverForm
		}
		s.Scenarios = append(s.Scenarios, Scenario{
			Name:        f.Name,
			Description: f.Doc,
			Tags:        []string{"negative"},
			Device:      f.Probe,
			Type:        typ,
			Account:     Account{Identifier: f.Account},
			Target:      Target{Embedded: true, Faults: []string{f.Name}},
			Probes:      true,
			Login:       login,
			Expect:      Expect{Outcome: outcome, Enroll: enroll, Fail: fail},
			Suite:       s.Name,
			File:        fmt.Sprintf("built-in negative suite (fault %s)", f.Name),
		})
	}
	return s, nil
}
