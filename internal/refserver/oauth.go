package refserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// OAuth 2 on the identity provider (spec §2.8): the authorization code
// grant for a public client, without PKCE, as devices use it. The device is
// the only client; its id is fixed and published in the challenge.
const (
	authorizePath    = "/oauth2/authorize"
	tokenPath        = "/oauth2/token"
	authorizeURL     = "https://" + IdPHost + authorizePath
	tokenURL         = "https://" + IdPHost + tokenPath
	oauthRedirectURL = callbackScheme + ":/oauth2/redirection"
	oauthScope       = "MDM"

	// OAuthClientID is the client-id of the apple-oauth2 challenge.
	OAuthClientID = "7D1C3E5A-9B2F-4A6D-8E0C-5F3B1A7D9C2E"

	// realmQuery is the query oauth-keeps-query puts in authorization-url
	// and then requires on the authorization endpoint.
	realmQuery = "realm=acme"
)

// oauthRequest is what the authorization response needs from the request.
type oauthRequest struct {
	clientID    string
	redirectURI string
	state       string
}

// tokenResponse is RFC 6749 §5.1's successful answer.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// tokenErrorBody is RFC 6749 §5.2's error answer.
type tokenErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (s *Server) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+authorizePath, s.authorize)
	mux.HandleFunc("POST "+tokenPath, s.token)
}

// authorize checks the authorization request and opens a login session on
// the identity provider; the same password and TOTP forms follow. Unknown
// parameters (and code_challenge, which devices do not send) are ignored.
// A bad request gets a 400 page rather than an error redirect: the device
// would end the sign-in either way, and a page tells a person why.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if s.has(FaultOAuthRejectsLoginHint) && q.Has("login_hint") {
		writeHTMLError(w, http.StatusBadRequest, idpSite.title,
			"invalid authorization request: the login_hint parameter is not supported")
		return
	}
	var problems []string
	if s.has(FaultOAuthKeepsQuery) && q.Get("realm") != "acme" {
		problems = append(problems, "realm=acme is required")
	}
	if q.Get("response_type") != "code" {
		problems = append(problems, "response_type must be code")
	}
	if q.Get("client_id") != OAuthClientID {
		problems = append(problems, "client_id is not a registered client")
	}
	if q.Get("redirect_uri") != oauthRedirectURL {
		problems = append(problems, "redirect_uri is not the client's redirect URI")
	}
	if q.Get("state") == "" {
		problems = append(problems, "state is required")
	}
	if s.has(FaultOAuthRequiresPKCE) && q.Get("code_challenge") == "" {
		problems = append(problems, "code_challenge is required")
	}
	if len(problems) > 0 {
		writeText(w, http.StatusBadRequest, "invalid authorization request: "+strings.Join(problems, "; ")+"\n")
		return
	}
	hint := q.Get("login_hint")
	sess := s.newSession(w, loginSession{site: idpSite, action: idpLoginPath, finish: finishOAuth,
		oauth: oauthRequest{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), state: q.Get("state")}})
	s.writePasswordPage(w, sess, hint, "")
}

// writeAuthorizationResponse ends an OAuth sign-in (spec §2.8 step 3): 308
// to the redirect URI with a fresh code and the state, unchanged.
func (s *Server) writeAuthorizationResponse(w http.ResponseWriter, req oauthRequest, acct Account) {
	state := req.state
	if s.has(FaultOAuthStateMangled) {
		state = state[:len(state)/2]
	}
	code := s.issueCode(acct, req.clientID, req.redirectURI)
	sep := "?"
	if strings.Contains(req.redirectURI, "?") {
		sep = "&"
	}
	location := req.redirectURI + sep + "code=" + url.QueryEscape(code) + "&state=" + url.QueryEscape(state)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", "0")
	redirect(w, http.StatusPermanentRedirect, location)
}

