package refserver

import (
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The second factor is RFC 6238 TOTP with the usual authenticator settings
// (spec §2.7.1): SHA-1, 6 digits, 30-second steps, one step of skew either
// way for clocks that drift.
const (
	totpPeriod    = 30
	totpDigits    = 6
	totpSkew      = 1
	totpWideSkew  = 5  // under totp-wide-skew
	totpKeepSteps = 12 // how many past steps the replay ledger remembers
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpLedger remembers, per user, the time steps whose code has already
// been accepted: RFC 6238 §5.2 forbids accepting the same code twice.
type totpLedger struct {
	mu   sync.Mutex
	used map[string]map[int64]bool // user → step → used
}

func newTOTPLedger() *totpLedger { return &totpLedger{used: map[string]map[int64]bool{}} }

// claim marks user's step as used and reports whether it was free. Steps
// too old to be within any skew are forgotten.
func (l *totpLedger) claim(user string, step, current int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	steps := l.used[user]
	if steps == nil {
		steps = map[int64]bool{}
		l.used[user] = steps
	}
	for st := range steps {
		if st < current-totpKeepSteps {
			delete(steps, st)
		}
	}
	if steps[step] {
		return false
	}
	steps[step] = true
	return true
}

// checkTOTP reports whether code is acct's current second factor, at the
// account's TOTP time (Config.TOTPNow, else Now). A code already accepted
// for the user in its time step is refused.
func (s *Server) checkTOTP(acct Account, code string) bool {
	code = strings.TrimSpace(code)
	if !isDigits(code, totpDigits) {
		return false
	}
	now := s.cfg.Now()
	if s.cfg.TOTPNow != nil {
		now = s.cfg.TOTPNow(acct.TOTPSecret)
	}
	current := now.Unix() / totpPeriod
	skew := int64(totpSkew)
	if s.has(FaultTOTPWideSkew) {
		skew = totpWideSkew
	}
	opts := totpOpts
	if s.has(FaultTOTPRejectsValid) {
		// A seed provisioned as SHA-256 while authenticators use SHA-1.
		opts.Algorithm = otp.AlgorithmSHA256
	}
	replayed := false
	for i := -skew; i <= skew; i++ {
		at := now.Add(time.Duration(i) * totpPeriod * time.Second)
		want, err := totp.GenerateCodeCustom(acct.TOTPSecret, at, opts)
		if err != nil {
			// A directory secret that is not base32 is a bug in the table,
			// which TestHostsAndAccounts catches; refuse rather than guess.
			s.logf("refserver: TOTP secret of %s: %v", acct.Identifier, err)
			return false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
			continue
		}
		if s.has(FaultTOTPReplayAccepted) {
			return true
		}
		if s.totp.claim(acct.Identifier, at.Unix()/totpPeriod, current) {
			return true
		}
		// A replay of this step; another step of the window may still match.
		replayed = true
	}
	// totp-any-code takes every well-formed code, but still refuses the
	// replay of a real one: the fault breaks one thing only.
	return s.has(FaultTOTPAnyCode) && !replayed
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
