package sim

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/keys"
	"github.com/enrollsim/enrollsim/sim/secret"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// Doer sends one HTTP request. It must not follow redirects: the engine
// follows each hop itself so that checks see every hop.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Clock tells the time; injected so TOTP codes and reports are repeatable.
type Clock func() time.Time

// Gate lets a driver (the step-through TUI) hold the engine before each step.
// Returning an error stops the case.
type Gate interface {
	Before(ctx context.Context, caseName string, step event.Step) error
}

// Limits bound every network step, so a hostile server cannot hang or
// exhaust the simulator.
type Limits struct {
	Timeout       time.Duration // per request, body included
	MaxHops       int           // redirects followed in one discovery chain
	DiscoveryBody int64         // bytes of a discovery or token answer (a hard cap; SEC-003 warns above 64 KiB)
	PageBody      int64         // bytes of a login page
	ProfileBody   int64         // bytes of an enrollment profile (SEC-003: 1 MiB)
	ExcerptBody   int           // bytes of a body kept in an exchange event
	StepTimeout   time.Duration // a whole sign-in, all its pages together
	PageTimeout   time.Duration // one page in the browser: a field to appear, or the page to move after a submit
}

// DefaultLimits are the limits used when a field is zero. The 15 s timeout is
// below the device's 90 s (WK-015) so a slow server is seen without waiting.
// The body caps are hard caps, generous beside SEC-003's bounds: Apple
// sets no bound on the discovery document, so under the cap a body is
// judged on its content and SEC-003 reports its size. Past a cap a check
// is error (the simulator could not judge), never the step's own FAIL.
var DefaultLimits = Limits{
	Timeout:       15 * time.Second,
	MaxHops:       10,
	DiscoveryBody: 1 << 20, // a hard cap; SEC-003 warns above 64 KiB
	PageBody:      1 << 20,
	ProfileBody:   8 << 20, // a hard cap; SEC-003 warns above 1 MiB
	ExcerptBody:   2048,
	StepTimeout:   60 * time.Second,
	PageTimeout:   10 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Timeout > 0 {
		d.Timeout = l.Timeout
	}
	if l.MaxHops > 0 {
		d.MaxHops = l.MaxHops
	}
	if l.DiscoveryBody > 0 {
		d.DiscoveryBody = l.DiscoveryBody
	}
	if l.PageBody > 0 {
		d.PageBody = l.PageBody
	}
	if l.ProfileBody > 0 {
		d.ProfileBody = l.ProfileBody
	}
	if l.ExcerptBody > 0 {
		d.ExcerptBody = l.ExcerptBody
	}
	if l.StepTimeout > 0 {
		d.StepTimeout = l.StepTimeout
	}
	if l.PageTimeout > 0 {
		d.PageTimeout = l.PageTimeout
	}
	return d
}

// EnrollmentType is what the scenario asks the device to do.
type EnrollmentType string

// Enrollment types. Auto takes whatever discovery returns.
const (
	TypeAuto   EnrollmentType = ""
	TypeUser   EnrollmentType = "user"   // ADUE, mdm-byod
	TypeDevice EnrollmentType = "device" // ADDE, mdm-adde
)

// ParseEnrollmentType reads a --type value.
func ParseEnrollmentType(s string) (EnrollmentType, error) {
	switch s {
	case "", "auto":
		return TypeAuto, nil
	case "user", "byod", "adue":
		return TypeUser, nil
	case "device", "adde":
		return TypeDevice, nil
	}
	return "", fmt.Errorf("enrollment type %q: want user (account-driven user enrollment, BYOD), device (account-driven device enrollment) or auto", s)
}

// ServerVersion is the discovery document's Version for this type.
func (t EnrollmentType) ServerVersion() string {
	switch t {
	case TypeUser:
		return "mdm-byod"
	case TypeDevice:
		return "mdm-adde"
	}
	return ""
}

func (t EnrollmentType) label() string {
	if t == TypeAuto {
		return "auto"
	}
	return string(t)
}