// token is the token endpoint: form-encoded requests, JSON answers, never
// cached (RFC 6749 §5.1).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if s.has(FaultOAuthClientAuth) {
		if user, _, ok := r.BasicAuth(); !ok || user != OAuthClientID {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+IdPHost+`"`)
			s.tokenError(w, http.StatusUnauthorized, "invalid_client", "client authentication with HTTP Basic is required")
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "the form body could not be read")
		return
	}
	form := r.PostForm
	switch form.Get("grant_type") {
	case "authorization_code":
		s.tokenFromCode(w, form)
	case "refresh_token":
		if s.has(FaultOAuthNoRefresh) {
			s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "refresh tokens are not supported")
			return
		}
		s.tokenFromRefresh(w, form)
	case "":
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

func (s *Server) tokenFromCode(w http.ResponseWriter, form url.Values) {
	code, redirectURI, clientID := form.Get("code"), form.Get("redirect_uri"), form.Get("client_id")
	if code == "" || redirectURI == "" || clientID == "" {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "code, redirect_uri and client_id are required")
		return
	}
	if clientID != OAuthClientID {
		s.tokenError(w, http.StatusBadRequest, "invalid_client", "client_id is not a registered client")
		return
	}
	c, errCode := s.redeemCode(code, clientID, redirectURI)
	if errCode != "" {
		s.tokenError(w, http.StatusBadRequest, errCode, "the code is unknown, expired, already used, or was issued for another redirect_uri")
		return
	}
	acct, ok := s.dir.lookup(c.user)
	if !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the user is no longer in the directory")
		return
	}
	access, refresh := s.issueAccess(acct), s.issueRefresh(acct, clientID)
	s.noteIssued(c, access, refresh)
	s.writeTokens(w, access, refresh)
}

// tokenFromRefresh rotates the refresh token: the old one stops working.
// client_id may be left out (a public client proves nothing with it).
func (s *Server) tokenFromRefresh(w http.ResponseWriter, form url.Values) {
	rt, clientID := form.Get("refresh_token"), form.Get("client_id")
	if rt == "" {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}
	if clientID == "" {
		clientID = OAuthClientID
	}
	if clientID != OAuthClientID {
		s.tokenError(w, http.StatusBadRequest, "invalid_client", "client_id is not a registered client")
		return
	}
	if scope := form.Get("scope"); scope != "" && scope != oauthScope {
		s.tokenError(w, http.StatusBadRequest, "invalid_scope", "the only scope is "+oauthScope)
		return
	}
	g, ok := s.redeemRefresh(rt, clientID)
	if !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown, expired or already used")
		return
	}
	acct, ok := s.dir.lookup(g.user)
	if !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_grant", "the user is no longer in the directory")
		return
	}
	s.writeTokens(w, s.issueAccess(acct), s.issueRefresh(acct, clientID))
}

func (s *Server) writeTokens(w http.ResponseWriter, access, refresh string) {
	tokenType := "Bearer"
	if s.has(FaultOAuthBadTokenType) {
		tokenType = "mac"
	}
	s.writeTokenJSON(w, http.StatusOK, tokenResponse{
		TokenType:    tokenType,
		AccessToken:  access,
		ExpiresIn:    int(accessTokenTTL.Seconds()),
		RefreshToken: refresh,
		Scope:        oauthScope,
	})
}

// writeTokenJSON is writeJSON for the token endpoint, where oauth-token-bom
// puts a UTF-8 byte-order mark in front of every answer.
func (s *Server) writeTokenJSON(w http.ResponseWriter, status int, v any) {
	if !s.has(FaultOAuthTokenBOM) {
		writeJSON(w, status, v)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		panic("refserver: encoding JSON response: " + err.Error()) // fixed types: cannot happen
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte("\xEF\xBB\xBF"), body...))
}

// tokenError answers with an RFC 6749 §5.2 error body; oauth-error-200
// sends it with status 200, as some providers wrongly do.
func (s *Server) tokenError(w http.ResponseWriter, status int, code, description string) {
	if s.has(FaultOAuthError200) {
		status = http.StatusOK
	}
	s.writeTokenJSON(w, status, tokenErrorBody{Error: code, Description: description})
}
