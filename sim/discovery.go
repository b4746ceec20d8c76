package sim

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/profile"
)

// WellKnownPath is the discovery path of §2.2.
const WellKnownPath = "/.well-known/com.apple.remotemanagement"

// chain is one discovery request followed hop by hop, as a device follows
// it: what the device saw (check.DiscoveryChain, the judges' observation)
// and the responses themselves, for the transport checks.
type chain struct {
	check.DiscoveryChain
	hops []*response // every response, redirects included
}

// discoveryState is what discovery learned, for the later steps.
type discoveryState struct {
	domain   *chain
	axm      *chain // the device's fallback, or the tester's AxM probe
	axmProbe bool   // axm was a tester probe, not device behaviour
	// registered is the URL AxM redirected to, without the query Apple adds.
	registered string

	via     string // "well-known" or "axm-fallback"
	version string
	baseURL string
}

// discoveryURL builds the well-known URL the way the device does: the
// identifier as typed, '@' unescaped as Foundation's URLComponents leaves it,
// then model-family.
func discoveryURL(base string, id string, family string, omitFamily bool) string {
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
// at most MaxHops hops. It observes (the hops, where and why the device
// stopped, the document it got); the RD and WK judges judge.
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
		c.Hops = append(c.Hops, observeHop(resp, r.lim.Timeout))
		c.URLs = append(c.URLs, cur)
		if resp.status == 0 {
			// The real transport's errors name the request already.
			c.Failure = resp.err.Error()
			if !strings.Contains(c.Failure, cur) {
				c.Failure = fmt.Sprintf("GET %s: %v", cur, resp.err)
			}
			return c
		}
		if resp.status < 300 || resp.status > 399 {
			break
		}
		var next string
		if next = c.redirect(resp, cur, seen, hop, r.lim.MaxHops); next == "" {
			return c
		}
		cur = next
	}
	final := &c.Hops[len(c.Hops)-1]
	c.Reached = true
	final.Body = c.hops[len(c.hops)-1].body
	c.Doc, c.Failure = parseDiscovery(c.hops[len(c.hops)-1], final.Rejection)
	return c
}

// redirect reads one redirect of the chain: the URL the device goes to
// next, or "" when it stops there (c says why).
func (c *chain) redirect(resp *response, cur string, seen map[string]bool, hop, maxHops int) string {
	loc, repeated := singleHeader(resp.header, "Location")
	c.Hops[len(c.Hops)-1].RepeatedLocation = repeated
	if strings.TrimSpace(loc) == "" {
		c.BadRedirect = fmt.Sprintf("%d from %s has no Location header", resp.status, cur)
		c.Failure = "a redirect without a Location: " + c.BadRedirect
		return ""
	}
	if !followable(resp.status) {
		c.BadRedirect = fmt.Sprintf("status %d is not a redirect the device follows (301, 302, 303, 307, 308)", resp.status)
		c.Failure = c.BadRedirect
		return ""
	}
	next, why := redirectTarget(cur, loc)
	if why != "" {
		c.BadRedirect = why
		c.Failure = why
		return ""
	}
	nextS := next.String()
	switch {
	case next.Scheme == "http":
		c.Downgrade = true
		c.URLs = append(c.URLs, nextS)
		c.Failure = fmt.Sprintf("redirect from %s to %s: the device refuses plain http (App Transport Security)", cur, nextS)
		return ""
	case seen[nextS]:
		c.Loop = true
		c.URLs = append(c.URLs, nextS)
		c.Failure = fmt.Sprintf("redirect loop: %s leads back to %s", cur, nextS)
		return ""
	case hop+1 >= maxHops:
		c.HopCap = true
		c.Failure = fmt.Sprintf("more than %d redirects (the simulator's hop limit)", maxHops)
		return ""
	}
	return nextS
}

