package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a scenario file. Line and Col are 1-based;
// 0 means unknown (a file that cannot be read, a YAML error without column).
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Error is every problem found, in file and position order. Callers treat
// it as an input error (exit code 2).
type Error struct{ Problems []Problem }

// Error prints one line per problem: "file:line:col: what was wrong
// (accepted: a, b, c)".
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// position is where a node starts.
type position struct{ line, col int }

// problems collects the problems of a load.
type problems []Problem

func (ps *problems) add(file string, at position, format string, args ...any) {
	*ps = append(*ps, Problem{File: file, Line: at.line, Col: at.col, Msg: fmt.Sprintf(format, args...)})
}

// err sorts the problems by file and position (stable, so problems at the
// same place keep the order they were found in), drops repeats (a node
// reached twice through an alias is judged twice) and returns nil for none.
func (ps problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	var out []Problem
	seen := map[Problem]bool{}
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return &Error{Problems: capPerFile(out)}
}

// accepted formats the accepted values of a message.
func accepted(values []string) string {
	return " (accepted: " + strings.Join(values, ", ") + ")"
}

// suggest returns the candidate closest to s when it is close enough to be
// a typo of it, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := levenshtein(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	limit := len(s) / 3
	if limit < 2 {
		limit = 2
	}
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// didYouMean is "; did you mean "x"?" or "".
func didYouMean(s string, candidates []string) string {
	if m := suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// capPerFile keeps the first maxProblems problems of each file (sorted
// already) and says how many more there were, at the first one left out:
// a file that repeats one mistake through aliases must not print it a
// million times.
func capPerFile(ps []Problem) []Problem {
	var out []Problem
	count := map[string]int{}
	for _, p := range ps {
		count[p.File]++
	}
	kept := map[string]int{}
	for _, p := range ps {
		kept[p.File]++
		switch n := kept[p.File]; {
		case n <= maxProblems:
			out = append(out, p)
		case n == maxProblems+1:
			out = append(out, Problem{File: p.File, Line: p.Line, Col: p.Col,
				Msg: fmt.Sprintf("and %d more problems from here on; fix those above first", count[p.File]-maxProblems)})
		}
	}
	return out
}
