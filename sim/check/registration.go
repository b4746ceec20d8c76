package check

import (
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
)

// Registration is what the tester's stand-in for Apple's Device
// Assignment API saw of one MDM server before the run's devices started
// (the axm-registration step): every call the server made, and what
// followed each configuration change the tester triggered.
type Registration struct {
	Server        string               `json:"server"`
	StandIn       string               `json:"stand_in"`
	Waited        time.Duration        `json:"waited"`
	TimedOut      bool                 `json:"timed_out,omitempty"`
	Calls         []RegistrationCall   `json:"calls,omitempty"`
	Changes       []RegistrationChange `json:"changes,omitempty"`
	NoChangeHooks string               `json:"no_change_hooks,omitempty"`
}

// RegistrationCall is one request the server sent to the stand-in and the
// answer (credentials in the header already replaced by "[redacted]").
type RegistrationCall struct {
	Time      time.Time `json:"time"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Header    Header    `json:"header,omitempty"`
	Body      []byte    `json:"body,omitempty"`
	Status    int       `json:"status"`
	Code      string    `json:"code,omitempty"`
	SessionOK bool      `json:"session_ok,omitempty"`
}

// RegistrationChange is one configuration change the tester triggered on
// the server and the call that followed it, if any, within the wait.
type RegistrationChange struct {
	Kind      string            `json:"kind"` // AxMWithdraw or AxMRestore
	Hook      string            `json:"hook"`
	Triggered time.Time         `json:"triggered"`
	HookErr   string            `json:"hook_err,omitempty"`
	Followed  *RegistrationCall `json:"followed,omitempty"`
	Waited    time.Duration     `json:"waited"`
}

// Configuration changes the tester can ask a server to make.
const (
	AxMWithdraw = "withdraw" // account-driven enrollment turned off: remove the registration
	AxMRestore  = "restore"  // turned back on: register again
)

// AxMProfilePath is the account-driven enrollment profile resource.
const AxMProfilePath = "/account-driven-enrollment/profile"

var abmRegistrationChecks = []string{"ABM-001", "ABM-002", "ABM-006", "ABM-007"}

func init() {
	register(Judge{Group: "ABM", Reads: "registration", Owns: abmRegistrationChecks, Run: func(o *Observations) *Verdicts {
		if o.Registration == nil {
			return nil
		}
		return JudgeRegistration(o.Registration)
	}})
}

// JudgeRegistration is how the server registered its discovery URL with
// the stand-in (spec §2.3.1): ABM-001 (the call's form, kept current),
// ABM-002 (the URL), ABM-006 (no retry loop after an error answer) and
// ABM-007 (the stand-in's side of the contract).
func JudgeRegistration(reg *Registration) *Verdicts {
	v := NewVerdicts(abmRegistrationChecks...)
	posts := reg.profileCalls("POST")
	judgeABM001(v, reg, posts)
	judgeABM002(v, posts)
	judgeABM006(v, reg)
	judgeABM007(v, reg)
	return v
}

func (reg *Registration) profileCalls(method string) []RegistrationCall {
	var out []RegistrationCall
	for _, c := range reg.Calls {
		if c.Path == AxMProfilePath && c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// RegisteredURL is a registration body's mdm_service_discovery_url, ""
// when absent.
func RegisteredURL(body []byte) string {
	var m map[string]any
	if _, err := UnmarshalServerJSON(body, &m); err != nil {
		return ""
	}
	s, _ := m["mdm_service_discovery_url"].(string)
	return s
}

// judgeABM001: the registration call has Apple's form, and (with the
// change hooks) follows the server's configuration.
func judgeABM001(v *Verdicts, reg *Registration, posts []RegistrationCall) {
	const expected = "POST /account-driven-enrollment/profile with a JSON body {\"mdm_service_discovery_url\": ...} and a session from /session"
	if len(posts) == 0 {
		v.Check("ABM-001", false, expected, noRegistrationWhy(reg))
		return
	}
	var encodings []string
	for _, p := range posts {
		mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			v.Check("ABM-001", false, expected, fmt.Sprintf("the POST's Content-Type is %q, not application/json", p.Header.Get("Content-Type")))
			return
		}
		var obj map[string]any
		if _, err := UnmarshalServerJSON(p.Body, &obj); err != nil {
			v.Check("ABM-001", false, expected, fmt.Sprintf("the POST's body is not a JSON object: %s", Excerpt(p.Body, 80)))
			return
		}
		if _, what := JSONUTF8(p.Body); what != "" {
			encodings = append(encodings, what)
		}
		if !p.SessionOK {
			v.Check("ABM-001", false, expected, "the POST carried no X-ADM-Auth-Session that /session had issued: Apple answers 401")
			return
		}
	}
	var warns []string
	if len(encodings) > 0 {
		// Whether Apple's service reads such a body is not documented:
		// the stand-in reads it as a device's JSON reader would.
		warns = append(warns, "the POST's body "+encodings[0]+", which JSON may not have (RFC 8259 §8.1): the stand-in reads it as NSJSONSerialization does, but whether Apple's service does is not documented")
	}
	for _, c := range reg.Calls {
		if c.Header.Get("X-Server-Protocol-Version") == "" {
			warns = append(warns, fmt.Sprintf("%s %s carried no X-Server-Protocol-Version (the account-driven enrollment resource needs protocol 5.1 or later)", c.Method, c.Path))
			break
		}
	}
	changeWarns, details := changesFollowed(reg)
	warns = append(warns, changeWarns...)
	if len(warns) > 0 {
		res := With("ABM-001", Warn, strings.Join(details, "; "))
		res.Expected = expected + ", with the protocol header, kept current when the configuration changes"
		res.Actual = strings.Join(warns, "; ")
		v.Add(res)
		return
	}
	res := Verdict("ABM-001", true, "", "")
	res.Detail = strings.Join(details, "; ")
	v.Add(res)
}

// changesFollowed words how the server followed each configuration change:
// warnings where it did not, details where it did or could not be judged.
func changesFollowed(reg *Registration) (warns, details []string) {
	for _, ch := range reg.Changes {
		switch {
		case ch.HookErr != "":
			details = append(details, fmt.Sprintf("the %s hook failed, so that change says nothing about the server: %s", ch.Kind, ch.HookErr))
		case ch.Followed == nil && ch.Kind == AxMWithdraw:
			warns = append(warns, fmt.Sprintf("the registration stayed %s after the server's account-driven enrollment was withdrawn (%s): devices that fall back still reach it", ch.Waited.Round(time.Millisecond), ch.Hook))
		case ch.Followed == nil:
			warns = append(warns, fmt.Sprintf("the server did not register again within %s after it was restored (%s)", ch.Waited.Round(time.Millisecond), ch.Hook))
		default:
			details = append(details, fmt.Sprintf("%s: the server answered with %s %s", ch.Kind, ch.Followed.Method, ch.Followed.Path))
		}
	}
	if reg.NoChangeHooks != "" {
		details = append(details, reg.NoChangeHooks)
	}
	return warns, details
}

// noRegistrationWhy says what the server did instead of registering.
func noRegistrationWhy(reg *Registration) string {
	if len(reg.Calls) == 0 {
		return fmt.Sprintf("no call at all within %s: is the server's Device Assignment base URL set to %s, and its token uploaded?", reg.Waited.Round(time.Second), reg.StandIn)
	}
	refused := 0
	for _, c := range reg.Calls {
		if c.Path == "/session" && c.Status != 200 {
			refused++
		}
	}
	if refused > 0 {
		return fmt.Sprintf("%d /session call(s) refused (%d calls in all): the OAuth signature or the token does not verify", refused, len(reg.Calls))
	}
	return fmt.Sprintf("%d API call(s), none a POST of the profile resource", len(reg.Calls))
}

// judgeABM002: the registered value is a well-formed https URL.
func judgeABM002(v *Verdicts, posts []RegistrationCall) {
	if len(posts) == 0 {
		v.Error("ABM-002", "the server sent no registration to judge (ABM-001)")
		return
	}
	const expected = "mdm_service_discovery_url is an absolute https URL with a host"
	for _, p := range posts {
		if p.Code == "ORG_NOT_SUPPORTED" {
			continue // the stand-in was told to refuse it; not the server's value
		}
		raw := RegisteredURL(p.Body)
		if strings.TrimSpace(raw) == "" {
			v.Check("ABM-002", false, expected, "no mdm_service_discovery_url: Apple answers 400 MDM_SERVICE_DISCOVERY_URL_REQUIRED")
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
			v.Check("ABM-002", false, expected, fmt.Sprintf("%q: Apple answers 400 MDM_SERVICE_DISCOVERY_URL_NOT_VALID", raw))
			return
		}
	}
	v.Check("ABM-002", true, "", "")
}

// judgeABM006: after a documented error answer, no retry loop. Whether the
// error reached the admin cannot be seen from outside.
func judgeABM006(v *Verdicts, reg *Registration) {
	const window, most = 10 * time.Second, 3
	judged := 0
	for i, c := range reg.Calls {
		if c.Status < 400 || c.Code == "" {
			continue
		}
		judged++
		again := 0
		for _, later := range reg.Calls[i+1:] {
			if later.Time.Sub(c.Time) > window {
				break
			}
			if later.Method == c.Method && later.Path == c.Path {
				again++
			}
		}
		if again > most {
			v.Check("ABM-006", false, fmt.Sprintf("at most %d repeats of a call within %s of a documented error answer", most, window),
				fmt.Sprintf("after %d %s to %s %s the server sent it %d more times within %s: a retry loop (Apple rate-limits Device Assignment clients)", c.Status, c.Code, c.Method, c.Path, again, window))
			return
		}
	}
	if judged == 0 {
		v.Skip("ABM-006", "the stand-in answered no documented error; start it with --refuse-first ORG_NOT_SUPPORTED (target.axm.refuse_first) to judge it")
		return
	}
	res := Verdict("ABM-006", true, "", "")
	res.Detail = fmt.Sprintf("%d error answer(s), none followed by a retry loop; whether the server showed them to its admin cannot be seen from outside", judged)
	v.Add(res)
}

// judgeABM007 notes the stand-in's side of the contract as the server met it.
func judgeABM007(v *Verdicts, reg *Registration) {
	var seen []string
	deleted := false
	for _, c := range reg.Calls {
		if c.Path != AxMProfilePath || c.Method == "POST" {
			continue
		}
		switch {
		case c.Method == "GET" && c.Status == 200:
			seen = append(seen, "GET answered 200 with mdm_service_discovery_url and last_updated_timestamp")
		case c.Method == "GET":
			seen = append(seen, fmt.Sprintf("GET answered %d %s", c.Status, c.Code))
		case c.Method == "DELETE":
			deleted = true
			seen = append(seen, fmt.Sprintf("DELETE answered %d", c.Status))
		}
	}
	if len(seen) == 0 {
		v.Skip("ABM-007", "the server neither fetched nor removed its registration")
		return
	}
	seen = Distinct(seen)
	// Worth noting is a server that removes its registration through the
	// resource; fetching it only is the plain case.
	if deleted {
		v.Note("ABM-007", strings.Join(seen, "; "))
		return
	}
	res := Verdict("ABM-007", true, "", "")
	res.Detail = strings.Join(seen, "; ")
	v.Add(res)
}
