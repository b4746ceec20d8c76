package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"github.com/enrollsim/enrollsim/report"
	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/device"
	"github.com/enrollsim/enrollsim/sim/event"
)

var testOptions = report.Options{Tool: "enrollsim v0.0.0-test"}

func render(t *testing.T, format string, events []event.Event, strict bool) []byte {
	t.Helper()
	opt := testOptions
	opt.Strict = strict
	var buf bytes.Buffer
	require.NoError(t, report.Write(format, &buf, events, opt), format)
	return buf.Bytes()
}

func summaryOf(events []event.Event) *report.Summary {
	s := &report.Summary{}
	for _, ev := range events {
		s.Add(ev)
	}
	return s
}

func caseNames(events []event.Event) []string {
	var names []string
	for _, ev := range events {
		if ev.Kind == event.EventCaseStart {
			names = append(names, ev.Case)
		}
	}
	return names
}

func TestFormatNames(t *testing.T) {
	assert.Equal(t, []string{"har", "html", "json", "jsonl", "junit", "markdown", "text"}, report.FormatNames())
	err := report.Write("xml", &bytes.Buffer{}, nil, report.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"xml"`)
	assert.Contains(t, err.Error(), "har, html, json, jsonl, junit, markdown, text")
}

// The recorded run's own shape, which the other tests rely on: one case
// passes, one warns (a failure only under --strict), one fails a check it
// expects, and one device refuses.
func TestRecordedRunCoversTheVerdicts(t *testing.T) {
	events := loadRun(t)
	s := summaryOf(events)
	require.Len(t, s.Cases, 4)
	assert.Equal(t, report.ExitOK, s.ExitCode(false))
	assert.Equal(t, report.ExitFailed, s.ExitCode(true))
	assert.Equal(t, 1, s.Totals()[check.Warn])
	assert.Equal(t, 1, s.Totals()[check.Fail])
	assert.Equal(t, 1, s.ExpectedTrips())
	assert.Equal(t, 1, s.Outcomes()[event.OutcomeRefused])
	assert.Contains(t, string(render(t, "jsonl", events, false)), "[redacted]")
}

func TestGoldenFiles(t *testing.T) {
	events := loadRun(t)
	for _, tc := range []struct {
		format, file string
		strict       bool
	}{
		{"json", "run.json", false},
		{"json", "run-strict.json", true},
		{"junit", "run.junit.xml", false},
		{"junit", "run-strict.junit.xml", true},
		{"markdown", "run.md", false},
		{"markdown", "run-strict.md", true},
		{"text", "run.txt", false},
		{"text", "run-strict.txt", true},
		{"html", "run.html", false},
		{"har", "run.har", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			golden(t, tc.file, render(t, tc.format, events, tc.strict))
		})
	}
}

// jsonl is the event stream itself: rendering the recorded run gives the
// recorded file back, byte for byte.
func TestJSONLIsTheStream(t *testing.T) {
	want, err := os.ReadFile(recordedRun)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(render(t, "jsonl", loadRun(t), false)))
}

// xmllint validates a junit document against the Windy Road schema.
func xmllint(t *testing.T, doc []byte) error {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is not installed, so the junit report cannot be validated against testdata/junit.xsd: run `make deps` (or apt-get install libxml2-utils)")
	}
	file := filepath.Join(t.TempDir(), "junit.xml")
	require.NoError(t, os.WriteFile(file, doc, 0o644))
	out, err := exec.Command(path, "--noout", "--schema", "testdata/junit.xsd", file).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

func TestJUnitValidatesAgainstTheSchema(t *testing.T) {
	runs := map[string][]event.Event{"recorded": loadRun(t), "synthetic": syntheticRun(t)}
	for name, events := range runs {
		for _, strict := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/strict=%t", name, strict), func(t *testing.T) {
				doc := render(t, "junit", events, strict)
				assert.NoError(t, xmllint(t, doc))
			})
		}
	}
	// The validation can fail: the schema requires hostname on a testsuite.
	doc := render(t, "junit", loadRun(t), false)
	broken := bytes.Replace(doc, []byte(` hostname="enrollsim"`), nil, 1)
	require.NotEqual(t, doc, broken)
	assert.Error(t, xmllint(t, broken), "xmllint should reject a testsuite without hostname")
}

type junitDoc struct {
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string `xml:"name,attr"`
	Tests     int    `xml:"tests,attr"`
	Failures  int    `xml:"failures,attr"`
	Errors    int    `xml:"errors,attr"`
	Skipped   int    `xml:"skipped,attr"`
	Timestamp string `xml:"timestamp,attr"`
	Hostname  string `xml:"hostname,attr"`
	Props     []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Cases []junitCase `xml:"testcase"`
	Out   string      `xml:"system-out"`
}

type junitCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Props     []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Failure *junitMsg `xml:"failure"`
	Error   *junitMsg `xml:"error"`
	Skipped *junitMsg `xml:"skipped"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

func parseJUnit(t *testing.T, doc []byte) junitDoc {
	t.Helper()
	var d junitDoc
	require.NoError(t, xml.Unmarshal(doc, &d))
	return d
}

// find is the testcase of that name.
func (s junitSuite) find(name string) junitCase {
	for _, c := range s.Cases {
		if c.Name == name {
			return c
		}
	}
	return junitCase{}
}

func (c junitCase) prop(name string) string {
	for _, p := range c.Props {
		if p.Name == name {
			return p.Value
		}
	}
	return "(missing)"
}

func (s junitSuite) prop(name string) string {
	for _, p := range s.Props {
		if p.Name == name {
			return p.Value
		}
	}
	return "(missing)"
}

func TestJUnitVerdicts(t *testing.T) {
	events := loadRun(t)
	checks := map[string]int{}
	skips := map[string]int{}
	starts := map[string]time.Time{}
	for _, ev := range events {
		switch ev.Kind {
		case event.EventCheck:
			checks[ev.Case]++
			if ev.Result.Status == check.Skip {
				skips[ev.Case]++
			}
		case event.EventCaseStart:
			starts[ev.Case] = wallOf(ev)
		}
	}
	s := summaryOf(events)
	for _, strict := range []bool{false, true} {
		d := parseJUnit(t, render(t, "junit", events, strict))
		require.Len(t, d.Suites, len(s.Cases))
		byName := map[string]junitSuite{}
		for i, suite := range d.Suites {
			c := s.Cases[i]
			assert.Equal(t, c.Name, suite.Name)
			byName[suite.Name] = suite
			// A testcase per check and one for the outcome; counts agree.
			require.Len(t, suite.Cases, checks[c.Name]+1, suite.Name)
			assert.Equal(t, "outcome", suite.Cases[len(suite.Cases)-1].Name)
			var failures, errs, skipped int
			for _, tc := range suite.Cases {
				assert.Equal(t, report.JUnitClassname(c.Name), tc.Classname)
				assert.NotContains(t, tc.Classname, ".", "Jenkins splits a classname at its dots")
				assert.Regexp(t, `^\d+\.\d{3}$`, tc.Time)
				if tc.Failure != nil {
					failures++
				}
				if tc.Error != nil {
					errs++
				}
				if tc.Skipped != nil {
					skipped++
				}
			}
			assert.Equal(t, len(suite.Cases), suite.Tests)
			assert.Equal(t, failures, suite.Failures)
			assert.Equal(t, errs, suite.Errors)
			assert.Equal(t, skipped, suite.Skipped)
			assert.Equal(t, skips[c.Name], suite.Skipped)
			assert.Equal(t, starts[c.Name].UTC().Format("2006-01-02T15:04:05"), suite.Timestamp)
			assert.Equal(t, "enrollsim", suite.Hostname)
			assert.Equal(t, c.Info.Device.String(), suite.prop("device"))
			assert.Equal(t, c.Info.Identifier, suite.prop("identifier"))
			assert.Equal(t, c.Info.Type, suite.prop("type"))
			assert.Equal(t, c.Info.Scenario, suite.prop("scenario"))
			assert.Equal(t, c.Outcome, suite.prop("outcome"))
			// The outcome testcase fails exactly when the case does.
			assert.Equal(t, !c.Passed(strict), suite.Cases[len(suite.Cases)-1].Failure != nil, suite.Name)
		}

		warned := byName["iphone@18.2/callback-303"]
		auth004 := warned.find("AUTH-004")
		require.NotEmpty(t, auth004.Name, "a testcase is named by its check ID alone")
		assert.Equal(t, "The callback uses status 308 exactly, as Apple documents; other 3xx codes are reported as WARN (Fleet's 303 works on devices)", auth004.prop("rule"))
		assert.Equal(t, "warn", auth004.prop("status"))
		if strict {
			require.NotNil(t, auth004.Failure, "under --strict the warning is a failure")
			assert.Equal(t, "expected 308 Permanent Redirect; actual 303", auth004.Failure.Message)
			assert.Equal(t, "SHOULD*", auth004.Failure.Type)
			for _, want := range []string{"Expected: 308 Permanent Redirect\n", "Actual:   303\n", "Rule:     The callback uses status 308", "Source:   [A] S2; [V] Fleet"} {
				assert.Contains(t, auth004.Failure.Body, want)
			}
			outcome := warned.find("outcome")
			require.NotNil(t, outcome.Failure)
			assert.Equal(t, "AUTH-004 WARN: 303", outcome.Failure.Message)
		} else {
			assert.Nil(t, auth004.Failure, "a warning passes without --strict")
			assert.Contains(t, warned.Out, auth004.Name+": WARN expected 308 Permanent Redirect; actual 303")
			assert.Nil(t, warned.find("outcome").Failure)
		}

		expected := byName["iphone@18.2/callback-no-token"]
		auth003 := expected.find("AUTH-003")
		require.NotEmpty(t, auth003.Name)
		assert.Nil(t, auth003.Failure, "a failure the case expects passes")
		assert.Contains(t, auth003.prop("expected"), "FAIL, as the case expects: expected apple-remotemanagement-user-login")
		assert.Contains(t, expected.Out, auth003.Name+": expected failure (FAIL): expected apple-remotemanagement-user-login")
		assert.Nil(t, expected.find("outcome").Failure)

		refused := byName["iphone@14.8/user"]
		assert.Len(t, refused.Cases, 1)
		assert.Contains(t, refused.Out, "outcome: refused-on-device: ")
	}
}

// Statuses the recorded run does not have: error, an unexpected MUST
// failure, a transport error, and names that need escaping.
func TestJUnitOtherStatuses(t *testing.T) {
	d := parseJUnit(t, render(t, "junit", syntheticRun(t), false))
	require.Len(t, d.Suites, 1)
	s := d.Suites[0]
	assert.Equal(t, syntheticCase, s.Name)
	wk1 := s.find("WK-001")
	require.NotNil(t, wk1.Failure)
	assert.Equal(t, "MUST", wk1.Failure.Type)
	assert.Equal(t, "expected a 200 discovery document; actual GET failed: connection refused", wk1.Failure.Message)
	assert.Equal(t, "1.003", wk1.Time, "a check's time is its step's")
	// The case failed (exit 1), it did not stop the tester: a check the
	// failure left nothing to judge is skipped, not an error.
	wk2 := s.find("WK-002")
	require.NotNil(t, wk2.Skipped)
	assert.Nil(t, wk2.Error)
	assert.Equal(t, "no response to judge", wk2.Skipped.Message)
	wk3 := s.find("WK-003")
	require.NotNil(t, wk3.Skipped)
	assert.Equal(t, "no document", wk3.Skipped.Message)
	assert.Contains(t, s.Out, "INFO followed 0 redirect(s)")
	outcome := s.find("outcome")
	require.NotNil(t, outcome.Failure)
	assert.Contains(t, outcome.Failure.Message, "WK-001 FAIL: GET failed: connection refused")
	assert.Equal(t, "1.005", outcome.Time, "the outcome's time is the case's")
	assert.Equal(t, 2, s.Failures)
	assert.Equal(t, 0, s.Errors)
	assert.Equal(t, 2, s.Skipped)
}

func TestJSONRoundTripsAndExitCode(t *testing.T) {
	for name, events := range map[string][]event.Event{"recorded": loadRun(t), "synthetic": syntheticRun(t)} {
		for _, strict := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/strict=%t", name, strict), func(t *testing.T) {
				out := render(t, "json", events, strict)
				var doc report.JSONReport
				require.NoError(t, json.Unmarshal(out, &doc))
				var again bytes.Buffer
				enc := json.NewEncoder(&again)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				require.NoError(t, enc.Encode(&doc))
				assert.Equal(t, string(out), again.String(), "the json report round-trips through report.JSONReport")

				// The documented keys, in this order.
				var keys []string
				dec := json.NewDecoder(bytes.NewReader(out))
				_, _ = dec.Token()
				for dec.More() {
					k, err := dec.Token()
					require.NoError(t, err)
					keys = append(keys, k.(string))
					var skip json.RawMessage
					require.NoError(t, dec.Decode(&skip))
				}
				want := []string{"schema_version", "tool", "version", "started", "finished", "duration_seconds", "strict", "exit_code", "totals", "outcomes", "expected_trips", "cases"}
				timing := summaryOf(events).Timing()
				if timing.TOTPSkipped > 0 {
					want = append(want[:6], append([]string{"totp_skipped_seconds"}, want[6:]...)...)
				}
				if timing.Simulated {
					want = append(want[:6], append([]string{"simulated_clock"}, want[6:]...)...)
				}
				assert.Equal(t, want, keys)

				s := summaryOf(events)
				assert.Equal(t, s.ExitCode(strict), doc.ExitCode)
				assert.Equal(t, strict, doc.Strict)
				assert.Equal(t, "enrollsim v0.0.0-test", doc.Tool)
				require.Len(t, doc.Cases, len(s.Cases))
				for i, c := range s.Cases {
					assert.Equal(t, c.Name, doc.Cases[i].Name)
					assert.Equal(t, c.Passed(strict), doc.Cases[i].Passed)
					want := c.Problems(strict)
					if want == nil {
						want = []string{}
					}
					assert.Equal(t, want, doc.Cases[i].Problems)
					require.Len(t, doc.Cases[i].Results, len(c.Results))
					for j, r := range doc.Cases[i].Results {
						assert.Equal(t, c.Results[j], r.Result)
						if r.Tripped() || r.Status == check.Error {
							if name == "recorded" { // the synthetic run's events name no exchanges
								assert.NotEmpty(t, r.Judged, "%s %s names its evidence", c.Name, r.ID)
							}
							assert.Equal(t, check.SourceLinks(r.Source), r.Links)
						} else {
							assert.Empty(t, r.Judged, "a passing check carries no evidence")
						}
					}
				}
				for st, n := range s.Totals() {
					assert.Equal(t, n, doc.Totals[st], st)
				}
				assert.Len(t, doc.Totals, 6, "every status is counted, zero or not")
				require.NotNil(t, doc.Started)
				require.NotNil(t, doc.Finished)
				first, last := events[0], events[len(events)-1]
				assert.True(t, wallOf(first).Equal(*doc.Started), "started is the run-start time, by the wall clock")
				assert.True(t, wallOf(last).Equal(*doc.Finished), "finished is the run-end time, by the wall clock")
				if doc.SimulatedClock != nil {
					assert.True(t, first.Time.Equal(doc.SimulatedClock.Started), "the simulated clock's own readings")
					assert.True(t, last.Time.Equal(doc.SimulatedClock.Finished))
					assert.InDelta(t, last.Time.Sub(first.Time).Seconds(), doc.SimulatedClock.Seconds, 1e-9)
				}
				assert.InDelta(t, wallOf(last).Sub(wallOf(first)).Seconds(), doc.Seconds, 1e-9)
			})
		}
	}
}

var harStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)

func TestHAR(t *testing.T) {
	for name, events := range map[string][]event.Event{"recorded": loadRun(t), "synthetic": syntheticRun(t)} {
		t.Run(name, func(t *testing.T) {
			out := render(t, "har", events, false)
			assert.Equal(t, string(out), string(render(t, "har", events, true)), "strict changes no exchange")
			var doc map[string]any
			require.NoError(t, json.Unmarshal(out, &doc), "the har is JSON")
			log, ok := doc["log"].(map[string]any)
			require.True(t, ok, "log")
			assert.Equal(t, "1.2", log["version"])
			creator := log["creator"].(map[string]any)
			assert.Equal(t, "enrollsim", creator["name"])
			assert.NotEmpty(t, creator["version"])

			pages := log["pages"].([]any)
			assert.Len(t, pages, len(caseNames(events)))
			ids := map[string]bool{}
			for i, p := range pages {
				page := p.(map[string]any)
				assert.Equal(t, caseNames(events)[i], page["id"])
				assert.Regexp(t, harStamp, page["startedDateTime"])
				assert.NotEmpty(t, page["title"])
				assert.Contains(t, page, "pageTimings")
				ids[page["id"].(string)] = true
			}

			var exchanges []event.Event
			for _, ev := range events {
				if ev.Kind == event.EventExchange {
					exchanges = append(exchanges, ev)
				}
			}
			entries := log["entries"].([]any)
			require.Len(t, entries, len(exchanges), "an entry per exchange event")
			for i, e := range entries {
				entry := e.(map[string]any)
				x := exchanges[i].Exchange
				where := fmt.Sprintf("entry %d (%s %s)", i, x.Method, x.URL)
				for _, k := range []string{"pageref", "startedDateTime", "time", "request", "response", "cache", "timings"} {
					require.Contains(t, entry, k, where)
				}
				assert.True(t, ids[entry["pageref"].(string)], where)
				assert.Equal(t, exchanges[i].Case, entry["pageref"], where)
				assert.Regexp(t, harStamp, entry["startedDateTime"], where)
				req := entry["request"].(map[string]any)
				for _, k := range []string{"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"} {
					require.Contains(t, req, k, where)
				}
				assert.Equal(t, x.Method, req["method"], where)
				assert.Equal(t, x.URL, req["url"], where)
				assert.Equal(t, "HTTP/1.1", req["httpVersion"], where)
				assert.Equal(t, x.RequestBody != "", req["postData"] != nil, where)
				resp := entry["response"].(map[string]any)
				for _, k := range []string{"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"} {
					require.Contains(t, resp, k, where)
				}
				assert.EqualValues(t, x.Status, resp["status"], where)
				content := resp["content"].(map[string]any)
				assert.Contains(t, content, "size", where)
				assert.Contains(t, content, "mimeType", where)
				timings := entry["timings"].(map[string]any)
				assert.InDelta(t, entry["time"].(float64), timings["send"].(float64)+timings["wait"].(float64)+timings["receive"].(float64), 1e-9, where)
				assert.InDelta(t, float64(x.Duration)/1e6, entry["time"].(float64), 0.001, where)
				comment := x.Purpose
				if x.Probe {
					comment += " (probe)"
				}
				assert.Equal(t, comment, entry["comment"], where)
				if x.Error != "" {
					assert.Equal(t, x.Error, resp["_error"], where)
				} else {
					assert.NotContains(t, resp, "_error", where)
				}
			}
		})
	}
}

