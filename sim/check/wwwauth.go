package check

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// The WWW-Authenticate reader lives with the judges: ENR reads its
// results, and a device's reading of a challenge is part of the verdict.

// Bounds on what the challenge parser reads. The transport caps the header
// block as a whole; these keep one hostile WWW-Authenticate from costing
// more than a real one ever needs (Apple's longest, apple-oauth2, is about
// 400 bytes with six parameters).
const (
	MaxChallengeBytes  = 16 << 10 // all WWW-Authenticate values of one answer together
	MaxChallenges      = 32       // challenges in one answer
	MaxChallengeParams = 64       // parameters of one challenge
)

// AuthChallenge is one parsed challenge of a 401 (§2.6).
type AuthChallenge struct {
	Raw     string
	Scheme  string            // as sent; devices compare it with "Bearer" exactly
	Params  map[string]string // names as sent (devices look names up exactly); the first of a repeated name
	Token68 string            // the token68 form of other schemes (Basic, Negotiate)
	// Form problems that devices tolerate but strict parsers would not
	// (ENR-006): a missing comma, an unquoted value, another spelling of
	// the scheme, a repeated parameter.
	Lenient []string
	// Err is why the challenge could not be read to its end. The
	// challenges before it in the header still count.
	Err error
}

// Method is the method parameter.
func (c *AuthChallenge) Method() string { return c.Params["method"] }

// IsBearer: the scheme is Bearer in any case (a device wants it exact:
// ENR-006 reports another spelling).
func (c *AuthChallenge) IsBearer() bool { return strings.EqualFold(c.Scheme, "Bearer") }

// String writes the challenge back in Apple's form: names sorted,
// values quoted. Parsing it gives the same scheme, token68 and parameters.
func (c *AuthChallenge) String() string {
	var b strings.Builder
	b.WriteString(c.Scheme)
	if c.Token68 != "" {
		b.WriteString(" " + c.Token68)
	}
	names := make([]string, 0, len(c.Params))
	for n := range c.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if i == 0 && c.Token68 == "" {
			b.WriteString(" ")
		} else {
			b.WriteString(", ")
		}
		v := strings.ReplaceAll(strings.ReplaceAll(c.Params[n], `\`, `\\`), `"`, `\"`)
		b.WriteString(n + `="` + v + `"`)
	}
	return b.String()
}

// ParseChallenge reads the first challenge of a WWW-Authenticate value. See
// ParseChallenges for the rules.
func ParseChallenge(v string) (*AuthChallenge, error) {
	cs, err := ParseChallenges([]string{v})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("empty WWW-Authenticate")
	}
	return cs[0], cs[0].Err
}

// ParseChallenges reads every challenge of every WWW-Authenticate value of
// an answer, in order, the way a device looks for its Bearer challenge: an
// answer may carry several headers and a header several challenges (RFC 9110
// §11.6.1, `Basic realm="x", Bearer method="apple-as-web", url="..."`).
//
// Within a challenge the parser is the iOS 26.1 client's, lenient: name=value
// pairs separated by commas or by white space, values quoted or bare. Two
// production servers omit the commas and devices accept them, so a strict
// RFC parser would fail working servers; the deviations are collected in
// Lenient instead. A bare word that is not followed by '=' starts the next
// challenge, except right after a scheme other than Bearer, where it is
// that scheme's token68 (Bearer challenges of §2.6 carry parameters only).
//
// A challenge that cannot be read carries Err and ends its header value;
// the error return is for input over the parser's bounds only.
func ParseChallenges(values []string) ([]*AuthChallenge, error) {
	total := 0
	for _, v := range values {
		total += len(v)
	}
	if total > MaxChallengeBytes {
		return nil, fmt.Errorf("WWW-Authenticate is %d bytes, over the simulator's limit of %d KiB for challenges", total, MaxChallengeBytes>>10)
	}
	var out []*AuthChallenge
	for _, v := range values {
		p := &challengeParser{s: v}
		for {
			c := p.next()
			if c == nil {
				break
			}
			if len(out) == MaxChallenges {
				return out, fmt.Errorf("more than %d challenges in WWW-Authenticate (the simulator's limit)", MaxChallenges)
			}
			c.Lenient = Distinct(c.Lenient)
			out = append(out, c)
			if c.Err != nil {
				break
			}
		}
	}
	return out, nil
}

// challengeParser walks one header value.
type challengeParser struct {
	s string
	i int
}

func isChallengeSpace(b byte) bool { return b == ' ' || b == '\t' }

