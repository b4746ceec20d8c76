package sim

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/ats"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
	"github.com/enrollsim/enrollsim/sim/evidence"
	"github.com/enrollsim/enrollsim/sim/secret"
	"github.com/enrollsim/enrollsim/sim/weblogin"
)

// doer is the case's Doer: its target's, or the engine's.
func (r *runner) doer() Doer {
	if r.c.Target.Doer != nil {
		return r.c.Target.Doer
	}
	return r.e.Doer
}

// request describes one exchange the engine makes.
type request struct {
	method  string
	url     string
	header  http.Header
	body    []byte
	purpose string
	probe   bool
	limit   int64 // response body cap
	doer    Doer  // nil: the case's; set when the identity goes as a TLS client certificate
	// classicTLS: not under the 27 releases' TLS rules (SCEP, which Apple
	// exempts, and the tester's own admin hooks).
	classicTLS bool
	pushedAt   *time.Time // a connect a push woke: when the push came
}

// response is what came back, body read (up to the cap) and closed.
type response struct {
	status   int
	header   http.Header
	body     []byte
	tooLarge bool // the body passed the cap; body holds the first cap bytes
	url      *url.URL
	tls      *tls.ConnectionState
	elapsed  time.Duration
	err      error // transport error, timeout or body read error
	timeout  bool
	// overLimit names a limit of the transport the response broke before
	// its body ("the response headers are over 256 KiB"); the body cap is
	// tooLarge.
	overLimit string
	// rateLimited says why a 429 was not waited out: its Retry-After asks
	// for longer than the simulator waits. The answer is then no verdict
	// on the server (unjudgeable), which only asked for patience.
	rateLimited string
	seq         int // the exchange event's
}

func (r *response) mediaType() string {
	if r == nil || r.header == nil {
		return ""
	}
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(r.header.Get("Content-Type")))
	}
	return mt
}

// ErrBodyTooLarge marks a response body over its limit.
var ErrBodyTooLarge = errors.New("response body over the size limit")

// maxRetryAfter caps the wait a 429's Retry-After buys. A device's web
// view or client retries after a short pause; a run does not sit for
// minutes, so a longer wait leaves the step unjudged instead.
const maxRetryAfter = 30 * time.Second

// do sends one request (doOnce). A 429 Too Many Requests with a Retry-After
// within maxRetryAfter is waited out once, shown as a wait event, and the
// request sent again: what comes after the wait is judged. A second 429 is
// judged as any answer; a longer Retry-After marks the answer rateLimited.
// Probes do not wait: a 429 to a wrong password or code is a refusal, which
// is what they look for.
func (r *runner) do(q request) *response {
	resp := r.doOnce(q)
	if resp.status != http.StatusTooManyRequests || q.probe || r.probing {
		return resp
	}
	wait, ok := retryAfter(resp.header.Get("Retry-After"), r.clock())
	if !ok {
		return resp
	}
	where := q.method + " " + weblogin.PageName(q.url)
	if wait > maxRetryAfter {
		resp.rateLimited = fmt.Sprintf("%s answered 429 Too Many Requests with Retry-After %s, longer than the simulator waits (%s): run again later",
			where, roundSeconds(wait), roundSeconds(maxRetryAfter))
		return resp
	}
	r.wait(wait, fmt.Sprintf("waiting %s: %s answered 429 Too Many Requests with Retry-After %q; trying once more after it",
		roundSeconds(wait), where, clipHeader(resp.header.Get("Retry-After"))))
	if err := r.sleep(wait); err != nil {
		return resp
	}
	return r.doOnce(q)
}

// retryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay seconds
// or an HTTP-date. A date in the past means now.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second) // beyond any cap; no overflow
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// clipHeader bounds a header value quoted in a message.
func clipHeader(v string) string {
	if len(v) > 64 {
		return v[:64] + "…"
	}
	return v
}