// Account is who signs in on the device.
type Account struct {
	Identifier string // what the user types, e.g. alice@acme.test
	// Username for the login form; empty means the identifier.
	Username   string
	Password   secret.Secret
	TOTPSecret secret.Secret // base32 seed; empty means no second factor is declared
	TOTP       TOTPOptions
	// ManagedAppleID the profile should assign; empty means the identifier.
	ManagedAppleID string
}

// Target is the server side of a case beyond the identifier's domain.
type Target struct {
	Name string // for reports: "embedded reference server", a base URL...
	// AxMURL is the device-side AxM discovery endpoint (Apple's is
	// https://axm-servicediscovery.apple.com/mdmBaseURL).
	AxMURL string
	// AxMDeclared says the server registered a discovery URL with AxM, so the
	// registered URL is probed even when the domain discovery works
	// (ABM-003/004/009).
	AxMDeclared bool
	// Doer, when set, replaces the engine's for this case: the embedded
	// target runs one reference server per fault set.
	Doer Doer
	// StockRoots stand for the trust store of a stock device (SEC-002); nil
	// means this machine's system roots.
	StockRoots *x509.CertPool
	// Timeout, when set, replaces Limits.Timeout for this target's cases.
	Timeout time.Duration
	// Keys, when set, hands out this target's device keys in place of the
	// engine's pool: the embedded reference server takes keys.Reused.
	Keys *keys.Pool
	// Admin are the server's test triggers the token-life probes call;
	// empty: not configured, and the checks that need them skip.
	Admin AdminHooks
	// AxM, when set, is what the tester's Device Assignment API stand-in
	// saw of the server's registration (ABM-001/002/006/007); nil: the
	// registration is not under test.
	AxM *AxMRegistration
	// Prepare, when set, runs before each case's first step, in the case's
	// time: what the target needs done once before any of its cases (the
	// embedded server's AxM observation, which fills AxM), guarded by the
	// target itself so that it runs once and every case waits for it.
	Prepare func(context.Context)
	// Push, when set, is where pushes to this target's devices land (the
	// APNs stand-in its server pushes through): after an empty answer a
	// device waits for a push instead of polling (push.go). Nil: it polls.
	Push PushReceiver
}

// AdminHooks are URL templates of a server's test triggers, POSTed with no
// body; {id} stands for the enrollment's EnrollmentID (user enrollment) or
// UDID (device enrollment).
type AdminHooks struct {
	RevokeToken string // the next request of the enrollment gets a 401 challenge
	ExpireToken string // the token counts as past its expires_in
	Unenroll    string // the next request gets 403 com.apple.unrecognized.device
	// Queue makes the server queue a command for the enrollment (and push):
	// the command plist ({CommandUUID, Command}) is the body. POSTed, or
	// PUT when the template starts with "PUT " (NanoMDM's /v1/enqueue/{id}).
	Queue string
	// Declarations adds a declaration (POST, the declaration JSON as the
	// body) and, with &identifier=X appended, removes one (DELETE): the
	// DDM-002 probe changes the set through it and changes it back.
	Declarations string
}

// AppleAxMURL is the AxM endpoint real devices ask (spec §2.0).
const AppleAxMURL = "https://axm-servicediscovery.apple.com/mdmBaseURL"

// DeviceOptions select observed device behaviour where it differs from
// Apple's documentation (DESIGN.md: the engine follows Apple by default).
type DeviceOptions struct {
	// Locked plays a device that stays locked (passcode set, Data
	// Protection keys unavailable): commands that need it unlocked are
	// answered NotNow (mdmcmd.State.Locked).
	Locked bool
	// ExactlyOneAt rejects identifiers with several '@' as the iOS 26.1
	// client does, instead of splitting at the last one.
	ExactlyOneAt bool
	// OmitModelFamily leaves model-family out of the well-known query, as
	// clients before ADDE may have done.
	OmitModelFamily bool
	// NoFallbackOnRejection stops at a 403 com.apple.well-known.failed
	// instead of asking AxM (the spec leaves open which one devices do).
	NoFallbackOnRejection bool
	// FormEncodedBody sends the enrollment POST as
	// application/x-www-form-urlencoded, as iOS 15 did, instead of
	// application/pkcs7-signature.
	FormEncodedBody bool
	// AppendLoginQuery adds user-identifier to the apple-as-web URL's query
	// (Apple's wording) instead of replacing the query (the default, as the
	// iOS 26.1 client and this issue's brief do).
	AppendLoginQuery bool
}

