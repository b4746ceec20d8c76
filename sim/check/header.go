package check

import "net/textproto"

// Header is a response's or request's header as a step saw it: the
// judges read headers without net/http.
type Header map[string][]string

// Get is the first value of key, "" when absent (key in any case).
func (h Header) Get(key string) string {
	if v := h[textproto.CanonicalMIMEHeaderKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Values are all values of key.
func (h Header) Values(key string) []string { return h[textproto.CanonicalMIMEHeaderKey(key)] }
