package sim

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/profile"

	"github.com/enrollsim/enrollsim/sim/ats"
)

// WellKnownPath is the discovery path of §2.2.
const WellKnownPath = "/.well-known/com.apple.remotemanagement"

// chain is one discovery request followed hop by hop, as a device follows
// it, together with what the device made of the final answer.
type chain struct {
	hops  []*response // every response, redirects included
	urls  []string    // the URL of each hop
	final *response   // the last response, when it was not a redirect

	loop, hopCap, downgrade bool
	badRedirect             string // why a redirect could not be followed

	doc     *wellKnownDoc
	failure string // why the device gives up; empty on success
}

func (c *chain) redirected() bool {
	return len(c.hops) > 1 || c.badRedirect != "" || c.loop || c.hopCap || c.downgrade
}

func (c *chain) finalURL() string {
	if len(c.urls) == 0 {
		return ""
	}
	return c.urls[len(c.urls)-1]
}

func (c *chain) ok() bool { return c.failure == "" && c.doc != nil }

// wellKnownDoc is the first server entry, which is what a device uses.
type wellKnownDoc struct {
	raw     map[string]any
	servers []any
	version string
	baseURL string
}

func (d *wellKnownDoc) same(o *wellKnownDoc) bool {
	return d != nil && o != nil && d.version == o.version && d.baseURL == o.baseURL
}

func (d *wellKnownDoc) String() string {
	if d == nil {
		return "no document"
	}
	return fmt.Sprintf("%s at %s", d.version, d.baseURL)
}

// discoveryState is what discovery learned, for the later steps.
type discoveryState struct {
	domain   *chain
	axm      *chain // the device's fallback, or the tester's AxM probe
	axmProbe bool   // axm was a tester probe, not device behaviour
	// registered is the URL AxM redirected to, without the query Apple adds.
	registered string

	rejectionJudged bool // WK-010/011 already judged on the device's own 403

	via     string // "well-known" or "axm-fallback"
	version string
	baseURL string
}

// discoveryURL builds the well-known URL the way the device does: the
// identifier as typed, '@' unescaped as Foundation's URLComponents leaves it,
// then model-family.
func (r *runner) discoveryURL(base string, id string, family string, omitFamily bool) string {
	q := "user-identifier=" + queryValue(id)
	if !omitFamily {
		q += "&model-family=" + queryValue(family)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + q
}

func queryValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%40", "@")
}

func (r *runner) deviceHeaders() http.Header {
	h := http.Header{}
	h.Set("User-Agent", r.c.Device.UserAgent())
	h.Set("Accept", "*/*")
	h.Set("Accept-Language", "en-US,en;q=0.9")
	return h
}