// skipSeparators passes white space and commas and returns them.
func (p *challengeParser) skipSeparators() string {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ',' || isChallengeSpace(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// word reads up to white space, a comma, '=' or a quote.
func (p *challengeParser) word() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t,=\"", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// equalsAfter reports whether '=' follows at i, white space allowed before
// it (RFC 9110's BWS), and where.
func (p *challengeParser) equalsAfter(i int) (int, bool) {
	for i < len(p.s) && isChallengeSpace(p.s[i]) {
		i++
	}
	return i, i < len(p.s) && p.s[i] == '='
}

// token68At: from i, one or more '=' and then the end, white space or a
// comma (the padding of a token68 such as base64).
func (p *challengeParser) token68At(i int) (int, bool) {
	j := i
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	return j, j > i && (j == len(p.s) || p.s[j] == ',' || isChallengeSpace(p.s[j]))
}

// next reads one challenge, or returns nil at the end of the value.
func (p *challengeParser) next() *AuthChallenge {
	p.skipSeparators()
	if p.i >= len(p.s) {
		return nil
	}
	start := p.i
	c := &AuthChallenge{Params: map[string]string{}}
	defer func() { c.Raw = strings.TrimRight(p.s[start:p.i], " \t,") }()
	c.Scheme = p.word()
	if c.Scheme == "" || (p.i < len(p.s) && p.s[p.i] == '=') {
		c.Err = fmt.Errorf("a parameter or value where an auth-scheme should be, near %q", Truncate(p.s[start:], 40))
		p.i = len(p.s)
		return c
	}
	if c.Scheme != "Bearer" && c.IsBearer() {
		c.Lenient = append(c.Lenient, fmt.Sprintf("scheme spelled %q, not Bearer", c.Scheme))
	}
	for first := true; ; first = false {
		before := p.i
		sep := p.skipSeparators()
		if p.i >= len(p.s) {
			return c
		}
		itemStart := p.i
		name := p.word()
		if name == "" {
			c.Err = fmt.Errorf("unexpected %q near %q", p.s[p.i], Truncate(p.s[p.i:], 40))
			p.i = len(p.s)
			return c
		}
		eq, isParam := p.equalsAfter(p.i)
		if end, ok := p.token68At(eq); isParam && first && !c.IsBearer() && ok && !strings.Contains(sep, ",") {
			c.Token68, p.i = p.s[itemStart:end], end
			continue
		}
		if !isParam {
			if first && !strings.Contains(sep, ",") {
				if c.IsBearer() {
					c.Err = fmt.Errorf("parameter without '=' near %q", Truncate(p.s[itemStart:], 40))
					p.i = len(p.s)
					return c
				}
				c.Token68 = name
				continue
			}
			p.i = before // the next challenge starts here
			return c
		}
		switch {
		case first && strings.Contains(sep, ","):
			c.Lenient = append(c.Lenient, "a comma between the scheme and its first parameter")
		case !first && !strings.Contains(sep, ","):
			c.Lenient = append(c.Lenient, "parameters separated without a comma")
		}
		if len(c.Params) == MaxChallengeParams {
			c.Err = fmt.Errorf("more than %d parameters in one challenge (the simulator's limit)", MaxChallengeParams)
			p.i = len(p.s)
			return c
		}
		p.i = eq + 1
		for p.i < len(p.s) && isChallengeSpace(p.s[p.i]) {
			p.i++
		}
		val, err := p.value(name, c)
		if err != nil {
			c.Err = err
			p.i = len(p.s)
			return c
		}
		if _, dup := c.Params[name]; dup {
			c.Lenient = append(c.Lenient, fmt.Sprintf("parameter %s given more than once; the first is used", Truncate(name, 40)))
			continue
		}
		c.Params[name] = val
	}
}

// value reads a quoted string (with backslash escapes) or a bare value up
// to white space or a comma.
func (p *challengeParser) value(name string, c *AuthChallenge) (string, error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		var b strings.Builder
		for j := p.i + 1; j < len(p.s); j++ {
			if p.s[j] == '\\' && j+1 < len(p.s) {
				b.WriteByte(p.s[j+1])
				j++
				continue
			}
			if p.s[j] == '"' {
				p.i = j + 1
				return b.String(), nil
			}
			b.WriteByte(p.s[j])
		}
		return "", fmt.Errorf("unterminated quoted value of %s", Truncate(name, 40))
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && !isChallengeSpace(p.s[p.i]) {
		p.i++
	}
	c.Lenient = append(c.Lenient, fmt.Sprintf("value of %s not in double quotes", Truncate(name, 40)))
	return p.s[start:p.i], nil
}

// knownMethod: the sign-in methods of the third-party spec (§2.6).
func KnownMethod(m string) bool { return m == "apple-as-web" || m == "apple-oauth2" }

// pickBearer is the device's choice among the challenges: the first Bearer
// challenge with a method it knows, else the first Bearer challenge (which
// then fails on its method). index is its position among all challenges,
// bearers how many Bearer challenges there were.
func PickBearer(cs []*AuthChallenge) (chosen *AuthChallenge, index, bearers int) {
	index = -1
	for i, c := range cs {
		if !c.IsBearer() {
			continue
		}
		bearers++
		usable := c.Err == nil && KnownMethod(c.Method())
		if chosen == nil || (usable && !(chosen.Err == nil && KnownMethod(chosen.Method()))) {
			chosen, index = c, i
		}
	}
	return chosen, index, bearers
}

// hasChallenge: the answer carries a WWW-Authenticate that is not blank,
// in any of its headers.
func HasChallenge(h Header) bool {
	for _, v := range h.Values("WWW-Authenticate") {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// challengeHeader is every WWW-Authenticate value of an answer for a
// message, bounded.
func ChallengeHeader(h Header) string {
	var vs []string
	for _, v := range h.Values("WWW-Authenticate") {
		if strings.TrimSpace(v) != "" {
			vs = append(vs, v)
		}
	}
	return Truncate(strings.Join(vs, " | "), 200)
}

// Truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return RuneCut(s, n) + "…"
}

// RuneCut is the longest prefix of s of at most n bytes that does not split
// a character.
func RuneCut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
