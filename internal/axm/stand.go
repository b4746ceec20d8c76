package axm

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
)

// Paths and headers of Apple's API.
const (
	SessionPath  = "/session"
	AccountPath  = "/account"
	ProfilePath  = "/account-driven-enrollment/profile"
	FallbackPath = "/mdmBaseURL"

	SessionHeader  = "X-ADM-Auth-Session"
	ProtocolHeader = "X-Server-Protocol-Version"

	jsonType = "application/json;charset=UTF8"
)

// Apple's error codes for the profile resource (spec §2.3.1).
const (
	CodeURLRequired     = "MDM_SERVICE_DISCOVERY_URL_REQUIRED"
	CodeURLNotValid     = "MDM_SERVICE_DISCOVERY_URL_NOT_VALID"
	CodeOrgNotSupported = "ORG_NOT_SUPPORTED"
	CodeNotFound        = "NOT_FOUND"
	CodeMalformed       = "MALFORMED_REQUEST_BODY"
	CodeUnauthorized    = "UNAUTHORIZED"
	CodeForbidden       = "FORBIDDEN"
)

const (
	maxBody       = 64 << 10
	maxCalls      = 2000 // per server: a retry loop must not grow memory without bound
	maxNonces     = 10000
	sessionMaxAge = 30 * time.Minute
)

// ServerConfig is one MDM server of the organisation in AxM: its name and
// the credentials of its token.
type ServerConfig struct {
	Name  string
	Creds Credentials
}

// Config sets up a stand-in.
type Config struct {
	Servers []ServerConfig
	// Defaults maps a model family (device.Family: iPhone, iPad, Mac,
	// RealityDevice) to a server name: AxM's default device assignment. Nil
	// sends every family to Servers[0]; otherwise a family without one gets
	// the failed lookup Apple's side gives.
	Defaults map[string]string
	// VerifiedDomains are the identifier domains the organisation verified;
	// empty: any.
	VerifiedDomains []string
	Now             func() time.Time
	// RefuseFirst is a documented code answered (400) to each server's
	// first POST, so a server's handling of it can be judged (ABM-006).
	RefuseFirst string
	// Logf hears one line per call, never a credential.
	Logf func(format string, args ...any)
}

// Stand is a running stand-in's state; Handler serves it.
type Stand struct {
	cfg      Config
	mu       sync.Mutex
	servers  map[string]*server // by name
	byKey    map[string]*server // by consumer key
	sessions map[string]session
	nonces   map[string]time.Time
	orphans  []sim.AxMCall // calls that named no known server
	changed  chan struct{} // closed and replaced on every call
}

type server struct {
	ServerConfig
	uuid     string
	url      string
	updated  time.Time
	refused  bool
	calls    []sim.AxMCall
	accepted int // accepted POSTs
}

type session struct {
	server string
	at     time.Time
}

// New checks cfg and builds a stand-in.
func New(cfg Config) (*Stand, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Servers) == 0 {
		return nil, fmt.Errorf("no MDM server: make a token with 'enrollsim axm token'")
	}
	s := &Stand{cfg: cfg, servers: map[string]*server{}, byKey: map[string]*server{}, sessions: map[string]session{},
		nonces: map[string]time.Time{}, changed: make(chan struct{})}
	for _, sc := range cfg.Servers {
		if sc.Name == "" || !sc.Creds.valid() {
			return nil, fmt.Errorf("server %q: a name and complete credentials are needed", sc.Name)
		}
		if _, dup := s.servers[sc.Name]; dup {
			return nil, fmt.Errorf("server %q listed twice", sc.Name)
		}
		srv := &server{ServerConfig: sc, uuid: newID()}
		s.servers[sc.Name] = srv
		s.byKey[sc.Creds.ConsumerKey] = srv
	}
	families := []string{string(device.IPhone), string(device.IPad), string(device.Mac), string(device.RealityDevice)}
	for fam, name := range cfg.Defaults {
		if !slices.Contains(families, fam) {
			return nil, fmt.Errorf("default for %q: not a model family (want %s)", fam, strings.Join(families, ", "))
		}
		if _, ok := s.servers[name]; !ok {
			return nil, fmt.Errorf("default for %s: no server %q", fam, name)
		}
	}
	switch cfg.RefuseFirst {
	case "", CodeOrgNotSupported, CodeURLNotValid, CodeURLRequired:
	default:
		return nil, fmt.Errorf("refuse first with %q: want %s, %s or %s", cfg.RefuseFirst, CodeOrgNotSupported, CodeURLNotValid, CodeURLRequired)
	}
	return s, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return strings.ToUpper(h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:])
}

