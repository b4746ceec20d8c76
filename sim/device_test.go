package sim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The catalogue covers each threshold of the version matrix from both
// sides, for every family, so the thresholds suite can be built from it.
// The 27.0 devices: one a family, with every capability of the family's
// 26.1 device, and a note on every build Apple has not published (none of
// the four is Apple's). A device played from a 27.0 entry keeps its note.
func TestParseIdentifier(t *testing.T) {
	tests := []struct {
		id           string
		exactlyOne   bool
		user, domain string
		err          string
	}{
		{id: "alice@acme.com", user: "alice", domain: "acme.com"},
		{id: "Alice@ACME.com", user: "Alice", domain: "acme.com"},
		{id: "a@b@acme.com", user: "a@b", domain: "acme.com"},
		{id: "a@b@acme.com", exactlyOne: true, err: "accepts exactly one"},
		{id: "alice", err: "has no '@'"},
		{id: "@acme.com", err: "nothing before the '@'"},
		{id: "alice@", err: "not a fully qualified domain name"},
		{id: "alice@localhost", err: "not a fully qualified domain name"},
		{id: "alice@-acme.com", err: "not a fully qualified domain name"},
		{id: "alice@acme..com", err: "not a fully qualified domain name"},
		{id: "alice@ac_me.com", err: "not a fully qualified domain name"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			u, d, err := ParseIdentifier(tt.id, tt.exactlyOne)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.user, u)
			assert.Equal(t, tt.domain, d)
		})
	}
}
