package refserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// essoDoc fetches and decodes the Enrollment SSO document.
func essoDoc(t *testing.T, s *Server) map[string]any {
	t.Helper()
	rec := serve(t, s, http.MethodGet, essoDocumentURL)
	require.Equal(t, http.StatusOK, rec.Code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	return doc
}

// judy's discovery hands out the ESSO BaseURL, whose 401 names the
// document; the document is what Apple describes: an integer store ID, a
// profile with the SSO payload and a root certificate, and declarations
// with one activation of every configuration. Other accounts' 401s name
// none.
func TestESSOAccountAndDocument(t *testing.T) {
	s := start(t)
	rec := serve(t, s, http.MethodGet, "https://"+MDMHost+wellKnownPath+"?user-identifier=judy%40acme.test&model-family=iPhone")
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), enrollESSOBYODURL)
	rec = serve(t, s, http.MethodPost, enrollESSOBYODURL, withBytes(deviceBody("iPhone17,3")))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, essoDocumentURL, rec.Header().Get("X-Apple-MDM-ESSO"))
	rec = serve(t, s, http.MethodPost, enrollBYODURL, withBytes(deviceBody("iPhone17,3")))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Empty(t, rec.Header().Get("X-Apple-MDM-ESSO"))

	rec = serve(t, s, http.MethodGet, essoDocumentURL)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	doc := essoDoc(t, s)
	assert.Equal(t, float64(essoStoreID), doc["iTunesStoreID"])
	assert.NotContains(t, doc, "AppIDs")
	profile, err := base64.StdEncoding.DecodeString(doc["ConfigurationProfile"].(string))
	require.NoError(t, err)
	assert.Contains(t, string(profile), "com.apple.extensiblesso")
	assert.Contains(t, string(profile), "com.apple.security.root")
	var types []string
	for _, d := range doc["Declarations"].([]any) {
		b, err := base64.StdEncoding.DecodeString(d.(string))
		require.NoError(t, err)
		var decl struct{ Type string }
		require.NoError(t, json.Unmarshal(b, &decl))
		types = append(types, decl.Type)
	}
	assert.Equal(t, []string{"com.apple.activation.simple", "com.apple.configuration.app.managed", "com.apple.configuration.legacy"}, types)
}
