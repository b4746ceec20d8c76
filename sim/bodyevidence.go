package sim

import (
	"encoding/base64"
	"fmt"
	"slices"

	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/evidence"
)

// maxRawBody bounds the binary bodies an exchange carries as base64 (for
// a HAR): a signed profile or a SCEP message is a few KiB.
const maxRawBody = 64 << 10

// bodyEvidence is what an exchange shows of a binary body besides its
// "(N bytes of binary data)": the decoded text, and the bytes as base64
// or why they are left out. A text body gives nothing.
type bodyEvidence struct {
	decoded, base64, omitted string
}

// evidenceOf decodes a binary body (package sim/evidence). whole says the
// body was read to its end; a cut one's bytes are not worth carrying.
func (r *runner) evidenceOf(contentType string, body []byte, whole bool) bodyEvidence {
	if len(body) == 0 || !evidence.Binary(body) {
		return bodyEvidence{}
	}
	in := evidence.Inspect(r.ctx, contentType, body)
	if in.Text != "" {
		// A binary plist's SCEP challenge or TokenData is learned from its
		// XML, as a text plist's is from the body, before anything shows it.
		r.red.Learn(nil, []byte(in.Text))
	}
	out := bodyEvidence{decoded: in.Text}
	switch {
	case in.Sealed != "":
		out.omitted = "not included: " + in.Sealed
	case !whole:
		out.omitted = "not included: the body was not read whole"
	case len(body) > maxRawBody:
		out.omitted = fmt.Sprintf("not included: %d bytes, more than the %d KiB an exchange keeps", len(body), maxRawBody>>10)
	default:
		b64 := base64.StdEncoding.EncodeToString(body)
		if r.red.Redact(string(body)) != string(body) || r.red.Redact(b64) != b64 {
			out.omitted = "not included: the body holds a secret (a token, a code or a challenge) that reports redact"
			break
		}
		out.base64 = b64
	}
	return out
}

// request and response fill one side of an exchange.
func (ev bodyEvidence) request(ex *event.Exchange) {
	ex.RequestDecoded, ex.RequestBase64, ex.RequestBase64Omitted = ev.decoded, ev.base64, ev.omitted
}

func (ev bodyEvidence) response(ex *event.Exchange) {
	ex.ResponseDecoded, ex.ResponseBase64, ex.ResponseBase64Omitted = ev.decoded, ev.base64, ev.omitted
}

// judging adds to the exchanges of the step playing those of earlier steps
// its judges read (the profile step's, the enrollment that fetched it), so
// that a check names the exchanges it judged.
func (r *runner) judging(resps ...*response) {
	for _, x := range resps {
		if x != nil && x.seq > 0 && !slices.Contains(r.stepSeqs, x.seq) {
			r.stepSeqs = append(r.stepSeqs, x.seq)
		}
	}
	slices.Sort(r.stepSeqs)
}
