package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/store"
)

// tenantCounter is the event_counters source holding a tenant's event
// positions; a source's own row holds its sequence numbers.
const tenantCounter = ""

// next increments the counter (tenant, source) and returns its new value.
// The row stays locked until the transaction ends, so values commit in
// order.
func (t *Tx) next(ctx context.Context, source string) (int64, error) {
	for i := 0; i < 3; i++ {
		var v int64
		err := t.row(ctx, `UPDATE event_counters SET last = last + 1 WHERE tenant_id = $1 AND source = $2 RETURNING last`, t.tenant, source).Scan(&v)
		if err = t.classify(err); !errors.Is(err, store.ErrNotFound) {
			return v, err
		}
		n, err := t.exec(ctx, `INSERT INTO event_counters (tenant_id, source, last) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING`, t.tenant, source)
		if err != nil {
			return 0, err
		}
		if n == 1 {
			return 1, nil
		}
		// Another transaction created it; increment it.
	}
	return 0, fmt.Errorf("%w: event counter %q", store.ErrConflict, source)
}

// AppendEvent stores an event and, when deliver is set, its delivery.
func (t *Tx) AppendEvent(ctx context.Context, e *store.Event, deliver bool) (*store.Delivery, error) {
	if e.Source == tenantCounter {
		return nil, &store.InvalidError{Field: "source", Reason: "must not be empty"}
	}
	if err := checkTexts(textCheck{"source", e.Source, store.MaxEventSource}, textCheck{"type", e.Type, store.MaxEventType}); err != nil {
		return nil, err
	}
	if e.ID == "" {
		e.ID = ids.New("evt")
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = t.now()
	}
	e.TenantID = t.tenant
	var err error
	// The tenant's counter first, then the source's: one lock order.
	if e.Pos, err = t.next(ctx, tenantCounter); err != nil {
		return nil, err
	}
	if e.Seq, err = t.next(ctx, e.Source); err != nil {
		return nil, err
	}
	payload := e.Payload
	if len(payload) == 0 {
		payload = []byte("null")
	}
	if _, err := t.exec(ctx, `INSERT INTO events (id, tenant_id, pos, source, seq, type, payload, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
		e.ID, t.tenant, e.Pos, e.Source, e.Seq, e.Type, t.d.JSON(payload), t.tm(e.CreatedAt)); err != nil {
		return nil, err
	}
	if !deliver {
		return nil, nil
	}
	return t.insertDelivery(ctx, e, e.CreatedAt)
}

func (t *Tx) insertDelivery(ctx context.Context, e *store.Event, at time.Time) (*store.Delivery, error) {
	now := t.now()
	d := &store.Delivery{ID: ids.New("dlv"), TenantID: t.tenant, EventID: e.ID, Source: e.Source, Seq: e.Seq,
		State: store.DeliveryPending, NextAttemptAt: at.UTC(), CreatedAt: now, UpdatedAt: now}
	_, err := t.exec(ctx, `INSERT INTO deliveries (id, tenant_id, event_id, source, seq, state, attempts, next_attempt_at, created_at, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6,0,$7,$8,$9)`, d.ID, t.tenant, d.EventID, d.Source, d.Seq, d.State, t.tm(d.NextAttemptAt), t.tm(now), t.tm(now))
	if err != nil {
		return nil, err
	}
	return d, nil
}

const eventCols = `id, tenant_id, pos, source, seq, type, payload, created_at`

func (t *Tx) scanEvent(r Row) (*store.Event, error) {
	var e store.Event
	var payload Bytes
	var created Time
	if err := r.Scan(&e.ID, &e.TenantID, &e.Pos, &e.Source, &e.Seq, &e.Type, &payload, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = created.T
	var err error
	if e.Payload, err = t.d.ReadJSON(payload); err != nil {
		return nil, fmt.Errorf("event %s payload: %w", e.ID, err)
	}
	return &e, nil
}

// GetEvent returns an event of the tenant.
func (t *Tx) GetEvent(ctx context.Context, id string) (*store.Event, error) {
	return t.event(ctx, id, "")
}

// event reads an event of the tenant; lock is appended to the query (a
// row lock, or nothing).
func (t *Tx) event(ctx context.Context, id, lock string) (*store.Event, error) {
	e, err := t.scanEvent(t.row(ctx, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND id = $2 `+lock, t.tenant, id))
	return e, t.classify(err)
}

// ListEvents lists events after a position, in order.
func (t *Tx) ListEvents(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return list(ctx, t, t.scanEvent, `SELECT `+eventCols+` FROM events WHERE tenant_id = $1 AND pos > $2 ORDER BY pos LIMIT $3`, t.tenant, after, limit)
}

const deliveryCols = `id, tenant_id, event_id, source, seq, state, attempts, next_attempt_at, lease_until, last_status, last_error, delivered_at, created_at, updated_at`

func scanDelivery(r Row) (*store.Delivery, error) {
	var d store.Delivery
	var next, lease, delivered, created, updated Time
	var msg Text
	if err := r.Scan(&d.ID, &d.TenantID, &d.EventID, &d.Source, &d.Seq, &d.State, &d.Attempts, &next, &lease, &d.LastStatus, &msg,
		&delivered, &created, &updated); err != nil {
		return nil, err
	}
	d.NextAttemptAt, d.LeaseUntil, d.LastError, d.DeliveredAt, d.CreatedAt, d.UpdatedAt = next.T, lease.Ptr(), string(msg), delivered.Ptr(), created.T, updated.T
	return &d, nil
}

