package refserver

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fault is one named, switchable misbehaviour of the reference server. Each
// one exists to show that the checks in Trips fire: the lead's catalogue test
// plays Probe with Account against a server running only this fault and
// expects every listed check to end fail or warn.
type Fault struct {
	Name    string
	Doc     string
	Trips   []string // check IDs (spec §4) the fault must trip (an INFO check listed must report info)
	Probe   string   // device reference, e.g. "iphone@18.1"
	Account string   // user-identifier the probe signs in with
	// Outcome is the probe's expected case outcome when the fault's effect
	// is no check's business ("" means any).
	Outcome string
	// Driver is the web-login driver the probe needs: DriverBrowser when
	// the fault lives in pages that need JavaScript (Account's sign-in),
	// "" when the form driver can play it.
	Driver string
	// CommandDelay is the worker's delay the fault is shown with: the push
	// faults need commands queued after the device's first connect, so
	// that a push (or none) is what wakes it.
	CommandDelay time.Duration
}

// pushFaultDelay is the push faults' CommandDelay.
const pushFaultDelay = 3 * time.Second

// DriverBrowser names the web-login driver that runs a real browser engine
// (issue 13); faults in pages that need JavaScript can only be shown with it.
const DriverBrowser = "browser"

// Fault names. Handlers test them with s.has so that every misbehaviour can
// be found from its constant.
const (
	FaultAxMDisagrees                 = "axm-disagrees"
	FaultAxMNeedsQuery                = "axm-needs-query"
	FaultAxMUnregistered              = "axm-unregistered"
	FaultAxMRetryLoop                 = "axm-retry-loop"
	FaultDiscoveryURLSetsCookie       = "discovery-url-sets-cookie"
	FaultNeverRemovesURL              = "never-removes-url"
	FaultRegistersBaseURL             = "registers-baseurl"
	FaultRegistersHTTPURL             = "registers-http-url"
	FaultSkipsProtocolHeader          = "skips-protocol-header"
	FaultDirectWellKnown              = "direct-wellknown"
	FaultRedirectDropsQuery           = "redirect-drops-query"
	FaultRedirectLoop                 = "redirect-loop"
	FaultRedirectNoLocation           = "redirect-no-location"
	FaultRedirectToHTTP               = "redirect-to-http"
	FaultWellKnown404                 = "wellknown-404"
	FaultWellKnownAcceptsAnyone       = "wellknown-accepts-anyone"
	FaultWellKnownADDEForAll          = "wellknown-adde-for-all"
	FaultWellKnownAnyFamily           = "wellknown-any-family"
	FaultWellKnownBadJSON             = "wellknown-bad-json"
	FaultWellKnownBadRejection        = "wellknown-bad-rejection"
	FaultWellKnownBOM                 = "wellknown-bom"
	FaultWellKnownBYODForAll          = "wellknown-byod-for-all"
	FaultWellKnownCacheable           = "wellknown-cacheable"
	FaultWellKnownContentType         = "wellknown-content-type"
	FaultWellKnownEmptyServers        = "wellknown-empty-servers"
	FaultWellKnownHTTPBaseURL         = "wellknown-http-baseurl"
	FaultWellKnownLarge               = "wellknown-large"
	FaultWellKnownMissingBaseURL      = "wellknown-missing-baseurl"
	FaultWellKnownNeedsCookie         = "wellknown-needs-cookie"
	FaultWellKnownPlistRejection      = "wellknown-plist-rejection"
	FaultWellKnownRequiresModelFamily = "wellknown-requires-model-family"
	FaultWellKnownSlow                = "wellknown-slow"
	FaultWellKnownTwoServers          = "wellknown-two-servers"
	FaultWellKnownUnknownVersion      = "wellknown-unknown-version"

	// First POST and challenge (ENR).
	FaultChallengeNoURL       = "challenge-no-url"
	FaultCommalessChallenge   = "commaless-challenge"
	FaultEnrollAcceptsGarbage = "enroll-accepts-garbage"
	FaultEnrollAnyProduct     = "enroll-any-product"
	// FaultEnrollAppleSignatureOnly is no fault of the server's: it plays a
	// production server that verifies Apple's device CA, which must refuse
	// the simulator's body; the engine reports error, not fail.
	FaultEnrollAppleSignatureOnly = "enroll-apple-signature-only"
	FaultEnrollRedirects          = "enroll-redirects"
	FaultEnrollRejectsPKCS7       = "enroll-rejects-pkcs7"
	FaultErrorWithChallenge       = "error-with-challenge"
	FaultESSOHTTP                 = "esso-http"
	FaultESSOWrongMediaType       = "esso-wrong-media-type"
	FaultESSONoStoreID            = "esso-no-itunesstoreid"
	FaultESSOAppIDsInStandard     = "esso-appids-in-standard"
	FaultESSOForbiddenPayload     = "esso-forbidden-payload"
	FaultESSONoActivation         = "esso-declarations-without-activation"
	FaultHTTPLoginURL             = "http-login-url"
	FaultLoginURLQuery            = "login-url-query"
	FaultNoWWWAuthenticate        = "no-www-authenticate"
	FaultOAuthNoScope             = "oauth-no-scope"
	FaultProfileWithoutAuth       = "profile-without-auth"
	FaultUnknownMethod            = "unknown-method"

	// Web login and OAuth 2 (AUTH).
	FaultCallback302           = "callback-302"
	FaultCallback303           = "callback-303"
	FaultCallbackCacheable     = "callback-cacheable"
	FaultCallbackDoubleEncoded = "callback-double-encoded"
	FaultCallbackInJSONBody    = "callback-in-json-body"
	FaultCallbackMetaRefresh   = "callback-meta-refresh"
	FaultCallbackScriptNav     = "callback-script-navigation"
	FaultCallbackNoToken       = "callback-no-token"
	FaultCallbackWrongHost     = "callback-wrong-host"
	FaultLoginNoPrefill        = "login-no-prefill"
	FaultLoginPage404          = "login-page-404"
	FaultLoginRateLimitedOnce  = "login-rate-limited-once"
	FaultLoginSplitOTP         = "login-split-otp"
	FaultOAuthBadTokenType     = "oauth-bad-token-type"
	FaultOAuthClientAuth       = "oauth-client-auth"
	FaultOAuthCodeReuse        = "oauth-code-reuse"
	FaultOAuthError200         = "oauth-error-200"
	FaultOAuthKeepsQuery       = "oauth-keeps-query"
	FaultOAuthNoRefresh        = "oauth-no-refresh"
	FaultOAuthRejectsLoginHint = "oauth-rejects-login-hint"
	FaultOAuthRequiresPKCE     = "oauth-requires-pkce"
	FaultOAuthStateMangled     = "oauth-state-mangled"
	FaultOAuthTokenBOM         = "oauth-token-bom"
	FaultTokenPredictable      = "token-predictable"
	FaultWrongPasswordAccepted = "wrong-password-accepted"

	// Sign-in pages that need JavaScript (jspages.go).
	FaultJSCallbackNoToken = "js-callback-no-token"
	FaultJSNoPrefill       = "js-no-prefill"
	FaultJSPasswordHTTP    = "js-password-http"

	// Second factor (TOTP).
	FaultOTPNeedsJavaScript = "otp-needs-javascript"
	FaultTOTP5xx            = "totp-5xx"
	FaultTOTPAnyCode        = "totp-any-code"
	FaultTOTPNotEnforced    = "totp-not-enforced"
	FaultTOTPRejectsValid   = "totp-rejects-valid"
	FaultTOTPReplayAccepted = "totp-replay-accepted"
	FaultTOTPWideSkew       = "totp-wide-skew"

	// Identity (CHK-001).
	FaultSCEPWrongChallenge = "scep-wrong-challenge"

	// Token on the second POST (TOK).
	FaultTokenCrossUser  = "token-cross-user"
	FaultTokenIgnored    = "token-ignored"
	FaultTokenRefusal5xx = "token-refusal-5xx"

	// Profile (PROF, SEC).
	FaultProfileBadAccessRights       = "profile-bad-accessrights"
	FaultProfileBadTopic              = "profile-bad-topic"
	FaultProfileBYODAccessRights      = "profile-byod-accessrights"
	FaultProfileBYODDisallowedPayload = "profile-byod-disallowed-payload"
	FaultProfileBomb                  = "profile-bomb"
	FaultProfileContentType           = "profile-content-type"
	FaultProfileEmpty                 = "profile-empty"
	FaultProfileHTTPServerURL         = "profile-http-serverurl"
	FaultProfileHuge                  = "profile-huge"
	FaultProfileIdentityMismatch      = "profile-identity-mismatch"
	FaultProfileMacNoPerUser          = "profile-mac-no-per-user"
	FaultProfileManagedAppleID        = "profile-managedappleid"
	FaultProfileNoAssignedID          = "profile-no-assigned-id"
	FaultProfileNotPlist              = "profile-not-plist"
	FaultProfileOtherTenant           = "profile-other-tenant"
	FaultProfileRequiredAppIDString   = "profile-requiredappid-string"
	FaultProfileTwoMDM                = "profile-two-mdm"
	FaultProfileACMEHardwareRSA       = "profile-acme-hardware-rsa"
	FaultProfileUnsigned              = "profile-unsigned"
	FaultProfileWrongMode             = "profile-wrong-mode"
	FaultProfileWrongUser             = "profile-wrong-user"

	// Transport (SEC).
	FaultPrivateCA = "private-ca"
	FaultTLSLegacy = "tls-legacy"
	FaultTLSCBC    = "tls12-cbc-only"
	FaultTLSRSA    = "tls-rsa-1024"
	FaultTLSSHA1   = "tls-sha1-cert"
	// FaultTLSSmallCA: an issuing CA with a P-224 key.
	FaultTLSSmallCA = "tls-ecdsa-224-ca"
	// FaultTLS12NoEMS needs socat (noems.go).
	FaultTLS12NoEMS = "tls12-no-ems"

	// Check-in and connect (CHK, TOK), mdm.go.
	FaultADDEAuthenticateRefused       = "adde-authenticate-refused"
	FaultCheckinContentType            = "checkin-content-type"
	FaultCheckinIgnoresToken           = "checkin-ignores-token"
	FaultCheckinRejectsBearer          = "checkin-rejects-bearer"
	FaultCheckinRequiresUDIDForBYOD    = "checkin-requires-udid-for-byod"
	FaultCheckoutRequiresToken         = "checkout-requires-token"
	FaultConnectBadCommand             = "connect-bad-command"
	FaultExpiredTokenAccepted          = "expired-token-accepted"
	FaultGetTokenOpaqueTokenData       = "gettoken-opaque-tokendata"
	FaultGetTokenUnknownType200        = "gettoken-unknown-type-200"
	FaultMacDeviceChannelRequiresToken = "mac-device-channel-requires-token"
	FaultQueriesSerialInBYOD           = "queries-serial-in-byod"
	FaultEraseBYOD                     = "erase-byod"
	FaultRevokedTokenBare401           = "revoked-token-bare-401"
	FaultSecondEnrollmentOtherUser     = "second-enrollment-other-user"
	FaultTokenUpdateRefused            = "tokenupdate-refused"
	FaultTopicNotChecked               = "topic-not-checked"
	FaultUnenrollBare401               = "unenroll-bare-401"
	FaultUserChannelRefused            = "user-channel-refused"
	FaultPushNone                      = "push-none"
	FaultForbiddenPayloadBYOD          = "forbidden-payload-byod"
	FaultCommandNotOnPlatform          = "command-not-on-platform"
	FaultPushStaleToken                = "push-stale-token"
	FaultPushStaleMagic                = "push-stale-magic"
	FaultPushWrongTopic                = "push-wrong-topic"
	FaultPushTypeAlert                 = "push-type-alert"
	FaultPushStorm                     = "push-storm"
	FaultPushLoop                      = "push-loop"

	// Declarative device management (DDM), ddm.go. Each turns DDM on.
	FaultDDMContentType             = "ddm-content-type"
	FaultDDMTokenNeverChanges       = "ddm-token-never-changes"
	FaultDDMItemNotFetchable        = "ddm-item-not-fetchable"
	FaultDDMUnknown500              = "ddm-unknown-500"
	FaultDDMStatusBody              = "ddm-status-body"
	FaultDDMSoftwareUpdateBYOD      = "ddm-software-update-byod"
	FaultDDMActivationMissingConfig = "ddm-activation-missing-config"
	FaultDDMESSONotPrestaged        = "ddm-esso-not-prestaged"
	FaultDDMNoResyncCommand         = "ddm-no-resync-command"
)

