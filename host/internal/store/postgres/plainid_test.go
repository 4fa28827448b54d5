package postgres_test

import (
	"context"
	"testing"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestInTenantQuotedID runs a transaction for a tenant id that cannot be
// written as a literal: it must reach the database intact as a parameter.
func TestInTenantQuotedID(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	id := "ten_o'brien; select 1"
	err := pg.Store.InTenant(ctx, id, func(tx store.Tx) error {
		return tx.CreateTenant(ctx, &store.Tenant{ID: id, Name: "quoted"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = pg.Store.InTenant(ctx, id, func(tx store.Tx) error {
		got, err := tx.GetTenant(ctx)
		if err == nil && got.ID != id {
			t.Errorf("tenant %q, want %q", got.ID, id)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
