package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
)

// processDocument is step 3 (§2.4): the device takes Servers[0] of the
// document it got and decides whether it can go on.
func (r *runner) processDocument() (*stop, StepStatus, string) {
	ds := r.discovery
	d := r.c.Device
	var doc *wellKnownDoc
	switch {
	case ds.domain.ok():
		doc, ds.via = ds.domain.doc, "well-known"
		r.check("WK-001", true, "", "")
	case ds.axm != nil && !ds.axmProbe && ds.axm.ok():
		doc, ds.via = ds.axm.doc, "axm-fallback"
		r.note("WK-001", "the organisation domain failed ("+ds.domain.failure+"); the AxM fallback covered it")
	default:
		why := "the organisation domain failed: " + ds.domain.failure
		if ds.axm != nil && !ds.axmProbe {
			why += "; the AxM fallback failed: " + ds.axm.failure
		} else if !d.Has(CapAxMFallback) {
			_, no := d.Can(CapAxMFallback)
			why += "; no fallback: " + no
		}
		axmLimit := ""
		if ds.axm != nil && !ds.axmProbe {
			axmLimit = chainLimit(ds.axm)
		}
		if l := firstNonEmpty(chainLimit(ds.domain), axmLimit); l != "" {
			// The simulator's own bound, not proof that a device fails: a
			// device may read that document.
			msg := "a discovery document was not judged: " + l + ": discovery cannot be judged; SEC-003 reports the size"
			r.cannotJudge("WK-001", msg)
			r.skipAll("no document", "WK-008", "WK-017")
			return &stop{OutcomeError, msg}, StepError, msg
		}
		rateLimited := func(c *chain) string {
			if c == nil || len(c.hops) == 0 {
				return ""
			}
			return c.hops[len(c.hops)-1].rateLimited
		}
		axmRate := ""
		if ds.axm != nil && !ds.axmProbe {
			axmRate = rateLimited(ds.axm)
		}
		if l := firstNonEmpty(rateLimited(ds.domain), axmRate); l != "" {
			// The server asked for patience longer than a run waits: no
			// verdict either way (a device would retry later).
			msg := "discovery was not judged: " + l
			r.cannotJudge("WK-001", msg)
			r.skipAll("no document", "WK-008", "WK-017")
			return &stop{OutcomeError, msg}, StepError, msg
		}
		unreachable := func(c *chain) bool {
			if c == nil || len(c.hops) == 0 {
				return true
			}
			_, refused := ats.Refused(c.hops[0].err)
			return c.hops[0].status == 0 && !c.hops[0].timeout && !refused
		}
		if first := ds.domain.hops[0]; unreachable(ds.domain) && (ds.axm == nil || ds.axmProbe || unreachable(ds.axm)) {
			// Nothing answered at all: that is the tester's setup (DNS,
			// TLS trust, a server not running), not a verdict on the server.
			r.cannotJudge("WK-001", "the organisation domain could not be reached: "+first.err.Error())
			for _, id := range []string{"WK-008", "WK-017"} {
				r.skip(id, "no document")
			}
			return &stop{OutcomeError, "could not reach the server: " + first.err.Error()}, StepError, "could not reach " + r.domain + ": " + first.err.Error()
		}
		timedOut := func(c *chain) bool { return c != nil && len(c.hops) > 0 && c.hops[len(c.hops)-1].timeout }
		if timedOut(ds.domain) && (ds.axm == nil || ds.axmProbe || timedOut(ds.axm)) {
			// Devices wait 90 s; the simulator's limit is shorter, so a
			// slow answer is WK-015's warning, not proof of a failure.
			msg := fmt.Sprintf("no answer within the simulator's %s timeout (devices wait 90 s): raise --timeout to judge discovery", r.lim.Timeout)
			r.cannotJudge("WK-001", msg)
			r.skipAll("no document", "WK-008", "WK-017")
			return &stop{OutcomeError, msg}, StepError, msg
		}
		if r.c.Expect.Enroll {
			r.check("WK-001", false, "a 200 discovery document for a user who should enroll", why)
		} else {
			r.note("WK-001", "discovery failed for a user the scenario does not expect to enroll: "+why)
		}
		for _, id := range []string{"WK-008", "WK-017"} {
			r.skip(id, "no document")
		}
		msg := why
		if rej := parseRejection(ds.domain.final); rej != nil && rej.message != "" && d.Has(CapWellKnownFailed) {
			msg += fmt.Sprintf(`; the device shows "%s"`, rej.message)
		}
		return &stop{OutcomeDiscoveryFailed, msg}, StepFailed, msg
	}
	ds.version, ds.baseURL = doc.version, doc.baseURL

	need := CapUserEnrollment
	if doc.version == "mdm-adde" {
		need = CapDeviceEnrollment
	}
	can, why := d.Can(need)
	r.check("WK-008", can, fmt.Sprintf("a Version this %s %s can do", d.Family.Platform(), d.OS), fmt.Sprintf("%s, but %s", doc.version, why))

	if want := r.c.Type.ServerVersion(); want != "" {
		r.check("WK-017", doc.version == want, fmt.Sprintf("%s for %s (the scenario's enrollment type)", want, r.c.Account.Identifier), doc.version)
	} else {
		r.report(check.With("WK-017", Pass, "no expected routing declared; the server chose "+doc.version))
	}
	if !can {
		return &stop{OutcomeEnrollFailed, fmt.Sprintf("the server chose %s, but %s", doc.version, why)}, StepFailed, "the device cannot do " + doc.version + ": " + why
	}
	return nil, StepOK, fmt.Sprintf("Servers[0]: %s via %s", doc, ds.via)
}

