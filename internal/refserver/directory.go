package refserver

import (
	"slices"
	"strings"

	"github.com/enrollsim/enrollsim/accounts"
)

// Account kinds: which enrollment the server offers the user.
const (
	KindBYOD = "byod" // account-driven User Enrollment (mdm-byod)
	KindADDE = "adde" // account-driven Device Enrollment (mdm-adde)
)

// How an account signs in after the 401 challenge (spec §2.6-2.8).
const (
	AuthWeb    = "web"     // apple-as-web; the forms live on the MDM host
	AuthWebIdP = "web-idp" // apple-as-web; the MDM hands the login to idp.acme.test
	AuthOAuth2 = "oauth2"  // apple-oauth2 against idp.acme.test

	// apple-as-web on idp.acme.test, through pages that need JavaScript
	// (jspages.go); the MDM routes these users there.
	AuthWebSPA    = "web-spa"    // a single-page flow: user name, password, code, each posted by fetch()
	AuthWebXHR    = "web-xhr"    // a script-built form sent by XMLHttpRequest with a CSRF header from a cookie
	AuthWebSafari = "web-safari" // a script-built form that only Safari on an Apple device may open
)

// Account is one user of the built-in directory. These are test credentials
// for a server that only listens on loopback; they are not secrets.
type Account struct {
	Identifier     string // what the user types on the device
	Kind           string // KindBYOD or KindADDE
	Auth           string // AuthWeb, AuthWebIdP or AuthOAuth2
	ManagedAppleID string // what the server reports as AssignedManagedAppleID
	Password       string
	TOTPSecret     string // base32, for the web login's second factor
	// NeedsJavaScript: the account's sign-in pages work only in a browser
	// engine; a form reader stops at them with AUTH-017. Walks that play
	// every account with the form driver leave these out.
	NeedsJavaScript bool
	// ESSO: discovery hands the account the BaseURL whose 401 names an
	// Enrollment SSO document (esso.go); the sign-in after it is web.
	ESSO bool
}

// atIdP reports whether the account's password lives with the identity
// provider rather than the MDM.
func (a Account) atIdP() bool { return a.Auth == AuthWebIdP || a.Auth == AuthOAuth2 }

