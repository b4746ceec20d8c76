package sim

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/mdmcmd"
)

// Media types of the MDM protocol ([O] S27: observed, not stated by Apple).
const (
	ctCheckIn = check.MediaCheckIn
	ctConnect = check.MediaConnect
	mdmAgent  = "MDM/1.0"
	// mdmBody bounds a check-in or connect answer: a command is a few KiB.
	mdmBody = 1 << 20
)

// Capabilities the profile's ServerCapabilities may advertise.
const (
	capPerUser = "com.apple.mdm.per-user-connections"
	capToken   = "com.apple.mdm.token"
)

var errNoIdentity = errors.New("blocked: no identity certificate (CHK-001)")

// ClientCertDoer is a Doer that can present a TLS client certificate: the
// identity travels that way when the profile's SignMessage is false.
// internal/transport's Client is one. The return type is spelled out (not
// Doer) so that the transport need not import this package.
type ClientCertDoer interface {
	WithClientCertificate(tls.Certificate) interface {
		Do(*http.Request) (*http.Response, error)
	}
}

// mdmConfig is the profile's com.apple.mdm payload, as check-in uses it.
type mdmConfig struct {
	topic, checkInURL, serverURL string
	signMessage                  bool
	capabilities                 []string
	mode                         string // EnrollmentMode: BYOD or ADDE
}

func (c mdmConfig) has(capability string) bool { return slices.Contains(c.capabilities, capability) }

// mdmState is what check-in and connect have learned.
type mdmState struct {
	cfg            mdmConfig
	device         device.Device // the simulated device, whose messages these are
	ids            deviceIDs
	userEnrollment bool
	checkedIn      bool                     // Authenticate and the device-channel TokenUpdate got 200
	userChannelOK  bool                     // the Mac's user-channel TokenUpdate got 200
	connected      bool                     // the first connect got 200
	commands       []string                 // RequestType of each command answered, in order
	played         bool                     // the commands step ran its loop
	polled         int                      // connects woken by polling (poll.go)
	withheld       []string                 // CHK-012: what commands asked that user enrollment withholds
	forbidden      []check.ForbiddenCommand // CMD-001: commands user enrollment forbids on this platform
	push           *pushState               // the push route (push.go); nil without one
	cmds           *mdmcmd.State            // what commands installed, and whether the device is locked
	actions        []*actionState           // the scenario's server actions (actions.go)
	unavailable    []string                 // CMD-003: commands the device's OS does not have, with why
	ddmRequested   bool                     // the server sent DeclarativeManagement: the device syncs (ddmsync.go)
	ddmCommands    int                      // DeclarativeManagement commands answered so far
	ddmData        []byte                   // the Data of the last one (its TokensResponse), nil without
	doers          map[*identityState]Doer  // TLS client certificate clients
	// signInAgain, when set, replaces signInAgainAfter (tests).
	signInAgain func(resp *response, what string) (bool, string)
}

// mdmOpts say how one check-in or connect goes. The zero value sends the
// enrollment's own token (where the family and channel call for one) and
// identity on the device channel.
type mdmOpts struct {
	userChannel bool
	token       string // another token; sent whatever the family and channel
	noToken     bool
	ident       *identityState
	purpose     string
	pushedAt    *time.Time // a connect a push woke (push.go)
	probe       bool
}

