package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/enrollsim/enrollsim/internal/refserver"
	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

// tookLine is the summary's duration, which no two runs share.
var tookLine = regexp.MustCompile(`(?m)^  took: .*$`)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

type result struct {
	code        int
	out, errOut string
}

func testFactory(env map[string]string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Factory{
		IO:      IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Now:     func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) },
		Getenv:  func(k string) string { return env[k] },
		Version: "test",
		Limits:  loadedLimits,
	}, &out, &errOut
}

// loadedLimits replace the browser's production page timeout (10 s) and a
// sign-in's step timeout (60 s) in tests: a browser sign-in on two cores
// that other work keeps busy can exceed them, and the page timeout expiring
// ends a sign-in that would have reached its callback (a missing AUTH-003,
// an auth-failed case). Tests of what a server does must not depend on the
// machine's speed; tests of the bounds set their own.
var loadedLimits = sim.Limits{PageTimeout: 2 * time.Minute, StepTimeout: 5 * time.Minute}

func execute(t *testing.T, args ...string) result {
	t.Helper()
	f, out, errOut := testFactory(nil)
	code := Execute(context.Background(), f, args)
	return result{code, out.String(), errOut.String()}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "missing golden file; run go test ./internal/cli -update")
	assert.Equal(t, string(want), got, "output differs from %s; if the change is intended, run go test ./internal/cli -update", path)
}

func TestListGolden(t *testing.T) {
	for _, args := range [][]string{
		{"list", "devices"},
		{"list", "faults"},
		{"list", "checks"},
		{"list", "checks", "--all", "--markdown"},
	} {
		name := strings.Join(args, "-") + ".golden"
		t.Run(name, func(t *testing.T) {
			r := execute(t, args...)
			assert.Equal(t, 0, r.code, r.errOut)
			assert.Empty(t, r.errOut)
			golden(t, name, r.out)
		})
	}
}

func TestRunTranscripts(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"run-fallback-threshold", []string{"run", "--fault", "wellknown-404", "--email", "alice@acme.test", "--type", "user", "--device", "iphone@18.1", "--device", "iphone@18.2"}, 1},
		{"run-expected-failure", []string{"run", "--fault", "wellknown-404", "--email", "alice@acme.test", "--device", "iphone@18.1", "--expect-fail", "WK-001"}, 0},
		{"run-expected-failure-missing", []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@18.1", "--expect-fail", "WK-001"}, 1},
		{"run-redirect-loop-verbose", []string{"run", "--fault", "redirect-loop", "--email", "alice@acme.test", "--device", "mac@15.1", "--checks", "RD-*,WK-001", "-v"}, 1},
		{"run-refused", []string{"run", "--embedded", "--email", "carol@acme.test", "--type", "device", "--device", "ipad@16.7", "--device", "vision@1.0"}, 0},
		{"run-default", []string{"run"}, 0},
		// An expected finding (PROF-011, ENR-012 on the iPhone), unexpected
		// ones (ENR-009, with --strict), an expired entry (ENR-012 on the
		// Mac counts again), a stale one (ENR-002) and an unused one.
		{"run-expectations", []string{"run", "--fault", "esso-http", "--fault", "profile-bad-topic", "--fault", "enroll-accepts-garbage",
			"--email", "alice@acme.test", "--device", "iphone@18.2", "--device", "mac@15.2", "--strict",
			"--expectations", "testdata/expectations/known.yaml"}, 1},
		{"matrix-adde", []string{"matrix", "--embedded", "--email", "carol@acme.test", "--type", "device"}, 0},
		{"matrix-fallback-markdown", []string{"matrix", "--fault", "wellknown-404", "--email", "alice@acme.test", "--families", "iphone,mac", "--format", "markdown"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, tt.args...)
			assert.Equal(t, tt.code, r.code, r.errOut)
			golden(t, tt.name+".golden", stripDurations(r.out))
		})
	}
}

