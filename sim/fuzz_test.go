package sim

import (
	"bufio"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fuzz targets of the parsers of server data and user input. Their
// seeds are the files under testdata/seeds (and any crasher kept under
// testdata/fuzz), so `go test` runs them as ordinary tests.

// seedLines adds every line of a seed file that is not a comment.
func seedLines(f *testing.F, name string) {
	f.Helper()
	file, err := os.Open(filepath.Join("testdata", "seeds", name))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	n := 0
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "# ") {
			f.Add(line)
			n++
		}
	}
	if err := sc.Err(); err != nil || n == 0 {
		f.Fatalf("seeds %s: %d lines, %v", name, n, err)
	}
}

// within fails an input that takes longer than a parser of server data
// may: the bound is generous for a slow CI runner, tight for a hang.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	if el := time.Since(start); el > d {
		t.Fatalf("took %s (more than %s)", el, d)
	}
}

func FuzzParseIdentifier(f *testing.F) {
	seedLines(f, "identifiers.txt")
	f.Fuzz(func(t *testing.T, id string) {
		for _, one := range []bool{false, true} {
			user, domain, err := ParseIdentifier(id, one)
			if err != nil {
				if !strings.Contains(err.Error(), "identifier") {
					t.Fatalf("the error does not name the input: %v", err)
				}
				continue
			}
			// The split loses nothing but the domain's case.
			if !strings.EqualFold(user+"@"+domain, id) || !strings.HasPrefix(id, user+"@") {
				t.Fatalf("%q split into %q and %q", id, user, domain)
			}
			if user == "" || !isFQDN(domain) || domain != strings.ToLower(domain) {
				t.Fatalf("%q: accepted user %q, domain %q", id, user, domain)
			}
			if one && strings.Count(id, "@") != 1 {
				t.Fatalf("%q: exactly-one-@ accepted %d", id, strings.Count(id, "@"))
			}
			if strings.Contains(domain, "@") {
				t.Fatalf("%q: the domain %q holds an '@' (not the last one split)", id, domain)
			}
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	seedLines(f, "challenges.txt")
	f.Add(strings.Repeat(`Basic realm="r", `, 40))
	f.Add("Bearer " + strings.Repeat(`p="v" `, 70))
	f.Fuzz(func(t *testing.T, v string) {
		var cs []*Challenge
		var err error
		within(t, time.Second, func() { cs, err = ParseChallenges([]string{v, v}) })
		if err != nil {
			return // over a bound, which the error names
		}
		if len(cs) > maxChallenges {
			t.Fatalf("%d challenges, over the bound", len(cs))
		}
		var again []string
		for _, c := range cs {
			if len(c.Params) > maxChallengeParams {
				t.Fatalf("%d parameters, over the bound", len(c.Params))
			}
			if c.Err != nil {
				return // the round trip holds for what parsed
			}
			again = append(again, c.String())
		}
		// Written back in Apple's form, the challenges parse the same.
		joined := strings.Join(again, ", ")
		if len(joined) > maxChallengeBytes || len(cs) == 0 {
			return
		}
		cs2, err := ParseChallenges([]string{joined})
		if err != nil {
			t.Fatalf("%q re-serialised as %q does not parse: %v", v, joined, err)
		}
		if len(cs2) != len(cs) {
			t.Fatalf("%q: %d challenges, re-serialised %q: %d", v, len(cs), joined, len(cs2))
		}
		for i := range cs {
			a, b := cs[i], cs2[i]
			if a.Scheme != b.Scheme || a.Token68 != b.Token68 || !reflect.DeepEqual(a.Params, b.Params) || b.Err != nil {
				t.Fatalf("%q challenge %d: %q %q %v, re-serialised %q: %q %q %v (%v)", v, i, a.Scheme, a.Token68, a.Params, joined, b.Scheme, b.Token68, b.Params, b.Err)
			}
		}
		// The device's choice is a Bearer challenge, when there is one.
		if c, i, n := pickBearer(cs); c != nil && (!c.isBearer() || cs[i] != c || n == 0) {
			t.Fatalf("pickBearer chose %q at %d of %d", c.Scheme, i, n)
		}
	})
}

// foundationEscape percent-encodes a query value the way a correct server
// does for a device: '+' and space both escaped, since Foundation reads
// '+' as itself.
func foundationEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func FuzzCallbackURL(f *testing.F) {
	file, err := os.ReadFile(filepath.Join("testdata", "seeds", "callbacks.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(file), "\n") {
		if line != "" && !strings.HasPrefix(line, "# ") {
			f.Add(line, "tok+en/with=signs&more%")
		}
	}
	f.Fuzz(func(t *testing.T, raw, token string) {
		within(t, time.Second, func() {
			if u, err := url.Parse(raw); err == nil {
				q, _ := foundationQuery(u.RawQuery)
				_ = hasCredential(u)
				_ = rawQueryValue(u.RawQuery, "access-token")
				for _, vs := range q {
					if len(vs) == 0 {
						t.Fatalf("%q: an item without a value slice", raw)
					}
				}
			}
		})
		// A token encoded correctly round-trips, first of repeated items.
		cb := CallbackScheme + "://authentication-results?access-token=" + foundationEscape(token) + "&access-token=decoy"
		u, err := url.Parse(cb)
		if err != nil {
			t.Fatalf("%q: %v", cb, err)
		}
		q, err := foundationQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("%q: %v", cb, err)
		}
		if got := q.Get("access-token"); got != token {
			t.Fatalf("token %q came back as %q from %q", token, got, cb)
		}
		if dec, err := url.PathUnescape(rawQueryValue(u.RawQuery, "access-token")); err != nil || dec != token {
			t.Fatalf("the raw item of %q decodes to %q, %v", cb, dec, err)
		}
	})
}