// Expect is what the scenario expects, as far as checks depend on it.
type Expect struct {
	// Enroll says the account should enroll on this device; a discovery
	// failure then fails WK-001.
	Enroll bool
	// Trips lists checks the scenario expects to fail or warn (a negative
	// scenario against a faulty server). Reports count them as expected.
	Trips []string
	// Known are check patterns (as --checks) of findings the deployment is
	// known to have (an expectations file): tripping them is expected, as
	// with Trips, but not tripping them does not fail the case.
	Known []string
	// Outcome is the expected outcome code ("" for no expectation).
	Outcome string
	// Facts are expected facts of the case (Event.Facts), e.g.
	// {"via": "axm-fallback", "server": "mdm-adde", "redirects": "1"}.
	Facts map[string]string
	// CommandTypes are RequestTypes the device must have answered, in any
	// order (scenario expect.commands as a list); a count of commands is
	// the fact "commands" in Facts.
	CommandTypes []string
}

// Case is one device, one account, one target.
type Case struct {
	Name    string
	Device  device.Device
	Account Account
	Type    EnrollmentType
	Target  Target
	Options DeviceOptions
	Expect  Expect
	// Login overrides the login form detection (CSS selectors, fixed fields).
	Login LoginFields
	// ReplayBody is a captured device enrollment body (DER CMS) to send
	// instead of the simulator's self-signed one, for servers that verify
	// Apple's device signature.
	ReplayBody []byte
	// NoProbes skips the tester's extra requests (wrong passwords, wrong
	// codes, other content types...): for servers with lockout policies.
	NoProbes bool
	// DiscoveryOnly ends the case after discovery.
	DiscoveryOnly bool
	// Until says how far the case goes after the profile; zero: commands.
	Until event.Until
	// Poll is how often the device connects again after an empty answer,
	// a tester's stand-in for the push it cannot receive (poll.go): zero
	// DefaultPoll, below zero never.
	Poll time.Duration
	// Stay, when positive, keeps the device polling this long (waits
	// added up), answering what arrives; zero: it polls only until its
	// first command, up to DefaultPollFor.
	Stay time.Duration
	// Actions are server actions scripted for the stay (actions.go): the
	// target's Queue hook queues a command, which the device must answer
	// in time. They keep the device staying until each is due and judged.
	Actions []Action
	// Scenario, Suite, Description and Tags label the case in reports.
	Scenario, Suite, Description string
	Tags                         []string
}

// LoginFields override the web login's form detection.
type LoginFields struct {
	Form, Username, Password, OTP, Submit string
	Extra                                 map[string]string
	// Driver chooses the web login driver: DriverAuto (""), DriverForm or
	// DriverBrowser.
	Driver string
}

// Web login drivers (--login-driver, login.driver).
const (
	DriverAuto    = "auto"    // the form driver, then the browser when a page needs JavaScript
	DriverForm    = "form"    // HTML forms without JavaScript only
	DriverBrowser = "browser" // a real browser engine from the start
)

// ParseLoginDriver reads a --login-driver value.
func ParseLoginDriver(s string) (string, error) {
	switch s {
	case "", DriverAuto:
		return DriverAuto, nil
	case DriverForm, DriverBrowser:
		return s, nil
	}
	return "", fmt.Errorf("login driver %q: want form (HTML forms, no JavaScript), browser (Chromium) or auto (form first, the browser when a page needs JavaScript)", s)
}

