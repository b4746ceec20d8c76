// Package load drives many simulated devices through enrollment at once (a
// closed model of N enrollments by C workers, or an open model of R arrivals
// a second), checks every one, and keeps only aggregates: latency
// histograms per step, throughput over time, outcomes, the checks that
// failed and a bounded sample of failing cases. Results merge exactly, so
// shards on several machines add up to one run.
package load

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/enrollsim/enrollsim/accounts"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// DefaultPattern names pattern accounts: user1@acme.test, user2@acme.test...
// Naming and derivation live in package accounts, which the reference
// server imports too; these names stay for load's callers.
const DefaultPattern = accounts.DefaultPattern

// Accounts are the load's users: Count accounts named by Pattern, whose
// secrets derive from Master, or explicit ones (CSV). Case i signs in as
// account i (wrapping around).
type Accounts struct {
	Pattern string
	Count   int
	Master  secret.Secret
	List    []sim.Account
	// First shifts which account case 0 takes: repeated loads against one
	// server start where the last one stopped, since a server refuses a
	// TOTP code it has seen.
	First int
}

// Name is the identifier of pattern account n (1-based); see accounts.Name.
func Name(pattern string, n int) string { return accounts.Name(pattern, n) }

// Derive gives a pattern account's password and base32 TOTP seed from the
// master secret; see accounts.Derive, which the reference server calls too.
func Derive(master, identifier string) (password, totpSeed string) {
	return accounts.Derive(master, identifier)
}

// Validate says what is wrong with the accounts, if anything.
func (a Accounts) Validate() error {
	if len(a.List) > 0 {
		return nil
	}
	switch {
	case a.Count <= 0:
		return errors.New("no accounts: give a count of pattern accounts or a CSV of accounts")
	case !strings.Contains(a.Pattern, "{n}"):
		return fmt.Errorf("account pattern %q has no {n}, e.g. %s", a.Pattern, DefaultPattern)
	case strings.Count(a.Pattern, "@") != 1:
		return fmt.Errorf("account pattern %q: want one @, e.g. %s", a.Pattern, DefaultPattern)
	case a.Master.IsZero():
		return errors.New("pattern accounts need the master secret their passwords and seeds derive from")
	}
	return nil
}

// At is the account of case i, with its secrets.
func (a Accounts) At(i int) sim.Account {
	i += a.First
	if len(a.List) > 0 {
		return a.List[i%len(a.List)]
	}
	id := Name(a.Pattern, i%a.Count+1)
	pw, seed := Derive(a.Master.Reveal(), id)
	return sim.Account{Identifier: id, Password: secret.New(pw), TOTPSecret: secret.New(seed)}
}

// Size is how many distinct accounts there are.
func (a Accounts) Size() int {
	if len(a.List) > 0 {
		return len(a.List)
	}
	return a.Count
}

// ReadCSV reads accounts from a CSV with a header row: identifier, and for
// each secret a reference, never a value: password_env or password_file,
// totp_secret_env or totp_secret_file (files relative to the CSV's
// directory).
func ReadCSV(path string, getenv func(string) string) ([]sim.Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(io.LimitReader(f, 16<<20))
	r.FieldsPerRecord = -1
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header row (want identifier,password_env,totp_secret_env or the _file columns)", path)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.ToLower(h))] = i
	}
	if _, ok := col["identifier"]; !ok {
		return nil, fmt.Errorf("%s: the header has no identifier column", path)
	}
	for k := range col {
		switch k {
		case "identifier", "password_env", "password_file", "totp_secret_env", "totp_secret_file":
		default:
			return nil, fmt.Errorf("%s: unknown column %q (want identifier, password_env|password_file, totp_secret_env|totp_secret_file; secrets are references, never values)", path, k)
		}
	}
	get := func(rec []string, k string) string {
		if i, ok := col[k]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	secret := func(line int, rec []string, name string) (secret.Secret, error) {
		if env := get(rec, name+"_env"); env != "" {
			v := getenv(env)
			if v == "" {
				return secret.Secret{}, fmt.Errorf("%s:%d: %s_env %s is not set", path, line, name, env)
			}
			return secret.New(v), nil
		}
		if file := get(rec, name+"_file"); file != "" {
			if !filepath.IsAbs(file) {
				file = filepath.Join(filepath.Dir(path), file)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				return secret.Secret{}, fmt.Errorf("%s:%d: %s_file: %v", path, line, name, err)
			}
			return secret.New(strings.TrimSpace(string(raw))), nil
		}
		return secret.Secret{}, nil
	}
	var out []sim.Account
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		id := get(rec, "identifier")
		if !strings.Contains(id, "@") {
			return nil, fmt.Errorf("%s:%d: identifier %q: want user@domain", path, line, id)
		}
		a := sim.Account{Identifier: id}
		if a.Password, err = secret(line, rec, "password"); err != nil {
			return nil, err
		}
		if a.Password.IsZero() {
			return nil, fmt.Errorf("%s:%d: no password_env or password_file for %s", path, line, id)
		}
		if a.TOTPSecret, err = secret(line, rec, "totp_secret"); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no accounts after the header", path)
	}
	return out, nil
}
