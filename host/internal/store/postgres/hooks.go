package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.HookRecorder = (*Store)(nil)

// ensureCounters creates the tenant's and the source's event counters
// that do not exist yet (at 0: the first event takes 1).
const ensureCounters = `INSERT INTO event_counters (tenant_id, source, last) VALUES ($1, '', 0), ($1, $2, 0) ON CONFLICT DO NOTHING`

// recordHookItem records one event of a webhook instance in one
// statement, when the instance takes events and no event has its id: the
// tenant's and the source's next positions (the tenant's counter locked
// first, as everywhere), the event, the instance's last event time (to
// the second: a busy instance's row is not rewritten per event) and,
// when asked and the tenant has a webhook URL, the event's pending
// delivery — leased to the caller when $9 is set and no earlier delivery
// of the source is pending. It answers whether the instance takes events,
// whether the event is new, its positions and its delivery's lease when
// recorded, and the tenant. (A new event not recorded means the counters
// do not exist yet: ensureCounters, then again.) (Rows
// are found by primary key alone where one is known, row-level security
// adding the tenant: a plan made while the tables were small, as on a new
// database, cannot then walk a tenant's rows instead. An event id
// recorded at the same moment by another transaction records nothing.)
var recordHookItem = `WITH live AS (
    SELECT 1 AS ok FROM trigger_instances
    WHERE id = $2 AND tenant_id = $1 AND status <> 'disabled' AND status <> 'failed'
), fresh AS (
    SELECT 1 AS ok FROM live WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = $3)
), ctr AS (
    UPDATE event_counters c SET last = c.last + 1
    WHERE c.tenant_id = $1 AND c.source IN ('', $2) AND EXISTS (SELECT 1 FROM fresh)
    RETURNING c.source, c.last
), ev AS (
    INSERT INTO events (id, tenant_id, pos, source, seq, type, payload, created_at)
    SELECT $3, $1, p.last, $2, q.last, $4, $5, $6 FROM ctr p, ctr q WHERE p.source = '' AND q.source = $2
    ON CONFLICT (id) DO NOTHING
    RETURNING pos, seq
), touch AS (
    UPDATE trigger_instances SET last_event_at = $6, updated_at = $6
    WHERE id = $2 AND tenant_id = $1 AND EXISTS (SELECT 1 FROM ev)
      AND (last_event_at IS NULL OR last_event_at < $6::timestamptz - interval '1 second')
), dl AS (
    INSERT INTO deliveries (id, tenant_id, event_id, source, seq, state, attempts, next_attempt_at, lease_until, created_at, updated_at)
    SELECT $7, $1, $3, $2, ev.seq, 'pending', 0, $6,
           CASE WHEN $9::timestamptz IS NULL OR EXISTS (SELECT 1 FROM deliveries p
               WHERE p.tenant_id = $1 AND p.source = $2 AND p.state = 'pending') THEN NULL ELSE $9::timestamptz END,
           $6, $6
    FROM ev, tenants tn
    WHERE $8::boolean AND tn.id = $1 AND COALESCE(tn.webhook_url, '') <> ''
    RETURNING lease_until IS NOT NULL AS leased
)
SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM fresh), (SELECT pos FROM ev), (SELECT seq FROM ev), (SELECT leased FROM dl), ` +
	qualify("t", sqlcore.TenantCols) + ` FROM tenants t WHERE t.id = $1`

// RecordHookEvents records a webhook's events in the group commit
// (sqlcore.GroupCommit): the statements of concurrent webhooks, each
// after a tenant setting of its own tenant so that row-level security
// checks every row, travel as one pipelined batch and commit in one
// transaction; it returns once that transaction committed. An event id
// recorded already (the provider sending it again) records nothing.
// store.ErrConflict when another transaction recorded one of the ids at
// the same moment: the caller tries again and finds it recorded.
func (s *Store) RecordHookEvents(ctx context.Context, tenantID string, r *store.HookRecord) error {
	if r.Source == "" || len(r.Source) > store.MaxEventSource {
		return &store.InvalidError{Field: "source", Reason: "must be 1 to 200 characters"}
	}
	if r.Type == "" || len(r.Type) > store.MaxEventType {
		return &store.InvalidError{Field: "type", Reason: "must be 1 to 100 characters"}
	}
	at := r.At.UTC()
	var lease *time.Time
	if !r.LeaseUntil.IsZero() {
		l := r.LeaseUntil.UTC()
		lease = &l
	}
	d := dialect{}
	uncounted := false // a new event met no counters
	stmts := make([]sqlcore.Stmt, 0, len(r.Items)+1)
	for i := range r.Items {
		it := &r.Items[i]
		payload := it.Event.Payload
		if len(payload) == 0 {
			payload = []byte("null")
		}
		stmts = append(stmts, sqlcore.Stmt{
			Query: recordHookItem,
			Args:  []any{tenantID, r.Source, it.Event.ID, r.Type, d.JSON(payload), at, it.DeliveryID, r.Deliver, lease},
			Read: func(row sqlcore.Row) error {
				var live, fresh bool
				var pos, seq *int64
				var leased *bool
				var t *store.Tenant
				err := scanJoined(row,
					func(r sqlcore.Row) error { return r.Scan(&live, &fresh, &pos, &seq, &leased) },
					func(r sqlcore.Row) (err error) { t, err = sqlcore.ScanTenant(r); return },
				)
				it.Recorded, it.Delivery, it.Leased = false, nil, false
				if errors.Is(err, pgx.ErrNoRows) {
					return nil // the tenant is gone
				}
				if err != nil {
					return err
				}
				r.Live = r.Live || live
				if r.Deliver {
					r.Tenant = t
				}
				if pos == nil || seq == nil {
					uncounted = uncounted || (live && fresh)
					return nil
				}
				it.Recorded = true
				e := &it.Event
				e.TenantID, e.Pos, e.Source, e.Seq, e.Type, e.CreatedAt = tenantID, *pos, r.Source, *seq, r.Type, at
				if leased != nil {
					dv := &store.Delivery{ID: it.DeliveryID, TenantID: tenantID, EventID: e.ID, Source: r.Source, Seq: *seq,
						State: store.DeliveryPending, NextAttemptAt: at, CreatedAt: at, UpdatedAt: at}
					if *leased && lease != nil {
						until := *lease
						dv.LeaseUntil, it.Leased = &until, true
					}
					it.Delivery = dv
				}
				return nil
			},
		})
	}
	for attempt := 0; ; attempt++ {
		r.Live, r.Tenant, uncounted = false, nil, false
		if err := s.group.WriteStmts(ctx, d, tenantID, stmts); err != nil {
			return err
		}
		if !uncounted || attempt > 0 {
			return nil
		}
		// The source's first event: its counters first, then again.
		stmts = append([]sqlcore.Stmt{{Query: ensureCounters, Args: []any{tenantID, r.Source}}}, stmts...)
	}
}
