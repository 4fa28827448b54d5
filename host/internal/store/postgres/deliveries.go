package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.DeliveryBatcher = (*Store)(nil)

// Claims and outcomes commit in their own group commit, without waiting
// for the WAL flush (synchronous_commit off for their transactions only):
// what a crash can lose of them is a lease, which runs out, or the record
// of an attempt, whose delivery is then made again under the same event
// id — the at-least-once delivery receivers deduplicate anyway. Events
// themselves, and everything acknowledged to a caller, commit durably.
//
// The statements below find rows by primary key through scalar subqueries
// rather than joins, so that a plan made while the tables were small (a
// new database) cannot walk a tenant's rows instead.

// claimForAttempt leases a delivery ($2) until $3 when it is pending, due
// at $4, not leased, and no earlier delivery of its source is pending;
// it answers the delivery as it was, whether it was claimed and whether
// an earlier one is pending.
const claimForAttempt = `WITH cur AS (
    SELECT source, seq FROM deliveries WHERE id = $2 AND tenant_id = $1
), earlier AS (
    SELECT 1 AS ok FROM deliveries p, cur
    WHERE p.tenant_id = $1 AND p.source = cur.source AND p.seq < cur.seq AND p.state = 'pending' LIMIT 1
), cl AS (
    UPDATE deliveries d SET lease_until = $3, updated_at = $4
    WHERE d.id = $2 AND d.tenant_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $4
      AND (d.lease_until IS NULL OR d.lease_until < $4) AND NOT EXISTS (SELECT 1 FROM earlier)
    RETURNING d.id
)
SELECT ` + sqlcore.DeliveryCols + `, EXISTS (SELECT 1 FROM cl), EXISTS (SELECT 1 FROM earlier)
FROM deliveries WHERE id = $2 AND tenant_id = $1`

// claimedEvent reads the event of the delivery ($2) leased until $3.
const claimedEvent = `SELECT ` + sqlcore.EventCols + ` FROM events WHERE id =
    (SELECT event_id FROM deliveries WHERE id = $2 AND tenant_id = $1 AND lease_until = $3)`

// claimNext leases the earliest pending delivery of a source ($2) until
// $3 when it is due at $4 and not leased; it answers that delivery as it
// was and whether it was claimed.
const claimNext = `WITH nxt AS (
    SELECT id FROM deliveries WHERE tenant_id = $1 AND source = $2 AND state = 'pending' ORDER BY seq LIMIT 1
), cl AS (
    UPDATE deliveries d SET lease_until = $3, updated_at = $4
    WHERE d.id = (SELECT id FROM nxt) AND d.tenant_id = $1 AND d.next_attempt_at <= $4 AND (d.lease_until IS NULL OR d.lease_until < $4)
    RETURNING d.id
)
SELECT ` + sqlcore.DeliveryCols + `, EXISTS (SELECT 1 FROM cl), false
FROM deliveries WHERE id = (SELECT id FROM nxt) AND tenant_id = $1`

// nextEvent reads the event of the source's ($2) pending delivery leased
// until $3.
const nextEvent = `SELECT ` + sqlcore.EventCols + ` FROM events WHERE id =
    (SELECT event_id FROM deliveries WHERE tenant_id = $1 AND source = $2 AND state = 'pending' AND lease_until = $3
     ORDER BY seq LIMIT 1)`

// extraRow scans a row whose last columns go to extra.
type extraRow struct {
	r     sqlcore.Row
	extra []any
}

func (x extraRow) Scan(dest ...any) error { return x.r.Scan(append(dest, x.extra...)...) }

