package refserver

import (
	"crypto/rand"
	"encoding/base64"
	"maps"
	"strings"
	"sync"
	"time"
)

// Lifetimes of what the server hands out. Access tokens live an hour, as the
// OAuth token response's expires_in says; the rest are short because each
// is redeemed within seconds of being issued.
const (
	accessTokenTTL  = time.Hour
	refreshTokenTTL = 30 * 24 * time.Hour
	authCodeTTL     = 5 * time.Minute  // RFC 6749 §4.1.2: short, at most 10 minutes
	ticketTTL       = 2 * time.Minute  // idp.acme.test → mdm.acme.test hand-over
	loginSessionTTL = 15 * time.Minute // one sign-in in the web view
)

// grant is what an access token (or a hand-over ticket) stands for: a user
// of the directory, the enrollment type the token was issued for and when
// it stops being valid.
type grant struct {
	user    string // Account.Identifier
	kind    string // KindBYOD or KindADDE
	expires time.Time
}

// authCode is an OAuth 2 authorization code: single use, bound to the
// client and redirect URI of the authorization request.
type authCode struct {
	grant
	clientID    string
	redirectURI string
	used        bool
	issued      []string // access and refresh tokens minted from it
}

// refreshGrant is an OAuth 2 refresh token's binding.
type refreshGrant struct {
	grant
	clientID string
}

// tokenStore keeps every credential the server has issued, in memory. Each
// kind lives in its own map, so a value issued as one thing (a ticket, say)
// is never accepted as another (an access token).
type tokenStore struct {
	mu      sync.Mutex
	access  map[string]grant
	refresh map[string]refreshGrant
	codes   map[string]*authCode
	tickets map[string]grant
	// revoked remembers whose a revoked access token was, so a request
	// that still carries it gets the challenge of that user's sign-in.
	revoked map[string]grant
}

func newTokenStore() *tokenStore {
	return &tokenStore{
		access:  map[string]grant{},
		refresh: map[string]refreshGrant{},
		codes:   map[string]*authCode{},
		tickets: map[string]grant{},
		revoked: map[string]grant{},
	}
}

// newSecret returns 32 random bytes, base64url without padding: 256 bits,
// safe in a URL query without escaping.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// newStdSecret is newSecret in standard base64 with padding, drawn again
// until it has a '/' or '+': a token whose percent-encoding shows, for
// callback-double-encoded.
func newStdSecret() string {
	b := make([]byte, 32)
	for {
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		if t := base64.StdEncoding.EncodeToString(b); strings.ContainsAny(t, "/+") {
			return t
		}
	}
}

// issued tells Config.OnIssue of a credential the moment it is minted.
func (s *Server) issued(credential string) {
	if s.cfg.OnIssue != nil {
		s.cfg.OnIssue(credential)
	}
}

// purge drops what has expired; the maps stay small on a test server, so
// a sweep on every issue is cheap enough.
func (ts *tokenStore) purge(now time.Time) {
	maps.DeleteFunc(ts.access, func(_ string, g grant) bool { return !now.Before(g.expires) })
	maps.DeleteFunc(ts.refresh, func(_ string, g refreshGrant) bool { return !now.Before(g.expires) })
	maps.DeleteFunc(ts.codes, func(_ string, c *authCode) bool { return !now.Before(c.expires) })
	maps.DeleteFunc(ts.tickets, func(_ string, g grant) bool { return !now.Before(g.expires) })
}

// kindOf is the enrollment type the server enrolls acct for: the
// account's own, unless a discovery fault hands everyone the same type, in
// which case the tokens follow the documents (the fault breaks discovery's
// routing, not the enrollment that follows it).
func (s *Server) kindOf(acct Account) string {
	switch {
	case s.has(FaultWellKnownADDEForAll):
		return KindADDE
	case s.has(FaultWellKnownBYODForAll):
		return KindBYOD
	}
	return acct.Kind
}

// issueAccess mints an access token for acct's enrollment. Under
// token-predictable the token is the base64 of the user name: the same on
// every sign-in and guessable by anyone; under callback-double-encoded it
// is standard base64, whose '/', '+' and '=' need percent-encoding.
func (s *Server) issueAccess(acct Account) string {
	now := s.cfg.Now()
	token := newSecret()
	switch {
	case s.has(FaultTokenPredictable):
		token = base64.RawURLEncoding.EncodeToString([]byte(acct.Identifier))
	case s.has(FaultCallbackDoubleEncoded):
		token = newStdSecret()
	}
	s.issued(token)
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.purge(now)
	ts.access[token] = grant{user: acct.Identifier, kind: s.kindOf(acct), expires: now.Add(accessTokenTTL)}
	return token
}

