package refserver

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/internal/apns"

	"github.com/smallstep/pkcs7"
	"howett.net/plist"
)

// Check-in and connect (spec §2.13.2-7, §2.14): the MDM's side of what a
// device does once the profile is installed. Every request proves the
// device's identity (the certificate SCEP issued, as Mdm-Signature or TLS
// client certificate), names its enrollment (EnrollmentID in user
// enrollment, UDID in device enrollment) and, on iOS, iPadOS and visionOS
// always, on a Mac on the user channel only, carries the access token of
// the sign-in. Authenticate binds the enrollment to the identity and to the
// token's user; later requests must come with both.
//
// Refusals: 400 or 415 for a request the server cannot read, 403 for an
// identity it does not trust, 401 with the BaseURL's challenge for a token
// it will not take (sign in again), 403 com.apple.unrecognized.device for
// an enrollment it no longer has. A bare 401, which removes the profile,
// only comes from a fault.
const (
	checkinPath = "/mdm/checkin"
	connectPath = "/mdm/connect"

	mediaCheckin = "application/x-apple-aspen-mdm-checkin"
	mediaConnect = "application/x-apple-aspen-mdm"
	mediaXML     = "application/xml"

	// maxMDMBodyBytes caps a check-in or connect body. Answers to the
	// first commands are a few KiB; a full InstalledApplicationList of a
	// busy device stays well under this.
	maxMDMBodyBytes = 1 << 20
	// maxSignatureBytes caps the Mdm-Signature header (base64). A device's
	// signature with its identity and the CA is a few KiB; the cap also
	// bounds how deep hostile BER can nest for the CMS parser.
	maxSignatureBytes = 32 << 10

	unrecognizedDevice = `{"code":"com.apple.unrecognized.device"}`
)

// Token states of an enrollment's bound access token, set by the admin
// triggers (mdmadmin.go).
const (
	tokenLive    = ""
	tokenRevoked = "revoked"
	tokenExpired = "expired"
)

// byodForbidden are the device identifiers a user enrollment never sends
// (Apple's authenticate.yaml: userenrollment mode forbidden).
var byodForbidden = []string{"UDID", "SerialNumber", "IMEI", "MEID"}

// mdmRegistry is the server's enrollments, keyed by EnrollmentID or UDID,
// and which enrollment each access token is bound to.
type mdmRegistry struct {
	mu    sync.Mutex
	byID  map[string]*enrollment
	bound map[string]string // access token → enrollment id
	// gone keeps the last record of enrollments that checked out, as
	// NanoMDM keeps a disabled enrollment, so tests can read what a run
	// left behind; bounded, since the load mode enrolls without end.
	gone map[string]Enrollment
}

// maxGone bounds the checked-out records kept.
const maxGone = 1024

// Push is what a TokenUpdate tells the server about one channel: where and
// how to push to it.
type Push struct {
	Topic                 string
	PushMagic             string
	Token                 []byte
	UnlockToken           []byte
	AwaitingConfiguration bool
}

// enrollment is one device's enrollment as check-in has built it.
type enrollment struct {
	id      string
	kind    string // KindBYOD or KindADDE
	mac     bool   // a Mac: the device channel carries no token
	product string
	cert    *x509.Certificate // the identity Authenticate came with

	user       string // Account.Identifier of the bound token's grant; "" until a token is seen
	token      string // the bound access token
	tokenState string // tokenLive, tokenRevoked or tokenExpired
	// challenged is when the server last answered this enrollment with
	// the challenge: a token issued since is the sign-in it asked for.
	challenged time.Time

	tokenUpdate bool   // the device channel's TokenUpdate arrived
	pushMagic   string // from the device channel's TokenUpdate
	userChannel string // EnrollmentUserID or UserID of the user channel's TokenUpdate
	// push and userPush are what the last TokenUpdate of each channel
	// said, stored as sent, as NanoMDM stores it (a wrong Topic too, when
	// topic-not-checked lets one through): what the server would push with.
	push, userPush Push
	// firstPush is what the device channel's first TokenUpdate said: the
	// push-stale-* faults push with it after a newer one.
	firstPush  Push
	unenrolled bool // the admin unenrolled it: every request gets the 403
	// commandsDue is when the worker queues the first commands
	// (Config.CommandDelay after the first device-channel TokenUpdate, on
	// the worker's clock); zero without a delay.
	commandsDue time.Time

	channels [2]commandChannel // device, user (mdmcommands.go)
	ddm      *ddmStore         // declarations and status (ddm.go); nil without DDM
}

