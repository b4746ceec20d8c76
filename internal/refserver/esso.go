package refserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"

	"howett.net/plist"
)

// Enrollment SSO (spec §2.9): the 401 of the ESSO BaseURL (judy's) names
// this document, which tells an iPhone, iPad or Vision Pro to install the
// identity provider's app and its single sign-on extension before the web
// login (Apple: Implementing the Enrollment SSO flow).
const (
	essoDocumentPath = "/esso/document"
	essoDocumentURL  = "https://" + MDMHost + essoDocumentPath
	// essoStoreID is the App Store ID of the (imaginary) authenticator app.
	essoStoreID = 1234567890
	essoBundle  = "test.acme.authenticator"
	essoTeam    = "ABCDE12345"
)

func (s *Server) essoRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+essoDocumentPath, s.essoDocument)
}

func (s *Server) essoDocument(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	doc := map[string]any{
		"iTunesStoreID":        essoStoreID,
		"AssociatedDomains":    []string{"authsrv:" + IdPHost},
		"ConfigurationProfile": s.essoProfile(),
		"Declarations":         s.essoDeclarations(),
	}
	if s.has(FaultESSONoStoreID) {
		delete(doc, "iTunesStoreID")
	}
	if s.has(FaultESSOAppIDsInStandard) {
		doc["AppIDs"] = []string{essoTeam + "." + essoBundle}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		panic("refserver: encoding the ESSO document: " + err.Error()) // fixed types: cannot happen
	}
	ct := "application/json"
	if s.has(FaultESSOWrongMediaType) {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// essoProfile is the document's ConfigurationProfile: the app's Extensible
// SSO payload and the organisation's root certificate, the only other kind
// Apple allows there.
func (s *Server) essoProfile() []byte {
	payloads := []any{
		map[string]any{"PayloadType": "com.apple.extensiblesso", "PayloadVersion": 1, "PayloadIdentifier": "test.acme.esso.sso",
			"PayloadUUID": "6F1C2A3E-0D2B-4C55-9E1A-1B2C3D4E5F61", "PayloadDisplayName": "Acme single sign-on",
			"ExtensionIdentifier": essoBundle + ".ssoextension", "TeamIdentifier": essoTeam, "Type": "Redirect",
			"URLs": []string{"https://" + IdPHost + "/"}},
		map[string]any{"PayloadType": "com.apple.security.root", "PayloadVersion": 1, "PayloadIdentifier": "test.acme.esso.root",
			"PayloadUUID": "6F1C2A3E-0D2B-4C55-9E1A-1B2C3D4E5F62", "PayloadDisplayName": "Acme root",
			"PayloadContent": s.ca.caCert.Raw},
	}
	if s.has(FaultESSOForbiddenPayload) {
		payloads = append(payloads, map[string]any{"PayloadType": "com.apple.wifi.managed", "PayloadVersion": 1,
			"PayloadIdentifier": "test.acme.esso.wifi", "PayloadUUID": "6F1C2A3E-0D2B-4C55-9E1A-1B2C3D4E5F63", "SSID_STR": "Acme"})
	}
	p := map[string]any{"PayloadType": "Configuration", "PayloadVersion": 1, "PayloadIdentifier": "test.acme.esso",
		"PayloadUUID": "6F1C2A3E-0D2B-4C55-9E1A-1B2C3D4E5F60", "PayloadDisplayName": "Acme sign-in", "PayloadContent": payloads}
	b, err := plist.Marshal(p, plist.XMLFormat)
	if err != nil {
		panic("refserver: encoding the ESSO profile: " + err.Error()) // fixed types: cannot happen
	}
	return b
}

// essoDeclarations are the document's Declarations (iOS 18.4, visionOS 2.4
// and later), each base64 JSON.
func (s *Server) essoDeclarations() []string {
	var out []string
	for _, d := range essoDeclarationSet(s.has(FaultESSONoActivation)) {
		b, err := json.Marshal(d)
		if err != nil {
			panic("refserver: encoding an ESSO declaration: " + err.Error()) // fixed types: cannot happen
		}
		out = append(out, base64.StdEncoding.EncodeToString(b))
	}
	return out
}

// essoDeclarationSet is one activation of the app's managed-app
// configuration and a legacy configuration, with their ServerTokens as
// the declaration store computes them: the same declarations, pre-staged
// for the enrollment's first sync (seedDDM), need no fetch.
func essoDeclarationSet(noActivation bool) []Declaration {
	decls := []Declaration{
		{Type: "com.apple.configuration.app.managed", Identifier: "test.acme.esso.app",
			Payload: map[string]any{"AppStoreID": "1234567890", "InstallBehavior": map[string]any{"Install": "Required"}}},
		{Type: "com.apple.configuration.legacy", Identifier: "test.acme.esso.legacy",
			Payload: map[string]any{"ProfileURL": "https://" + MDMHost + "/esso/sso.mobileconfig"}},
	}
	if !noActivation {
		decls = append([]Declaration{{Type: "com.apple.activation.simple", Identifier: "test.acme.esso.activation",
			Payload: map[string]any{"StandardConfigurations": []any{"test.acme.esso.app", "test.acme.esso.legacy"}}}}, decls...)
	}
	for i := range decls {
		decls[i] = decls[i].withToken()
	}
	return decls
}
