// Package apikey makes and checks tenant API keys. A key is
// "atom_<prefix>_<secret>": the prefix is a public lookup id, the secret
// carries 160 random bits. Only SHA-256 of the whole key is stored; keys
// are random, so a fast hash is enough and lookups stay constant-time.
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/atomhq/atom/host/internal/ids"
)

// Prefix every key starts with.
const Prefix = "atom_"

// New returns a new key, its lookup prefix and its hash.
func New() (key, lookup string, hash []byte) {
	lookup = ids.Random(8)
	key = Prefix + lookup + "_" + ids.Random(20)
	return key, lookup, Hash(key)
}

// Hash returns the stored form of a key.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Lookup extracts the lookup prefix from a presented key; ok is false when
// the key is not well formed.
func Lookup(key string) (lookup string, ok bool) {
	rest, found := strings.CutPrefix(key, Prefix)
	if !found {
		return "", false
	}
	lookup, secret, found := strings.Cut(rest, "_")
	if !found || len(lookup) == 0 || len(lookup) > 32 || len(secret) < 16 {
		return "", false
	}
	return lookup, true
}

// Verify compares a presented key with a stored hash in constant time.
func Verify(key string, hash []byte) bool {
	return subtle.ConstantTimeCompare(Hash(key), hash) == 1
}
