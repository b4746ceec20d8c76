package check

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The observations of these tests are built by hand, as the discovery
// step fills them in: no server, no runner.

const (
	wkURL   = "https://acme.test/.well-known/com.apple.remotemanagement?user-identifier=alice@acme.test&model-family=iPhone"
	goodDoc = `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"}]}`
)

func jsonHdr(kv ...string) Header {
	h := Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(h, kv[i])
		} else {
			h[kv[i]] = append([]string(nil), strings.Split(kv[i+1], "\n")...)
		}
	}
	return h
}

// answer is a final answer of status with body and header.
func answer(status int, body string, h Header) DiscoveryHop {
	return DiscoveryHop{Status: status, Header: h, Body: []byte(body)}
}

// reached is a chain whose last hop is its final answer, read as the
// device reads it.
func reached(urls []string, hops ...DiscoveryHop) DiscoveryChain {
	c := DiscoveryChain{Hops: hops, URLs: urls, Reached: true}
	f := c.Final()
	switch {
	case f.Status != 200:
		c.Failure = fmt.Sprintf("status %d", f.Status)
	case mediaTypeOf(f.Header) != "application/json":
		c.Failure = "not JSON"
	default:
		c.Doc, c.Failure = DeviceDocument(f.Body, f.TooLarge)
	}
	return c
}

func served(body string) DiscoveryChain {
	return reached([]string{wkURL}, answer(200, body, jsonHdr()))
}

// unanswered is a chain whose first request got no answer.
func unanswered(why string, timeout bool) DiscoveryChain {
	return DiscoveryChain{Hops: []DiscoveryHop{{Err: why, Timeout: timeout, Unjudged: "no answer: " + why}}, URLs: []string{wkURL}, Failure: "GET: " + why}
}

func ptr[T any](v T) *T { return &v }

var rejected = answer(403, `{"code":"com.apple.well-known.failed"}`, jsonHdr())

func init() {
	rejected.Rejection = &WellKnownRejection{Format: "json", Code: "com.apple.well-known.failed"}
}

// conformingDiscovery is what a careful server shows every probe.
func conformingDiscovery() *Discovery {
	return &Discovery{Chain: served(goodDoc), MaxHops: 10, Timeout: 15 * time.Second,
		UnknownUser:      "nobody@acme.test",
		UnknownUserProbe: ptr(reached([]string{wkURL}, rejected)),
		Variants: []DiscoveryVariant{{What: "an unknown extra parameter", Chain: served(goodDoc)},
			{What: "no model-family", Chain: served(goodDoc)}},
		FamilyProbe: ptr(reached([]string{wkURL}, rejected)),
	}
}

// says finds the text of the first result of id that is not a pass.
func says(v *Verdicts, id string) string {
	for _, r := range v.Results {
		if r.ID == id && r.Status != Pass {
			return r.Expected + " | " + r.Actual + " | " + r.Detail
		}
	}
	for _, r := range v.Results {
		if r.ID == id {
			return r.Detail
		}
	}
	return ""
}

// roundTrips judges an observation again after a JSON round trip: saved
// observations must judge the same as live ones.
func roundTrips[T any](t *testing.T, o *T, judge func(*T) *Verdicts) {
	t.Helper()
	b, err := json.Marshal(o)
	require.NoError(t, err)
	var back T
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, judge(o).Results, judge(&back).Results, "judged the same after a JSON round trip")
}