// mdmRoutes serves check-in (CheckInURL) and connect (ServerURL), and the
// admin triggers the simulator's token-life probes call (mdmadmin.go).
func (s *Server) mdmRoutes(mux *http.ServeMux) {
	s.mdm = &mdmRegistry{byID: map[string]*enrollment{}, bound: map[string]string{}, gone: map[string]Enrollment{}}
	mux.HandleFunc("PUT "+checkinPath, s.checkin)
	mux.HandleFunc("PUT "+connectPath, s.connect)
	s.adminRoutes(mux)
}

// mdmRequest is a check-in or connect request that has been read, whose
// identity verified and whose envelope (which enrollment, which channel)
// has been parsed.
type mdmRequest struct {
	msg  map[string]any
	cert *x509.Certificate

	token    string
	hasToken bool

	id          string // EnrollmentID or UDID
	kind        string // KindBYOD (EnrollmentID) or KindADDE (UDID)
	userChannel bool   // a Mac user-channel request: EnrollmentUserID or UserID
	userID      string
}

// mdmAnswer is what a handler decided, written after the registry's lock
// is released.
type mdmAnswer struct {
	status      int
	contentType string
	body        []byte
	reauth      *enrollEndpoint // 401 with this endpoint's challenge
	// pushes are sent before the answer is written, outside the
	// registry's lock: a device that got the answer has its push.
	pushes []apns.Notification
}

func answerOK() mdmAnswer { return mdmAnswer{status: http.StatusOK} }

func answerText(status int, format string, args ...any) mdmAnswer {
	return mdmAnswer{status: status, contentType: "text/plain; charset=utf-8", body: []byte(fmt.Sprintf(format, args...) + "\n")}
}

func answerBare401() mdmAnswer { return mdmAnswer{status: http.StatusUnauthorized} }

func answerPlist(v any) mdmAnswer {
	b, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		// Only the server's own maps of strings, data and booleans get here.
		return answerText(http.StatusInternalServerError, "internal server error")
	}
	return mdmAnswer{status: http.StatusOK, contentType: mediaXML, body: b}
}

