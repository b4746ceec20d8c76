package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// secretFlags are where a run's secrets come from: the environment or
// files, never a flag value (a flag lands in shell history and ps output).
type secretFlags struct {
	PasswordEnv, PasswordFile string
	TOTPEnv, TOTPFile         string
}

// loadSecret reads one secret from an environment variable or a file.
// Errors name the flag and the source, never the value.
func loadSecret(getenv func(string) string, envFlag, env, fileFlag, file string) (secret.Secret, error) {
	switch {
	case env != "" && file != "":
		return secret.Secret{}, usageErr("--%s and --%s both given: choose one", envFlag, fileFlag)
	case env != "":
		v := getenv(env)
		if v == "" {
			return secret.Secret{}, usageErr("--%s %s: the variable is not set or empty", envFlag, env)
		}
		return secret.New(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return secret.Secret{}, usageErr("--%s: %v", fileFlag, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return secret.Secret{}, usageErr("--%s %s: the file is empty", fileFlag, file)
		}
		return secret.New(v), nil
	}
	return secret.Secret{}, nil
}

func (s secretFlags) load(getenv func(string) string) (password, seed secret.Secret, err error) {
	password, err = loadSecret(getenv, "password-env", s.PasswordEnv, "password-file", s.PasswordFile)
	if err != nil {
		return
	}
	seed, err = loadSecret(getenv, "totp-secret-env", s.TOTPEnv, "totp-secret-file", s.TOTPFile)
	return
}

func (s secretFlags) any() bool {
	return s.PasswordEnv != "" || s.PasswordFile != "" || s.TOTPEnv != "" || s.TOTPFile != ""
}

// writeSecretFile stores a test account's secret for `serve`, readable by
// its owner only.
func writeSecretFile(path, value string) error {
	return os.WriteFile(path, []byte(value+"\n"), 0o600)
}

func describeMissingSecret(id string) string {
	return fmt.Sprintf("no password for %s: give --password-env NAME or --password-file FILE", id)
}

// totpSource names where the seed came from, for errors about it.
func (s secretFlags) totpSource() string {
	if s.TOTPFile != "" {
		return "--totp-secret-file " + s.TOTPFile
	}
	return "--totp-secret-env " + s.TOTPEnv
}

// checkTOTPFlags checks each --totp-* option alone, so the error names the
// flag that is wrong, and then the seed, naming where it came from.
func checkTOTPFlags(s secretFlags, seed secret.Secret, o sim.TOTPOptions) error {
	for _, opt := range []struct {
		flag  string
		value any
		one   sim.TOTPOptions
	}{
		{"totp-digits", o.Digits, sim.TOTPOptions{Digits: o.Digits}},
		{"totp-period", o.Period, sim.TOTPOptions{Period: o.Period}},
		{"totp-algorithm", o.Algorithm, sim.TOTPOptions{Algorithm: o.Algorithm}},
	} {
		if _, err := opt.one.Check(); err != nil {
			return usageErr("--%s %v: %s", opt.flag, opt.value, totpWant(err))
		}
	}
	// Zero means "the default" to sim; given on the command line it is a
	// mistake, not a wish for 6 digits or 30 s.
	if o.Digits == 0 {
		return usageErr("--totp-digits 0: want 6 or 8")
	}
	if o.Period <= 0 {
		return usageErr("--totp-period %s: want whole seconds, e.g. 30s", o.Period)
	}
	if seed.IsZero() {
		return nil
	}
	if err := sim.ValidateTOTP(seed, o); err != nil {
		return usageErr("%s: %v", s.totpSource(), err)
	}
	return nil
}

// totpWant keeps what sim says is accepted ("want 6 or 8"), dropping its
// restatement of the value the flag error already names.
func totpWant(err error) string {
	msg := err.Error()
	if _, want, ok := strings.Cut(msg, ": "); ok {
		return want
	}
	return msg
}
