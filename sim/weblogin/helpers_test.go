package weblogin_test

import (
	"bytes"
	"context"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/sim/weblogin"
)

const (
	callbackScheme = "apple-remotemanagement-user-login"
	safariUA       = "Mozilla/5.0 (iPhone; CPU iPhone OS 26_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1"
)

// fixtures are the HTML pages the test servers serve.
var fixtures = template.Must(template.ParseGlob("testdata/*.html"))

// pageData fills the fixtures; each uses the fields it needs.
type pageData struct {
	CSRF, Hint, Error, Return, Relay, Assertion string
	ACS, Next, Action                           template.URL
}

func render(t *testing.T, w http.ResponseWriter, status int, name string, data pageData) {
	t.Helper()
	var buf bytes.Buffer
	if err := fixtures.ExecuteTemplate(&buf, name, data); err != nil {
		t.Errorf("render %s: %v", name, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// call is one request the driver made, as Fetch saw it.
type call struct {
	Method, URL, Purpose string
	Header               http.Header
	Body                 string
}

// recorder is the test Fetch: a real client that never follows redirects and
// dials every host name to 127.0.0.1 on the URL's port, so servers can play
// different hosts (cookies are kept per host, not per port).
type recorder struct {
	client *http.Client
	mu     sync.Mutex
	calls  []call
}

func newRecorder(t *testing.T) *recorder {
	dialer := &net.Dialer{}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}
	t.Cleanup(transport.CloseIdleConnections)
	return &recorder{client: &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (r *recorder) Fetch(ctx context.Context, method, rawURL string, header http.Header, body []byte, purpose string) (*weblogin.Page, error) {
	r.mu.Lock()
	r.calls = append(r.calls, call{Method: method, URL: rawURL, Purpose: purpose, Header: header.Clone(), Body: string(body)})
	r.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header.Clone()
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return &weblogin.Page{URL: req.URL, Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

func (r *recorder) purposes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.Purpose
	}
	return out
}

// serve starts a test server on 127.0.0.1 and returns its base URL under the
// given host name.
func serve(t *testing.T, host string, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	return "http://" + net.JoinHostPort(host, u.Port())
}

// hostOf is the host:port of a base URL.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	return u.Host
}

// fixedOTP returns an OTP source that counts its calls.
func fixedOTP(code string, calls *int) func() (string, error) {
	return func() (string, error) {
		*calls++
		return code, nil
	}
}

// callbackURL is the simple flow's success Location for token.
func callbackURL(token string) string {
	return callbackScheme + "://authentication-results?access-token=" + url.QueryEscape(token)
}

// formOf parses a request's form, failing the test handler on error.
func formOf(t *testing.T, r *http.Request) url.Values {
	t.Helper()
	if err := r.ParseForm(); err != nil {
		t.Errorf("parse form: %v", err)
	}
	return r.Form
}

func baseRequest(start string) weblogin.Request {
	return weblogin.Request{
		StartURL:       start,
		UserAgent:      safariUA,
		Username:       "user01@example.com",
		Password:       "correct horse battery staple",
		CallbackScheme: callbackScheme,
	}
}

func asError(t *testing.T, err error) *weblogin.Error {
	t.Helper()
	var e *weblogin.Error
	require.ErrorAs(t, err, &e)
	return e
}

// seen keeps what the servers received, by "METHOD /path", for assertions
// after Login returns (handlers run on other goroutines).
type seen struct {
	mu       sync.Mutex
	forms    map[string]url.Values
	headers  map[string]http.Header
	requests []string // "METHOD host/path", in order
	cookies  []string // the Cookie header of every request, in order
}

func newSeen() *seen {
	return &seen{forms: map[string]url.Values{}, headers: map[string]http.Header{}}
}

// record parses and stores r's form and header and returns the form.
func (s *seen) record(t *testing.T, r *http.Request) url.Values {
	form := formOf(t, r)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forms[key] = form
	s.headers[key] = r.Header.Clone()
	s.requests = append(s.requests, r.Method+" "+r.Host+r.URL.Path)
	s.cookies = append(s.cookies, r.Header.Get("Cookie"))
	return form
}

func (s *seen) form(key string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms[key]
}

func (s *seen) header(key string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[key]
}

func (s *seen) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// cookie is the value of the named cookie r carries, "" when none.
func cookie(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func (s *seen) cookieHeaders() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cookies...)
}
