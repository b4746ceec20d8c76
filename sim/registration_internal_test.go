package sim

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/secret"
)

// judgeRegistration runs the registration step over a fabricated record
// and returns each check's status (and its Actual, for the messages).
func judgeRegistration(t *testing.T, reg AxMRegistration) (map[string]check.Status, map[string]string, event.StepStatus) {
	t.Helper()
	r := &runner{e: &Engine{}, c: Case{Target: Target{AxM: &reg}}, ctx: context.Background(), clock: time.Now,
		red: &secret.Redactor{}, emit: func(event.Event) {}}
	_, st, _ := r.registrationStep()
	status, actual := map[string]check.Status{}, map[string]string{}
	for _, res := range r.results {
		status[res.ID] = res.Status
		actual[res.ID] = res.Actual + res.Detail
	}
	return status, actual, st
}

var t0 = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)

func call(at time.Duration, method, path string, status int, code, body string, hdr ...string) AxMCall {
	h := http.Header{"X-Server-Protocol-Version": {"7"}, "X-Adm-Auth-Session": {"[redacted]"}}
	if method == http.MethodPost {
		h.Set("Content-Type", "application/json;charset=UTF8")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			h.Del(hdr[i])
		} else {
			h.Set(hdr[i], hdr[i+1])
		}
	}
	return AxMCall{Time: t0.Add(at), Method: method, Path: path, Header: h, Body: []byte(body), Status: status, Code: code, SessionOK: true}
}

const goodBody = `{"mdm_service_discovery_url":"https://mdm.acme.test/mdm/service-discovery"}`

// conforming is what a careful server does: sign in, look, register, look.
func conforming() AxMRegistration {
	return AxMRegistration{Server: "acme-mdm", StandIn: "https://127.0.0.1:8443", Waited: time.Second, Calls: []AxMCall{
		call(0, "GET", "/session", 200, "", ""),
		call(time.Millisecond, "GET", axmProfilePath, 404, "NOT_FOUND", ""),
		call(2*time.Millisecond, "POST", axmProfilePath, 200, "", goodBody),
		call(3*time.Millisecond, "GET", axmProfilePath, 200, "", ""),
	}, NoChangeHooks: "no withdraw/restore hooks were given"}
}

