package sqlcore

import (
	"testing"
	"unsafe"

	"github.com/atomhq/atom/host/internal/store"
)

// TestKeyCacheOwnsItsKeys: a prefix handed in may alias a buffer the
// caller reuses (fasthttp request bytes); the cache must not keep it.
func TestKeyCacheOwnsItsKeys(t *testing.T) {
	c := NewKeyCache()
	loads := 0
	load := func(id string) func() (*store.APIKey, error) {
		return func() (*store.APIKey, error) { loads++; return &store.APIKey{ID: id}, nil }
	}
	buf := []byte("aaaaaaaa")
	aliased := unsafe.String(&buf[0], len(buf))
	if k, _ := c.Lookup(aliased, load("key_a")); k.ID != "key_a" {
		t.Fatal(k)
	}
	copy(buf, "bbbbbbbb") // the caller reuses its buffer
	if k, _ := c.Lookup("aaaaaaaa", load("key_a")); k.ID != "key_a" || loads != 1 {
		t.Fatalf("cached entry lost or corrupted: %+v after %d loads", k, loads)
	}
	if k, _ := c.Lookup("bbbbbbbb", load("key_b")); k.ID != "key_b" || loads != 2 {
		t.Fatalf("another prefix hit the first entry: %+v", k)
	}
	c.Clear()
	if _, _ = c.Lookup("aaaaaaaa", load("key_a")); loads != 3 {
		t.Fatal("cleared entry served")
	}
}