// mdmSetup reads the MDM payload once; the token-life probes call it too.
func (r *runner) mdmSetup() (*mdmState, error) {
	if r.mdm != nil {
		return r.mdm, nil
	}
	if r.enroll == nil || r.enroll.profile == nil || len(r.enroll.profile.MDM()) == 0 {
		return nil, errors.New("the profile has no com.apple.mdm payload")
	}
	p := r.enroll.profile.MDM()[0]
	cfg := mdmConfig{}
	cfg.topic, _ = p.String("Topic")
	cfg.serverURL, _ = p.String("ServerURL")
	cfg.checkInURL, _ = p.String("CheckInURL")
	cfg.signMessage, _ = p.Bool("SignMessage")
	cfg.capabilities, _ = p.Strings("ServerCapabilities")
	cfg.mode, _ = p.String("EnrollmentMode")
	if cfg.checkInURL == "" {
		cfg.checkInURL = cfg.serverURL // Apple: check-in goes to ServerURL when CheckInURL is absent
	}
	if cfg.serverURL == "" || cfg.topic == "" {
		return nil, errors.New("the MDM payload has no ServerURL or no Topic (see PROF-*)")
	}
	user := cfg.mode == "BYOD" || (cfg.mode == "" && r.discovery != nil && r.discovery.version == TypeUser.ServerVersion())
	r.mdm = &mdmState{cfg: cfg, ids: r.deviceIDs(), userEnrollment: user, device: r.c.Device, cmds: mdmcmd.NewState()}
	r.mdm.cmds.Locked = r.c.Options.Locked
	return r.mdm, nil
}

// usable reports whether id can sign a request at all.
func (id *identityState) usable() bool {
	return id != nil && id.cert != nil && id.key != nil
}

// checkInStep is §2.13.2-3: Authenticate, then TokenUpdate on the device
// channel, then on a Mac with per-user connections the user channel's.
// TOK-004/005 and CHK-006 are judged over the device's requests here when
// no connect follows, else at the end of the commands.
func (r *runner) checkInStep() (*stop, event.StepStatus, string) {
	o := &check.CheckIn{Mac: r.c.Device.Family == device.Mac, Platform: r.c.Device.Family.Platform()}
	r.obs.CheckIn = o
	st, status, msg := r.checkInFlow(o)
	if st != nil {
		o.Stopped = st.message
	}
	r.judged(check.JudgeCheckIn(*o))
	switch {
	case o.NoCheckIn != "" || o.CannotSend != "":
		// The catalogue's order, as a blocked check-in has always
		// given them.
		r.judged(check.JudgeRequestsCHK(o, nil))
		r.judged(check.JudgeRequestsTOK(o, nil))
	case st != nil || !r.c.Until.Reaches(event.UntilCommands):
		r.judged(check.JudgeRequestsTOK(o, nil))
		r.judged(check.JudgeRequestsCHK(o, nil))
	}
	r.judged(check.JudgeNoConnect(*o))
	return st, status, msg
}

// checkInFlow sends the check-in messages, as far as the server accepts
// them, into o.
func (r *runner) checkInFlow(o *check.CheckIn) (*stop, event.StepStatus, string) {
	m, err := r.mdmSetup()
	if err != nil {
		o.NoCheckIn = "no check-in: " + err.Error()
		return &stop{event.OutcomeCheckInFailed, "the device cannot check in: " + err.Error()}, event.StepFailed, o.NoCheckIn
	}
	o.UserEnrollment, o.PerUserCap = m.userEnrollment, m.cfg.has(capPerUser)
	if !r.identity.usable() {
		o.CannotSend = errNoIdentity.Error()
		return nil, event.StepSkipped, o.CannotSend
	}
	if _, err := r.mdmDoer(r.identity); err != nil {
		o.CannotSend = err.Error()
		return nil, event.StepError, err.Error()
	}
	send := func(what, messageType string, opts mdmOpts) *check.MDMExchange {
		x, _ := r.exchangeMDM(m.cfg.checkInURL, ctCheckIn, what, m.checkInMessage(messageType, m.ids, opts.userChannel), opts)
		return &x
	}
	o.Authenticate = send("Authenticate", "Authenticate", mdmOpts{purpose: "check-in: Authenticate"})
	if st := mdmStop(*o.Authenticate); st != nil {
		return st, stepStatusOf(st), st.message
	}
	tk := r.subscribe(m, m.ids.pushToken, m.ids.pushMagic)
	o.TokenUpdate = send("TokenUpdate", "TokenUpdate", mdmOpts{purpose: "check-in: TokenUpdate"})
	tokenAnswered(tk, o.TokenUpdate.OK)
	if st := mdmStop(*o.TokenUpdate); st != nil {
		return st, stepStatusOf(st), st.message
	}
	m.checkedIn = true
	msg := "Authenticate and TokenUpdate accepted"
	if !o.Mac || !o.PerUserCap {
		return nil, event.StepOK, msg
	}
	uv := send("user-channel TokenUpdate", "TokenUpdate", mdmOpts{userChannel: true, purpose: "check-in: user-channel TokenUpdate"})
	o.UserTokenUpdate = uv
	if uv.Why != "" {
		st := mdmStop(*uv)
		return st, event.StepError, st.message
	}
	m.userChannelOK = uv.OK
	if !uv.OK {
		// The device channel works: the Mac goes on to connect there.
		return nil, event.StepFailed, msg + " on the device channel; the user channel's TokenUpdate got " + uv.Refusal().Actual
	}
	return nil, event.StepOK, msg + " on both channels"
}

