package accounts_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/enrollsim/enrollsim/accounts"
)

func TestName(t *testing.T) {
	assert.Equal(t, "user7@acme.test", accounts.Name(accounts.DefaultPattern, 7))
	assert.Equal(t, "load-12-12@example.test", accounts.Name("load-{n}-{n}@example.test", 12))
}

// TestDeriveIsStable pins the derivation to a vector computed outside Go: a
// client and a server built from different versions must still agree, so
// the derivation may never change.
func TestDeriveIsStable(t *testing.T) {
	pw, seed := accounts.Derive("correct horse", "user7@acme.test")
	assert.Equal(t, "jxYBFINSKkcPktItMfzAF-RJ", pw)
	assert.Equal(t, "QPBGI2FP2FYXPV7U5T3EIARR6URZIF7N", seed)

	pw2, seed2 := accounts.Derive("correct horse", "USER7@Acme.Test")
	assert.Equal(t, pw, pw2, "identifiers match without case")
	assert.Equal(t, seed, seed2)

	other, _ := accounts.Derive("another master", "user7@acme.test")
	assert.NotEqual(t, pw, other)
}