// Plan is what a run plays.
type Plan struct {
	Cases []Case
	// Began is when the run began, its setup included (servers started,
	// files read): the run-start event's time, so that a report's wall
	// time counts the setup too. Zero: when Run is called.
	Began time.Time
}

// Engine plays cases and reports everything as events. It never prints,
// reads flags or files, or exits.
type Engine struct {
	Doer   Doer
	Clock  Clock
	Limits Limits
	Gate   Gate
	// Browser is the web login driver that runs JavaScript (package
	// sim/chromium); nil means none is available, and pages that need
	// JavaScript end the case in error.
	Browser weblogin.Driver
	// NoScreenshots: nobody keeps the pictures of this run's browser
	// sign-ins, so the browser takes none (each costs a frame of the page
	// and about 70 ms before its submit).
	NoScreenshots bool
	// Checks selects which checks are reported; nil reports all.
	Checks check.Filter
	// Redactor receives the plan's secrets (the accounts' passwords and
	// seeds); a fresh one is used when nil. What a case learns (tokens,
	// cookies, codes) goes to a redactor of its own (ForCase), dropped when
	// the case ends.
	Redactor *secret.Redactor
	// TOTPClock, when set, gives each account's second factor its own time
	// and turns the wait for a fresh code into a jump of it; the embedded
	// target passes its VirtualClock. Nil: codes follow Clock, and waits
	// are real (Sleep), shown as wait events.
	TOTPClock TOTPClock
	// WorkerClock, when set, turns the device's poll waits into jumps of
	// its enrollment's worker time (the embedded target's VirtualClock);
	// nil: the waits are real (Sleep).
	WorkerClock WorkerClock
	// Parallel plays this many cases at once (1 or 0: one after another).
	// A Gate forces one at a time.
	Parallel int
	// Sleep waits for a fresh TOTP step when TOTPClock is nil; nil sleeps
	// for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// Keys hands out the devices' identity keys; nil uses keys.Default. The
	// load mode shares one warmed pool between its devices.
	Keys *keys.Pool
	// Wall, set when Clock is simulated, is the real clock: every event
	// carries its reading too (Event.Wall), so reports give the run's wall
	// time and its simulated time apart.
	Wall Clock
	// Discard makes Run return each case's name and outcome only: a long
	// run then holds no per-case results beyond what its emit keeps.
	Discard bool
	// deviceSeed, set by tests only (SetDeviceSeed), makes every run's
	// devices the same ones, so that two runs against two servers can be
	// compared record by record.
	deviceSeed string
	// observed, set by tests only, receives each case's observations when
	// the case ends: they are saved as the judges' table-test inputs.
	observed func(caseName string, o *check.Observations)

	ledger *totpLedger // totpLedger; a copy of the engine shares it
}

// CaseReport is what Run returns per case, for callers that do not want
// to fold the event stream themselves.
type CaseReport struct {
	Name    string
	Outcome string
	// Message is the case-end event's message, redacted: why a case that
	// did not enroll stopped (the sign-in driver's reason, the step that
	// failed), so a caller can say why without the event stream.
	Message string
	Results []check.Result
}

// totpLedger is the codes this engine's cases signed in with, kept across
// its runs: a second run of the same account within one TOTP step would
// otherwise send the code the server has seen, be refused, and sign in
// again (a test or a benchmark that runs one engine many times did).
func (e *Engine) totpLedger() *totpLedger {
	ledgerInit.Lock()
	defer ledgerInit.Unlock()
	if e.ledger == nil {
		e.ledger = newTOTPLedger()
	}
	return e.ledger
}

// ledgerInit guards the first use of an engine's ledger; a mutex of the
// package, not the engine's, as engines are copied by value.
var ledgerInit sync.Mutex