// Handler serves Apple's API and the devices' fallback on one host.
func (s *Stand) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+SessionPath, s.session)
	mux.HandleFunc("GET "+AccountPath, s.withSession(s.account))
	mux.HandleFunc("POST "+ProfilePath, s.withSession(s.assign))
	mux.HandleFunc("GET "+ProfilePath, s.withSession(s.fetch))
	mux.HandleFunc("DELETE "+ProfilePath, s.withSession(s.remove))
	mux.HandleFunc("GET "+FallbackPath, s.fallback)
	return mux
}

// answer is what a handler says; record logs it with the request.
type answer struct {
	status int
	code   string
	body   any // JSON; nil with code: the code as plain text
}

func (s *Stand) reply(w http.ResponseWriter, r *http.Request, srv *server, sessionOK bool, body []byte, a answer, sessionID string) {
	call := sim.AxMCall{Time: s.cfg.Now(), Method: r.Method, Path: r.URL.Path, Header: redactHeader(r.Header),
		Body: body, Status: a.status, Code: a.code, SessionOK: sessionOK}
	s.mu.Lock()
	name := ""
	if srv != nil {
		name = srv.Name
		if len(srv.calls) < maxCalls {
			srv.calls = append(srv.calls, call)
		}
	} else if len(s.orphans) < maxCalls {
		s.orphans = append(s.orphans, call)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if s.cfg.Logf != nil {
		who := name
		if who == "" {
			who = "(unknown server)"
		}
		line := fmt.Sprintf("%s %s %s → %d", who, r.Method, r.URL.Path, a.status)
		if a.code != "" {
			line += " " + a.code
		}
		s.cfg.Logf("%s", line)
	}
	w.Header().Set("Cache-Control", "no-store")
	if sessionID != "" {
		w.Header().Set(SessionHeader, sessionID)
	}
	if a.body == nil && a.code != "" {
		w.Header().Set("Content-Type", "text/plain;charset=UTF8")
		w.WriteHeader(a.status)
		io.WriteString(w, a.code)
		return
	}
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(a.status)
	if a.body != nil {
		_ = json.NewEncoder(w).Encode(a.body)
	}
}

func redactHeader(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range []string{"Authorization", SessionHeader, "Cookie"} {
		if len(out.Values(k)) > 0 {
			out.Set(k, "[redacted]")
		}
	}
	return out
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	return b, err == nil
}

// session is GET /session: OAuth 1.0a with the token's credentials.
func (s *Stand) session(w http.ResponseWriter, r *http.Request) {
	body, _ := readBody(w, r)
	params, err := oauthParams(r.Header.Get("Authorization"))
	s.mu.Lock()
	var srv *server
	if err == nil {
		srv = s.byKey[params["oauth_consumer_key"]]
	}
	s.mu.Unlock()
	fail := func(status int, code, why string) {
		if s.cfg.Logf != nil {
			s.cfg.Logf("session refused: %s", why)
		}
		s.reply(w, r, srv, false, body, answer{status: status, code: code}, "")
	}
	switch {
	case err != nil:
		fail(http.StatusUnauthorized, CodeUnauthorized, err.Error())
		return
	case srv == nil:
		fail(http.StatusUnauthorized, CodeUnauthorized, "unknown oauth_consumer_key")
		return
	case params["oauth_token"] != srv.Creds.AccessToken:
		fail(http.StatusUnauthorized, CodeUnauthorized, "oauth_token is not the token's access_token")
		return
	}
	// Clients sign with the wall clock whatever the stand-in's own clock
	// says (a test's may be simulated), so the timestamp is judged by it.
	if err := verifyOAuth(r, params, srv.Creds, time.Now()); err != nil {
		fail(http.StatusUnauthorized, CodeUnauthorized, err.Error())
		return
	}
	now := s.cfg.Now()
	if !srv.Creds.AccessTokenExpiry.IsZero() && now.After(srv.Creds.AccessTokenExpiry) {
		fail(http.StatusForbidden, CodeForbidden, "the server token expired; make a new one with 'enrollsim axm token'")
		return
	}
	s.mu.Lock()
	nonce := srv.Creds.ConsumerKey + "/" + params["oauth_nonce"]
	_, reused := s.nonces[nonce]
	if !reused {
		if len(s.nonces) >= maxNonces {
			for k, at := range s.nonces {
				if now.Sub(at) > 20*time.Minute || len(s.nonces) >= maxNonces {
					delete(s.nonces, k)
				}
			}
		}
		s.nonces[nonce] = now
	}
	s.mu.Unlock()
	if reused {
		fail(http.StatusUnauthorized, CodeUnauthorized, "oauth_nonce used before")
		return
	}
	id := newID()
	s.mu.Lock()
	s.sessions[id] = session{server: srv.Name, at: now}
	s.mu.Unlock()
	s.reply(w, r, srv, true, body, answer{status: http.StatusOK, body: map[string]string{"auth_session_token": id}}, "")
}

// withSession demands a live X-ADM-Auth-Session, as Apple's API does.
func (s *Stand) withSession(next func(*server, []byte, *http.Request) answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		id := strings.TrimSpace(r.Header.Get(SessionHeader))
		s.mu.Lock()
		sess, found := s.sessions[id]
		var srv *server
		if found && s.cfg.Now().Sub(sess.at) < sessionMaxAge {
			srv = s.servers[sess.server]
		}
		s.mu.Unlock()
		switch {
		case srv == nil:
			s.reply(w, r, nil, false, body, answer{status: http.StatusUnauthorized, code: CodeUnauthorized}, "")
		case !ok:
			s.reply(w, r, srv, true, body, answer{status: http.StatusBadRequest, code: CodeMalformed}, id)
		default:
			s.reply(w, r, srv, true, body, next(srv, body, r), id)
		}
	}
}