// doOnce sends one request under the per-request timeout, reads the body up
// to the limit, and emits the exchange, redacted.
func (r *runner) doOnce(q request) *response {
	r.seq++
	if r.probing {
		q.probe = true
	}
	u, err := url.Parse(q.url)
	ex := event.Exchange{Seq: r.seq, Purpose: q.purpose, Probe: q.probe, Method: q.method, URL: q.url, PushedAt: q.pushedAt}
	if err != nil {
		ex.Error = "bad URL: " + err.Error()
		r.emitExchange(ex)
		return &response{err: fmt.Errorf("bad URL %q: %w", q.url, err)}
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.lim.Timeout)
	defer cancel()
	if p := r.c.Device.TLSPolicy(); p != ats.Classic && !q.classicTLS {
		ctx = ats.WithPolicy(ctx, p)
	}
	req, err := newRequest(ctx, q, u)
	if err != nil {
		ex.Error = err.Error()
		r.emitExchange(ex)
		return &response{err: err}
	}
	if !r.noResults {
		ex.RequestHeaders = req.Header.Clone()
		if q.body != nil {
			ex.RequestBody = excerpt(q.body, r.lim.ExcerptBody)
			r.evidenceOf(q.header.Get("Content-Type"), q.body, true).request(&ex)
		}
	}
	start := time.Now()
	doer := r.doer()
	if q.doer != nil {
		doer = q.doer
	}
	resp, err := doer.Do(req)
	out := &response{url: u, seq: ex.Seq}
	if err != nil {
		out.elapsed = time.Since(start)
		out.err = err
		out.overLimit = limitOf(err)
		out.timeout = isTimeout(ctx, err) || out.elapsed >= r.lim.Timeout
		if out.timeout {
			out.err = fmt.Errorf("no answer within %s (the simulator's --timeout; devices wait 90 s)", r.lim.Timeout)
		}
		ex.Duration = out.elapsed
		ex.Error = out.err.Error()
		r.recordExchange(ex, q, out)
		return out
	}
	defer resp.Body.Close()
	limit := q.limit
	if limit <= 0 {
		limit = r.lim.PageBody
	}
	unread := followedOnHeaders(resp)
	readBody(ctx, resp, out, limit, r.lim.Timeout, unread, start)
	if sig := q.header.Get("Mdm-Signature"); sig != "" {
		// A server that echoes the signature must not have it shown:
		// dropped here, per exchange, rather than registered with the
		// redactor, which would grow by kilobytes with every request.
		out.body = bytes.ReplaceAll(out.body, []byte(sig), []byte(secret.Redacted))
	}
	r.red.Learn(out.header, out.body)
	ex.Status = resp.StatusCode
	if !r.noResults {
		ex.ResponseHeaders = resp.Header.Clone()
		ex.ResponseBody = excerpt(out.body, r.lim.ExcerptBody)
		r.evidenceOf(resp.Header.Get("Content-Type"), out.body, !out.tooLarge && out.err == nil).response(&ex)
	}
	if unread && resp.ContentLength != 0 && !r.noResults {
		ex.ResponseBody = "(not read: a redirect is followed on its headers)"
	}
	ex.BodySize = int64(len(out.body))
	ex.Truncated = out.tooLarge
	ex.Duration = out.elapsed
	if resp.TLS != nil {
		ex.TLSVersion = tls.VersionName(resp.TLS.Version)
	}
	if out.err != nil {
		ex.Error = out.err.Error()
	}
	r.recordExchange(ex, q, out)
	return out
}

// newRequest builds the request q describes.
func newRequest(ctx context.Context, q request, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range q.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req, nil
}

// readBody reads resp's body into out under limit and the request's
// timeout, and says what cut it short, if anything.
func readBody(ctx context.Context, resp *http.Response, out *response, limit int64, timeout time.Duration, unread bool, start time.Time) {
	var data []byte
	var rerr error
	if !unread {
		data, rerr = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	}
	out.elapsed = time.Since(start)
	out.status = resp.StatusCode
	out.header = resp.Header
	out.tls = resp.TLS
	if int64(len(data)) > limit {
		data = data[:limit]
		out.tooLarge = true
		out.err = fmt.Errorf("%w: more than %s", ErrBodyTooLarge, byteSize(limit))
	} else if rerr != nil || ctx.Err() != nil || out.elapsed >= timeout {
		// A cancelled read can end as a clean EOF with the body cut short
		// (seen under load), so the clock decides, not only the error.
		out.err = fmt.Errorf("reading the body: %w", rerr)
		switch {
		case errors.Is(rerr, io.ErrUnexpectedEOF) && resp.ContentLength > 0:
			out.err = fmt.Errorf("reading the body: the connection ended (closed or reset) after %d of the %d bytes announced: %w", len(data), resp.ContentLength, rerr)
		case errors.Is(rerr, io.ErrUnexpectedEOF):
			out.err = fmt.Errorf("reading the body: the connection ended (closed or reset) after %d bytes, before the last chunk: %w", len(data), rerr)
		}
		if rerr == nil || isTimeout(ctx, rerr) || out.elapsed >= timeout {
			out.timeout = true
			out.err = fmt.Errorf("body not complete within %s (the simulator's --timeout)", timeout)
		}
	}
	out.body = data
}

