package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// hookFixture is a database with tenants a (with a webhook URL), b and c,
// and an active webhook instance of each.
type hookFixture struct {
	pg      *storetest.PG
	owner   *pgx.Conn
	a, b, c string
}

func newHookFixture(t *testing.T) *hookFixture {
	t.Helper()
	pg := storetest.Postgres(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close(ctx) })
	f := &hookFixture{pg: pg, owner: owner, a: storetest.NewTenant(t, pg.Store), b: storetest.NewTenant(t, pg.Store), c: storetest.NewTenant(t, pg.Store)}
	for _, tn := range []string{f.a, f.b, f.c} {
		url := "https://tenant.example/hook"
		if tn == f.b {
			url = "" // b records events without deliveries
		}
		if _, err := owner.Exec(ctx, `UPDATE tenants SET webhook_url = NULLIF($2, '') WHERE id = $1`, tn, url); err != nil {
			t.Fatal(err)
		}
		if _, err := owner.Exec(ctx, `INSERT INTO trigger_instances (id, tenant_id, connection_id, provider, trigger_name, kind, input, deliver, status, interval_seconds)
			VALUES ($1, $2, 'conn', 'fake', 'on_item', 'webhook', '{}', true, 'active', 0)`, "trg_"+tn, tn); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func hookRecord(source string, lease time.Time, items ...string) *store.HookRecord {
	r := &store.HookRecord{Source: source, Type: "fake.on_item", Deliver: true, At: time.Now().UTC(), LeaseUntil: lease}
	for _, it := range items {
		r.Items = append(r.Items, store.HookItem{Event: store.Event{ID: "evt_" + source + "_" + it, Payload: []byte(`{"item":"` + it + `"}`)}, DeliveryID: ids.New("dlv")})
	}
	return r
}

// TestRecordHookEvents: a webhook's events recorded in the group commit
// are deduplicated by id, numbered in order, delivered only where the
// tenant has an endpoint, born leased only with no earlier delivery of
// their source pending, and never recorded on another tenant's or a
// disabled instance.
func TestRecordHookEvents(t *testing.T) {
	f := newHookFixture(t)
	ctx := context.Background()
	s := f.pg.Store
	lease := time.Now().Add(time.Minute).UTC()

	r := hookRecord("trg_"+f.a, lease, "1", "2", "1")
	if err := s.RecordHookEvents(ctx, f.a, r); err != nil {
		t.Fatal(err)
	}
	it := r.Items
	if !r.Live || r.Tenant == nil || r.Tenant.WebhookURL == "" {
		t.Fatalf("live %v tenant %+v", r.Live, r.Tenant)
	}
	if !it[0].Recorded || !it[1].Recorded || it[2].Recorded {
		t.Fatalf("recorded %v %v %v: want the repeated id recorded once", it[0].Recorded, it[1].Recorded, it[2].Recorded)
	}
	if it[1].Event.Pos != it[0].Event.Pos+1 || it[0].Event.Seq != 1 || it[1].Event.Seq != 2 {
		t.Fatalf("positions %d/%d, seqs %d/%d", it[0].Event.Pos, it[1].Event.Pos, it[0].Event.Seq, it[1].Event.Seq)
	}
	if it[0].Delivery == nil || !it[0].Leased || it[1].Delivery == nil || it[1].Leased {
		t.Fatalf("first delivery %+v leased %v, second %+v leased %v: want only the first born leased", it[0].Delivery, it[0].Leased, it[1].Delivery, it[1].Leased)
	}

	// The provider sends the same webhook again: nothing new.
	again := hookRecord("trg_"+f.a, lease, "1", "2")
	if err := s.RecordHookEvents(ctx, f.a, again); err != nil || !again.Live || again.Items[0].Recorded || again.Items[1].Recorded {
		t.Fatalf("again: live %v %+v %v", again.Live, again.Items, err)
	}

	// Tenant b has no endpoint: events, no deliveries.
	rb := hookRecord("trg_"+f.b, lease, "1")
	if err := s.RecordHookEvents(ctx, f.b, rb); err != nil || !rb.Items[0].Recorded || rb.Items[0].Delivery != nil {
		t.Fatalf("b: %+v %v", rb.Items[0], err)
	}

	// Tenant a naming b's instance: row-level security hides it.
	cross := hookRecord("trg_"+f.b, lease, "x")
	if err := s.RecordHookEvents(ctx, f.a, cross); err != nil || cross.Live || cross.Items[0].Recorded {
		t.Fatalf("a recording on b's instance: live %v recorded %v %v", cross.Live, cross.Items[0].Recorded, err)
	}
	err := s.InTenant(ctx, f.b, func(tx store.Tx) error {
		evs, err := tx.ListEvents(ctx, 0, 100)
		if err == nil && len(evs) != 1 {
			t.Fatalf("b has %d events, want its own 1", len(evs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// A disabled instance takes nothing.
	if _, err := f.owner.Exec(ctx, `UPDATE trigger_instances SET status = 'disabled' WHERE id = $1`, "trg_"+f.c); err != nil {
		t.Fatal(err)
	}
	off := hookRecord("trg_"+f.c, lease, "1")
	if err := s.RecordHookEvents(ctx, f.c, off); err != nil || off.Live || off.Items[0].Recorded {
		t.Fatalf("disabled: live %v recorded %v %v", off.Live, off.Items[0].Recorded, err)
	}
}

// TestRecordHookEventsConcurrently: webhooks of two tenants recorded at
// once from two pools (two replicas) share group commits; every event is
// recorded once, with positions 1..n per tenant and no gap.
func TestRecordHookEventsConcurrently(t *testing.T) {
	f := newHookFixture(t)
	ctx := context.Background()
	const senders, each = 8, 25
	second, err := postgres.Open(ctx, f.pg.AppURL) // a second replica's pool
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for w := range senders {
		tenant := f.a
		if w%2 == 1 {
			tenant = f.b
		}
		var rec store.HookRecorder = f.pg.Store
		if w%4 >= 2 {
			rec = second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := hookRecord("trg_"+tenant, time.Time{}, fmt.Sprintf("%d_%d", w, i))
				if err := rec.RecordHookEvents(ctx, tenant, r); err != nil || !r.Items[0].Recorded {
					errs <- fmt.Errorf("sender %d item %d: recorded %v: %v", w, i, r.Items[0].Recorded, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, tenant := range []string{f.a, f.b} {
		err := f.pg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
			evs, err := tx.ListEvents(ctx, 0, 1000)
			if err != nil {
				return err
			}
			if len(evs) != senders/2*each {
				t.Fatalf("%s: %d events, want %d", tenant, len(evs), senders/2*each)
			}
			for i, e := range evs {
				if e.Pos != int64(i+1) || e.Seq != int64(i+1) || e.TenantID != tenant {
					t.Fatalf("%s: event %d has pos %d seq %d tenant %s", tenant, i, e.Pos, e.Seq, e.TenantID)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeliveryBatcher: claims and outcomes through the group commit keep
// a source's order, claim the next delivery with the outcome, and see
// nothing of another tenant's.
func TestDeliveryBatcher(t *testing.T) {
	f := newHookFixture(t)
	ctx := context.Background()
	s := f.pg.Store
	r := hookRecord("trg_"+f.a, time.Time{}, "1", "2")
	if err := s.RecordHookEvents(ctx, f.a, r); err != nil {
		t.Fatal(err)
	}
	d1, d2 := r.Items[0].Delivery, r.Items[1].Delivery
	now := time.Now().UTC().Add(time.Second)
	until := now.Add(time.Minute)

	// Order: the second waits for the first.
	c, err := s.ClaimForAttempt(ctx, f.a, d2.ID, now, until)
	if err != nil || c.Claimed || !c.Earlier || c.Delivery == nil || c.Delivery.ID != d2.ID {
		t.Fatalf("claim of the second: %+v %v", c, err)
	}
	// Another tenant cannot claim (or see) it.
	if c, err := s.ClaimForAttempt(ctx, f.b, d1.ID, now, until); err != nil || c.Claimed || c.Delivery != nil {
		t.Fatalf("b claiming a's delivery: %+v %v", c, err)
	}
	c, err = s.ClaimForAttempt(ctx, f.a, d1.ID, now, until)
	if err != nil || !c.Claimed || c.Event == nil || c.Event.ID != r.Items[0].Event.ID || c.Tenant == nil || c.Tenant.ID != f.a {
		t.Fatalf("claim of the first: %+v %v", c, err)
	}
	if again, err := s.ClaimForAttempt(ctx, f.a, d1.ID, now, until); err != nil || again.Claimed {
		t.Fatalf("second claim while leased: %+v %v", again, err)
	}

	// Its outcome claims the next.
	d := c.Delivery
	at := now
	d.State, d.Attempts, d.LastStatus, d.DeliveredAt = store.DeliveryDelivered, 1, 204, &at
	n, err := s.SettleDelivery(ctx, f.a, d, true, now, until)
	if err != nil || !n.Claimed || n.Delivery.ID != d2.ID || n.Event == nil || n.Event.ID != r.Items[1].Event.ID {
		t.Fatalf("settle: %+v %v", n, err)
	}
	if e, err := s.ClaimEarliest(ctx, f.a, "trg_"+f.a, now, until); err != nil || e.Claimed || e.Delivery == nil || e.Delivery.ID != d2.ID {
		t.Fatalf("earliest while the next is leased: %+v %v", e, err)
	}
	d = n.Delivery
	d.State, d.Attempts, d.DeliveredAt = store.DeliveryDelivered, 1, &at
	if n, err := s.SettleDelivery(ctx, f.a, d, true, now, until); err != nil || n.Delivery != nil || n.Claimed {
		t.Fatalf("settle of the last: %+v %v", n, err)
	}
	if e, err := s.ClaimEarliest(ctx, f.a, "trg_"+f.a, now, until); err != nil || e.Delivery != nil {
		t.Fatalf("earliest with none pending: %+v %v", e, err)
	}
	// Tenant b settling a's delivery finds nothing.
	if _, err := s.SettleDelivery(ctx, f.b, d, false, now, until); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b settling a's delivery: %v", err)
	}
}

// TestRelaxedCommitIsLocal: deliveries' claims and outcomes commit without
// waiting for the WAL flush, and only they: the durable group commit (events,
// execution records) and the pooled sessions keep synchronous_commit on.
func TestRelaxedCommitIsLocal(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	tenant := storetest.NewTenant(t, pg.Store)
	for range 3 { // the pool's sessions, reused
		if v, err := pg.Store.CommitSetting(ctx, tenant, true); err != nil || v != "off" {
			t.Fatalf("relaxed batch: synchronous_commit %q %v", v, err)
		}
		if v, err := pg.Store.CommitSetting(ctx, tenant, false); err != nil || v != "on" {
			t.Fatalf("durable batch after a relaxed one: synchronous_commit %q %v", v, err)
		}
	}
	err := pg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		_, err := tx.GetTenant(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