// stripDurations makes verbose transcripts repeatable.
func stripDurations(s string) string {
	s = tookLine.ReplaceAllString(s, "  took:     …")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.LastIndex(l, " ("); j > 0 && strings.HasPrefix(strings.TrimSpace(l), "←") && strings.HasSuffix(l, ")") {
			lines[i] = l[:j] + " (…)"
		}
	}
	return strings.Join(lines, "\n")
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"run", "--emial", "a@b.test"}, []string{"unknown flag: --emial", "enrollsim run --help"}},
		{"bad device", []string{"run", "--email", "a@acme.test", "--device", "watch@10"}, []string{"--device: device \"watch@10\": unknown family or product \"watch\"", "enrollsim list devices"}},
		{"bad version", []string{"run", "--email", "a@acme.test", "--device", "iphone@18.x"}, []string{"want MAJOR[.MINOR[.PATCH]]"}},
		{"bad type", []string{"run", "--email", "a@acme.test", "--type", "kiosk"}, []string{`--type: enrollment type "kiosk": want user`}},
		{"bad email", []string{"run", "--email", "alice"}, []string{`--email: identifier "alice" has no '@'`}},
		{"bad fault", []string{"run", "--fault", "nope", "--email", "a@acme.test"}, []string{`nope`, "enrollsim list faults"}},
		{"bad resolve", []string{"run", "--email", "a@acme.test", "--resolve", "foo"}, []string{`--resolve "foo": want HOST:PORT:ADDR`}},
		{"bad connect-to", []string{"run", "--email", "a@acme.test", "--connect-to", "a:b"}, []string{`--connect-to "a:b"`}},
		{"missing cacert", []string{"run", "--email", "a@acme.test", "--cacert", "/nonexistent/ca.pem"}, []string{"/nonexistent/ca.pem"}},
		{"bad checks", []string{"run", "--checks", "WK-999"}, []string{`--checks: check pattern "WK-999" matches no check`}},
		{"bad report", []string{"run", "--report", "pdf=x.pdf"}, []string{`unknown format "pdf"`}},
		{"report without path", []string{"run", "--report", "jsonl"}, []string{"want FORMAT=PATH"}},
		{"bad timeout", []string{"run", "--timeout", "0s"}, []string{"--timeout 0s: want a positive duration"}},
		{"bad page timeout", []string{"run", "--page-timeout", "-1s"}, []string{"--page-timeout -1s: want a positive duration"}},
		{"device without email", []string{"run", "--device", "iphone@18.2"}, []string{"need --email"}},
		{"embedded with target", []string{"run", "--embedded", "--email", "a@acme.test", "--resolve", "a:443:127.0.0.1"}, []string{"cannot be combined"}},
		{"unknown suite", []string{"run", "extra"}, []string{`extra: no such file or directory, and no built-in suite of that name (accepted: conformance, demo, negative, thresholds, tls27)`}},
		{"bad expect-fail", []string{"run", "--email", "a@acme.test", "--expect-fail", "XX-1"}, []string{`--expect-fail "XX-1": no such check`}},
		{"list what", []string{"list"}, []string{"list what?"}},
		{"serve non-loopback", []string{"serve", "--addr", "0.0.0.0:0"}, []string{"loopback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := execute(t, tt.args...)
			assert.Equal(t, 2, r.code, "stdout: %s\nstderr: %s", r.out, r.errOut)
			for _, w := range tt.want {
				assert.Contains(t, r.errOut, w)
			}
			assert.NotContains(t, r.errOut, "panic")
		})
	}
}

func TestUnreachableTargetExits3(t *testing.T) {
	// A closed loopback port: nothing listens there.
	r := execute(t, "run", "--email", "alice@acme.test", "--device", "iphone@18.1", "--device", "iphone@18.2", "--connect-to", "::127.0.0.1:1", "--timeout", "2s")
	assert.Equal(t, 3, r.code, r.out+r.errOut)
	assert.Contains(t, r.out, "could not reach")
	assert.Contains(t, r.errOut, "could not complete")
}

