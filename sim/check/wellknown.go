package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// WellKnownDoc is what a device made of a discovery document: the first
// Servers entry, which is what a device uses, and the facts of the rest
// that judges read.
type WellKnownDoc struct {
	Version string `json:"version,omitempty"`
	BaseURL string `json:"base_url,omitempty"`
	// Keys are the document's top-level keys (ABM-005 looks for a
	// credential beside Servers).
	Keys []string `json:"keys,omitempty"`
	// BaseURLs are the string BaseURLs of every Servers entry, in order.
	BaseURLs []string `json:"base_urls,omitempty"`
}

// Same reports whether two documents send a device to the same place.
func (d *WellKnownDoc) Same(o *WellKnownDoc) bool {
	return d != nil && o != nil && d.Version == o.Version && d.BaseURL == o.BaseURL
}

func (d *WellKnownDoc) String() string {
	if d == nil {
		return "no document"
	}
	return fmt.Sprintf("%s at %s", d.Version, d.BaseURL)
}

// DeviceDocument is what the device does with a 200 application/json
// answer (§2.4): it needs an object with a first server entry whose
// Version it knows and whose BaseURL is a URL. failure says why the
// device gives up, "" when it goes on; a document that was read comes
// back even then, for the judges. tooLarge: body is the first bytes of a
// body over the read cap.
func DeviceDocument(body []byte, tooLarge bool) (doc *WellKnownDoc, failure string) {
	raw, _, err := readDocument(body, tooLarge)
	if err != nil {
		return nil, docFailure(err)
	}
	doc = &WellKnownDoc{}
	for k := range raw {
		doc.Keys = append(doc.Keys, k)
	}
	servers, ok := raw["Servers"].([]any)
	if !ok {
		return doc, "no Servers array"
	}
	for _, s := range servers {
		if m, ok := s.(map[string]any); ok {
			if b, _ := m["BaseURL"].(string); b != "" {
				doc.BaseURLs = append(doc.BaseURLs, b)
			}
		}
	}
	if len(servers) == 0 {
		return doc, "Servers is empty"
	}
	first, ok := servers[0].(map[string]any)
	if !ok {
		return doc, "Servers[0] is not an object"
	}
	v, vok := first["Version"].(string)
	b, bok := first["BaseURL"].(string)
	if !vok || !bok {
		return doc, "Servers[0] lacks a string Version or BaseURL"
	}
	doc.Version, doc.BaseURL = v, b
	if v != "mdm-byod" && v != "mdm-adde" {
		return doc, fmt.Sprintf("Servers[0].Version %q is neither mdm-byod nor mdm-adde", v)
	}
	if u, err := url.Parse(b); err != nil || !u.IsAbs() || u.Host == "" {
		return doc, fmt.Sprintf("Servers[0].BaseURL %q is not an absolute URL", b)
	}
	return doc, ""
}

// Bounds on the discovery document beyond its byte cap (DiscoveryBody).
// Apple's document is three levels deep with one entry; 64 levels leave
// room for any vendor extension. A value takes two bytes at the least
// ("0,"), so the default 1 MiB cap admits at most 512 Ki values: the count
// matters only when the byte cap is raised. Past either the simulator does
// not judge an object document (error naming the limit): a device may well
// read it.
const (
	maxDocDepth  = 64
	maxDocValues = 1 << 19
)

// docLimitError is a document beyond the simulator's bounds.
type docLimitError struct{ msg string }

func (e *docLimitError) Error() string { return e.msg }

