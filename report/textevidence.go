package report

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/enrollsim/enrollsim/sim/check"
	"github.com/enrollsim/enrollsim/sim/event"
)

// exchangeLines are an exchange as -v shows it, curl-like: its number (the
// one a failing check's "judged" names), the request line and the status
// line; with -vv (Bodies) the headers ("> " sent, "< " received) and the
// bodies ("| "), binary ones decoded.
func (t *Text) exchangeLines(x *event.Exchange) string {
	var b strings.Builder
	probe := ""
	if x.Probe {
		probe = " (probe)"
	}
	fmt.Fprintf(&b, "%5s → %s %s%s\n", "#"+strconv.Itoa(x.Seq), x.Method, x.URL, probe)
	if t.opt.Bodies {
		writeHeaders(&b, ">", x.RequestHeaders)
		writeBody(&b, firstNonEmpty(x.RequestDecoded, x.RequestBody))
	}
	if x.Error != "" && x.Status == 0 {
		fmt.Fprintf(&b, "      ✗ %s\n", x.Error)
		return b.String()
	}
	loc := ""
	if l := x.ResponseHeaders.Get("Location"); l != "" {
		loc = " → " + l
	}
	fmt.Fprintf(&b, "      ← %d %s%s (%s)\n", x.Status, x.ResponseHeaders.Get("Content-Type"), loc, x.Duration.Round(time.Millisecond))
	if t.opt.Bodies {
		writeHeaders(&b, "<", x.ResponseHeaders)
		writeBody(&b, firstNonEmpty(x.ResponseDecoded, x.ResponseBody))
		if x.Error != "" {
			fmt.Fprintf(&b, "      ✗ %s\n", x.Error)
		}
	}
	return b.String()
}

// bodyIndent sets headers and bodies under their exchange's arrows.
const bodyIndent = "        "

func writeHeaders(b *strings.Builder, mark string, h http.Header) {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, v := range h[n] {
			fmt.Fprintf(b, "%s%s %s: %s\n", bodyIndent, mark, n, v)
		}
	}
}

func writeBody(b *strings.Builder, body string) {
	if body == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		fmt.Fprintf(b, "%s| %s\n", bodyIndent, strings.TrimRight(l, "\r"))
	}
}

// evidenceLines follow a tripped check: where its rule is written (the
// source's links) and the exchanges it judged, by the numbers -v shows.
func evidenceLines(r *check.Result, judged []int) string {
	var b strings.Builder
	for i, l := range check.SourceLinks(r.Source) {
		label := "links:   "
		if i > 0 {
			label = "         "
		}
		fmt.Fprintf(&b, "\n            %s %s %s", label, l.Label, l.URL)
	}
	if len(judged) > 0 {
		fmt.Fprintf(&b, "\n            judged:   exchange%s %s", plural(len(judged)), seqRanges(judged))
	}
	return b.String()
}

// seqRanges: "#3, #5-#9".
func seqRanges(seqs []int) string {
	s := append([]int(nil), seqs...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("#%d-#%d", s[i], s[j]))
		} else {
			parts = append(parts, fmt.Sprintf("#%d", s[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