// observeHop is what the judges see of one response of a chain (its body
// only when it is the final answer: follow adds it).
func observeHop(resp *response, timeout time.Duration) check.DiscoveryHop {
	h := check.DiscoveryHop{Status: resp.status, Header: check.Header(resp.header), TooLarge: resp.tooLarge,
		Timeout: resp.timeout, OverLimit: resp.overLimit, RateLimited: resp.rateLimited,
		Unjudged: unjudgeable(resp, timeout, "document")}
	if resp.err != nil {
		h.Err = resp.err.Error()
		_, h.RefusedTLS = ats.Refused(resp.err)
	}
	if resp.status != 0 && resp.status != http.StatusOK && (resp.status < 300 || resp.status > 399) {
		h.Rejection = parseRejection(resp).observed()
	}
	return h
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
// Version it knows and whose BaseURL is a URL (check.DeviceDocument). rej
// is the answer's error body, when it has one.
func parseDiscovery(resp *response, rej *check.WellKnownRejection) (*check.WellKnownDoc, string) {
	// A body over the read cap still came: a wrong status, media type or
	// root is the device's reason to stop before its size is.
	if resp.err != nil && !resp.tooLarge {
		return nil, resp.err.Error()
	}
	if resp.status != http.StatusOK {
		why := fmt.Sprintf("status %d", resp.status)
		if rej != nil && rej.Code != "" {
			why += fmt.Sprintf(" with code %q", rej.Code)
			if rej.Message != "" {
				why += fmt.Sprintf(", message %q", rej.Message)
			}
		}
		return nil, why
	}
	if mt := resp.mediaType(); mt != "application/json" {
		return nil, fmt.Sprintf("Content-Type is %q, not application/json", mt)
	}
	return check.DeviceDocument(resp.body, resp.tooLarge)
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

// observed is the rejection as the judges see it; nil stays nil.
func (rej *rejection) observed() *check.WellKnownRejection {
	if rej == nil {
		return nil
	}
	return &check.WellKnownRejection{Format: rej.format, Code: rej.code, Message: rej.message,
		Description: rej.description, BadTypes: rej.badTypes, Note: rej.note}
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

// discover is step 2: the organisation domain's well-known, hop by hop,
// then the tester's probes; the RD and WK judges judge what they saw.
func (r *runner) discover() (*stop, event.StepStatus, string) {
	d := r.c.Device
	start := discoveryURL("https://"+r.domain+WellKnownPath, r.c.Account.Identifier, string(d.Family), r.c.Options.OmitModelFamily)
	c := r.follow(start, "well-known", false)
	r.discovery = &discoveryState{domain: c}
	o := &check.Discovery{Chain: c.DiscoveryChain, MaxHops: r.lim.MaxHops, Timeout: r.lim.Timeout, NoProbes: r.c.NoProbes}
	if !r.c.NoProbes {
		r.discoveryProbes(o, start)
	}
	r.obs.Discovery = o
	r.judged(check.JudgeRedirects(o))
	r.judged(check.JudgeWellKnown(o))

	if c.OK() {
		hops := len(c.hops) - 1
		return nil, event.StepOK, fmt.Sprintf("%s (%d redirect%s)", c.Doc, hops, plural(hops))
	}
	return nil, event.StepFailed, "the organisation domain's discovery failed: " + c.Failure
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// ProbeUnknownUser is the identifier local part the tester uses to ask for
// a user nobody has (WK-009). It is fixed so runs are repeatable.
const ProbeUnknownUser = "enrollsim-probe-no-such-user"

// discoveryProbes asks what a device would not, to judge how the server
// treats other inputs: the redirect target with the parameters the
// redirect dropped (RD-002), an unknown user (WK-009), other encodings
// and missing parameters (WK-013), and a family that does not enroll
// (WK-014). What each saw goes into o.
func (r *runner) discoveryProbes(o *check.Discovery, start string) {
	c := &o.Chain
	id, fam := r.c.Account.Identifier, string(r.c.Device.Family)
	if c.DroppedQuery() {
		// Devices do not copy the query onto a redirect target: ask the
		// target both ways.
		withParams := discoveryURL(c.FinalURL(), id, fam, r.c.Options.OmitModelFamily)
		o.TargetProbe = &r.follow(withParams, "probe RD-002: redirect target with the discovery parameters", true).DiscoveryChain
	}
	base := "https://" + r.domain + WellKnownPath
	o.UnknownUser = ProbeUnknownUser + "@" + r.domain
	o.UnknownUserProbe = &r.follow(discoveryURL(base, o.UnknownUser, fam, false), "probe WK-009: unknown user", true).DiscoveryChain
	if !c.OK() {
		return
	}
	variants := []struct{ what, url string }{
		{"an unknown extra parameter", start + "&enrollsim-probe=1"},
		{"'@' percent-encoded", base + "?user-identifier=" + url.QueryEscape(id) + "&model-family=" + fam},
		{"no model-family", base + "?user-identifier=" + queryValue(id)},
	}
	for _, v := range variants {
		p := r.follow(v.url, "probe WK-013: "+v.what, true)
		o.Variants = append(o.Variants, check.DiscoveryVariant{What: v.what, Chain: p.DiscoveryChain})
	}
	o.FamilyProbe = &r.follow(discoveryURL(base, id, "AppleTV", false), "probe WK-014: model-family AppleTV", true).DiscoveryChain
}
