package profile

import (
	"context"
	"errors"
	"fmt"
)

// Limits bound what reading one profile may cost, whatever the server sent.
// A zero field takes its default.
type Limits struct {
	// MaxBytes caps the body and, when it is CMS, the content inside it.
	// The caller's own read cap (sim.Limits.ProfileBody) should be the same.
	MaxBytes int64
	// MaxDepth caps nesting: plist arrays and dictionaries inside one
	// another, and ASN.1 constructed values inside one another in CMS.
	MaxDepth int
	// MaxObjects caps the plist objects after shared references are
	// expanded (a binary plist may point many slots at one object, which
	// every reader expands into a copy: a "billion laughs"), the XML elements
	// of an XML plist, and the ASN.1 values of a CMS message.
	MaxObjects int
}

// Default limits. A real enrollment profile has some hundreds of objects
// nested fewer than ten deep; CMS nests about fifteen deep. The object cap
// also bounds memory: the worst plist under it (every object an empty
// dictionary) decodes with less than 32 MiB allocated (a test measures it).
const (
	DefaultMaxBytes   = 8 << 20
	DefaultMaxDepth   = 64
	DefaultMaxObjects = 100_000
)

// DefaultLimits are the limits Parse uses.
var DefaultLimits = Limits{MaxBytes: DefaultMaxBytes, MaxDepth: DefaultMaxDepth, MaxObjects: DefaultMaxObjects}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxObjects <= 0 {
		l.MaxObjects = DefaultMaxObjects
	}
	return l
}

// ErrLimit marks an error that says the profile broke one of the reader's
// Limits: the reader refused it without judging it further.
var ErrLimit = errors.New("profile reader limit")

type limitError struct{ msg string }

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }

func overLimit(format string, args ...any) error {
	return &limitError{fmt.Sprintf(format, args...)}
}

// ctxEvery is how many objects a walk reads between looks at its context:
// often enough to stop within milliseconds, rarely enough to cost nothing.
const ctxEvery = 4096

// budget counts the objects a walk has read and watches its context.
type budget struct {
	ctx   context.Context
	lim   Limits
	n     int
	what  string // "binary plist", "XML plist", "CMS message"
	cause string // why the cap exists, for the error
}

func (b *budget) take() error {
	b.n++
	if b.n > b.lim.MaxObjects {
		return overLimit("%s holds more than %d %s; the limit guards against %s",
			b.what, b.lim.MaxObjects, map[bool]string{true: "objects (shared references expanded)", false: "objects"}[b.what == "binary plist"], b.cause)
	}
	if b.n%ctxEvery == 0 {
		return b.ctx.Err()
	}
	return nil
}

func (b *budget) depth(d int) error {
	if d > b.lim.MaxDepth {
		return overLimit("%s nests deeper than %d levels; the limit guards against %s", b.what, b.lim.MaxDepth, b.cause)
	}
	return nil
}