func (s *Server) writeMDM(w http.ResponseWriter, a mdmAnswer) {
	s.sendPushes(a.pushes)
	w.Header().Set("Cache-Control", "no-store")
	if a.reauth != nil {
		s.challenge401(w, *a.reauth)
		return
	}
	if a.contentType != "" {
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("X-Content-Type-Options", "nosniff")
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// readMDM reads and verifies a check-in (wantType mediaCheckin) or connect
// request. On a refusal it returns the answer and false.
func (s *Server) readMDM(w http.ResponseWriter, r *http.Request, wantType string) (*mdmRequest, mdmAnswer, bool) {
	want := wantType
	if wantType == mediaCheckin && s.has(FaultCheckinContentType) {
		want = mediaXML
	}
	if got := mediaType(r.Header.Get("Content-Type")); got != want {
		return nil, answerText(http.StatusUnsupportedMediaType, "Content-Type must be %s (got %q)", want, got), false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMDMBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, answerText(http.StatusRequestEntityTooLarge, "the body is larger than %d KiB", maxMDMBodyBytes>>10), false
		}
		return nil, answerText(http.StatusBadRequest, "could not read the body: %v", err), false
	}
	req := &mdmRequest{}
	var refusal mdmAnswer
	var ok bool
	if req.cert, refusal, ok = s.deviceIdentity(r, body); !ok {
		return nil, refusal, false
	}
	if req.msg, err = decodeMDMPlist(body); err != nil {
		return nil, answerText(http.StatusBadRequest, "the body is not a check-in message: %v", err), false
	}
	if refusal, ok = req.envelope(); !ok {
		return nil, refusal, false
	}
	token, present, wellFormed := bearerToken(r, b64token)
	if present && !wellFormed {
		return nil, answerText(http.StatusBadRequest, `the Authorization header must be "Bearer <token>"`), false
	}
	req.token, req.hasToken = token, present
	if present && s.has(FaultCheckinRejectsBearer) {
		return nil, answerText(http.StatusBadRequest, "check-in requests must not carry Authorization"), false
	}
	return req, mdmAnswer{}, true
}

// deviceIdentity is the certificate the request proves: the signer of the
// Mdm-Signature, a CMS SignedData detached over the exact body, or else the
// TLS client certificate. It must be an identity the server's identity CA
// issued and valid now.
func (s *Server) deviceIdentity(r *http.Request, body []byte) (*x509.Certificate, mdmAnswer, bool) {
	var cert *x509.Certificate
	if sig := r.Header.Get("Mdm-Signature"); sig != "" {
		c, err := verifyMdmSignature(sig, body)
		if err != nil {
			return nil, answerText(http.StatusForbidden, "the Mdm-Signature is not a valid signature of the body: %v", err), false
		}
		cert = c
	} else if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		cert = r.TLS.PeerCertificates[0]
	}
	if cert == nil {
		return nil, answerText(http.StatusBadRequest,
			"the request carries no device identity\nsign the body in an Mdm-Signature header (the profile's SignMessage is true) or present the identity as TLS client certificate"), false
	}
	if err := s.ca.identity.verify(cert, s.cfg.Now()); err != nil {
		return nil, answerText(http.StatusForbidden, "%v", err), false
	}
	return cert, mdmAnswer{}, true
}

// farFuture widens certificates for the CMS check, see verifyMdmSignature.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// verifyMdmSignature checks a base64 detached CMS signature over body and
// returns its one signer. pkcs7 compares the signing-time attribute, the
// device's own clock, with the signer's validity; the server judges
// validity on its own clock instead (identityCA.verify), so the check sees
// copies of the certificates with their validity widened.
func verifyMdmSignature(sig string, body []byte) (cert *x509.Certificate, err error) {
	if len(sig) > maxSignatureBytes {
		return nil, fmt.Errorf("the header is longer than %d KiB", maxSignatureBytes>>10)
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	defer func() {
		// A parser that panics on hostile DER must not take the server down.
		if p := recover(); p != nil {
			cert, err = nil, fmt.Errorf("malformed CMS: %v", p)
		}
	}()
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("not CMS SignedData: %w", err)
	}
	if len(p7.Content) > 0 && !bytes.Equal(p7.Content, body) {
		return nil, errors.New("the signature carries content other than the body (it must be detached)")
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return nil, fmt.Errorf("want exactly one signer with its certificate, got %d signers", len(p7.Signers))
	}
	for i, c := range p7.Certificates {
		wide := *c
		wide.NotBefore, wide.NotAfter = time.Time{}, farFuture
		p7.Certificates[i] = &wide
	}
	p7.Content = body
	if err := p7.Verify(); err != nil {
		return nil, err
	}
	return signer, nil
}

// decodeMDMPlist decodes a check-in or connect body: an XML property list
// whose top is a dictionary. Devices send XML; a binary plist is refused,
// because its shared references let a small body expand without bound in
// the decoder.
func decodeMDMPlist(body []byte) (msg map[string]any, err error) {
	head := bytes.TrimLeft(body, " \t\r\n\ufeff")
	if !bytes.HasPrefix(head, []byte("<?xml")) && !bytes.HasPrefix(head, []byte("<!DOCTYPE")) && !bytes.HasPrefix(head, []byte("<plist")) {
		return nil, errors.New("not an XML property list")
	}
	defer func() {
		if p := recover(); p != nil {
			msg, err = nil, fmt.Errorf("malformed property list: %v", p)
		}
	}()
	var v any
	if _, err := plist.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("malformed property list: %w", err)
	}
	msg, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the property list is a %T, not a dictionary", v)
	}
	return msg, nil
}