// Bounds on the discovery document beyond its byte cap (DiscoveryBody).
// Apple's document is three levels deep with one entry; 64 levels leave
// room for any vendor extension. A value takes two bytes at the least
// ("0,"), so the default 1 MiB cap admits at most 512 Ki values: the count
// matters only when the byte cap is raised. Past either the simulator does
// not judge an object document (error naming the limit): a device may well
// read it.
const (
	maxDocDepth  = 64
	maxDocValues = 1 << 19
)

// docLimitError is a document beyond the simulator's bounds.
type docLimitError struct{ msg string }

func (e *docLimitError) Error() string { return e.msg }

// decodeWellKnown reads the discovery body as the device's JSON parser
// would, within bounds. It returns the top-level object, and warnings about
// what a device may read differently from Go: a key given twice (Go keeps
// the last; NSJSONSerialization fills a dictionary in order, so most likely
// the last too, but this is not documented), and bytes that are not UTF-8
// (Go replaces them; NSJSONSerialization refuses the whole document). The
// error is a syntax error or a *docLimitError.
//
// A byte-order mark or UTF-16/32 text is read as NSJSONSerialization reads
// it (JSONText), with a warning that names it. The root's type is judged
// before any bound: an array, string or number is not the object a device
// needs however deep it goes, so only an object root can be beyond the
// simulator's bounds.
func decodeWellKnown(body []byte) (map[string]any, []string, error) {
	text, note := JSONText(body)
	_, what := jsonUTF8(body)
	var warns []string
	if note != "" {
		warns = append(warns, note)
	}
	fail := func(err error) (map[string]any, []string, error) {
		if what != "" && !isDocLimit(err) {
			// The offsets in the parser's message count from the text
			// the device reads, not from the body's first byte.
			err = fmt.Errorf("%w (the body %s: read as a device reads it)", err, what)
		}
		return nil, warns, err
	}
	if kind := rootKind(text); kind != "" && kind != "an object" {
		return fail(fmt.Errorf("the document is %s, not an object", kind))
	}
	dups, err := scanDocument(text)
	if err != nil {
		return fail(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(text, &raw); err != nil {
		return fail(err)
	}
	if raw == nil {
		return fail(fmt.Errorf("the document is null"))
	}
	warns = append(warns, dups...)
	if !utf8.Valid(text) {
		warns = append(warns, fmt.Sprintf("the body is not valid UTF-8 at byte %d: Go replaced the bytes, but NSJSONSerialization refuses such a document (JSON is UTF-8, RFC 8259 §8.1)", firstInvalidUTF8(body)))
	}
	return raw, warns, nil
}

// rootKind names the type of the document's first value as jsonKind does
// ("null" for null), or "" when the first token does not read: the full
// parse then words the syntax error.
func rootKind(text []byte) string {
	tok, err := json.NewDecoder(bytes.NewReader(text)).Token()
	if err != nil {
		return ""
	}
	switch tok {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	case nil:
		return "null"
	}
	return jsonKind(tok)
}

// docFrame is one open object or array of the scan.
type docFrame struct {
	object  bool
	wantKey bool
	path    string
	index   int
	keys    map[string]int
	lastKey string
}

func (f *docFrame) childPath() string {
	if f.object {
		return f.path + "." + f.lastKey
	}
	return fmt.Sprintf("%s[%d]", f.path, f.index)
}

// scanDocument walks the tokens once, before any decoding, to enforce the
// bounds and to find repeated keys (which a map cannot show).
func scanDocument(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*docFrame
	var dups []dupRef
	values := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			// End of input or a syntax error: json.Unmarshal words it.
			return dedupeDups(dups), nil
		}
		var top *docFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.wantKey = parent.object
				parent.index++
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			key, _ := tok.(string)
			top.keys[key]++
			if top.keys[key] == 2 && len(dups) < 5 {
				dups = append(dups, dupRef{top, key})
			}
			top.lastKey, top.wantKey = key, false
			continue
		}
		values++
		if values > maxDocValues {
			return nil, &docLimitError{fmt.Sprintf("the document has more than %d values (the simulator's limit)", maxDocValues)}
		}
		d, isDelim := tok.(json.Delim)
		if !isDelim {
			if top != nil {
				top.wantKey = top.object
				top.index++
			}
			continue
		}
		if len(stack) >= maxDocDepth {
			return nil, &docLimitError{fmt.Sprintf("the document is nested deeper than %d levels (the simulator's limit)", maxDocDepth)}
		}
		path := "the document"
		if top != nil {
			path = top.childPath()
		}
		stack = append(stack, &docFrame{object: d == '{', wantKey: d == '{', path: path, keys: map[string]int{}})
	}
}

