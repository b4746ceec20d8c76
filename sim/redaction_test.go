package sim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/event"
)

// wireSecrets watches the raw HTTP traffic and collects every credential
// the server hands out: cookies, tokens and codes in Locations and JSON.
type wireSecrets struct {
	next sim.Doer
	mu   sync.Mutex
	seen map[string]bool
	// challenges and tokenData count what the server handed out after
	// the profile, so the test knows it searched for them.
	challenges, tokenData int
}

var jsonSecret = regexp.MustCompile(`"(access_token|refresh_token|id_token)"\s*:\s*"([^"]+)"`)

// The SCEP challenge in a profile (signed profiles carry their XML as is)
// and the TokenData of a GetToken answer are credentials too.
var (
	scepChallenge = regexp.MustCompile(`<key>Challenge</key>\s*<string>([^<]+)</string>`)
	tokenDataB64  = regexp.MustCompile(`<key>TokenData</key>\s*<data>([^<]+)</data>`)
)

func (w *wireSecrets) add(v string) {
	if len(v) >= 6 {
		w.mu.Lock()
		w.seen[v] = true
		w.mu.Unlock()
	}
}

func (w *wireSecrets) Do(req *http.Request) (*http.Response, error) {
	resp, err := w.next.Do(req)
	if err != nil {
		return resp, err
	}
	for _, c := range resp.Cookies() {
		w.add(c.Value)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := url.Parse(loc); err == nil {
			for k, vs := range u.Query() {
				if k == "access-token" || k == "code" || k == "ticket" {
					for _, v := range vs {
						w.add(v)
					}
				}
			}
		}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range jsonSecret.FindAllStringSubmatch(string(body), -1) {
		w.add(m[2])
	}
	for _, m := range scepChallenge.FindAllStringSubmatch(string(body), -1) {
		w.add(m[1])
		w.mu.Lock()
		w.challenges++
		w.mu.Unlock()
	}
	for _, m := range tokenDataB64.FindAllStringSubmatch(string(body), -1) {
		if d, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), "")); err == nil {
			w.add(string(d))
			w.mu.Lock()
			w.tokenData++
			w.mu.Unlock()
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// No password, TOTP seed, token, code or cookie reaches the event stream or
// the text report, in any of the forms it travels in.
func TestNoSecretInEventsOrReports(t *testing.T) {
	r := startRef(t, 5*time.Second)
	watch := &wireSecrets{next: r.target.Doer, seen: map[string]bool{}}
	r.target.Doer = watch
	var cases []sim.Case
	for _, id := range []string{"alice@acme.test", "carol@acme.test", "erin@acme.test"} {
		typ := sim.TypeUser
		if strings.HasPrefix(id, "carol") {
			typ = sim.TypeDevice
		}
		cases = append(cases, caseFor(t, "iphone@26.1", id, typ))
	}
	reps, events := play(t, r, 5*time.Second, cases...)
	for _, rep := range reps {
		require.Equal(t, event.OutcomeEnrolled, rep.Outcome, rep.Name)
	}
	var out bytes.Buffer
	text := report.NewText(&out, report.TextOptions{Verbose: true, Bodies: true}) // -vv: headers and decoded bodies too
	jl := report.NewJSONL(&out)
	for _, ev := range events {
		text.Handle(ev)
		jl.Handle(ev)
	}
	secrets := map[string]bool{}
	for s := range watch.seen {
		secrets[s] = true
	}
	for _, c := range cases {
		a := r.account(c.Account.Identifier)
		secrets[a.Password.Reveal()] = true
		secrets[a.TOTPSecret.Reveal()] = true
	}
	require.Greater(t, len(secrets), 10, "the traffic should have carried tokens, codes and cookies")
	assert.Positive(t, watch.challenges, "the profiles should have carried SCEP challenges")
	assert.Positive(t, watch.tokenData, "GetToken should have answered TokenData")
	all := out.String()
	for s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s))} {
			if i := strings.Index(all, form); i >= 0 {
				t.Errorf("a secret leaked into the output: …%s…", all[max(0, i-120):i])
			}
		}
	}
	// And the redaction is visible, not a silent drop of the exchanges.
	assert.Contains(t, all, "Bearer [redacted]")
	assert.Regexp(t, `apple-remotemanagement-user-login://authentication-results\?(access-token=)?\[redacted\]`, all)
	raw, err := json.Marshal(events)
	require.NoError(t, err)
	assert.Contains(t, string(raw), "[redacted]")
	noSecretInBinaryBodies(t, events, secrets)
}

// The decoded binary bodies (a signed profile, SCEP messages) show the
// challenge redacted, and the bodies' own bytes, carried as base64 for a
// HAR, hold no secret in any form.
func noSecretInBinaryBodies(t *testing.T, events []event.Event, secrets map[string]bool) {
	t.Helper()
	var decodedProfile, carried bool
	for _, ev := range events {
		x := ev.Exchange
		if x == nil {
			continue
		}
		if strings.Contains(x.ResponseDecoded, "<key>Challenge</key>") {
			decodedProfile = true
			assert.Regexp(t, `<key>Challenge</key>\s*<string>\[redacted\]</string>`, x.ResponseDecoded)
		}
		for _, b64 := range []string{x.RequestBase64, x.ResponseBase64} {
			if b64 == "" {
				continue
			}
			carried = true
			body, err := base64.StdEncoding.DecodeString(b64)
			require.NoError(t, err)
			for s := range secrets {
				for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s))} {
					assert.NotContains(t, string(body), form, "a secret in the bytes of exchange %d (%s)", x.Seq, x.Purpose)
					assert.NotContains(t, b64, form, "a secret in the base64 of exchange %d (%s)", x.Seq, x.Purpose)
				}
			}
		}
	}
	assert.True(t, decodedProfile, "a signed profile should have been decoded, its challenge redacted")
	assert.True(t, carried, "some binary body (the enrollment POST, a CertRep) should have been carried as base64")
}