// accountURL is one entry of the account's urls list.
type accountURL struct {
	URI        string   `json:"uri"`
	HTTPMethod []string `json:"http_method"`
	Limit      struct {
		Default int `json:"default"`
		Maximum int `json:"maximum"`
	} `json:"limit"`
}

func (s *Stand) account(srv *server, _ []byte, _ *http.Request) answer {
	urls := []accountURL{}
	for _, u := range []struct {
		uri     string
		methods []string
	}{
		{SessionPath, []string{"GET"}}, {AccountPath, []string{"GET"}},
		{ProfilePath, []string{"POST", "GET", "DELETE"}},
	} {
		e := accountURL{URI: u.uri, HTTPMethod: u.methods}
		e.Limit.Default, e.Limit.Maximum = 1, 1
		urls = append(urls, e)
	}
	return answer{status: http.StatusOK, body: map[string]any{
		"server_name": srv.Name, "server_uuid": srv.uuid, "admin_id": "admin@acme.test", "facilitator_id": "admin@acme.test",
		"org_name": "Acme (enrollsim stand-in)", "org_email": "it@acme.test", "org_phone": "+1 555 0100",
		"org_address": "1 Infinite Loop, Test", "org_id": "1234567", "org_id_hash": "enrollsim-stand-in", "org_type": "org",
		"org_version": "v2", "urls": urls,
	}}
}

