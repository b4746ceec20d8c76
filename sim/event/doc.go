// Package event is the vocabulary of a run: the events the engine emits,
// the steps of the flow in their order (Flow, written once), how steps and
// cases end (StepStatus, the Outcome codes) and how far a case goes after
// the profile (Until).
//
// The stream is, per run: run-start; per case, in plan order, case-start,
// then per step step-start, the step's exchanges, waits and artifacts, its
// check results, and step-end; after the last step the transport checks;
// then case-end; and finally run-end. Every event is redacted before it is
// emitted: consumers print or store it as is. The jsonl report is this
// stream, one event per line, so any report can be rendered again from it.
//
// The package imports no protocol library (only sim/check and sim/device,
// which are vocabulary too), so report, the TUI and the load mode read
// events without the engine's dependencies.
package event
