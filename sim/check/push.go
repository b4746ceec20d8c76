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
