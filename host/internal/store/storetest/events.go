package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// Events checks event storage and the delivery state machine: positions
// and per-source sequence numbers under concurrent appends, leases,
// ordering lookups, replay, stalled deliveries and tenant isolation.
func Events(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewTenant(t, s), NewTenant(t, s)
	in := func(tenant string, fn func(tx store.Tx) error) {
		t.Helper()
		if err := s.InTenant(ctx, tenant, fn); err != nil {
			t.Fatal(err)
		}
	}

	// Concurrent appends: positions 1..n without gaps, each source's
	// sequence 1..k without gaps.
	const workers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			src := "connection:c" + string(rune('0'+w%2))
			for i := 0; i < each; i++ {
				err := s.InTenant(ctx, a, func(tx store.Tx) error {
					_, err := tx.AppendEvent(ctx, &store.Event{Source: src, Type: "test.event", Payload: []byte(`{"n":1}`)}, true)
					return err
				})
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	var evs []store.Event
	in(a, func(tx store.Tx) (err error) { evs, err = tx.ListEvents(ctx, 0, 1000); return })
	if len(evs) != workers*each {
		t.Fatalf("listed %d events, want %d", len(evs), workers*each)
	}
	seqs := map[string]int64{}
	for i, e := range evs {
		if e.Pos != int64(i+1) {
			t.Fatalf("event %d has position %d", i, e.Pos)
		}
		if e.Seq != seqs[e.Source]+1 {
			t.Fatalf("source %s: sequence %d after %d", e.Source, e.Seq, seqs[e.Source])
		}
		seqs[e.Source] = e.Seq
		if e.TenantID != a || e.Type != "test.event" || string(e.Payload) == "" {
			t.Fatalf("event %+v", e)
		}
	}
	var page []store.Event
	in(a, func(tx store.Tx) (err error) { page, err = tx.ListEvents(ctx, 5, 3); return })
	if len(page) != 3 || page[0].Pos != 6 {
		t.Fatalf("page after 5: %+v", page)
	}

	// Tenant b sees none of a's events or deliveries, and starts at 1.
	first := evs[0]
	if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetEvent(ctx, first.ID); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant b read a's event: %v", err)
	}
	if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.GetDeliveryByEvent(ctx, first.ID); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant b read a's delivery: %v", err)
	}
	var bEv store.Event
	in(b, func(tx store.Tx) error {
		bEv = store.Event{Source: "connection:c0", Type: "test.event"}
		_, err := tx.AppendEvent(ctx, &bEv, false)
		return err
	})
	if bEv.Pos != 1 || bEv.Seq != 1 {
		t.Fatalf("tenant b's first event at %d/%d", bEv.Pos, bEv.Seq)
	}
	in(b, func(tx store.Tx) error {
		l, err := tx.ListDeliveries(ctx, store.DeliveryFilter{})
		if err != nil || len(l) != 0 {
			t.Fatalf("tenant b lists deliveries %v %v", l, err)
		}
		l2, err := tx.ListEvents(ctx, 0, 100)
		if err != nil || len(l2) != 1 {
			t.Fatalf("tenant b lists events %v %v", l2, err)
		}
		return nil
	})
	if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.ResetDelivery(ctx, "dlv_x", time.Now()); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reset of a missing delivery: %v", err)
	}

	// Lease, ordering and outcome.
	var d1, d2 *store.Delivery
	var e1, e2 store.Event
	in(a, func(tx store.Tx) (err error) {
		e1 = store.Event{Source: "trigger:t1", Type: "x"}
		if d1, err = tx.AppendEvent(ctx, &e1, true); err != nil {
			return err
		}
		e2 = store.Event{Source: "trigger:t1", Type: "x"}
		d2, err = tx.AppendEvent(ctx, &e2, true)
		return err
	})
	now := time.Now().UTC()
	in(a, func(tx store.Tx) error {
		p, err := tx.PendingBefore(ctx, "trigger:t1", d2.Seq)
		if err != nil || p.ID != d1.ID {
			t.Fatalf("pending before 2: %+v %v", p, err)
		}
		if _, err := tx.PendingBefore(ctx, "trigger:t1", d1.Seq); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pending before 1: %v", err)
		}
		c, err := tx.ClaimDelivery(ctx, d1.ID, now.Add(time.Second), now.Add(time.Minute))
		if err != nil || c.LeaseUntil == nil {
			t.Fatalf("claim: %+v %v", c, err)
		}
		if _, err := tx.ClaimDelivery(ctx, d1.ID, now.Add(2*time.Second), now.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second claim while leased: %v", err)
		}
		return nil
	})
	// The lease held until a minute from now: stalled only after it.
	stalledIDs := func(at, overdue time.Time) map[string]bool {
		refs, err := s.StalledDeliveries(ctx, at, overdue, 1000)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, r := range refs {
			if r.TenantID == a {
				ids[r.DeliveryID] = true
			}
		}
		return ids
	}
	stalled := func(at time.Time) bool { return stalledIDs(at, at.Add(-time.Hour))[d1.ID] }
	if stalled(now.Add(30 * time.Second)) {
		t.Fatal("a leased delivery was listed stalled before its lease ran out")
	}
	if !stalled(now.Add(2 * time.Minute)) {
		t.Fatal("a delivery whose lease ran out was not listed stalled")
	}
	// d2 is overdue with no lease, but d1 of its source is pending before
	// it: only the source's earliest is listed (its job goes on with d2).
	if ids := stalledIDs(now.Add(2*time.Minute), now.Add(time.Minute)); ids[d2.ID] || !ids[d1.ID] {
		t.Fatalf("stalled %v: want the source's earliest pending delivery only (%s, not %s)", ids, d1.ID, d2.ID)
	}
	in(a, func(tx store.Tx) error {
		c, err := tx.ClaimDelivery(ctx, d1.ID, now.Add(2*time.Minute), now.Add(3*time.Minute))
		if err != nil {
			t.Fatalf("claim after the lease ran out: %v", err)
		}
		at := now.Add(2 * time.Minute)
		c.State, c.Attempts, c.LastStatus, c.LastError, c.DeliveredAt = store.DeliveryDelivered, 1, 204, "", &at
		if err := tx.UpdateDelivery(ctx, c); err != nil {
			return err
		}
		if _, err := tx.PendingBefore(ctx, "trigger:t1", d2.Seq); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("pending before 2 after 1 was delivered: %v", err)
		}
		got, err := tx.GetDeliveryByEvent(ctx, e1.ID)
		if err != nil || got.State != store.DeliveryDelivered || got.Attempts != 1 || got.LeaseUntil != nil || got.DeliveredAt == nil {
			t.Fatalf("after delivery: %+v %v", got, err)
		}
		// Replay.
		if _, err := tx.ResetDelivery(ctx, d2.ID, now); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reset of a pending delivery: %v", err)
		}
		r, err := tx.ResetDelivery(ctx, d1.ID, now)
		if err != nil || r.State != store.DeliveryPending || r.Attempts != 0 || r.DeliveredAt != nil {
			t.Fatalf("reset: %+v %v", r, err)
		}
		// Dead letter, listed by state.
		r.State, r.Attempts, r.LastStatus, r.LastError = store.DeliveryDead, 3, 500, "receiver answered 500"
		if err := tx.UpdateDelivery(ctx, r); err != nil {
			return err
		}
		dead, err := tx.ListDeliveries(ctx, store.DeliveryFilter{State: store.DeliveryDead})
		if err != nil || len(dead) != 1 || dead[0].ID != d1.ID || dead[0].LastError != "receiver answered 500" {
			t.Fatalf("dead deliveries: %+v %v", dead, err)
		}
		return nil
	})

	// An event appended without a delivery gets one on demand.
	in(b, func(tx store.Tx) error {
		if _, err := tx.GetDeliveryByEvent(ctx, bEv.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delivery of an undelivered event: %v", err)
		}
		d, err := tx.CreateDelivery(ctx, bEv.ID, now)
		if err != nil || d.EventID != bEv.ID || d.State != store.DeliveryPending {
			t.Fatalf("create delivery: %+v %v", d, err)
		}
		return nil
	})
	if err := s.InTenant(ctx, b, func(tx store.Tx) error { _, err := tx.CreateDelivery(ctx, e1.ID, now); return err }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("tenant b created a delivery of a's event: %v", err)
	}
	// Bad input names its field.
	err := s.InTenant(ctx, a, func(tx store.Tx) error {
		_, err := tx.AppendEvent(ctx, &store.Event{Source: "s", Type: "bad\x00type"}, false)
		return err
	})
	var inv *store.InvalidError
	if !errors.As(err, &inv) || inv.Field != "type" {
		t.Fatalf("NUL in type: %v", err)
	}
}