// decodeWellKnown reads the discovery body as the device's JSON parser
// would, within bounds. It returns the top-level object, and warnings about
// what a device may read differently from Go: a key given twice (Go keeps
// the last; NSJSONSerialization fills a dictionary in order, so most likely
// the last too, but this is not documented), and bytes that are not UTF-8
// (Go replaces them; NSJSONSerialization refuses the whole document). The
// error is a syntax error or a *docLimitError.
//
// A byte-order mark or UTF-16/32 text is read as NSJSONSerialization reads
// it (JSONText), with a warning that names it. The root's type is judged
// before any bound: an array, string or number is not the object a device
// needs however deep it goes, so only an object root can be beyond the
// simulator's bounds.
func decodeWellKnown(body []byte) (map[string]any, []string, error) {
	text, note := JSONText(body)
	_, what := JSONUTF8(body)
	var warns []string
	if note != "" {
		warns = append(warns, note)
	}
	fail := func(err error) (map[string]any, []string, error) {
		if what != "" && !isDocLimit(err) {
			// The offsets in the parser's message count from the text
			// the device reads, not from the body's first byte.
			err = fmt.Errorf("%w (the body %s: read as a device reads it)", err, what)
		}
		return nil, warns, err
	}
	if kind := rootKind(text); kind != "" && kind != "an object" {
		return fail(fmt.Errorf("the document is %s, not an object", kind))
	}
	dups, err := scanDocument(text)
	if err != nil {
		return fail(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(text, &raw); err != nil {
		return fail(err)
	}
	if raw == nil {
		return fail(fmt.Errorf("the document is null"))
	}
	warns = append(warns, dups...)
	if !utf8.Valid(text) {
		warns = append(warns, fmt.Sprintf("the body is not valid UTF-8 at byte %d: Go replaced the bytes, but NSJSONSerialization refuses such a document (JSON is UTF-8, RFC 8259 §8.1)", firstInvalidUTF8(body)))
	}
	return raw, warns, nil
}

// rootKind names the type of the document's first value as jsonKind does
// ("null" for null), or "" when the first token does not read: the full
// parse then words the syntax error.
func rootKind(text []byte) string {
	tok, err := json.NewDecoder(bytes.NewReader(text)).Token()
	if err != nil {
		return ""
	}
	switch tok {
	case json.Delim('{'):
		return "an object"
	case json.Delim('['):
		return "an array"
	case nil:
		return "null"
	}
	return jsonKind(tok)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// docFrame is one open object or array of the scan.
type docFrame struct {
	object  bool
	wantKey bool
	path    string
	index   int
	keys    map[string]int
	lastKey string
}

func (f *docFrame) childPath() string {
	if f.object {
		return f.path + "." + f.lastKey
	}
	return fmt.Sprintf("%s[%d]", f.path, f.index)
}

// scanDocument walks the tokens once, before any decoding, to enforce the
// bounds and to find repeated keys (which a map cannot show).
func scanDocument(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var stack []*docFrame
	var dups []dupRef
	values := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			// End of input or a syntax error: json.Unmarshal words it.
			return dedupeDups(dups), nil
		}
		var top *docFrame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.wantKey = parent.object
				parent.index++
			}
			continue
		}
		if top != nil && top.object && top.wantKey {
			key, _ := tok.(string)
			top.keys[key]++
			if top.keys[key] == 2 && len(dups) < 5 {
				dups = append(dups, dupRef{top, key})
			}
			top.lastKey, top.wantKey = key, false
			continue
		}
		values++
		if values > maxDocValues {
			return nil, &docLimitError{fmt.Sprintf("the document has more than %d values (the simulator's limit)", maxDocValues)}
		}
		d, isDelim := tok.(json.Delim)
		if !isDelim {
			if top != nil {
				top.wantKey = top.object
				top.index++
			}
			continue
		}
		if len(stack) >= maxDocDepth {
			return nil, &docLimitError{fmt.Sprintf("the document is nested deeper than %d levels (the simulator's limit)", maxDocDepth)}
		}
		path := "the document"
		if top != nil {
			path = top.childPath()
		}
		stack = append(stack, &docFrame{object: d == '{', wantKey: d == '{', path: path, keys: map[string]int{}})
	}
}

// dupRef is a key seen twice in an object; the frame keeps its count.
type dupRef struct {
	frame *docFrame
	key   string
}

// dedupeDups words the repeated keys once each, with their count.
func dedupeDups(dups []dupRef) []string {
	var out []string
	for _, d := range dups {
		out = append(out, fmt.Sprintf("key %q appears %d times in %s; the simulator used the last, as encoding/json does (which one devices use is not documented)", clip(d.key, 60), d.frame.keys[d.key], clip(d.frame.path, 80)))
	}
	return out
}

// clip cuts s to at most n bytes, never inside a character, and marks
// the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

// someOf lists up to n items and says how many more there were, so a
// document with thousands of bad entries gives a readable verdict.
func someOf(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

func isDocLimit(err error) bool {
	var lim *docLimitError
	return errors.As(err, &lim)
}

// docFailure is why the device cannot use a body decodeWellKnown refused.
func docFailure(err error) string {
	if isDocLimit(err) {
		return err.Error()
	}
	return "the body is not a JSON object: " + err.Error()
}

// readDocument is decodeWellKnown on a 200 answer, which may have been cut
// at the read cap. A cut document is judged by its root alone: an array or
// a string is no object however long, while the end of an object is
// missing by the simulator's doing (a *docLimitError).
func readDocument(body []byte, tooLarge bool) (map[string]any, []string, error) {
	if !tooLarge {
		return decodeWellKnown(body)
	}
	text, _ := JSONText(body)
	if kind := rootKind(text); kind != "" && kind != "an object" {
		return nil, nil, fmt.Errorf("the document is %s, not an object", kind)
	}
	return nil, nil, &docLimitError{fmt.Sprintf("the document is larger than the simulator's %s read limit, so it was not judged (SEC-003 reports the size)", ByteSize(int64(len(body))))}
}