// `serve` in one place and `run` with the printed flags in another give
// the same transcript as the embedded run of the same case.
func TestServeThenRunMatchesEmbedded(t *testing.T) {
	// Long (a whole suite, or real TOTP waits): alongside the others.
	t.Parallel()
	f, out, _ := testFactory(nil)
	// Server and run share a TOTP time, as a lab machine's clock: the run
	// needs a fresh TOTP step each time it signs in again (token life),
	// and jumps the shared time to it where a lab waits 30 s (the real
	// wait cost this test 55 s; the server still refuses a replayed code).
	f.Now = time.Now
	f.totpClock = &sim.VirtualClock{}
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	srv, stop := startServe(t, f, &serveOptions{Addr: "127.0.0.1:0", CAOut: caPath})
	printed := out.String()
	cmdLine := pasteCommand(srv, caPath, filepath.Join(filepath.Dir(caPath), "secrets"), "alice@acme.test", "iphone@18.2", "user")
	assert.Contains(t, printed, cmdLine, "serve prints the command to paste")
	assert.Contains(t, printed, caPath)

	args := strings.Fields(strings.TrimPrefix(cmdLine, "enrollsim "))
	for i, a := range args {
		args[i] = strings.Trim(a, "'") // the shell's quotes
	}
	// A deployed server's run needs fresh TOTP steps (signing in again in
	// token life): the factory's fixed clock would never bring one.
	sf, sout, serr := testFactory(nil)
	sf.Now, sf.totpClock = time.Now, f.totpClock
	code := Execute(context.Background(), sf, args)
	viaServe := result{code, sout.String(), serr.String()}
	embedded := execute(t, "run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@18.2", "--type", "user")
	assert.Equal(t, 0, viaServe.code, viaServe.errOut)
	// The one line that may differ: how long each run took, and the TOTP
	// time the embedded run skipped.
	// and the waits for fresh TOTP steps, which the embedded target skips.
	waits := regexp.MustCompile(`(?m)^  … waiting .*\n`)
	// The embedded run also judges the server's AxM registration from its
	// own stand-in (a step and four checks), which a run against serve
	// cannot see; everything else is the same.
	assert.Contains(t, embedded.out, "axm-registration  ok       acme-mdm registered")
	registration := regexp.MustCompile(`(?m)^  axm-registration .*\n|^ +checks: .*\n|^      INFO  ABM-007: .*\n`)
	assert.Equal(t, registration.ReplaceAllString(stripDurations(embedded.out), ""),
		registration.ReplaceAllString(waits.ReplaceAllString(stripDurations(viaServe.out), ""), ""))
	stop()
}

func TestReportsWritten(t *testing.T) {
	dir := t.TempDir()
	jl, tx := filepath.Join(dir, "run.jsonl"), filepath.Join(dir, "run.txt")
	r := execute(t, "run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@18.2", "--report", "jsonl="+jl, "--report", "text="+tx)
	require.Equal(t, 0, r.code, r.errOut)
	b, err := os.ReadFile(jl)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Contains(t, lines[0], `"kind":"run-start"`)
	assert.Contains(t, lines[len(lines)-1], `"kind":"run-end"`)
	txt, err := os.ReadFile(tx)
	require.NoError(t, err)
	assert.Contains(t, string(txt), "→ GET https://acme.test/.well-known/com.apple.remotemanagement")
}

// The README's check table is generated, never hand-kept.
func TestReadmeChecksTable(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	s := string(readme)
	begin, end := strings.Index(s, "<!-- checks:begin -->\n"), strings.Index(s, "<!-- checks:end -->")
	require.True(t, begin >= 0 && end > begin, "README.md lacks the checks markers")
	r := execute(t, "list", "checks", "--markdown")
	assert.Equal(t, r.out, s[begin+len("<!-- checks:begin -->\n"):end], "regenerate the README table with: go run ./cmd/enrollsim list checks --markdown")
}

