package axm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gomodule/oauth1/oauth"

	"github.com/enrollsim/enrollsim/sim"
)

// Client is a Device Assignment API client for servers written in Go: the
// reference server registers itself with it. It signs /session with the
// token's OAuth 1.0a credentials (github.com/gomodule/oauth1, as nanodep
// does) and sends the session on every call, renewing it after a 401.
type Client struct {
	BaseURL string
	HTTP    sim.Doer
	Creds   Credentials
	// ProtocolVersion goes in X-Server-Protocol-Version; "" means "7".
	ProtocolVersion string
	// SkipProtocolHeader leaves the header out (a fault of the reference
	// server).
	SkipProtocolHeader bool

	mu      sync.Mutex
	session string
}

// APIError is an answer other than 200, with Apple's error code.
type APIError struct {
	Status int
	Code   string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("device assignment API: %d %s", e.Status, e.Code)
}

// Account is the part of GET /account a registration needs.
type Account struct {
	ServerName string `json:"server_name"`
	ServerUUID string `json:"server_uuid"`
	OrgName    string `json:"org_name"`
	URLs       []struct {
		URI        string   `json:"uri"`
		HTTPMethod []string `json:"http_method"`
	} `json:"urls"`
}

// Offers reports whether the account lists a path for a method.
func (a Account) Offers(path, method string) bool {
	for _, u := range a.URLs {
		if u.URI == path {
			for _, m := range u.HTTPMethod {
				if strings.EqualFold(m, method) {
					return true
				}
			}
		}
	}
	return false
}

const maxAnswer = 1 << 20

func (c *Client) url(path string) string { return strings.TrimSuffix(c.BaseURL, "/") + path }

func (c *Client) newSession(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(SessionPath), nil)
	if err != nil {
		return "", err
	}
	oc := oauth.Client{SignatureMethod: oauth.HMACSHA1, Credentials: oauth.Credentials{Token: c.Creds.ConsumerKey, Secret: c.Creds.ConsumerSecret}}
	u, _ := url.Parse(req.URL.String())
	if err := oc.SetAuthorizationHeader(req.Header, &oauth.Credentials{Token: c.Creds.AccessToken, Secret: c.Creds.AccessSecret}, http.MethodGet, u, nil); err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", jsonType)
	var out struct {
		Token string `json:"auth_session_token"`
	}
	if err := c.send(req, &out); err != nil {
		return "", fmt.Errorf("signing in to the Device Assignment API: %w", err)
	}
	if out.Token == "" {
		return "", errors.New("signing in to the Device Assignment API: no auth_session_token")
	}
	return out.Token, nil
}

func (c *Client) send(req *http.Request, out any) error {
	if !c.SkipProtocolHeader {
		v := c.ProtocolVersion
		if v == "" {
			v = "7"
		}
		req.Header.Set(ProtocolHeader, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		code := strings.Trim(strings.TrimSpace(string(body)), `"`)
		if len(code) > 64 {
			code = code[:64]
		}
		return &APIError{Status: resp.StatusCode, Code: code}
	}
	if out != nil && len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("the answer is not JSON: %v", err)
		}
	}
	return nil
}

// do sends one API call with the session, renewing it once after a 401.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		sess := c.session
		c.mu.Unlock()
		if sess == "" {
			var err error
			if sess, err = c.newSession(ctx); err != nil {
				return err
			}
			c.mu.Lock()
			c.session = sess
			c.mu.Unlock()
		}
		var body io.Reader
		if in != nil {
			raw, err := json.Marshal(in)
			if err != nil {
				return err
			}
			body = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.url(path), body)
		if err != nil {
			return err
		}
		req.Header.Set(SessionHeader, sess)
		req.Header.Set("Accept", jsonType)
		if in != nil {
			req.Header.Set("Content-Type", jsonType)
		}
		err = c.send(req, out)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			c.mu.Lock()
			c.session = ""
			c.mu.Unlock()
			continue
		}
		return err
	}
}

// Account is GET /account.
func (c *Client) Account(ctx context.Context) (Account, error) {
	var a Account
	return a, c.do(ctx, http.MethodGet, AccountPath, nil, &a)
}

// AssignProfile is POST /account-driven-enrollment/profile.
func (c *Client) AssignProfile(ctx context.Context, discoveryURL string) error {
	return c.do(ctx, http.MethodPost, ProfilePath, map[string]string{"mdm_service_discovery_url": discoveryURL}, nil)
}

// FetchProfile is GET of the same resource.
func (c *Client) FetchProfile(ctx context.Context) (string, string, error) {
	var out struct {
		URL     string `json:"mdm_service_discovery_url"`
		Updated string `json:"last_updated_timestamp"`
	}
	err := c.do(ctx, http.MethodGet, ProfilePath, nil, &out)
	return out.URL, out.Updated, err
}

// RemoveProfile is DELETE of the same resource.
func (c *Client) RemoveProfile(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, ProfilePath, nil, nil)
}
