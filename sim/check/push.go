package check

import "time"

// Push is one notification the APNs stand-in received for a device token
// (Apple's provider API, POST /3/device/{token}), as the stand-in saw it
// and what it answered. The PUSH judges read these.
type Push struct {
	At         time.Time `json:"at"`                   // when the stand-in received it
	Token      string    `json:"token"`                // the device token in the path, lower-case hex
	Topic      string    `json:"topic,omitempty"`      // apns-topic; "" when absent
	PushType   string    `json:"push_type,omitempty"`  // apns-push-type; "" when absent
	Priority   string    `json:"priority,omitempty"`   // apns-priority; "" when absent
	Expiration string    `json:"expiration,omitempty"` // apns-expiration; "" when absent
	ID         string    `json:"id,omitempty"`         // apns-id as answered
	// Magic is the payload's "mdm" string; "" when the payload has none
	// or is no JSON object (Payload then says what came).
	Magic   string `json:"magic,omitempty"`
	Payload string `json:"payload,omitempty"` // the body, cut to 512 bytes
	// CertUID is the UID (0.9.2342.19200300.100.1.1) of the provider's
	// TLS client certificate subject: an MDM push certificate's topic.
	CertUID string `json:"cert_uid,omitempty"`
	Status  int    `json:"status"`           // what the stand-in answered: 200, or Apple's error status
	Reason  string `json:"reason,omitempty"` // Apple's reason for a non-200, e.g. BadDeviceToken
}

// RoutePush is MDMExchange.Route of a connect woken by a push the device
// received through the APNs stand-in; RouteLastLook of the one connect the
// device makes when its wait for a push ran out with nothing answered,
// a tester's look at whether the server queued without pushing.
const (
	RoutePush     = "push"
	RouteLastLook = "last look"
)

// PushLife is what the push route saw in one case: the device-channel
// TokenUpdates the device sent, every push the stand-in got for their
// tokens, and the connects after the first, with what woke them.
type PushLife struct {
	Topic    string      `json:"topic"` // the profile's Topic
	Tokens   []PushToken `json:"tokens,omitempty"`
	Pushes   []Push      `json:"pushes,omitempty"`
	Connects []PushWake  `json:"connects,omitempty"`
	// Loop: the device stopped heeding pushes, after LoopLimit pushes in a
	// row woke a connect that found nothing queued.
	Loop bool `json:"loop,omitempty"`
}

// PushToken is one device-channel TokenUpdate: the token and PushMagic it
// gave, when it was sent and when its answer came.
type PushToken struct {
	Token    string    `json:"token"` // lower-case hex
	Magic    string    `json:"magic"`
	Sent     time.Time `json:"sent"`
	Answered time.Time `json:"answered"`
	OK       bool      `json:"ok"` // answered 200: the server has it
}

// PushWake is one connect after the first: what woke it and what it found.
type PushWake struct {
	At      time.Time `json:"at"`
	Route   string    `json:"route"`             // RoutePush, RoutePoll or RouteLastLook
	Command string    `json:"command,omitempty"` // the RequestType it got; "" for an empty answer
}

// LoopLimit is how many push-woken connects in a row may find nothing
// queued before the device (and PUSH-005) takes the pushes for a loop.
const LoopLimit = 3

// StormLimit is how many pushes a minute a device that has not connected
// since the first of them may get before PUSH-006 warns.
const StormLimit = 10
