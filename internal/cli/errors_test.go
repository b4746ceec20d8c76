package cli

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every error about bad local input names the flag, the value and what is
// accepted, and exits 2.
func TestFlagErrorsNameFlagValueAndAccepted(t *testing.T) {
	email := []string{"run", "--email", "alice@acme.test"}
	with := func(args ...string) []string { return append(append([]string(nil), email...), args...) }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"duration not a duration", []string{"run", "--timeout", "abc"}, nil, []string{`--timeout "abc": want a duration such as 15s, 1m30s or 500ms`}},
		{"duration zero", []string{"run", "--timeout", "0s"}, nil, []string{"--timeout 0s: want a positive duration such as 15s"}},
		{"parallel not a number", []string{"run", "--parallel", "many"}, nil, []string{`--parallel "many": want a whole number, e.g. 1`}},
		{"parallel zero", []string{"run", "--parallel", "0"}, nil, []string{"--parallel 0: want 1 or more"}},
		{"bool flag with a word", []string{"run", "--strict=maybe"}, nil, []string{`--strict "maybe": want true or false`}},
		{"shard", []string{"run", "--shard", "3"}, nil, []string{`--shard "3": want I/N with 1 <= I <= N, e.g. 2/3`}},
		{"shard beyond", []string{"run", "--shard", "4/3"}, nil, []string{`--shard "4/3": want I/N`}},
		{"report without path", []string{"run", "--report", "junit"}, nil, []string{`--report "junit": want FORMAT=PATH, e.g. junit=enrollsim.xml (formats: `, "jsonl"}},
		{"report unknown format", []string{"run", "--report", "pdf=x.pdf"}, nil, []string{`--report "pdf=x.pdf": unknown format "pdf" (formats: `}},
		{"resolve", with("--resolve", "acme.test:443:localhost"), nil, []string{`--resolve "acme.test:443:localhost": "localhost" is not an IP address (want HOST:PORT:ADDR, e.g. acme.test:443:127.0.0.1)`}},
		{"connect-to", with("--connect-to", "acme.test:https:h:1"), nil, []string{`--connect-to "acme.test:https:h:1": port "https" is not a number from 1 to 65535`}},
		{"checks no match", []string{"run", "--checks", "XYZ-*"}, nil, []string{`--checks: check pattern "XYZ-*" matches no check`, "IDs look like WK-001, patterns like WK-*"}},
		{"type", with("--type", "kiosk"), nil, []string{`--type: enrollment type "kiosk": want user`}},
		{"device without version", with("--device", "iphone"), nil, []string{`--device: device "iphone": no OS version; say which, e.g. iphone@27.0`, "catalogue versions of iOS", "iPhone17,2@26.1"}},
		{"device empty version", with("--device", "iphone@"), nil, []string{`device "iphone@": no OS version after the '@'`}},
		{"device bad version", with("--device", "iphone@abc"), nil, []string{`device "iphone@abc": version "abc": want MAJOR[.MINOR[.PATCH]]`}},
		{"device no family", with("--device", "@18.2"), nil, []string{`device "@18.2": no family or product before the '@'`}},
		{"device unknown", with("--device", "toaster@1.0"), nil, []string{`device "toaster@1.0": unknown family or product "toaster" (families: iphone, ipad, mac, vision`}},
		{"totp digits", with("--totp-digits", "7"), nil, []string{"--totp-digits 7: want 6 or 8"}},
		{"totp digits zero", with("--totp-digits", "0"), nil, []string{"--totp-digits 0: want 6 or 8"}},
		{"totp period fraction", with("--totp-period", "1500ms"), nil, []string{"--totp-period 1.5s: want whole seconds, e.g. 30s"}},
		{"totp period zero", with("--totp-period", "0s"), nil, []string{"--totp-period 0s: want whole seconds"}},
		{"totp algorithm", with("--totp-algorithm", "MD5"), nil, []string{`--totp-algorithm MD5: want SHA1, SHA256 or SHA512`}},
		{"totp seed from env", with("--password-env", "QA_PW", "--totp-secret-env", "QA_TOTP"), map[string]string{"QA_PW": "pw", "QA_TOTP": "JBSWY3DP1HPK3PXP"},
			[]string{"--totp-secret-env QA_TOTP: the TOTP seed is not base32: character 9 is a digit 0, 1, 8 or 9", "accepted: letters A-Z in either case, digits 2-7"}},
		{"matrix version", []string{"matrix", "--email", "alice@acme.test", "--embedded", "--versions", "18.2,abc"}, nil, []string{`--versions: version "abc": want MAJOR[.MINOR[.PATCH]], e.g. 18.2`}},
		{"matrix family", []string{"matrix", "--email", "alice@acme.test", "--embedded", "--families", "watch"}, nil, []string{`--families "watch": no devices (families: iphone, ipad, mac, vision)`}},
		{"checks bad pattern", []string{"run", "--checks", "["}, nil, []string{`--checks: check pattern "[": syntax error in pattern (want check IDs like WK-001 or patterns like WK-*, comma-separated)`}},
		{"report command format", []string{"report", "--from", "x.jsonl", "--format", "pdf"}, nil, []string{`--format "pdf": unknown format (formats: `}},
		{"totp seed unset", with("--totp-secret-env", "QA_TOTP"), nil, []string{"--totp-secret-env QA_TOTP: the variable is not set or empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errOut := testFactory(tt.env)
			code := Execute(context.Background(), f, tt.args)
			assert.Equal(t, 2, code, "stdout: %s\nstderr: %s", out, errOut)
			for _, w := range tt.want {
				assert.Contains(t, errOut.String(), w)
			}
			assert.NotContains(t, errOut.String(), "JBSWY3DP1HPK3PXP", "the seed is a secret")
			assert.NotContains(t, errOut.String(), "strconv.", "Go's parser words are not for people")
		})
	}
}