func TestHTML(t *testing.T) {
	for name, events := range map[string][]event.Event{"recorded": loadRun(t), "synthetic": syntheticRun(t)} {
		for _, strict := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/strict=%t", name, strict), func(t *testing.T) {
				out := render(t, "html", events, strict)
				doc, err := html.Parse(bytes.NewReader(out))
				require.NoError(t, err)
				var text strings.Builder
				var problems []string
				detailsCount := 0
				var walk func(n *html.Node)
				walk = func(n *html.Node) {
					switch n.Type {
					case html.TextNode:
						text.WriteString(n.Data)
						text.WriteByte('\n')
					case html.ElementNode:
						switch n.Data {
						case "script", "link", "iframe", "object", "embed", "img":
							problems = append(problems, "a <"+n.Data+"> element")
						case "style":
							if n.FirstChild != nil && regexp.MustCompile(`@import|url\(`).MatchString(n.FirstChild.Data) {
								problems = append(problems, "a style that fetches")
							}
						case "details":
							detailsCount++
						}
						for _, a := range n.Attr {
							// A link to a check's source is followed by a
							// person, never fetched by the page.
							external := n.Data == "a" && a.Key == "href" && strings.HasPrefix(a.Val, "https://")
							if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") && !external {
								problems = append(problems, fmt.Sprintf("<%s %s=%q>", n.Data, a.Key, a.Val))
							}
						}
					}
					for c := n.FirstChild; c != nil; c = c.NextSibling {
						walk(c)
					}
				}
				walk(doc)
				assert.Empty(t, problems, "the html must be self-contained")
				assert.NotContains(t, string(out), "<script")
				all := text.String()
				for _, n := range caseNames(events) {
					assert.Contains(t, all, n)
				}
				assert.Greater(t, detailsCount, 0)
				s := summaryOf(events)
				badge := `<span class="badge big s-pass">PASS</span>`
				if s.ExitCode(strict) != report.ExitOK {
					badge = `<span class="badge big s-fail">FAIL</span>`
				}
				assert.Contains(t, string(out), badge, "the verdict carries a colour and a text label")
				assert.Contains(t, string(out), "prefers-color-scheme: dark")
				if name == "recorded" {
					// Under --strict the warning fails its case, and the row says so.
					assert.Equal(t, strict, strings.Contains(all, "(fails this case)"))
				}
				// Every exchange appears, with its URL and purpose.
				for _, ev := range events {
					if ev.Exchange != nil {
						assert.Contains(t, all, ev.Exchange.URL)
						assert.Contains(t, all, ev.Exchange.Purpose)
					}
				}
			})
		}
	}
	// Names and bodies are escaped, never markup.
	out := string(render(t, "html", syntheticRun(t), false))
	assert.NotContains(t, out, "<b>\"case\"</b>")
	assert.Contains(t, out, "&lt;b&gt;")
}

