package scenarios

// template is what `enrollsim new scenario` prints. It must load as is (a
// test makes sure), so every optional key is either set to its default or
// commented out.
const template = `# An enrollsim scenario: one account on one or more devices against one
# target, and what should happen. Unknown keys are errors; every problem is
# reported with its file:line:col. ${env:NAME} in any value is replaced by
# that environment variable (an unset one is an error).

# A name of lower-case letters, digits, '.', '_' and '-'. Cases are named
# <name>/<device>, e.g. byod-iphone/iphone@26.1.
name: byod-iphone
description: alice enrolls her own iPhone (account-driven user enrollment)
tags: [byod, smoke]

# The devices: one of device, devices or matrix. See 'enrollsim list devices'.
device: iphone@26.1
# devices: [iphone@18.2, ipad@18.2, mac@15.2, vision@2.2]
# matrix: {families: [iphone, ipad, mac, vision], versions: [catalogue]}   # or versions: ["17.5", "18.2"]

# user (BYOD, mdm-byod), device (ADDE, mdm-adde) or auto (the server decides).
type: user

account:
  identifier: alice@acme.test        # what the user types on the device
  # username: alice                  # the sign-in form's user name, when it differs
  # managed_apple_id: alice@acme.com # what the profile should assign (default: identifier)
  # Secrets are referenced, never written here: an environment variable or
  # a file (relative to this file). The embedded server knows its accounts'
  # secrets, so it needs none.
  # password_env: QA_PASSWORD        # or password_file: secrets/password.txt
  # totp_secret_env: QA_TOTP         # or totp_secret_file: secrets/totp.txt (base32 seed)
  # totp: {digits: 6, period: 30s, algorithm: SHA1}

# The server: the embedded reference server (default), optionally with
# faults from 'enrollsim list faults', or a deployed server.
target:
  embedded: {faults: []}
  # server:
  #   base_url: https://mdm.example.com         # names the server in reports
  #   resolve: ["example.com:443:192.0.2.10"]   # HOST:PORT:ADDR, as curl
  #   connect_to: ["mdm.example.com:443:127.0.0.1:8443"]
  #   cacert: [lab-ca.pem]                      # extra CAs (relative to this file)
  #   stock_ca: []                              # CAs that also count as stock device roots
  #   axm_url: https://axm.example.com/mdmBaseURL
  #   timeout: 15s
  # Test the server's Apple Business Manager registration: the run starts a
  # stand-in for Apple's Device Assignment API on listen, waits for the server
  # to register its discovery URL, judges it (ABM-001/002/006/007) and plays
  # the devices' fallback through that URL. See 'enrollsim axm --help'.
  # axm:
  #   serve: true
  #   listen: 127.0.0.1:8443          # the server's Device Assignment base URL
  #   state: axm-state                # written by 'enrollsim axm token'
  #   wait: 60s
  #   default: {iphone: acme-mdm, ipad: acme-mdm}   # AxM's default assignments
  #   withdraw: https://mdm.example.com/admin/adde-off   # optional admin hooks:
  #   restore: https://mdm.example.com/admin/adde-on     # does the server keep it current?

# Observed device behaviour where it differs from Apple's documentation.
device_options:
  exactly_one_at: false
  omit_model_family: false
  no_fallback_on_rejection: false
  form_encoded_body: false
  append_login_query: false
  locked: false                      # true: the device stays locked; commands that need it unlocked get NotNow

# Sign-in form selectors when detection needs help (CSS), and fixed fields.
# login: {form: "form#login", username: "#user", password: "#pass", otp: "#code", submit: "button[type=submit]", fields: {tenant: acme}, driver: auto}

# replay_body: captured/iphone.der   # a real device's enrollment body (DER, PEM or base64 CMS)
probes: true                         # false: no extra tester requests (servers with lockout)
discovery_only: false                # true: stop after discovery
until: commands                      # how far after the profile: profile, identity (SCEP),
                                     # checkin (Authenticate, TokenUpdate) or commands (the default)

expect:
  # auto (default): enrolled when the device can do the type (and the
  # expected sign-in method), refused-on-device or enrollment-failed when it
  # cannot. Or: enrolled, discovered, refused-on-device, discovery-failed,
  # auth-failed, enrollment-failed, profile-rejected, identity-failed,
  # checkin-failed, unenrolled, error, any.
  outcome: enrolled
  enroll: true                       # the account should be able to enroll (WK-001)
  fail: []                           # checks expected to fail or warn, e.g. [WK-001]
  steps:
    discovery: {redirects: 1}
    process-document: {server: mdm-byod, via: well-known}
    enroll-challenge: {method: apple-as-web}
    profile: {enrollment_mode: BYOD, assigned: alice@acme.test}
  # commands the device answers after check-in: a number (commands: 5) or
  # RequestTypes that must all be among them, in any order
  commands: [DeviceInformation, ProfileList]
`

// NewTemplate returns a commented example scenario, for `enrollsim new
// scenario`. It loads and validates as it is.
func NewTemplate() string { return template }
