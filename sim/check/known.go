package check

import "fmt"

// KnownFindings is the verdict on an expectations file after a run.
type KnownFindings struct {
	File    string         `json:"file"`
	Entries []KnownFinding `json:"entries"`
}

// States of an expectations entry after a run.
const (
	KnownExpected = "expected" // its findings occurred and were expected
	KnownStale    = "stale"    // judged, but no longer occurs: remove it
	KnownExpired  = "expired"  // past its expiry day: its findings count again
	KnownUnused   = "unused"   // the run could not judge it (Note says why)
)

// KnownFinding is one entry of an expectations file and its state.
type KnownFinding struct {
	Check   string `json:"check"`
	Case    string `json:"case"`
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"` // YYYY-MM-DD, the last day it applies
	Line    int    `json:"line"`
	State   string `json:"state"`
	// Occurrences counts the findings of the run the entry covers (for an
	// expired entry, those that counted again).
	Occurrences int    `json:"occurrences"`
	Note        string `json:"note,omitempty"` // unused: why the run could not judge it
}

// String names the entry: "WK-004 on */user (line 3)".
func (k KnownFinding) String() string {
	return fmt.Sprintf("%s on %s (line %d)", k.Check, k.Case, k.Line)
}