const (
	probeOld      = "iphone@18.1" // no AxM fallback: a domain failure is final
	probeFallback = "iphone@18.2" // first iOS with the AxM fallback
	probeMac      = "mac@15.2"
	probeAlice    = "alice@acme.test" // apple-as-web on the MDM, BYOD
	probeCarol    = "carol@acme.test" // apple-as-web through idp.acme.test, ADDE
	probeErin     = "erin@acme.test"  // apple-oauth2, BYOD
	probeGrace    = "grace@acme.test" // apple-as-web through a single-page flow that needs JavaScript, BYOD
	probeJudy     = "judy@acme.test"  // Enrollment SSO, then apple-as-web on the MDM, BYOD
	// probeESSODeclarations reads the Enrollment SSO document's
	// Declarations (iOS 18.4 and later).
	probeESSODeclarations = "iphone@26.1"
)

// faultTable is the catalogue of faults. The "wellknown-" faults act on the
// well-known document the device fetches through the organisation domain
// (the MDM host's well-known, or acme.test itself under direct-wellknown);
// the URL registered with AxM keeps answering correctly unless an "axm-"
// fault says otherwise. Keeping the two apart lets each fault trip only its
// own checks, even on devices that also walk the fallback.
var faultTable = []Fault{
	{Name: FaultAxMDisagrees, Doc: "/mdm/service-discovery returns BaseURL https://mdm.acme.test/enroll/other, unlike the domain document",
		Trips: []string{"ABM-009"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultAxMNeedsQuery, Doc: "/mdm/service-discovery without user-identifier answers 500 instead of a clear 4xx",
		Trips: []string{"ABM-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultAxMUnregistered, Doc: "the server never registers its discovery URL with the AxM stand-in, so /mdmBaseURL answers 404",
		Trips: []string{"ABM-001", "ABM-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultRegistersBaseURL, Doc: "the server registers its mdm-byod BaseURL with AxM instead of its service discovery URL",
		Trips: []string{"ABM-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultRegistersHTTPURL, Doc: "the server registers http://mdm.acme.test/mdm/service-discovery, which AxM refuses as not valid",
		Trips: []string{"ABM-002", "ABM-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultNeverRemovesURL, Doc: "turning account-driven enrollment off (/admin/axm-withdraw) leaves the AxM registration in place",
		Trips: []string{"ABM-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultSkipsProtocolHeader, Doc: "the server's Device Assignment API calls carry no X-Server-Protocol-Version",
		Trips: []string{"ABM-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultAxMRetryLoop, Doc: "after AxM answers 404 NOT_FOUND to its GET, the server repeats the GET 10 more times at once",
		Trips: []string{"ABM-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDiscoveryURLSetsCookie, Doc: "the registered service discovery URL answers with a Set-Cookie session cookie",
		Trips: []string{"ABM-005"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDirectWellKnown, Doc: "acme.test serves the discovery document itself instead of redirecting to the MDM host",
		Trips: []string{}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectDropsQuery, Doc: "acme.test redirects to the MDM well-known without the original query",
		Trips: []string{"RD-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultRedirectLoop, Doc: "acme.test redirects to the very URL that was requested, forever",
		Trips: []string{"WK-001", "RD-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectNoLocation, Doc: "acme.test answers 302 without a Location header",
		Trips: []string{"WK-001", "RD-005"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultRedirectToHTTP, Doc: "acme.test redirects to http://mdm.acme.test/... (a downgrade)",
		Trips: []string{"WK-001", "RD-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnown404, Doc: "acme.test answers the well-known request with a plain-text 404",
		Trips: []string{"WK-001"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownAcceptsAnyone, Doc: "unknown users get a 200 mdm-byod document instead of the 403 rejection",
		Trips: []string{"WK-009"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownADDEForAll, Doc: "every known user gets the mdm-adde entry, whatever the account or device",
		Trips: []string{"WK-008", "WK-017", "ABM-009"}, Probe: "iphone@16.7", Account: probeAlice},
	{Name: FaultWellKnownAnyFamily, Doc: "unsupported model-family values (AppleTV, Watch, anything) get the document",
		Trips: []string{"WK-014"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBadJSON, Doc: "the well-known 200 body is truncated JSON ({\"Servers\": [) served as application/json",
		Trips: []string{"WK-001", "WK-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBadRejection, Doc: "the 403 for unknown users carries {\"code\":\"com.apple.well-known.rejected\"}",
		Trips: []string{"WK-010"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownBOM, Doc: "legal: the well-known document starts with a UTF-8 byte-order mark, which devices' JSON reader skips (WK-003 warns)",
		Trips: []string{"WK-003"}, Probe: probeOld, Account: probeAlice, Outcome: "enrolled"},
	{Name: FaultWellKnownLarge, Doc: "legal: the well-known document carries a 100 KiB Notes string beside Servers, over SEC-003's 64 KiB bound (Apple sets none)",
		Trips: []string{"SEC-003"}, Probe: probeOld, Account: probeAlice, Outcome: "enrolled"},
	{Name: FaultWellKnownBYODForAll, Doc: "every known user gets the mdm-byod entry, even ADDE accounts",
		Trips: []string{"WK-017", "ABM-009"}, Probe: probeOld, Account: "carol@acme.test"},
	{Name: FaultWellKnownCacheable, Doc: "the well-known document has no Cache-Control header",
		Trips: []string{"WK-016"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownContentType, Doc: "the well-known 200 document is served as text/plain",
		Trips: []string{"WK-001", "WK-002"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownEmptyServers, Doc: "the well-known document is {\"Servers\":[]}",
		Trips: []string{"WK-001", "WK-003"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownHTTPBaseURL, Doc: "the well-known document's BaseURL uses http instead of https",
		Trips: []string{"WK-007", "ABM-009"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownMissingBaseURL, Doc: "the well-known document's Servers entry has no BaseURL",
		Trips: []string{"WK-001", "WK-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownNeedsCookie, Doc: "the MDM well-known without a session cookie answers 302 to itself with Set-Cookie",
		Trips: []string{"WK-001", "WK-012", "RD-004"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownPlistRejection, Doc: "the 403 for unknown users is an XML plist (application/xml), which devices do not parse",
		Trips: []string{"WK-011"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownRequiresModelFamily, Doc: "the MDM well-known without model-family answers 400",
		Trips: []string{"WK-013"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownSlow, Doc: "acme.test waits Config.SlowDelay (default 20s) before redirecting",
		Trips: []string{"WK-015", "SEC-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultWellKnownTwoServers, Doc: "the well-known document lists the user's entry and then an extra mdm-adde entry",
		Trips: []string{"WK-006"}, Probe: probeOld, Account: probeAlice},
	{Name: FaultWellKnownUnknownVersion, Doc: "the well-known document's Version is mdm-byod-v2 (unknown to devices)",
		Trips: []string{"WK-001", "WK-005"}, Probe: probeOld, Account: probeAlice},

	// The enrollment half: each fault breaks one thing; the rest of the
	// flow (discovery, sign-in, profile) keeps working.
	{Name: FaultNoWWWAuthenticate, Doc: "the BaseURL's 401 answers carry no WWW-Authenticate header",
		Trips: []string{"ENR-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultUnknownMethod, Doc: `the 401 challenge names method="apple-magic"`,
		Trips: []string{"ENR-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultChallengeNoURL, Doc: `the apple-as-web 401 challenge is Bearer method="apple-as-web", with no url parameter`,
		Trips: []string{"ENR-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultOAuthNoScope, Doc: "the apple-oauth2 401 challenge has no scope (the authorization endpoint works without one)",
		Trips: []string{"ENR-005"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultCommalessChallenge, Doc: `the challenge separates its parameters with spaces only: Bearer method="apple-as-web" url="..."`,
		Trips: []string{"ENR-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultHTTPLoginURL, Doc: "the apple-as-web challenge's url is http://mdm.acme.test/auth/login, which nothing serves (the listener is TLS only)",
		Trips: []string{"ENR-004", "AUTH-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultLoginURLQuery, Doc: "the challenge's url carries ?tenant=acme and the login page answers 400 without it",
		Trips: []string{"ENR-007", "AUTH-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultESSOWrongMediaType, Doc: "legal: the Enrollment SSO document is served as text/plain",
		Trips: []string{"ESSO-001"}, Probe: probeFallback, Account: probeJudy},
	{Name: FaultESSONoStoreID, Doc: "the Enrollment SSO document has no iTunesStoreID",
		Trips: []string{"ESSO-002"}, Probe: probeFallback, Account: probeJudy, Outcome: "auth-failed"},
	{Name: FaultESSOAppIDsInStandard, Doc: "the standard Enrollment SSO document carries AppIDs, which only the developer document may",
		Trips: []string{"ESSO-003"}, Probe: probeFallback, Account: probeJudy},
	{Name: FaultESSOForbiddenPayload, Doc: "the Enrollment SSO profile holds a Wi-Fi payload besides the SSO and certificate payloads",
		Trips: []string{"ESSO-004"}, Probe: probeFallback, Account: probeJudy, Outcome: "auth-failed"},
	{Name: FaultESSONoActivation, Doc: "the Enrollment SSO declarations have no com.apple.activation.simple",
		Trips: []string{"ESSO-005"}, Probe: probeESSODeclarations, Account: probeJudy},
	{Name: FaultESSOHTTP, Doc: "the 401 challenge adds X-Apple-MDM-ESSO: http://mdm.acme.test/esso",
		Trips: []string{"ENR-012"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileWithoutAuth, Doc: "the first POST, without Authorization, gets 200 and a profile instead of the 401",
		Trips: []string{"ENR-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultEnrollRejectsPKCS7, Doc: "the BaseURL answers 415 when Content-Type is application/pkcs7-signature",
		Trips: []string{"ENR-001", "ENR-008"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultEnrollAcceptsGarbage, Doc: "a body that is not a signed enrollment request still gets the 401 challenge",
		Trips: []string{"ENR-009"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultEnrollAppleSignatureOnly, Doc: "the BaseURL refuses (403) any body not signed by an Apple device identity, as a production server may: ENR-001 reports error, no check fails",
		Trips: []string{}, Probe: probeFallback, Account: probeAlice, Outcome: "error"},
	{Name: FaultEnrollAnyProduct, Doc: "any PRODUCT (an AppleTV too) gets the 401 challenge instead of a 403",
		Trips: []string{"ENR-010"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultEnrollRedirects, Doc: "the BaseURL answers 307 to /enrollment/..., which serves the enrollment",
		Trips: []string{"ENR-011"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultErrorWithChallenge, Doc: "the BaseURL's 400 and 403 answers carry a WWW-Authenticate challenge",
		Trips: []string{"ENR-013"}, Probe: probeFallback, Account: probeAlice},

	{Name: FaultCallback302, Doc: "the apple-as-web callback is a 302 instead of a 308",
		Trips: []string{"AUTH-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallback303, Doc: "the apple-as-web callback is a 303 instead of a 308",
		Trips: []string{"AUTH-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackNoToken, Doc: "the callback Location has no access-token query item",
		Trips: []string{"AUTH-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackWrongHost, Doc: "the callback Location's host is login-results instead of authentication-results",
		Trips: []string{"AUTH-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackCacheable, Doc: "the 308 callback carrying the token has no Cache-Control header",
		Trips: []string{"AUTH-008"}, Probe: probeFallback, Account: probeAlice},
	// Legal but odd: the callback reaches the web view in a page, not in a
	// 308. A device's web session completes on any navigation to the
	// callback scheme, so these enroll and trip nothing (AUTH-004 notes
	// the route); they also carry the token in a body, for the redaction
	// tests.
	{Name: FaultCallbackMetaRefresh, Doc: `the apple-as-web callback is a 200 page with <meta http-equiv="refresh" content="0;url=apple-remotemanagement-user-login://…">, not a 308 (devices enroll)`,
		Trips: []string{}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackScriptNav, Doc: `the apple-as-web callback is a 200 page whose script runs window.location.replace("apple-remotemanagement-user-login://…"), not a 308 (devices enroll)`,
		Trips: []string{}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackInJSONBody, Doc: `after the code, a 200 page's script fetches {"redirect":"apple-remotemanagement-user-login://…"} and navigates there (devices enroll; a reader without JavaScript cannot)`,
		Trips: []string{}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultLoginPage404, Doc: "GET /auth/login, the apple-as-web challenge's url, answers a plain-text 404",
		Trips: []string{"AUTH-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultLoginRateLimitedOnce, Doc: "legal: the first GET of the sign-in page answers 429 Too Many Requests with Retry-After: 1; later ones work (the simulator waits it out once)",
		Trips: []string{}, Probe: probeFallback, Account: probeAlice, Outcome: "enrolled"},
	{Name: FaultLoginSplitOTP, Doc: `legal: the one-time-code page splits the code over six <input maxlength=1> boxes (digit1..digit6, a script moves the focus) and shows errors in <p class="err">`,
		Trips: []string{}, Probe: probeFallback, Account: probeAlice, Outcome: "enrolled"},
	{Name: FaultLoginNoPrefill, Doc: "the sign-in pages ignore user-identifier: nothing pre-filled, the identifier appears nowhere",
		Trips: []string{"AUTH-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCallbackDoubleEncoded, Doc: "access tokens are std base64 (with / + =) and the callback percent-encodes them twice",
		Trips: []string{"AUTH-005", "TOK-001", "PROF-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTokenPredictable, Doc: "access tokens are the base64url of the user name",
		Trips: []string{"AUTH-007"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultWrongPasswordAccepted, Doc: "any password of a known user passes the first factor (the TOTP is still asked)",
		Trips: []string{"AUTH-006"}, Probe: probeFallback, Account: probeAlice},

	// The single-page flow's faults: the form driver cannot reach them
	// (the page needs JavaScript), so the probe signs in with the browser.
	{Name: FaultJSCallbackNoToken, Doc: "the single-page sign-in ends in window.location to the callback without an access-token query item",
		Trips: []string{"AUTH-003"}, Probe: probeFallback, Account: probeGrace, Driver: DriverBrowser},
	{Name: FaultJSPasswordHTTP, Doc: "the single-page sign-in posts the password with fetch() to http://sso.acme-login.test, another origin in clear text (browsers block it as mixed content)",
		Trips: []string{"SEC-001"}, Probe: probeFallback, Account: probeGrace, Driver: DriverBrowser},
	{Name: FaultJSNoPrefill, Doc: "the MDM sends single-page users to the identity provider without login_hint, whose user-name step starts empty",
		Trips: []string{"AUTH-002"}, Probe: probeFallback, Account: probeGrace, Driver: DriverBrowser},

	{Name: FaultTOTPNotEnforced, Doc: "the callback follows the password directly; the TOTP page is never shown",
		Trips: []string{"TOTP-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTOTPReplayAccepted, Doc: "a TOTP code already used in its time step is accepted again",
		Trips: []string{"TOTP-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTOTPAnyCode, Doc: "any 6-digit TOTP code is accepted (replays of a real code are still refused)",
		Trips: []string{"TOTP-003", "TOTP-005"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTOTPWideSkew, Doc: "TOTP codes up to 5 time steps away are accepted (instead of 1)",
		Trips: []string{"TOTP-005"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTOTPRejectsValid, Doc: "TOTP codes are checked with SHA-256 instead of SHA-1, so correct codes are refused",
		Trips: []string{"TOTP-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultOTPNeedsJavaScript, Doc: "the one-time-code page has no form, only a <noscript> notice and a script that builds one",
		Trips: []string{"AUTH-017", "TOTP-006"}, Probe: probeFallback, Account: probeAlice, Outcome: "error"},
	{Name: FaultTOTP5xx, Doc: "a wrong TOTP code gets a 500 instead of the form again",
		Trips: []string{"TOTP-003"}, Probe: probeFallback, Account: probeAlice},

	{Name: FaultOAuthStateMangled, Doc: "the authorization response returns only the first half of state",
		Trips: []string{"AUTH-011"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthRequiresPKCE, Doc: "the authorization endpoint answers 400 without code_challenge",
		Trips: []string{"AUTH-010"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthBadTokenType, Doc: `the token response's token_type is "mac"`,
		Trips: []string{"AUTH-013"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthCodeReuse, Doc: "authorization codes can be redeemed twice",
		Trips: []string{"AUTH-014"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthNoRefresh, Doc: "the refresh_token grant answers 400 unsupported_grant_type",
		Trips: []string{"AUTH-015"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthError200, Doc: "token endpoint errors are answered with status 200 and the RFC 6749 error JSON",
		Trips: []string{"AUTH-016"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthTokenBOM, Doc: "legal: every token endpoint answer (tokens and errors) starts with a UTF-8 byte-order mark, which devices' JSON reader skips (AUTH-013 and AUTH-016 warn)",
		Trips: []string{"AUTH-013", "AUTH-016"}, Probe: probeFallback, Account: probeErin, Outcome: "enrolled"},
	{Name: FaultOAuthRejectsLoginHint, Doc: "the authorization endpoint answers a 400 error page when login_hint is present",
		Trips: []string{"AUTH-009"}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthKeepsQuery, Doc: "control: authorization-url carries ?realm=acme, which the endpoint requires; devices keep it",
		Trips: []string{}, Probe: probeFallback, Account: probeErin},
	{Name: FaultOAuthClientAuth, Doc: "the token endpoint answers 401 invalid_client without HTTP Basic client authentication",
		Trips: []string{"AUTH-012"}, Probe: probeFallback, Account: probeErin},

	{Name: FaultTokenIgnored, Doc: "any well-formed bearer token gets a profile (an unknown one, the endpoint's first user's)",
		Trips: []string{"TOK-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTokenRefusal5xx, Doc: "an unknown bearer token gets a 500 instead of the 401 challenge (real tokens still work)",
		Trips: []string{"TOK-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTokenCrossUser, Doc: "every valid token gets alice's profile, whoever signed in",
		Trips: []string{"TOK-008", "PROF-006"}, Probe: probeFallback, Account: probeErin},

	{Name: FaultSCEPWrongChallenge, Doc: "the profile's SCEP challenge is one the CA does not know: PKIOperation answers FAILURE badRequest",
		Trips: []string{"CHK-001"}, Probe: probeFallback, Account: probeAlice, Outcome: "identity-failed"},

	{Name: FaultProfileEmpty, Doc: "the authorized POST gets 200 with an empty body",
		Trips: []string{"PROF-001", "TOK-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileNotPlist, Doc: "the profile is encoded as JSON instead of a property list",
		Trips: []string{"PROF-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileTwoMDM, Doc: "the profile has two com.apple.mdm payloads",
		Trips: []string{"PROF-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileWrongMode, Doc: "EnrollmentMode is ADDE in BYOD profiles and BYOD in ADDE ones",
		Trips: []string{"PROF-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileNoAssignedID, Doc: "the com.apple.mdm payload has no AssignedManagedAppleID",
		Trips: []string{"PROF-005"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileWrongUser, Doc: "AssignedManagedAppleID names another user of the directory",
		Trips: []string{"PROF-006", "TOK-008"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileBYODAccessRights, Doc: "BYOD profiles carry AccessRights 8191",
		Trips: []string{"PROF-007"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileBadAccessRights, Doc: "ADDE profiles carry AccessRights 2, which requires 1",
		Trips: []string{"PROF-008"}, Probe: probeFallback, Account: probeCarol},
	{Name: FaultProfileManagedAppleID, Doc: "the com.apple.mdm payload has the removed ManagedAppleID key",
		Trips: []string{"PROF-009"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileIdentityMismatch, Doc: "IdentityCertificateUUID names no payload of the profile",
		Trips: []string{"PROF-010"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileBadTopic, Doc: "Topic is com.acme.mdm.push (not com.apple.mgmt.*)",
		Trips: []string{"PROF-011"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileHTTPServerURL, Doc: "ServerURL is http://mdm.acme.test/mdm/connect",
		Trips: []string{"PROF-012"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileMacNoPerUser, Doc: "ServerCapabilities lacks com.apple.mdm.per-user-connections",
		Trips: []string{"PROF-013"}, Probe: probeMac, Account: probeAlice},
	{Name: FaultProfileRequiredAppIDString, Doc: `RequiredAppIDForMDM is the string "1234567890", not an integer`,
		Trips: []string{"PROF-014"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileBYODDisallowedPayload, Doc: "the profile adds a com.apple.domains payload, which user enrollment forbids",
		Trips: []string{"PROF-016"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileACMEHardwareRSA, Doc: "the profile adds an ACME payload with HardwareBound true but an RSA 2048 key",
		Trips: []string{"PROF-015"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileUnsigned, Doc: "the profile is a bare plist, not CMS-signed",
		Trips: []string{"PROF-017"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileOtherTenant, Doc: "ServerURL is on another organisation's host (mdm.globex.test), which the device then cannot connect to",
		Trips: []string{"PROF-018", "CHK-008", "SEC-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileContentType, Doc: "the profile is served as text/xml",
		Trips: []string{"PROF-019"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileHuge, Doc: "the profile is over 2 MiB (a padded PayloadDescription)",
		Trips: []string{"SEC-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultProfileBomb, Doc: "the signed profile is a binary plist bomb: under 1 KiB of shared references that expand to 16^10 objects",
		Trips: []string{"SEC-003"}, Probe: probeFallback, Account: probeAlice, Outcome: "error"},

	{Name: FaultTLSLegacy, Doc: "connections to mdm.acme.test (by SNI) negotiate TLS 1.0-1.1 only",
		Trips: []string{"WK-001", "SEC-001", "ABM-003", "ABM-004"}, Probe: probeOld, Account: probeAlice},
	// The TLS rules of Apple's devices (sim/ats): the 27 releases refuse
	// CBC suites and TLS 1.2 without Extended Master Secret, older devices
	// connect (a warning); every device refuses RSA-1024 and SHA-1.
	{Name: FaultTLSCBC, Doc: "connections to mdm.acme.test (by SNI) negotiate TLS 1.2 with ECDHE-ECDSA AES-CBC-SHA suites only: 27 devices refuse them, older ones connect",
		Trips: []string{"SEC-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTLSRSA, Doc: "mdm.acme.test's certificate has a 1024-bit RSA key, which every device since iOS 13 refuses",
		Trips: []string{"WK-001", "SEC-006", "ABM-003", "ABM-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTLSSHA1, Doc: "mdm.acme.test's certificate is signed with ECDSA-SHA1, which every device since iOS 13 refuses",
		Trips: []string{"WK-001", "SEC-006", "ABM-003", "ABM-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTLSSmallCA, Doc: "mdm.acme.test's certificate is issued by an intermediate CA with a 224-bit ECDSA key: 27 devices refuse it (ATS wants 256 bits), older ones connect",
		Trips: []string{"SEC-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultPrivateCA, Doc: "mdm.acme.test's certificate is issued by a second, private CA that stock devices do not trust",
		Trips: []string{"SEC-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTLS12NoEMS, Doc: "connections to mdm.acme.test (by SNI) negotiate TLS 1.2 without Extended Master Secret (through OpenSSL, via socat, which must be installed); TLS client certificates do not pass socat, so there only check-ins signed with Mdm-Signature prove an identity",
		Trips: []string{"SEC-005"}, Probe: probeFallback, Account: probeAlice},

	// Check-in and connect: each breaks one rule of mdm.go; identity,
	// signature and the rest of the flow keep working.
	{Name: FaultCheckinRequiresUDIDForBYOD, Doc: "an Authenticate without UDID answers 400 (UDID required), so user enrollments, which send EnrollmentID, cannot check in",
		Trips: []string{"CHK-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultADDEAuthenticateRefused, Doc: "an Authenticate with UDID (a device enrollment) answers 400",
		Trips: []string{"CHK-003"}, Probe: probeFallback, Account: probeCarol},
	{Name: FaultTokenUpdateRefused, Doc: "the device-channel TokenUpdate answers 400 (the user channel's still works)",
		Trips: []string{"CHK-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultUserChannelRefused, Doc: "Mac user-channel requests (with EnrollmentUserID or UserID) answer 400",
		Trips: []string{"CHK-005"}, Probe: probeMac, Account: probeAlice},
	{Name: FaultCheckinContentType, Doc: "check-in answers 415 to Content-Type application/x-apple-aspen-mdm-checkin and wants application/xml",
		Trips: []string{"CHK-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultTopicNotChecked, Doc: "a check-in whose Topic is not the profile's is accepted",
		Trips: []string{"CHK-007"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultConnectBadCommand, Doc: "the first Idle connect answers 200 with a command plist that has no CommandUUID",
		Trips: []string{"CHK-008"}, Probe: probeFallback, Account: probeAlice},
	// The probe can only hold a token of the same user (a second device
	// of its own account), which a server that tells devices apart by
	// their identity may take: CHK-009 and TOK-008 are noted, not tripped
	// (sim's TestSameUserTokenIsNoted); second-enrollment-other-user trips them.
	{Name: FaultCheckinIgnoresToken, Doc: "check-in and connect accept any live access token, whichever enrollment or user it is bound to (missing, revoked and expired tokens are still refused); the probe's token is the same user's, so CHK-009 and TOK-008 are noted (INFO), not tripped",
		Trips: []string{}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultSecondEnrollmentOtherUser, Doc: "a user's second enrollment gets the profile of another directory user, its token rebound to them, and check-in and connect accept any live token, so one user's enrollment takes another user's token",
		Trips: []string{"CHK-009", "TOK-008"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultGetTokenUnknownType200, Doc: "a GetToken with an unknown TokenServiceType answers 200 with TokenData instead of 400",
		Trips: []string{"CHK-010"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultGetTokenOpaqueTokenData, Doc: "GetToken for com.apple.maid answers a TokenData that is an opaque string, not the signed JWT Apple documents",
		Trips: []string{"CHK-010"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCheckoutRequiresToken, Doc: "a CheckOut without a live token of its enrollment gets the 401 challenge instead of 200",
		Trips: []string{"CHK-011"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultQueriesSerialInBYOD, Doc: "the DeviceInformation of a user enrollment also queries SerialNumber, which user enrollment withholds",
		Trips: []string{"CHK-012"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultPushNone, Doc: "the worker queues the first commands 3 s after TokenUpdate and never pushes",
		Trips: []string{"PUSH-001"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushStaleToken, Doc: "pushes go to the token of the device's first TokenUpdate, not of its latest",
		Trips: []string{"PUSH-001"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushStaleMagic, Doc: "pushes carry the PushMagic of the device's first TokenUpdate, not of its latest",
		Trips: []string{"PUSH-003"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushWrongTopic, Doc: "pushes carry an apns-topic that is not the profile's Topic (APNs refuses them: TopicDisallowed)",
		Trips: []string{"PUSH-002"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushTypeAlert, Doc: "legal: pushes carry apns-push-type alert instead of mdm",
		Trips: []string{"PUSH-004"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushStorm, Doc: "legal: the worker sends 30 pushes where one would do",
		Trips: []string{"PUSH-006"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultPushLoop, Doc: "legal: the server pushes again after every empty answer, queued command or not",
		Trips: []string{"PUSH-005"}, Probe: probeFallback, Account: probeAlice, CommandDelay: pushFaultDelay},
	{Name: FaultCommandNotOnPlatform, Doc: "legal: an iPhone, iPad or Vision Pro is sent ContentCachingInformation, a macOS-only command, among its first commands",
		Trips: []string{"CMD-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultForbiddenPayloadBYOD, Doc: "a user enrollment (a personal device) is sent InstallProfile with a Cellular payload, which user enrollment forbids on iOS",
		Trips: []string{"CMD-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultEraseBYOD, Doc: "a user enrollment (a personal device) is sent EraseDevice among its first commands, which user enrollment forbids",
		Trips: []string{"CMD-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultCheckinRejectsBearer, Doc: "check-in and connect answer 400 to any request that carries Authorization",
		Trips: []string{"TOK-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultMacDeviceChannelRequiresToken, Doc: "Mac device-channel requests without Authorization get the 401 challenge, as iOS ones do",
		Trips: []string{"TOK-005"}, Probe: probeMac, Account: probeAlice},
	{Name: FaultRevokedTokenBare401, Doc: "a revoked token gets a bare 401 (no WWW-Authenticate), which removes the profile, instead of the challenge",
		Trips: []string{"TOK-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultUnenrollBare401, Doc: "an unenrolled device's next request gets a bare 401 instead of 403 com.apple.unrecognized.device",
		Trips: []string{"TOK-007"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultExpiredTokenAccepted, Doc: "check-in and connect still accept an enrollment's access token past its expires_in",
		Trips: []string{"TOK-009"}, Probe: probeFallback, Account: probeErin},

	// Declarative device management: each breaks one rule of ddm.go and
	// turns DDM on (Config.DDM), the rest of the sync working.
	{Name: FaultDDMContentType, Doc: "the DeclarativeManagement tokens, declaration-items and declaration answers carry their JSON as text/plain",
		Trips: []string{"DDM-001"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMTokenNeverChanges, Doc: "the DeclarationsToken stays the first one served after the declaration set changes (an admin adds or removes one)",
		Trips: []string{"DDM-002"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMItemNotFetchable, Doc: "declaration-items lists a configuration (com.acme.ddm.not-fetchable) that its declaration endpoint answers 404 for",
		Trips: []string{"DDM-003"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMUnknown500, Doc: "a declaration the server does not have gets 500 instead of the 404 Apple requires",
		Trips: []string{"DDM-004"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMStatusBody, Doc: "the status endpoint answers 200 with a JSON body instead of an empty one",
		Trips: []string{"DDM-005"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMSoftwareUpdateBYOD, Doc: "a user enrollment is sent an activated com.apple.configuration.softwareupdate.enforcement.specific, which user enrollment forbids",
		Trips: []string{"DDM-006"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMActivationMissingConfig, Doc: "the seeded activation's StandardConfigurations also names com.acme.ddm.missing, a configuration the set does not have",
		Trips: []string{"DDM-007"}, Probe: probeFallback, Account: probeAlice},
	{Name: FaultDDMESSONotPrestaged, Doc: "an Enrollment SSO enrollment's first sync lists the default set only, not the declarations its document carried",
		Trips: []string{"DDM-008"}, Probe: probeESSODeclarations, Account: probeJudy},
	{Name: FaultDDMNoResyncCommand, Doc: "a change of an enrollment's declarations (the admin API) queues no DeclarativeManagement command and pushes nothing",
		Trips: []string{"DDM-009"}, Probe: probeFallback, Account: probeAlice},
}

var faultIndex = func() map[string]bool {
	m := make(map[string]bool, len(faultTable))
	for _, f := range faultTable {
		m[f.Name] = true
	}
	return m
}()

// Faults returns the fault catalogue sorted by name. The slices are copies:
// callers may change them freely.
func Faults() []Fault {
	out := make([]Fault, len(faultTable))
	for i, f := range faultTable {
		f.Trips = slices.Clone(f.Trips)
		out[i] = f
	}
	slices.SortFunc(out, func(a, b Fault) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func faultNames() []string {
	names := make([]string, 0, len(faultTable))
	for _, f := range faultTable {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	return names
}

// parseFaults checks every requested name against the catalogue, reporting
// all unknown names at once so a typo in a list is fixed in one go.
func parseFaults(names []string) (map[string]bool, error) {
	set := make(map[string]bool, len(names))
	var unknown []string
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !faultIndex[n] {
			unknown = append(unknown, fmt.Sprintf("%q", n))
			continue
		}
		set[n] = true
	}
	if len(unknown) > 0 {
		word := "fault"
		if len(unknown) > 1 {
			word = "faults"
		}
		return nil, fmt.Errorf("refserver: unknown %s %s; known faults: %s",
			word, strings.Join(unknown, ", "), strings.Join(faultNames(), ", "))
	}
	return set, nil
}

// has reports whether the named fault is switched on. A name outside the
// catalogue is a programming error (a fault used but never documented), so
// it panics rather than silently reading false.
func (s *Server) has(name string) bool {
	if !faultIndex[name] {
		panic("refserver: fault " + name + " is not in the fault table")
	}
	return s.faults[name]
}
