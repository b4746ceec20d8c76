package sim

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
)

const axmProfilePath = "/account-driven-enrollment/profile"

// registrationStep judges how the server registered its discovery URL with
// the tester's Device Assignment API stand-in (spec §2.3.1), from what the
// stand-in recorded before the run. It never stops the case: a device whose
// domain answers needs no registration.
func (r *runner) registrationStep() (*stop, StepStatus, string) {
	reg := r.c.Target.AxM
	posts := reg.profileCalls(http.MethodPost)
	r.judgeABM001(reg, posts)
	r.judgeABM002(posts)
	r.judgeABM006(reg)
	r.judgeABM007(reg)
	if last := reg.lastAccepted(); last != nil {
		return nil, StepOK, fmt.Sprintf("%s registered %s with the AxM stand-in (%d API calls)", reg.Server, postedURL(*last), len(reg.Calls))
	}
	if reg.TimedOut {
		return nil, StepFailed, fmt.Sprintf("%s did not register a discovery URL within %s (%d API calls)", reg.Server, reg.Waited.Round(time.Second), len(reg.Calls))
	}
	return nil, StepFailed, fmt.Sprintf("%s has no accepted registration (%d API calls)", reg.Server, len(reg.Calls))
}

func (reg *AxMRegistration) profileCalls(method string) []AxMCall {
	var out []AxMCall
	for _, c := range reg.Calls {
		if c.Path == axmProfilePath && c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (reg *AxMRegistration) lastAccepted() *AxMCall {
	var last *AxMCall
	for i, c := range reg.Calls {
		if c.Path == axmProfilePath && c.Method == http.MethodPost && c.Status == http.StatusOK {
			last = &reg.Calls[i]
		}
	}
	return last
}

// postedURL is the body's mdm_service_discovery_url, "" when absent.
func postedURL(c AxMCall) string {
	var body map[string]any
	if _, err := unmarshalServerJSON(c.Body, &body); err != nil {
		return ""
	}
	s, _ := body["mdm_service_discovery_url"].(string)
	return s
}

// judgeABM001: the registration call has Apple's form, and (with the
// change hooks) follows the server's configuration.
func (r *runner) judgeABM001(reg *AxMRegistration, posts []AxMCall) {
	const expected = "POST /account-driven-enrollment/profile with a JSON body {\"mdm_service_discovery_url\": ...} and a session from /session"
	if len(posts) == 0 {
		r.check("ABM-001", false, expected, noRegistrationWhy(reg))
		return
	}
	var encodings []string
	for _, p := range posts {
		mt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			r.check("ABM-001", false, expected, fmt.Sprintf("the POST's Content-Type is %q, not application/json", p.Header.Get("Content-Type")))
			return
		}
		var obj map[string]any
		if _, err := unmarshalServerJSON(p.Body, &obj); err != nil {
			r.check("ABM-001", false, expected, fmt.Sprintf("the POST's body is not a JSON object: %s", excerpt(p.Body, 80)))
			return
		}
		if _, what := jsonUTF8(p.Body); what != "" {
			encodings = append(encodings, what)
		}
		if !p.SessionOK {
			r.check("ABM-001", false, expected, "the POST carried no X-ADM-Auth-Session that /session had issued: Apple answers 401")
			return
		}
	}
	var warns, details []string
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
	if len(warns) > 0 {
		res := check.With("ABM-001", Warn, strings.Join(details, "; "))
		res.Expected = expected + ", with the protocol header, kept current when the configuration changes"
		res.Actual = strings.Join(warns, "; ")
		r.report(res)
		return
	}
	res := check.Verdict("ABM-001", true, "", "")
	res.Detail = strings.Join(details, "; ")
	r.report(res)
}

// noRegistrationWhy says what the server did instead of registering.
func noRegistrationWhy(reg *AxMRegistration) string {
	if len(reg.Calls) == 0 {
		return fmt.Sprintf("no call at all within %s: is the server's Device Assignment base URL set to %s, and its token uploaded?", reg.Waited.Round(time.Second), reg.StandIn)
	}
	refused := 0
	for _, c := range reg.Calls {
		if c.Path == "/session" && c.Status != http.StatusOK {
			refused++
		}
	}
	if refused > 0 {
		return fmt.Sprintf("%d /session call(s) refused (%d calls in all): the OAuth signature or the token does not verify", refused, len(reg.Calls))
	}
	return fmt.Sprintf("%d API call(s), none a POST of the profile resource", len(reg.Calls))
}

// judgeABM002: the registered value is a well-formed https URL.
func (r *runner) judgeABM002(posts []AxMCall) {
	if len(posts) == 0 {
		r.cannotJudge("ABM-002", "the server sent no registration to judge (ABM-001)")
		return
	}
	const expected = "mdm_service_discovery_url is an absolute https URL with a host"
	for _, p := range posts {
		if p.Code == "ORG_NOT_SUPPORTED" {
			continue // the stand-in was told to refuse it; not the server's value
		}
		raw := postedURL(p)
		if strings.TrimSpace(raw) == "" {
			r.check("ABM-002", false, expected, "no mdm_service_discovery_url: Apple answers 400 MDM_SERVICE_DISCOVERY_URL_REQUIRED")
			return
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
			r.check("ABM-002", false, expected, fmt.Sprintf("%q: Apple answers 400 MDM_SERVICE_DISCOVERY_URL_NOT_VALID", raw))
			return
		}
	}
	r.check("ABM-002", true, "", "")
}

// judgeABM006: after a documented error answer, no retry loop. Whether the
// error reached the admin cannot be seen from outside.
func (r *runner) judgeABM006(reg *AxMRegistration) {
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
			r.check("ABM-006", false, fmt.Sprintf("at most %d repeats of a call within %s of a documented error answer", most, window),
				fmt.Sprintf("after %d %s to %s %s the server sent it %d more times within %s: a retry loop (Apple rate-limits Device Assignment clients)", c.Status, c.Code, c.Method, c.Path, again, window))
			return
		}
	}
	if judged == 0 {
		r.skip("ABM-006", "the stand-in answered no documented error; start it with --refuse-first ORG_NOT_SUPPORTED (target.axm.refuse_first) to judge it")
		return
	}
	res := check.Verdict("ABM-006", true, "", "")
	res.Detail = fmt.Sprintf("%d error answer(s), none followed by a retry loop; whether the server showed them to its admin cannot be seen from outside", judged)
	r.report(res)
}

// judgeABM007 notes the stand-in's side of the contract as the server met it.
func (r *runner) judgeABM007(reg *AxMRegistration) {
	var seen []string
	deleted := false
	for _, c := range reg.Calls {
		if c.Path != axmProfilePath || c.Method == http.MethodPost {
			continue
		}
		switch {
		case c.Method == http.MethodGet && c.Status == http.StatusOK:
			seen = append(seen, "GET answered 200 with mdm_service_discovery_url and last_updated_timestamp")
		case c.Method == http.MethodGet:
			seen = append(seen, fmt.Sprintf("GET answered %d %s", c.Status, c.Code))
		case c.Method == http.MethodDelete:
			deleted = true
			seen = append(seen, fmt.Sprintf("DELETE answered %d", c.Status))
		}
	}
	if len(seen) == 0 {
		r.skip("ABM-007", "the server neither fetched nor removed its registration")
		return
	}
	// Worth noting is a server that removes its registration through the
	// resource; fetching it only is the plain case.
	if deleted {
		r.note("ABM-007", strings.Join(dedupe(seen), "; "))
		return
	}
	res := check.Verdict("ABM-007", true, "", "")
	res.Detail = strings.Join(dedupe(seen), "; ")
	r.report(res)
}
