package sim

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTPOptions describe the second factor's RFC 6238 parameters; zero values
// are the common ones (6 digits, 30 s, SHA-1).
type TOTPOptions struct {
	Digits    int
	Period    time.Duration
	Algorithm string // SHA1, SHA256 or SHA512
	// Offset makes the device send the code of a step this many periods
	// away (a clock-skewed phone; TOTP-005 by hand).
	Offset int
	// Wrong makes the device send a code no step matches (TOTP-003 by hand).
	Wrong bool
}

func (o TOTPOptions) validate() (totp.ValidateOpts, error) {
	v := totp.ValidateOpts{Digits: otp.DigitsSix, Period: 30, Algorithm: otp.AlgorithmSHA1}
	switch o.Digits {
	case 0, 6:
	case 8:
		v.Digits = otp.DigitsEight
	default:
		return v, fmt.Errorf("TOTP digits %d: want 6 or 8", o.Digits)
	}
	if o.Period != 0 {
		if o.Period < time.Second || o.Period%time.Second != 0 {
			return v, fmt.Errorf("TOTP period %s: want whole seconds, e.g. 30s", o.Period)
		}
		v.Period = uint(o.Period / time.Second)
	}
	switch strings.ToUpper(strings.ReplaceAll(o.Algorithm, "-", "")) {
	case "", "SHA1":
	case "SHA256":
		v.Algorithm = otp.AlgorithmSHA256
	case "SHA512":
		v.Algorithm = otp.AlgorithmSHA512
	default:
		return v, fmt.Errorf("TOTP algorithm %q: want SHA1, SHA256 or SHA512", o.Algorithm)
	}
	return v, nil
}

// ValidateTOTP checks a seed and options before a run, so a typo is a usage
// error and not a login failure. It accepts exactly what the code generator
// (pquerna/otp) accepts: base32 in either case, spaces around it, line
// breaks, '=' padding at the end or none. A bad seed is described by the
// position and kind of its first bad character, never by the character: the
// seed is a secret, and so is each of its characters.
func ValidateTOTP(seed Secret, o TOTPOptions) error {
	v, err := o.validate()
	if err != nil {
		return err
	}
	const accepted = "(accepted: letters A-Z in either case, digits 2-7, '=' padding at the end only; spaces around the seed are ignored)"
	raw := seed.Reveal()
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("the TOTP seed is empty or only spaces %s", accepted)
	}
	if why := base32Problem(raw); why != "" {
		return fmt.Errorf("the TOTP seed is not base32: %s %s", why, accepted)
	}
	if _, err := totp.GenerateCodeCustom(raw, time.Unix(0, 0), v); err != nil {
		return fmt.Errorf("the TOTP seed is not base32: %s %s", base32LengthProblem(raw), accepted)
	}
	return nil
}

// base32LengthProblem explains a seed of good characters that still does
// not decode: base32 comes in groups of 8 characters, the last one filled
// up with '=', and a group of 1, 3 or 6 characters is not whole bytes.
func base32LengthProblem(s string) string {
	if i := strings.IndexByte(s, '='); i >= 0 {
		return fmt.Sprintf("the '=' padding at character %d does not fit: padding may only fill up the last group of 8 characters (or leave it out)", utf8.RuneCountInString(s[:i])+1)
	}
	return fmt.Sprintf("its %d characters are not a whole number of bytes (a length 1, 3 or 6 more than a multiple of 8 never is): is a character missing or extra?", utf8.RuneCountInString(strings.TrimSpace(s)))
}

// base32Problem names the first character of s that the generator refuses,
// by its position (1-based, counting characters as given) and its kind.
func base32Problem(s string) string {
	trimmed := strings.TrimSpace(s)
	lead := len(s) - len(strings.TrimLeftFunc(s, unicode.IsSpace))
	body := s[lead : lead+len(trimmed)]
	pos := utf8.RuneCountInString(s[:lead])
	padding := false
	for i, r := range body {
		pos++
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(body[i:]); size == 1 {
				return fmt.Sprintf("character %d is a byte that is not UTF-8 text", pos)
			}
		}
		switch {
		case r == '=':
			padding = true
			continue
		case padding:
			return fmt.Sprintf("character %d follows '=' padding, which may only end the seed", pos)
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '2' && r <= '7':
			// Not unicode.ToUpper: the generator pads by byte length before
			// upper-casing, so ı or ſ (which upper-case to I and S) shift
			// its padding and decode to some other key, or none.
			continue
		}
		return fmt.Sprintf("character %d is %s", pos, runeKind(r))
	}
	return ""
}

// runeKind says what kind of character r is, without saying which.
func runeKind(r rune) string {
	switch {
	case r == '0' || r == '1' || r == '8' || r == '9':
		return "a digit 0, 1, 8 or 9 (base32 has only 2-7; for 0 and 1 the letters O and I may be meant)"
	case r == ' ' || r == '\t':
		return "a space or tab inside the seed (remove the spaces between groups)"
	case r == '\r' || r == '\n':
		// The decoder skips line breaks, but the generator counts them
		// when it pads, so a broken seed decodes to a shorter key.
		return "a line break inside the seed (put the seed on one line)"
	case r == '-':
		return "a '-' (remove the dashes between groups)"
	case r < 0x20 || r == 0x7f:
		return "a control character"
	case r < 0x80:
		return "a punctuation mark or symbol"
	case unicode.IsSpace(r):
		return "a non-ASCII space"
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return "a non-ASCII letter or digit (look-alikes of A-Z and 2-7 are not accepted)"
	}
	return "a non-ASCII character"
}

// totpCode is the code for the step at t plus offset steps.
func totpCode(seed Secret, o TOTPOptions, t time.Time, offset int) (string, error) {
	v, err := o.validate()
	if err != nil {
		return "", err
	}
	t = t.Add(time.Duration(offset) * time.Duration(v.Period) * time.Second)
	code, err := totp.GenerateCodeCustom(seed.Reveal(), t, v)
	if err != nil {
		return "", fmt.Errorf("TOTP seed: %v", err)
	}
	return code, nil
}

func totpStep(o TOTPOptions, t time.Time) int64 {
	v, _ := o.validate()
	return t.Unix() / int64(v.Period)
}

// totpLedger remembers which time step each seed last used for a
// successful login in this run. A server that refuses replayed codes
// (TOTP-004) would refuse the next login in the same step, so the next one
// waits for a fresh code, as a person would.
type totpLedger struct {
	mu   sync.Mutex
	used map[[32]byte]int64
}

func (l *totpLedger) key(seed Secret) [32]byte { return sha256.Sum256([]byte(seed.Reveal())) }

// freshTOTP returns a code whose step this run has not used yet, sleeping
// until the next step when needed. The step is reserved at once, so
// parallel cases of one account never share a code.
func (r *runner) freshTOTP() (string, int64, error) {
	a := r.c.Account
	l := r.ledger
	for {
		now := r.clock()
		step := totpStep(a.TOTP, now)
		k := l.key(a.TOTPSecret)
		l.mu.Lock()
		last, seen := l.used[k]
		if !seen || step > last {
			l.used[k] = step
			l.mu.Unlock()
			code, err := totpCode(a.TOTPSecret, a.TOTP, now, a.TOTP.Offset)
			return code, step, err
		}
		l.mu.Unlock()
		v, _ := a.TOTP.validate()
		period := time.Duration(v.Period) * time.Second
		wait := time.Unix((last+1)*int64(v.Period), 0).Sub(now)
		if wait <= 0 || wait > period {
			wait = period
		}
		if err := r.sleep(wait); err != nil {
			return "", 0, err
		}
	}
}

func (r *runner) sleep(d time.Duration) error {
	if r.e.Sleep != nil {
		return r.e.Sleep(r.ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}

// VirtualClock is a clock that runs with real time but jumps forward when
// asked to sleep. The embedded target shares one with its reference server
// so that many logins of one account need not wait for fresh TOTP codes.
type VirtualClock struct {
	mu     sync.Mutex
	offset time.Duration
	// inflight is read-held by each login between computing a code and
	// finishing, and write-held by a jump: a jump under a login would age
	// its code by a step each time.
	inflight sync.RWMutex
}

// Hold keeps the clock from jumping until release is called.
func (v *VirtualClock) Hold() (release func()) {
	v.inflight.RLock()
	return v.inflight.RUnlock
}

// Now is the real time plus every jump so far.
func (v *VirtualClock) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return time.Now().Add(v.offset)
}

// Sleep jumps forward instead of waiting.
func (v *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	v.inflight.Lock()
	defer v.inflight.Unlock()
	v.mu.Lock()
	v.offset += d
	v.mu.Unlock()
	return ctx.Err()
}

// Check validates the options alone (digits, period, algorithm).
func (o TOTPOptions) Check() (TOTPOptions, error) {
	_, err := o.validate()
	return o, err
}
