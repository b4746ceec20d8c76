package sim

import "github.com/enrollsim/enrollsim/sim/check"

// SignInObserver hands each case's observations to f, for the tests that
// save the sign-in's observations and judge them again.
func SignInObserver(e *Engine, f func(caseName string, o *check.Observations)) { e.observed = f }
