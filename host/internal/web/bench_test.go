package web

import (
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/vault"
)

// BenchmarkSessionOpen measures opening (authenticating and decoding) a
// sealed session cookie, the per-request cost before the API key check.
func BenchmarkSessionOpen(b *testing.B) {
	spec, err := vault.Generate("k1")
	if err != nil {
		b.Fatal(err)
	}
	ring, err := vault.Parse(spec)
	if err != nil {
		b.Fatal(err)
	}
	s := newSessions(ring, time.Now)
	value, err := s.seal(&session{ID: randomToken(), TenantID: "acme", KeyID: "key_1", Lookup: "abcdefgh", CSRF: randomToken(), Expires: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.open(value); !ok {
			b.Fatal("session does not open")
		}
	}
}

// BenchmarkSessionSeal measures sealing a new session at sign-in.
func BenchmarkSessionSeal(b *testing.B) {
	spec, _ := vault.Generate("k1")
	ring, _ := vault.Parse(spec)
	s := newSessions(ring, time.Now)
	ss := &session{ID: randomToken(), TenantID: "acme", KeyID: "key_1", Lookup: "abcdefgh", CSRF: randomToken(), Expires: time.Now().Add(time.Hour).Unix()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.seal(ss); err != nil {
			b.Fatal(err)
		}
	}
}
