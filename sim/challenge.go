package sim

import (
	"fmt"
	"strings"
)

// Challenge is a parsed WWW-Authenticate value of the 401 (§2.6).
type Challenge struct {
	Raw    string
	Scheme string            // as sent; devices compare it with "Bearer" exactly
	Params map[string]string // lower-case names as sent (devices look names up exactly)
	// Form problems that devices tolerate but strict parsers would not
	// (ENR-006): a missing comma, an unquoted value, another spelling of
	// the scheme.
	Lenient []string
}

// Method is the method parameter.
func (c *Challenge) Method() string { return c.Params["method"] }

// ParseChallenge reads a WWW-Authenticate value the way the iOS 26.1 client
// does: the scheme, then name=value pairs separated by commas or by white
// space, values quoted or bare. Two production servers omit the commas and
// devices accept them, so a strict RFC 7235 parser would fail working
// servers; the deviations are collected in Lenient instead.
func ParseChallenge(v string) (*Challenge, error) {
	c := &Challenge{Raw: v, Params: map[string]string{}}
	s := strings.TrimSpace(v)
	if s == "" {
		return nil, fmt.Errorf("empty WWW-Authenticate")
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		c.Scheme = s
		return c, nil
	}
	c.Scheme, s = s[:i], strings.TrimSpace(s[i:])
	if c.Scheme != "Bearer" && strings.EqualFold(c.Scheme, "Bearer") {
		c.Lenient = append(c.Lenient, fmt.Sprintf("scheme spelled %q, not Bearer", c.Scheme))
	}
	first := true
	for s != "" {
		sep := ""
		for s != "" && (s[0] == ',' || s[0] == ' ' || s[0] == '\t') {
			sep += s[:1]
			s = s[1:]
		}
		if s == "" {
			break
		}
		if !first && !strings.Contains(sep, ",") {
			c.Lenient = append(c.Lenient, "parameters separated without a comma")
		}
		first = false
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return c, fmt.Errorf("parameter without '=' near %q", truncate(s, 40))
		}
		name := strings.TrimSpace(s[:eq])
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			end := -1
			var b strings.Builder
			for j := 1; j < len(s); j++ {
				if s[j] == '\\' && j+1 < len(s) {
					b.WriteByte(s[j+1])
					j++
					continue
				}
				if s[j] == '"' {
					end = j
					break
				}
				b.WriteByte(s[j])
			}
			if end < 0 {
				return c, fmt.Errorf("unterminated quoted value of %s", name)
			}
			val, s = b.String(), s[end+1:]
		} else {
			j := strings.IndexAny(s, ", \t")
			if j < 0 {
				j = len(s)
			}
			val, s = s[:j], s[j:]
			c.Lenient = append(c.Lenient, fmt.Sprintf("value of %s not in double quotes", name))
		}
		if _, dup := c.Params[name]; !dup {
			c.Params[name] = val
		}
	}
	c.Lenient = dedupe(c.Lenient)
	return c, nil
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