func TestJudgeWellKnown(t *testing.T) {
	const docChecks = "WK-002 pass,WK-003 pass,WK-004 pass,WK-005 pass,WK-006 pass,WK-007 pass,WK-016 pass"
	tests := []struct {
		name string
		edit func(d *Discovery)
		want string // "ID status" in order
		text map[string]string
	}{
		{name: "conforming", edit: func(*Discovery) {},
			want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 pass,WK-014 pass"},
		{name: "bad document", edit: func(d *Discovery) {
			d.Chain = reached([]string{wkURL}, answer(200, `{"Servers":[{"Version":"mdm-x","BaseURL":"http://mdm.acme.test/"},{"Version":"mdm-byod","BaseURL":"https://b.test/"}]}`,
				jsonHdr("Content-Type", "application/json\ntext/html", "Cache-Control", "")))
			d.Chain.Doc, d.Chain.Failure = DeviceDocument(d.Chain.Final().Body, false)
			d.Variants, d.FamilyProbe = nil, nil
		}, want: "WK-002 pass,WK-002 info,WK-003 pass,WK-004 pass,WK-005 fail,WK-006 fail,WK-007 warn,WK-016 info,WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 skip,WK-014 skip",
			text: map[string]string{"WK-006": "2 entries; a device uses the first: mdm-x at http://mdm.acme.test/", "WK-002": "2 Content-Type headers"}},
		{name: "not JSON", edit: func(d *Discovery) {
			d.Chain = reached([]string{wkURL}, answer(200, goodDoc, jsonHdr("Content-Type", "text/plain")))
		}, want: "WK-002 fail,WK-003 pass,WK-004 pass,WK-005 pass,WK-006 pass,WK-007 pass,WK-016 pass,WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 skip,WK-014 skip"},
		{name: "empty Servers", edit: func(d *Discovery) { d.Chain = served(`{"Servers":[]}`) },
			want: "WK-002 pass,WK-003 fail,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 pass,WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 skip,WK-014 skip"},
		{name: "byte-order mark", edit: func(d *Discovery) { d.Chain = served("\xEF\xBB\xBF" + goodDoc) },
			want: "WK-002 pass,WK-003 warn,WK-004 pass,WK-005 pass,WK-006 pass,WK-007 pass,WK-016 pass,WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 pass,WK-014 pass",
			text: map[string]string{"WK-003": "byte-order mark"}},
		{name: "deeper than the bounds", edit: func(d *Discovery) {
			d.Chain = served(`{"Servers":[],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)
			d.Variants, d.FamilyProbe = nil, nil
		}, want: "WK-002 pass,WK-003 error,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 pass,WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 skip,WK-014 skip"},
		{name: "slow, then a session wanted", edit: func(d *Discovery) {
			d.Chain = DiscoveryChain{URLs: []string{wkURL, wkURL + "&x"}, Reached: true, Failure: "status 401", Hops: []DiscoveryHop{
				{Status: 302}, {Status: 401, Header: Header{"Www-Authenticate": {"Basic"}}, Timeout: true, Err: "slow"}}}
			d.Variants, d.FamilyProbe = nil, nil
		}, want: "WK-002 skip,WK-003 skip,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 skip,WK-015 warn,WK-012 warn,WK-009 pass,WK-010 pass,WK-011 pass,WK-013 skip,WK-014 skip",
			text: map[string]string{"WK-012": "answered 401 asking for authorization", "WK-015": "an answer within 15s"}},
		{name: "a cookie, then a failure", edit: func(d *Discovery) {
			d.Chain = reached([]string{wkURL}, answer(404, "", Header{"Set-Cookie": {"s=1"}}))
			d.UnknownUserProbe = ptr(reached([]string{wkURL}, answer(404, "", nil)))
		}, want: "WK-002 skip,WK-003 skip,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 skip,WK-015 pass,WK-012 warn,WK-009 pass,WK-010 skip,WK-011 skip,WK-013 skip,WK-014 skip",
			text: map[string]string{"WK-012": "set a cookie and discovery then failed"}},
		{name: "the device's own 403, bare", edit: func(d *Discovery) {
			d.Chain = reached([]string{wkURL}, answer(403, "<html>no</html>", Header{"Content-Type": {"text/html"}}))
		}, want: "WK-002 skip,WK-003 skip,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 skip,WK-015 pass,WK-010 info,WK-011 skip,WK-012 pass,WK-009 pass,WK-013 skip,WK-014 skip"},
		{name: "the device's own 403, wrong code as a plist", edit: func(d *Discovery) {
			h := answer(403, "<plist/>", Header{"Content-Type": {"text/plain"}})
			h.Rejection = &WellKnownRejection{Format: "plist", Code: "nope", BadTypes: []string{"message"}}
			d.Chain = reached([]string{wkURL}, h)
		}, want: "WK-002 skip,WK-003 skip,WK-004 skip,WK-005 skip,WK-006 skip,WK-007 skip,WK-016 skip,WK-015 pass,WK-010 fail,WK-011 warn,WK-012 pass,WK-009 pass,WK-013 skip,WK-014 skip",
			text: map[string]string{"WK-010": `code "nope"; not strings: message; Content-Type "text/plain"`}},
		{name: "a rejection with a byte-order mark", edit: func(d *Discovery) {
			h := answer(403, "", jsonHdr())
			h.Rejection = &WellKnownRejection{Format: "json", Code: "com.apple.well-known.failed", Note: "the body starts with a UTF-8 byte-order mark"}
			d.UnknownUserProbe = ptr(reached([]string{wkURL}, h))
		}, want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 pass,WK-010 pass,WK-011 warn,WK-013 pass,WK-014 pass"},
		{name: "probes off", edit: func(d *Discovery) {
			d.NoProbes, d.UnknownUserProbe, d.Variants, d.FamilyProbe = true, nil, nil, nil
		}, want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 skip,WK-013 skip,WK-014 skip,WK-010 skip,WK-011 skip"},
		{name: "probes answered wrongly", edit: func(d *Discovery) {
			d.UnknownUserProbe = ptr(served(goodDoc))
			d.Variants[1].Chain = served(`{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll"}]}`)
			d.FamilyProbe = ptr(served(goodDoc))
		}, want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 warn,WK-010 skip,WK-011 skip,WK-013 warn,WK-014 warn",
			text: map[string]string{"WK-013": "with no model-family: mdm-adde at https://mdm.acme.test/enroll instead of mdm-byod", "WK-009": "a 200 discovery document for nobody@acme.test"}},
		{name: "probes without answers", edit: func(d *Discovery) {
			d.UnknownUserProbe = ptr(unanswered("connection reset", false))
			d.Variants[0].Chain = served(`{"Servers":[],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`)
			d.FamilyProbe = ptr(unanswered("connection reset", false))
		}, want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 error,WK-010 skip,WK-011 skip,WK-013 error,WK-014 error"},
		{name: "the unknown user's TLS refused, a 5xx for AppleTV", edit: func(d *Discovery) {
			p := unanswered("tls: refused", false)
			p.Hops[0].RefusedTLS = true
			d.UnknownUserProbe = &p
			d.FamilyProbe = ptr(reached([]string{wkURL}, answer(500, "", nil)))
		}, want: docChecks + ",WK-015 pass,WK-012 pass,WK-009 skip,WK-010 skip,WK-011 skip,WK-013 pass,WK-014 warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := conformingDiscovery()
			tt.edit(d)
			v := JudgeWellKnown(d)
			assert.Equal(t, strings.Split(tt.want, ","), got(v))
			assert.Empty(t, v.Missing())
			for id, text := range tt.text {
				assert.Contains(t, says(v, id), text, id)
			}
			roundTrips(t, d, JudgeWellKnown)
		})
	}
}

func conformingDocument() *Document {
	return &Document{Domain: served(goodDoc), AxMFallback: Capability{OK: true}, Timeout: 15 * time.Second, ExpectEnroll: true,
		Client: "iPhone iOS 18.1", User: Capability{OK: true}, Device: Capability{OK: true}, Identifier: "alice@acme.test"}
}

func TestJudgeDocument(t *testing.T) {
	failed := reached([]string{wkURL}, answer(404, "", nil))
	tests := []struct {
		name string
		edit func(d *Document)
		want string
		stop string
		text map[string]string
	}{
		{name: "the domain's document", edit: func(*Document) {}, want: "WK-001 pass,WK-008 pass,WK-017 pass",
			text: map[string]string{"WK-017": "no expected routing declared; the server chose mdm-byod"}},
		{name: "the fallback's", edit: func(d *Document) { d.Domain, d.Fallback = failed, ptr(served(goodDoc)) },
			want: "WK-001 info,WK-008 pass,WK-017 pass", text: map[string]string{"WK-001": "the AxM fallback covered it"}},
		{name: "a type the device cannot do, routed otherwise", edit: func(d *Document) {
			d.Domain = served(`{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll"}]}`)
			d.Device, d.WantVersion = Capability{Why: "ADDE is not available on iOS 16"}, "mdm-byod"
		}, want: "WK-001 pass,WK-008 warn,WK-017 warn", text: map[string]string{"WK-008": "mdm-adde, but ADDE is not available", "WK-017": "mdm-byod for alice@acme.test"}},
		{name: "the routing asked for", edit: func(d *Document) { d.WantVersion = "mdm-byod" }, want: "WK-001 pass,WK-008 pass,WK-017 pass"},
		{name: "failed, the account should enroll", edit: func(d *Document) { d.Domain, d.AxMFallback = failed, Capability{Why: "too old"} },
			want: "WK-001 fail,WK-008 skip,WK-017 skip", stop: StopFailed, text: map[string]string{"WK-001": "status 404; no fallback: too old"}},
		{name: "failed, the account should not enroll", edit: func(d *Document) {
			d.Domain, d.ExpectEnroll, d.Fallback = failed, false, ptr(reached([]string{wkURL}, answer(404, "", nil)))
		}, want: "WK-001 info,WK-008 skip,WK-017 skip", stop: StopFailed, text: map[string]string{"WK-001": "the AxM fallback failed: status 404"}},
		{name: "nothing answered", edit: func(d *Document) { d.Domain = unanswered("dial tcp: no such host", false) },
			want: "WK-001 error,WK-008 skip,WK-017 skip", stop: StopUnreachable, text: map[string]string{"WK-001": "could not be reached: dial tcp: no such host"}},
		{name: "too slow", edit: func(d *Document) { d.Domain = unanswered("timeout", true) },
			want: "WK-001 error,WK-008 skip,WK-017 skip", stop: StopTimeout, text: map[string]string{"WK-001": "raise --timeout"}},
		{name: "rate-limited", edit: func(d *Document) {
			d.Domain = reached([]string{wkURL}, DiscoveryHop{Status: 429, RateLimited: "429 with Retry-After 1h"})
		}, want: "WK-001 error,WK-008 skip,WK-017 skip", stop: StopRateLimited, text: map[string]string{"WK-001": "Retry-After 1h"}},
		{name: "past the read cap", edit: func(d *Document) {
			h := answer(200, `{"Servers":[`, jsonHdr())
			h.TooLarge = true
			d.Domain = reached([]string{wkURL}, h)
		}, want: "WK-001 error,WK-008 skip,WK-017 skip", stop: StopLimit, text: map[string]string{"WK-001": "read limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := conformingDocument()
			tt.edit(d)
			v := JudgeDocument(d)
			assert.Equal(t, strings.Split(tt.want, ","), got(v))
			assert.Equal(t, tt.stop, Discover(d).Stop)
			for id, text := range tt.text {
				assert.Contains(t, says(v, id), text, id)
			}
			roundTrips(t, d, JudgeDocument)
		})
	}
}

// Every WK, RD and ABM check is owned by judges of its own group only (RD-005
// by two: the discovery chain's and the AxM path's notes), and each judge
// returns all it owns.
func TestDiscoveryGroupsOwnTheirChecks(t *testing.T) {
	owner := map[string]string{}
	for _, j := range Judges() {
		if j.Group != "WK" && j.Group != "RD" && j.Group != "ABM" {
			continue
		}
		for _, id := range j.Owns {
			assert.True(t, strings.HasPrefix(id, j.Group+"-"), "%s owns %s", j.Reads, id)
			assert.Contains(t, []string{"", j.Group}, owner[id], "%s is owned by groups %s and %s", id, owner[id], j.Group)
			owner[id] = j.Group
		}
	}
	for _, c := range Checks() {
		if p, _, _ := strings.Cut(c.ID, "-"); p == "WK" || p == "RD" || p == "ABM" {
			assert.NotEmpty(t, owner[c.ID], "%s has no judge", c.ID)
		}
	}
	o := &Observations{Discovery: conformingDiscovery(), Document: conformingDocument(), Fallback: probedFallback(), Registration: conformingRegistration()}
	for _, j := range Judges() {
		if v := j.Run(o); v != nil {
			assert.Empty(t, v.Missing(), "%s %s", j.Group, j.Reads)
		}
	}
}
