package sim

import (
	"net/http"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
)

// AxMRegistration is what the tester's stand-in for Apple's Device
// Assignment API saw of one MDM server before the run's devices started:
// every call that server made, and what followed each configuration change
// the tester triggered. It is data, not a live view, so every case of a run
// judges the same registration whatever the scheduling.
type AxMRegistration struct {
	// Server is the AxM MDM server (the token's name) being judged.
	Server string
	// StandIn is the stand-in's base URL, the one the server was told to
	// use in place of https://mdmenrollment.apple.com.
	StandIn string
	// Waited is how long the tester waited for the registration; TimedOut
	// says the wait ended without an accepted POST.
	Waited   time.Duration
	TimedOut bool
	// Calls are the server's API calls, in the order they arrived: /session,
	// /account and the account-driven enrollment profile resource.
	Calls []AxMCall
	// Changes are the configuration changes the tester asked the server to
	// make (admin hooks), in order; empty when none were configured.
	Changes []AxMChange
	// NoChangeHooks explains why Changes is empty ("" when hooks ran).
	NoChangeHooks string
}

// AxMCall is one request the server sent to the stand-in and the answer.
type AxMCall struct {
	Time   time.Time
	Method string
	Path   string // URL path, e.g. /account-driven-enrollment/profile
	// Header is the request's header with credentials (Authorization,
	// X-ADM-Auth-Session) replaced by "[redacted]" when present, so checks
	// can see that they were sent without ever holding them.
	Header http.Header
	Body   []byte // the request body, at most 64 KiB
	// Status and Code are the stand-in's answer: the HTTP status and, for
	// an error, Apple's error code (e.g. MDM_SERVICE_DISCOVERY_URL_NOT_VALID).
	Status int
	Code   string
	// SessionOK says the call carried a session the stand-in had issued
	// (for /session: a valid OAuth 1.0a signature).
	SessionOK bool
}

// AxMChange is one configuration change the tester triggered on the server
// and the API call that followed it, if any, within the wait.
type AxMChange struct {
	// Kind is AxMWithdraw or AxMRestore.
	Kind string
	// Hook is the admin URL the tester POSTed (redacted of nothing: hooks
	// are not secrets, as with AdminHooks).
	Hook      string
	Triggered time.Time
	// HookErr is set when the hook itself failed; the change then says
	// nothing about the server.
	HookErr string
	// Followed is the first call after the trigger that answered it: a
	// DELETE, or a POST of a URL, for a withdrawal; a POST for a restore.
	// Nil when none came within Waited.
	Followed *AxMCall
	Waited   time.Duration
}

// Configuration changes the tester can ask a server to make.
const (
	// AxMWithdraw: account-driven enrollment is turned off on the server,
	// which should remove its registration (DELETE) or point it elsewhere.
	AxMWithdraw = check.AxMWithdraw
	// AxMRestore: it is turned back on, and the server should register
	// again (POST).
	AxMRestore = check.AxMRestore
)
