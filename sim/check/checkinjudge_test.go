package check

import (
	"strconv"
	"testing"
)

func ok(what string) *MDMExchange {
	return &MDMExchange{What: what, ContentType: MediaCheckIn, Status: 200, OK: true}
}

func refusedX(what string, status int) *MDMExchange {
	return &MDMExchange{What: what, ContentType: MediaCheckIn, Status: status, Summary: "status " + strconv.Itoa(status)}
}

func TestMDMRefusal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		x     MDMExchange
		blame string
		warn  bool
		probe bool // the answer alone does not show the cause
	}{
		{"accepted", *ok("Authenticate"), "", false, false},
		{"415", *refusedX("Authenticate", 415), "CHK-006", false, false},
		{"401 again after signing in again", MDMExchange{What: "a", Status: 401, Challenge: true, Retried: true, TokenSent: true}, "TOK-004", false, false},
		{"401 to a Mac's device channel", MDMExchange{What: "a", Status: 401, Challenge: true, MacDeviceChannel: true}, "TOK-005", false, false},
		{"accepted without the token", MDMExchange{What: "a", Status: 403, TokenSent: true, Probes: []MDMProbe{{Kind: ProbeWithoutToken, Status: 200}}}, "TOK-004", false, true},
		{"accepted with the token", MDMExchange{What: "a", Status: 403, MacDeviceChannel: true, Probes: []MDMProbe{{Kind: ProbeWithToken, Status: 200}}}, "TOK-005", false, true},
		{"accepted as application/xml", MDMExchange{What: "a", Status: 400, Probes: []MDMProbe{{Kind: ProbeWithoutToken, Status: 400}, {Kind: ProbeContentType, ContentType: "application/xml", Status: 200}}}, "CHK-006", false, true},
		{"the text names the token", MDMExchange{What: "a", Status: 403, TokenSent: true, NamesToken: true}, "TOK-004", true, true},
		{"the text names the token, none sent", MDMExchange{What: "a", Status: 403, NamesToken: true}, "", false, true},
		{"the text names the signature", MDMExchange{What: "a", Status: 403, NamesIdentity: true}, "CHK-006", true, true},
		{"a plain refusal", MDMExchange{What: "a", Status: 500}, "", false, true},
		{"unenrolled", MDMExchange{What: "a", Status: 403, Unenroll: true}, "", false, false},
	} {
		x := roundTrip(t, tc.x)
		r := x.Refusal()
		if r.Blame != tc.blame || r.Warn != tc.warn {
			t.Errorf("%s: put down to %q (warn %v), want %q (warn %v)", tc.name, r.Blame, r.Warn, tc.blame, tc.warn)
		}
		if got := x.Refused() && !x.CauseInAnswer(); got != tc.probe {
			t.Errorf("%s: probes wanted %v, want %v", tc.name, got, tc.probe)
		}
	}
	if m := (MDMExchange{What: "connect (Idle)", Status: 403, Unenroll: true, Summary: "status 403"}).StopMessage(); m != "the server asked the device to unenroll at connect (Idle): status 403" {
		t.Errorf("stop message %q", m)
	}
}

