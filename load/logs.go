package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// The marker lines around a result written to a log (load --report
// json=-), so that the logs of many pods, concatenated by kubectl, still
// give every result back.
const (
	ResultBegin = "----- BEGIN ENROLLSIM LOAD RESULT -----"
	ResultEnd   = "----- END ENROLLSIM LOAD RESULT -----"
)

// WriteMarked writes r as one line of compact JSON between the marker
// lines. One line, because a log collector may prefix every line
// (kubectl logs --prefix) or split a long one: ReadLogs joins the lines of
// a block without separators, so either way the document comes back whole.
func WriteMarked(w io.Writer, r *Result) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n%s\n%s\n", ResultBegin, raw, ResultEnd)
	return err
}

// Logged is one result found in a log, named for people by where it was.
type Logged struct {
	Name   string
	Result *Result
}

// maxLogLine bounds one line of a log: a result's JSON is one line of a few
// hundred KiB.
const maxLogLine = maxResultFile

// ReadLogs finds every result WriteMarked wrote in a log: the output of
// one load, or the logs of many pods one after the other. A line may carry
// a prefix before the marker ("[pod/enrollsim-load-0-x/load] "); the lines
// of that block carry the same one, and blocks of different prefixes may
// interleave. source names the log in the results' names and the errors.
func ReadLogs(rd io.Reader, source string) ([]Logged, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64<<10), maxLogLine)
	type block struct {
		start int
		body  bytes.Buffer
	}
	open := map[string]*block{}
	var out []Logged
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if i := strings.Index(text, ResultBegin); i >= 0 {
			open[text[:i]] = &block{start: line}
			continue
		}
		prefix, b := blockOf(open, text)
		if b == nil {
			continue
		}
		rest := strings.TrimPrefix(text, prefix)
		if strings.HasPrefix(rest, ResultEnd) {
			delete(open, prefix)
			name := resultName(source, prefix, len(out)+1, b.start)
			r, err := ReadJSON(&b.body)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			}
			out = append(out, Logged{Name: name, Result: r})
			continue
		}
		if b.body.Len()+len(rest) > maxResultFile {
			return nil, fmt.Errorf("%s: the result that begins at line %d is over %d MiB: not a load result", source, b.start, maxResultFile>>20)
		}
		b.body.WriteString(rest)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s: line %d is over %d MiB: not a log of 'enrollsim load'", source, line+1, maxLogLine>>20)
		}
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	for _, b := range open {
		return nil, fmt.Errorf("%s: the result that begins at line %d does not end: the log is cut short (with kubectl logs, pass --tail=-1: with a selector it keeps only the last 10 lines)", source, b.start)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no load result in it: write one with 'enrollsim load --report json=-' and pass the whole log (kubectl logs --tail=-1)", source)
	}
	return out, nil
}

// blockOf is the open block a line belongs to: the one whose prefix it
// starts with, the longest when several match.
func blockOf[B any](open map[string]*B, text string) (string, *B) {
	best, found := "", (*B)(nil)
	for p, b := range open {
		if strings.HasPrefix(text, p) && (found == nil || len(p) > len(best)) {
			best, found = p, b
		}
	}
	return best, found
}

// resultName is a logged result's name: its line's prefix when the log
// has one (the pod, with kubectl logs --prefix), else its place.
func resultName(source, prefix string, n, line int) string {
	if p := strings.TrimSpace(prefix); p != "" {
		return fmt.Sprintf("%s %s", source, p)
	}
	return fmt.Sprintf("%s (result %d, line %d)", source, n, line)
}