// GetDelivery returns a delivery of the tenant.
func (t *Tx) GetDelivery(ctx context.Context, id string) (*store.Delivery, error) {
	d, err := scanDelivery(t.row(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE tenant_id = $1 AND id = $2`, t.tenant, id))
	return d, t.classify(err)
}

// GetDeliveryByEvent returns the delivery of an event.
func (t *Tx) GetDeliveryByEvent(ctx context.Context, eventID string) (*store.Delivery, error) {
	d, err := scanDelivery(t.row(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE tenant_id = $1 AND event_id = $2`, t.tenant, eventID))
	return d, t.classify(err)
}

// CreateDelivery adds a pending delivery of an event that has none. The
// event is read with a row lock held until the transaction ends, so that
// it cannot be removed (retention) between the read and the insert: on
// PostgreSQL a delivery's event is not a foreign key (migration 00014).
func (t *Tx) CreateDelivery(ctx context.Context, eventID string, at time.Time) (*store.Delivery, error) {
	e, err := t.event(ctx, eventID, t.d.ForUpdate())
	if err != nil {
		return nil, err
	}
	return t.insertDelivery(ctx, e, at)
}

// ClaimDelivery leases a due, unleased pending delivery.
func (t *Tx) ClaimDelivery(ctx context.Context, id string, now, until time.Time) (*store.Delivery, error) {
	d, err := scanDelivery(t.row(ctx, `UPDATE deliveries SET lease_until = $3, updated_at = $4
		WHERE tenant_id = $1 AND id = $2 AND state = 'pending' AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4)
		RETURNING `+deliveryCols, t.tenant, id, t.tm(until), t.tm(now)))
	if err = t.classify(err); !errors.Is(err, store.ErrNotFound) {
		return d, err
	}
	// Not claimed: say why with the delivery as it is (or ErrNotFound).
	if d, err = t.GetDelivery(ctx, id); err != nil {
		return nil, err
	}
	return d, store.ErrConflict
}

// PendingBefore returns the earliest pending delivery of source before seq.
func (t *Tx) PendingBefore(ctx context.Context, source string, seq int64) (*store.Delivery, error) {
	d, err := scanDelivery(t.row(ctx, `SELECT `+deliveryCols+` FROM deliveries
		WHERE tenant_id = $1 AND source = $2 AND seq < $3 AND state = 'pending' ORDER BY seq LIMIT 1`, t.tenant, source, seq))
	return d, t.classify(err)
}

// UpdateDelivery writes an attempt's outcome and clears the lease.
func (t *Tx) UpdateDelivery(ctx context.Context, d *store.Delivery) error {
	st := UpdateDeliveryStmt(t.d, t.tenant, d, t.now())
	return t.execOne(ctx, st.Query, st.Args...)
}

// UpdateDeliveryStmt is the statement of UpdateDelivery (d's UpdatedAt
// set to now, its lease cleared).
func UpdateDeliveryStmt(dl Dialect, tenant string, d *store.Delivery, now time.Time) Stmt {
	d.UpdatedAt = now
	d.LeaseUntil = nil
	var delivered any
	if d.DeliveredAt != nil {
		delivered = dl.Time(d.DeliveredAt.UTC())
	}
	return Stmt{Query: `UPDATE deliveries SET state = $3, attempts = $4, next_attempt_at = $5, lease_until = NULL, last_status = $6,
		last_error = $7, delivered_at = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2`,
		Args: []any{tenant, d.ID, d.State, d.Attempts, dl.Time(d.NextAttemptAt.UTC()), d.LastStatus, Null(clip(CleanText(d.LastError), 1000)),
			delivered, dl.Time(d.UpdatedAt.UTC())}}
}

// ResetDelivery makes a finished delivery pending again.
func (t *Tx) ResetDelivery(ctx context.Context, id string, at time.Time) (*store.Delivery, error) {
	n, err := t.exec(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3, lease_until = NULL,
		delivered_at = NULL, updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND state IN ('delivered', 'dead')`,
		t.tenant, id, t.tm(at), t.tm(t.now()))
	if err != nil {
		return nil, err
	}
	d, err := t.GetDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return d, store.ErrConflict
	}
	return d, nil
}

// ListDeliveries lists deliveries, newest first.
func (t *Tx) ListDeliveries(ctx context.Context, f store.DeliveryFilter) ([]store.Delivery, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	switch f.State {
	case "", store.DeliveryPending, store.DeliveryDelivered, store.DeliveryDead:
	default:
		return nil, errors.New("sqlcore: unknown delivery state " + f.State)
	}
	return list(ctx, t, scanDelivery, `SELECT `+deliveryCols+` FROM deliveries
		WHERE tenant_id = $1 AND ($2 = '' OR state = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`,
		t.tenant, f.State, f.After, f.Limit)
}

// DeliveryCols are the columns ScanDelivery reads, in order.
const DeliveryCols = deliveryCols

// ScanDelivery reads a delivery row of DeliveryCols.
func ScanDelivery(r Row) (*store.Delivery, error) { return scanDelivery(r) }

// EventCols are the columns ScanEvent reads, in order.
const EventCols = eventCols

// ScanEvent reads an event row of EventCols.
func ScanEvent(d Dialect, r Row) (*store.Event, error) { return (&Tx{d: d}).scanEvent(r) }