// str reads a string key: "" when absent, an error when of another type.
func (req *mdmRequest) str(key string) (string, error) {
	v, ok := req.msg[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s is a %s, not a string", key, plistType(v))
	}
	return s, nil
}

func plistType(v any) string {
	switch v.(type) {
	case []byte:
		return "data"
	case bool:
		return "boolean"
	case map[string]any:
		return "dictionary"
	case []any:
		return "array"
	case uint64, int64, float64:
		return "number"
	case time.Time:
		return "date"
	}
	return fmt.Sprintf("%T", v)
}

// envelope reads which enrollment and channel the message is for.
func (req *mdmRequest) envelope() (mdmAnswer, bool) {
	var vals [4]string
	for i, k := range []string{"EnrollmentID", "UDID", "EnrollmentUserID", "UserID"} {
		v, err := req.str(k)
		if err != nil {
			return answerText(http.StatusBadRequest, "%v", err), false
		}
		vals[i] = v
	}
	enrollmentID, udid, enrollmentUserID, userID := vals[0], vals[1], vals[2], vals[3]
	switch {
	case enrollmentID != "":
		// User enrollment: the device withholds its identifiers.
		for _, k := range byodForbidden {
			if _, ok := req.msg[k]; ok {
				return answerText(http.StatusBadRequest, "a user enrollment (EnrollmentID) must not send %s; it withholds %s",
					k, strings.Join(byodForbidden, ", ")), false
			}
		}
		req.id, req.kind = enrollmentID, KindBYOD
		if userID != "" && enrollmentUserID == "" {
			return answerText(http.StatusBadRequest, "a user enrollment's user channel names its user with EnrollmentUserID"), false
		}
		req.userChannel, req.userID = enrollmentUserID != "", enrollmentUserID
	case udid != "":
		req.id, req.kind = udid, KindADDE
		req.userChannel, req.userID = userID != "" || enrollmentUserID != "", userID
		if userID == "" {
			req.userID = enrollmentUserID
		}
	default:
		return answerText(http.StatusBadRequest, "the message names no enrollment: EnrollmentID (user enrollment) or UDID (device enrollment)"), false
	}
	return mdmAnswer{}, true
}

// checkin serves PUT CheckInURL.
func (s *Server) checkin(w http.ResponseWriter, r *http.Request) {
	req, refusal, ok := s.readMDM(w, r, mediaCheckin)
	if !ok {
		s.writeMDM(w, refusal)
		return
	}
	s.writeMDM(w, s.checkinAnswer(req))
}

func (s *Server) checkinAnswer(req *mdmRequest) mdmAnswer {
	mt, err := req.str("MessageType")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	topic, err := req.str("Topic")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	switch {
	case topic == "" && (mt == "Authenticate" || mt == "TokenUpdate"):
		return answerText(http.StatusBadRequest, "%s needs Topic", mt)
	case topic != "" && topic != s.topic && !s.has(FaultTopicNotChecked):
		return answerText(http.StatusBadRequest, "Topic %q is not this MDM's push topic (the profile's Topic is %s)", topic, s.topic)
	}
	if req.userChannel && s.has(FaultUserChannelRefused) {
		return answerText(http.StatusBadRequest, "user-channel requests are not supported")
	}
	switch mt {
	case "Authenticate":
		return s.authenticate(req)
	case "TokenUpdate":
		return s.tokenUpdate(req)
	case "GetToken":
		return s.getToken(req)
	case "CheckOut":
		return s.checkOut(req)
	case requestDeclarativeManagement:
		// Enrollment SSO enrollments have it even when Config.DDM is off.
		return s.declarativeManagement(req)
	case "":
		return answerText(http.StatusBadRequest, "the check-in message has no MessageType")
	}
	return answerText(http.StatusBadRequest, "unknown MessageType %q (this server knows Authenticate, TokenUpdate, GetToken, CheckOut, DeclarativeManagement)", mt)
}

