package tui

import (
	"strings"

	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// explanation is what the presenter tells the audience about a step.
type explanation struct {
	Title   string // a few words
	Section string // of spec/account-driven-enrollment.md
	// What happens, in plain words. {account} and {domain} are filled in.
	What string
	// Expects is what the spec wants from the server, in one or two
	// sentences; the checks below it say exactly.
	Expects string
	// Mobile and Mac are what the person does on the device: iPhone, iPad
	// and Apple Vision Pro share Mobile.
	Mobile, Mac string
}

// explanations are keyed by event.Step.
var explanations = map[event.Step]explanation{
	event.StepSignIn: {
		Title:   "The person signs in",
		Section: "§2.1",
		What: "The person starts enrollment by typing their work or school account, {account}. " +
			"The device splits it at the last '@': the part after it, {domain}, is the organisation's domain, " +
			"where it will look for the management server. It also decides whether it can do this kind of " +
			"enrollment at all: a device whose OS is too old refuses right here. Nothing is sent over the network yet.",
		Expects: "Nothing from the server yet: this step is the device's own. The account needs an '@' with " +
			"something before it and a full domain name after it.",
		Mobile: "Opens Settings > General > VPN & Device Management > Sign In to Work or School Account, " +
			"types {account} and taps Continue.",
		Mac: "Opens System Settings > General > Device Management, clicks Sign In, types {account} and clicks Continue.",
	},
	event.StepDiscovery: {
		Title:   "The device looks for the server",
		Section: "§2.2",
		What: "The device asks the organisation's domain where its device-management server is: a GET to " +
			"https://{domain}/.well-known/com.apple.remotemanagement with the account and the kind of device " +
			"in the query. The domain may redirect to another host; the device follows every hop. The answer " +
			"is a small JSON document that names the server (BaseURL) and the kind of enrollment: mdm-byod for " +
			"a personal device, mdm-adde for a company-owned one.",
		Expects: "200 with application/json and a Servers list whose first entry has a Version and an https " +
			"BaseURL; redirects over https only; a 403 com.apple.well-known.failed answer for accounts that cannot enroll.",
		Mobile: "Nothing: a spinner shows while the device looks up the server.",
		Mac:    "Nothing: a spinner shows while the Mac looks up the server.",
	},
	event.StepRegistration: {
		Title:   "The server's AxM registration",
		Section: "§2.3.1",
		What: "Before any device asks, the MDM server registers its discovery URL with Apple Business or School " +
			"Manager: it signs in to the Device Assignment API with its server token (OAuth 1.0a, /session), " +
			"then POSTs {\"mdm_service_discovery_url\": ...} to /account-driven-enrollment/profile. The simulator " +
			"stands in for Apple's side and shows here what the server sent, and whether it removes or renews " +
			"the registration when account-driven enrollment is turned off and on.",
		Expects: "A POST with a JSON body and a session, carrying X-Server-Protocol-Version; a well-formed https " +
			"URL; no retry loop after an error answer; the registration kept current.",
		Mobile: "Nothing: this happens between the MDM server and Apple, before the user picks up the device.",
		Mac:    "Nothing: this happens between the MDM server and Apple, before the user picks up the Mac.",
	},
	event.StepFallback: {
		Title:   "Apple's fallback (AxM)",
		Section: "§2.3",
		What: "When the organisation's domain cannot answer, newer devices (iOS and iPadOS 18.2, macOS 15.2, " +
			"visionOS 2.2 and later) ask Apple instead: Apple Business or School Manager (AxM) knows the discovery " +
			"URL the MDM server registered for the organisation and redirects the device there, where it gets the " +
			"same JSON document. When the domain did answer, the device skips this step; the simulator may still " +
			"probe the registered URL to see that both agree.",
		Expects: "The registered URL answers like the well-known endpoint (200 JSON with the same Servers entry) " +
			"when given user-identifier and model-family, and refuses a request without them.",
		Mobile: "Nothing: the spinner goes on.",
		Mac:    "Nothing: the spinner goes on.",
	},
	event.StepDocument: {
		Title:   "The device reads the answer",
		Section: "§2.4",
		What: "The device reads the discovery document: it takes the first server's BaseURL and, from its " +
			"Version, the kind of enrollment. If that kind does not fit the account or the device, enrollment " +
			"stops here. Nothing is sent over the network.",
		Expects: "Exactly one Servers entry, with a Version the device supports and an https BaseURL.",
		Mobile:  "Nothing.",
		Mac:     "Nothing.",
	},
	event.StepChallenge: {
		Title:   "First try, and the sign-in challenge",
		Section: "§2.5-2.6",
		What: "The device makes its first enrollment request: a POST to the BaseURL with a small signed plist " +
			"about itself (model, OS version). It has no credentials yet, so the server answers 401 with a " +
			"WWW-Authenticate header that says how the person should sign in: apple-as-web (web pages of the " +
			"server's choosing) or apple-oauth2 (an OAuth 2 identity provider), and where.",
		Expects: "401 Unauthorized with WWW-Authenticate: Bearer method=\"apple-as-web\" and an https url (or the " +
			"apple-oauth2 parameters); never a profile to a request without a token.",
		Mobile: "Nothing yet: the sign-in sheet is about to open.",
		Mac:    "Nothing yet: the sign-in window is about to open.",
	},
	event.StepESSO: {
		Title:   "Enrollment single sign-on: the identity provider's app first",
		Section: "§2.9",
		What: "The 401 also carried X-Apple-MDM-ESSO: the organisation signs people in with its identity " +
			"provider's app (Microsoft Authenticator, Okta Verify...). The device fetches that URL: a JSON " +
			"document naming the app (iTunesStoreID), a profile with its single sign-on extension and, from iOS " +
			"18.4 and visionOS 2.4, declarations to apply. It installs the app as managed, applies them, and " +
			"then signs in as the challenge said, now through the app's extension.",
		Expects: "200 with a JSON object (application/json): an integer iTunesStoreID (AppIDs in the developer " +
			"document only), a ConfigurationProfile with a com.apple.extensiblesso payload and certificates " +
			"only, and Declarations with one activation of every configuration, a legacy configuration and " +
			"the app's managed-app configuration (ESSO-001..005).",
		Mobile: "A sheet asks to install the organisation's sign-in app; the App Store installs it, then the " +
			"sign-in goes on in the app.",
		Mac: "Nothing: a Mac ignores the header (Apple supports Enrollment SSO on iPhone, iPad and Vision Pro).",
	},
	event.StepDDM: {
		Title:   "Declarative management: the device syncs its declarations",
		Section: "issue 26 (Apple: Declarative Management)",
		What: "The server sent the DeclarativeManagement command. The device takes the sync tokens from the " +
			"command (or asks its check-in endpoint for them), then the list of declarations (activations, " +
			"configurations, assets, management), fetches each new or changed one, keeps what Enrollment SSO " +
			"installed if the list names it, applies what its OS and enrollment allow, and sends a status report " +
			"of the items the server subscribed to. The tester then asks for a declaration the server never " +
			"listed, reads the tokens again, adds a declaration through the server's admin hook and removes it: " +
			"after each change the device connects, and syncs again when the server's command says so.",
		Expects: "200 with application/json for tokens, declaration-items and each declaration; a DeclarationsToken " +
			"that changes exactly when the set does; 404 for an unknown declaration; 200 with no body to each status " +
			"report; nothing user enrollment forbids to a personal device; activations of configurations that exist; " +
			"Enrollment SSO's declarations in the first sync; a DeclarativeManagement command after each change " +
			"(DDM-001..009).",
		Mobile: "Nothing: it happens in the background, and settings appear as the declarations apply.",
		Mac:    "Nothing: it happens in the background, and settings appear as the declarations apply.",
	},
	event.StepWebLogin: {
		Title:   "Sign-in in a web sheet",
		Section: "§2.7",
		What: "The device opens the sign-in URL in a web sheet, with the account as user-identifier. The " +
			"server's pages ask for the password and, if the organisation uses one, a one-time code from an " +
			"authenticator app (TOTP). When all is right, the last answer redirects to " +
			"apple-remotemanagement-user-login://authentication-results?access-token=...: that closes the sheet " +
			"and hands the device its access token.",
		Expects: "Plain HTML pages that work in a web view; a wrong password or code is turned away; success ends " +
			"with a 308 redirect to the callback URL carrying an access-token.",
		Mobile: "A sign-in sheet slides up: types the password, then the six-digit code from the authenticator " +
			"app, and taps Continue.",
		Mac: "A sign-in window opens over System Settings: types the password, then the six-digit code from " +
			"the authenticator app, and clicks Continue.",
	},
	event.StepOAuth2: {
		Title:   "Sign-in with OAuth 2",
		Section: "§2.8",
		What: "The device runs an OAuth 2 authorization-code flow: it opens the identity provider's " +
			"authorization URL in a web sheet with its client ID, redirect URI and a fresh state. After the " +
			"person signs in, the provider redirects to apple-remotemanagement-user-login:/oauth2/redirection with " +
			"a code, which the device trades at the token URL for an access token (and a refresh token).",
		Expects: "The redirect carries the code and the same state; the token endpoint answers JSON with " +
			"access_token and token_type Bearer.",
		Mobile: "A sign-in sheet shows the identity provider's page: signs in there as usual.",
		Mac:    "A sign-in window shows the identity provider's page: signs in there as usual.",
	},
	event.StepEnroll: {
		Title:   "Second try, with the token",
		Section: "§2.10",
		What: "The device repeats its enrollment POST, the same signed body, now with Authorization: Bearer and " +
			"the access token. The server checks the token and answers with the enrollment profile " +
			"(application/x-apple-aspen-config).",
		Expects: "200 with the profile for a valid token; an error status for a missing, malformed or unknown token.",
		Mobile:  "Nothing: the sheet has closed while the device fetches the profile.",
		Mac:     "Nothing: the window has closed while the Mac fetches the profile.",
	},
	event.StepProfile: {
		Title:   "The profile",
		Section: "§2.11",
		What: "The device opens the profile and checks it before installing anything: one com.apple.mdm payload " +
			"whose EnrollmentMode (BYOD or ADDE) matches discovery, the Managed Apple Account to sign in to " +
			"(AssignedManagedAppleID), an identity certificate payload, https server URLs and, for a user " +
			"enrollment, no AccessRights. A real device then has the person sign in to that Managed Apple " +
			"Account and installs the profile; the next steps get its identity and check in with the server.",
		Expects: "A well-formed configuration profile; a wrong EnrollmentMode or AssignedManagedAppleID makes the " +
			"device cancel.",
		Mobile: "Signs in to the Managed Apple Account when asked; the management profile then shows under " +
			"Settings > General > VPN & Device Management.",
		Mac: "Signs in to the Managed Apple Account when asked; the profile then shows in System Settings > " +
			"General > Device Management.",
	},
	event.StepIdentity: {
		Title:   "The identity certificate",
		Section: "§2.13.1",
		What: "Installing the profile, the device first gets the certificate that will identify it to the " +
			"server: the com.apple.security.scep payload named by IdentityCertificateUUID gives a URL and a " +
			"challenge. The device asks that URL for its capabilities (GetCACaps) and CA certificate (GetCACert), " +
			"makes a key of the payload's type and size, and sends a signed certificate request with the " +
			"challenge (PKIOperation); the answer is its certificate. An ACME payload that wants device " +
			"attestation, or a certificate embedded in the profile, cannot be simulated and is skipped.",
		Expects: "The SCEP endpoint issues a certificate for the request and challenge (CHK-001). Without an " +
			"identity nothing after it can be judged: those checks say error (blocked), not fail.",
		Mobile: "Nothing: the profile is installing.",
		Mac:    "Nothing: the profile is installing.",
	},
	event.StepCheckIn: {
		Title:   "Check-in: Authenticate and TokenUpdate",
		Section: "§2.13.2-3, §2.14",
		What: "The device introduces itself at the CheckInURL: a PUT of an Authenticate plist, then a " +
			"TokenUpdate with its push token, as application/x-apple-aspen-mdm-checkin, signed with the new " +
			"identity (Mdm-Signature) and with Authorization: Bearer and the access token from enrollment. A " +
			"user enrollment protects the person's privacy: it sends an EnrollmentID instead of the device's " +
			"identifiers, never UDID, SerialNumber, IMEI or MEID; a device enrollment sends its UDID. A Mac has " +
			"two channels: the device channel carries no token, the user channel (with EnrollmentUserID in a " +
			"user enrollment) carries it. A 401 with a challenge means sign in again; a 403 " +
			"com.apple.unrecognized.device means the server wants the device unenrolled.",
		Expects: "200 to Authenticate and TokenUpdate in the form of the enrollment type without asking for the " +
			"identifiers it withholds (CHK-002..006); the wrong Topic or another enrollment's token refused " +
			"(CHK-007, CHK-009); GetToken and CheckOut as documented (CHK-010, CHK-011); the token accepted " +
			"(TOK-004), and on a Mac's device channel not required (TOK-005); a revoked or expired token met " +
			"with a 401 challenge and unenrollment with the 403 (TOK-006, TOK-007, TOK-009).",
		Mobile: "Nothing: the device finishes enrollment in the background.",
		Mac:    "Nothing: the Mac finishes enrollment in the background, once for the device and once for the user.",
	},
	event.StepCommands: {
		Title:   "The first commands",
		Section: "§2.13.4",
		What: "The device connects to the ServerURL: a PUT of {Status: Idle} with its EnrollmentID (user " +
			"enrollment) or UDID, as application/x-apple-aspen-mdm, signed and with the token as in check-in. " +
			"The server answers with a command or with nothing. The device answers each command and connects " +
			"again: DeviceInformation, ProfileList, InstalledApplicationList, SecurityInfo, CertificateList; " +
			"anything else gets NotNow or Error. A user enrollment answers only for what it manages: managed " +
			"apps only, and no device identifiers in DeviceInformation.",
		Expects: "200 with an empty body or a valid command (CHK-008), the token accepted as in check-in " +
			"(TOK-004, TOK-005); in a user enrollment, no queries for identifiers the device withholds, such as " +
			"SerialNumber or UDID (CHK-012: they are left out of the answer).",
		Mobile: "Nothing: these are the first minutes of a managed device.",
		Mac:    "Nothing: these are the first minutes of a managed Mac.",
	},
	event.StepTokenLife: {
		Title:   "The token's life: GetToken, sign in again, a second device, CheckOut",
		Section: "§2.13.2, §2.14",
		What: "The enrolled device lives on with its access token, and the tester makes the events of a long life " +
			"happen in a few seconds. First the device asks the check-in endpoint for a GetToken " +
			"(TokenServiceType com.apple.maid) when the server advertised com.apple.mdm.token, and the tester " +
			"asks for a service no server issues. The tester then sends a TokenUpdate with the wrong Topic, which " +
			"the server must refuse, and sends the device's own again. A second device of the same account signs " +
			"in, POSTs for a second profile, gets its own SCEP certificate and sends Authenticate: this device " +
			"then connects with the second one's token, which the server must refuse (the second enrollment " +
			"probe). Through the server's admin hooks the tester revokes the token: the device's next connect " +
			"gets a 401 challenge, and the device signs in again as it did at enrollment (web sheet or OAuth 2) " +
			"and connects with the new token; for OAuth 2 the token is expired next, and the device refreshes it " +
			"or signs in again. The server then unenrolls the second device, whose next connect gets a 403 " +
			"com.apple.unrecognized.device. Last, the device sends CheckOut, as it does when the person removes " +
			"the management profile. A Mac does all of this on its user channel; without the admin hooks the " +
			"server-side events are skipped.",
		Expects: "GetToken answered for an advertised service only, an unknown one refused (CHK-010); the wrong " +
			"Topic refused (CHK-007); another enrollment's token refused (CHK-009, TOK-008); a revoked or expired " +
			"token met with a 401 challenge, and a new sign-in accepted (TOK-006, TOK-009); unenrollment as a 403 " +
			"com.apple.unrecognized.device (TOK-007); CheckOut accepted (CHK-011).",
		Mobile: "Nothing, until the server revokes the token: then the sign-in sheet comes back, as at " +
			"enrollment, and the person signs in again. Removing the profile later (Settings > General > VPN & " +
			"Device Management) sends the CheckOut.",
		Mac: "Nothing, until the server revokes the token: then System Settings shows the sign-in window again, " +
			"and the person signs in again. Removing the profile later (System Settings > General > Device " +
			"Management) sends the CheckOut.",
	},
}

// explain returns the explanation of a step for a case, with its account and
// domain filled in; unknown steps get a neutral one.
func explain(step event.Step, info *event.CaseInfo) (e explanation, onDevice string) {
	e, ok := explanations[step]
	if !ok {
		e = explanation{Title: stepName(step), What: "A step of the flow.", Mobile: "Nothing.", Mac: "Nothing."}
	}
	account, domain, family := "the account", "the organisation's domain", device.IPhone
	if info != nil {
		account = info.Identifier
		if i := strings.LastIndex(info.Identifier, "@"); i >= 0 && i < len(info.Identifier)-1 {
			domain = strings.ToLower(info.Identifier[i+1:])
		}
		family = info.Device.Family
	}
	fill := strings.NewReplacer("{account}", clean(account), "{domain}", clean(domain)).Replace
	e.What, e.Expects = fill(e.What), fill(e.Expects)
	onDevice = e.Mobile
	if family == device.Mac {
		onDevice = e.Mac
	}
	return e, fill(onDevice)
}
