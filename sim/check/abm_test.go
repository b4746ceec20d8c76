package check

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const (
	axmURL     = "https://axm.test/mdmBaseURL?user-identifier=alice@acme.test&model-family=iPhone"
	registered = "https://mdm.acme.test/mdm/service-discovery"
)

// axmChain is AxM's redirect to the registered URL and its answer.
func axmChain(final DiscoveryHop) DiscoveryChain {
	return reached([]string{axmURL, registered + "?user-identifier=alice@acme.test&model-family=iPhone"},
		DiscoveryHop{Status: 302}, final)
}

// probedFallback is the tester's probe of a declared registration on a
// device whose domain answered.
func probedFallback() *Fallback {
	return &Fallback{Domain: served(goodDoc), AxMFallback: Capability{OK: true}, AxMConfigured: true, Declared: true, ExpectEnroll: true,
		Timeout: 15 * time.Second, AxM: ptr(axmChain(answer(200, goodDoc, jsonHdr()))), Probe: true, Registered: registered,
		RegisteredProbe: ptr(reached([]string{registered}, answer(400, "", nil)))}
}

// judgeFallback runs the fallback step's judges in the step's order.
func judgeFallback(f *Fallback) *Verdicts {
	all := NewVerdicts(slices.Concat(abmPathChecks, abmPublicChecks, abmProbeChecks)...)
	all.Add(JudgeFallbackPath(f).Results...)
	if f.AxM != nil {
		all.Add(JudgeRegisteredURL(f).Results...)
	}
	all.Add(JudgeFallbackProbe(f).Results...)
	return all
}

