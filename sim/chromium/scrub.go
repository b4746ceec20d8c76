package chromium

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// minSecret: shorter cookie values ("1", "en") cannot be secrets, and
// replacing them everywhere would garble the trail; the engine still gets
// every value through OnSecret.
const minSecret = 6

// scrubber removes the secrets the driver knows (password, codes, cookie
// values) from the text it hands back.
type scrubber struct{ secrets []string }

func (s *scrubber) add(secret string) {
	if secret == "" {
		return
	}
	for _, f := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
		if !slices.Contains(s.secrets, f) {
			s.secrets = append(s.secrets, f)
		}
	}
	slices.SortStableFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

func (s *scrubber) scrub(text string) string {
	for _, secret := range s.secrets {
		text = strings.ReplaceAll(text, secret, "[redacted]")
	}
	return text
}

// header copies h for the Result: Set-Cookie values replaced, everything
// scrubbed.
func (s *scrubber) header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			if http.CanonicalHeaderKey(k) == "Set-Cookie" {
				if name, rest, ok := strings.Cut(v, "="); ok {
					_, attrs, has := strings.Cut(rest, ";")
					v = name + "=[redacted]"
					if has {
						v += ";" + attrs
					}
				}
			}
			out[k] = append(out[k], s.scrub(v))
		}
	}
	return out
}

func sleep(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }
