// Package secret keeps credentials out of everything enrollsim writes: the
// Secret type, which prints and marshals as [redacted], and the Redactor,
// which removes every registered value, in each form it travels in, from
// text before it leaves the engine, and learns the credentials a server
// hands out (cookies, tokens, codes, callbacks) from its answers the
// moment they arrive.
package secret

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Redacted is what stands in for a secret.
const Redacted = "[redacted]"

// Secret holds a password, seed or token. It prints and marshals as
// [redacted] whatever the verb, so it cannot leak through a log line or a
// report by accident; Reveal is the one way to the value.
type Secret struct{ v string }

// New wraps a value.
func New(v string) Secret { return Secret{v} }

// Reveal returns the value, for the one place that must send it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports an empty secret.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string   { return Redacted }
func (s Secret) GoString() string { return Redacted }

// MarshalJSON keeps secrets out of JSON reports.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText keeps secrets out of YAML and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Redactor removes registered secrets, in every form they travel in, from
// text before it leaves the engine. Values are registered the moment they are
// learned (a token from a callback, a cookie from a header).
//
// A run has one Redactor for what the plan itself holds (the accounts'
// passwords and seeds), and each case a child of it (ForCase) for what the
// case learns; the child is dropped with the case, so redaction costs the
// same at case 10,000 as at case 1.
type Redactor struct {
	// parent, for a case's redactor, is the run's: its forms are replaced
	// after the case's own.
	parent *Redactor
	// covered is the parent's generation when every value it held was
	// also this redactor's (a run of one account): while it stays so, the
	// parent's pass is skipped, as it could find nothing left to replace.
	covered int64
	// gen counts the values added, for a child's covered.
	gen atomic.Int64

	mu sync.Mutex
	// values are the registered secrets, known their forms: an Add of a
	// known value costs a map look-up.
	values, known map[string]bool
	forms         []string
	// repl replaces every form in one pass; built on the first Redact
	// after an Add, so a burst of Adds (the cookies of one response)
	// costs one build, not one each.
	repl  *strings.Replacer
	stale bool
}

// ForCase returns a redactor for one case: it knows the case's own account
// secrets (own) and what the case learns, and falls back on r for the rest of the
// plan's. The case's account secrets are held here too so that, within the
// case, a token that contains the password (or a password that contains a
// token) is replaced whole, longest first.
func (r *Redactor) ForCase(own ...Secret) *Redactor {
	c := &Redactor{parent: r, covered: -1}
	for _, s := range own {
		c.AddSecret(s)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for v := range r.values {
		if !c.values[v] {
			return c
		}
	}
	c.covered = r.gen.Load()
	return c
}

// minSecretLen keeps one-character values (a "0" cookie) from shredding
// every line of output.
const minSecretLen = 4

// Add registers a value and its derived forms: URL-encoded (query and path),
// base64 (std and URL alphabets, padded or not).
func (r *Redactor) Add(v string) {
	if len(v) < minSecretLen {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.values[v] {
		return
	}
	if r.values == nil {
		r.values, r.known = map[string]bool{}, map[string]bool{}
	}
	r.values[v] = true
	r.gen.Add(1)
	for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)),
		base64.RawURLEncoding.EncodeToString([]byte(v)),
		jsonString(v, false), jsonString(v, true)} {
		if r.known[f] {
			continue
		}
		r.known[f] = true
		r.forms = append(r.forms, f)
	}
	r.stale = true
}

// AddSecret registers a Secret's value.
func (r *Redactor) AddSecret(s Secret) { r.Add(s.v) }

// Redact replaces every registered form in s: the case's, then the run's.
func (r *Redactor) Redact(s string) string {
	if r == nil || len(s) < minSecretLen {
		return s
	}
	if repl := r.replacer(); repl != nil {
		s = repl.Replace(s)
	}
	if r.parent == nil || r.parent.gen.Load() == r.covered {
		return s
	}
	return r.parent.Redact(s)
}

func (r *Redactor) replacer() *strings.Replacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stale {
		r.stale = false
		// Longest first, so a form that contains another is replaced
		// whole (the Replacer tries its old strings in argument order
		// at each position).
		sort.SliceStable(r.forms, func(i, j int) bool { return len(r.forms[i]) > len(r.forms[j]) })
		pairs := make([]string, 0, 2*len(r.forms))
		for _, f := range r.forms {
			pairs = append(pairs, f, Redacted)
		}
		r.repl = strings.NewReplacer(pairs...)
	}
	return r.repl
}

// jsonString is v as JSON writes it inside quotes: a browser's fetch()
// posts passwords and codes that way (JSON.stringify, html false), servers
// echo them with <, > and & escaped too (html true).
func jsonString(v string, html bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	if err := enc.Encode(v); err != nil {
		return v
	}
	s := strings.TrimSpace(b.String())
	return strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
}

// Len is how many forms of secrets r holds itself (not its parent's): a
// finished case's redactor must leave none behind in the run's.
func (r *Redactor) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.forms)
}

// MaskCredential keeps the shape of a credential header (scheme, cookie
// names and attributes) and drops the values, so a reader still sees what
// was sent.
func MaskCredential(v string) string {
	if scheme, _, ok := strings.Cut(v, " "); ok && !strings.Contains(scheme, "=") {
		return scheme + " " + Redacted
	}
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		n := strings.TrimSpace(name)
		switch strings.ToLower(n) {
		case "path", "domain", "expires", "max-age", "samesite":
			continue
		}
		parts[i] = name + "=" + Redacted
	}
	return strings.Join(parts, ";")
}