func stepStatusOf(st *stop) event.StepStatus {
	if st.outcome == event.OutcomeError {
		return event.StepError
	}
	return event.StepFailed
}

// checkInMessage builds a check-in message of the device of this
// enrollment type. Key sets follow devices' captures: nanomdm's
// mdm/testdata/Authenticate.1.plist (iPad: BuildVersion, OSVersion,
// ProductName, SerialNumber, Topic, UDID), Authenticate.2.plist (Mac: also
// DeviceName, Model, ModelName), TokenUpdate.1/.2.plist (AwaitingConfiguration,
// PushMagic, Token, Topic, UDID; UnlockToken left out), and the iOS 18.2.1
// user enrollment capture of the digest (§2.13, [O] S27): EnrollmentID in
// place of UDID, and no SerialNumber, IMEI or MEID.
func (m *mdmState) checkInMessage(messageType string, ids deviceIDs, userChannel bool) map[string]any {
	d := m.device
	msg := map[string]any{"MessageType": messageType, "Topic": m.cfg.topic}
	for k, v := range m.idKeys(ids, userChannel) {
		msg[k] = v
	}
	switch messageType {
	case "Authenticate":
		msg["BuildVersion"], msg["OSVersion"], msg["ProductName"] = d.Build, d.OS.String(), d.Product
		if !m.userEnrollment {
			msg["SerialNumber"], msg["Model"], msg["ModelName"], msg["DeviceName"] = ids.serial, d.Product, modelName(d), d.Name
		}
	case "TokenUpdate":
		msg["Token"], msg["PushMagic"], msg["AwaitingConfiguration"] = ids.pushToken, ids.pushMagic, false
		if userChannel && ids.userPushToken != nil {
			msg["Token"], msg["PushMagic"] = ids.userPushToken, ids.userPushMagic
		}
	}
	return msg
}

// idKeys are the keys that say which enrollment (and user) a message is
// from: EnrollmentID in user enrollment, UDID in device enrollment.
func (m *mdmState) idKeys(ids deviceIDs, userChannel bool) map[string]any {
	k := map[string]any{}
	if m.userEnrollment {
		k["EnrollmentID"] = ids.enrollmentID
		if userChannel {
			k["EnrollmentUserID"], k["UserShortName"], k["UserLongName"] = ids.enrollmentUserID, ids.userShortName, ids.userLongName
		}
		return k
	}
	k["UDID"] = ids.udid
	if userChannel {
		k["UserID"], k["UserShortName"], k["UserLongName"] = ids.userID, ids.userShortName, ids.userLongName
	}
	return k
}

func modelName(d device.Device) string {
	switch d.Family {
	case device.IPhone, device.IPad:
		return string(d.Family)
	case device.RealityDevice:
		return "Apple Vision Pro"
	}
	name, _, _ := strings.Cut(d.Name, " (")
	return name
}

