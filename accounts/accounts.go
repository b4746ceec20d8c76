// Package accounts is the contract between a load run and the server it
// plays against: how pattern accounts are named and how their secrets derive
// from one master secret. The load mode (package load) signs in with them
// and the reference server (internal/refserver) serves them, so both import
// this package rather than one another; it imports nothing of the project.
package accounts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strconv"
	"strings"
)

// DefaultPattern names pattern accounts: user1@acme.test, user2@acme.test...
const DefaultPattern = "user{n}@acme.test"

// Name is the identifier of pattern account n (1-based): pattern with {n}
// replaced by n.
func Name(pattern string, n int) string {
	return strings.ReplaceAll(pattern, "{n}", strconv.Itoa(n))
}

// Derive gives a pattern account's password and base32 TOTP seed from the
// master secret: HMAC-SHA256(master, "password\x00"+identifier) in
// base64url (24 characters) and HMAC-SHA256(master, "totp\x00"+identifier)
// in base32 without padding (32 characters). The identifier is lower-cased
// first, as servers match identifiers without case. Client and server both
// call it, so they agree on 10,000 accounts without a file of them.
func Derive(master, identifier string) (password, totpSeed string) {
	mac := func(label string) []byte {
		h := hmac.New(sha256.New, []byte(master))
		h.Write([]byte(label + "\x00" + strings.ToLower(identifier)))
		return h.Sum(nil)
	}
	password = base64.RawURLEncoding.EncodeToString(mac("password"))[:24]
	totpSeed = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac("totp"))[:32]
	return password, totpSeed
}