// Run plays every case of the plan in order and calls emit for each event.
// It returns a context error when interrupted; failing checks are not errors.
func (e *Engine) Run(ctx context.Context, plan Plan, emit func(event.Event)) ([]CaseReport, error) {
	for _, c := range plan.Cases {
		if e.Doer == nil && c.Target.Doer == nil {
			return nil, errors.New("engine: no Doer (HTTP client) configured for case " + c.Name)
		}
	}
	given := e.Clock
	if given == nil {
		given = time.Now
	}
	// Event times lose their monotonic reading when a run is saved as
	// jsonl; dropping it here makes every duration a live report shows
	// the one a re-rendered report computes from the saved stream.
	clock := func() time.Time { return given().Round(0) }
	red := e.Redactor
	if red == nil {
		red = &secret.Redactor{}
	}
	for _, c := range plan.Cases {
		red.AddSecret(c.Account.Password)
		red.AddSecret(c.Account.TOTPSecret)
	}
	ledger := e.totpLedger()
	ledger.mu.Lock()
	skippedBefore := ledger.skipped
	ledger.mu.Unlock()
	began := clock()
	if !plan.Began.IsZero() && plan.Began.Before(began) {
		began = plan.Began.Round(0)
	}
	emit(e.stamp(event.Event{Kind: event.EventRunStart, Time: began, Run: &event.RunInfo{Cases: len(plan.Cases)}}))
	newRunner := func(c Case, emit func(event.Event)) *runner {
		// Stamped where the event happens: parallel cases hold theirs
		// back and emit them later.
		emit = e.stamping(emit)
		lim := e.Limits.withDefaults()
		if c.Target.Timeout > 0 {
			lim.Timeout = c.Target.Timeout
		}
		return &runner{e: e, c: c, ctx: ctx, emit: emit, clock: clock, lim: lim, red: red.ForCase(c.Account.Password, c.Account.TOTPSecret), ledger: ledger}
	}
	var reports []CaseReport
	if e.Parallel > 1 && e.Gate == nil {
		reports = e.runParallel(ctx, plan, emit, newRunner)
	} else {
		for _, c := range plan.Cases {
			if ctx.Err() != nil {
				break
			}
			rep := newRunner(c, emit).play()
			if e.Discard {
				rep.Results, rep.Message = nil, ""
			}
			reports = append(reports, rep)
			if rep.Outcome == event.OutcomeInterrupted {
				break
			}
		}
	}
	ledger.mu.Lock()
	skipped := ledger.skipped - skippedBefore
	ledger.mu.Unlock()
	emit(e.stamp(event.Event{Kind: event.EventRunEnd, Time: clock(), TOTPSkipped: skipped}))
	if err := ctx.Err(); err != nil && len(reports) < len(plan.Cases) || interrupted(reports) {
		if err == nil {
			err = context.Canceled
		}
		return reports, err
	}
	return reports, nil
}

func interrupted(reps []CaseReport) bool {
	for _, r := range reps {
		if r.Outcome == event.OutcomeInterrupted {
			return true
		}
	}
	return false
}

// stamp sets the event's wall time when the run's clock is simulated.
func (e *Engine) stamp(ev event.Event) event.Event {
	if e.Wall != nil {
		ev.Wall = e.Wall()
	}
	return ev
}

func (e *Engine) stamping(emit func(event.Event)) func(event.Event) {
	if e.Wall == nil {
		return emit
	}
	return func(ev event.Event) { emit(e.stamp(ev)) }
}

// runParallel plays up to e.Parallel cases at once. Each case's events are
// held back and emitted whole, in plan order, so every consumer (text,
// reports) sees the same stream a serial run would give, and emit is never
// called from two goroutines at once.
func (e *Engine) runParallel(ctx context.Context, plan Plan, emit func(event.Event), newRunner func(Case, func(event.Event)) *runner) []CaseReport {
	n := len(plan.Cases)
	type done struct {
		rep    CaseReport
		events []event.Event
		ok     bool
	}
	results := make([]done, n)
	finished := make(chan int, n)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < e.Parallel && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				var buf []event.Event
				rep := newRunner(plan.Cases[i], func(ev event.Event) { buf = append(buf, ev) }).play()
				if e.Discard {
					rep.Results, rep.Message = nil, ""
				}
				results[i] = done{rep, buf, true}
				finished <- i
			}
		}()
	}
	go func() {
		defer close(work)
		for i := 0; i < n; i++ {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(finished) }()
	var reports []CaseReport
	next := 0
	// ready is this goroutine's own record of finished cases: a result is
	// read only after its worker's send on finished, never while another
	// worker may be writing next to it.
	ready := make([]bool, n)
	for i := range finished {
		ready[i] = true
		for next < n && ready[next] {
			for _, ev := range results[next].events {
				emit(ev)
			}
			// Emitted events are the consumer's now: holding them
			// until the run ends would make a run's heap grow with
			// its cases.
			results[next].events = nil
			reports = append(reports, results[next].rep)
			next++
		}
	}
	return reports
}