// dupRef is a key seen twice in an object; the frame keeps its count.
type dupRef struct {
	frame *docFrame
	key   string
}

// dedupeDups words the repeated keys once each, with their count.
func dedupeDups(dups []dupRef) []string {
	var out []string
	for _, d := range dups {
		out = append(out, fmt.Sprintf("key %q appears %d times in %s; the simulator used the last, as encoding/json does (which one devices use is not documented)", truncate(d.key, 60), d.frame.keys[d.key], truncate(d.frame.path, 80)))
	}
	return out
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// someOf lists up to n items and says how many more there were, so a
// document with thousands of bad entries gives a readable verdict.
func someOf(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

func isDocLimit(err error) bool {
	var lim *docLimitError
	return errors.As(err, &lim)
}

// docFailure is why the device cannot use a body decodeWellKnown refused.
func docFailure(err error) string {
	if isDocLimit(err) {
		return err.Error()
	}
	return "the body is not a JSON object: " + err.Error()
}

// docWarning is a warning whatever the check's level: the simulator is
// not sure a device reads the document differently.
func docWarning(id, expected, actual string) Result {
	res := check.With(id, Warn, "")
	res.Expected, res.Actual = expected, actual
	return res
}

// chainLimit says why the simulator's own bound, not the server, ended a
// chain: a transport limit (the headers), or, on a 200 JSON answer, the
// read cap or the document bounds of an object root; "" otherwise. Past
// any of them the step's checks are error and SEC-003 judges the size.
func chainLimit(c *chain) string {
	if c == nil || len(c.hops) == 0 {
		return ""
	}
	last, at := c.hops[len(c.hops)-1], c.urls[len(c.hops)-1]
	if last.overLimit != "" {
		return at + ": " + last.overLimit + " (the simulator's limit)"
	}
	f := c.final
	if f == nil || f.status != http.StatusOK || c.doc != nil || (f.err != nil && !f.tooLarge) {
		return ""
	}
	if _, _, err := readDocument(f); isDocLimit(err) && c.failure == docFailure(err) {
		return at + ": " + err.Error()
	}
	return ""
}

// readDocument is decodeWellKnown on a 200 answer, which may have been cut
// at the read cap. A cut document is judged by its root alone: an array or
// a string is no object however long, while the end of an object is
// missing by the simulator's doing (a *docLimitError).
func readDocument(resp *response) (map[string]any, []string, error) {
	if !resp.tooLarge {
		return decodeWellKnown(resp.body)
	}
	text, _ := JSONText(resp.body)
	if kind := rootKind(text); kind != "" && kind != "an object" {
		return nil, nil, fmt.Errorf("the document is %s, not an object", kind)
	}
	return nil, nil, &docLimitError{fmt.Sprintf("the document is larger than the simulator's %s read limit, so it was not judged (SEC-003 reports the size)", byteSize(int64(len(resp.body))))}
}
