package overlay_test

import (
	"bytes"
	"os"
	"slices"
	"testing"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/catalog/overlay"
)

// TestRegistrySync keeps the catalog and the shipped plugins in step both
// ways: every native plugin and piece in plugins/ has a catalog entry
// marked with its kind, and every entry claiming native or piece has one
// that ships.
func TestRegistrySync(t *testing.T) {
	shipped, err := overlay.Shipped("../..")
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Load(catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for id, kinds := range shipped {
		if _, ok := c.Get(id); !ok {
			t.Errorf("plugins ship %v for %q but the catalog has no such entry: add it to catalog/overrides.json (\"add\") and run `make catalog`", kinds, id)
		}
	}
	want, _ := overlay.MarshalImplementations(shipped)
	got, err := os.ReadFile("../implementations.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		for _, d := range c.All() {
			for _, impl := range d.Implementations {
				if impl == catalog.ImplGeneric {
					continue
				}
				if !slices.Contains(shipped[d.ID], impl) {
					t.Errorf("catalog entry %q claims %s but no %s plugin ships in plugins/", d.ID, impl, impl)
				}
			}
		}
		t.Fatalf("catalog/implementations.json does not match plugins/: run `go run ./catalog/cmd/syncimpl` (make catalog-sync)")
	}
}