// runner holds the state of one case while it plays.
type runner struct {
	// noResults: the caller folds the events into aggregates (the load
	// mode's Player): no report is kept, which was a tenth of a case's
	// allocations, and exchanges carry their request line, status and
	// error but no headers or bodies.
	noResults bool
	e         *Engine
	c         Case
	ctx       context.Context
	emit      func(event.Event)
	clock     Clock
	lim       Limits
	red       *secret.Redactor
	ledger    *totpLedger
	seq       int
	// turnHeld: this case has its account's turn to sign in (takeTurn).
	turnHeld bool

	step    event.Step
	results []check.Result
	// stepSeqs are the exchanges of the step playing, for the checks it
	// judges (event.Event.Judged).
	stepSeqs []int

	// What the flow has learned so far.
	user, domain string
	discovery    *discoveryState
	enroll       *enrollState
	oauth        *oauthState
	deviceResps  []deviceResponse
	limitIssues  []string // SEC-003 findings that are not one response's size or time
	insecure     []string // SEC-001: sign-in requests a page made over plain http
	// driver plays the web logins of this case: the form driver, or the
	// browser once a page needed JavaScript (probes then use it too).
	driver weblogin.Driver
	// artifacts counts the screenshots emitted, for their names.
	artifacts int
	// probing marks every request a probe while a probe plays a whole
	// flow of its own (the second device of CHK-009).
	probing bool
	// deviceSeed makes this case's device one of its own: cases of the
	// same name, in parallel or in two runs against one server, must not
	// share an EnrollmentID or UDID.
	deviceSeed string

	// After the profile (§2.13-2.14).
	identity *identityState // the SCEP identity (identity.go)
	mdm      *mdmState      // check-in, connect and commands (checkin.go)
	esso     *essoState     // what Enrollment SSO installed (esso.go)

	// obs is what the steps observed for the judges (package check).
	obs check.Observations
}

// facts are what the case learned, for scenario expectations.
func (r *runner) facts() map[string]string {
	f := map[string]string{}
	if d := r.discovery; d != nil {
		if d.domain != nil && len(d.domain.hops) > 0 {
			f["redirects"] = fmt.Sprint(len(d.domain.hops) - 1)
		}
		if d.via != "" {
			f["via"], f["server"], f["base_url"] = d.via, d.version, d.baseURL
		}
	}
	if e := r.enroll; e != nil {
		if e.method != "" {
			f["method"] = e.method
		}
		f["body"] = e.bodyKind
		if e.profile != nil {
			if m := e.profile.MDM(); len(m) > 0 {
				f["enrollment_mode"], _ = m[0].String("EnrollmentMode")
				f["assigned"], _ = m[0].String("AssignedManagedAppleID")
			}
		}
	}
	r.mdmFacts(f)
	if len(f) == 0 {
		return nil
	}
	return f
}

// stop ends the flow with an outcome; steps return it.
type stop struct {
	outcome string
	message string
}

