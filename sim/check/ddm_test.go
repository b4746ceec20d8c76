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
		{"a conforming sync", goodDDM(), all("pass", "pass", "pass", "pass", "pass", "pass", "pass"), ""},
		{"text/plain tokens", edit(func(d *DDM) { d.Exchanges[0].ContentType = "text/plain" }), all("fail", "pass", "pass", "pass", "pass", "pass", "pass"), "tokens answered \"text/plain\""},
		{"a 500 to the items", edit(func(d *DDM) { d.Exchanges[1].Status = 500; d.ItemsBad = "answered 500" }), all("fail", "pass", "fail", "pass", "pass", "pass", "pass"), "declaration-items answered 500"},
		{"a listed declaration 404", edit(func(d *DDM) {
			d.Exchanges[2].Status = 404
			d.Unfetchable = []string{"configuration c1 answered 404"}
		}), all("pass", "pass", "fail", "pass", "pass", "pass", "pass"), "c1 answered 404"},
		{"no token", edit(func(d *DDM) { d.Token = "" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass"), "no DeclarationsToken"},
		{"a token that moves alone", edit(func(d *DDM) { d.Again = "t9" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass"), "nothing changed"},
		{"a token that never changes", edit(func(d *DDM) { d.AfterChange = "t1" }), all("pass", "fail", "pass", "pass", "pass", "pass", "pass"), "before and after"},
		{"no hook to change the set", edit(func(d *DDM) { d.AfterChange, d.ChangeSkipped = "", "the target has no declarations hook" }), all("pass", "pass", "pass", "pass", "pass", "pass", "pass"), "not tried"},
		{"500 for an unknown declaration", edit(func(d *DDM) { d.UnknownStatus = 500 }), all("pass", "pass", "pass", "fail", "pass", "pass", "pass"), "500"},
		{"no probe", edit(func(d *DDM) { d.UnknownStatus = 0 }), all("pass", "pass", "pass", "skip", "pass", "pass", "pass"), "not sent"},
		{"a body to the status report", edit(func(d *DDM) { d.Exchanges[4].BodyLen = 12 }), all("pass", "pass", "pass", "pass", "warn", "pass", "pass"), "200 with 12 bytes"},
		{"software update to a personal device", edit(func(d *DDM) { d.ForbiddenInUE = []string{"com.apple.configuration.softwareupdate.settings (su)"} }),
			all("pass", "pass", "pass", "pass", "pass", "fail", "pass"), "softwareupdate.settings"},
		{"the same to a company device", edit(func(d *DDM) { d.UserEnrollment, d.ForbiddenInUE = false, nil }), all("pass", "pass", "pass", "pass", "pass", "skip", "pass"), "device enrollment"},
		{"an activation of nothing", edit(func(d *DDM) { d.MissingConfigs = []string{"gone (in act)"} }), all("pass", "pass", "pass", "pass", "pass", "pass", "fail"), "gone (in act)"},
		{"the tester's limit", edit(func(d *DDM) { d.Exchanges[0].Why = "the tester's timeout" }), all("error", "pass", "pass", "pass", "pass", "pass", "pass"), "tester's timeout"},
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