func TestRegistrationJudgement(t *testing.T) {
	withChanges := func(withdrawn, restored bool) AxMRegistration {
		reg := conforming()
		reg.NoChangeHooks = ""
		del := call(time.Second, "DELETE", axmProfilePath, 200, "", "")
		post := call(2*time.Second, "POST", axmProfilePath, 200, "", goodBody)
		reg.Calls = append(reg.Calls, del, post)
		w := AxMChange{Kind: AxMWithdraw, Hook: "https://mdm/off", Waited: time.Second}
		r := AxMChange{Kind: AxMRestore, Hook: "https://mdm/on", Waited: time.Second}
		if withdrawn {
			w.Followed = &del
		}
		if restored {
			r.Followed = &post
		}
		reg.Changes = []AxMChange{w, r}
		return reg
	}
	tests := []struct {
		name   string
		reg    func() AxMRegistration
		want   map[string]check.Status
		says   map[string]string
		status event.StepStatus
	}{
		{"conforming", conforming,
			map[string]check.Status{"ABM-001": check.Pass, "ABM-002": check.Pass, "ABM-006": check.Pass, "ABM-007": check.Pass}, nil, event.StepOK},
		{"conforming with the change probe", func() AxMRegistration { return withChanges(true, true) },
			map[string]check.Status{"ABM-001": check.Pass, "ABM-002": check.Pass, "ABM-006": check.Pass, "ABM-007": check.Noted}, nil, event.StepOK},
		{"never registered, no call at all", func() AxMRegistration {
			return AxMRegistration{Server: "acme-mdm", StandIn: "https://127.0.0.1:8443", Waited: 60 * time.Second, TimedOut: true}
		}, map[string]check.Status{"ABM-001": check.Fail, "ABM-002": check.Error, "ABM-006": check.Skip, "ABM-007": check.Skip},
			map[string]string{"ABM-001": "is the server's Device Assignment base URL set to https://127.0.0.1:8443"}, event.StepFailed},
		{"session refused", func() AxMRegistration {
			return AxMRegistration{Server: "acme-mdm", TimedOut: true, Calls: []AxMCall{
				call(0, "GET", "/session", 401, "UNAUTHORIZED", ""), call(time.Minute, "GET", "/session", 401, "UNAUTHORIZED", "")}}
		}, map[string]check.Status{"ABM-001": check.Fail, "ABM-006": check.Pass},
			map[string]string{"ABM-001": "2 /session call(s) refused"}, event.StepFailed},
		{"form-encoded POST", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 200, "", goodBody, "Content-Type", "application/x-www-form-urlencoded")
			return reg
		}, map[string]check.Status{"ABM-001": check.Fail}, map[string]string{"ABM-001": "not application/json"}, event.StepOK},
		{"JSON with parameters is fine", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 200, "", goodBody, "Content-Type", "application/json; charset=utf-8")
			return reg
		}, map[string]check.Status{"ABM-001": check.Pass}, nil, event.StepOK},
		{"body not an object", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 400, "MALFORMED_REQUEST_BODY", `"https://x"`)
			return reg
		}, map[string]check.Status{"ABM-001": check.Fail}, nil, event.StepFailed},
		{"no session", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2].SessionOK = false
			return reg
		}, map[string]check.Status{"ABM-001": check.Fail}, map[string]string{"ABM-001": "X-ADM-Auth-Session"}, event.StepOK},
		{"a byte-order mark warns, names it, and the URL still counts", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 200, "", "\xEF\xBB\xBF"+goodBody)
			return reg
		}, map[string]check.Status{"ABM-001": check.Warn, "ABM-002": check.Pass}, map[string]string{"ABM-001": "starts with a UTF-8 byte-order mark"}, event.StepOK},
		{"no protocol header warns", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 200, "", goodBody, "X-Server-Protocol-Version", "")
			return reg
		}, map[string]check.Status{"ABM-001": check.Warn, "ABM-002": check.Pass}, map[string]string{"ABM-001": "X-Server-Protocol-Version"}, event.StepOK},
		{"registration stays after withdraw", func() AxMRegistration { return withChanges(false, true) },
			map[string]check.Status{"ABM-001": check.Warn}, map[string]string{"ABM-001": "stayed"}, event.StepOK},
		{"not registered again after restore", func() AxMRegistration { return withChanges(true, false) },
			map[string]check.Status{"ABM-001": check.Warn}, map[string]string{"ABM-001": "did not register again"}, event.StepOK},
		{"a failing hook is not the server's fault", func() AxMRegistration {
			reg := withChanges(false, false)
			reg.Changes[0].HookErr, reg.Changes[1].HookErr = "hook answered 404", "hook answered 404"
			return reg
		}, map[string]check.Status{"ABM-001": check.Pass}, map[string]string{"ABM-001": "hook answered 404"}, event.StepOK},
		{"http URL", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 400, "MDM_SERVICE_DISCOVERY_URL_NOT_VALID", `{"mdm_service_discovery_url":"http://mdm.acme.test/d"}`)
			reg.Calls = reg.Calls[:3]
			return reg
		}, map[string]check.Status{"ABM-001": check.Pass, "ABM-002": check.Fail}, map[string]string{"ABM-002": "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"}, event.StepFailed},
		{"missing URL", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 400, "MDM_SERVICE_DISCOVERY_URL_REQUIRED", `{}`)
			return reg
		}, map[string]check.Status{"ABM-002": check.Fail}, map[string]string{"ABM-002": "REQUIRED"}, event.StepFailed},
		{"userinfo in the URL", func() AxMRegistration {
			reg := conforming()
			reg.Calls[2] = call(0, "POST", axmProfilePath, 200, "", `{"mdm_service_discovery_url":"https://u:p@mdm.acme.test/d"}`)
			return reg
		}, map[string]check.Status{"ABM-002": check.Fail}, nil, event.StepOK},
		{"a refusal the stand-in was told to give", func() AxMRegistration {
			reg := conforming()
			refused := call(0, "POST", axmProfilePath, 400, "ORG_NOT_SUPPORTED", goodBody)
			reg.Calls = append([]AxMCall{refused}, reg.Calls...)
			return reg
		}, map[string]check.Status{"ABM-002": check.Pass, "ABM-006": check.Pass}, nil, event.StepOK},
		{"retry loop after an error", func() AxMRegistration {
			reg := conforming()
			var loop []AxMCall
			for i := 0; i < 10; i++ {
				loop = append(loop, call(time.Duration(i+2)*time.Millisecond, "GET", axmProfilePath, 404, "NOT_FOUND", ""))
			}
			reg.Calls = append(append(reg.Calls[:2:2], loop...), reg.Calls[2:]...)
			return reg
		}, map[string]check.Status{"ABM-006": check.Warn}, map[string]string{"ABM-006": "a retry loop"}, event.StepOK},
		{"repeats spread over minutes are no loop", func() AxMRegistration {
			reg := conforming()
			for i := 0; i < 10; i++ {
				reg.Calls = append(reg.Calls, call(time.Duration(i+1)*time.Minute, "GET", axmProfilePath, 200, "", ""))
			}
			return reg
		}, map[string]check.Status{"ABM-006": check.Pass}, nil, event.StepOK},
		{"no error answered", func() AxMRegistration {
			reg := conforming()
			reg.Calls = append(reg.Calls[:1:1], reg.Calls[2:]...)
			return reg
		}, map[string]check.Status{"ABM-006": check.Skip}, map[string]string{"ABM-006": "--refuse-first"}, event.StepOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, says, st := judgeRegistration(t, tt.reg())
			for id, want := range tt.want {
				assert.Equal(t, want, got[id], "%s: %s", id, says[id])
			}
			for id, text := range tt.says {
				assert.Contains(t, says[id], text, id)
			}
			assert.Equal(t, tt.status, st)
		})
	}
}

// A conforming record trips nothing: the worst bug is a false FAIL.
func TestConformingRegistrationTripsNothing(t *testing.T) {
	for _, reg := range []AxMRegistration{conforming()} {
		got, says, _ := judgeRegistration(t, reg)
		require.NotEmpty(t, got)
		for id, st := range got {
			assert.NotContains(t, []check.Status{check.Fail, check.Warn, check.Error}, st, "%s: %s", id, says[id])
		}
	}
}
