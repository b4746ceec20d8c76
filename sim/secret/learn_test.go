package secret

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/stretchr/testify/assert"
)

// Every place a callback's token can reach the engine in a response is
// learnt before the exchange is emitted, in the form the response shows
// it; a body that only looks alike registers nothing.
func TestLearnSecretsFromEveryCallbackRoute(t *testing.T) {
	const tok = "tok/EN+sec=ret_0123456789"
	const cb = check.CallbackScheme + "://authentication-results?access-token="
	esc := strings.NewReplacer("/", "%2F", "+", "%2B", "=", "%3D").Replace(tok)
	tests := []struct {
		name   string
		header http.Header
		body   string
		shown  string // the token as the body shows it
	}{
		{name: "Location", header: http.Header{"Location": {cb + esc}}, shown: tok},
		{name: "Refresh header", header: http.Header{"Refresh": {"0; url=" + cb + esc}}, shown: esc},
		{name: "meta refresh", body: `<meta http-equiv="refresh" content="0;url=` + cb + esc + `&amp;lang=en">`, shown: esc},
		{name: "meta refresh, upper-case scheme", body: `<meta http-equiv="refresh" content="0;url=APPLE-REMOTEMANAGEMENT-USER-LOGIN://authentication-results?access-token=` + esc + `">`, shown: esc},
		{name: "script navigation", body: `<script>window.location.replace("` + cb + esc + `")</script>`, shown: esc},
		{name: "script, JSON-escaped", body: `<script>location.href = "apple-remotemanagement-user-login:\/\/authentication-results?lang=en\u0026access-token=` + strings.ReplaceAll(esc, "/", `\/`) + `"</script>`, shown: esc},
		{name: "JSON field of a fetch answer", body: `{"redirect":"` + cb + esc + `"}`, shown: esc},
		{name: "JSON field, token not escaped", body: `{"redirect":"` + cb + strings.ReplaceAll(tok, "/", `\/`) + `"}`, shown: strings.ReplaceAll(tok, "/", `\/`)},
		{name: "nested in another URL's query", body: `<a href="https://mdm.test/open?to=apple-remotemanagement-user-login%3A%2F%2Fauthentication-results%3Faccess-token%3D` + strings.ReplaceAll(esc, "%", "%25") + `">open</a>`, shown: strings.ReplaceAll(esc, "%", "%25")},
		{name: "access_token member", body: `{"access_token": "` + strings.ReplaceAll(tok, "/", `\/`) + `", "token_type": "Bearer"}`, shown: strings.ReplaceAll(tok, "/", `\/`)},
		{name: "access-token member", body: `{"access-token":"` + tok + `"}`, shown: tok},
		{name: "a ticket in the next URL of a JSON answer", body: `{"next":"https://mdm.test/auth/complete?ticket=` + esc + `"}`, shown: esc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := &Redactor{}
			h := tt.header
			if h == nil {
				h = http.Header{"Content-Type": {"text/html"}}
			}
			red.Learn(h, []byte(tt.body))
			for _, form := range []string{tok, tt.shown} {
				assert.NotContains(t, red.Redact("shown: "+form+" end"), form, "the token as the page shows it is redacted")
			}
		})
	}
	for name, body := range map[string]string{
		"a code outside a callback": `<a href="https://mdm.test/help?code=E1234567">help</a> <meta http-equiv="refresh" content="0;url=msauth://x?code=notasecret1">`,
		"no credential item":        `<script>location.href = "` + check.CallbackScheme + `://authentication-results?lang=english-uk"</script>`,
	} {
		t.Run("near miss: "+name, func(t *testing.T) {
			red := &Redactor{}
			red.Learn(http.Header{}, []byte(body))
			assert.Equal(t, body, red.Redact(body))
		})
	}
	t.Run("hostile: 100000 callbacks and a rune that lowers longer", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("İİİ ")
		for i := 0; i < 100000; i++ {
			fmt.Fprintf(&b, `<a href="%stok%07d">x</a>`, cb, i)
		}
		red := &Redactor{}
		red.Learn(http.Header{}, []byte(b.String()))
		assert.LessOrEqual(t, len(red.values), 5*maxBodyCallbacks, "the redactor grows by a bounded amount")
		assert.Equal(t, "[redacted]", red.Redact("tok0000000"), "the first callbacks are learnt, at the right place")
	})
}