// authenticate starts an enrollment afresh: a device that authenticates
// again (re-enrolled, new identity) replaces its old record.
func (s *Server) authenticate(req *mdmRequest) mdmAnswer {
	switch {
	case req.userChannel:
		return answerText(http.StatusBadRequest, "Authenticate comes on the device channel, without EnrollmentUserID or UserID")
	case req.kind == KindBYOD && s.has(FaultCheckinRequiresUDIDForBYOD):
		return answerText(http.StatusBadRequest, "Authenticate needs UDID")
	case req.kind == KindADDE && s.has(FaultADDEAuthenticateRefused):
		return answerText(http.StatusBadRequest, "device enrollments cannot check in here")
	}
	product, err := req.str("ProductName")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	model, err := req.str("Model")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	osVersion, err := req.str("OSVersion")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	e := &enrollment{
		id:      req.id,
		kind:    req.kind,
		product: product,
		cert:    req.cert,
		mac:     strings.HasPrefix(product, "Mac") || (product == "" && strings.HasPrefix(model, "Mac")),
	}
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	old, again := reg.byID[e.id]
	if again && !old.unenrolled {
		// Only its own user may authenticate an enrollment again.
		e.user = old.user
	}
	if a, ok := s.admitToken(e, req); !ok {
		return a
	}
	if again && old.token != e.token {
		delete(reg.bound, old.token)
	}
	s.seedDDM(e, osVersion)
	reg.byID[e.id] = e
	return answerOK()
}

// known looks up the enrollment a later request names and checks that it
// comes with the enrollment's identity and a token its channel accepts.
// The caller holds reg.mu.
func (s *Server) known(req *mdmRequest) (*enrollment, mdmAnswer, bool) {
	e, ok := s.mdm.byID[req.id]
	switch {
	case !ok:
		return nil, mdmAnswer{status: http.StatusForbidden, contentType: "application/json", body: []byte(unrecognizedDevice)}, false
	case e.unenrolled && s.has(FaultUnenrollBare401):
		return nil, answerBare401(), false
	case e.unenrolled:
		return nil, mdmAnswer{status: http.StatusForbidden, contentType: "application/json", body: []byte(unrecognizedDevice)}, false
	case e.kind != req.kind:
		return nil, answerText(http.StatusBadRequest, "%s is a %s enrollment", req.id, e.kind), false
	case !bytes.Equal(e.cert.Raw, req.cert.Raw):
		return nil, answerText(http.StatusForbidden, "the identity certificate %q is not the one enrollment %s authenticated with", req.cert.Subject.CommonName, e.id), false
	case req.userChannel && !e.mac:
		return nil, answerText(http.StatusBadRequest, "only a Mac has a user channel (EnrollmentUserID, UserID)"), false
	}
	if a, ok := s.admitToken(e, req); !ok {
		return nil, a, false
	}
	return e, mdmAnswer{}, true
}

