package report_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/event"
)

// A binary body's bytes go in the HAR as base64 (content.encoding for a
// response, _encoding for a request body, which HAR 1.2 gives none), its
// decoded text in _decoded; bytes the engine left out say why.
func TestHARCarriesBinaryBodies(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	ct := func(v string) http.Header { return http.Header{"Content-Type": {v}} }
	events := []event.Event{
		{Kind: event.EventRunStart, Time: at},
		{Kind: event.EventCaseStart, Time: at, Case: "c", Info: &event.CaseInfo{Identifier: "alice@acme.test"}},
		{Kind: event.EventStepStart, Time: at, Case: "c", Step: event.StepEnroll},
		{Kind: event.EventExchange, Time: at, Case: "c", Step: event.StepEnroll, Exchange: &event.Exchange{
			Seq: 1, Purpose: "enrollment POST", Method: "POST", URL: "https://mdm.acme.test/enroll", Status: 200,
			RequestHeaders: ct("application/pkcs7-signature"), RequestBody: "(5 bytes of binary data)",
			RequestDecoded: "CMS SignedData (5 bytes), signed by subject \"CN=device\"", RequestBase64: "AAECAwQ=",
			ResponseHeaders: ct("application/x-apple-aspen-config"), ResponseBody: "(4276 bytes of binary data)", BodySize: 4276,
			ResponseDecoded:       "CMS SignedData (4276 bytes), signed by …\n<plist>…</plist>",
			ResponseBase64Omitted: "not included: the body holds a secret (a token, a code or a challenge) that reports redact",
		}},
		{Kind: event.EventExchange, Time: at, Case: "c", Step: event.StepIdentity, Exchange: &event.Exchange{
			Seq: 2, Purpose: "SCEP PKIOperation", Method: "POST", URL: "https://mdm.acme.test/scep", Status: 200,
			ResponseHeaders: ct("application/x-pki-message"), ResponseBody: "(3 bytes of binary data)", BodySize: 3,
			ResponseDecoded: "SCEP PKIMessage (3 bytes): messageType 3 (CertRep)", ResponseBase64: "MAEC",
		}},
		{Kind: event.EventCaseEnd, Time: at, Case: "c", Outcome: event.OutcomeEnrolled},
		{Kind: event.EventRunEnd, Time: at},
	}
	var buf bytes.Buffer
	require.NoError(t, report.WriteHAR(&buf, events, report.Options{}))
	var h report.HAR
	require.NoError(t, json.Unmarshal(buf.Bytes(), &h))
	require.Len(t, h.Log.Entries, 2)

	enroll := h.Log.Entries[0]
	require.NotNil(t, enroll.Request.PostData)
	assert.Equal(t, "AAECAwQ=", enroll.Request.PostData.Text)
	assert.Equal(t, "base64", enroll.Request.PostData.Encoding)
	assert.Contains(t, enroll.Request.PostData.Decoded, "CMS SignedData")
	assert.Equal(t, 5, enroll.Request.BodySize)
	c := enroll.Response.Content
	assert.Equal(t, "(4276 bytes of binary data)", c.Text, "the summary stays when the bytes are left out")
	assert.Empty(t, c.Encoding)
	assert.Contains(t, c.Comment, "holds a secret")
	assert.Contains(t, c.Decoded, "<plist>")

	scep := h.Log.Entries[1].Response.Content
	assert.Equal(t, "MAEC", scep.Text)
	assert.Equal(t, "base64", scep.Encoding)
	assert.Empty(t, scep.Comment)
	assert.EqualValues(t, 3, scep.Size)
	assert.Contains(t, scep.Decoded, "CertRep")
}