func TestJudgeFallback(t *testing.T) {
	failed := reached([]string{wkURL}, answer(404, "", nil))
	tests := []struct {
		name string
		edit func(f *Fallback)
		want string
		plan FallbackPlan
		text map[string]string
	}{
		{name: "the probe of a conforming registration", edit: func(*Fallback) {},
			want: "ABM-008 pass,ABM-003 pass,ABM-005 pass,ABM-004 pass,ABM-009 pass", plan: FallbackPlan{Probe: true}},
		{name: "nothing declared, the domain answered", edit: func(f *Fallback) {
			f.Declared, f.AxM, f.Probe, f.Registered, f.RegisteredProbe = false, nil, false, "", nil
		}, want: "ABM-008 pass,ABM-003 skip,ABM-004 skip,ABM-009 skip", text: map[string]string{"ABM-003": "no AxM registration is declared"}},
		{name: "declared, probes off", edit: func(f *Fallback) {
			f.NoProbes, f.AxM, f.Probe, f.Registered, f.RegisteredProbe = true, nil, false, "", nil
		}, want: "ABM-008 pass,ABM-003 skip,ABM-004 skip,ABM-009 skip", text: map[string]string{"ABM-004": "--no-probes"}},
		{name: "a device too old to fall back", edit: func(f *Fallback) {
			f.Domain, f.AxMFallback, f.Declared, f.AxM, f.Registered, f.RegisteredProbe = failed, Capability{Why: "the AxM fallback is not available before iOS 18.2"}, false, nil, "", nil
		}, want: "ABM-008 info,ABM-003 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Reason: "the AxM fallback is not available before iOS 18.2"}},
		{name: "the device falls back", edit: func(f *Fallback) { f.Domain, f.Probe = failed, false },
			want: "ABM-008 pass,ABM-003 pass,ABM-005 pass,ABM-004 pass,ABM-009 skip", plan: FallbackPlan{Device: true}},
		{name: "a rejection the device option stops at", edit: func(f *Fallback) {
			f.Domain, f.StopOnRejection, f.Declared, f.AxM, f.Registered, f.RegisteredProbe = reached([]string{wkURL}, rejected), true, false, nil, "", nil
		}, want: "ABM-008 pass,ABM-003 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Reason: "the server rejected the user with com.apple.well-known.failed and this device option stops there"}},
		{name: "no AxM endpoint", edit: func(f *Fallback) {
			f.Domain, f.AxMConfigured, f.AxM, f.Registered, f.RegisteredProbe = failed, false, nil, "", nil
		}, want: "ABM-008 pass,ABM-003 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Reason: "no AxM endpoint is configured (--axm-url)"}},
		{name: "documents that disagree, a cookie and a 5xx", edit: func(f *Fallback) {
			h := answer(200, `{"Servers":[{"Version":"mdm-adde","BaseURL":"https://mdm.acme.test/enroll"}],"access_token":"x"}`, jsonHdr("Set-Cookie", "sid=1"))
			f.AxM = ptr(axmChain(h))
			f.Registered = registered + "?api_key=1"
			f.RegisteredProbe = ptr(reached([]string{registered}, answer(502, "", nil)))
		}, want: "ABM-008 pass,ABM-003 pass,ABM-005 warn,ABM-004 warn,ABM-009 warn", plan: FallbackPlan{Probe: true},
			text: map[string]string{"ABM-005": `sets a cookie (sid): requesting a public URL creates session state; the registered URL carries "api_key", which reads as a credential: AxM gives the URL to anyone; the document has a key "access_token"`, "ABM-009": "domain: mdm-byod"}},
		{name: "a registered document with faults", edit: func(f *Fallback) {
			f.AxM = ptr(axmChain(answer(200, `{"Servers":[{"Version":"mdm-byod","BaseURL":"https://mdm.acme.test/enroll"},{}]}`, jsonHdr())))
		}, want: "ABM-008 pass,ABM-003 fail,ABM-005 pass,ABM-004 pass,ABM-009 pass", plan: FallbackPlan{Probe: true},
			text: map[string]string{"ABM-003": "WK-004: Servers[1].Version is missing"}},
		{name: "a registered document with a warning", edit: func(f *Fallback) {
			f.AxM = ptr(axmChain(answer(200, "\xEF\xBB\xBF"+goodDoc, jsonHdr())))
		}, want: "ABM-008 pass,ABM-003 warn,ABM-005 pass,ABM-004 pass,ABM-009 pass", plan: FallbackPlan{Probe: true}},
		{name: "nothing registered, declared", edit: func(f *Fallback) {
			f.AxM, f.Registered, f.RegisteredProbe = ptr(reached([]string{axmURL}, answer(404, "", nil))), "", nil
		}, want: "ABM-008 pass,ABM-003 fail,ABM-005 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Probe: true}},
		{name: "nothing registered, none declared", edit: func(f *Fallback) {
			f.Domain, f.Declared, f.Probe = failed, false, false
			f.AxM, f.Registered, f.RegisteredProbe = ptr(reached([]string{axmURL}, answer(404, "", nil))), "", nil
		}, want: "ABM-008 pass,ABM-003 skip,ABM-005 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Device: true}},
		{name: "AxM did not answer", edit: func(f *Fallback) {
			f.AxM, f.Registered, f.RegisteredProbe = ptr(unanswered("connection refused", false)), "", nil
		}, want: "ABM-008 pass,ABM-003 error,ABM-005 skip,ABM-004 skip,ABM-009 skip", plan: FallbackPlan{Probe: true}},
		{name: "the registered URL did not answer", edit: func(f *Fallback) {
			c := DiscoveryChain{URLs: []string{axmURL, registered}, Failure: "GET: connection reset",
				Hops: []DiscoveryHop{{Status: 302}, {Err: "connection reset", Unjudged: "no answer: connection reset"}}}
			f.AxM = &c
			f.RegisteredProbe = ptr(unanswered("connection reset", false))
		}, want: "ABM-008 pass,ABM-003 error,ABM-005 skip,ABM-004 error,ABM-009 skip", plan: FallbackPlan{Probe: true}},
		{name: "the registered URL refuses TLS", edit: func(f *Fallback) {
			p := unanswered("tls: bad certificate", false)
			p.Hops[0].Unjudged = ""
			f.RegisteredProbe = &p
		}, want: "ABM-008 pass,ABM-003 pass,ABM-005 pass,ABM-004 warn,ABM-009 pass", plan: FallbackPlan{Probe: true}},
		{name: "the registered URL is the BaseURL", edit: func(f *Fallback) {
			f.AxM = ptr(axmChain(answer(405, "", nil)))
			f.Registered = "https://mdm.acme.test/enroll"
		}, want: "ABM-008 pass,ABM-003 fail,ABM-005 pass,ABM-004 pass,ABM-009 skip", plan: FallbackPlan{Probe: true},
			text: map[string]string{"ABM-003": "the registered URL is the enrollment BaseURL itself"}},
		{name: "an account that should not enroll", edit: func(f *Fallback) {
			f.ExpectEnroll = false
			f.AxM = ptr(axmChain(answer(403, "", nil)))
		}, want: "ABM-008 pass,ABM-003 info,ABM-005 pass,ABM-004 pass,ABM-009 skip", plan: FallbackPlan{Probe: true}},
		{name: "past the read cap", edit: func(f *Fallback) {
			h := answer(200, `{"Servers":[`, jsonHdr())
			h.TooLarge = true
			f.AxM = ptr(axmChain(h))
		}, want: "ABM-008 pass,ABM-003 error,ABM-005 pass,ABM-004 pass,ABM-009 skip", plan: FallbackPlan{Probe: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := probedFallback()
			tt.edit(f)
			assert.Equal(t, tt.plan, PlanFallback(f))
			v := judgeFallback(f)
			assert.Equal(t, strings.Split(tt.want, ","), got(v))
			for id, text := range tt.text {
				assert.Contains(t, says(v, id), text, id)
			}
			roundTrips(t, f, judgeFallback)
		})
	}
}

func TestCredentialNames(t *testing.T) {
	for name, want := range map[string]bool{
		"token": true, "access_token": true, "apiKey": true, "key": true, "X-Signature": true, "sig": true,
		"session": true, "tenant": false, "org": false, "keyboard": false, "monkey": false, "codec": false, "author": false,
		"user-identifier": false, "model-family": false, "invite_code": true,
	} {
		assert.Equal(t, want, credentialName(name), name)
	}
}

var r0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func regCall(at time.Duration, method, path string, status int, code, body string) RegistrationCall {
	h := Header{"X-Server-Protocol-Version": {"7"}, "X-Adm-Auth-Session": {"[redacted]"}}
	if method == "POST" {
		h["Content-Type"] = []string{"application/json;charset=UTF8"}
	}
	return RegistrationCall{Time: r0.Add(at), Method: method, Path: path, Header: h, Body: []byte(body), Status: status, Code: code, SessionOK: true}
}

const regBody = `{"mdm_service_discovery_url":"https://mdm.acme.test/mdm/service-discovery"}`

func conformingRegistration() *Registration {
	return &Registration{Server: "acme-mdm", StandIn: "https://127.0.0.1:8443", Waited: time.Second, Calls: []RegistrationCall{
		regCall(0, "GET", "/session", 200, "", ""),
		regCall(time.Millisecond, "GET", AxMProfilePath, 404, "NOT_FOUND", ""),
		regCall(2*time.Millisecond, "POST", AxMProfilePath, 200, "", regBody),
		regCall(3*time.Millisecond, "GET", AxMProfilePath, 200, "", ""),
	}, NoChangeHooks: "no withdraw/restore hooks were given"}
}

func TestJudgeRegistration(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *Registration)
		want string
		text map[string]string
	}{
		{name: "conforming", edit: func(*Registration) {}, want: "ABM-001 pass,ABM-002 pass,ABM-006 pass,ABM-007 pass"},
		{name: "no call at all", edit: func(r *Registration) { r.Calls = nil },
			want: "ABM-001 fail,ABM-002 error,ABM-006 skip,ABM-007 skip", text: map[string]string{"ABM-001": "no call at all within 1s"}},
		{name: "a body with a byte-order mark", edit: func(r *Registration) { r.Calls[2].Body = []byte("\xEF\xBB\xBF" + regBody) },
			want: "ABM-001 warn,ABM-002 pass,ABM-006 pass,ABM-007 pass", text: map[string]string{"ABM-001": "byte-order mark"}},
		{name: "not JSON", edit: func(r *Registration) { r.Calls[2].Body = []byte("\x01binary") },
			want: "ABM-001 fail,ABM-002 fail,ABM-006 pass,ABM-007 pass", text: map[string]string{"ABM-001": "(7 bytes of binary data)"}},
		{name: "an http URL", edit: func(r *Registration) {
			r.Calls[2].Body = []byte(`{"mdm_service_discovery_url":"http://mdm.acme.test/x"}`)
		}, want: "ABM-001 pass,ABM-002 fail,ABM-006 pass,ABM-007 pass", text: map[string]string{"ABM-002": "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"}},
		{name: "a retry loop, a DELETE, a withdrawal not followed", edit: func(r *Registration) {
			for i := range 5 {
				r.Calls = append(r.Calls, regCall(time.Duration(10+i)*time.Millisecond, "POST", AxMProfilePath, 400, "ORG_NOT_SUPPORTED", regBody))
			}
			r.Calls = append(r.Calls, regCall(time.Second, "DELETE", AxMProfilePath, 200, "", ""))
			r.Changes = []RegistrationChange{{Kind: AxMWithdraw, Hook: "https://mdm/off", Waited: time.Second}}
		}, want: "ABM-001 warn,ABM-002 pass,ABM-006 warn,ABM-007 info",
			text: map[string]string{"ABM-006": "a retry loop", "ABM-001": "the registration stayed 1s", "ABM-007": "DELETE answered 200"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := conformingRegistration()
			tt.edit(r)
			v := JudgeRegistration(r)
			assert.Equal(t, strings.Split(tt.want, ","), got(v))
			for id, text := range tt.text {
				assert.Contains(t, says(v, id), text, id)
			}
			roundTrips(t, r, JudgeRegistration)
		})
	}
}
