package check

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// CallbackScheme is the custom scheme that ends the web session (§2.0).
const CallbackScheme = "apple-remotemanagement-user-login"

// The sign-in's AUTH judges, in the order the steps call them: the pages,
// the callback, then (after the second factor's TOTP judge) the
// wrong-password probe. OAuth 2's own judges are in oauth.go.
func init() {
	register(Judge{Group: "AUTH", Reads: "sign-in pages", Owns: signInPagesOwns, Run: runSignIn(JudgeSignInPages)})
	register(Judge{Group: "AUTH", Reads: "sign-in callback items", Owns: []string{"AUTH-005"}, Run: runSignIn(JudgeCallbackItems)})
	register(Judge{Group: "AUTH", Reads: "sign-in callback", Owns: webCallbackOwns, Run: runWeb(JudgeWebCallback)})
	register(Judge{Group: "AUTH", Reads: "sign-in wrong-password probe", Owns: []string{"AUTH-006"}, Run: runSignIn(JudgeWrongPassword)})
	register(Judge{Group: "ENR", Reads: "sign-in pages", Owns: []string{"ENR-007"}, Run: runSignIn(JudgeLoginQuery)})
}

var (
	signInPagesOwns = []string{"AUTH-001", "AUTH-002", "AUTH-017"}
	webCallbackOwns = []string{"AUTH-003", "AUTH-004", "AUTH-008", "AUTH-007"}
)

// runSignIn adapts a judge of the sign-in to the registry.
func runSignIn(j func(*SignIn) *Verdicts) func(*Observations) *Verdicts {
	return func(o *Observations) *Verdicts {
		if o.SignIn == nil {
			return nil
		}
		return j(o.SignIn)
	}
}

// runWeb adapts a judge of apple-as-web alone.
func runWeb(j func(*SignIn) *Verdicts) func(*Observations) *Verdicts {
	return func(o *Observations) *Verdicts {
		if o.SignIn == nil || o.SignIn.OAuth {
			return nil
		}
		return j(o.SignIn)
	}
}

// JudgeLoginQuery is ENR-007: a url whose query the device replaces must
// not be needed. Nil when the url had no query: the challenge's judge
// passes it then.
func JudgeLoginQuery(s *SignIn) *Verdicts {
	if s.OAuth || s.LoginQuery == "" {
		return nil
	}
	v := NewVerdicts("ENR-007")
	first := s.Login.FirstPage()
	if first != nil && first.Status < 400 {
		v.Add(With("ENR-007", Pass, "the url carries a query the device replaces, but the sign-in works without it"))
		return v
	}
	answer := "gave no page"
	if first != nil {
		answer = fmt.Sprintf("answered %d", first.Status)
	}
	v.Check("ENR-007", false, "a login url that works when the device replaces its query with user-identifier",
		fmt.Sprintf("url %s carries ?%s; without it the sign-in page %s", s.LoginURL, s.LoginQuery, answer))
	return v
}

// JudgeSignInPages: AUTH-001 (a page a browser renders), AUTH-002 (the
// identifier is used), AUTH-017 (no JavaScript needed).
func JudgeSignInPages(s *SignIn) *Verdicts {
	v := NewVerdicts(signInPagesOwns...)
	l := &s.Login
	first := l.FirstPage()
	judgeFirstPage(v, s, first)
	used := false
	for _, p := range l.Pages {
		used = used || p.ShowsIdentifier
	}
	switch {
	case first != nil && first.Status == 200 && !used && l.AtLimit:
		v.Error("AUTH-002", "the sign-in stopped at a page the simulator could not read or fill, before the identifier could show: "+l.Err)
	case !used && l.Untestable:
		v.Error("AUTH-002", "the tester could not run the sign-in page (it needs JavaScript), so it cannot tell whether the page uses user-identifier")
	case first != nil && first.Status == 200:
		v.Check("AUTH-002", used, "the sign-in pre-fills or routes by user-identifier", "the identifier appears in no page or redirect of the sign-in")
	default:
		v.Skip("AUTH-002", "no sign-in page")
	}
	switch {
	case l.FormJS != nil:
		v.Note("AUTH-017", "the sign-in needs JavaScript: "+l.FormJS.Err+"; signing in again in the browser")
	case l.NeedsJavaScript:
		v.Note("AUTH-017", "the sign-in needs JavaScript: "+l.Err)
	default:
		v.Check("AUTH-017", true, "", "")
	}
	return v
}

