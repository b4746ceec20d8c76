package transport

import (
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The MDM identity goes as a TLS client certificate when a profile's
// SignMessage is false: the derived client presents it, the original does
// not, and neither reuses the other's connections.
func TestWithClientCertificate(t *testing.T) {
	ca := newTestCA(t)
	_, port := tlsServer(t, ca, &tls.Config{ClientAuth: tls.RequireAnyClientCert}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.TLS.PeerCertificates[0].Subject.CommonName))
	}))
	c, err := New(Options{RootCAs: ca.pool(), Resolve: []string{"acme.test:" + strconv.Itoa(port) + ":127.0.0.1"}})
	require.NoError(t, err)
	url := "https://acme.test:" + strconv.Itoa(port) + "/"

	_, err = get(t, c, url)
	require.Error(t, err, "the server requires a client certificate")

	id := ca.leaf(t, "device-identity")
	withCert, ok := c.WithClientCertificate(id).(*Client)
	require.True(t, ok)
	resp, err := get(t, withCert, url)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	cn, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "device-identity", string(cn), "the server saw the identity")
	assert.Equal(t, c.Timeout(), withCert.Timeout())

	_, err = get(t, c, url)
	assert.Error(t, err, "the original client must stay without the certificate")
}