// EventExpiry checks ExpireEvents: across tenants it removes events older
// than the cutoff whose delivery settled, or that have none, with their
// deliveries, at most limit at a time; it keeps an event still being
// delivered and every newer event.
func EventExpiry(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := NewTenant(t, s), NewTenant(t, s)
	old := time.Now().UTC().Add(-48 * time.Hour)
	add := func(tenant string, at time.Time, deliver bool, state string) string {
		t.Helper()
		var id string
		err := s.InTenant(ctx, tenant, func(tx store.Tx) error {
			d, err := tx.AppendEvent(ctx, &store.Event{Source: "trigger:t", Type: "x", Payload: []byte(`{}`), CreatedAt: at}, deliver)
			if err != nil {
				return err
			}
			evs, err := tx.ListEvents(ctx, 0, 1000)
			if err != nil {
				return err
			}
			id = evs[len(evs)-1].ID
			if d != nil && state != store.DeliveryPending {
				d.State = state
				return tx.UpdateDelivery(ctx, d)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	gone := []string{
		add(a, old, true, store.DeliveryDelivered),
		add(a, old, false, ""),
		add(b, old, true, store.DeliveryDead),
		add(b, old.Add(time.Minute), true, store.DeliveryDelivered),
	}
	kept := map[string]string{
		add(a, old, true, store.DeliveryPending):                a, // still being delivered
		add(b, time.Now().UTC(), true, store.DeliveryDelivered): b, // recent
	}
	cutoff := time.Now().UTC().Add(-24 * time.Hour)
	n, err := s.ExpireEvents(ctx, cutoff, 3)
	if err != nil || n != 3 {
		t.Fatalf("first batch: %d %v, want 3", n, err)
	}
	n, err = s.ExpireEvents(ctx, cutoff, 3)
	if err != nil || n != 1 {
		t.Fatalf("second batch: %d %v, want 1", n, err)
	}
	if n, err := s.ExpireEvents(ctx, cutoff, 3); err != nil || n != 0 {
		t.Fatalf("third batch: %d %v, want 0", n, err)
	}
	for _, id := range gone {
		for _, tenant := range []string{a, b} {
			_ = s.InTenant(ctx, tenant, func(tx store.Tx) error {
				if _, err := tx.GetEvent(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("expired event %s still there: %v", id, err)
				}
				if _, err := tx.GetDeliveryByEvent(ctx, id); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("delivery of expired event %s still there: %v", id, err)
				}
				return nil
			})
		}
	}
	for id, tenant := range kept {
		_ = s.InTenant(ctx, tenant, func(tx store.Tx) error {
			if _, err := tx.GetEvent(ctx, id); err != nil {
				t.Errorf("event %s was removed: %v", id, err)
			}
			return nil
		})
	}
}
