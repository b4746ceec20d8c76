package sim

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
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
func ValidateTOTP(seed secret.Secret, o TOTPOptions) error {
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
func totpCode(seed secret.Secret, o TOTPOptions, t time.Time, offset int) (string, error) {
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

// TOTPClock gives each TOTP seed a time of its own, so that waiting for a
// fresh code of one account can be a jump of that account's second-factor
// time that ages nothing else. The embedded target's VirtualClock is one.
type TOTPClock interface {
	// TOTPNow is the time at which seed's codes are computed and judged.
	TOTPNow(seed string) time.Time
	// Advance moves seed's time forward by d.
	Advance(seed string, d time.Duration)
}

// totpLedger is a run's record of the second factor, per seed: which time
// step was last used and by which case, and whose turn it is to sign in.
//
// A server refuses a code it has accepted once (TOTP-004), so two cases of
// one account must not send the same step's code, and a case's own probes
// replay its code a step later (TOTP-004) or send one two steps old
// (TOTP-005): their verdicts hold only if no other case moves that
// account's steps in between. So cases of one account sign in one after
// another: a case takes its account's turn before the first page of its
// sign-in and keeps it until its last probe. Within the turn it alone
// advances the account's steps, by a real wait against a deployed server
// or by a jump of the account's own virtual time against the embedded one.
// The jump ages no session, code or token of any case (those age by the
// wall clock) and no other account's codes, and it takes no lock: the turn
// is the only lock a case waits for, it is taken once per case and never
// while holding another, so no case can wait for itself or for a case
// that waits for it, at any --parallel. The turn lives inside one step
// (released by a defer, so a panic releases it too) and a Gate holds the
// engine only between steps, so the TUI never pauses a case that has one.
type totpLedger struct {
	mu     sync.Mutex
	used   map[[32]byte]int64
	usedBy map[[32]byte]string        // case that used the step in used
	turns  map[[32]byte]chan struct{} // a full channel: someone's turn
	holder map[[32]byte]string        // case whose turn it is
	// skipped is the TOTP time jumped over instead of waited for, summed
	// over accounts: the run-end event reports it apart from wall time.
	skipped time.Duration
}

func newTOTPLedger() *totpLedger {
	return &totpLedger{used: map[[32]byte]int64{}, usedBy: map[[32]byte]string{},
		turns: map[[32]byte]chan struct{}{}, holder: map[[32]byte]string{}}
}

// seedKey names a seed without keeping it: base32 seeds that differ only
// in case, padding or surrounding space are one seed to an authenticator.
func seedKey(seed string) [32]byte {
	return sha256.Sum256([]byte(strings.TrimRight(strings.ToUpper(strings.TrimSpace(seed)), "=")))
}

func (l *totpLedger) key(seed secret.Secret) [32]byte { return seedKey(seed.Reveal()) }

func (l *totpLedger) turn(k [32]byte) chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := l.turns[k]
	if ch == nil {
		ch = make(chan struct{}, 1)
		l.turns[k] = ch
	}
	return ch
}

// takeTurn waits until no other case of this account is signing in. It is
// a no-op for an account without a second factor, and for a case that has
// its turn already, so a step cannot wait for its own turn.
func (r *runner) takeTurn() (release func(), err error) {
	if !r.c.Account.hasSecondFactor() || r.turnHeld {
		return func() {}, nil
	}
	l := r.ledger
	k := l.key(r.c.Account.TOTPSecret)
	ch := l.turn(k)
	select {
	case ch <- struct{}{}:
	default:
		if r.e.TOTPClock == nil {
			l.mu.Lock()
			by := l.holder[k]
			l.mu.Unlock()
			r.wait(0, fmt.Sprintf("waiting for case %s to finish signing in as %s: cases of one account sign in one after another, as each TOTP code works once", by, r.c.Account.Identifier))
		}
		select {
		case ch <- struct{}{}:
		case <-r.ctx.Done():
			return func() {}, r.ctx.Err()
		}
	}
	l.mu.Lock()
	l.holder[k] = r.c.Name
	l.mu.Unlock()
	r.turnHeld = true
	return func() {
		r.turnHeld = false
		<-ch
	}, nil
}

// totpNow is the time of this case's second factor.
func (r *runner) totpNow() time.Time {
	if tc := r.e.TOTPClock; tc != nil {
		return tc.TOTPNow(r.c.Account.TOTPSecret.Reveal())
	}
	return r.clock()
}

// freshTOTP returns a code whose step this run has not used yet, waiting
// for the next step when needed (see totpLedger: the caller has its
// account's turn). The step is reserved at once.
func (r *runner) freshTOTP() (string, int64, error) {
	a := r.c.Account
	l := r.ledger
	k := l.key(a.TOTPSecret)
	v, _ := a.TOTP.validate()
	period := time.Duration(v.Period) * time.Second
	for waits := 0; ; waits++ {
		now := r.totpNow()
		step := totpStep(a.TOTP, now)
		if waits > 3 {
			// Every wait is a period at most: a clock that has not
			// reached the next step after several is stopped, and the
			// case would wait for ever.
			return "", 0, fmt.Errorf("the run's clock stays at %s: after %d waits no fresh TOTP step came (an injected clock that does not move?)", now.Format(time.RFC3339), waits)
		}
		l.mu.Lock()
		last, seen := l.used[k]
		if !seen || step > last {
			l.used[k], l.usedBy[k] = step, r.c.Name
			l.mu.Unlock()
			code, err := totpCode(a.TOTPSecret, a.TOTP, now, a.TOTP.Offset)
			return code, step, err
		}
		by := l.usedBy[k]
		l.mu.Unlock()
		wait := time.Unix((last+1)*int64(v.Period), 0).Sub(now)
		if wait <= 0 || wait > period {
			wait = period
		}
		if tc := r.e.TOTPClock; tc != nil {
			tc.Advance(a.TOTPSecret.Reveal(), wait)
			l.mu.Lock()
			l.skipped += wait
			l.mu.Unlock()
			continue
		}
		whose := "case " + by
		if by == r.c.Name {
			whose = "this case"
		}
		r.wait(wait, fmt.Sprintf("waiting %s for the next TOTP step of %s: its current code was used by %s",
			roundSeconds(wait), a.Identifier, whose))
		if err := r.sleep(wait); err != nil {
			return "", 0, err
		}
	}
}

// roundSeconds prints a wait as people read it: "17 s", never "0 s".
func roundSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d s", s)
}