// lookupAccess returns the grant of a live access token.
func (s *Server) lookupAccess(token string) (grant, bool) {
	now := s.cfg.Now()
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.access[token]
	if !ok || !now.Before(g.expires) {
		return grant{}, false
	}
	return g, true
}

// issueTicket mints the one-time ticket with which the identity provider
// hands a signed-in user back to the MDM.
func (s *Server) issueTicket(acct Account) string {
	now := s.cfg.Now()
	ticket := newSecret()
	s.issued(ticket)
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.purge(now)
	ts.tickets[ticket] = grant{user: acct.Identifier, kind: s.kindOf(acct), expires: now.Add(ticketTTL)}
	return ticket
}

// redeemTicket consumes a ticket: it works once, before it expires.
func (s *Server) redeemTicket(ticket string) (grant, bool) {
	now := s.cfg.Now()
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.tickets[ticket]
	delete(ts.tickets, ticket)
	if !ok || !now.Before(g.expires) {
		return grant{}, false
	}
	return g, true
}

// issueCode mints an authorization code for acct.
func (s *Server) issueCode(acct Account, clientID, redirectURI string) string {
	now := s.cfg.Now()
	code := newSecret()
	s.issued(code)
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.purge(now)
	ts.codes[code] = &authCode{
		grant:       grant{user: acct.Identifier, kind: s.kindOf(acct), expires: now.Add(authCodeTTL)},
		clientID:    clientID,
		redirectURI: redirectURI,
	}
	return code
}

// redeemCode checks an authorization code against the token request and
// marks it used. The answer is an RFC 6749 error code, "" on success. A
// second use revokes what the first one issued (RFC 6749 §4.1.2), unless
// oauth-code-reuse lets codes be redeemed again.
func (s *Server) redeemCode(code, clientID, redirectURI string) (*authCode, string) {
	now := s.cfg.Now()
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	c, ok := ts.codes[code]
	switch {
	case !ok || !now.Before(c.expires):
		return nil, "invalid_grant"
	case c.used && !s.has(FaultOAuthCodeReuse):
		for _, t := range c.issued {
			ts.revoke(t)
			delete(ts.refresh, t)
		}
		c.issued = nil
		return nil, "invalid_grant"
	case c.clientID != clientID || c.redirectURI != redirectURI:
		return nil, "invalid_grant"
	}
	c.used = true
	return c, ""
}

// noteIssued records tokens minted from a code, for revocation on reuse.
func (s *Server) noteIssued(c *authCode, tokens ...string) {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	c.issued = append(c.issued, tokens...)
}

// issueRefresh mints a refresh token for acct and the client.
func (s *Server) issueRefresh(acct Account, clientID string) string {
	now := s.cfg.Now()
	token := newSecret()
	s.issued(token)
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.purge(now)
	ts.refresh[token] = refreshGrant{
		grant:    grant{user: acct.Identifier, kind: s.kindOf(acct), expires: now.Add(refreshTokenTTL)},
		clientID: clientID,
	}
	return token
}

// redeemRefresh consumes a refresh token (they rotate: each one works once)
// and returns its binding.
func (s *Server) redeemRefresh(token, clientID string) (refreshGrant, bool) {
	now := s.cfg.Now()
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.refresh[token]
	if !ok || !now.Before(g.expires) || g.clientID != clientID {
		return refreshGrant{}, false
	}
	delete(ts.refresh, token)
	return g, true
}

// revoke drops an access token, remembering whose it was. The caller holds
// ts.mu.
func (ts *tokenStore) revoke(token string) {
	if g, ok := ts.access[token]; ok {
		ts.revoked[token] = g
	}
	delete(ts.access, token)
}

// revokedUser is the user a revoked access token was issued to.
func (s *Server) revokedUser(token string) (string, bool) {
	ts := s.tokens
	ts.mu.Lock()
	defer ts.mu.Unlock()
	g, ok := ts.revoked[token]
	return g.user, ok
}

// rebind gives a live access token to another user (second-enrollment-other-user).
func (ts *tokenStore) rebind(token, user string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if g, ok := ts.access[token]; ok {
		g.user = user
		ts.access[token] = g
	}
}