// Secrets given through the environment or files never reach stdout,
// stderr or a report, whether the sign-in works or not.
func TestSecretsNeverPrinted(t *testing.T) {
	var alice refserver.Account
	srv, err := refserver.Start(refserver.Config{})
	require.NoError(t, err)
	for _, a := range srv.Accounts() {
		if a.Identifier == "alice@acme.test" {
			alice = a
		}
	}
	srv.Close()
	require.NotEmpty(t, alice.Password)
	dir := t.TempDir()
	seedFile := filepath.Join(dir, "seed")
	require.NoError(t, os.WriteFile(seedFile, []byte(alice.TOTPSecret+"\n"), 0o600))

	for _, tc := range []struct {
		name, password string
		code           int
	}{
		{"working sign-in", alice.Password, 0},
		{"wrong password", "canary-Pa55word-that-fails", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, out, errOut := testFactory(map[string]string{"QA_PASSWORD": tc.password})
			jl, tx := filepath.Join(dir, tc.name+".jsonl"), filepath.Join(dir, tc.name+".txt")
			code := Execute(context.Background(), f, []string{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@26.1",
				"--password-env", "QA_PASSWORD", "--totp-secret-file", seedFile, "-v", "--report", "jsonl=" + jl, "--report", "text=" + tx})
			assert.Equal(t, tc.code, code, errOut.String())
			everything := out.String() + errOut.String()
			for _, p := range []string{jl, tx} {
				b, err := os.ReadFile(p)
				require.NoError(t, err)
				everything += string(b)
			}
			for _, secret := range []string{tc.password, alice.TOTPSecret} {
				assert.NotContains(t, everything, secret)
				assert.NotContains(t, everything, url.QueryEscape(secret))
			}
			assert.Contains(t, everything, "[redacted]")
		})
	}
}

func caseNames(t *testing.T, path string) []string {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	var names []string
	require.NoError(t, report.ReadJSONL(fh, func(ev event.Event) {
		if ev.Kind == event.EventCaseStart {
			names = append(names, ev.Case)
		}
	}))
	return names
}

// --shard 1/3, 2/3 and 3/3 together play every case exactly once.
func TestShardsCoverEveryCaseOnce(t *testing.T) {
	dir := t.TempDir()
	all := filepath.Join(dir, "all.jsonl")
	// Which shard plays a case is decided before anything is played: the
	// cases stop at the profile, a quarter of the time of their whole life.
	full := execute(t, "run", "--until", "profile", "--report", "jsonl="+all)
	require.Equal(t, 0, full.code, full.errOut)
	want := caseNames(t, all)
	require.Greater(t, len(want), 30)
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("shard%d.jsonl", i))
		res := execute(t, "run", "--until", "profile", "--shard", fmt.Sprintf("%d/3", i), "--parallel", "3", "--report", "jsonl="+p)
		require.Equal(t, 0, res.code, res.errOut)
		names := caseNames(t, p)
		assert.InDelta(t, len(want)/3, len(names), 1)
		for _, n := range names {
			seen[n]++
		}
	}
	for _, n := range want {
		assert.Equal(t, 1, seen[n], "case %s", n)
	}
	assert.Len(t, seen, len(want))
}

func TestFailFastStopsAfterFirstFailure(t *testing.T) {
	r := execute(t, "run", "--fault", "wellknown-404", "--email", "alice@acme.test", "--device", "iphone@18.1", "--device", "iphone@18.2", "--fail-fast")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.errOut, "--fail-fast")
	assert.Contains(t, r.out, "iphone@18.1/auto")
	assert.NotContains(t, r.out, "iphone@18.2/auto")
}

func TestShardAndParallelFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"run", "--shard", "4/3"}, {"run", "--shard", "1-3"}, {"run", "--shard", "0/2"}, {"run", "--parallel", "0"}} {
		r := execute(t, args...)
		assert.Equal(t, 2, r.code, args)
		assert.Contains(t, r.errOut, args[1], args)
	}
}

