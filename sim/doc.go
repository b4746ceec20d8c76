// Package sim is the engine of enrollsim: it plays Apple devices through
// account-driven enrollment against a server, and the device's life after
// the profile, and reports everything that happens as a stream of events.
//
// # The engine
//
// Engine.Run(ctx, plan, emit) plays each Case of a Plan (one device, one
// account, one target) through the steps of event.Flow, in that order. It
// never prints, reads flags or files, or exits: the HTTP client (Doer), the
// clocks, the limits, the web-login driver and a Gate that may hold each
// step (the step-through TUI) are injected.
//
// A step does the HTTP and the probes (the tester's extra requests, which
// restore any server state they change), fills in its observation (package
// sim/check), and hands it to the judges of the groups it observes for;
// the engine emits what they return. No step judges by itself: a test plays
// the reference server's faults and shows that judging the saved
// observations again gives exactly the engine's results.
//
// # The event contract
//
// emit is called from one goroutine at a time, in this order (package
// sim/event has the vocabulary):
//
//	run-start
//	  case-start                            (per case, in plan order)
//	    step-start                          (per step the case plays, in event.Flow order)
//	      exchange | wait | artifact ...    (HTTP exchanges, probes marked Probe)
//	      check ...                         (results of the step's judges, in the order judged)
//	    step-end                            (how the step ended: ok, failed, refused, error, skipped)
//	    check ...                           (the transport checks, SEC, after the last step)
//	  case-end                              (the outcome, the facts the case learned)
//	run-end
//
// Every event is already redacted: passwords, seeds, tokens, cookies and
// codes never appear in one, in any derived form. With Parallel above one,
// cases play at once and each case's events are held back and emitted whole,
// in plan order, so every consumer sees the stream a serial run gives.
// A case's verdicts never depend on how the run is scheduled.
//
// The vocabulary types (Event, Step, Result, Device...) are aliases of
// packages sim/event, sim/check and sim/device: a formatter or a dashboard
// imports those and not the engine's protocol libraries.
package sim
