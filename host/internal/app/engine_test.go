package app

import (
	"reflect"
	"testing"
)

// TestSplitPrivateHosts: "<piece id>=<host>" entries of
// ATOM_ALLOW_PRIVATE_HOSTS grant a host to one piece; the others stay
// shared by the callers that are not pieces.
func TestSplitPrivateHosts(t *testing.T) {
	shared, scoped := splitPrivateHosts([]string{"127.0.0.1", "gitlab=git.internal:8443", " gitlab = 10.0.0.7", "vault.internal", "=x", "y="})
	if want := []string{"127.0.0.1", "vault.internal"}; !reflect.DeepEqual(shared, want) {
		t.Fatalf("shared %v, want %v", shared, want)
	}
	if want := map[string][]string{"gitlab": {"git.internal:8443", "10.0.0.7"}}; !reflect.DeepEqual(scoped, want) {
		t.Fatalf("scoped %v, want %v", scoped, want)
	}
}
