package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// panicWriter stands for a bug in the command layer (a front end, a report
// writer): the first write panics.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("writer bug") }

func TestPanicInCommandLayerIsAClearError(t *testing.T) {
	for _, args := range [][]string{
		{"list", "devices"},
		// The engine recovers panics under a case; one in the front end's
		// event handler reaches Execute.
		{"run", "--embedded", "--email", "alice@acme.test", "--device", "iphone@18.2", "--discovery-only"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			f, _, errOut := testFactory(nil)
			f.IO.Out = panicWriter{}
			code := Execute(context.Background(), f, args)
			assert.Equal(t, 3, code)
			msg := errOut.String()
			assert.True(t, strings.HasPrefix(msg, "enrollsim: internal error: panic: "), msg)
			assert.Contains(t, msg, "writer bug")
			assert.Regexp(t, `\(at \S+, \w+\.go:\d+\)`, msg, "the message names where it panicked")
			assert.Contains(t, msg, "please report it at https://github.com/enrollsim/enrollsim/issues")
			assert.NotContains(t, msg, "goroutine ", "no Go trace reaches the user")
			assert.Equal(t, 2, bytes.Count([]byte(msg), []byte("\n")), msg)
		})
	}
}
