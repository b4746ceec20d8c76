package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/enrollsim/enrollsim/sim/event"
)

// JSONL writes the event stream itself, one JSON object a line, so any run
// can be re-rendered later (`enrollsim report --from run.jsonl`).
type JSONL struct {
	enc *json.Encoder
	err error
}

// NewJSONL writes events to w.
func NewJSONL(w io.Writer) *JSONL { return &JSONL{enc: json.NewEncoder(w)} }

// Handle writes one event; the first write error is kept and reported by
// Err. The run-start event gets the schema version (RunInfo.SchemaVersion)
// when it has none.
func (j *JSONL) Handle(ev event.Event) {
	if ev.Kind == event.EventRunStart && ev.Run != nil && ev.Run.SchemaVersion == "" {
		run := *ev.Run
		run.SchemaVersion = SchemaVersion
		ev.Run = &run
	}
	if j.err == nil {
		j.err = j.enc.Encode(ev)
	}
}

// Err is the first write error.
func (j *JSONL) Err() error { return j.err }

// ReadJSONL reads a saved event stream, naming the line of any bad record.
func ReadJSONL(r io.Reader, fn func(event.Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("line %d: not an enrollsim event: %v", line, err)
		}
		if ev.Kind == "" {
			return fmt.Errorf("line %d: not an enrollsim event: no kind", line)
		}
		fn(ev)
	}
	return sc.Err()
}