// admitToken applies the token rules of §2.13.5 and §2.14 to a request for
// e. The caller holds reg.mu.
//
// The enrollment's own token is accepted while it lives. Another token is
// taken, and bound in its place, only when it is the sign-in the server
// asked for: a live token of the same user and enrollment type, bound to
// no other enrollment, presented when e has no token yet, or its own is
// dead (revoked, expired), or the token was issued after the server last
// challenged e. Anything else is a token of another enrollment or user.
//
// Refused tokens get the 401 challenge rather than a 403: the request is
// refused all the same, and a device holding the wrong token can only
// recover by signing in again, which the challenge asks for (the BaseURL
// treats such tokens the same way).
func (s *Server) admitToken(e *enrollment, req *mdmRequest) (mdmAnswer, bool) {
	required := !e.mac || req.userChannel || s.has(FaultMacDeviceChannelRequiresToken)
	if !req.hasToken {
		if required {
			return s.challengeFor(e), false
		}
		return mdmAnswer{}, true
	}
	g, live := s.lookupAccess(req.token)
	if req.token == e.token {
		switch {
		case live:
			// The device kept its token: no sign-in is pending.
			e.challenged = time.Time{}
			return mdmAnswer{}, true
		case e.tokenState == tokenRevoked && s.has(FaultRevokedTokenBare401):
			return answerBare401(), false
		case e.tokenState != tokenRevoked && s.has(FaultExpiredTokenAccepted):
			return mdmAnswer{}, true
		}
		return s.challengeFor(e), false
	}
	if !live {
		if user, ok := s.revokedUser(req.token); ok && e.user == "" {
			// A new enrollment whose token was revoked before it checked
			// in: ask for the sign-in its user enrolled with.
			e.challenged = s.cfg.Now()
			return s.reauth(user, e.kind), false
		}
		return s.challengeFor(e), false
	}
	other, bound := s.mdm.bound[req.token]
	_, ownLive := s.lookupAccess(e.token)
	issued := g.expires.Add(-accessTokenTTL)
	asked := e.token == "" || !ownLive || (!e.challenged.IsZero() && !issued.Before(e.challenged))
	foreign := (bound && other != e.id) || (e.user != "" && g.user != e.user) || g.kind != e.kind || !asked
	switch {
	case foreign && (s.has(FaultCheckinIgnoresToken) || s.has(FaultSecondEnrollmentOtherUser)):
		return mdmAnswer{}, true
	case foreign:
		return s.challengeFor(e), false
	}
	if e.token != "" {
		delete(s.mdm.bound, e.token)
	}
	e.user, e.token, e.tokenState, e.challenged = g.user, req.token, tokenLive, time.Time{}
	s.mdm.bound[e.token] = e.id
	return mdmAnswer{}, true
}

// challengeFor is the challenge answer to a request for e, noted so that
// the sign-in that follows is taken.
func (s *Server) challengeFor(e *enrollment) mdmAnswer {
	e.challenged = s.cfg.Now()
	return s.reauth(e.user, e.kind)
}

// reauth is the 401 with the challenge of the BaseURL the user enrolled
// through: apple-oauth2 for OAuth accounts, apple-as-web otherwise.
func (s *Server) reauth(user, kind string) mdmAnswer {
	oauth := false
	if acct, ok := s.dir.lookup(user); ok {
		oauth = acct.Auth == AuthOAuth2
	}
	for _, ep := range enrollEndpoints {
		if ep.kind == kind && ep.oauth == oauth && !ep.esso {
			return mdmAnswer{status: http.StatusUnauthorized, reauth: &ep}
		}
	}
	return answerBare401() // unreachable: every kind has both endpoints
}

// tokenUpdate records the push token of the device channel, or the user of
// a Mac's user channel.
func (s *Server) tokenUpdate(req *mdmRequest) mdmAnswer {
	if !req.userChannel && s.has(FaultTokenUpdateRefused) {
		return answerText(http.StatusBadRequest, "TokenUpdate is not supported")
	}
	token, ok := req.msg["Token"].([]byte)
	if !ok {
		return answerText(http.StatusBadRequest, "TokenUpdate needs Token (data)")
	}
	magic, err := req.str("PushMagic")
	if err != nil || magic == "" {
		return answerText(http.StatusBadRequest, "TokenUpdate needs PushMagic (a string)")
	}
	topic, _ := req.str("Topic") // read (and checked) by checkinAnswer
	unlock, _ := req.msg["UnlockToken"].([]byte)
	awaiting, _ := req.msg["AwaitingConfiguration"].(bool)
	push := Push{Topic: topic, PushMagic: magic, Token: bytes.Clone(token), UnlockToken: bytes.Clone(unlock), AwaitingConfiguration: awaiting}
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, a, ok := s.known(req)
	if !ok {
		return a
	}
	if req.userChannel {
		e.userChannel, e.userPush = req.userID, push
	} else {
		first := !e.tokenUpdate
		if first {
			e.firstPush = push
			if s.cfg.CommandDelay > 0 {
				e.commandsDue = s.workerNow(e.id).Add(s.cfg.CommandDelay)
			}
		}
		e.tokenUpdate, e.pushMagic, e.push = true, magic, push
		a := answerOK()
		a.pushes = s.afterTokenUpdate(e, first)
		return a
	}
	return answerOK()
}