func TestMarkdown(t *testing.T) {
	events := loadRun(t)
	for _, strict := range []bool{false, true} {
		out := string(render(t, "markdown", events, strict))
		heading := "## ✅ enrollsim report: PASS"
		if strict {
			heading = "## ❌ enrollsim report: FAIL"
		}
		assert.True(t, strings.HasPrefix(out, heading+"\n"), "heading: %q", strings.SplitN(out, "\n", 2)[0])
		assert.Contains(t, out, "| Case | Device | Outcome | Pass | Fail | Warn | Verdict |\n|---|---|---|---:|---:|---:|---|\n")
		assert.Contains(t, out, "| iphone@26.1/user | iPhone 16 Pro Max iOS 26.1 | enrolled | 103 | 0 | 0 | ✅ PASS |")
		assert.Equal(t, len(caseNames(events)), strings.Count(out, "\n| iphone@"), "a row per case")
		assert.Contains(t, out, "<details><summary>")
		assert.Contains(t, out, "  - Expected: `308 Permanent Redirect`\n  - Actual: `303`\n  - Source: [A] S2; [V] Fleet\n")
		assert.NotContains(t, out, "Not listed")
		if strict {
			assert.Contains(t, out, "| iphone@18.2/callback-303 | iPhone 16 iOS 18.2 | enrolled | 79 | 0 | 1 | ❌ FAIL |")
			assert.Contains(t, out, "- **Problem:** AUTH-004 WARN: 303")
		} else {
			assert.Contains(t, out, "| iphone@18.2/callback-303 | iPhone 16 iOS 18.2 | enrolled | 79 | 0 | 1 | ⚠️ PASS (warnings) |")
		}
	}
}

// A big run stays under the budget, keeps its failing cases in the table
// and says what it left out.
func TestMarkdownStaysUnderBudget(t *testing.T) {
	base := loadRun(t)
	events := []event.Event{base[0]}
	const copies = 400
	for i := range copies {
		for _, ev := range base[1 : len(base)-1] {
			ev.Case = fmt.Sprintf("%s#%03d", ev.Case, i)
			events = append(events, ev)
		}
	}
	events = append(events, base[len(base)-1])
	out := string(render(t, "markdown", events, true))
	assert.LessOrEqual(t, len(out), report.MarkdownBudget)
	assert.Contains(t, out, fmt.Sprintf("Not listed, to keep this report under 60 KB: %d passing and 0 failing cases", 3*copies))
	assert.Contains(t, out, "| iphone@18.2/callback-303#000 |")
	assert.Contains(t, out, "| iphone@18.2/callback-303#399 |")
	assert.NotContains(t, out, "| iphone@26.1/user#000 |")
	assert.Regexp(t, `_\d+ more cases with failures or warnings are not shown here`, out)
	assert.Contains(t, out, "<details><summary>❌ FAIL iphone@18.2/callback-303#000")
}

// leaks finds secrets in an output: a value after a cookie's name, an
// access-token= or otp= query item, or a Bearer token, that is not
// [redacted].
func leaks(out string, cookieNames []string) []string {
	var found []string
	names := append([]string{"access-token", "otp"}, cookieNames...)
	for _, n := range names {
		re := regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])` + regexp.QuoteMeta(n) + `=([A-Za-z0-9._~+/%-]{4,})`)
		for _, m := range re.FindAllStringSubmatch(out, -1) {
			found = append(found, n+"="+m[1])
		}
	}
	for _, m := range regexp.MustCompile(`Bearer [A-Za-z0-9._~+/-]{8,}`).FindAllString(out, -1) {
		found = append(found, m)
	}
	return found
}

// cookieNames are the cookies the run's exchanges set or send.
func cookieNames(events []event.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, ev := range events {
		if ev.Exchange == nil {
			continue
		}
		for _, v := range append(ev.Exchange.ResponseHeaders.Values("Set-Cookie"), ev.Exchange.RequestHeaders.Values("Cookie")...) {
			for _, part := range strings.Split(v, ";") {
				name, _, ok := strings.Cut(strings.TrimSpace(part), "=")
				switch strings.ToLower(name) {
				case "path", "domain", "expires", "max-age", "samesite", "":
					continue
				}
				if ok && !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
	}
	return out
}

// The engine redacts; no format undoes it or adds anything the events do
// not hold: every cookie, token and code in every output is [redacted].
func TestFormatsAddNoSecrets(t *testing.T) {
	events := loadRun(t)
	names := cookieNames(events)
	require.NotEmpty(t, names, "the recorded run should set and send cookies")
	withExchanges := map[string]bool{"html": true, "har": true, "jsonl": true, "text": true}
	for _, f := range report.FormatNames() {
		for _, strict := range []bool{false, true} {
			out := string(render(t, f, events, strict))
			assert.Empty(t, leaks(out, names), "%s (strict %t) shows a secret", f, strict)
			if withExchanges[f] {
				assert.Contains(t, out, "[redacted]", "%s shows exchanges, and so their redactions", f)
			}
		}
	}
	for _, f := range []string{"html", "har", "jsonl"} {
		out := string(render(t, f, events, false))
		for _, n := range names {
			assert.Contains(t, out, n+"=[redacted]", f)
		}
	}

	// The check sees a cookie value that slipped through.
	tampered := append([]event.Event(nil), events...)
	done := false
	for i, ev := range tampered {
		if ev.Exchange != nil && len(ev.Exchange.ResponseHeaders.Values("Set-Cookie")) > 0 && !done {
			x := *ev.Exchange
			x.ResponseHeaders = x.ResponseHeaders.Clone()
			x.ResponseHeaders.Set("Set-Cookie", names[0]+"=s3cr3tSessionValue; Path=/")
			tampered[i].Exchange = &x
			done = true
		}
	}
	require.True(t, done)
	for _, f := range []string{"html", "har", "jsonl"} {
		assert.Equal(t, []string{names[0] + "=s3cr3tSessionValue"}, leaks(string(render(t, f, tampered, false)), names), f)
	}
}

// A writer's error is every format's error.
func TestWriteErrorsAreReported(t *testing.T) {
	events := loadRun(t)
	for _, f := range report.FormatNames() {
		err := report.Write(f, failingWriter{}, events, testOptions)
		assert.ErrorIs(t, err, errDiskFull, f)
	}
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

const syntheticCase = `odd <b>"case"</b> & co`

// syntheticRun is a small hand-made stream with what the recorded run
// lacks: a transport error, an unexpected MUST failure, an error and a
// case name that needs escaping.
func syntheticRun(t *testing.T) []event.Event {
	t.Helper()
	d, err := device.LookupDevice("iphone@18.2")
	require.NoError(t, err)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	result := func(id string, st check.Status, expected, actual, detail string) *check.Result {
		spec, ok := check.Lookup(id)
		require.True(t, ok, id)
		return &check.Result{ID: id, Level: spec.Level, Status: st, Rule: spec.Rule, Source: spec.Source, Expected: expected, Actual: actual, Detail: detail}
	}
	c := syntheticCase
	url := "https://example.test/.well-known/com.apple.remotemanagement?user-identifier=bob%40example.test&model-family=iPhone"
	return []event.Event{
		{Kind: event.EventRunStart, Time: at(0), Run: &event.RunInfo{Cases: 1}},
		{Kind: event.EventCaseStart, Time: at(1), Case: c, Info: &event.CaseInfo{Device: d, Identifier: "bob@example.test", Type: "user", Expect: "enroll"}},
		{Kind: event.EventStepStart, Time: at(2), Case: c, Step: event.StepDiscovery},
		{Kind: event.EventExchange, Time: at(1002), Case: c, Step: event.StepDiscovery, Exchange: &event.Exchange{
			Seq: 1, Purpose: "well-known", Method: "GET", URL: url,
			RequestHeaders: http.Header{"Accept": {"*/*"}, "User-Agent": {"DeviceManagementClient/1.0"}},
			Duration:       time.Second, Error: "dial tcp 192.0.2.1:443: connect: connection refused",
		}},
		{Kind: event.EventCheck, Time: at(1003), Case: c, Step: event.StepDiscovery, Result: result("WK-001", check.Fail, "a 200 discovery document", "GET failed: connection refused", "")},
		{Kind: event.EventCheck, Time: at(1003), Case: c, Step: event.StepDiscovery, Result: result("WK-002", check.Error, "", "", "no response to judge")},
		{Kind: event.EventCheck, Time: at(1004), Case: c, Step: event.StepDiscovery, Result: result("WK-003", check.Skip, "", "", "no document")},
		{Kind: event.EventCheck, Time: at(1004), Case: c, Step: event.StepDiscovery, Result: result("RD-001", check.Noted, "", "", "followed 0 redirect(s) <none>")},
		{Kind: event.EventStepEnd, Time: at(1005), Case: c, Step: event.StepDiscovery, Status: event.StepFailed, Message: "GET " + url + ": connection refused"},
		{Kind: event.EventCaseEnd, Time: at(1006), Case: c, Outcome: event.OutcomeDiscoveryFailed, Message: "discovery failed: connection refused"},
		{Kind: event.EventRunEnd, Time: at(1007)},
	}
}

// wallOf is an event's wall-clock time as the reports read it.
func wallOf(ev event.Event) time.Time {
	if !ev.Wall.IsZero() {
		return ev.Wall
	}
	return ev.Time
}