func TestJudgeCheckIn(t *testing.T) {
	why := &MDMExchange{What: "Authenticate", Why: "timeout"}
	blamed := &MDMExchange{What: "TokenUpdate", Status: 415, ContentType: MediaCheckIn}
	for _, tc := range []struct {
		name string
		c    CheckIn
		want []idStatus
	}{
		{"no check-in", CheckIn{NoCheckIn: "no check-in: no Topic"}, all(Skip, checkInOwns...)},
		{"cannot send", CheckIn{CannotSend: "blocked: no identity certificate (CHK-001)"}, all(Error, checkInOwns...)},
		{"user enrollment on an iPhone", CheckIn{UserEnrollment: true, Authenticate: ok("Authenticate"), TokenUpdate: ok("TokenUpdate")},
			[]idStatus{{"CHK-003", Skip}, {"CHK-002", Pass}, {"CHK-004", Pass}, {"CHK-005", Skip}}},
		{"device enrollment refused", CheckIn{Authenticate: refusedX("Authenticate", 400)},
			[]idStatus{{"CHK-002", Skip}, {"CHK-003", Fail}, {"CHK-004", Skip}, {"CHK-005", Skip}}},
		{"Authenticate not judged", CheckIn{UserEnrollment: true, Authenticate: why},
			[]idStatus{{"CHK-003", Skip}, {"CHK-002", Error}, {"CHK-004", Skip}, {"CHK-005", Skip}}},
		{"TokenUpdate put down to CHK-006", CheckIn{UserEnrollment: true, Authenticate: ok("Authenticate"), TokenUpdate: blamed},
			[]idStatus{{"CHK-003", Skip}, {"CHK-002", Pass}, {"CHK-004", Skip}, {"CHK-005", Skip}}},
		{"a Mac's user channel refused", CheckIn{UserEnrollment: true, Mac: true, PerUserCap: true, Authenticate: ok("Authenticate"), TokenUpdate: ok("TokenUpdate"), UserTokenUpdate: refusedX("user-channel TokenUpdate", 400)},
			[]idStatus{{"CHK-003", Skip}, {"CHK-002", Pass}, {"CHK-004", Pass}, {"CHK-005", Fail}}},
		{"a Mac's device enrollment, user channel refused", CheckIn{Mac: true, PerUserCap: true, Authenticate: ok("Authenticate"), TokenUpdate: ok("TokenUpdate"), UserTokenUpdate: refusedX("user-channel TokenUpdate", 400)},
			[]idStatus{{"CHK-002", Skip}, {"CHK-003", Pass}, {"CHK-005", Skip}, {"CHK-004", Fail}}},
		{"a Mac's device enrollment, both channels", CheckIn{Mac: true, PerUserCap: true, Authenticate: ok("Authenticate"), TokenUpdate: ok("TokenUpdate"), UserTokenUpdate: ok("user-channel TokenUpdate")},
			[]idStatus{{"CHK-002", Skip}, {"CHK-003", Pass}, {"CHK-005", Skip}, {"CHK-004", Pass}}},
	} {
		assertVerdicts(t, tc.name, JudgeCheckIn(roundTrip(t, tc.c)), tc.want)
	}
}

func TestJudgeRequests(t *testing.T) {
	mac := func(xs ...*MDMExchange) *CheckIn {
		c := &CheckIn{Mac: true, Platform: "macOS", Authenticate: xs[0]}
		if len(xs) > 1 {
			c.TokenUpdate = xs[1]
		}
		return c
	}
	withToken := func(x *MDMExchange) *MDMExchange { x.TokenSent = true; return x }
	for _, tc := range []struct {
		name string
		c    *CheckIn
		m    *Commands
		tok  []idStatus
		chk  []idStatus
	}{
		{"before check-in", nil, nil, nil, nil},
		{"no check-in", &CheckIn{NoCheckIn: "no check-in"}, nil, all(Skip, requestsTOK...), all(Skip, requestsCHK...)},
		{"cannot send", &CheckIn{CannotSend: "blocked"}, nil, all(Error, requestsTOK...), all(Error, requestsCHK...)},
		{"an iPhone, all accepted", &CheckIn{Platform: "iOS", Authenticate: withToken(ok("Authenticate"))}, &Commands{Connects: []MDMExchange{*withToken(ok("connect"))}},
			[]idStatus{{"TOK-004", Pass}, {"TOK-005", Skip}}, []idStatus{{"CHK-006", Pass}}},
		{"a Mac, no token sent", mac(ok("Authenticate")), nil,
			[]idStatus{{"TOK-004", Skip}, {"TOK-005", Pass}}, []idStatus{{"CHK-006", Pass}}},
		{"a Mac, the device channel wants the token", mac(&MDMExchange{What: "Authenticate", Status: 401, Challenge: true, MacDeviceChannel: true}), nil,
			[]idStatus{{"TOK-004", Skip}, {"TOK-005", Fail}}, []idStatus{{"CHK-006", Skip}}},
		{"the token refused, by the text", &CheckIn{Authenticate: &MDMExchange{What: "Authenticate", Status: 403, TokenSent: true, NamesToken: true}}, nil,
			[]idStatus{{"TOK-004", Warn}, {"TOK-005", Skip}}, []idStatus{{"CHK-006", Skip}}},
		{"415", &CheckIn{Authenticate: withToken(refusedX("Authenticate", 415))}, nil,
			[]idStatus{{"TOK-004", Skip}, {"TOK-005", Skip}}, []idStatus{{"CHK-006", Fail}}},
		{"not judged", &CheckIn{Authenticate: withToken(&MDMExchange{What: "Authenticate", Why: "timeout"})}, nil,
			[]idStatus{{"TOK-004", Error}, {"TOK-005", Skip}}, []idStatus{{"CHK-006", Error}}},
	} {
		var c *CheckIn
		if tc.c != nil {
			cc := roundTrip(t, *tc.c)
			c = &cc
		}
		assertVerdicts(t, tc.name+" (TOK)", JudgeRequestsTOK(c, tc.m), tc.tok)
		assertVerdicts(t, tc.name+" (CHK)", JudgeRequestsCHK(c, tc.m), tc.chk)
	}
}

