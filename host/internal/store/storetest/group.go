package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
)

// GroupCommit checks a store's group commit (store.BatchWriter): the
// writes of many concurrent callers of two tenants are each acknowledged
// only once stored, each is its own tenant's (on PostgreSQL the app role's
// row-level security checks every row of a mixed batch), and a write that
// fails — a duplicate id among good writes — fails alone.
func GroupCommit(t *testing.T, s store.Store) {
	bw, ok := s.(store.BatchWriter)
	if !ok {
		t.Fatalf("%s store has no group commit (store.BatchWriter)", s.Backend())
	}
	ctx := context.Background()
	tenants := []string{NewTenant(t, s), NewTenant(t, s)}
	// A record that exists already: writing its id again must fail.
	taken := &store.Execution{ID: ids.New("exe"), Provider: "p", Action: "a", Implementation: "native", Status: store.ExecSucceeded}
	if err := bw.WriteInTenant(ctx, tenants[0], func(tx store.Tx) error { return tx.CreateExecution(ctx, taken) }); err != nil {
		t.Fatal(err)
	}
	const n = 400
	recs := make([]*store.Execution, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		rec := &store.Execution{ID: ids.New("exe"), Provider: "p", Action: fmt.Sprintf("a%d", i), Implementation: "native",
			Status: store.ExecSucceeded, Output: []byte(fmt.Sprintf(`{"i":%d}`, i))}
		if i%25 == 7 {
			rec.ID = taken.ID
		}
		recs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			tenant := tenants[i%2]
			errs[i] = bw.WriteInTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, rec) })
		}()
	}
	wg.Wait()
	for i, rec := range recs {
		tenant, other := tenants[i%2], tenants[(i+1)%2]
		if rec.ID == taken.ID {
			if !errors.Is(errs[i], store.ErrConflict) {
				t.Errorf("write %d reused a stored id: got %v, want a conflict", i, errs[i])
			}
			continue
		}
		if errs[i] != nil {
			t.Errorf("write %d: %v", i, errs[i])
			continue
		}
		var got *store.Execution
		err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
			var err error
			got, err = tx.GetExecution(ctx, rec.ID)
			return err
		})
		if err != nil || got.Action != rec.Action || got.TenantID != tenant {
			t.Errorf("acknowledged write %d: read back %+v, %v", i, got, err)
		}
		err = s.InTenant(ctx, other, func(tx store.Tx) error { _, err := tx.GetExecution(ctx, rec.ID); return err })
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("write %d of tenant %s is visible to tenant %s: %v", i, tenant, other, err)
		}
	}
	// The record written before is unchanged and still the first tenant's.
	err := s.InTenant(ctx, tenants[0], func(tx store.Tx) error {
		got, err := tx.GetExecution(ctx, taken.ID)
		if err == nil && got.Action != "a" {
			return fmt.Errorf("overwritten: %+v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A read inside a group write fails instead of seeing nothing.
	if err := bw.WriteInTenant(ctx, tenants[0], func(tx store.Tx) error { _, err := tx.GetTenant(ctx); return err }); err == nil {
		t.Fatal("a read inside a group write succeeded")
	}
	// No tenant, no write.
	if err := bw.WriteInTenant(ctx, "", func(tx store.Tx) error { return tx.CreateExecution(ctx, &store.Execution{Provider: "p", Action: "a"}) }); err == nil {
		t.Fatal("a group write without a tenant succeeded")
	}
}
