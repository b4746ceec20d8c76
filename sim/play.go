package sim

import (
	"context"
	"time"

	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// Player plays single cases for the load mode, sharing between them the
// run-wide redactor (which holds nothing a case learns) and the TOTP
// ledger, so two cases of one account never sign in with the same code.
type Player struct {
	e      *Engine
	red    *secret.Redactor
	ledger *totpLedger
}

// Player returns a Player over the engine's Doer, clock, limits and keys.
func (e *Engine) Player() *Player {
	red := e.Redactor
	if red == nil {
		red = &secret.Redactor{}
	}
	return &Player{e: e, red: red, ledger: newTOTPLedger()}
}

// Play runs one case and returns its outcome, keeping none of its results
// or events: the load mode's workers call it concurrently, each with its
// own emit, and fold the events into aggregates as they come. What the
// case learns (tokens, cookies, codes) is redacted by a redactor of its
// own, dropped when Play returns, so redaction costs the same for the
// ten-thousandth case as for the first. Its exchange events carry the
// request line, status, size, TLS version and error, without headers or
// bodies.
func (p *Player) Play(ctx context.Context, c Case, emit func(event.Event)) string {
	e := p.e
	if e.Doer == nil && c.Target.Doer == nil {
		return event.OutcomeError
	}
	given := e.Clock
	if given == nil {
		given = time.Now
	}
	clock := func() time.Time { return given().Round(0) }
	lim := e.Limits.withDefaults()
	if c.Target.Timeout > 0 {
		lim.Timeout = c.Target.Timeout
	}
	r := &runner{e: e, c: c, ctx: ctx, emit: e.stamping(emit), clock: clock, lim: lim,
		red: p.red.ForCase(c.Account.Password, c.Account.TOTPSecret), ledger: p.ledger, noResults: true}
	return r.play().Outcome
}
