package scenarios

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile reads a file holding one scenario, or a suite: `scenarios:` with
// a list and an optional name and description. opt.Getenv serves
// ${env:NAME} references. The suite is named after the file unless it says
// its name. Every problem of the file is in the returned *Error.
func LoadFile(path string, opt Options) (*Suite, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, problems{readProblem(path, err)}.err()
	}
	s, probs := parse(path, data, opt)
	checkDuplicates(s.Scenarios, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	setSuite(s)
	return s, nil
}

// LoadDir reads every *.yaml and *.yml file of a directory (not its
// subdirectories), in name order, as one suite named after the directory.
// Problems of all files come back together.
func LoadDir(dir string, opt Options) (*Suite, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, problems{readProblem(dir, err)}.err()
	}
	var names []string
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, problems{{File: dir, Msg: "no scenario files: the directory has no *.yaml or *.yml file"}}.err()
	}
	name := filepath.Base(filepath.Clean(dir))
	if abs, err := filepath.Abs(dir); err == nil {
		name = filepath.Base(abs)
	}
	suite := &Suite{Name: name}
	var probs problems
	for _, n := range names {
		path := filepath.Join(dir, n)
		data, err := os.ReadFile(path)
		if err != nil {
			probs = append(probs, readProblem(path, err))
			continue
		}
		s, p := parse(path, data, opt)
		probs = append(probs, p...)
		suite.Scenarios = append(suite.Scenarios, s.Scenarios...)
	}
	checkDuplicates(suite.Scenarios, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	setSuite(suite)
	return suite, nil
}

// Load reads a built-in suite by name, a scenario file or a directory of
// them. A built-in name wins over a file of the same name: say ./demo for a
// directory called demo.
func Load(arg string, opt Options) (*Suite, error) {
	if _, ok := builtinSuites[arg]; ok {
		return BuiltInSuite(arg, opt)
	}
	fi, err := os.Stat(arg)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, problems{{File: arg, Msg: "no such file or directory, and no built-in suite of that name" + accepted(builtinNames())}}.err()
		}
		return nil, problems{readProblem(arg, err)}.err()
	}
	if fi.IsDir() {
		return LoadDir(arg, opt)
	}
	return LoadFile(arg, opt)
}

func readProblem(path string, err error) Problem {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return Problem{File: path, Msg: "cannot read: " + err.Error()}
}

func setSuite(s *Suite) {
	for i := range s.Scenarios {
		s.Scenarios[i].Suite = s.Name
	}
}

// parse reads one file's bytes. The suite it returns is usable only when
// the problems are empty.
func parse(file string, data []byte, opt Options) (*Suite, problems) {
	getenv := opt.getenv()
	var probs problems
	d := &decoder{file: file, probs: &probs, spoilt: map[*yaml.Node]bool{}, faults: opt.faultNames()}
	suite := &Suite{Name: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))}

	src := newSource(data)
	whole := position{1, 1} // problems of the whole file point at its start
	if p, bad := encodingProblem(file, data, src); bad {
		return suite, append(probs, p)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			probs.add(file, whole, "empty file: want a scenario (name, device, account...) or a suite (scenarios: [...])")
		} else {
			probs = append(probs, yamlProblem(file, src, err))
		}
		return suite, probs
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		probs.add(file, position{extra.Line, extra.Column}, "a second YAML document: a file holds one scenario or one suite (put several scenarios under scenarios:)")
	case !errors.Is(err, io.EOF):
		probs = append(probs, yamlProblem(file, src, err))
	}
	if len(root.Content) == 0 {
		probs.add(file, whole, "empty file: want a scenario (name, device, account...) or a suite (scenarios: [...])")
		return suite, probs
	}
	doc := root.Content[0]
	substitute(d, doc, getenv, map[*yaml.Node]bool{})

	if isSuiteFile(doc) {
		d.suiteFile(doc, suite)
	} else {
		suite.Scenarios = append(suite.Scenarios, d.scenario(doc))
	}
	return suite, probs
}

func isSuiteFile(n *yaml.Node) bool {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "scenarios" {
			return true
		}
	}
	return false
}

var envRef = regexp.MustCompile(`\$\{env:([^}]*)\}`)

// substitute replaces ${env:NAME} in every scalar value (not in keys). An
// unset or empty variable is a problem naming it. A plain scalar is typed
// again after substitution, so `digits: ${env:DIGITS}` can be a number.
func substitute(d *decoder, n *yaml.Node, getenv func(string) string, seen map[*yaml.Node]bool) {
	if n == nil || seen[n] {
		return
	}
	seen[n] = true
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			substitute(d, c, getenv, seen)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			substitute(d, n.Content[i], getenv, seen)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${env:") {
			return
		}
		failed := false
		value := envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v := ""
			if !envNamePattern.MatchString(name) {
				d.errf(n, "%s: want ${env:NAME}, NAME of letters, digits and _", ref)
				failed = true
			} else if v = getenv(name); v == "" {
				d.errf(n, "%s: the environment variable %s is not set (or empty)", ref, name)
				failed = true
			}
			return v
		})
		if failed {
			d.spoilt[n] = true
			return
		}
		n.Value = value
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 && n.Tag == "!!str" {
			n.Tag = ""
		}
	}
}

// checkDuplicates reports scenario names used twice in a suite.
func checkDuplicates(scs []Scenario, probs *problems) {
	first := map[string]Scenario{}
	for _, s := range scs {
		if s.Name == "" {
			continue
		}
		if prev, dup := first[s.Name]; dup {
			probs.add(s.File, s.pos("name"), "duplicate scenario name %q (first at %s:%d): names identify cases in reports", s.Name, prev.File, prev.pos("name").line)
			continue
		}
		first[s.Name] = s
	}
}

// pos is where a key's value was, or the scenario's start.
func (s Scenario) pos(key string) position {
	if p, ok := s.at[key]; ok {
		return p
	}
	return position{s.Line, s.col}
}
