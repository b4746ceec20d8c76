package check

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	targetURL   = "https://mdm.acme.test/wk"
	withParams  = targetURL + "?user-identifier=alice@acme.test&model-family=iPhone"
	otherDocRD  = `{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll"}]}`
	redirectRD5 = `2 Location headers with different values; the first is used: "https://mdm.acme.test/wk"`
)

// redirected is the device's chain: a 302 from the domain to to, then
// the target's answer.
func redirected(to string, final DiscoveryHop) DiscoveryChain {
	return reached([]string{wkURL, to}, DiscoveryHop{Status: 302, Header: Header{"Location": {to}}}, final)
}

func TestJudgeRedirects(t *testing.T) {
	tests := []struct {
		name string
		d    Discovery
		want string
		text map[string]string
	}{
		{name: "no redirect", d: Discovery{Chain: served(goodDoc)},
			want: "RD-001 pass,RD-002 skip,RD-003 skip,RD-004 skip,RD-005 skip"},
		{name: "a redirect that carries the parameters", d: Discovery{Chain: redirected(withParams, answer(200, goodDoc, jsonHdr()))},
			want: "RD-001 info,RD-002 pass,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-001": "followed 1 redirect(s)"}},
		{name: "dropped parameters the target ignores", d: Discovery{Chain: redirected(targetURL, answer(200, goodDoc, jsonHdr())), TargetProbe: ptr(served(goodDoc))},
			want: "RD-001 info,RD-002 pass,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-002": "the target ignores them"}},
		{name: "dropped parameters the target does not use", d: Discovery{Chain: redirected(targetURL, answer(404, "", nil)), TargetProbe: ptr(reached([]string{withParams}, answer(404, "", nil)))},
			want: "RD-001 info,RD-002 pass,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-002": "answers the same without them"}},
		{name: "dropped parameters the target needs", d: Discovery{Chain: redirected(targetURL, answer(400, "", nil)), TargetProbe: ptr(served(goodDoc))},
			want: "RD-001 info,RD-002 fail,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-002": "without the parameters the target answered status 400"}},
		{name: "dropped parameters that route", d: Discovery{Chain: redirected(targetURL, answer(200, goodDoc, jsonHdr())), TargetProbe: ptr(served(otherDocRD))},
			want: "RD-001 info,RD-002 fail,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-002": "without: mdm-byod"}},
		{name: "dropped parameters past the bounds", d: Discovery{Chain: redirected(targetURL, answer(200, goodDoc, jsonHdr())),
			TargetProbe: ptr(served(`{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`))},
			want: "RD-001 info,RD-002 error,RD-003 pass,RD-004 pass,RD-005 pass"},
		{name: "dropped parameters, probes off", d: Discovery{Chain: redirected(targetURL, answer(200, goodDoc, jsonHdr())), NoProbes: true},
			want: "RD-001 info,RD-002 skip,RD-003 pass,RD-004 pass,RD-005 pass", text: map[string]string{"RD-002": "--no-probes"}},
		{name: "a downgrade", d: Discovery{Chain: DiscoveryChain{URLs: []string{wkURL, "http://acme.test/"}, Downgrade: true, Failure: "plain http",
			Hops: []DiscoveryHop{{Status: 302}}}},
			want: "RD-001 info,RD-002 skip,RD-003 warn,RD-004 pass,RD-005 pass", text: map[string]string{"RD-003": "a redirect to http://acme.test/"}},
		{name: "a loop", d: Discovery{MaxHops: 10, Chain: DiscoveryChain{URLs: []string{wkURL, targetURL, wkURL}, Loop: true, Failure: "redirect loop",
			Hops: []DiscoveryHop{{Status: 302}, {Status: 302}}}},
			want: "RD-001 info,RD-002 skip,RD-003 pass,RD-004 warn,RD-005 pass", text: map[string]string{"RD-004": "within 10 hops without revisiting a URL | redirect loop"}},
		{name: "a redirect without Location", d: Discovery{Chain: DiscoveryChain{URLs: []string{wkURL}, BadRedirect: "302 has no Location header", Failure: "no Location",
			Hops: []DiscoveryHop{{Status: 302}}}},
			want: "RD-001 info,RD-002 skip,RD-003 pass,RD-004 pass,RD-005 warn", text: map[string]string{"RD-005": "302 has no Location header"}},
		{name: "repeated Locations, the device's and a probe's", d: func() Discovery {
			c := redirected(withParams, answer(200, goodDoc, jsonHdr()))
			c.Hops[0].RepeatedLocation = redirectRD5
			p := served(goodDoc)
			p.Hops[0].RepeatedLocation = redirectRD5
			return Discovery{Chain: c, FamilyProbe: &p}
		}(), want: "RD-005 info,RD-001 info,RD-002 pass,RD-003 pass,RD-004 pass,RD-005 pass,RD-005 info", text: map[string]string{"RD-005": wkURL + ": 2 Location headers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeRedirects(&tt.d)
			assert.Equal(t, strings.Split(tt.want, ","), got(v))
			assert.Empty(t, v.Missing())
			for id, text := range tt.text {
				assert.Contains(t, says(v, id), text, id)
			}
			roundTrips(t, &tt.d, JudgeRedirects)
		})
	}
}

// A Location repeated with another value on the AxM path is noted under
// RD-005; a clean path gives the judge nothing to say.
func TestJudgeFallbackRedirects(t *testing.T) {
	clean := &Fallback{AxM: &DiscoveryChain{URLs: []string{"https://axm.test/mdmBaseURL"}, Hops: []DiscoveryHop{{Status: 302}}}}
	assert.Nil(t, JudgeFallbackRedirects(clean))
	repeated := &Fallback{AxM: &DiscoveryChain{URLs: []string{"https://axm.test/mdmBaseURL"},
		Hops: []DiscoveryHop{{Status: 302, RepeatedLocation: "Location repeated with another value"}}},
		RegisteredProbe: &DiscoveryChain{URLs: []string{"https://mdm.test/sd"}, Hops: []DiscoveryHop{{Status: 200}}}}
	v := JudgeFallbackRedirects(repeated)
	require.NotNil(t, v)
	assert.Equal(t, []string{"RD-005 info"}, got(v))
	assert.Contains(t, v.Results[0].Detail, "https://axm.test/mdmBaseURL: Location repeated")
}
