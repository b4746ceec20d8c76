// Package check holds the verdicts of enrollsim: the catalogue of checks
// (from the spec digest's section 4, and the checks beyond it), the result
// vocabulary (Level, Status, Result, filters, known findings), the
// observations the engine's steps fill in, and one pure judge per group of
// checks (WK, RD, ABM, ENR, AUTH, TOTP, TOK, PROF, CHK, SEC).
//
// A judge takes observations and returns Verdicts: a result for every check
// it owns each time it runs, skips with their reasons included. It sends
// nothing and reads no clock, and the package stands on the standard
// library alone (a test holds both): what a step saw is all a verdict
// depends on. A group may have a judge per observation it reads (TOK reads
// the enrollment, the profile, check-in and the token's life); every check
// is judged by one group only.
//
// The judges are table-tested over saved observations
// (testdata/observations, recorded from the reference server's faults by
// sim's TestObservationsAreWhatTheEngineJudged with -update-observations),
// without a server or the engine.
package check