// wait tells consumers that the case is waiting, so a pause of up to a
// TOTP period against a deployed server is shown rather than hidden.
func (r *runner) wait(d time.Duration, msg string) {
	r.emit(event.Event{Kind: event.EventWait, Time: r.clock(), Case: r.c.Name, Step: r.step, Wait: d, Message: r.red.Redact(msg)})
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

// VirtualClock is the embedded target's clock. Its Now is the wall clock,
// so the reference server's sessions, codes and tokens age as they would
// in a real sign-in. On top of it each TOTP seed has an offset of its own,
// which Advance moves forward: the engine jumps an account's offset
// instead of waiting up to 30 s for a fresh code, and the reference server
// judges that account's codes at the same offset (refserver.Config.TOTPNow),
// so the jump changes nothing but which codes of that one account are
// current.
type VirtualClock struct {
	mu      sync.Mutex
	offsets map[[32]byte]time.Duration
	jumped  time.Duration
	workers map[string]time.Duration // per enrollment: WorkerNow (poll.go)
	// workerHooks run after each AdvanceWorker (OnWorkerAdvance).
	workerHooks []func(enrollment string)
}

// Now is the wall clock.
func (v *VirtualClock) Now() time.Time { return time.Now() }

// TOTPNow is the wall clock plus every jump of this seed so far.
func (v *VirtualClock) TOTPNow(seed string) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return time.Now().Add(v.offsets[seedKey(seed)])
}

// Advance jumps seed's time forward by d instead of waiting.
func (v *VirtualClock) Advance(seed string, d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.offsets == nil {
		v.offsets = map[[32]byte]time.Duration{}
	}
	v.offsets[seedKey(seed)] += d
	v.jumped += d
}

// Simulated is the sum of every jump: the waiting for fresh TOTP codes the
// run skipped, for reports that show simulated time apart from wall time.
func (v *VirtualClock) Simulated() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.jumped
}

// Check validates the options alone (digits, period, algorithm).
func (o TOTPOptions) Check() (TOTPOptions, error) {
	_, err := o.validate()
	return o, err
}