// recordExchange emits the exchange and keeps the device's own answers
// (not the tester's probes) for the transport checks.
func (r *runner) recordExchange(ex event.Exchange, q request, out *response) {
	r.emitExchange(ex)
	if !q.probe {
		r.deviceResps = append(r.deviceResps, deviceResponse{url: q.url, purpose: q.purpose, resp: out, classicTLS: q.classicTLS, seq: ex.Seq})
	}
}

// followedOnHeaders: a redirect with a Location is followed as soon as its
// headers arrive, as devices and web views do, and its body is never read.
// Reading it would let a redirect whose body never ends cost a whole
// timeout per hop.
func followedOnHeaders(resp *http.Response) bool {
	return resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != ""
}

// limitOf names the transport limit err reports, if it does. The real
// transport (internal/transport) says it through this method; sim does not
// import it.
func limitOf(err error) string {
	var l interface{ LimitExceeded() string }
	if errors.As(err, &l) {
		return l.LimitExceeded()
	}
	return ""
}

func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// sensitiveHeaders carry credentials; their values are masked whole.
var sensitiveHeaders = map[string]bool{"Authorization": true, "Cookie": true, "Set-Cookie": true, "Proxy-Authorization": true}

// opaqueHeaders are masked whole: an Mdm-Signature replays the request it
// signs, and its base64 has no shape worth keeping.
var opaqueHeaders = map[string]bool{"Mdm-Signature": true}

func (r *runner) emitExchange(ex event.Exchange) {
	if r.noResults {
		// The load mode folds an exchange into a count and, for a failure
		// sample, one line: headers and bodies would be redacted for
		// nothing (a sixth of the engine's own CPU per case).
		ex.RequestHeaders, ex.ResponseHeaders, ex.RequestBody, ex.ResponseBody = nil, nil, "", ""
		ex.RequestDecoded, ex.ResponseDecoded, ex.RequestBase64, ex.ResponseBase64 = "", "", "", ""
	}
	ex.URL = r.red.Redact(ex.URL)
	ex.RequestHeaders = redactHeaders(r.red, ex.RequestHeaders, r.lim.ExcerptBody)
	ex.ResponseHeaders = redactHeaders(r.red, ex.ResponseHeaders, r.lim.ExcerptBody)
	ex.RequestBody = r.red.Redact(ex.RequestBody)
	ex.ResponseBody = r.red.Redact(ex.ResponseBody)
	// Redacted whole, then cut: a cut first could leave half a secret.
	ex.RequestDecoded = clip(printable(r.red.Redact(ex.RequestDecoded)), evidence.MaxText)
	ex.ResponseDecoded = clip(printable(r.red.Redact(ex.ResponseDecoded)), evidence.MaxText)
	ex.Error = printable(r.red.Redact(ex.Error))
	r.stepSeqs = append(r.stepSeqs, ex.Seq)
	r.emit(event.Event{Kind: event.EventExchange, Time: r.clock(), Case: r.c.Name, Step: r.step, Exchange: &ex})
}

func redactHeaders(red *secret.Redactor, h http.Header, max int) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			if sensitiveHeaders[http.CanonicalHeaderKey(k)] {
				v = secret.MaskCredential(v)
			}
			if opaqueHeaders[http.CanonicalHeaderKey(k)] {
				v = secret.Redacted
			}
			out[printable(k)] = append(out[printable(k)], clip(printable(red.Redact(v)), max))
		}
	}
	return out
}

// clip keeps the first n bytes of a header value for reports: the transport
// admits up to 256 KiB of headers, which no reader wants to scroll through.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	kept := runeCut(s, n)
	return kept + fmt.Sprintf("… (%d more bytes)", len(s)-len(kept))
}

func byteSize(n int64) string        { return check.ByteSize(n) }
func excerpt(b []byte, n int) string { return check.Excerpt(b, n) }
func printable(s string) string      { return check.Printable(s) }
