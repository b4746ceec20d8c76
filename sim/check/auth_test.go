package check

import (
	"crypto/rand"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestContainsGuessableUser(t *testing.T) {
	tests := []struct {
		tok, id string
		want    bool
	}{
		{rawBase64("alice@acme.test"), "alice@acme.test", true},
		{"alice-1700000000", "alice@acme.test", true},
		{"ALICE@ACME.TEST", "alice@acme.test", true},
		{"bob" + "Qm9iSXNOb3RBVG9rZW5CdXRSYW5kb21CeXRlcw", "bob@acme.test", false}, // a name by chance in a long random token
		{"kq3XbobZ1vN8w2YpL0rT5uHcE7mA9sD4fG6jK2lPqR", "bob@acme.test", false},
		{"kq3XbZ1vN8w2YpL0rT5uHcE7mA9sD4fG6jK2lPqRxy", "bob@acme.test", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, containsGuessableUser(tt.tok, tt.id), tt.tok)
	}
	// What the reference server issues (32 random bytes, base64url) is never
	// judged built from a short user name, whatever bytes it draws.
	for i := 0; i < 20000; i++ {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		tok := base64.RawURLEncoding.EncodeToString(b) + "bob"
		assert.False(t, containsGuessableUser(tok, "bob@acme.test"), tok)
	}
}