// judgeFirstPage is AUTH-001.
func judgeFirstPage(v *Verdicts, s *SignIn, first *Page) {
	l := &s.Login
	var last Page
	if len(l.Pages) > 0 {
		last = l.Pages[len(l.Pages)-1]
	}
	switch {
	case s.OAuth:
		v.Skip("AUTH-001", "apple-oauth2: the authorization endpoint is judged by AUTH-009")
	case first == nil && l.Transport != "":
		v.Error("AUTH-001", "the sign-in page could not be read: "+l.Transport)
	case first == nil && l.Untestable:
		v.Error("AUTH-001", "the tester could not load the sign-in page: "+l.Failure)
	case first == nil && last.Timeout:
		v.Error("AUTH-001", fmt.Sprintf("the sign-in page did not answer within the simulator's %s timeout: raise --timeout to judge", s.Timeout))
	case first == nil && last.OverLimit != "":
		v.Error("AUTH-001", "the sign-in page broke a limit of the simulator's: "+last.OverLimit)
	case first == nil:
		v.Check("AUTH-001", false, "200 text/html", "no page: "+l.Failure)
	case first.RateLimited != "":
		v.Error("AUTH-001", first.RateLimited)
	default:
		mt := first.MediaType
		v.Check("AUTH-001", first.Status == 200 && (mt == "text/html" || mt == "application/xhtml+xml"), "200 text/html (after any redirects)", fmt.Sprintf("%d %s", first.Status, mt))
	}
}

// JudgeCallbackItems warns under AUTH-005 about an access-token item the
// apple-as-web callback gives more than once; nil when none is repeated:
// the enroll step's judge owns AUTH-005's verdict.
func JudgeCallbackItems(s *SignIn) *Verdicts {
	if s.OAuth || !s.Login.HasCallback() {
		return nil
	}
	q, _ := FoundationQuery(s.Login.CallbackRawQuery)
	res := repeatedItems("AUTH-005", q, "access-token")
	if res == nil {
		return nil
	}
	v := NewVerdicts("AUTH-005")
	v.Add(*res)
	return v
}

// repeatedItems is a warning under id about callback items given more than
// once, nil when none is. A device resolves them silently (the first
// match), so this is never a failure; the warning says which one was used.
// Values are not quoted: they are credentials.
func repeatedItems(id string, q url.Values, names ...string) *Result {
	var repeats []string
	for _, name := range names {
		vs := q[name]
		if len(vs) < 2 {
			continue
		}
		distinct := map[string]bool{}
		for _, v := range vs {
			distinct[v] = true
		}
		repeats = append(repeats, fmt.Sprintf("%d %s items (%d different values); the first is used, as a device's first match by name", len(vs), name, len(distinct)))
	}
	if len(repeats) == 0 {
		return nil
	}
	res := With(id, Warn, "")
	res.Expected = "each of " + strings.Join(names, ", ") + " once in the callback"
	res.Actual = "the callback carries " + strings.Join(repeats, "; ")
	return &res
}

// authWarning is a warning whatever the check's level: a strict reader may
// stumble on what the device reads.
func authWarning(id, expected, actual string) Result {
	res := With(id, Warn, "")
	res.Expected, res.Actual = expected, actual
	return res
}

// JudgeWebCallback: AUTH-003 (the callback), AUTH-004 (its status),
// AUTH-008 (no-store) and AUTH-007 (the token's entropy) of apple-as-web.
func JudgeWebCallback(s *SignIn) *Verdicts {
	v := NewVerdicts(webCallbackOwns...)
	l := &s.Login
	if !l.HasCallback() {
		v.SkipAll("no callback", "AUTH-003", "AUTH-004", "AUTH-007", "AUTH-008")
		return v
	}
	q, qerr := FoundationQuery(l.CallbackRawQuery)
	problems := []string{}
	if l.CallbackScheme != CallbackScheme {
		problems = append(problems, "scheme "+l.CallbackScheme)
	}
	if l.CallbackHost != "authentication-results" {
		problems = append(problems, fmt.Sprintf("host %q instead of authentication-results", l.CallbackHost))
	}
	if qerr != nil {
		problems = append(problems, "query does not parse: "+qerr.Error())
	}
	// Foundation's URLComponents lists every item; a device's lookup by
	// name takes the first match, as url.Values.Get does.
	tok := q.Get("access-token")
	if tok == "" {
		problems = append(problems, "no access-token")
	}
	// A meta refresh or a script's navigation to the callback ends the
	// web session as a redirect does (ASWebAuthenticationSession watches
	// navigations), so the URL is judged the same whichever route it came
	// by, and whichever driver found it.
	v.Check("AUTH-003", len(problems) == 0 && callbackDelivered(l),
		CallbackScheme+"://authentication-results?access-token=… in a 3xx Location (or a navigation to it)",
		fmt.Sprintf("%s to %s", CallbackHow(l), l.Callback+" "+strings.Join(problems, "; ")))
	judgeCallbackStatus(v, l)
	v.Check("AUTH-008", strings.Contains(strings.ToLower(l.CallbackCacheControl), "no-store"),
		"Cache-Control: no-store on the response carrying the token", fmt.Sprintf("Cache-Control %q", l.CallbackCacheControl))
	if tok != "" {
		judgeTokenEntropy(v, tok, s.Identifier)
	} else {
		v.Skip("AUTH-007", "no token")
	}
	return v
}