func (s *Stand) assign(srv *server, body []byte, _ *http.Request) answer {
	var req map[string]any
	// A byte-order mark or UTF-16 text is read as a device's JSON reader
	// reads it: whether Apple's service does is not documented, and the
	// simulator warns (ABM-001) rather than refuse the registration.
	text, _ := sim.JSONText(body)
	if err := json.Unmarshal(text, &req); err != nil {
		return answer{status: http.StatusBadRequest, code: CodeMalformed}
	}
	s.mu.Lock()
	refuse := s.cfg.RefuseFirst != "" && !srv.refused
	srv.refused = true
	s.mu.Unlock()
	if refuse {
		return answer{status: http.StatusBadRequest, code: s.cfg.RefuseFirst}
	}
	v, present := req["mdm_service_discovery_url"]
	raw, isString := v.(string)
	if present && v != nil && !isString {
		return answer{status: http.StatusBadRequest, code: CodeMalformed}
	}
	if strings.TrimSpace(raw) == "" {
		return answer{status: http.StatusBadRequest, code: CodeURLRequired}
	}
	if !WellFormedHTTPS(raw) {
		return answer{status: http.StatusBadRequest, code: CodeURLNotValid}
	}
	s.mu.Lock()
	srv.url, srv.updated = raw, s.cfg.Now()
	srv.accepted++
	s.mu.Unlock()
	// Apple documents a bare 200; an empty object keeps clients that decode
	// every answer as JSON happy.
	return answer{status: http.StatusOK, body: struct{}{}}
}

// WellFormedHTTPS is Apple's test for a discovery URL as far as it is
// documented: absolute https with a host, no user info, no fragment.
func WellFormedHTTPS(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && u.Fragment == "" && u.Opaque == ""
}

func (s *Stand) fetch(srv *server, _ []byte, _ *http.Request) answer {
	s.mu.Lock()
	u, at := srv.url, srv.updated
	s.mu.Unlock()
	if u == "" {
		return answer{status: http.StatusNotFound, code: CodeNotFound}
	}
	return answer{status: http.StatusOK, body: map[string]string{
		"mdm_service_discovery_url": u, "last_updated_timestamp": at.UTC().Format(time.RFC3339)}}
}

func (s *Stand) remove(srv *server, _ []byte, _ *http.Request) answer {
	s.mu.Lock()
	srv.url, srv.updated = "", time.Time{}
	s.mu.Unlock()
	return answer{status: http.StatusOK, body: struct{}{}}
}

// fallback is the devices' lookup: the family's default server, and its
// registered URL with the device's query appended.
func (s *Stand) fallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	id, family := q.Get("user-identifier"), q.Get("model-family")
	notFound := func(why string) {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintln(w, why)
	}
	if len(s.cfg.VerifiedDomains) > 0 {
		_, domain, _ := strings.Cut(id, "@")
		if !slices.ContainsFunc(s.cfg.VerifiedDomains, func(d string) bool { return strings.EqualFold(d, domain) }) {
			notFound(fmt.Sprintf("the domain of %q is not verified for the organisation", id))
			return
		}
	}
	name := s.cfg.Servers[0].Name
	if s.cfg.Defaults != nil {
		var ok bool
		if name, ok = s.cfg.Defaults[family]; !ok {
			notFound(fmt.Sprintf("no default MDM server is assigned for model family %q", family))
			return
		}
	}
	s.mu.Lock()
	registered := s.servers[name].url
	s.mu.Unlock()
	if registered == "" {
		notFound(fmt.Sprintf("MDM server %s has no account-driven enrollment service discovery URL", name))
		return
	}
	target, err := url.Parse(registered)
	if err != nil {
		notFound("the registered URL does not parse")
		return
	}
	// Appended in the device's order, keeping the registered URL's own
	// query exactly as registered (url.Values.Encode would sort it).
	add := "user-identifier=" + url.QueryEscape(id)
	if family != "" {
		add += "&model-family=" + url.QueryEscape(family)
	}
	if target.RawQuery == "" {
		target.RawQuery = add
	} else {
		target.RawQuery += "&" + add
	}
	http.Redirect(w, r, target.String(), http.StatusFound)
}

// Calls returns a copy of what a server sent ("" for calls that named no
// known server).
func (s *Stand) Calls(name string) []sim.AxMCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		return slices.Clone(s.orphans)
	}
	if srv := s.servers[name]; srv != nil {
		return slices.Clone(srv.calls)
	}
	return nil
}

// Registered is a server's current registration.
func (s *Stand) Registered(name string) (string, time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	srv := s.servers[name]
	if srv == nil || srv.url == "" {
		return "", time.Time{}, false
	}
	return srv.url, srv.updated, true
}
