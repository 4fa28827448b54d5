package provider_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestStoreCached(t *testing.T) {
	h := providertest.NewHost()
	ctx := provider.WithHost(context.Background(), h)
	loads := 0
	load := func(context.Context) ([]byte, error) { loads++; return []byte(fmt.Sprintf("v%d", loads)), nil }
	for i := 0; i < 3; i++ {
		v, err := provider.StoreCached(ctx, "k", load)
		if err != nil || string(v) != "v1" {
			t.Fatalf("got %q, %v", v, err)
		}
	}
	if loads != 1 {
		t.Fatalf("loaded %d times", loads)
	}
	if err := provider.StoreForget(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if v, _ := provider.StoreCached(ctx, "k", load); string(v) != "v2" {
		t.Fatalf("after forget got %q", v)
	}
	boom := errors.New("boom")
	if _, err := provider.StoreCached(ctx, "other", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if _, ok, _ := h.StoreGet(ctx, "other"); ok {
		t.Fatal("a failed load was kept")
	}
	// Without a host the value is still loaded.
	v, err := provider.StoreCached(context.Background(), "k", load)
	if err != nil || string(v) != "v3" {
		t.Fatalf("no host: %q, %v", v, err)
	}
}

func ExampleStoreCached() {
	ctx := provider.WithHost(context.Background(), providertest.NewHost())
	lookup := func(context.Context) ([]byte, error) {
		fmt.Println("looking up")
		return []byte("site-42"), nil
	}
	a, _ := provider.StoreCached(ctx, "site_id", lookup)
	b, _ := provider.StoreCached(ctx, "site_id", lookup)
	fmt.Println(string(a), string(b))
	// Output:
	// looking up
	// site-42 site-42
}