func (r *runner) play() CaseReport {
	c := r.c
	r.emit(event.Event{Kind: event.EventCaseStart, Time: r.clock(), Case: c.Name, Info: &event.CaseInfo{
		Device: c.Device, Identifier: c.Account.Identifier, Type: c.Type.label(), Target: c.Target.Name,
		Expect:      map[bool]string{true: "enroll", false: "no enrollment"}[c.Expect.Enroll],
		ExpectTrips: c.Expect.Trips, KnownTrips: c.Expect.Known, ExpectOutcome: c.Expect.Outcome, ExpectFacts: c.Expect.Facts,
		ExpectCommandTypes: c.Expect.CommandTypes, Until: string(c.Until),
		Scenario: c.Scenario, Suite: c.Suite, Description: c.Description, Tags: c.Tags, Checks: r.e.Checks,
		Body: map[bool]string{true: "replayed capture", false: "self-signed"}[len(c.ReplayBody) > 0],
	}})
	var outcome, msg string
	var facts map[string]string
	// Steps recover their own panics; this catches the code between and
	// after them (the transport checks), so no panic ends the run.
	bug, stack := r.recovered("case "+c.Name, func() {
		if c.Target.Prepare != nil {
			c.Target.Prepare(r.ctx)
		}
		outcome, msg = r.flow()
		facts = r.facts()
	})
	if bug != "" {
		outcome, msg, facts = event.OutcomeError, bug, nil
	}
	msg = truncate(r.red.Redact(msg), maxResultText)
	if r.e.observed != nil {
		r.e.observed(c.Name, &r.obs)
	}
	r.emit(event.Event{Kind: event.EventCaseEnd, Time: r.clock(), Case: c.Name, Outcome: outcome, Message: msg, Facts: facts, Stack: stack})
	return CaseReport{Name: c.Name, Outcome: outcome, Message: msg, Results: r.results}
}

// IssueTracker is where a panic's hint asks users to report it.
const IssueTracker = "https://github.com/enrollsim/enrollsim/issues"

// recovered runs f and turns a panic in it into the message of an enrollsim
// bug and the goroutine's stack, both redacted. A panic is the tester's own
// fault, never the server's: the case ends error, the run goes on.
func (r *runner) recovered(where string, f func()) (msg, stack string) {
	defer func() {
		if v := recover(); v != nil {
			msg = r.red.Redact(fmt.Sprintf("enrollsim bug: panic in %s: %v — please report it at %s with the jsonl report (--report jsonl=run.jsonl)", where, v, IssueTracker))
			stack = r.red.Redact(string(debug.Stack()))
		}
	}()
	f()
	return "", ""
}

// flow plays the steps in event.Flow's order, those this case takes; each
// returns nil to go on or a stop.
func (r *runner) flow() (string, string) {
	defer r.judgeTransport()
	defer r.closePush()
	steps := map[event.Step]func() (*stop, event.StepStatus, string){
		event.StepSignIn: r.signIn, event.StepRegistration: r.registrationStep, event.StepDiscovery: r.discover,
		event.StepFallback: r.fallback, event.StepDocument: r.processDocument, event.StepChallenge: r.enrollChallenge, event.StepESSO: r.essoStep,
		event.StepWebLogin: r.webLogin, event.StepOAuth2: r.oauth2, event.StepEnroll: r.enrollWithToken,
		event.StepProfile: r.profileStep, event.StepIdentity: r.identityStep, event.StepCheckIn: r.checkInStep,
		event.StepCommands: r.commandsStep, event.StepDDM: r.ddmStep, event.StepTokenLife: r.tokenLifeStep,
	}
	for _, s := range event.Flow {
		if s == event.StepChallenge && r.c.DiscoveryOnly {
			d := r.discovery
			return event.OutcomeDiscovered, fmt.Sprintf("discovery done: %s at %s", d.version, d.baseURL)
		}
		if !r.takes(s) {
			continue
		}
		if st := r.runStep(s, steps[s]); st != nil {
			return st.outcome, st.message
		}
	}
	p := r.enroll.profile
	mode, _ := p.MDM()[0].String("EnrollmentMode")
	who, _ := p.MDM()[0].String("AssignedManagedAppleID")
	msg := fmt.Sprintf("%s enrollment for %s via %s (%s body)", mode, who, r.discovery.via, r.enroll.bodyKind)
	if after := r.afterProfileSummary(); after != "" {
		msg += "; " + after
	}
	return event.OutcomeEnrolled, msg
}

