package apns

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/enrollsim/enrollsim/sim/check"
)

// maxPayload is APNs' limit for a notification payload other than VoIP:
// "For all other remote notifications, the maximum payload size is 4 KB
// (4096 bytes)" (Apple, "Generating a remote notification"); more is 413
// PayloadTooLarge.
const maxPayload = 4096

// Device tokens: Apple's are 32 bytes today, and Apple warns they may grow
// and asks providers not to hard-code their size; up to 100 bytes is taken.
const (
	minTokenBytes = 32
	maxTokenBytes = 100
)

// pushTypes are the apns-push-type values "Sending notification requests to
// APNs" lists. An MDM push must say mdm: "If you set this push type, you
// must use the topic from the UID attribute in the subject of your MDM push
// certificate."
var pushTypes = map[string]bool{"alert": true, "background": true, "location": true, "voip": true,
	"complication": true, "fileprovider": true, "mdm": true, "liveactivity": true, "pushtotalk": true}

// priorities are the documented apns-priority values: 10 (immediately), 5
// (by the device's power considerations), 1 (power first).
var priorities = map[string]bool{"10": true, "5": true, "1": true}

// rejection is one of Apple's error answers.
type rejection struct {
	status int
	reason string
}

var (
	badPath          = rejection{http.StatusNotFound, "BadPath"}
	methodNotAllowed = rejection{http.StatusMethodNotAllowed, "MethodNotAllowed"}
	badCertificate   = rejection{http.StatusForbidden, "BadCertificate"}
	missingToken     = rejection{http.StatusBadRequest, "MissingDeviceToken"}
	badToken         = rejection{http.StatusBadRequest, "BadDeviceToken"}
	duplicateHeaders = rejection{http.StatusBadRequest, "DuplicateHeaders"}
	topicDisallowed  = rejection{http.StatusBadRequest, "TopicDisallowed"}
	invalidPushType  = rejection{http.StatusBadRequest, "InvalidPushType"}
	badPriority      = rejection{http.StatusBadRequest, "BadPriority"}
	badExpiration    = rejection{http.StatusBadRequest, "BadExpirationDate"}
	badMessageID     = rejection{http.StatusBadRequest, "BadMessageId"}
	payloadEmpty     = rejection{http.StatusBadRequest, "PayloadEmpty"}
	payloadTooLarge  = rejection{http.StatusRequestEntityTooLarge, "PayloadTooLarge"}
)

var apnsHeaders = []string{"apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-id", "apns-collapse-id"}

// judge reads one request into a check.Push, with the status and reason
// Apple would answer it with.
func (s *Server) judge(r *http.Request) check.Push {
	p := check.Push{At: s.cfg.Now(), Topic: r.Header.Get("apns-topic"), PushType: r.Header.Get("apns-push-type"),
		Priority: r.Header.Get("apns-priority"), Expiration: r.Header.Get("apns-expiration")}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		p.CertUID = CertUID(r.TLS.PeerCertificates[0])
	}
	token, onPath := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !onPath {
		token = "" // a path that names no token: BadPath says what came
	}
	p.Token = cut(strings.ToLower(token), recordedToken)
	body := readPayload(r)
	p.Payload = cut(string(body), recordedPayload)
	p.Magic = magic(body)
	p.ID = r.Header.Get("apns-id")
	if !isUUID(p.ID) {
		p.ID = newUUID()
	}
	rej, ok := reject(r, onPath && !strings.Contains(token, "/"), token, body, p.CertUID)
	if ok {
		p.Status, p.Reason = rej.status, rej.reason
	} else {
		p.Status = http.StatusOK
	}
	return p
}

// reject finds Apple's first objection to a request, if any.
func reject(r *http.Request, onPath bool, token string, body []byte, uid string) (rejection, bool) {
	switch {
	case !onPath:
		return badPath, true
	case r.Method != http.MethodPost: // "Only POST requests are supported."
		return methodNotAllowed, true
	case uid == "":
		// A certificate with no topic cannot be an MDM push certificate.
		return badCertificate, true
	case token == "":
		return missingToken, true
	case !validToken(token):
		return badToken, true
	}
	for _, h := range apnsHeaders {
		if len(r.Header.Values(h)) > 1 {
			return duplicateHeaders, true
		}
	}
	h := r.Header
	switch {
	// "If you omit this header and your APNs certificate doesn't specify
	// multiple topics, the APNs server uses the certificate's Subject as
	// the default topic."
	case h.Get("apns-topic") != "" && h.Get("apns-topic") != uid:
		return topicDisallowed, true
	case h.Get("apns-push-type") != "" && !pushTypes[h.Get("apns-push-type")]:
		return invalidPushType, true
	case h.Get("apns-priority") != "" && !priorities[h.Get("apns-priority")]:
		return badPriority, true
	case h.Get("apns-expiration") != "" && !validExpiration(h.Get("apns-expiration")):
		return badExpiration, true
	case h.Get("apns-id") != "" && !isUUID(h.Get("apns-id")):
		return badMessageID, true
	case len(body) == 0:
		return payloadEmpty, true
	case len(body) > maxPayload:
		return payloadTooLarge, true
	}
	return rejection{}, false
}

// readPayload reads at most one byte more than APNs takes: enough to tell
// an oversized payload, and never more whatever the provider sends.
func readPayload(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	// A body cut short is judged on what came.
	b, _ := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	return b
}

func validToken(t string) bool {
	if len(t)%2 != 0 || len(t) < 2*minTokenBytes || len(t) > 2*maxTokenBytes {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !isHex(t[i]) {
			return false
		}
	}
	return true
}

// validExpiration: "a UNIX epoch expressed in seconds (UTC)", 0 for
// "deliver now or never".
func validExpiration(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n >= 0 && !strings.HasPrefix(v, "+")
}

// magic is the payload's "mdm" string: the PushMagic an MDM server sends
// ("Sending MDM commands to a device": {"mdm":"PushMagicValue"}).
func magic(body []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	var m string
	if json.Unmarshal(obj["mdm"], &m) != nil {
		return ""
	}
	return m
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