// CHK-008 is a SHOULD: a bad first connect warns.
func TestJudgeConnect(t *testing.T) {
	assertVerdicts(t, "went on to connect", JudgeNoConnect(CheckIn{Authenticate: ok("Authenticate")}), nil)
	assertVerdicts(t, "check-in stopped", JudgeNoConnect(CheckIn{Stopped: "the server refused Authenticate: status 400"}), all(Skip, firstConnectOwns...))
	assertVerdicts(t, "cannot send", JudgeNoConnect(CheckIn{CannotSend: "blocked"}), all(Error, firstConnectOwns...))
	for _, tc := range []struct {
		name string
		m    Commands
		want []idStatus
	}{
		{"device enrollment", Commands{Connects: []MDMExchange{*ok("connect (Idle)")}}, []idStatus{{"CHK-008", Pass}, {"CHK-012", Skip}}},
		{"user enrollment", Commands{UserEnrollment: true, Connects: []MDMExchange{*ok("connect (Idle)")}}, []idStatus{{"CHK-008", Pass}, {"CHK-012", Pass}}},
		{"withheld asked", Commands{UserEnrollment: true, Connects: []MDMExchange{*ok("connect (Idle)")}, Withheld: []string{"DeviceInformation asks for UDID"}}, []idStatus{{"CHK-008", Pass}, {"CHK-012", Noted}}},
		{"no command plist", Commands{Connects: []MDMExchange{*ok("connect (Idle)")}, FirstBad: "200 with a body that is no command plist"}, []idStatus{{"CHK-008", Warn}, {"CHK-012", Skip}}},
		{"refused", Commands{Connects: []MDMExchange{*refusedX("connect (Idle)", 500)}}, []idStatus{{"CHK-008", Warn}, {"CHK-012", Skip}}},
		{"not judged", Commands{Connects: []MDMExchange{{What: "connect (Idle)", Why: "timeout"}}}, []idStatus{{"CHK-008", Error}, {"CHK-012", Skip}}},
		{"nothing sent", Commands{}, []idStatus{{"CHK-008", Skip}, {"CHK-012", Skip}}},
	} {
		assertVerdicts(t, tc.name, JudgeCommands(roundTrip(t, tc.m)), tc.want)
	}
}

func TestNamesTokenOrIdentity(t *testing.T) {
	for body, want := range map[string][2]bool{
		`{"error":"invalid Authorization header"}`: {true, false},
		"Bearer token expired":                     {true, false},
		"bad Mdm-Signature":                        {false, true},
		"no client certificate":                    {false, true},
		"unknown device":                           {false, false},
	} {
		if got := [2]bool{NamesToken([]byte(body)), NamesIdentity([]byte(body))}; got != want {
			t.Errorf("%q: names token, identity = %v, want %v", body, got, want)
		}
	}
}