// follow sends a GET and follows redirects one hop at a time, like
// Foundation: 301/302/303/307/308 with a Location, https only, no loops,
// at most MaxHops hops.
func (r *runner) follow(start, purpose string, probe bool) *chain {
	c := &chain{}
	cur := start
	seen := map[string]bool{}
	for hop := 0; ; hop++ {
		seen[cur] = true
		p := purpose
		if hop > 0 {
			p = fmt.Sprintf("%s (redirect %d)", purpose, hop)
		}
		resp := r.do(request{method: http.MethodGet, url: cur, header: r.deviceHeaders(), purpose: p, probe: probe, limit: r.lim.DiscoveryBody})
		c.hops = append(c.hops, resp)
		c.urls = append(c.urls, cur)
		if resp.status == 0 {
			// The real transport's errors name the request already.
			c.failure = resp.err.Error()
			if !strings.Contains(c.failure, cur) {
				c.failure = fmt.Sprintf("GET %s: %v", cur, resp.err)
			}
			return c
		}
		if resp.status < 300 || resp.status > 399 {
			c.final = resp
			break
		}
		loc, repeated := singleHeader(resp.header, "Location")
		if repeated != "" {
			r.note("RD-005", cur+": "+repeated)
		}
		if strings.TrimSpace(loc) == "" {
			c.badRedirect = fmt.Sprintf("%d from %s has no Location header", resp.status, cur)
			c.failure = "a redirect without a Location: " + c.badRedirect
			return c
		}
		if !followable(resp.status) {
			c.badRedirect = fmt.Sprintf("status %d is not a redirect the device follows (301, 302, 303, 307, 308)", resp.status)
			c.failure = c.badRedirect
			return c
		}
		next, why := redirectTarget(cur, loc)
		if why != "" {
			c.badRedirect = why
			c.failure = why
			return c
		}
		nextS := next.String()
		switch {
		case next.Scheme == "http":
			c.downgrade = true
			c.urls = append(c.urls, nextS)
			c.failure = fmt.Sprintf("redirect from %s to %s: the device refuses plain http (App Transport Security)", cur, nextS)
			return c
		case seen[nextS]:
			c.loop = true
			c.urls = append(c.urls, nextS)
			c.failure = fmt.Sprintf("redirect loop: %s leads back to %s", cur, nextS)
			return c
		case hop+1 >= r.lim.MaxHops:
			c.hopCap = true
			c.failure = fmt.Sprintf("more than %d redirects (the simulator's hop limit)", r.lim.MaxHops)
			return c
		}
		cur = nextS
	}
	c.doc, c.failure = parseDiscovery(c.final)
	return c
}

// redirectTarget resolves a Location against the URL that sent it, the way
// Foundation does, and says why the device would not follow it: a Location
// that does not parse, a scheme other than http(s) (javascript:, file:,
// data:, a custom scheme; plain http is the caller's, RD-003), or no host.
// The quoted Location is cut so a hostile one cannot flood the report.
func redirectTarget(from, loc string) (*url.URL, string) {
	shown := loc
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	if strings.TrimSpace(loc) == "" {
		return nil, fmt.Sprintf("the redirect from %s has no Location", from)
	}
	base, err := url.Parse(from)
	if err != nil {
		return nil, fmt.Sprintf("the redirecting URL %s does not parse: %v", from, err)
	}
	next, err := base.Parse(loc)
	switch {
	case err != nil:
		return nil, fmt.Sprintf("Location %q from %s is not a valid URL", shown, from)
	case next.Scheme != "https" && next.Scheme != "http":
		return nil, fmt.Sprintf("Location %q from %s uses scheme %q: the device follows only https redirects", shown, from, next.Scheme)
	case next.Host == "":
		return nil, fmt.Sprintf("Location %q from %s is not a valid URL: no host", shown, from)
	}
	return next, ""
}

