package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestWriteInTenant: a pipelined write is bound to its tenant by RLS like
// any transaction, reports constraint violations, and refuses reads.
func TestWriteInTenant(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	a, b := storetest.NewTenant(t, pg.Store), storetest.NewTenant(t, pg.Store)
	// The app role is under RLS: the INSERT passes the policy's check only
	// because the batch's tenant setting applies to it.
	e := &store.Execution{Provider: "stripe", Action: "get_balance", Implementation: "native", Status: store.ExecSucceeded, IdempotencyKey: "k1"}
	if err := pg.Store.WriteInTenant(ctx, a, func(tx store.Tx) error { return tx.CreateExecution(ctx, e) }); err != nil {
		t.Fatal(err)
	}
	err := pg.Store.InTenant(ctx, a, func(tx store.Tx) error {
		got, err := tx.GetExecution(ctx, e.ID)
		if err == nil && got.Status != store.ExecSucceeded {
			t.Fatalf("stored %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Store.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetExecution(ctx, e.ID); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other tenant sees the record: %v", err)
	}
	dup := &store.Execution{Provider: "stripe", Action: "x", Implementation: "native", IdempotencyKey: "k1"}
	if err := pg.Store.WriteInTenant(ctx, a, func(tx store.Tx) error { return tx.CreateExecution(ctx, dup) }); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate idempotency key: %v", err)
	}
	if err := pg.Store.WriteInTenant(ctx, a, func(tx store.Tx) error { _, err := tx.GetTenant(ctx); return err }); err == nil {
		t.Fatal("a read inside a write batch succeeded")
	}
}
