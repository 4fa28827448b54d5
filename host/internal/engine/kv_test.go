package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// TestStoreValuesSealed: what plugins put in the tenant store (Plaid item
// tokens, cached ids) is stored only encrypted, bound to tenant, provider
// and key.
func TestStoreValuesSealed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		k, _ := vault.Generate("k1")
		kr, err := vault.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tenant := storetest.NewTenant(t, st)
		e := &Engine{cfg: Config{Store: st, Keyring: kr}}
		h := &execHost{e: e, tenant: tenant, provider: "plaid"}
		secret := []byte("access-sandbox-0123456789")
		if err := h.StorePut(ctx, "item/abc", secret); err != nil {
			t.Fatal(err)
		}
		var raw []byte
		st.InTenant(ctx, tenant, func(tx store.Tx) error {
			raw, _, err = tx.KVGet(ctx, "plaid", "item/abc")
			return err
		})
		if len(raw) == 0 || bytes.Contains(raw, secret) {
			t.Fatalf("store value not sealed: %q", raw)
		}
		got, ok, err := h.StoreGet(ctx, "item/abc")
		if err != nil || !ok || !bytes.Equal(got, secret) {
			t.Fatalf("StoreGet: %q %v %v", got, ok, err)
		}
		// The same ciphertext under another provider's namespace fails.
		st.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.KVPut(ctx, "xero", "item/abc", raw) })
		other := &execHost{e: e, tenant: tenant, provider: "xero"}
		if _, _, err := other.StoreGet(ctx, "item/abc"); err == nil {
			t.Fatal("a value moved to another provider decrypted")
		}
		if _, ok, _ := h.StoreGet(ctx, "missing"); ok {
			t.Fatal("missing key found")
		}
	})
}

// TestStoreQuota: a tenant's store per provider holds at most MaxKeys keys
// and MaxBytes bytes; overwriting a key is always possible within the
// bytes, and each tenant and provider has its own quota.
func TestStoreQuota(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st store.Store) {
		k, _ := vault.Generate("k1")
		kr, err := vault.Parse(k)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		e := &Engine{cfg: Config{Store: st, Keyring: kr, StoreQuota: StoreQuota{MaxKeys: 5, MaxBytes: 4 << 10}}}
		a := &execHost{e: e, tenant: storetest.NewTenant(t, st), provider: "plaid"}
		for i := range 5 {
			if err := a.StorePut(ctx, fmt.Sprintf("k%d", i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		err = a.StorePut(ctx, "k5", []byte("v"))
		if !errors.Is(err, runtimes.ErrStoreQuota) || !strings.Contains(err.Error(), "the limit is 5 keys") {
			t.Fatalf("sixth key: %v", err)
		}
		if err := a.StorePut(ctx, "k0", []byte("overwritten")); err != nil {
			t.Fatalf("overwrite within the quota: %v", err)
		}
		err = a.StorePut(ctx, "k1", bytes.Repeat([]byte("x"), 4<<10))
		if !errors.Is(err, runtimes.ErrStoreQuota) || !strings.Contains(err.Error(), "the limit is 4096 bytes") {
			t.Fatalf("over the bytes: %v", err)
		}
		for _, other := range []*execHost{
			{e: e, tenant: a.tenant, provider: "xero"},
			{e: e, tenant: storetest.NewTenant(t, st), provider: "plaid"},
		} {
			if err := other.StorePut(ctx, "k5", []byte("v")); err != nil {
				t.Fatalf("%s/%s: %v", other.tenant, other.provider, err)
			}
		}
	})
}
