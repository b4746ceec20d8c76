package report

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/event"
)

// The har format is HTTP Archive 1.2
// (http://www.softwareishard.com/blog/har-12-spec/): a page per case and an
// entry per exchange, for browser devtools and HAR viewers. Bodies are the
// excerpts the events hold, binary ones their bytes in base64 when the
// events carry them; headers and bodies are already redacted.

// HAR is the document: {"log": ...}.
type HAR struct {
	Log HARLog `json:"log"`
}

// HARLog is the archive's root.
type HARLog struct {
	Version string     `json:"version"`
	Creator HARCreator `json:"creator"`
	Pages   []HARPage  `json:"pages"`
	Entries []HAREntry `json:"entries"`
	Comment string     `json:"comment,omitempty"`
}

// HARCreator names the producing tool.
type HARCreator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// HARPage is one case.
type HARPage struct {
	StartedDateTime string         `json:"startedDateTime"`
	ID              string         `json:"id"`
	Title           string         `json:"title"`
	PageTimings     HARPageTimings `json:"pageTimings"`
	Comment         string         `json:"comment,omitempty"`
}

// HARPageTimings are unknown (-1): a case is not a page load.
type HARPageTimings struct {
	OnContentLoad float64 `json:"onContentLoad"`
	OnLoad        float64 `json:"onLoad"`
}

// HAREntry is one exchange.
type HAREntry struct {
	Pageref         string      `json:"pageref"`
	StartedDateTime string      `json:"startedDateTime"`
	Time            float64     `json:"time"`
	Request         HARRequest  `json:"request"`
	Response        HARResponse `json:"response"`
	Cache           struct{}    `json:"cache"`
	Timings         HARTimings  `json:"timings"`
	Comment         string      `json:"comment,omitempty"`
	// Custom fields (HAR allows names with a leading underscore).
	Step       string `json:"_step,omitempty"`
	TLSVersion string `json:"_tlsVersion,omitempty"`
}

// HARRequest is what the device sent.
type HARRequest struct {
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARNameValue `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	QueryString []HARNameValue `json:"queryString"`
	PostData    *HARPostData   `json:"postData,omitempty"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int            `json:"bodySize"`
}

// HARPostData is a request body. HAR 1.2 gives a request body no
// encoding; a binary one's base64 is marked in _encoding, as content's
// encoding marks a response's.
type HARPostData struct {
	MimeType string `json:"mimeType"`
	Text     string `json:"text"`
	Comment  string `json:"comment,omitempty"`
	Encoding string `json:"_encoding,omitempty"`
	Decoded  string `json:"_decoded,omitempty"`
}

// HARResponse is what the server answered; status 0 and _error when the
// exchange failed before a response.
type HARResponse struct {
	Status      int            `json:"status"`
	StatusText  string         `json:"statusText"`
	HTTPVersion string         `json:"httpVersion"`
	Cookies     []HARNameValue `json:"cookies"`
	Headers     []HARNameValue `json:"headers"`
	Content     HARContent     `json:"content"`
	RedirectURL string         `json:"redirectURL"`
	HeadersSize int            `json:"headersSize"`
	BodySize    int64          `json:"bodySize"`
	Error       string         `json:"_error,omitempty"`
}