// getToken answers GetToken (ServerCapabilities has com.apple.mdm.token).
func (s *Server) getToken(req *mdmRequest) mdmAnswer {
	service, err := req.str("TokenServiceType")
	if err != nil {
		return answerText(http.StatusBadRequest, "%v", err)
	}
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, a, ok := s.known(req)
	if !ok {
		return a
	}
	if service != "com.apple.maid" && !s.has(FaultGetTokenUnknownType200) {
		return answerText(http.StatusBadRequest, "unknown TokenServiceType %q (this server issues com.apple.maid tokens)", service)
	}
	if s.has(FaultGetTokenOpaqueTokenData) {
		return answerPlist(map[string]any{"TokenData": []byte("maid-" + newSecret())})
	}
	return answerPlist(map[string]any{"TokenData": []byte(s.maidJWT(e.id))})
}

// maidJWT is a com.apple.maid TokenData as Apple documents it, a signed
// JWT. A stand-in all the same: nothing downstream redeems it, so the
// signature is random bytes of an ES256 signature's length.
func (s *Server) maidJWT(id string) string {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{"iss": "https://" + MDMHost, "sub": id, "aud": "com.apple.maid", "iat": s.cfg.Now().Unix(), "jti": newSecret()})
	sig := make([]byte, 64)
	_, _ = rand.Read(sig) // crypto/rand.Read never fails
	return enc.EncodeToString(header) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// checkOut forgets the enrollment. The identity proves who checks out, so
// the token is not asked for: a device being removed may hold an expired
// one or none (§2.13.7).
func (s *Server) checkOut(req *mdmRequest) mdmAnswer {
	reg := s.mdm
	reg.mu.Lock()
	defer reg.mu.Unlock()
	e, ok := reg.byID[req.id]
	if !ok {
		return answerOK()
	}
	if !bytes.Equal(e.cert.Raw, req.cert.Raw) {
		return answerText(http.StatusForbidden, "the identity certificate %q is not the one enrollment %s authenticated with", req.cert.Subject.CommonName, e.id)
	}
	if s.has(FaultCheckoutRequiresToken) && !e.unenrolled {
		if a, ok := s.admitToken(e, req); !ok {
			return a
		}
	}
	delete(reg.byID, e.id)
	if len(reg.gone) >= maxGone {
		for id := range reg.gone {
			delete(reg.gone, id)
			break
		}
	}
	left := e.view()
	// The answers' bodies are the bulk of a record and no test of what a
	// run leaves behind reads them; their statuses stay.
	left.CheckedOut = true
	for i := range left.Results {
		left.Results[i].Body = nil
	}
	reg.gone[e.id] = left
	for tok, id := range reg.bound {
		if id == e.id {
			delete(reg.bound, tok)
		}
	}
	return answerOK()
}

// sortedIDs lists the registry's enrollment ids. The caller holds reg.mu.
func (reg *mdmRegistry) sortedIDs() []string {
	ids := make([]string, 0, len(reg.byID))
	for id := range reg.byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// hasEnrollment reports whether user has an enrollment the server still
// serves.
func (reg *mdmRegistry) hasEnrollment(user string) bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, e := range reg.byID {
		if e.user == user && !e.unenrolled {
			return true
		}
	}
	return false
}