// Every format written during a run can be made again, identical, from the
// saved event stream.
func TestReportFromSavedRun(t *testing.T) {
	dir := t.TempDir()
	// The expectations file's verdict travels in the stream too.
	known := filepath.Join(dir, "known.yaml")
	require.NoError(t, os.WriteFile(known, []byte("expectations:\n  - check: ENR-002\n    reason: TICKET-3\n  - check: WK-*\n    case: bob-*/*\n    reason: not in this run\n"), 0o600))
	args := []string{"run", "--fault", "callback-303", "--email", "alice@acme.test", "--device", "iphone@26.1", "--device", "mac@15.2", "--expectations", known}
	for _, format := range []string{"jsonl", "json", "junit", "markdown", "html", "har", "text"} {
		args = append(args, "--report", format+"="+filepath.Join(dir, "live."+format))
	}
	r := execute(t, args...)
	require.Equal(t, 0, r.code, r.errOut)
	saved, err := os.ReadFile(filepath.Join(dir, "live.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(saved), `"expectations":{"file":`)
	for _, format := range []string{"json", "junit", "markdown", "html", "har", "text"} {
		again := execute(t, "report", "--from", filepath.Join(dir, "live.jsonl"), "--format", format)
		require.Equal(t, 0, again.code, again.errOut)
		live, err := os.ReadFile(filepath.Join(dir, "live."+format))
		require.NoError(t, err)
		assert.NotEmpty(t, live)
		assert.Equal(t, string(live), again.out, format)
	}
	strict := execute(t, "report", "--from", filepath.Join(dir, "live.jsonl"), "--format", "junit", "--strict")
	assert.Contains(t, strict.out, "AUTH-004", "the 303 callback warns, and strict turns it into a failure")
	assert.Contains(t, strict.out, "<failure")

	for _, bad := range [][]string{
		{"report"}, {"report", "--from", "/nonexistent.jsonl"}, {"report", "--from", filepath.Join(dir, "live.json")},
		{"report", "--from", filepath.Join(dir, "live.jsonl"), "--format", "pdf"},
	} {
		res := execute(t, bad...)
		assert.Equal(t, 2, res.code, bad)
		assert.NotEmpty(t, res.errOut)
	}
}

// The built-in suites and a scenario with canary secrets, with every report
// format: no secret, nor its URL-encoded or base64 form, shows anywhere.
func TestNoSecretInAnyOutputOrFormat(t *testing.T) {
	// Long (a whole suite, or real TOTP waits): alongside the others.
	t.Parallel()
	const canaryPassword = "canary-PW-9f8e7d6c5b"
	const canarySeed = "JBSWY3DPEHPK3PXPCANARY7Q"
	env := map[string]string{"ENROLLSIM_CANARY_PASSWORD": canaryPassword, "ENROLLSIM_CANARY_TOTP": canarySeed}
	dir := t.TempDir()
	// -vv: the headers and bodies (binary ones decoded) on stdout too.
	// --parallel 4: most of a suite's time is cases waiting (bounds of
	// faulty servers, pages), which overlap; the outputs are in plan order
	// whatever the parallelism (TestConformanceVerdictsDoNotDependOnParallel).
	args := []string{"run", "demo", "negative", filepath.Join("testdata", "canary", "canary.yaml"), "-vv", "--parallel", "4"}
	for _, format := range []string{"jsonl", "json", "junit", "markdown", "html", "har", "text"} {
		args = append(args, "--report", format+"="+filepath.Join(dir, "out."+format))
	}
	f, out, errOut := testFactory(env)
	code := Execute(context.Background(), f, args)
	require.Equal(t, 0, code, "%s\n%s", errOut.String(), failedCases(out.String()))

	secrets := []string{canaryPassword, canarySeed}
	srv, err := refserver.Start(refserver.Config{})
	require.NoError(t, err)
	for _, a := range srv.Accounts() {
		secrets = append(secrets, a.Password, a.TOTPSecret)
	}
	srv.Close()
	// Every token, code and ticket the embedded servers minted, whichever
	// way it reached the device: a Location (the conforming server), a
	// JSON field of a script's fetch (callback-in-json-body, the
	// single-page sign-ins), a meta refresh (callback-meta-refresh) or a
	// script navigation (callback-script-navigation).
	names := strings.Join(caseNames(t, filepath.Join(dir, "out.jsonl")), "\n")
	for _, fault := range []string{refserver.FaultCallbackInJSONBody, refserver.FaultCallbackMetaRefresh, refserver.FaultCallbackScriptNav} {
		assert.Contains(t, names, fault, "the negative suite plays %s: the token comes in a body", fault)
	}
	minted := issuedCredentials()
	require.NotEmpty(t, minted)
	for _, c := range minted {
		if id, err := base64.RawURLEncoding.DecodeString(c); err == nil && strings.Contains(string(id), "@") {
			// token-predictable's token is the base64 of the user name:
			// public by design, it shows in any base64 that holds the
			// name at the same alignment (an identity certificate).
			continue
		}
		secrets = append(secrets, c)
	}
	outputs := map[string]string{"stdout": out.String(), "stderr": errOut.String()}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	// Seven reports, and the screenshots of the browser sign-ins beside
	// them; a picture's name is an output too.
	require.Len(t, entries, 8)
	for _, e := range entries {
		if e.IsDir() {
			shots, err := os.ReadDir(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			require.NotEmpty(t, shots, e.Name())
			for _, s := range shots {
				outputs[e.Name()+"/"+s.Name()] = s.Name()
			}
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		outputs[e.Name()] = string(b)
		if strings.HasSuffix(e.Name(), ".html") {
			outputs[e.Name()+" (unpacked)"] = unpackedHTML(t, b) // packing would hide a secret
		}
	}
	// One pass per output over every form of every secret: the servers
	// mint hundreds of credentials.
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			forms = append(forms, form, "\x00LEAK\x00")
		}
	}
	mark := strings.NewReplacer(forms...)
	for name, text := range outputs {
		if marked := mark.Replace(text); marked != text {
			i := strings.Index(marked, "\x00LEAK\x00")
			t.Errorf("%s shows a secret: …%s…", name, marked[max(0, i-200):min(len(marked), i+50)])
		}
	}
	assert.Contains(t, outputs["stdout"], "[redacted]")
	// The reports of the demo and negative suites are what CI reads: the
	// JUnit file validates, and the expected failures pass, saying so.
	xmllint, err := exec.LookPath("xmllint")
	require.NoError(t, err, "xmllint is missing: run 'make deps' (Debian package libxml2-utils)")
	assertJUnitValidates(t, xmllint, filepath.Join(dir, "out.junit"))
	assertCITrusts(t, dir)
}

func TestValidateAndNew(t *testing.T) {
	broken, err := filepath.Glob(filepath.Join("..", "..", "scenarios", "testdata", "broken", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, broken)
	r := execute(t, append([]string{"validate"}, broken...)...)
	assert.Equal(t, 2, r.code)
	golden(t, "validate-broken.golden", r.out+"--- stderr\n"+r.errOut)

	ok := execute(t, "validate", "demo", "conformance")
	assert.Equal(t, 0, ok.code, ok.errOut)
	assert.Contains(t, ok.out, fmt.Sprintf("ok  conformance: 4 scenario(s), %d case(s)", 4*len(device.Catalogue())))

	dir := t.TempDir()
	p := filepath.Join(dir, "new.yaml")
	n := execute(t, "new", "scenario", "-o", p)
	require.Equal(t, 0, n.code, n.errOut)
	v := execute(t, "validate", p)
	assert.Equal(t, 0, v.code, v.errOut)
	again := execute(t, "new", "scenario", "-o", p)
	assert.Equal(t, 2, again.code, "never overwrites")

	bad := execute(t, "run", broken[0])
	assert.Equal(t, 2, bad.code)
	assert.Contains(t, bad.errOut, "problem(s) in scenario files")
	mixed := execute(t, "run", "demo", "--email", "alice@acme.test")
	assert.Equal(t, 2, mixed.code)
	assert.Contains(t, mixed.errOut, "scenario files carry their own")
	schema := execute(t, "schema")
	assert.Equal(t, 0, schema.code)
	assert.Contains(t, schema.out, `"$schema"`)
}

// The gate: the three built-in suites pass on the embedded server,
// every report format is written, and the JUnit file validates against the
// JUnit XML schema.
func TestBuiltInSuitesWithEveryReport(t *testing.T) {
	// Long (a whole suite, or real TOTP waits): alongside the others.
	t.Parallel()
	xmllint, err := exec.LookPath("xmllint")
	require.NoError(t, err, "xmllint is missing: run 'make deps' (Debian package libxml2-utils)")
	dir := t.TempDir()
	// The negative suite's reports are TestNoSecretInAnyOutputOrFormat's,
	// which validates their JUnit file too.
	args := []string{"run", "conformance", "thresholds", "--parallel", "4"} // as TestNoSecretInAnyOutputOrFormat
	formats := []string{"jsonl", "json", "junit", "markdown", "html", "har", "text"}
	for _, format := range formats {
		args = append(args, "--report", format+"="+filepath.Join(dir, "out."+format))
	}
	r := execute(t, args...)
	require.Equal(t, 0, r.code, "%s\n%s", r.errOut, failedCases(r.out))
	// Conformance has four cases per catalogue device, thresholds 36.
	n := 4*len(device.Catalogue()) + 36
	assert.Contains(t, r.out, fmt.Sprintf("%d cases, %d passed, 0 failed", n, n))
	for _, format := range formats {
		st, err := os.Stat(filepath.Join(dir, "out."+format))
		require.NoError(t, err)
		assert.Greater(t, st.Size(), int64(1000), format)
	}
	checkLargeHTMLReport(t, filepath.Join(dir, "out.html"))
	assertJUnitValidates(t, xmllint, filepath.Join(dir, "out.junit"))
	// A case passes with a WARN; the conforming server earns none. This
	// sweep (every catalogue device with alice, carol, erin and frank) is
	// the one sim's TestConformingServerTripsNothing leaves to it.
	var doc report.JSONReport
	raw, err := os.ReadFile(filepath.Join(dir, "out.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.Len(t, doc.Cases, n)
	conformance := 0
	for _, c := range doc.Cases {
		scenario, _, _ := strings.Cut(c.Name, "/")
		if !slices.Contains([]string{"alice-user", "carol-device", "erin-oauth-user", "frank-oauth-device"}, scenario) {
			continue // thresholds: its cases below a threshold fail on purpose
		}
		conformance++
		for _, res := range c.Results {
			assert.False(t, res.Tripped(), "%s: %s %s: %s", c.Name, res.ID, res.Status, res.Actual)
		}
	}
	assert.Equal(t, 4*len(device.Catalogue()), conformance)
}

// assertJUnitValidates validates a JUnit file against the JUnit XML schema.
func assertJUnitValidates(t *testing.T, xmllint, path string) {
	t.Helper()
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("..", "..", "report", "testdata", "junit.xsd"), path).CombinedOutput()
	assert.NoError(t, err, string(out))
	assert.Contains(t, string(out), "validates")
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// failedCases is the text report's summary of failed cases, for messages.
func failedCases(out string) string {
	if i := strings.LastIndex(out, "Summary:"); i >= 0 {
		return out[i:]
	}
	return tail(out, 3000)
}

// --checks narrows what is judged, so a negative case's expected failures
// outside the selection are not held against it. Three cases of the
// negative suite make the point (one expects WK checks only, one an AUTH
// check only, one both WK and RD ones); the whole suite passes in
// TestNoSecretInAnyOutputOrFormat and the scenarios package.
func TestChecksFilterKeepsNegativeCasesPassing(t *testing.T) {
	t.Parallel()
	r := execute(t, "run", filepath.Join("testdata", "checksfilter", "negative-subset.yaml"), "--checks", "WK-*")
	assert.Equal(t, 0, r.code, failedCases(r.out))
	assert.Contains(t, r.out, "3 cases, 3 passed, 0 failed")
	assert.Contains(t, r.out, "expects to trip: AUTH-003")
	assert.NotRegexp(t, `(?m)^\s+(FAIL|WARN|INFO)\s+AUTH-`, r.out, "only WK checks are reported")
	assert.Regexp(t, `(?m)^\s+FAIL\s+WK-001 \(expected\)`, r.out)
}

// --page-timeout sets the browser's page timeout; without it the
// Factory's limits (the tests') or the defaults hold, and --timeout always
// sets the per-request timeout.
func TestPageTimeoutReachesTheEngine(t *testing.T) {
	f := &Factory{Limits: sim.Limits{PageTimeout: time.Minute, Timeout: time.Hour}}
	assert.Equal(t, sim.Limits{PageTimeout: time.Minute, Timeout: 15 * time.Second}, f.limits(15*time.Second, 0))
	assert.Equal(t, sim.Limits{PageTimeout: 30 * time.Second, Timeout: 15 * time.Second}, f.limits(15*time.Second, 30*time.Second))
	assert.Equal(t, sim.Limits{PageTimeout: 30 * time.Second, Timeout: time.Second}, (&Factory{}).limits(time.Second, 30*time.Second))
}

// serve --ddm prints its DDM admin API with commands that work as
// printed; the pasted run, gone until ddm, changes the set through the
// printed hook and follows it (DDM-009), and the admin API then lists the
// enrollment (checked out at the end of the case) and the status report
// it sent.
func TestServeDDMAdminAPIAsPrinted(t *testing.T) {
	t.Parallel()
	f, out, _ := testFactory(nil)
	f.Now = time.Now
	// The server and the run share a TOTP time that the run jumps instead
	// of waiting 30 s for each fresh code (as TestServeThenRunMatchesEmbedded
	// does): this test is about the DDM admin API.
	f.totpClock = &sim.VirtualClock{}
	caPath := filepath.Join(t.TempDir(), "ca.pem")
	srv, stop := startServe(t, f, &serveOptions{Addr: "127.0.0.1:0", CAOut: caPath, DDM: true})
	printed := out.String()
	assert.Contains(t, printed, "DDM:     declarative management for every enrollment (--ddm)")
	curl := fmt.Sprintf("curl -s --cacert %s --connect-to mdm.acme.test:443:127.0.0.1:%d", caPath, srv.Port())
	assert.Contains(t, printed, "enrollments:  "+curl+" https://mdm.acme.test/admin/enrollments\n")
	assert.Contains(t, printed, "status:       "+curl+" 'https://mdm.acme.test/admin/ddm-status?id=ID'")

	cmdLine := pasteCommand(srv, caPath, filepath.Join(filepath.Dir(caPath), "secrets"), "alice@acme.test", "iphone@18.2", "user")
	args := strings.Fields(strings.TrimPrefix(cmdLine, "enrollsim "))
	for i, a := range args {
		args[i] = strings.Trim(a, "'") // the shell's quotes
	}
	sf, sout, serr := testFactory(nil)
	sf.Now, sf.totpClock = time.Now, f.totpClock
	code := Execute(context.Background(), sf, append(args, "--until", "ddm"))
	require.Equal(t, 0, code, sout.String()+serr.String())
	assert.Regexp(t, `ddm +ok +synced 3 declarations \(3 listed\), status report sent; tokens from the command's Data; synced again after 2 of the tester's 2 changes`, sout.String())

	// What the printed curl commands do, through the same route.
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(caPath)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pem))
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", srv.Port()))
		},
	}}
	get := func(u string) []byte {
		resp, err := client.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		return b
	}
	var list []refserver.EnrollmentInfo
	require.NoError(t, json.Unmarshal(get(srv.EnrollmentsURL()), &list))
	// The device's enrollment, and the second one token life's probe
	// made; both checked out at the end of the case.
	require.Len(t, list, 2)
	_, status := srv.DDMAdminURLs()
	reports := 0
	for _, e := range list {
		assert.True(t, e.DDM)
		assert.True(t, e.CheckedOut, "the case ends with the device's CheckOut")
		assert.Equal(t, "alice@acme.test", e.Account)
		if e.Unenrolled {
			continue // the probe's: it never synced
		}
		var report map[string]any
		require.NoError(t, json.Unmarshal(get(strings.ReplaceAll(status, "{id}", e.ID)), &report))
		assert.Contains(t, report, "StatusItems", "the device's last report")
		reports++
	}
	assert.Equal(t, 1, reports)
	stop()
}

// startServe runs `serve` with o until stop, which requires it to end
// cleanly; it returns once the server listens.
func startServe(t *testing.T, f *Factory, o *serveOptions) (srv *refserver.Server, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan *refserver.Server, 1)
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, f, o, func(s *refserver.Server) { ready <- s }) }()
	select {
	case srv = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v", err)
	case <-time.After(2 * time.Minute): // a wait: the server makes its keys first
		t.Fatal("serve did not start")
	}
	return srv, func() {
		cancel()
		require.NoError(t, <-done)
	}
}