// HARContent is the response body (an excerpt when Comment says so); a
// binary body's bytes in base64 (Encoding), and as people read it in
// _decoded (a signed profile's XML, a SCEP message's attributes).
type HARContent struct {
	Size     int64  `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Comment  string `json:"comment,omitempty"`
	Decoded  string `json:"_decoded,omitempty"`
}

// HARTimings: the whole exchange counts as waiting.
type HARTimings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

// HARNameValue is a header, query item or cookie.
type HARNameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// harTime is ISO 8601 with milliseconds.
const harTime = "2006-01-02T15:04:05.000Z07:00"

// NewHAR folds a recorded run into an HTTP Archive.
func NewHAR(events []event.Event, opt Options) *HAR {
	r := fold(events, opt)
	version := r.toolVersion()
	if version == "" {
		version = "dev"
	}
	h := &HAR{Log: HARLog{
		Version: "1.2",
		Creator: HARCreator{Name: "enrollsim", Version: version},
		Pages:   []HARPage{},
		Entries: []HAREntry{},
		Comment: r.title(),
	}}
	for _, c := range r.cases {
		h.Log.Pages = append(h.Log.Pages, HARPage{
			StartedDateTime: c.start.Format(harTime),
			ID:              c.sum.Name,
			Title:           c.sum.Name + ": " + c.sum.Info.Device.String() + " as " + c.sum.Info.Identifier,
			PageTimings:     HARPageTimings{OnContentLoad: -1, OnLoad: -1},
			Comment:         c.sum.Outcome,
		})
		for _, xa := range c.exchanges {
			h.Log.Entries = append(h.Log.Entries, harEntry(c.sum.Name, xa))
		}
	}
	return h
}

func harEntry(page string, xa exchangeAt) HAREntry {
	x := xa.x
	ms := millis(x.Duration)
	// The exchange event is emitted when the response is in.
	started := xa.time.Add(-x.Duration)
	e := HAREntry{
		Pageref:         page,
		StartedDateTime: started.Format(harTime),
		Time:            ms,
		Request: HARRequest{
			Method: x.Method, URL: x.URL, HTTPVersion: "HTTP/1.1",
			Cookies: []HARNameValue{}, Headers: harHeaders(x.RequestHeaders), QueryString: harQuery(x.URL),
			HeadersSize: -1, BodySize: bodySize(x.RequestBody),
		},
		Response: HARResponse{
			Status: x.Status, StatusText: http.StatusText(x.Status), HTTPVersion: "HTTP/1.1",
			Cookies: []HARNameValue{}, Headers: harHeaders(x.ResponseHeaders),
			Content: HARContent{
				Size:     max(x.BodySize, int64(len(x.ResponseBody))),
				MimeType: x.ResponseHeaders.Get("Content-Type"),
				Text:     x.ResponseBody,
			},
			RedirectURL: x.ResponseHeaders.Get("Location"),
			HeadersSize: -1,
			BodySize:    max(x.BodySize, int64(len(x.ResponseBody))),
		},
		Timings:    HARTimings{Send: 0, Wait: ms, Receive: 0},
		Comment:    x.Purpose,
		Step:       string(xa.step),
		TLSVersion: x.TLSVersion,
	}
	if x.Probe {
		e.Comment += " (probe)"
	}
	if x.RequestBody != "" {
		e.Request.PostData = &HARPostData{MimeType: x.RequestHeaders.Get("Content-Type"), Text: x.RequestBody, Comment: excerptNote(x.RequestBody, false)}
		harRequestBytes(e.Request.PostData, x)
	}
	e.Response.Content.Comment = excerptNote(x.ResponseBody, x.Truncated)
	harResponseBytes(&e.Response, x)
	if x.Error != "" {
		e.Response.Error = x.Error
		if x.Status == 0 {
			e.Response.StatusText = ""
			e.Response.BodySize = -1
		}
	}
	return e
}

// harRequestBytes puts a binary request body's own bytes in place of its
// summary, or says why they are not there.
func harRequestBytes(p *HARPostData, x *event.Exchange) {
	p.Decoded = x.RequestDecoded
	switch {
	case x.RequestBase64 != "":
		p.Text, p.Encoding, p.Comment = x.RequestBase64, "base64", "binary body: its bytes in base64 (_encoding)"
	case x.RequestBase64Omitted != "":
		p.Comment += "; its bytes are " + x.RequestBase64Omitted
	}
}

// harResponseBytes does the same for a response body, in content's
// encoding as HAR 1.2 has it.
func harResponseBytes(r *HARResponse, x *event.Exchange) {
	c := &r.Content
	c.Decoded = x.ResponseDecoded
	switch {
	case x.ResponseBase64 != "":
		c.Text, c.Encoding, c.Comment = x.ResponseBase64, "base64", ""
		// The size is the bytes', not the summary's the excerpt was.
		c.Size, r.BodySize = x.BodySize, x.BodySize
	case x.ResponseBase64Omitted != "":
		c.Comment += "; its bytes are " + x.ResponseBase64Omitted
	}
}

// The engine's body excerpts: binary bodies are summarised, long ones cut
// (sim/httpx.go).
var (
	binaryExcerpt = regexp.MustCompile(`^\((\d+) bytes of binary data\)$`)
	cutExcerpt    = regexp.MustCompile(`… \((\d+) more bytes\)$`)
)

// bodySize is the size of the body an excerpt stands for.
func bodySize(excerpt string) int {
	if m := binaryExcerpt.FindStringSubmatch(excerpt); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	if m := cutExcerpt.FindStringSubmatchIndex(excerpt); m != nil {
		n, _ := strconv.Atoi(excerpt[m[2]:m[3]])
		return m[0] + n
	}
	return len(excerpt)
}

// excerptNote says when a body's text is not the body itself.
func excerptNote(excerpt string, truncated bool) string {
	switch {
	case binaryExcerpt.MatchString(excerpt):
		return "binary body: the text is a summary, not its bytes"
	case truncated || cutExcerpt.MatchString(excerpt):
		return "excerpt: the body was cut at the recording's size limit"
	}
	return ""
}

// millis is a duration in milliseconds with microsecond precision.
func millis(d time.Duration) float64 {
	return math.Round(float64(nonNegative(d))/1e3) / 1e3
}

// harHeaders lists headers sorted by name, each value its own entry.
func harHeaders(h http.Header) []HARNameValue {
	out := []HARNameValue{}
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range h[n] {
			out = append(out, HARNameValue{Name: n, Value: v})
		}
	}
	return out
}

// harQuery lists a URL's query items in their order.
func harQuery(raw string) []HARNameValue {
	out := []HARNameValue{}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return out
	}
	for _, kv := range splitQuery(u.RawQuery) {
		k, v, _ := cutQuery(kv)
		out = append(out, HARNameValue{Name: k, Value: v})
	}
	return out
}

func splitQuery(q string) []string {
	var out []string
	for _, part := range strings.Split(q, "&") {
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

func cutQuery(kv string) (string, string, bool) {
	k, v, ok := strings.Cut(kv, "=")
	if uk, err := url.QueryUnescape(k); err == nil {
		k = uk
	}
	if uv, err := url.QueryUnescape(v); err == nil {
		v = uv
	}
	return k, v, ok
}

// WriteHAR writes the har format, indented.
func WriteHAR(w io.Writer, events []event.Event, opt Options) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(NewHAR(events, opt))
}
