package scenarios

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/enrollsim/enrollsim/route"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// The walker reads the yaml.Node tree itself rather than decoding into
// structs with KnownFields: every problem of a file is reported, each with
// its position, instead of the first one in yaml.v3's words.

var (
	namePattern    = regexp.MustCompile(`^[a-z0-9._-]+$`)
	envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// requestTypePattern is the shape of an MDM command's RequestType.
	requestTypePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.]{0,63}$`)
)

var (
	suiteKeys    = []string{"name", "description", "scenarios"}
	scenarioKeys = []string{"name", "description", "tags", "device", "devices", "matrix", "type", "account", "target",
		"device_options", "login", "replay_body", "probes", "discovery_only", "until", "poll", "stay", "actions", "expect"}
	matrixKeys  = []string{"families", "versions"}
	accountKeys = []string{"identifier", "username", "password_env", "password_file", "totp_secret_env", "totp_secret_file",
		"totp", "managed_apple_id"}
	totpKeys          = []string{"digits", "period", "algorithm", "offset", "wrong"}
	targetKeys        = []string{"embedded", "server", "axm"}
	axmKeys           = []string{"serve", "listen", "state", "server", "wait", "default", "withdraw", "restore", "refuse_first"}
	embeddedKeys      = []string{"faults", "ddm"}
	serverKeys        = []string{"base_url", "resolve", "connect_to", "cacert", "stock_ca", "axm_url", "timeout", "admin_queue", "admin_declarations"}
	actionKeys        = []string{"after", "queue", "keys", "within"}
	deviceOptionKeys  = []string{"exactly_one_at", "omit_model_family", "no_fallback_on_rejection", "form_encoded_body", "append_login_query", "locked"}
	loginKeys         = []string{"form", "username", "password", "otp", "submit", "fields", "driver"}
	expectKeys        = []string{"outcome", "enroll", "fail", "steps", "commands"}
	typeValues        = []string{"user", "device", "auto"}
	untilValues       = []string{string(event.UntilProfile), string(event.UntilIdentity), string(event.UntilCheckIn), string(event.UntilCommands), string(event.UntilDDM)}
	familyValues      = []string{"iphone", "ipad", "mac", "vision", "all"}
	matrixAllFamilies = []device.Family{device.IPhone, device.IPad, device.Mac, device.RealityDevice}
)

// requestTypes are the commands a server commonly sends first; the
// simulator answers the first five as a device does, others with NotNow
// or Error.
var requestTypes = []string{"DeviceInformation", "ProfileList", "InstalledApplicationList", "SecurityInfo", "CertificateList",
	"ProvisioningProfileList", "ManagedApplicationList", "DeclarativeManagement", "InstallProfile", "RemoveProfile",
	"InstallApplication", "Settings", "RestrictionsList", "AvailableOSUpdates"}

// Limits of one file. Aliases let a few bytes name a scenario or a value
// many times over, so the limits count what the walker would visit, not
// what the file spells out; past them it stops with a problem.
const (
	maxScenarios = 5000
	maxListItems = 1000
	maxProblems  = 200
)

// decoder walks one file's nodes and collects its problems.
type decoder struct {
	file  string
	probs *problems
	// spoilt are nodes whose ${env:...} could not be replaced: their one
	// problem is said, and nothing else is reported about them.
	spoilt map[*yaml.Node]bool
	// faults are the fault names the embedded server knows.
	faults []string
}

func pos(n *yaml.Node) position { return position{n.Line, n.Column} }

func (d *decoder) errf(n *yaml.Node, format string, args ...any) {
	if d.spoilt[n] {
		return
	}
	d.probs.add(d.file, pos(n), format, args...)
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "the boolean " + n.Value
		case "!!int", "!!float":
			return "the number " + n.Value
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "something else"
}

// fields are the keys of one mapping.
type fields struct {
	values map[string]*yaml.Node
	keys   map[string]*yaml.Node
	order  []string
	// suggested are known keys an unknown key was taken for: a typo of a
	// required key is reported once, not also as a missing key.
	suggested map[string]bool
}

// missing reports whether a key is absent and was not merely misspelt.
func (f *fields) missing(k string) bool { return f.values[k] == nil && !f.suggested[k] }

func (f *fields) get(k string) *yaml.Node {
	if f == nil {
		return nil
	}
	return f.values[k]
}

// mapping reads a mapping (null counts as empty), reporting keys outside
// known (with the closest known one) and keys given twice. noun names the
// keys in messages: key, step or fact.
func (d *decoder) mapping(n *yaml.Node, ctx, noun string, known []string) (*fields, bool) {
	n = deref(n)
	f := &fields{values: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}, suggested: map[string]bool{}}
	if isNull(n) {
		return f, true
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: want a mapping with keys such as %s, got %s", ctx, strings.Join(first(known, 3), ", "), describe(n))
		return nil, false
	}
	if len(n.Content)/2 > maxListItems {
		d.errf(n, "%s: %d keys; a mapping may have at most %d", ctx, len(n.Content)/2, maxListItems)
		return nil, false
	}
	var merges []*yaml.Node
	add := func(k, v *yaml.Node, merged bool) {
		if k.Kind != yaml.ScalarNode {
			d.errf(k, "%s: a key must be a plain name, got %s", ctx, describe(k))
			return
		}
		name := k.Value
		if known != nil && !contains(known, name) {
			d.errf(k, "unknown %s %q in %s%s%s", noun, name, ctx, didYouMean(name, known), accepted(known))
			if m := suggest(name, known); m != "" {
				f.suggested[m] = true
			}
			return
		}
		if prev, dup := f.keys[name]; dup {
			if !merged {
				d.errf(k, "%s: %s %q given twice (first at line %d)", ctx, noun, name, prev.Line)
			}
			return
		}
		f.values[name], f.keys[name] = v, k
		f.order = append(f.order, name)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		add(k, v, false)
	}
	// Merge keys (<<: *anchor) fill in what the mapping does not say.
	for _, m := range merges {
		m = deref(m)
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			srcs = m.Content
		}
		for _, src := range srcs {
			src = deref(src)
			if src.Kind != yaml.MappingNode {
				d.errf(src, "%s: << merges a mapping, got %s", ctx, describe(src))
				continue
			}
			for i := 0; i+1 < len(src.Content); i += 2 {
				add(src.Content[i], src.Content[i+1], true)
			}
		}
	}
	return f, true
}

// str reads a scalar as text; numbers are kept as written (17.5, 0042).
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float":
			return n.Value, true
		}
	}
	d.errf(n, "%s: want a string, got %s", what, describe(n))
	return "", false
}

type item struct {
	value string
	node  *yaml.Node
}

// strList reads a list of strings (null is an empty list).
func (d *decoder) strList(n *yaml.Node, what string) ([]item, bool) {
	n = deref(n)
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "%s: want a list of strings, e.g. [a, b], got %s", what, describe(n))
		return nil, false
	}
	if len(n.Content) > maxListItems {
		d.errf(n, "%s: %d items; a list may have at most %d", what, len(n.Content), maxListItems)
		return nil, false
	}
	var out []item
	ok := true
	for i, c := range n.Content {
		v, good := d.str(c, fmt.Sprintf("%s[%d]", what, i))
		if !good {
			ok = false
			continue
		}
		out = append(out, item{v, deref(c)})
	}
	return out, ok
}

func (d *decoder) boolean(n *yaml.Node, what string) (bool, bool) {
	n = deref(n)
	var b bool
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" && n.Decode(&b) == nil {
		return b, true
	}
	d.errf(n, "%s: want true or false, got %s", what, describe(n))
	return false, false
}

func (d *decoder) integer(n *yaml.Node, what string) (int, bool) {
	n = deref(n)
	var i int
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" && n.Decode(&i) == nil {
		return i, true
	}
	d.errf(n, "%s: want a whole number, got %s", what, describe(n))
	return 0, false
}

func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		d.errf(deref(n), "%s %q: want a positive duration such as 30s, 1m30s or 500ms (units: ms, s, m, h)", what, s)
		return 0, false
	}
	return v, true
}

func (d *decoder) enum(n *yaml.Node, what string, values []string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !contains(values, s) {
		d.errf(deref(n), "%s %q: not a known value%s%s", what, s, didYouMean(s, values), accepted(values))
		return "", false
	}
	return s, true
}

// envName reads the name of an environment variable.
func (d *decoder) envName(n *yaml.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !envNamePattern.MatchString(s) {
		d.errf(deref(n), "%s %q: want the name of an environment variable (letters, digits, _), not its value", what, s)
		return "", false
	}
	return s, true
}

// httpsURL reads an absolute https URL.
func (d *decoder) httpsURL(n *yaml.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		d.errf(deref(n), "%s %q: want an absolute https URL, e.g. https://mdm.example.com", what, s)
		return "", false
	}
	return s, true
}

// oneOf reports all but the first of keys that exclude each other.
func (d *decoder) oneOf(f *fields, ctx string, keys ...string) []string {
	var given []string
	for _, k := range f.order {
		if contains(keys, k) {
			given = append(given, k)
		}
	}
	for _, k := range given[min(1, len(given)):] {
		d.errf(f.keys[k], "%s: %s and %s both given: choose one%s", ctx, given[0], k, accepted(keys))
	}
	return given
}

// suiteFile reads a file that holds `scenarios:`.
func (d *decoder) suiteFile(root *yaml.Node, s *Suite) {
	f, ok := d.mapping(root, "suite", "key", suiteKeys)
	if !ok {
		return
	}
	if n := f.get("name"); n != nil {
		if name, ok := d.str(n, "name"); ok {
			if !namePattern.MatchString(name) {
				d.errf(deref(n), "name %q: use lower-case letters, digits, '.', '_' and '-' (pattern [a-z0-9._-]+)", name)
			}
			s.Name = name
		}
	}
	if n := f.get("description"); n != nil {
		s.Description, _ = d.str(n, "description")
	}
	list := deref(f.get("scenarios"))
	if list.Kind != yaml.SequenceNode {
		d.errf(list, "scenarios: want a list of scenarios (each a mapping with name, device, account...), got %s", describe(list))
		return
	}
	if len(list.Content) == 0 {
		d.errf(list, "scenarios: the list is empty")
	}
	if len(list.Content) > maxScenarios {
		d.errf(list, "scenarios: %d scenarios; a file may have at most %d (split the suite into a directory of files)", len(list.Content), maxScenarios)
		return
	}
	for _, c := range list.Content {
		s.Scenarios = append(s.Scenarios, d.scenario(c))
	}
}

// scenario reads one scenario mapping.
func (d *decoder) scenario(n *yaml.Node) Scenario {
	n = deref(n)
	s := Scenario{
		File: d.file, Line: n.Line, col: n.Column, Type: sim.TypeAuto, Probes: true,
		Target: Target{Embedded: true},
		Expect: Expect{Outcome: OutcomeAuto, Enroll: true},
		at:     map[string]position{},
	}
	f, ok := d.mapping(n, "scenario", "key", scenarioKeys)
	if !ok {
		return s
	}
	if v := f.get("name"); v != nil {
		if name, ok := d.str(v, "name"); ok {
			if !namePattern.MatchString(name) {
				d.errf(deref(v), "name %q: use lower-case letters, digits, '.', '_' and '-' (pattern [a-z0-9._-]+)", name)
			}
			s.Name = name
			s.at["name"] = pos(deref(v))
		}
	} else if f.missing("name") {
		d.errf(n, "scenario: missing name (a [a-z0-9._-]+ name such as byod-iphone)")
	}
	if v := f.get("description"); v != nil {
		s.Description, _ = d.str(v, "description")
	}
	if v := f.get("tags"); v != nil {
		items, _ := d.strList(v, "tags")
		for _, it := range items {
			s.Tags = append(s.Tags, it.value)
		}
	}
	d.devices(f, n, &s)
	if v := f.get("type"); v != nil {
		if t, ok := d.enum(v, "type", typeValues); ok {
			s.Type, _ = sim.ParseEnrollmentType(t)
		}
	}
	if v := f.get("account"); v != nil {
		d.account(f.keys["account"], v, &s)
	} else if f.missing("account") {
		d.errf(n, "scenario: missing account (account: {identifier: alice@acme.test})")
	}
	if v := f.get("target"); v != nil {
		d.target(v, &s)
	}
	if v := f.get("device_options"); v != nil {
		d.deviceOptions(v, &s.Options)
	}
	if v := f.get("login"); v != nil {
		d.login(v, &s.Login)
	}
	if v := f.get("replay_body"); v != nil {
		if p, ok := d.str(v, "replay_body"); ok {
			s.ReplayBody = p
			s.at["replay_body"] = pos(deref(v))
		}
	}
	if v := f.get("probes"); v != nil {
		if b, ok := d.boolean(v, "probes"); ok {
			s.Probes = b
		}
	}
	if v := f.get("discovery_only"); v != nil {
		s.DiscoveryOnly, _ = d.boolean(v, "discovery_only")
	}
	if v := f.get("until"); v != nil {
		d.until(v, &s)
	}
	d.poll(f, &s)
	if v := f.get("actions"); v != nil {
		d.actions(v, &s)
	}
	if v := f.get("expect"); v != nil {
		d.expect(v, &s)
	}
	return s
}

// devices reads device, devices or matrix.
func (d *decoder) devices(f *fields, n *yaml.Node, s *Scenario) {
	given := d.oneOf(f, "scenario", "device", "devices", "matrix")
	if len(given) == 0 && f.missing("device") && f.missing("devices") && f.missing("matrix") {
		d.errf(n, "scenario: no device: say device: iphone@18.2, devices: [...] or matrix: {...}%s", accepted([]string{"device", "devices", "matrix"}))
	}
	if v := f.get("device"); v != nil {
		if ref, ok := d.str(v, "device"); ok {
			if _, err := device.LookupDevice(ref); err != nil {
				d.errf(deref(v), "%v", err)
			}
			s.Device = strings.TrimSpace(ref)
		}
	}
	if v := f.get("devices"); v != nil {
		items, ok := d.strList(v, "devices")
		if ok && len(items) == 0 {
			d.errf(deref(v), "devices: the list is empty")
		}
		seen := map[string]int{}
		for _, it := range items {
			ref := strings.TrimSpace(it.value)
			if _, err := device.LookupDevice(ref); err != nil {
				d.errf(it.node, "%v", err)
			}
			if line, dup := seen[strings.ToLower(ref)]; dup {
				d.errf(it.node, "devices: %q listed twice (first at line %d)", ref, line)
			}
			seen[strings.ToLower(ref)] = it.node.Line
			s.Devices = append(s.Devices, ref)
		}
	}
	if v := f.get("matrix"); v != nil {
		s.Matrix = d.matrix(v)
	}
}

func (d *decoder) matrix(n *yaml.Node) *Matrix {
	m := &Matrix{}
	f, ok := d.mapping(n, "matrix", "key", matrixKeys)
	if !ok {
		return m
	}
	for _, k := range matrixKeys {
		if f.missing(k) {
			d.errf(deref(n), "matrix: missing %s (matrix: {families: [iphone, ipad, mac, vision], versions: [catalogue]})", k)
		}
	}
	if v := f.get("families"); v != nil {
		items, ok := d.strList(v, "matrix.families")
		if ok && len(items) == 0 {
			d.errf(deref(v), "matrix.families: the list is empty")
		}
		seen := map[string]bool{}
		for _, it := range items {
			fam := strings.ToLower(strings.TrimSpace(it.value))
			if !contains(familyValues, fam) {
				d.errf(it.node, "matrix.families: unknown family %q%s%s", it.value, didYouMean(fam, familyValues), accepted(familyValues))
				continue
			}
			if seen[fam] {
				d.errf(it.node, "matrix.families: %q listed twice", fam)
			}
			seen[fam] = true
			m.Families = append(m.Families, fam)
		}
	}
	if v := f.get("versions"); v != nil {
		items, ok := d.strList(v, "matrix.versions")
		if ok && len(items) == 0 {
			d.errf(deref(v), "matrix.versions: the list is empty")
		}
		seen := map[string]bool{}
		for _, it := range items {
			ver := strings.TrimSpace(it.value)
			if ver != VersionsCatalogue {
				pv, err := device.ParseVersion(ver)
				if err != nil {
					d.errf(it.node, "matrix.versions: %v, or catalogue for every catalogue version", err)
					continue
				}
				ver = pv.String()
			}
			if seen[ver] {
				d.errf(it.node, "matrix.versions: %q listed twice", it.value)
			}
			seen[ver] = true
			m.Versions = append(m.Versions, strings.TrimSpace(it.value))
		}
	}
	return m
}

func (d *decoder) account(key, n *yaml.Node, s *Scenario) {
	a := &s.Account
	f, ok := d.mapping(n, "account", "key", accountKeys)
	if !ok {
		return
	}
	if v := f.get("identifier"); v != nil {
		if id, ok := d.str(v, "account.identifier"); ok {
			if strings.TrimSpace(id) == "" {
				d.errf(deref(v), "account.identifier: empty; want what the user types, e.g. alice@acme.test")
			}
			a.Identifier = id
		}
	} else if f.missing("identifier") {
		d.errf(key, "account: missing identifier (what the user types on the device, e.g. identifier: alice@acme.test)")
	}
	if v := f.get("username"); v != nil {
		a.Username, _ = d.str(v, "account.username")
	}
	if v := f.get("managed_apple_id"); v != nil {
		a.ManagedAppleID, _ = d.str(v, "account.managed_apple_id")
	}
	d.oneOf(f, "account", "password_env", "password_file")
	d.oneOf(f, "account", "totp_secret_env", "totp_secret_file")
	for _, ref := range []struct {
		key string
		dst *string
		env bool
	}{
		{"password_env", &a.PasswordEnv, true}, {"password_file", &a.PasswordFile, false},
		{"totp_secret_env", &a.TOTPSecretEnv, true}, {"totp_secret_file", &a.TOTPSecretFile, false},
	} {
		v := f.get(ref.key)
		if v == nil {
			continue
		}
		var val string
		var ok bool
		if ref.env {
			val, ok = d.envName(v, "account."+ref.key)
		} else {
			val, ok = d.str(v, "account."+ref.key)
		}
		if ok {
			*ref.dst = val
			s.at["account."+ref.key] = pos(deref(v))
		}
	}
	if v := f.get("totp"); v != nil {
		d.totp(v, &a.TOTP)
	}
}

func (d *decoder) totp(n *yaml.Node, o *sim.TOTPOptions) {
	f, ok := d.mapping(n, "account.totp", "key", totpKeys)
	if !ok {
		return
	}
	// Each option is checked alone so that its problem points at its line.
	check := func(v *yaml.Node, what string, one sim.TOTPOptions) {
		if _, err := one.Check(); err != nil {
			d.errf(deref(v), "account.totp.%s: %v", what, err)
		}
	}
	if v := f.get("digits"); v != nil {
		if n, ok := d.integer(v, "account.totp.digits"); ok {
			o.Digits = n
			if n == 0 {
				d.errf(deref(v), "account.totp.digits: want 6 or 8, got 0")
			} else {
				check(v, "digits", sim.TOTPOptions{Digits: n})
			}
		}
	}
	if v := f.get("period"); v != nil {
		if p, ok := d.duration(v, "account.totp.period"); ok {
			o.Period = p
			check(v, "period", sim.TOTPOptions{Period: p})
		}
	}
	if v := f.get("algorithm"); v != nil {
		if alg, ok := d.str(v, "account.totp.algorithm"); ok {
			o.Algorithm = alg
			check(v, "algorithm", sim.TOTPOptions{Algorithm: alg})
		}
	}
	if v := f.get("offset"); v != nil {
		o.Offset, _ = d.integer(v, "account.totp.offset")
	}
	if v := f.get("wrong"); v != nil {
		o.Wrong, _ = d.boolean(v, "account.totp.wrong")
	}
}

func (d *decoder) target(n *yaml.Node, s *Scenario) {
	f, ok := d.mapping(n, "target", "key", targetKeys)
	if !ok {
		return
	}
	given := d.oneOf(f, "target", "embedded", "server")
	if len(given) > 0 && given[0] == "server" {
		s.Target.Embedded = false
	}
	if v := f.get("embedded"); v != nil {
		ef, ok := d.mapping(v, "target.embedded", "key", embeddedKeys)
		if ok && ef.get("ddm") != nil {
			on, _ := d.boolean(ef.get("ddm"), "target.embedded.ddm")
			s.Target.DDM = on && given[0] == "embedded"
		}
		if ok && ef.get("faults") != nil {
			items, _ := d.strList(ef.get("faults"), "target.embedded.faults")
			known := d.faults
			seen := map[string]bool{}
			for _, it := range items {
				if !contains(known, it.value) {
					d.errf(it.node, "target.embedded.faults: unknown fault %q%s (accepted: the names 'enrollsim list faults' prints, e.g. wellknown-404)", it.value, didYouMean(it.value, known))
					continue
				}
				if seen[it.value] {
					d.errf(it.node, "target.embedded.faults: %q listed twice", it.value)
				}
				seen[it.value] = true
				if given[0] == "embedded" {
					s.Target.Faults = append(s.Target.Faults, it.value)
				}
			}
		}
	}
	if v := f.get("server"); v != nil {
		d.server(v, s)
	}
	if v := f.get("axm"); v != nil {
		d.axm(v, f.get("axm"), s)
	}
}

// axm reads target.axm. It runs after embedded and server, so it knows
// which kind of target it completes.
func (d *decoder) axm(n, at *yaml.Node, s *Scenario) {
	f, ok := d.mapping(n, "target.axm", "key", axmKeys)
	if !ok {
		return
	}
	a := &AxMTarget{}
	if v := f.get("serve"); v != nil {
		a.Serve, _ = d.boolean(v, "target.axm.serve")
	}
	if v := f.get("listen"); v != nil {
		if l, ok := d.str(v, "target.axm.listen"); ok {
			if err := CheckAxMListen(l); err != nil {
				d.errf(deref(v), "target.axm.listen %q: %v", l, err)
			}
			a.Listen = l
		}
	}
	if v := f.get("state"); v != nil {
		a.State, _ = d.str(v, "target.axm.state")
		s.at["target.axm.state"] = pos(deref(v))
	}
	if v := f.get("server"); v != nil {
		a.Server, _ = d.str(v, "target.axm.server")
	}
	if v := f.get("wait"); v != nil {
		a.Wait, _ = d.duration(v, "target.axm.wait")
	}
	if v := f.get("withdraw"); v != nil {
		a.Withdraw, _ = d.httpsURL(v, "target.axm.withdraw")
	}
	if v := f.get("restore"); v != nil {
		a.Restore, _ = d.httpsURL(v, "target.axm.restore")
	}
	if v := f.get("refuse_first"); v != nil {
		a.RefuseFirst, _ = d.enum(v, "target.axm.refuse_first", AxMErrorCodes)
	}
	if v := f.get("default"); v != nil {
		df, ok := d.mapping(v, "target.axm.default", "family", familyValues[:4])
		if ok {
			for _, k := range df.order {
				name, ok := d.str(df.values[k], "target.axm.default."+k)
				if !ok {
					continue
				}
				if strings.TrimSpace(name) == "" {
					d.errf(deref(df.values[k]), "target.axm.default.%s: name the AxM MDM server (a token's name), e.g. acme-mdm", k)
					continue
				}
				fam := matrixAllFamilies[slices.Index(familyValues, k)]
				if a.Defaults == nil {
					a.Defaults = map[device.Family]string{}
				}
				a.Defaults[fam] = name
			}
		}
	}
	if s.Target.Embedded {
		for _, k := range []string{"serve", "listen", "state", "server", "wait", "withdraw", "restore", "refuse_first"} {
			if f.get(k) != nil {
				d.errf(f.keys[k], "target.axm.%s: only for a deployed server (target.server); the embedded server brings its own stand-in, where only target.axm.default applies", k)
			}
		}
		s.Target.AxM = a
		return
	}
	if !a.Serve {
		d.errf(deref(at), "target.axm: set serve: true to start the Device Assignment API stand-in for this run (or drop target.axm)")
	}
	if f.get("state") == nil {
		d.errf(deref(at), "target.axm: state is missing: the stand-in's directory, written by 'enrollsim axm token --cert SERVER.pem --state DIR'")
	}
	if (f.get("withdraw") != nil) != (f.get("restore") != nil) {
		missing := "restore"
		if f.get("withdraw") == nil {
			missing = "withdraw"
		}
		d.errf(deref(at), "target.axm: withdraw and restore go together (the probe turns account-driven enrollment off, then on again); %s is missing", missing)
	}
	if s.Target.Server.AxMURL != "" {
		d.errf(deref(at), "target.axm and target.server.axm_url both given: the stand-in is the devices' AxM endpoint; drop axm_url")
	}
	if a.Listen == "" {
		a.Listen = DefaultAxMListen
	}
	if a.Wait == 0 {
		a.Wait = DefaultAxMWait
	}
	s.Target.AxM = a
}

// CheckAxMListen accepts a loopback HOST:PORT with a fixed port: the server
// under test is configured with it before the run.
func CheckAxMListen(l string) error {
	host, port, err := net.SplitHostPort(l)
	if err != nil {
		return fmt.Errorf("want a loopback HOST:PORT, e.g. %s", DefaultAxMListen)
	}
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address: the stand-in listens on 127.0.0.0/8 or ::1 only", host)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("port %q: want a fixed port 1-65535 (the server under test is configured with it)", port)
	}
	return nil
}

func (d *decoder) server(n *yaml.Node, s *Scenario) {
	t := &s.Target.Server
	f, ok := d.mapping(n, "target.server", "key", serverKeys)
	if !ok {
		return
	}
	if v := f.get("base_url"); v != nil {
		t.BaseURL, _ = d.httpsURL(v, "target.server.base_url")
	}
	if v := f.get("axm_url"); v != nil {
		t.AxMURL, _ = d.httpsURL(v, "target.server.axm_url")
	}
	if v := f.get("timeout"); v != nil {
		t.Timeout, _ = d.duration(v, "target.server.timeout")
	}
	if v := f.get("admin_queue"); v != nil {
		if q, ok := d.str(v, "target.server.admin_queue"); ok {
			if u, err := url.Parse(strings.TrimSpace(strings.TrimPrefix(q, "PUT "))); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				d.errf(deref(v), "target.server.admin_queue %q: want an http(s) URL with {id} where the EnrollmentID or UDID goes, optionally after \"PUT \"", q)
			} else {
				t.AdminQueue = q
			}
		}
	}
	if v := f.get("admin_declarations"); v != nil {
		if q, ok := d.str(v, "target.server.admin_declarations"); ok {
			if u, err := url.Parse(strings.TrimSpace(q)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				d.errf(deref(v), "target.server.admin_declarations %q: want an http(s) URL with {id} where the EnrollmentID or UDID goes (the declaration is POSTed there, and DELETEd with identifier= added)", q)
			} else {
				t.AdminDeclarations = q
			}
		}
	}
	if v := f.get("resolve"); v != nil {
		items, _ := d.strList(v, "target.server.resolve")
		for i, it := range items {
			if err := checkRoute(route.ParseResolve, it.value); err != nil {
				d.errf(it.node, "target.server.resolve[%d] %q: %v", i, it.value, err)
				continue
			}
			t.Resolve = append(t.Resolve, it.value)
		}
	}
	if v := f.get("connect_to"); v != nil {
		items, _ := d.strList(v, "target.server.connect_to")
		for i, it := range items {
			if err := checkRoute(route.ParseConnectTo, it.value); err != nil {
				d.errf(it.node, "target.server.connect_to[%d] %q: %v", i, it.value, err)
				continue
			}
			t.ConnectTo = append(t.ConnectTo, it.value)
		}
	}
	for _, files := range []struct {
		key string
		dst *[]string
	}{{"cacert", &t.CACerts}, {"stock_ca", &t.StockCAs}} {
		v := f.get(files.key)
		if v == nil {
			continue
		}
		items, _ := d.strList(v, "target.server."+files.key)
		for i, it := range items {
			*files.dst = append(*files.dst, it.value)
			s.at[fmt.Sprintf("target.server.%s[%d]", files.key, i)] = pos(it.node)
		}
	}
}

func (d *decoder) deviceOptions(n *yaml.Node, o *sim.DeviceOptions) {
	f, ok := d.mapping(n, "device_options", "key", deviceOptionKeys)
	if !ok {
		return
	}
	for _, opt := range []struct {
		key string
		dst *bool
	}{
		{"exactly_one_at", &o.ExactlyOneAt}, {"omit_model_family", &o.OmitModelFamily},
		{"no_fallback_on_rejection", &o.NoFallbackOnRejection}, {"form_encoded_body", &o.FormEncodedBody},
		{"append_login_query", &o.AppendLoginQuery}, {"locked", &o.Locked},
	} {
		if v := f.get(opt.key); v != nil {
			*opt.dst, _ = d.boolean(v, "device_options."+opt.key)
		}
	}
}

func (d *decoder) login(n *yaml.Node, l *sim.LoginFields) {
	f, ok := d.mapping(n, "login", "key", loginKeys)
	if !ok {
		return
	}
	for _, sel := range []struct {
		key string
		dst *string
		one func(string) sim.LoginFields
	}{
		{"form", &l.Form, func(s string) sim.LoginFields { return sim.LoginFields{Form: s} }},
		{"username", &l.Username, func(s string) sim.LoginFields { return sim.LoginFields{Username: s} }},
		{"password", &l.Password, func(s string) sim.LoginFields { return sim.LoginFields{Password: s} }},
		{"otp", &l.OTP, func(s string) sim.LoginFields { return sim.LoginFields{OTP: s} }},
		{"submit", &l.Submit, func(s string) sim.LoginFields { return sim.LoginFields{Submit: s} }},
	} {
		v := f.get(sel.key)
		if v == nil {
			continue
		}
		css, ok := d.str(v, "login."+sel.key)
		if !ok {
			continue
		}
		if err := sim.ValidateLoginFields(sel.one(css)); err != nil {
			d.errf(deref(v), "login.%s: %s", sel.key, strings.TrimPrefix(err.Error(), "fields."+sel.key+": "))
			continue
		}
		*sel.dst = css
	}
	if v := f.get("driver"); v != nil {
		if s, ok := d.str(v, "login.driver"); ok {
			if drv, err := sim.ParseLoginDriver(s); err != nil {
				d.errf(deref(v), "login.driver: %q: want form, browser or auto", s)
			} else {
				l.Driver = drv
			}
		}
	}
	if v := f.get("fields"); v != nil {
		ff, ok := d.mapping(v, "login.fields", "key", nil)
		if !ok {
			return
		}
		for _, k := range ff.order {
			if val, ok := d.str(ff.values[k], "login.fields."+k); ok {
				if l.Extra == nil {
					l.Extra = map[string]string{}
				}
				l.Extra[k] = val
			}
		}
	}
}

func (d *decoder) expect(n *yaml.Node, s *Scenario) {
	e := &s.Expect
	f, ok := d.mapping(n, "expect", "key", expectKeys)
	if !ok {
		return
	}
	if v := f.get("outcome"); v != nil {
		if o, ok := d.enum(v, "expect.outcome", outcomes); ok {
			e.Outcome = o
			if s.DiscoveryOnly && (o == event.OutcomeEnrolled || o == event.OutcomeAuthFailed || o == event.OutcomeProfileRejected || OutcomeNeeds(o) != "") {
				d.errf(deref(v), "expect.outcome %s cannot happen with discovery_only: true (the case ends after discovery)", o)
			} else if need := OutcomeNeeds(o); need != "" && !s.Until.Reaches(need) {
				d.errf(deref(v), "expect.outcome %s cannot happen with until: %s (it needs until: %s or later)", o, s.Until, need)
			}
		}
	}
	if v := f.get("enroll"); v != nil {
		e.Enroll, _ = d.boolean(v, "expect.enroll")
	}
	if v := f.get("fail"); v != nil {
		items, _ := d.strList(v, "expect.fail")
		ids := checkIDs()
		seen := map[string]bool{}
		for _, it := range items {
			id := strings.ToUpper(strings.TrimSpace(it.value))
			spec, found := check.Lookup(id)
			switch {
			case !found:
				d.errf(it.node, "expect.fail: unknown check %q%s (accepted: the IDs 'enrollsim list checks' prints, e.g. WK-001)", it.value, didYouMean(id, ids))
				continue
			case !check.Implemented(id):
				d.errf(it.node, "expect.fail: check %s is in the catalogue but not judged yet, so it can never fail (accepted: the IDs 'enrollsim list checks' prints)", id)
				continue
			case spec.Level == check.Info:
				d.errf(it.node, "expect.fail: %s is an INFO check: it is noted, never failed, so it cannot be expected to fail", id)
				continue
			case seen[id]:
				d.errf(it.node, "expect.fail: %s listed twice", id)
				continue
			}
			seen[id] = true
			e.Fail = append(e.Fail, id)
		}
	}
	if v := f.get("steps"); v != nil {
		d.steps(v, s)
	}
	if v := f.get("commands"); v != nil {
		d.commands(f.keys["commands"], v, s)
	}
}

// until reads how far the scenario's cases go after the profile.
func (d *decoder) until(n *yaml.Node, s *Scenario) {
	u, ok := d.enum(n, "until", untilValues)
	if !ok {
		return
	}
	s.Until = event.Until(u)
	if s.DiscoveryOnly {
		d.errf(deref(n), "until: %s and discovery_only: true cannot go together (discovery_only ends the case before the profile): drop one", u)
	}
}

// poll reads poll: and stay:, how the device reconnects after an empty
// answer in place of the push it cannot receive.
func (d *decoder) poll(f *fields, s *Scenario) {
	pv, sv := f.get("poll"), f.get("stay")
	if pv != nil {
		if v, ok := d.str(pv, "poll"); ok {
			if p, err := sim.ParsePoll(v); err != nil {
				d.errf(deref(pv), "poll: %v", err)
				pv = nil
			} else {
				s.Poll = p
			}
		}
	}
	if sv != nil {
		if v, ok := d.str(sv, "stay"); ok {
			if st, err := sim.ParseStay(v); err != nil {
				d.errf(deref(sv), "stay: %v", err)
				sv = nil
			} else {
				s.Stay = st
			}
		}
	}
	if sv != nil && pv != nil {
		if err := sim.CheckPoll(s.Poll, s.Stay); err != nil {
			d.errf(deref(sv), "%v (drop stay, or give poll an interval such as 1s)", err)
		}
	}
}

// commands reads expect.commands: how many commands the device answers
// (a number), or RequestTypes it must have answered in any order (a list).
func (d *decoder) commands(key, n *yaml.Node, s *Scenario) {
	switch {
	case s.DiscoveryOnly:
		d.errf(key, "expect.commands: never observed with discovery_only: true (the case ends after discovery)")
	case !s.Until.Reaches(event.UntilCommands):
		d.errf(key, "expect.commands: never observed with until: %s (commands are answered with until: commands, the default)", s.Until)
	case s.Expect.Outcome != "" && !contains([]string{OutcomeAuto, OutcomeAny, event.OutcomeEnrolled, event.OutcomeUnenrolled, event.OutcomeError}, s.Expect.Outcome):
		d.errf(key, "expect.commands: never observed with expect.outcome %s (the case ends before the first commands)", s.Expect.Outcome)
	}
	v := deref(n)
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		i, ok := d.integer(v, "expect.commands")
		if !ok {
			return
		}
		if i < 0 {
			d.errf(v, "expect.commands: want 0 or more, got %d", i)
			return
		}
		s.Expect.Commands = &i
		return
	}
	if v.Kind != yaml.SequenceNode {
		d.errf(v, "expect.commands: want a number of commands (commands: 3) or a list of RequestTypes (commands: [DeviceInformation, ProfileList]), got %s", describe(v))
		return
	}
	items, _ := d.strList(v, "expect.commands")
	seen := map[string]bool{}
	for _, it := range items {
		t := strings.TrimSpace(it.value)
		switch known := knownRequestType(t); {
		case !requestTypePattern.MatchString(t):
			d.errf(it.node, "expect.commands: %q is not a RequestType (letters and digits, such as DeviceInformation)", it.value)
			continue
		case known != "" && known != t:
			d.errf(it.node, "expect.commands: %q: RequestTypes are case-sensitive; did you mean %s?", it.value, known)
			continue
		case seen[t]:
			d.errf(it.node, "expect.commands: %s listed twice", t)
			continue
		}
		seen[t] = true
		s.Expect.CommandTypes = append(s.Expect.CommandTypes, t)
	}
	if len(items) == 0 && len(v.Content) == 0 {
		d.errf(v, "expect.commands: the list is empty (say commands: 0 for no commands)")
	}
}

// knownRequestType is the spelling of a common RequestType that matches t
// regardless of case, "" when none does. Servers may send others, so an
// unknown name is accepted as written.
func knownRequestType(t string) string {
	for _, k := range requestTypes {
		if strings.EqualFold(k, t) {
			return k
		}
	}
	return ""
}

func (d *decoder) steps(n *yaml.Node, s *Scenario) {
	var stepNames []string
	for _, st := range stepFacts {
		stepNames = append(stepNames, st.name)
	}
	f, ok := d.mapping(n, "expect.steps", "step", stepNames)
	if !ok {
		return
	}
	for _, st := range stepFacts {
		v := f.get(st.name)
		if v == nil {
			continue
		}
		if s.DiscoveryOnly && (st.step == event.StepChallenge || st.step == event.StepProfile) {
			d.errf(f.keys[st.name], "expect.steps.%s: never observed with discovery_only: true (the case ends after discovery)", st.name)
		}
		var factNames []string
		for _, fs := range st.facts {
			factNames = append(factNames, fs.name)
		}
		ctx := "expect.steps." + st.name
		ff, ok := d.mapping(v, ctx, "fact", factNames)
		if !ok {
			continue
		}
		for _, fs := range st.facts {
			fv := ff.get(fs.name)
			if fv == nil {
				continue
			}
			what := ctx + "." + fs.name
			var val string
			switch {
			case fs.integer:
				i, ok := d.integer(fv, what)
				if !ok {
					continue
				}
				if i < 0 {
					d.errf(deref(fv), "%s: want 0 or more, got %d", what, i)
					continue
				}
				val = fmt.Sprint(i)
			case fs.values != nil:
				if val, ok = d.enum(fv, what, fs.values); !ok {
					continue
				}
			default:
				if val, ok = d.str(fv, what); !ok {
					continue
				}
			}
			if s.Expect.Steps == nil {
				s.Expect.Steps = map[string]map[string]string{}
			}
			if s.Expect.Steps[st.name] == nil {
				s.Expect.Steps[st.name] = map[string]string{}
			}
			s.Expect.Steps[st.name][fs.name] = val
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func first(list []string, n int) []string { return list[:min(n, len(list))] }

func checkIDs() []string {
	var out []string
	for _, c := range check.Checks() {
		out = append(out, c.ID)
	}
	return out
}

// actions reads actions:, server actions scripted for the device's stay:
// [{after: 5s, queue: DeviceLock, within: 10s, keys: {...}}].
func (d *decoder) actions(n *yaml.Node, s *Scenario) {
	list := deref(n)
	if list.Kind != yaml.SequenceNode {
		d.errf(list, "actions: want a list such as [{after: 5s, queue: DeviceLock, within: 10s}]")
		return
	}
	if s.Until != "" && !s.Until.Reaches(event.UntilCommands) {
		d.errf(list, "actions: act in the commands step, and until is %s: drop until or the actions", s.Until)
	}
	for i, item := range list.Content {
		ctx := fmt.Sprintf("actions[%d]", i)
		f, ok := d.mapping(item, ctx, "key", actionKeys)
		if !ok {
			continue
		}
		var a sim.Action
		if v := f.get("after"); v != nil {
			a.After, _ = d.duration(v, ctx+".after")
		}
		if v := f.get("within"); v != nil {
			a.Within, _ = d.duration(v, ctx+".within")
		}
		if v := f.get("queue"); v != nil {
			if q, ok := d.str(v, ctx+".queue"); ok {
				if !requestTypePattern.MatchString(q) {
					d.errf(deref(v), "%s.queue %q: want a RequestType such as DeviceLock", ctx, q)
				}
				a.Queue = q
			}
		} else {
			d.errf(item, "%s: missing queue (the RequestType the server queues, e.g. queue: DeviceInformation)", ctx)
		}
		if v := f.get("keys"); v != nil {
			if err := deref(v).Decode(&a.Keys); err != nil || deref(v).Kind != yaml.MappingNode {
				d.errf(deref(v), "%s.keys: want a mapping of the command's keys, e.g. {Queries: [DeviceName]}", ctx)
			}
		}
		s.Actions = append(s.Actions, a)
	}
	if len(s.Actions) > 0 && !s.Target.Embedded && s.Target.Server.AdminQueue == "" {
		d.errf(list, "actions: the server needs a hook to queue commands: add target.server.admin_queue (e.g. \"PUT https://mdm.example.com/v1/enqueue/{id}\")")
	}
}