// takes reports whether this case plays step s: the AxM registration only
// when it is under test, one of the two sign-ins (the one the challenge
// named), and the steps after the profile as far as the case's Until.
func (r *runner) takes(s event.Step) bool {
	switch s {
	case event.StepRegistration:
		return r.c.Target.AxM != nil
	case event.StepWebLogin, event.StepOAuth2:
		return (r.enroll.method == "apple-oauth2") == (s == event.StepOAuth2)
	case event.StepESSO:
		u, _ := r.essoURL()
		return u != ""
	case event.StepDDM:
		return r.mdm != nil && (r.mdm.ddmRequested || r.c.Until == event.UntilDDM) && r.c.Until.Plays(s)
	}
	return r.c.Until.Plays(s)
}

// runStep wraps a step with its start/end events and the gate.
func (r *runner) runStep(name event.Step, fn func() (*stop, event.StepStatus, string)) *stop {
	if r.e.Gate != nil {
		var err error
		if bug, stack := r.recovered("the step gate before "+string(name), func() { err = r.e.Gate.Before(r.ctx, r.c.Name, name) }); bug != "" {
			r.emit(event.Event{Kind: event.EventStepEnd, Time: r.clock(), Case: r.c.Name, Step: name, Status: event.StepError, Message: bug, Stack: stack})
			return &stop{event.OutcomeError, bug}
		}
		if err != nil {
			return &stop{event.OutcomeInterrupted, "stopped before " + string(name) + ": " + err.Error()}
		}
	}
	if r.ctx.Err() != nil {
		return &stop{event.OutcomeInterrupted, "interrupted before " + string(name)}
	}
	r.step, r.stepSeqs = name, nil
	r.emit(event.Event{Kind: event.EventStepStart, Time: r.clock(), Case: r.c.Name, Step: name})
	var st *stop
	var status event.StepStatus
	var msg string
	bug, stack := r.recovered("step "+string(name), func() { st, status, msg = fn() })
	switch {
	case bug != "":
		st, status, msg = &stop{event.OutcomeError, bug}, event.StepError, bug
	case st != nil && r.ctx.Err() != nil:
		st = &stop{event.OutcomeInterrupted, "interrupted during " + string(name)}
		status = event.StepError
	}
	r.emit(event.Event{Kind: event.EventStepEnd, Time: r.clock(), Case: r.c.Name, Step: name, Status: status, Message: truncate(r.red.Redact(msg), maxResultText), Stack: stack})
	r.stepSeqs = nil
	return st
}

// report emits a check result unless the filter deselects it or the engine
// does not judge it yet.
func (r *runner) report(res check.Result) {
	if !check.Implemented(res.ID) || !r.e.Checks.Match(res.ID) {
		return
	}
	if res.Tripped() && r.ctx.Err() != nil {
		// The interruption cut the exchange short: a trip now would
		// blame the server for the tester being stopped.
		res = check.With(res.ID, check.Error, "not judged: the run was interrupted ("+firstNonEmpty(res.Actual, res.Detail)+")")
	}
	// Redacted first, so a cut never leaves half a secret; then bounded,
	// since a hostile server's URL or header can be a megabyte.
	res.Expected = truncate(r.red.Redact(res.Expected), maxResultText)
	res.Actual = truncate(r.red.Redact(res.Actual), maxResultText)
	res.Detail = truncate(r.red.Redact(res.Detail), maxResultText)
	if !r.noResults {
		r.results = append(r.results, res)
	}
	rc := res
	ev := event.Event{Kind: event.EventCheck, Time: r.clock(), Case: r.c.Name, Step: r.step, Result: &rc}
	if !r.noResults {
		ev.Judged = slices.Clone(r.stepSeqs)
	}
	r.emit(ev)
}

// judged emits a judge's verdicts (package check) in the order judged.
func (r *runner) judged(v *check.Verdicts) {
	if v == nil {
		return
	}
	for _, res := range v.Results {
		r.report(res)
	}
}
