package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestHotTablesWithoutForeignKeys checks what replaces the foreign keys
// that migration 00014 removes from executions, events and deliveries:
// deleting a tenant still deletes its rows of those tables and no other
// tenant's, deleting an event still deletes its delivery, and a delivery
// created for an event that is gone is refused.
func TestHotTablesWithoutForeignKeys(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	s := pg.Store
	a, b := storetest.NewTenant(t, s), storetest.NewTenant(t, s)
	events := map[string]string{}
	for _, tenant := range []string{a, b} {
		err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
			if err := tx.CreateExecution(ctx, &store.Execution{Provider: "github", Action: "list", Implementation: "native", Input: []byte(`{}`)}); err != nil {
				return err
			}
			e := &store.Event{Source: "trigger:t", Type: "x", Payload: []byte(`{}`)}
			if _, err := tx.AppendEvent(ctx, e, true); err != nil {
				return err
			}
			events[tenant] = e.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The keys are gone: the point of the migration.
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	var keys int
	if err := owner.QueryRow(ctx, `SELECT count(*) FROM pg_constraint WHERE contype = 'f'
		AND conrelid IN ('executions'::regclass, 'events'::regclass, 'deliveries'::regclass)`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 0 {
		t.Fatalf("%d foreign keys left on executions, events and deliveries", keys)
	}
	var unread []string
	rows, err := owner.Query(ctx, `SELECT indexname FROM pg_indexes WHERE indexname IN ('events_tenant_id_source_seq_key', 'deliveries_event')`)
	if err != nil {
		t.Fatal(err)
	}
	if unread, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil || len(unread) != 0 {
		t.Fatalf("indexes no statement reads are still there: %v %v", unread, err)
	}

	count := func(tenant string) (n [3]int) {
		t.Helper()
		err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
			ex, err := tx.ListExecutions(ctx, store.ExecutionFilter{Limit: 100})
			if err != nil {
				return err
			}
			ev, err := tx.ListEvents(ctx, 0, 100)
			if err != nil {
				return err
			}
			dl, err := tx.ListDeliveries(ctx, store.DeliveryFilter{Limit: 100})
			if err != nil {
				return err
			}
			n = [3]int{len(ex), len(ev), len(dl)}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := count(a); got != [3]int{1, 1, 1} {
		t.Fatalf("tenant a before: executions, events, deliveries = %v", got)
	}

	// An event removed takes its delivery along.
	if _, err := owner.Exec(ctx, `DELETE FROM events WHERE id = $1`, events[b]); err != nil {
		t.Fatal(err)
	}
	if got := count(b); got != [3]int{1, 0, 0} {
		t.Fatalf("tenant b after its event was deleted: executions, events, deliveries = %v, want [1 0 0]", got)
	}
	// A delivery cannot be created for it afterwards.
	err = s.InTenant(ctx, b, func(tx store.Tx) error {
		_, err := tx.CreateDelivery(ctx, events[b], time.Now())
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delivery of a deleted event: %v, want not found", err)
	}

	// A tenant removed takes its rows along, and only its own.
	if _, err := owner.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, a); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM executions WHERE tenant_id = $1)
		+ (SELECT count(*) FROM events WHERE tenant_id = $1) + (SELECT count(*) FROM deliveries WHERE tenant_id = $1)`, a).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d rows of a deleted tenant left", left)
	}
	if got := count(b); got != [3]int{1, 0, 0} {
		t.Fatalf("tenant b after tenant a was deleted: %v, want [1 0 0]", got)
	}
}