// claimStmts are the statements reading a claim: the delivery with the
// claim's outcome (query), then, when claimed, its event (event) and the
// tenant.
func claimStmts(c *store.Claim, tenantID string, query string, args []any, event string, eventArgs []any, now, until time.Time) []sqlcore.Stmt {
	return []sqlcore.Stmt{
		{Query: query, Args: args, Read: func(row sqlcore.Row) error {
			var claimed, earlier bool
			d, err := sqlcore.ScanDelivery(extraRow{row, []any{&claimed, &earlier}})
			c.Delivery, c.Claimed, c.Earlier = nil, false, false
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if claimed {
				u := until
				d.LeaseUntil, d.UpdatedAt = &u, now
			}
			c.Delivery, c.Claimed, c.Earlier = d, claimed, earlier
			return nil
		}},
		{Query: event, Args: eventArgs, Read: func(row sqlcore.Row) error {
			e, err := sqlcore.ScanEvent(dialect{}, row)
			c.Event = nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			c.Event = e
			return err
		}},
		{Query: `SELECT ` + sqlcore.TenantCols + ` FROM tenants WHERE id = $1`, Args: []any{tenantID}, Read: func(row sqlcore.Row) error {
			t, err := sqlcore.ScanTenant(row)
			c.Tenant = nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			c.Tenant = t
			return err
		}},
	}
}

// settled is the claim's outcome once read: claimed only with its event
// and tenant.
func settled(c *store.Claim) *store.Claim {
	if c.Claimed && (c.Event == nil || c.Tenant == nil) {
		c.Claimed = false // gone meanwhile; the lease runs out
	}
	return c
}

// ClaimForAttempt claims a delivery in the group commit (see
// store.DeliveryBatcher).
func (s *Store) ClaimForAttempt(ctx context.Context, tenantID, id string, now, until time.Time) (*store.Claim, error) {
	now, until = now.UTC(), until.UTC().Truncate(time.Microsecond) // as stored, so that it finds its own lease
	c := &store.Claim{}
	stmts := claimStmts(c, tenantID, claimForAttempt, []any{tenantID, id, until, now},
		claimedEvent, []any{tenantID, id, until}, now, until)
	if err := s.relaxed.WriteStmts(ctx, dialect{}, tenantID, stmts); err != nil {
		return nil, err
	}
	return settled(c), nil
}

// SettleDelivery records an attempt's outcome, and claims the source's
// next delivery, in the group commit (see store.DeliveryBatcher).
// store.ErrNotFound when the delivery is gone.
func (s *Store) SettleDelivery(ctx context.Context, tenantID string, d *store.Delivery, next bool, now, until time.Time) (*store.Claim, error) {
	now, until = now.UTC(), until.UTC().Truncate(time.Microsecond)
	up := sqlcore.UpdateDeliveryStmt(dialect{}, tenantID, d, now)
	found := false
	up.Query += ` RETURNING id`
	up.Read = func(row sqlcore.Row) error {
		var id string
		err := row.Scan(&id)
		found = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	}
	stmts := []sqlcore.Stmt{up}
	c := &store.Claim{}
	if next && d.State != store.DeliveryPending {
		stmts = append(stmts, claimStmts(c, tenantID, claimNext, []any{tenantID, d.Source, until, now},
			nextEvent, []any{tenantID, d.Source, until}, now, until)...)
	}
	if err := s.relaxed.WriteStmts(ctx, dialect{}, tenantID, stmts); err != nil {
		return nil, err
	}
	if !found {
		return nil, store.ErrNotFound
	}
	return settled(c), nil
}

// ClaimEarliest claims the source's earliest pending delivery in the
// group commit (see store.DeliveryBatcher).
func (s *Store) ClaimEarliest(ctx context.Context, tenantID, source string, now, until time.Time) (*store.Claim, error) {
	now, until = now.UTC(), until.UTC().Truncate(time.Microsecond)
	c := &store.Claim{}
	stmts := claimStmts(c, tenantID, claimNext, []any{tenantID, source, until, now},
		nextEvent, []any{tenantID, source, until}, now, until)
	if err := s.relaxed.WriteStmts(ctx, dialect{}, tenantID, stmts); err != nil {
		return nil, err
	}
	return settled(c), nil
}