// callbackDelivered: the callback reached the web view by a route that
// ends a device's web session: a 3xx, or a navigation the page made by
// itself (refresh, script, form).
func callbackDelivered(l *Login) bool {
	return !l.CallbackByRedirect || l.CallbackStatus >= 300 && l.CallbackStatus <= 399
}

// CallbackHow is the route for people: "308", or "by a refresh (…) on a
// 200 page".
func CallbackHow(l *Login) string {
	if l.CallbackByRedirect {
		return fmt.Sprint(l.CallbackStatus)
	}
	return fmt.Sprintf("by %s on a %d page", l.CallbackVia, l.CallbackStatus)
}

// judgeCallbackStatus is AUTH-004. A callback delivered by a refresh,
// script or form has no redirect status to judge. The device follows it
// all the same (the web session completes on any navigation to the
// callback scheme), so it is noted, not warned, and the same for both
// drivers: Apple documents a 308, and a reader should know the server
// does something else.
func judgeCallbackStatus(v *Verdicts, l *Login) {
	if !l.CallbackByRedirect {
		v.Note("AUTH-004", fmt.Sprintf("the callback came by %s on a %d page, not an HTTP redirect; a device's web session completes on any navigation to the callback scheme, and Apple documents a 308", l.CallbackVia, l.CallbackStatus))
		return
	}
	v.Check("AUTH-004", l.CallbackStatus == 308, "308 Permanent Redirect", fmt.Sprintf("%d", l.CallbackStatus))
}

// JudgeWrongPassword is AUTH-006: the probe with a wrong password gets no
// callback with a token. It gives a correct code if a code is asked for at
// all, so only the password can make it fail.
func JudgeWrongPassword(s *SignIn) *Verdicts {
	v := NewVerdicts("AUTH-006")
	p := s.Probes
	switch {
	case s.NoProbes || p == nil:
		v.Skip("AUTH-006", "probes are off (--no-probes)")
	case p.WrongPassword == nil:
		v.Skip("AUTH-006", "the probe was not played")
	case p.WrongPassword.HasCredential():
		v.Check("AUTH-006", false, "no callback with a token after a wrong password", "the wrong password got a callback with a token")
	case p.WrongPassword.Transport != "":
		v.Error("AUTH-006", "the probe could not be read: "+p.WrongPassword.Transport)
	case p.WrongPassword.AtLimit:
		v.Error("AUTH-006", "the probe could not go through the sign-in: "+p.WrongPassword.Failure)
	default:
		v.Check("AUTH-006", true, "", "")
	}
	return v
}

// judgeTokenEntropy is AUTH-007: an opaque token of at least 128 bits.
func judgeTokenEntropy(v *Verdicts, tok, identifier string) {
	bits := entropyBits(tok)
	var why []string
	if bits < 128 {
		why = append(why, fmt.Sprintf("about %.0f bits (%d characters)", bits, len(tok)))
	}
	if containsGuessableUser(tok, identifier) {
		why = append(why, "it is the user name and too little else")
	}
	if _, err := strconv.ParseInt(tok, 10, 64); err == nil {
		why = append(why, "it is a number")
	}
	v.Check("AUTH-007", len(why) == 0, "an opaque token of at least 128 bits", strings.Join(why, "; "))
}

// containsGuessableUser says the token is built from the user name: it
// holds the identifier, its local part or their base64, and what is left
// without them is under 128 bits. A random token may hold a short name by
// chance ("bob" in one 43-character token of some 600), which makes it no
// easier to guess: judging containment alone warned working servers at
// random.
func containsGuessableUser(tok, identifier string) bool {
	user := strings.ToLower(identifier)
	local := strings.SplitN(user, "@", 2)[0]
	rest, found := strings.ToLower(tok), false
	for _, form := range []string{user, local, strings.ToLower(rawBase64(user)), strings.ToLower(rawBase64(local))} {
		if form != "" && strings.Contains(rest, form) {
			rest, found = strings.ReplaceAll(rest, form, ""), true
		}
	}
	return found && entropyBits(rest) < 128
}

func rawBase64(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) }

// entropyBits estimates from length and alphabet: generous to the server.
func entropyBits(s string) float64 {
	var lower, upper, digit, other bool
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= '0' && c <= '9':
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, class := range []struct {
		in   bool
		size int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 4}} {
		if class.in {
			n += class.size
		}
	}
	if n < 2 {
		return 0
	}
	// Hex tokens use 16 symbols, not 36.
	if !upper && !other && isLowerHex(s) {
		n = 16
	}
	return float64(len(s)) * math.Log2(float64(n))
}

func isLowerHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
