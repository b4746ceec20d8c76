package axm

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// oauthParams reads an OAuth 1.0a Authorization header (RFC 5849 §3.5.1).
func oauthParams(h string) (map[string]string, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "OAuth") {
		return nil, errors.New("no OAuth Authorization header")
	}
	out := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		uq, err := strconv.Unquote(strings.TrimSpace(v))
		if err != nil {
			uq = strings.Trim(strings.TrimSpace(v), `"`)
		}
		dec, err := url.PathUnescape(uq)
		if err != nil {
			return nil, errors.New("a parameter is not percent-encoded")
		}
		out[strings.TrimSpace(k)] = dec
	}
	return out, nil
}

// rfc3986 percent-encodes all but the unreserved characters, as §3.6 asks.
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)|0x100, 16)[1:]))
	}
	return b.String()
}

// baseString is §3.4.1: method, base URI and the sorted parameters (query
// and oauth_*, without oauth_signature and realm).
func baseString(r *http.Request, params map[string]string) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	host := strings.ToLower(r.Host)
	host = strings.TrimSuffix(host, map[string]string{"https": ":443", "http": ":80"}[scheme])
	type kv struct{ k, v string }
	var ps []kv
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			ps = append(ps, kv{rfc3986(k), rfc3986(v)})
		}
	}
	for k, v := range params {
		if k == "oauth_signature" || k == "realm" {
			continue
		}
		ps = append(ps, kv{rfc3986(k), rfc3986(v)})
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].k != ps[j].k {
			return ps[i].k < ps[j].k
		}
		return ps[i].v < ps[j].v
	})
	pairs := make([]string, len(ps))
	for i, p := range ps {
		pairs[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(r.Method) + "&" + rfc3986(scheme+"://"+host+r.URL.EscapedPath()) + "&" + rfc3986(strings.Join(pairs, "&"))
}

// verifyOAuth checks the request's HMAC-SHA1 signature with creds, and
// that its timestamp is near now. The nonce is the caller's to remember.
func verifyOAuth(r *http.Request, params map[string]string, creds Credentials, now time.Time) error {
	if m := params["oauth_signature_method"]; m != "HMAC-SHA1" {
		return errors.New("oauth_signature_method " + strconv.Quote(m) + ": Apple's API takes HMAC-SHA1")
	}
	if v, ok := params["oauth_version"]; ok && v != "1.0" {
		return errors.New("oauth_version " + strconv.Quote(v) + ": want 1.0")
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	if err != nil {
		return errors.New("oauth_timestamp is not a number")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 10*time.Minute || d < -10*time.Minute {
		return errors.New("oauth_timestamp is more than 10 minutes from the stand-in's clock")
	}
	if params["oauth_nonce"] == "" {
		return errors.New("no oauth_nonce")
	}
	key := rfc3986(creds.ConsumerSecret) + "&" + rfc3986(creds.AccessSecret)
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(baseString(r, params)))
	want := mac.Sum(nil)
	got, err := base64.StdEncoding.DecodeString(params["oauth_signature"])
	if err != nil || !hmac.Equal(got, want) {
		return errors.New("the OAuth signature does not verify with the token's secrets")
	}
	return nil
}
