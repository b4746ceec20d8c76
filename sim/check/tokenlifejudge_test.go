package check

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestJWTProblem(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	jwt := func(header string) string {
		return enc([]byte(header)) + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc([]byte("signature"))
	}
	for data, want := range map[string]string{
		jwt(`{"alg":"ES256"}`):        "",
		jwt(`{"alg":"ES256"}`) + "\n": "",
		"static-token":                "no dot: one part where a JWT has three",
		"a.b":                         "2 dot-separated parts where a JWT has three",
		"YQ..YQ":                      "the payload part is empty",
		"YQ.b!.YQ":                    "the payload part is not base64url",
		jwt(`alg=ES256`):              "the header part does not decode to a JSON object",
		jwt(`{"typ":"JWT"}`):          "the JSON header has no alg",
	} {
		if got := JWTProblem([]byte(data)); got != want {
			t.Errorf("JWTProblem(%q) = %q, want %q", data, got, want)
		}
	}
}

// goodLife is a token life where everything the server was asked went
// right.
func goodLife() TokenLife {
	return TokenLife{
		OAuth:    true,
		GetToken: GetToken{Size: 300, Unknown: &ReplyAnswer{Status: 400, Summary: "status 400"}},
		Topic:    &TopicProbe{Topic: "com.apple.mgmt.x.enrollsim-other", Answer: ReplyAnswer{Status: 400}},
		Other:    &OtherProbe{Answer: ReplyAnswer{Status: 401}, Own: "alice@acme.test", Assigned: "alice@acme.test"},
		Revoke:   &Reauth{What: "revoke-token", Answer: ReplyAnswer{Status: 401}, Challenged: true, Method: "apple-as-web", SignedIn: true, How: "sign-in", Retry: ReplyAnswer{Status: 200}},
		Expire:   &Reauth{What: "expire-token", Answer: ReplyAnswer{Status: 401}, Challenged: true, Method: "apple-oauth2", SignedIn: true, How: "silent refresh", Retry: ReplyAnswer{Status: 200}},
		Unenroll: &Unenroll{Who: "the probe's second device", Answer: ReplyAnswer{Status: 403}, Asked: true},
		CheckOut: CheckOut{Answer: ReplyAnswer{Status: 200}},
	}
}

