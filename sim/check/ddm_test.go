package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func goodDDM() DDM {
	json := "application/json"
	return DDM{
		Exchanges: []DDMExchange{
			{Endpoint: "tokens", Status: 200, ContentType: json, BodyLen: 80},
			{Endpoint: "declaration-items", Status: 200, ContentType: json, BodyLen: 300},
			{Endpoint: "declaration/configuration/c1", Status: 200, ContentType: json, BodyLen: 120},
			{Endpoint: "declaration/configuration/enrollsim-probe", Probe: true, Status: 404},
			{Endpoint: "status", Status: 200},
		},
		Token: "t1", Again: "t1", AfterChange: "t2", UnknownStatus: 404, UserEnrollment: true,
		Changes: []DDMChange{
			{What: "added x", Token: "t2", Commands: 1, DataToken: "t2", Resynced: true},
			{What: "removed x", Token: "t1", Commands: 1, Resynced: true},
		},
	}
}

func TestJudgeDDM(t *testing.T) {
	edit := func(f func(*DDM)) DDM { d := goodDDM(); f(&d); return d }
	all := func(s ...string) []string {
		out := make([]string, len(s))
		for i, x := range s {
			out[i] = ddmOwns[i] + " " + x
		}
		return out
	}
	for _, tt := range []struct {
		name string
		d    DDM
		want []string
		says string
	}{
		{"a conforming sync", goodDDM(), all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "pass"), ""},
		{"text/plain tokens", edit(func(d *DDM) { d.Exchanges[0].ContentType = "text/plain" }), all("fail", "pass", "pass", "pass", "pass", "pass", "pass", "pass"), "tokens answered \"text/plain\""},
		{"a 500 to the items", edit(func(d *DDM) { d.Exchanges[1].Status = 500; d.ItemsBad = "answered 500" }), all("fail", "pass", "fail", "pass", "pass", "pass", "pass", "pass"), "declaration-items answered 500"},
		{"a listed declaration 404", edit(func(d *DDM) {
			d.Exchanges[2].Status = 404
			d.Unfetchable = []string{"configuration c1 answered 404"}
		}), all("pass", "pass", "fail", "pass", "pass", "pass", "pass", "pass"), "c1 answered 404"},
		{"no token", edit(func(d *DDM) { d.Token = "" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass", "pass"), "no DeclarationsToken"},
		{"a token that moves alone", edit(func(d *DDM) { d.Again = "t9" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass", "pass"), "nothing changed"},
		{"a token that never changes", edit(func(d *DDM) { d.AfterChange = "t1" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass", "pass"), "before and after"},
		{"no hook to change the set", edit(func(d *DDM) {
			d.AfterChange, d.ChangeSkipped, d.Changes = "", "the target has no declarations hook", nil
		}),
			all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "skip"), "not tried"},
		{"no command after a change", edit(func(d *DDM) { d.Changes[1].Commands, d.Changes[1].Resynced = 0, false }),
			all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "warn"), "after the tester removed x, the next connect brought no DeclarativeManagement command"},
		{"a command with the old tokens", edit(func(d *DDM) { d.Changes[0].DataToken, d.Changes[0].Resynced = "t1", false }),
			all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "warn"), `carried DeclarationsToken "t1", not the set's "t2"`},
		{"a connect that failed", edit(func(d *DDM) { d.Changes[0].Why = "401" }), all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "error"), "could not be judged: 401"},
		{"probes off", edit(func(d *DDM) { d.Changes, d.AfterChange, d.Again = nil, "", "" }), all("pass", "pass", "pass", "pass", "pass", "pass", "pass", "skip"), "probes off"},
		{"a second status report with a body", edit(func(d *DDM) {
			d.Exchanges = append(d.Exchanges, DDMExchange{Endpoint: "status", Status: 200, BodyLen: 5})
		}), all("pass", "pass", "pass", "pass", "warn", "pass", "pass", "pass"), "200 with 5 bytes"},
		{"500 for an unknown declaration", edit(func(d *DDM) { d.UnknownStatus = 500 }), all("pass", "pass", "pass", "fail", "pass", "pass", "pass", "pass"), "500"},
		{"no probe", edit(func(d *DDM) { d.UnknownStatus = 0 }), all("pass", "pass", "pass", "skip", "pass", "pass", "pass", "pass"), "not sent"},
		{"a body to the status report", edit(func(d *DDM) { d.Exchanges[4].BodyLen = 12 }), all("pass", "pass", "pass", "pass", "warn", "pass", "pass", "pass"), "200 with 12 bytes"},
		{"software update to a personal device", edit(func(d *DDM) { d.ForbiddenInUE = []string{"com.apple.configuration.softwareupdate.settings (su)"} }),
			all("pass", "pass", "pass", "pass", "pass", "fail", "pass", "pass"), "softwareupdate.settings"},
		{"the same to a company device", edit(func(d *DDM) { d.UserEnrollment, d.ForbiddenInUE = false, nil }), all("pass", "pass", "pass", "pass", "pass", "skip", "pass", "pass"), "device enrollment"},
		{"an activation of nothing", edit(func(d *DDM) { d.MissingConfigs = []string{"gone (in act)"} }), all("pass", "pass", "pass", "pass", "pass", "pass", "fail", "pass"), "gone (in act)"},
		{"the tester's limit", edit(func(d *DDM) { d.Exchanges[0].Why = "the tester's timeout" }), all("error", "pass", "pass", "pass", "pass", "pass", "pass", "pass"), "tester's timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeDDM(tt.d)
			assert.Equal(t, tt.want, got(v))
			var text string
			for _, r := range v.Results {
				text += r.Actual + r.Detail + " "
			}
			assert.Contains(t, text, tt.says)
		})
	}
}

func TestJudgeStaged(t *testing.T) {
	esso := &ESSO{DeclarationsApply: true, Declarations: []ESSODeclaration{{Identifier: "a"}, {Identifier: "b"}}}
	synced := func(missing ...string) *DDM { return &DDM{Staged: []string{"a", "b"}, StagedMissing: missing} }
	for _, tt := range []struct {
		name string
		o    Observations
		want []string
		says string
	}{
		{"listed in the first sync", Observations{ESSO: esso, Commands: &Commands{}, DDM: synced()}, []string{"DDM-008 pass"}, ""},
		{"not pre-staged", Observations{ESSO: esso, Commands: &Commands{}, DDM: synced("b")}, []string{"DDM-008 fail"}, "the device removes them: b"},
		{"no sync in the first commands", Observations{ESSO: esso, Commands: &Commands{}}, []string{"DDM-008 warn"}, "installed 2 declarations"},
		{"not as far as the commands", Observations{ESSO: esso}, nil, ""},
		{"an OS that does not read them", Observations{ESSO: &ESSO{Declarations: esso.Declarations}, Commands: &Commands{}}, nil, ""},
		{"no Enrollment SSO", Observations{Commands: &Commands{}, DDM: &DDM{}}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeStaged(&tt.o)
			if tt.want == nil {
				assert.Nil(t, v)
				return
			}
			assert.Equal(t, tt.want, got(v))
			assert.Contains(t, v.Results[0].Actual+v.Results[0].Detail, tt.says)
		})
	}
}