// builtinAccounts is the organisation's directory. dave shows the Ivanti
// style, where users type user@<MDM host> so the MDM host answers discovery
// itself; his Managed Apple Account still lives in the organisation domain,
// because the identifier need not equal the account (spec §2.1). carol's
// web login is federated to the identity provider; erin and frank use
// OAuth 2 against it. grace, heidi and ivan sign in on the identity
// provider's pages that need JavaScript: grace (user enrollment) a
// single-page flow, heidi (device enrollment) a form sent by XHR, ivan
// (user enrollment) a page only Safari may open. judy's organisation signs
// in through an identity provider's app: Enrollment SSO before the web
// login.
var builtinAccounts = []Account{
	{Identifier: "alice@acme.test", Kind: KindBYOD, Auth: AuthWeb, ManagedAppleID: "alice@acme.test",
		Password: "alice-Tr0ub4dor-7", TOTPSecret: "JBSWY3DPEHPK3PXPKQ4GC6LTMFZWK4TE"},
	{Identifier: "bob@acme.test", Kind: KindBYOD, Auth: AuthWeb, ManagedAppleID: "bob@acme.test",
		Password: "bob-Qu1ck-Brown-4", TOTPSecret: "GEZDGNBVGY3TQOJQMFRGGZDFMZTWQ2LK"},
	{Identifier: "carol@acme.test", Kind: KindADDE, Auth: AuthWebIdP, ManagedAppleID: "carol@acme.test",
		Password: "carol-S4lt-Marsh-2", TOTPSecret: "NB2HI4DTHIXS6ZLOOJXWY3DTNFWS4ZLY"},
	{Identifier: "dave@mdm.acme.test", Kind: KindBYOD, Auth: AuthWeb, ManagedAppleID: "dave@acme.test",
		Password: "dave-H0rse-Stap1e-9", TOTPSecret: "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"},
	{Identifier: "erin@acme.test", Kind: KindBYOD, Auth: AuthOAuth2, ManagedAppleID: "erin@acme.test",
		Password: "erin-Gl4ss-Harbor-5", TOTPSecret: "4TV7VIHK6PRW2POJSTYW364RZNHFDYLC"},
	{Identifier: "frank@acme.test", Kind: KindADDE, Auth: AuthOAuth2, ManagedAppleID: "frank@acme.test",
		Password: "frank-Cedar-L4ntern-8", TOTPSecret: "4HGFRUYWBQFDQWTOZFYRENXEUPDL7DVG"},
	{Identifier: "grace@acme.test", Kind: KindBYOD, Auth: AuthWebSPA, ManagedAppleID: "grace@acme.test",
		Password: "grace-Map1e-Orbit-3", TOTPSecret: "FJAK2KYG4O4PTPWBH6VBEVJ2UH7HECIX", NeedsJavaScript: true},
	{Identifier: "heidi@acme.test", Kind: KindADDE, Auth: AuthWebXHR, ManagedAppleID: "heidi@acme.test",
		Password: "heidi-Fj0rd-Lantern-6", TOTPSecret: "6LJDVYTC2TSNP5FBTLWWEX2UCPDLNRA7", NeedsJavaScript: true},
	{Identifier: "ivan@acme.test", Kind: KindBYOD, Auth: AuthWebSafari, ManagedAppleID: "ivan@acme.test",
		Password: "ivan-Qu4rtz-Meadow-1", TOTPSecret: "7X6FNMHNS4GXKTRM4QQBWUXDLQVORNF7", NeedsJavaScript: true},
	{Identifier: "judy@acme.test", Kind: KindBYOD, Auth: AuthWeb, ManagedAppleID: "judy@acme.test", ESSO: true,
		Password: "judy-Ember-Qu1lt-4", TOTPSecret: "KRUGS4ZANFZSAYJAORSXG5BAONSWG4TF"},
}

// verifiedDomains are the domains the organisation has verified in AxM; the
// AxM stand-in only answers for identifiers in them.
var verifiedDomains = []string{OrgDomain, MDMHost}

type directory struct {
	accounts []Account
	byID     map[string]Account
}

func newDirectory(builtin []Account, pattern PatternAccounts) *directory {
	d := &directory{accounts: slices.Clone(builtin), byID: make(map[string]Account, len(builtin)+pattern.Count)}
	for _, a := range builtin {
		d.byID[strings.ToLower(a.Identifier)] = a
	}
	p := pattern.Pattern
	if p == "" {
		p = accounts.DefaultPattern
	}
	kind := pattern.Kind
	if kind == "" {
		kind = KindBYOD
	}
	// Pattern accounts are in the map only: Accounts() lists the built-in
	// directory, which stays readable with 10,000 load users beside it.
	for n := 1; n <= pattern.Count; n++ {
		id := accounts.Name(p, n)
		pw, seed := accounts.Derive(pattern.Master, id)
		d.byID[strings.ToLower(id)] = Account{Identifier: id, Kind: kind, Auth: AuthWeb, ManagedAppleID: id, Password: pw, TOTPSecret: seed}
	}
	return d
}

// lookup ignores case because devices send the identifier as typed, and
// users do not type addresses consistently.
func (d *directory) lookup(identifier string) (Account, bool) {
	a, ok := d.byID[strings.ToLower(strings.TrimSpace(identifier))]
	return a, ok
}

// domainOf returns the part after the last "@", as Apple's documented split
// does (spec §2.1), lower-cased; "" when there is no "@".
func domainOf(identifier string) string {
	i := strings.LastIndex(identifier, "@")
	if i < 0 {
		return ""
	}
	return strings.ToLower(identifier[i+1:])
}

func isVerifiedDomain(domain string) bool {
	return domain != "" && slices.Contains(verifiedDomains, domain)
}
