package refserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/enrollsim/enrollsim/sim/profile"
)

// The enrollment half of the MDM (spec §2.5, §2.6, §2.10): the BaseURLs
// that discovery hands out. Each answers the device's first POST with a 401
// challenge naming the sign-in method, and the second POST, which carries
// the access token, with the signed enrollment profile.
//
// This is a test server: the body's CMS signature must verify, but its
// signer chain is not checked. A real device signs with its Apple-issued
// identity, which a simulator cannot have (spec §2.5, §5), so verifying the
// chain would refuse every simulated device.
const (
	MethodWeb    = "apple-as-web"
	MethodOAuth2 = "apple-oauth2"

	// essoHTTPURL is the (wrong, plain-http) Enrollment SSO URL of the
	// esso-http fault. Nothing serves it.
	essoHTTPURL = "http://" + MDMHost + "/esso"

	mediaPKCS7          = "application/pkcs7-signature"
	maxEnrollBodyBytes  = 64 << 10
	redirectedEnrollDir = "/enrollment" // where enroll-redirects sends the POST

	// crossUser is whose profile token-cross-user hands every token.
	crossUser = "alice@acme.test"
)

// enrollEndpoint is one BaseURL: the enrollment type it serves and the
// sign-in method its challenge names.
type enrollEndpoint struct {
	path  string
	kind  string
	oauth bool
	esso  bool // the 401 names the Enrollment SSO document
}

var enrollEndpoints = []enrollEndpoint{
	{enrollBYODPath, KindBYOD, false, false},
	{enrollADDEPath, KindADDE, false, false},
	{enrollOAuthBYODPath, KindBYOD, true, false},
	{enrollOAuthADDEPath, KindADDE, true, false},
	{enrollESSOBYODPath, KindBYOD, false, true},
}

// b64token is RFC 6750's token68-like syntax for bearer credentials.
// sloppyToken is what the server of callback-double-encoded takes instead:
// '%' too, so that the once-decoded token a device sends is looked up and
// refused like any unknown token (401 and a fresh challenge) rather than
// turned away as malformed.
var (
	b64token    = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)
	sloppyToken = regexp.MustCompile(`^[A-Za-z0-9\-._~+/%]+=*$`)
)

func (s *Server) enrollRoutes(mux *http.ServeMux) {
	for _, e := range enrollEndpoints {
		if s.has(FaultEnrollRedirects) {
			target := "https://" + MDMHost + redirectedEnrollDir + strings.TrimPrefix(e.path, "/enroll")
			mux.HandleFunc("POST "+e.path, func(w http.ResponseWriter, r *http.Request) {
				redirect(w, http.StatusTemporaryRedirect, target)
			})
			mux.HandleFunc("POST "+redirectedEnrollDir+strings.TrimPrefix(e.path, "/enroll"), func(w http.ResponseWriter, r *http.Request) {
				s.enroll(w, r, e)
			})
			continue
		}
		mux.HandleFunc("POST "+e.path, func(w http.ResponseWriter, r *http.Request) {
			s.enroll(w, r, e)
		})
	}
}

// enroll answers both enrollment POSTs. Every refusal is a 4xx: nothing a
// device sends here may provoke a 5xx.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request, e enrollEndpoint) {
	// Answers carry a profile with a SCEP challenge, or a per-request
	// challenge: no cache may keep them.
	w.Header().Set("Cache-Control", "no-store")

	if s.has(FaultEnrollRejectsPKCS7) && mediaType(r.Header.Get("Content-Type")) == mediaPKCS7 {
		s.enrollError(w, e, http.StatusUnsupportedMediaType, "unsupported Content-Type "+mediaPKCS7+"\n")
		return
	}

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEnrollBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.enrollError(w, e, http.StatusBadRequest, fmt.Sprintf("the enrollment request is larger than %d KiB\n", maxEnrollBodyBytes>>10))
			return
		}
		s.enrollError(w, e, http.StatusBadRequest, "could not read the enrollment request: "+err.Error()+"\n")
		return
	}
	_, product, _, err := profile.ParseEnrollmentBody(body)
	switch {
	case err != nil && !s.has(FaultEnrollAcceptsGarbage):
		s.enrollError(w, e, http.StatusBadRequest,
			"the body is not a signed enrollment request (CMS SignedData over a plist with LANGUAGE, PRODUCT, VERSION): "+err.Error()+"\n")
		return
	case err == nil && !productEnrolls(product) && !s.has(FaultEnrollAnyProduct):
		s.enrollError(w, e, http.StatusForbidden,
			fmt.Sprintf("PRODUCT %q cannot enroll with Acme: only iPhone, iPad, Mac and Apple Vision Pro can\n", product))
		return
	case err == nil && s.has(FaultEnrollAppleSignatureOnly) && !profile.IsAppleSigned(body):
		// What a production server that verifies the device's Apple
		// identity does with a simulator's body: a legitimate refusal.
		s.enrollError(w, e, http.StatusForbidden, "the enrollment request is not signed by an Apple device identity\n")
		return
	}

	syntax := b64token
	if s.has(FaultCallbackDoubleEncoded) {
		syntax = sloppyToken
	}
	token, present, wellFormed := bearerToken(r, syntax)
	switch {
	case !present:
		if s.has(FaultProfileWithoutAuth) {
			s.writeProfile(w, s.defaultAccount(e), e.kind)
			return
		}
		s.challenge401(w, e)
		return
	case !wellFormed:
		s.enrollError(w, e, http.StatusBadRequest, "the Authorization header must be \"Bearer <token>\"\n")
		return
	}

	acct, ok := s.tokenAccount(token, e.kind)
	if !ok {
		if _, known := s.lookupAccess(token); !known && s.has(FaultTokenRefusal5xx) {
			// A server whose token lookup fails hard on a miss.
			s.logf("refserver: token-refusal-5xx: unknown bearer token at %s", e.path)
			writeText(w, http.StatusInternalServerError, "internal server error\n")
			return
		}
		if !s.has(FaultTokenIgnored) {
			// Unknown, expired or issued for the other enrollment type:
			// a fresh challenge lets the user sign in again.
			s.challenge401(w, e)
			return
		}
		acct = s.defaultAccount(e)
	}
	if s.has(FaultTokenCrossUser) {
		if alice, ok := s.dir.lookup(crossUser); ok {
			acct = alice
		}
	}
	if s.has(FaultSecondEnrollmentOtherUser) && s.mdm.hasEnrollment(acct.Identifier) {
		other := s.someoneElse(acct)
		s.tokens.rebind(token, other.Identifier)
		acct = other
	}
	s.writeProfile(w, acct, e.kind)
}

// tokenAccount resolves an access token presented at an endpoint of kind:
// it must exist, be unexpired, have been issued for that enrollment type,
// and name a user the directory still knows.
func (s *Server) tokenAccount(token, kind string) (Account, bool) {
	g, ok := s.lookupAccess(token)
	if !ok || g.kind != kind {
		return Account{}, false
	}
	return s.dir.lookup(g.user)
}

// defaultAccount is whom a fault hands a profile when no real user is
// known: the first directory user the endpoint serves.
func (s *Server) defaultAccount(e enrollEndpoint) Account {
	for _, a := range s.dir.accounts {
		if a.Kind == e.kind && (a.Auth == AuthOAuth2) == e.oauth {
			return a
		}
	}
	return s.dir.accounts[0]
}

// productEnrolls accepts the families that do account-driven enrollment,
// by PRODUCT prefix (iPhone17,2, iPad16,3, Mac15,12, RealityDevice14,1).
func productEnrolls(product string) bool {
	for _, family := range []string{"iPhone", "iPad", "Mac", "RealityDevice"} {
		if strings.HasPrefix(product, family) {
			return true
		}
	}
	return false
}

// bearerToken reads "Authorization: Bearer <token>". present is false when
// the request has no Authorization header; wellFormed is false when it has
// one that is not exactly one bearer credential of the given syntax.
func bearerToken(r *http.Request, syntax *regexp.Regexp) (token string, present, wellFormed bool) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", false, false
	}
	if len(values) > 1 {
		return "", true, false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !syntax.MatchString(token) {
		return "", true, false
	}
	return token, true, true
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(contentType))
	}
	return mt
}

// challenge401 is the answer to a POST without a usable token (spec §2.6).
func (s *Server) challenge401(w http.ResponseWriter, e enrollEndpoint) {
	if !s.has(FaultNoWWWAuthenticate) {
		w.Header().Set("WWW-Authenticate", s.challenge(e))
	}
	switch {
	case s.has(FaultESSOHTTP):
		w.Header().Set("X-Apple-MDM-ESSO", essoHTTPURL)
	case e.esso:
		w.Header().Set("X-Apple-MDM-ESSO", essoDocumentURL)
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusUnauthorized)
}

// enrollError refuses a request the server will not enroll. The body is
// plain text, and there is no challenge: signing in would not help.
func (s *Server) enrollError(w http.ResponseWriter, e enrollEndpoint, status int, msg string) {
	if s.has(FaultErrorWithChallenge) {
		w.Header().Set("WWW-Authenticate", s.challenge(e))
	}
	writeText(w, status, msg)
}

// challenge builds the WWW-Authenticate value in Apple's form: scheme
// Bearer, then comma-separated name="value" pairs (spec §2.6).
func (s *Server) challenge(e enrollEndpoint) string {
	var params [][2]string
	if e.oauth {
		authz := authorizeURL
		if s.has(FaultOAuthKeepsQuery) {
			authz += "?" + realmQuery
		}
		params = [][2]string{
			{"method", MethodOAuth2},
			{"authorization-url", authz},
			{"token-url", tokenURL},
			{"redirect-url", oauthRedirectURL},
			{"client-id", OAuthClientID},
		}
		if !s.has(FaultOAuthNoScope) {
			params = append(params, [2]string{"scope", oauthScope})
		}
	} else {
		login := loginURL
		if s.has(FaultHTTPLoginURL) {
			login = "http://" + strings.TrimPrefix(login, "https://")
		}
		if s.has(FaultLoginURLQuery) {
			login += "?" + tenantQuery
		}
		params = [][2]string{{"method", MethodWeb}}
		if !s.has(FaultChallengeNoURL) {
			params = append(params, [2]string{"url", login})
		}
	}
	if s.has(FaultUnknownMethod) {
		params[0][1] = "apple-magic"
	}
	sep := ", "
	if s.has(FaultCommalessChallenge) {
		sep = " "
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p[0] + `="` + p[1] + `"`
	}
	return "Bearer " + strings.Join(parts, sep)
}
