package check

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func goodESSO() ESSO {
	return ESSO{URL: "https://mdm.acme.test/esso/document", Status: 200, ContentType: "application/json",
		StoreID: "integer", StoreIDValue: 1234567890, HasProfile: true, HasDecls: true, DeclarationsApply: true,
		PayloadTypes: []string{"com.apple.extensiblesso", "com.apple.security.root"},
		Declarations: []ESSODeclaration{
			{Type: "com.apple.activation.simple", Identifier: "act", StandardConfigurations: []string{"app", "legacy"}},
			{Type: "com.apple.configuration.app.managed", Identifier: "app", AppStoreID: "1234567890"},
			{Type: "com.apple.configuration.legacy", Identifier: "legacy"},
		}}
}

func TestJudgeESSO(t *testing.T) {
	edit := func(f func(*ESSO)) ESSO { e := goodESSO(); f(&e); return e }
	all := func(s1, s2, s3, s4, s5 string) []string {
		return []string{"ESSO-001 " + s1, "ESSO-002 " + s2, "ESSO-003 " + s3, "ESSO-004 " + s4, "ESSO-005 " + s5}
	}
	for _, tt := range []struct {
		name string
		e    ESSO
		want []string
		says string
	}{
		{"a conforming document", goodESSO(), all("pass", "pass", "pass", "pass", "pass"), ""},
		{"served as text/plain", edit(func(e *ESSO) { e.ContentType = "text/plain" }), all("warn", "pass", "pass", "pass", "pass"), "text/plain"},
		{"404", edit(func(e *ESSO) { e.Status = 404 }), all("fail", "skip", "skip", "skip", "skip"), "404"},
		{"no answer", ESSO{NotObject: "no answer: connection refused"}, all("fail", "skip", "skip", "skip", "skip"), "connection refused"},
		{"not an object", edit(func(e *ESSO) { e.NotObject = "the body is no JSON object: []" }), all("fail", "skip", "skip", "skip", "skip"), "no JSON object"},
		{"the tester's limit", ESSO{Why: "over the tester's 1024 KiB cap"}, all("error", "skip", "skip", "skip", "skip"), "cap"},
		{"no store ID", edit(func(e *ESSO) { e.StoreID, e.StoreIDValue = "", 0 }), all("pass", "fail", "pass", "pass", "pass"), "no iTunesStoreID"},
		{"a string store ID", edit(func(e *ESSO) { e.StoreID, e.StoreIDValue = "a string", 0 }), all("pass", "fail", "pass", "pass", "pass"), "not an integer"},
		{"neither profile nor declarations", edit(func(e *ESSO) { e.HasProfile, e.HasDecls = false, false }), all("pass", "fail", "pass", "skip", "skip"), "neither"},
		{"AppIDs in the standard document", edit(func(e *ESSO) { e.AppIDsSet, e.AppIDs = true, []string{"T.b"} }), all("pass", "pass", "fail", "pass", "pass"), "AppIDs T.b"},
		{"developer without AppIDs", edit(func(e *ESSO) { e.Developer = true }), all("pass", "pass", "fail", "pass", "pass"), "no AppIDs"},
		{"a Wi-Fi payload", edit(func(e *ESSO) { e.PayloadTypes = append(e.PayloadTypes, "com.apple.wifi.managed") }), all("pass", "pass", "pass", "fail", "pass"), "com.apple.wifi.managed"},
		{"no SSO payload", edit(func(e *ESSO) { e.PayloadTypes = []string{"com.apple.security.root"} }), all("pass", "pass", "pass", "fail", "pass"), "no com.apple.extensiblesso"},
		{"no activation", edit(func(e *ESSO) { e.Declarations = e.Declarations[1:] }), all("pass", "pass", "pass", "pass", "fail"), "no com.apple.activation.simple"},
		{"an unactivated configuration", edit(func(e *ESSO) { e.Declarations[0].StandardConfigurations = []string{"app"} }), all("pass", "pass", "pass", "pass", "fail"), "does not activate legacy"},
		{"another app", edit(func(e *ESSO) { e.Declarations[1].AppStoreID = "1" }), all("pass", "pass", "pass", "pass", "fail"), "AppStoreID 1234567890"},
		{"an OS that does not read declarations", edit(func(e *ESSO) { e.DeclarationsApply, e.Declarations = false, nil }), all("pass", "pass", "pass", "pass", "skip"), ""},
		{"a developer document matched by bundle", edit(func(e *ESSO) {
			e.Developer, e.StoreID, e.AppIDsSet, e.AppIDs = true, "", true, []string{"ABCDE12345.test.acme.app"}
			e.Declarations[1].BundleID = "test.acme.app"
		}), all("pass", "pass", "pass", "pass", "pass"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeESSO(tt.e)
			assert.Equal(t, tt.want, got(v))
			var text string
			for _, r := range v.Results {
				text += r.Actual + r.Detail + " "
			}
			assert.Contains(t, text, tt.says)
		})
	}
}