func followable(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// parseDiscovery is what the device does with the final answer (§2.2, §2.4):
// it needs a 200 application/json object with a first server entry whose
// Version it knows and whose BaseURL is a URL.
func parseDiscovery(resp *response) (*wellKnownDoc, string) {
	// A body over the read cap still came: a wrong status, media type or
	// root is the device's reason to stop before its size is.
	if resp.err != nil && !resp.tooLarge {
		return nil, resp.err.Error()
	}
	if resp.status != http.StatusOK {
		why := fmt.Sprintf("status %d", resp.status)
		if rej := parseRejection(resp); rej != nil && rej.code != "" {
			why += fmt.Sprintf(" with code %q", rej.code)
			if rej.message != "" {
				why += fmt.Sprintf(", message %q", rej.message)
			}
		}
		return nil, why
	}
	if mt := resp.mediaType(); mt != "application/json" {
		return nil, fmt.Sprintf("Content-Type is %q, not application/json", mt)
	}
	raw, _, err := readDocument(resp)
	if err != nil {
		return nil, docFailure(err)
	}
	doc := &wellKnownDoc{raw: raw}
	servers, ok := raw["Servers"].([]any)
	if !ok {
		return doc, "no Servers array"
	}
	doc.servers = servers
	if len(servers) == 0 {
		return doc, "Servers is empty"
	}
	first, ok := servers[0].(map[string]any)
	if !ok {
		return doc, "Servers[0] is not an object"
	}
	v, vok := first["Version"].(string)
	b, bok := first["BaseURL"].(string)
	if !vok || !bok {
		return doc, "Servers[0] lacks a string Version or BaseURL"
	}
	doc.version, doc.baseURL = v, b
	if v != "mdm-byod" && v != "mdm-adde" {
		return doc, fmt.Sprintf("Servers[0].Version %q is neither mdm-byod nor mdm-adde", v)
	}
	if u, err := url.Parse(b); err != nil || !u.IsAbs() || u.Host == "" {
		return doc, fmt.Sprintf("Servers[0].BaseURL %q is not an absolute URL", b)
	}
	return doc, ""
}

// rejection is a 403 error body (ErrorWellKnownFailed, §2.2).
type rejection struct {
	format      string // "json" or "plist"
	code        string
	message     string
	description string
	badTypes    []string // keys whose value is not a string
	note        string   // a byte-order mark or non-UTF-8 JSON (JSONText)
}

// rejectionLimits bound an error body: a few keys, never deep.
var rejectionLimits = profile.Limits{MaxDepth: 16, MaxObjects: 1000}

func asDict(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func parseRejection(resp *response) *rejection {
	if resp == nil || len(bytes.TrimSpace(resp.body)) == 0 {
		return nil
	}
	var m map[string]any
	format := ""
	note, jerr := unmarshalServerJSON(resp.body, &m)
	if jerr == nil {
		format = "json"
	} else if v, err := profile.DecodePlist(context.Background(), resp.body, rejectionLimits); err == nil && asDict(v) != nil {
		// Bounded: a 64 KiB binary plist can expand to gigabytes.
		m, format = asDict(v), "plist"
	} else {
		return nil
	}
	if _, ok := m["code"]; !ok {
		return nil
	}
	rej := &rejection{format: format}
	if format == "json" {
		rej.note = note
	}
	for _, k := range []string{"code", "message", "description"} {
		v, present := m[k]
		if !present {
			continue
		}
		s, ok := v.(string)
		if !ok {
			rej.badTypes = append(rej.badTypes, k)
			continue
		}
		switch k {
		case "code":
			rej.code = s
		case "message":
			rej.message = s
		case "description":
			rej.description = s
		}
	}
	return rej
}

// discover is step 2: the organisation domain's well-known, hop by hop.
func (r *runner) discover() (*stop, StepStatus, string) {
	d := r.c.Device
	start := r.discoveryURL("https://"+r.domain+WellKnownPath, r.c.Account.Identifier, string(d.Family), r.c.Options.OmitModelFamily)
	c := r.follow(start, "well-known", false)
	r.discovery = &discoveryState{domain: c}

	r.judgeRedirects(c)
	r.judgeDocument(c)
	r.judgeTransportLimits(c)
	r.judgeRejections(c)
	r.judgeProbes(c, start)

	if c.ok() {
		hops := len(c.hops) - 1
		return nil, StepOK, fmt.Sprintf("%s (%d redirect%s)", c.doc, hops, plural(hops))
	}
	return nil, StepFailed, "the organisation domain's discovery failed: " + c.failure
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// judgeRedirects: RD-001..005 over the hops of the device's chain.
func (r *runner) judgeRedirects(c *chain) {
	if !c.redirected() {
		r.check("RD-001", true, "", "")
		for _, id := range []string{"RD-002", "RD-003", "RD-004", "RD-005"} {
			r.skip(id, "the organisation domain answered without a redirect")
		}
		return
	}
	r.note("RD-001", fmt.Sprintf("followed %d redirect(s): %s", len(c.urls)-1, strings.Join(c.urls, " → ")))
	r.judgeDroppedQuery(c)
	r.check("RD-003", !c.downgrade, "every hop uses https", "a redirect to "+c.finalURL())
	r.check("RD-004", !c.loop && !c.hopCap, fmt.Sprintf("the chain ends within %d hops without revisiting a URL", r.lim.MaxHops), c.failure)
	r.check("RD-005", c.badRedirect == "", "301/302/303/307/308 with a valid Location", c.badRedirect)
}

// judgeDroppedQuery is RD-002: devices do not copy the query onto a
// redirect target, so a target that needs the parameters must get them in
// the Location itself. The check asks the target both ways.
func (r *runner) judgeDroppedQuery(c *chain) {
	if c.loop || c.hopCap || c.downgrade || c.badRedirect != "" || c.final == nil {
		r.skip("RD-002", "the redirect chain did not reach a target")
		return
	}
	target, err := url.Parse(c.finalURL())
	if err != nil {
		r.skip("RD-002", "the target URL does not parse")
		return
	}
	if target.Query().Has("user-identifier") {
		r.check("RD-002", true, "", "")
		return
	}
	if r.c.NoProbes {
		r.skip("RD-002", probesOff+": the redirect dropped the parameters, and only a probe tells whether the target needs them")
		return
	}
	withParams := r.discoveryURL(c.finalURL(), r.c.Account.Identifier, string(r.c.Device.Family), r.c.Options.OmitModelFamily)
	probe := r.follow(withParams, "probe RD-002: redirect target with the discovery parameters", true)
	switch {
	case chainLimit(c) != "" || chainLimit(probe) != "":
		r.cannotJudge("RD-002", "the redirect target's document broke the simulator's limit: "+firstNonEmpty(chainLimit(c), chainLimit(probe)))
	case !probe.ok():
		r.report(check.With("RD-002", Pass, "the redirect dropped the parameters; the target answers the same without them (it does not use them)"))
	case !c.ok():
		r.check("RD-002", false, "the redirect target answers without user-identifier/model-family, or the Location carries them",
			fmt.Sprintf("without the parameters the target answered %s; with them it returned %s", c.failure, probe.doc))
	case !c.doc.same(probe.doc):
		r.check("RD-002", false, "the same document with and without the parameters, or a Location that carries them",
			fmt.Sprintf("without: %s; with: %s", c.doc, probe.doc))
	default:
		r.report(check.With("RD-002", Pass, "the redirect dropped the parameters; the target ignores them"))
	}
}

// judgeDocument: WK-002..007 and WK-016 on the final 200 of the domain.
func (r *runner) judgeDocument(c *chain) {
	ids := []string{"WK-002", "WK-003", "WK-004", "WK-005", "WK-006", "WK-007", "WK-016"}
	if c.final == nil || c.final.status != http.StatusOK || (c.final.err != nil && !c.final.tooLarge) {
		why := "the organisation domain gave no 200 answer"
		if c.final != nil && c.final.err != nil {
			why = "the 200 answer could not be read: " + c.final.err.Error()
		}
		for _, id := range ids {
			r.skip(id, why)
		}
		return
	}
	r.judgeDocBody("WK", c.final)
}

// judgeDocBody applies the document rules (WK-002..007, WK-016) to one 200
// answer. prefix "WK" reports them; ABM-003 reuses the verdicts instead.
func (r *runner) judgeDocBody(prefix string, resp *response) []Result {
	var out []Result
	add := func(res Result) { out = append(out, res) }
	mt := resp.mediaType()
	add(check.Verdict("WK-002", mt == "application/json", "media type application/json", fmt.Sprintf("Content-Type %q", resp.header.Get("Content-Type"))))
	if _, repeated := singleHeader(resp.header, "Content-Type"); repeated != "" {
		add(check.With("WK-002", Noted, repeated))
	}
	raw, warns, jerr := readDocument(resp)
	servers, isArr := raw["Servers"].([]any)
	switch {
	case isDocLimit(jerr):
		add(check.With("WK-003", Error, jerr.Error()))
	case jerr != nil:
		add(check.Verdict("WK-003", false, "a JSON object with a non-empty Servers array", "not a JSON object: "+jerr.Error()))
	case !isArr:
		add(check.Verdict("WK-003", false, "a JSON object with a non-empty Servers array", fmt.Sprintf("Servers is %s", jsonKind(raw["Servers"]))))
	case len(servers) == 0:
		add(check.Verdict("WK-003", false, "a JSON object with a non-empty Servers array", "Servers is an empty array"))
	case len(warns) > 0:
		add(docWarning("WK-003", "a JSON object with a non-empty Servers array that every JSON parser reads alike", strings.Join(warns, "; ")))
	default:
		add(check.Verdict("WK-003", true, "", ""))
	}
	if len(servers) == 0 {
		for _, id := range []string{"WK-004", "WK-005", "WK-006", "WK-007"} {
			add(check.With(id, Skip, "no Servers entries to judge"))
		}
	} else {
		var bad4, bad5, bad7 []string
		for i, s := range servers {
			m, ok := s.(map[string]any)
			if !ok {
				bad4 = append(bad4, fmt.Sprintf("Servers[%d] is %s", i, jsonKind(s)))
				continue
			}
			v, vok := m["Version"].(string)
			b, bok := m["BaseURL"].(string)
			if !vok {
				bad4 = append(bad4, fmt.Sprintf("Servers[%d].Version is %s", i, jsonKind(m["Version"])))
			}
			if !bok {
				bad4 = append(bad4, fmt.Sprintf("Servers[%d].BaseURL is %s", i, jsonKind(m["BaseURL"])))
			}
			if vok && v != "mdm-byod" && v != "mdm-adde" {
				bad5 = append(bad5, fmt.Sprintf("Servers[%d].Version %q", i, v))
			}
			if bok {
				u, err := url.Parse(b)
				if err != nil || u.Scheme != "https" || u.Host == "" {
					bad7 = append(bad7, fmt.Sprintf("Servers[%d].BaseURL %q", i, b))
				}
			}
		}
		add(check.Verdict("WK-004", len(bad4) == 0, "every entry an object with string Version and BaseURL", someOf(bad4, 10)))
		add(check.Verdict("WK-005", len(bad5) == 0, "Version mdm-byod or mdm-adde", someOf(bad5, 10)))
		used := ""
		if m, ok := servers[0].(map[string]any); ok {
			used = fmt.Sprintf("; a device uses the first: %v at %v", m["Version"], m["BaseURL"])
		}
		add(check.Verdict("WK-006", len(servers) == 1, "exactly one Servers entry", fmt.Sprintf("%d entries%s", len(servers), used)))
		add(check.Verdict("WK-007", len(bad7) == 0, "an absolute https BaseURL with a host", someOf(bad7, 10)))
	}
	cc := strings.ToLower(resp.header.Get("Cache-Control"))
	add(check.Verdict("WK-016", strings.Contains(cc, "no-store"), "Cache-Control: no-store (the document is per user)", fmt.Sprintf("Cache-Control %q", resp.header.Get("Cache-Control"))))
	if prefix == "WK" {
		for _, res := range out {
			r.report(res)
		}
	}
	return out
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// judgeTransportLimits: WK-015, the answer within the timeout.
func (r *runner) judgeTransportLimits(c *chain) {
	for i, h := range c.hops {
		if h.timeout {
			r.check("WK-015", false, fmt.Sprintf("an answer within %s (devices wait 90 s)", r.lim.Timeout), fmt.Sprintf("%s: %v", c.urls[i], h.err))
			return
		}
	}
	r.check("WK-015", true, "", "")
}

// judgeRejections: WK-010/011 on a 403 with an error body, from the
// device's own chain or else from the unknown-user probe.
func (r *runner) judgeRejection(resp *response, where string) bool {
	if resp == nil || resp.status != http.StatusForbidden {
		return false
	}
	rej := parseRejection(resp)
	if rej == nil {
		r.note("WK-010", where+": a 403 without a JSON or plist error object (an ordinary failure; 18.2+ clients fall back to AxM)")
		r.skip("WK-011", "no 403 rejection body with a code")
		return true
	}
	mt := resp.mediaType()
	typeOK := mt == "application/json" || mt == "application/xml" || mt == "text/xml" || mt == "application/x-plist"
	var problems []string
	if rej.code != "com.apple.well-known.failed" {
		problems = append(problems, fmt.Sprintf("code %q", rej.code))
	}
	if len(rej.badTypes) > 0 {
		problems = append(problems, "not strings: "+strings.Join(rej.badTypes, ", "))
	}
	if !typeOK {
		problems = append(problems, fmt.Sprintf("Content-Type %q does not state JSON or an XML plist", resp.header.Get("Content-Type")))
	}
	r.check("WK-010", len(problems) == 0, `code "com.apple.well-known.failed", string message/description, a JSON or plist Content-Type`, where+": "+strings.Join(problems, "; "))
	const asJSON = "the rejection as application/json (the iOS 26.1 client ignores other 403 bodies)"
	if mt == "application/json" && rej.note != "" {
		// NSJSONSerialization reads it, so the device shows the message.
		r.report(docWarning("WK-011", asJSON+", in UTF-8 without a byte-order mark", where+": "+rej.note))
	} else {
		r.check("WK-011", mt == "application/json", asJSON, fmt.Sprintf("%s: Content-Type %q (%s body)", where, resp.header.Get("Content-Type"), rej.format))
	}
	return true
}

func (r *runner) judgeRejections(c *chain) {
	// The device's own rejection is judged here; the unknown-user probe in
	// judgeProbes covers the case where the device's user is accepted.
	if c.final != nil && c.final.status == http.StatusForbidden {
		r.judgeRejection(c.final, "the device's own request")
		r.discovery.rejectionJudged = true
	}
}

// ProbeUnknownUser is the identifier local part the tester uses to ask for
// a user nobody has (WK-009). It is fixed so runs are repeatable.
const ProbeUnknownUser = "enrollsim-probe-no-such-user"

// probesOff is why a check that needs a tester's probe is skipped under
// --no-probes: a server with a lockout or rate limit must see only what a
// device sends.
const probesOff = "probes are off (--no-probes)"

// judgeProbes asks the organisation domain what a device would not, to
// judge how the server treats other inputs: an unknown user (WK-009), other
// encodings and missing parameters (WK-013), a family that does not enroll
// (WK-014), and whether a failure looks like a session requirement (WK-012).
func (r *runner) judgeProbes(c *chain, start string) {
	d := r.c.Device
	base := "https://" + r.domain + WellKnownPath
	fam := string(d.Family)

	// WK-012: the device sends neither cookies nor Authorization.
	needsSession := ""
	if !c.ok() {
		for i, h := range c.hops {
			if h.status == http.StatusUnauthorized || h.header.Get("WWW-Authenticate") != "" {
				needsSession = fmt.Sprintf("%s answered %d asking for authorization", c.urls[i], h.status)
				break
			}
			if h.header.Get("Set-Cookie") != "" && (c.loop || c.hopCap || (c.final != nil && c.final.status != http.StatusOK)) {
				needsSession = fmt.Sprintf("%s set a cookie and discovery then failed (%s): it seems to need a session", c.urls[i], c.failure)
				break
			}
		}
	}
	r.check("WK-012", needsSession == "", "discovery works without cookies or Authorization", needsSession)

	if r.c.NoProbes {
		r.skipAll(probesOff, "WK-009", "WK-013", "WK-014")
		if !r.discovery.rejectionJudged {
			r.skipAll(probesOff+": the device's own request got no 403 to judge", "WK-010", "WK-011")
		}
		return
	}

	// WK-009: an identifier the server will not enroll.
	unknown := ProbeUnknownUser + "@" + r.domain
	p := r.follow(r.discoveryURL(base, unknown, fam, false), "probe WK-009: unknown user", true)
	switch {
	case p.ok():
		r.check("WK-009", false, "a 403 (ideally com.apple.well-known.failed) or another 4xx for an unknown user", fmt.Sprintf("a 200 discovery document for %s: %s", unknown, p.doc))
	case p.final != nil && p.final.status >= 400 && p.final.status < 500:
		r.check("WK-009", true, "", "")
	case p.final != nil && p.final.status == http.StatusOK:
		r.check("WK-009", false, "a 4xx for an unknown user, never a 200", fmt.Sprintf("200 with %s", p.failure))
	case refusedTLS(p):
		// The device itself refuses the host's TLS, so it never learns
		// how the server treats an unknown user: SEC-004..006 say why.
		r.skip("WK-009", "the device refuses the server's TLS (see SEC-004..006): "+p.failure)
	default:
		r.cannotJudge("WK-009", "the unknown-user probe got no final answer: "+p.failure)
	}
	if !r.discovery.rejectionJudged {
		if !r.judgeRejection(p.final, "the unknown-user probe") {
			r.skip("WK-010", "no 403 answer seen")
			r.skip("WK-011", "no 403 answer seen")
		}
	}

	if !c.ok() {
		for _, id := range []string{"WK-013", "WK-014"} {
			r.skip(id, "no working discovery to compare with")
		}
		return
	}
	// WK-013: variants a server must treat like the device's request.
	variants := []struct{ what, url string }{
		{"an unknown extra parameter", start + "&enrollsim-probe=1"},
		{"'@' percent-encoded", base + "?user-identifier=" + url.QueryEscape(r.c.Account.Identifier) + "&model-family=" + fam},
		{"no model-family", base + "?user-identifier=" + queryValue(r.c.Account.Identifier)},
	}
	var bad, unjudged []string
	for _, v := range variants {
		p := r.follow(v.url, "probe WK-013: "+v.what, true)
		if l := chainLimit(p); l != "" {
			unjudged = append(unjudged, fmt.Sprintf("with %s: %s", v.what, l))
		} else if !p.ok() {
			bad = append(bad, fmt.Sprintf("with %s: %s", v.what, p.failure))
		} else if !p.doc.same(c.doc) {
			bad = append(bad, fmt.Sprintf("with %s: %s instead of %s", v.what, p.doc, c.doc))
		}
	}
	if len(bad) == 0 && len(unjudged) > 0 {
		r.cannotJudge("WK-013", "a variant's answer broke the simulator's limit: "+strings.Join(unjudged, "; "))
	} else {
		r.check("WK-013", len(bad) == 0, "the same document for every variant", strings.Join(bad, "; "))
	}

	// WK-014: a family that does not do account-driven enrollment.
	p = r.follow(r.discoveryURL(base, r.c.Account.Identifier, "AppleTV", false), "probe WK-014: model-family AppleTV", true)
	switch {
	case p.ok() || (p.final != nil && p.final.status == http.StatusOK):
		r.check("WK-014", false, "a 4xx for model-family AppleTV", "a 200 document: "+p.doc.String())
	case p.final != nil && p.final.status >= 400 && p.final.status < 500:
		r.check("WK-014", true, "", "")
	case p.final != nil:
		r.check("WK-014", false, "a 4xx for model-family AppleTV", fmt.Sprintf("status %d", p.final.status))
	default:
		r.cannotJudge("WK-014", "the probe got no final answer: "+p.failure)
	}
}

// refusedTLS: the chain stopped because the device refused a host's TLS
// under Apple's rules (package sim/ats).
func refusedTLS(c *chain) bool {
	if c == nil || len(c.hops) == 0 {
		return false
	}
	_, refused := ats.Refused(c.hops[len(c.hops)-1].err)
	return refused
}