// Every check of token life is a SHOULD: a finding warns.
func TestJudgeTokenLife(t *testing.T) {
	for _, tc := range []struct {
		name             string
		change           func(*TokenLife)
		chk, other, acts []idStatus
		checkOut         Status
	}{
		{"a conforming server", func(*TokenLife) {},
			all(Pass, tokenLifeCHK...), all(Pass, otherTOK...), all(Pass, serverActs...), Pass},
		{"probes off", func(o *TokenLife) { o.NoProbes, o.GetToken.Unknown = true, nil },
			[]idStatus{{"CHK-010", Pass}, {"CHK-007", Skip}, {"CHK-009", Skip}}, nil,
			[]idStatus{{"TOK-006", Skip}, {"TOK-007", Skip}, {"TOK-009", Skip}}, Pass},
		{"everything taken", func(o *TokenLife) {
			o.GetToken.JWTProblem, o.GetToken.Unknown.Status = "no dot", 200
			o.Topic.Answer.Status, o.Other.Answer.Status = 200, 200
			o.Other.Assigned = "bob@acme.test"
			o.Revoke.Retry.Status, o.Expire.Challenged = 401, false
			o.Unenroll.Asked, o.Unenroll.Bare401 = false, true
			o.CheckOut.Answer.Status = 401
		}, all(Warn, tokenLifeCHK...), all(Warn, otherTOK...), all(Warn, serverActs...), Warn},
		{"the same user's token taken", func(o *TokenLife) { o.Other.Answer.Status = 200 },
			[]idStatus{{"CHK-010", Pass}, {"CHK-007", Pass}, {"CHK-009", Noted}}, []idStatus{{"TOK-008", Noted}}, all(Pass, serverActs...), Pass},
		{"no token (a Mac without a user channel)", func(o *TokenLife) {
			o.NoToken, o.Other, o.Revoke, o.Expire = "the Mac has no user channel", nil, nil, nil
			o.Unenroll.Who = "this device"
		}, []idStatus{{"CHK-010", Pass}, {"CHK-007", Pass}, {"CHK-009", Skip}}, []idStatus{{"TOK-008", Skip}},
			[]idStatus{{"TOK-006", Skip}, {"TOK-009", Skip}, {"TOK-007", Pass}}, Pass},
		{"blocked: no connect", func(o *TokenLife) {
			o.NoToken, o.Other, o.Revoke, o.Expire = "blocked: the device could not connect (CHK-008)", nil, nil, nil
			o.Unenroll = &Unenroll{Who: "this device", Blocked: "blocked: the device could not connect (CHK-008)"}
		}, []idStatus{{"CHK-010", Pass}, {"CHK-007", Pass}, {"CHK-009", Error}}, []idStatus{{"TOK-008", Error}},
			[]idStatus{{"TOK-006", Error}, {"TOK-009", Error}, {"TOK-007", Error}}, Pass},
		{"not advertised, no hooks, no second device, not OAuth", func(o *TokenLife) {
			o.GetToken = GetToken{NotAdvertised: true}
			o.OAuth, o.Expire = false, nil
			o.Other = &OtherProbe{NoSecond: "the sign-in failed"}
			o.Revoke = &Reauth{What: "revoke-token", NoHook: true}
			o.Unenroll = &Unenroll{Who: "this device", NoHook: true}
			o.CheckOut = CheckOut{NotSet: true}
		}, []idStatus{{"CHK-010", Skip}, {"CHK-007", Pass}, {"CHK-009", Error}}, []idStatus{{"TOK-008", Error}},
			[]idStatus{{"TOK-006", Skip}, {"TOK-009", Skip}, {"TOK-007", Skip}}, Skip},
		{"the tester's limits", func(o *TokenLife) {
			o.GetToken.Why, o.Topic.Why, o.Other.Why = "timeout", "timeout", "timeout"
			o.Revoke.Why, o.Unenroll.Why, o.CheckOut.Why = "the hook answered 500", "timeout", "timeout"
			o.Expire.SignedIn, o.Expire.SignInWhy = false, "the browser timed out"
		}, all(Error, tokenLifeCHK...), all(Error, otherTOK...), all(Error, serverActs...), Error},
		{"the server's sign-in fails, a bare 401, a GetToken without TokenData", func(o *TokenLife) {
			o.GetToken = GetToken{Problem: "200, but no TokenData (data) in the answer"}
			o.Revoke.Challenged, o.Revoke.Answer.Status = false, 401
			o.Expire.SignedIn, o.Expire.SignInBlame, o.Expire.SignInWhy = false, true, "the token endpoint answered 500"
			o.Unenroll.Asked, o.Unenroll.Answer.Status = false, 401
		}, []idStatus{{"CHK-010", Warn}, {"CHK-007", Pass}, {"CHK-009", Pass}}, all(Pass, otherTOK...),
			all(Warn, serverActs...), Pass},
	} {
		o := goodLife()
		tc.change(&o)
		o = roundTrip(t, o)
		assertVerdicts(t, tc.name+" (CHK)", JudgeTokenLifeCHK(o), tc.chk)
		assertVerdicts(t, tc.name+" (TOK-008)", JudgeOtherEnrollment(o), tc.other)
		assertVerdicts(t, tc.name+" (server acts)", JudgeServerActs(o), tc.acts)
		assertVerdicts(t, tc.name+" (CheckOut)", JudgeCheckOut(o), []idStatus{{"CHK-011", tc.checkOut}})
	}
}

// What the results say: the restore note, whose token, the JWT problem.
func TestJudgeTokenLifeWords(t *testing.T) {
	o := goodLife()
	o.Topic.Restore = "error: after probe CHK-007 the device's own TokenUpdate was not accepted"
	o.Other.Answer.Status, o.Other.Assigned = 200, "bob@acme.test"
	o.GetToken.JWTProblem = "no dot: one part where a JWT has three"
	v := JudgeTokenLifeCHK(o)
	get := func(id string) Result {
		for _, r := range v.Results {
			if r.ID == id {
				return r
			}
		}
		return Result{}
	}
	if d := get("CHK-007").Detail; d != o.Topic.Restore {
		t.Errorf("CHK-007 detail %q", d)
	}
	if a := get("CHK-009").Actual; !strings.Contains(a, "a token of another user (the second enrollment's profile is for bob@acme.test, this one's for alice@acme.test)") {
		t.Errorf("CHK-009 actual %q", a)
	}
	if a := get("CHK-010").Actual; !strings.Contains(a, "not a signed JWT (no dot: one part where a JWT has three)") || !strings.Contains(a, TokenServiceUnknown+": ") {
		t.Errorf("CHK-010 actual %q", a)
	}
}
