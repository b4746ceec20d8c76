package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/enrollsim/enrollsim/sim"
)

// secretFlags are where a run's secrets come from: the environment or
// files, never a flag value (a flag lands in shell history and ps output).
type secretFlags struct {
	PasswordEnv, PasswordFile string
	TOTPEnv, TOTPFile         string
}

// loadSecret reads one secret from an environment variable or a file.
// Errors name the flag and the source, never the value.
func loadSecret(getenv func(string) string, envFlag, env, fileFlag, file string) (sim.Secret, error) {
	switch {
	case env != "" && file != "":
		return sim.Secret{}, usageErr("--%s and --%s both given: choose one", envFlag, fileFlag)
	case env != "":
		v := getenv(env)
		if v == "" {
			return sim.Secret{}, usageErr("--%s %s: the variable is not set or empty", envFlag, env)
		}
		return sim.NewSecret(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return sim.Secret{}, usageErr("--%s: %v", fileFlag, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return sim.Secret{}, usageErr("--%s %s: the file is empty", fileFlag, file)
		}
		return sim.NewSecret(v), nil
	}
	return sim.Secret{}, nil
}

func (s secretFlags) load(getenv func(string) string) (password, seed sim.Secret, err error) {
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