// checkIn sends one check-in message to the CheckInURL.
func (r *runner) checkIn(msg map[string]any, o mdmOpts) *response {
	return r.mdmPlist(r.mdm.cfg.checkInURL, ctCheckIn, msg, o)
}

// connect sends one connect body to the ServerURL.
func (r *runner) connect(body map[string]any, o mdmOpts) *response {
	return r.mdmPlist(r.mdm.cfg.serverURL, ctConnect, body, o)
}

func (r *runner) mdmPlist(target, contentType string, msg map[string]any, o mdmOpts) *response {
	body, err := plist.MarshalIndent(msg, plist.XMLFormat, "\t")
	if err != nil {
		return &response{err: fmt.Errorf("enrollsim bug: encoding the %s plist: %w", contentType, err)}
	}
	return r.mdmSend(target, contentType, body, o)
}

// mdmSend is one MDM request as the device sends it: PUT, the identity as
// Mdm-Signature or TLS client certificate, the access token per family and
// channel (§2.13.5).
func (r *runner) mdmSend(target, contentType string, body []byte, o mdmOpts) *response {
	ident := o.ident
	if ident == nil {
		ident = r.identity
	}
	if !ident.usable() {
		return &response{err: errNoIdentity}
	}
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("User-Agent", mdmAgent)
	if tok := r.mdmToken(o); tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	var doer Doer
	if r.mdm.cfg.signMessage {
		sig, err := mdmSignature(body, ident)
		if err != nil {
			return &response{err: fmt.Errorf("signing the request: %w", err)}
		}
		h.Set("Mdm-Signature", sig)
	} else {
		d, err := r.mdmDoer(ident)
		if err != nil {
			return &response{err: err}
		}
		doer = d
	}
	return r.do(request{method: http.MethodPut, url: target, header: h, body: body, purpose: o.purpose, probe: o.probe, limit: mdmBody, doer: doer, pushedAt: o.pushedAt})
}

// mdmToken is the Bearer token a request carries: on iOS, iPadOS and
// visionOS every request, on a Mac only the user channel's (§2.13.5).
func (r *runner) mdmToken(o mdmOpts) string {
	switch {
	case o.noToken:
		return ""
	case o.token != "":
		return o.token
	case r.enroll == nil:
		return ""
	case r.c.Device.Family == device.Mac && !o.userChannel:
		return ""
	}
	return r.enroll.token
}

// mdmSignature is the Mdm-Signature header: a detached CMS SignedData over
// the exact body, signed by the identity, base64 (standard alphabet).
func mdmSignature(body []byte, ident *identityState) (string, error) {
	sd, err := pkcs7.NewSignedData(body)
	if err != nil {
		return "", err
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(ident.cert, ident.key, pkcs7.SignerInfoConfig{}); err != nil {
		return "", err
	}
	sd.Detach()
	der, err := sd.Finish()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// mdmDoer is the client that presents ident as TLS client certificate,
// when the profile says SignMessage false; nil when signing.
func (r *runner) mdmDoer(ident *identityState) (Doer, error) {
	m := r.mdm
	if m.cfg.signMessage {
		return nil, nil
	}
	if d, ok := m.doers[ident]; ok {
		return d, nil
	}
	base := r.e.Doer
	if r.c.Target.Doer != nil {
		base = r.c.Target.Doer
	}
	cd, ok := base.(ClientCertDoer)
	if !ok {
		return nil, errors.New("not judged: the profile's SignMessage is false, so the identity must go as a TLS client certificate, and this HTTP client cannot present one\n(an enrollsim limit: use the built-in client)")
	}
	chain := [][]byte{ident.cert.Raw}
	for _, c := range ident.chain {
		chain = append(chain, c.Raw)
	}
	d := cd.WithClientCertificate(tls.Certificate{Certificate: chain, PrivateKey: ident.key, Leaf: ident.cert})
	if m.doers == nil {
		m.doers = map[*identityState]Doer{}
	}
	m.doers[ident] = d
	return d, nil
}
