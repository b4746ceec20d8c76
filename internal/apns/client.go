package apns

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer caps what the client reads of an answer: APNs answers with at
// most a small JSON object.
const maxAnswer = 64 << 10

// defaultTimeout bounds a push when NewClient is given none.
const defaultTimeout = 30 * time.Second

// Client is an APNs provider: what an MDM server pushes with. It speaks
// HTTP/2 only, as APNs requires, and authenticates with a push certificate.
type Client struct {
	base string
	http *http.Client
}

// Notification is one push. Empty fields are left out of the request.
type Notification struct {
	Token      []byte // the device token, sent in hex
	Topic      string // apns-topic; an MDM server's is its push certificate's UID
	PushType   string // apns-push-type; mdm for an MDM push
	Priority   string // apns-priority
	Expiration string // apns-expiration
	ID         string // apns-id
	Magic      string // the PushMagic: the payload is {"mdm":Magic}
	// Payload, when set, is sent as-is instead of {"mdm":Magic}.
	Payload []byte
}

// Result is APNs' answer to a push.
type Result struct {
	Status int    // 200, or the error status
	Reason string // for an error: Apple's reason, e.g. BadDeviceToken
	ID     string // the apns-id answered
}

// NewClient pushes to baseURL (e.g. https://api.push.apple.com, or a
// stand-in's URL) with cert, trusting roots (nil: the system's). timeout
// bounds each push (0: 30 s).
func NewClient(baseURL string, cert tls.Certificate, roots *x509.CertPool, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	protos := new(http.Protocols)
	protos.SetHTTP2(true)
	tr := &http.Transport{
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots},
		Protocols:              protos,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		IdleConnTimeout:        5 * time.Minute,
		MaxResponseHeaderBytes: maxAnswer,
	}
	return &Client{base: strings.TrimSuffix(baseURL, "/"), http: &http.Client{Timeout: timeout, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Push sends one notification. An answer from APNs, error or not, is a
// Result; err is for a push that got no answer, or one that was no APNs
// answer (not HTTP/2, too large).
func (c *Client) Push(ctx context.Context, n Notification) (Result, error) {
	u := c.base + "/3/device/" + hex.EncodeToString(n.Token)
	body := n.Payload
	if body == nil {
		body, _ = json.Marshal(map[string]string{"mdm": n.Magic}) // a string map always marshals
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return Result{}, fmt.Errorf("apns push to %s: %w", u, err)
	}
	for h, v := range map[string]string{"apns-topic": n.Topic, "apns-push-type": n.PushType,
		"apns-priority": n.Priority, "apns-expiration": n.Expiration, "apns-id": n.ID} {
		if v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it would name the URL a second time
		}
		return Result{}, fmt.Errorf("apns push to %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		return Result{}, fmt.Errorf("apns push to %s: answered over %s; APNs speaks HTTP/2 only", u, resp.Proto)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return Result{}, fmt.Errorf("apns push to %s: reading the answer: %w", u, err)
	}
	if len(raw) > maxAnswer {
		return Result{}, fmt.Errorf("apns push to %s: answer larger than %d bytes", u, maxAnswer)
	}
	res := Result{Status: resp.StatusCode, ID: resp.Header.Get("apns-id")}
	if res.Status != http.StatusOK {
		var e struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal(raw, &e) == nil {
			res.Reason = e.Reason
		}
	}
	return res, nil
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }
