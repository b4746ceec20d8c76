package scenarios

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// Cases expands the scenario's device, devices or matrix into one case
// each, named "<scenario>/<device ref>", and reads what the scenario refers
// to outside its file: secrets from the environment (getenv, nil for
// os.Getenv) or from files, the replay body, CA files. Relative paths are
// relative to the scenario's file. Problems name the key and its file:line,
// never a secret's value. An `auto` outcome is resolved per device.
func (s Scenario) Cases(getenv func(string) string) ([]CaseSpec, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var probs problems
	devices, err := s.expand()
	if err != nil {
		probs.add(s.File, position{s.Line, s.col}, "scenario %s: %v", s.Name, err)
	}
	account := sim.Account{
		Identifier: s.Account.Identifier, Username: s.Account.Username,
		ManagedAppleID: s.Account.ManagedAppleID, TOTP: s.Account.TOTP,
	}
	account.Password = s.secret(getenv, "password_env", s.Account.PasswordEnv, "password_file", s.Account.PasswordFile, &probs)
	account.TOTPSecret = s.secret(getenv, "totp_secret_env", s.Account.TOTPSecretEnv, "totp_secret_file", s.Account.TOTPSecretFile, &probs)
	if !account.TOTPSecret.IsZero() {
		if err := sim.ValidateTOTP(account.TOTPSecret, account.TOTP); err != nil {
			key, src := "totp_secret_env", "$"+s.Account.TOTPSecretEnv
			if s.Account.TOTPSecretFile != "" {
				key, src = "totp_secret_file", s.rel(s.Account.TOTPSecretFile)
			}
			probs.add(s.File, s.pos("account."+key), "account.%s: the seed from %s: %v", key, src, err)
		}
	}
	var replay []byte
	if s.ReplayBody != "" {
		path := s.rel(s.ReplayBody)
		raw, err := os.ReadFile(path)
		if err != nil {
			probs.add(s.File, s.pos("replay_body"), "replay_body %q: cannot read %s: %v", s.ReplayBody, path, unwrapPath(err))
		} else if replay, err = profile.NormalizeCMS(raw); err != nil {
			probs.add(s.File, s.pos("replay_body"), "replay_body %q: not a CMS signed message (DER, PEM or base64): %v", s.ReplayBody, err)
		}
	}
	server := s.Target.Server
	if !s.Target.Embedded {
		server.CACerts = s.files("cacert", server.CACerts, &probs)
		server.StockCAs = s.files("stock_ca", server.StockCAs, &probs)
	}
	if err := probs.err(); err != nil {
		return nil, err
	}

	var out []CaseSpec
	for _, nd := range devices {
		c := sim.Case{
			Name:          s.Name + "/" + nd.ref,
			Device:        nd.device,
			Account:       account,
			Type:          s.Type,
			Options:       s.Options,
			Expect:        s.expectFor(nd.device),
			Login:         s.Login,
			ReplayBody:    replay,
			NoProbes:      !s.Probes,
			DiscoveryOnly: s.DiscoveryOnly,
			Until:         s.Until,
			Poll:          s.Poll,
			Stay:          s.Stay,
			Actions:       slices.Clone(s.Actions),
			Scenario:      s.Name,
			Suite:         s.Suite,
			Description:   s.Description,
			Tags:          slices.Clone(s.Tags),
		}
		spec := CaseSpec{Case: c, Embedded: s.Target.Embedded}
		if a := s.Target.AxM; a != nil {
			resolved := *a
			if resolved.State != "" {
				resolved.State = s.rel(resolved.State)
			}
			resolved.Defaults = maps.Clone(a.Defaults)
			spec.AxM = &resolved
		}
		if s.Target.Embedded {
			spec.Faults = slices.Sorted(slices.Values(s.Target.Faults))
			spec.DDM = s.Target.DDM || spec.Case.Until == event.UntilDDM
		} else {
			spec.Server = server
			spec.Case.Target.AxMURL = sim.AppleAxMURL
			if server.AxMURL != "" {
				spec.Case.Target.AxMURL, spec.Case.Target.AxMDeclared = server.AxMURL, true
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// namedDevice is a device with the reference its case is named after.
type namedDevice struct {
	ref    string
	device device.Device
}

// Expand lists the devices the scenario plays, in case order.
func (s Scenario) Expand() ([]device.Device, error) {
	nds, err := s.expand()
	out := make([]device.Device, len(nds))
	for i, nd := range nds {
		out[i] = nd.device
	}
	return out, err
}

func (s Scenario) expand() ([]namedDevice, error) {
	var refs []string
	switch {
	case s.Device != "":
		refs = []string{s.Device}
	case len(s.Devices) > 0:
		refs = s.Devices
	case s.Matrix != nil:
		return s.Matrix.expand()
	default:
		return nil, fmt.Errorf("no device: set device, devices or matrix")
	}
	var out []namedDevice
	for _, ref := range refs {
		d, err := device.LookupDevice(ref)
		if err != nil {
			return nil, err
		}
		out = append(out, namedDevice{strings.TrimSpace(ref), d})
	}
	return out, nil
}

// expand lists each family's devices at each version; "catalogue" stands
// for the family's catalogue versions. A device reached twice is kept once.
func (m Matrix) expand() ([]namedDevice, error) {
	var fams []device.Family
	for _, name := range m.Families {
		if name == "all" {
			fams = append(fams, matrixAllFamilies...)
			continue
		}
		found := false
		for _, f := range matrixAllFamilies {
			if f.Short() == strings.ToLower(name) {
				fams, found = append(fams, f), true
			}
		}
		if !found {
			return nil, fmt.Errorf("matrix: unknown family %q", name)
		}
	}
	seen := map[string]bool{}
	var out []namedDevice
	add := func(d device.Device) {
		if !seen[d.Ref()] {
			seen[d.Ref()] = true
			out = append(out, namedDevice{d.Ref(), d})
		}
	}
	for _, f := range fams {
		for _, v := range m.Versions {
			if v == VersionsCatalogue {
				for _, d := range device.Catalogue() {
					if d.Family == f {
						add(d)
					}
				}
				continue
			}
			d, err := device.LookupDevice(f.Short() + "@" + v)
			if err != nil {
				return nil, err
			}
			add(d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("matrix: no devices (families and versions must not be empty)")
	}
	return out, nil
}

// expectFor is the scenario's expectation for one device, with `auto`
// resolved and `any` left unchecked.
func (s Scenario) expectFor(d device.Device) sim.Expect {
	e := sim.Expect{Enroll: s.Expect.Enroll, Trips: slices.Clone(s.Expect.Fail), Facts: s.Expect.Facts(),
		CommandTypes: slices.Clone(s.Expect.CommandTypes)}
	if s.Expect.Commands != nil {
		if e.Facts == nil {
			e.Facts = map[string]string{}
		}
		e.Facts["commands"] = fmt.Sprint(*s.Expect.Commands)
	}
	switch s.Expect.Outcome {
	case OutcomeAny:
	case OutcomeAuto, "":
		outcome, last := s.autoOutcome(d)
		e.Outcome = outcome
		if outcome != event.OutcomeEnrolled {
			// A device that does not enroll answers no commands.
			delete(e.Facts, "commands")
			e.CommandTypes = nil
		}
		// Facts of steps the device never reaches cannot be observed.
		for i, st := range stepFacts {
			if i <= last {
				continue
			}
			for _, f := range st.facts {
				delete(e.Facts, f.name)
			}
		}
		if len(e.Facts) == 0 {
			e.Facts = nil
		}
	default:
		e.Outcome = s.Expect.Outcome
	}
	return e
}

// autoOutcome is what the device can do with this scenario: the outcome and
// the index (in stepFacts) of the last step whose facts it can show.
func (s Scenario) autoOutcome(d device.Device) (string, int) {
	const (
		none     = -1
		document = 1
		endOf    = 3
	)
	adue, adde := d.Has(device.CapUserEnrollment), d.Has(device.CapDeviceEnrollment)
	switch s.Type {
	case sim.TypeUser:
		if !adue {
			return event.OutcomeRefused, none
		}
	case sim.TypeDevice:
		if !adde {
			return event.OutcomeRefused, none
		}
	default:
		if !adue && !adde {
			return event.OutcomeRefused, none
		}
		// The server chooses; the expectations may say what it chooses.
		kind := s.Expect.Steps["process-document"]["server"]
		switch s.Expect.Steps["profile"]["enrollment_mode"] {
		case "BYOD":
			kind = "mdm-byod"
		case "ADDE":
			kind = "mdm-adde"
		}
		if kind == "mdm-byod" && !adue || kind == "mdm-adde" && !adde {
			return event.OutcomeEnrollFailed, document
		}
	}
	if s.DiscoveryOnly {
		return event.OutcomeDiscovered, document
	}
	switch s.Expect.Steps["enroll-challenge"]["method"] {
	case "apple-oauth2":
		if !d.Has(device.CapOAuth2) {
			return event.OutcomeEnrollFailed, document + 1
		}
	case "apple-as-web":
		if !d.Has(device.CapAsWeb) {
			return event.OutcomeEnrollFailed, document + 1
		}
	}
	return event.OutcomeEnrolled, endOf
}

// secret reads one secret from its environment variable or file.
func (s Scenario) secret(getenv func(string) string, envKey, env, fileKey, file string, probs *problems) secret.Secret {
	switch {
	case env != "" && file != "":
		probs.add(s.File, s.pos("account."+fileKey), "account: %s and %s both given: choose one", envKey, fileKey)
	case env != "":
		v := getenv(env)
		if v == "" {
			probs.add(s.File, s.pos("account."+envKey), "account.%s: the environment variable %s is not set (or empty)", envKey, env)
			return secret.Secret{}
		}
		return secret.New(v)
	case file != "":
		path := s.rel(file)
		b, err := os.ReadFile(path)
		if err != nil {
			probs.add(s.File, s.pos("account."+fileKey), "account.%s %q: cannot read %s: %v", fileKey, file, path, unwrapPath(err))
			return secret.Secret{}
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			probs.add(s.File, s.pos("account."+fileKey), "account.%s %q: the file is empty", fileKey, file)
			return secret.Secret{}
		}
		return secret.New(v)
	}
	return secret.Secret{}
}

// files resolves a list of file paths and checks that each can be read.
func (s Scenario) files(key string, paths []string, probs *problems) []string {
	var out []string
	for i, p := range paths {
		path := s.rel(p)
		if f, err := os.Open(path); err != nil {
			probs.add(s.File, s.pos(fmt.Sprintf("target.server.%s[%d]", key, i)), "target.server.%s %q: cannot read %s: %v", key, p, path, unwrapPath(err))
		} else {
			f.Close()
		}
		out = append(out, path)
	}
	return out
}

// rel resolves a path relative to the scenario's file.
func (s Scenario) rel(p string) string {
	if filepath.IsAbs(p) || s.File == "" {
		return p
	}
	return filepath.Join(filepath.Dir(s.File), p)
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
