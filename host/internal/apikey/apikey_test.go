package apikey

import (
	"strings"
	"testing"
)

func TestNewLookupVerify(t *testing.T) {
	key, lookup, hash := New()
	if !strings.HasPrefix(key, Prefix+lookup+"_") {
		t.Fatalf("key %q does not carry lookup %q", key, lookup)
	}
	got, ok := Lookup(key)
	if !ok || got != lookup || !Verify(key, hash) {
		t.Fatalf("lookup %q %v, verify %v", got, ok, Verify(key, hash))
	}
	if Verify(key+"x", hash) || Verify(strings.Replace(key, lookup, "zzzzzzzz", 1), hash) {
		t.Fatal("altered key verified")
	}
	for _, bad := range []string{"", "atom_", "atom_abc", "nope_abc_defghijklmnopqrstu", "atom__" + strings.Repeat("a", 30)} {
		if _, ok := Lookup(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	k2, _, _ := New()
	if k2 == key {
		t.Fatal("keys repeat")
	}
}
