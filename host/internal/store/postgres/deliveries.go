package postgres

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
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
// The statements below find deliveries by primary key through scalar
// subqueries, so that a plan made while the tables were small (a new
// database) cannot walk a tenant's rows instead; each answers in one row
// the delivery, its event and the tenant.

// qualify prefixes each column of a column list with a table alias.
func qualify(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// claimedCols are the columns a claim answers: the delivery as it was,
// whether it was claimed, whether an earlier one of its source is
// pending, its event and the tenant.
var claimedCols = qualify("d", sqlcore.DeliveryCols) + `, EXISTS (SELECT 1 FROM cl), %s, ` +
	qualify("e", sqlcore.EventCols) + `, ` + qualify("t", sqlcore.TenantCols)

// claimForAttempt leases a delivery ($2) until $3 when it is pending, due
// at $4, not leased, and no earlier delivery of its source is pending;
// it answers claimedCols.
var claimForAttempt = `WITH cur AS (
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
SELECT ` + fmt.Sprintf(claimedCols, "EXISTS (SELECT 1 FROM earlier)") + `
FROM deliveries d JOIN events e ON e.id = d.event_id JOIN tenants t ON t.id = $1
WHERE d.id = $2 AND d.tenant_id = $1`

// claimNext leases the earliest pending delivery of a source ($2) until
// $3 when it is due at $4 and not leased; it answers claimedCols.
var claimNext = `WITH nxt AS (
    SELECT id FROM deliveries WHERE tenant_id = $1 AND source = $2 AND state = 'pending' ORDER BY seq LIMIT 1
), cl AS (
    UPDATE deliveries d SET lease_until = $3, updated_at = $4
    WHERE d.id = (SELECT id FROM nxt) AND d.tenant_id = $1 AND d.next_attempt_at <= $4 AND (d.lease_until IS NULL OR d.lease_until < $4)
    RETURNING d.id
)
SELECT ` + fmt.Sprintf(claimedCols, "false") + `
FROM deliveries d JOIN events e ON e.id = d.event_id JOIN tenants t ON t.id = $1
WHERE d.id = (SELECT id FROM nxt) AND d.tenant_id = $1`

// extraRow scans a row whose last columns go to extra.
type extraRow struct {
	r     sqlcore.Row
	extra []any
}

func (x extraRow) Scan(dest ...any) error { return x.r.Scan(append(dest, x.extra...)...) }

// errCaptured stops a scanner once its destinations are known.
var errCaptured = errors.New("destinations captured")

// capture is a Row that keeps the destinations a scanner asks for.
type capture struct{ dest []any }

func (c *capture) Scan(dest ...any) error { c.dest = dest; return errCaptured }

// replay is a Row that hands a scanner the values scanned for it.
type replay struct{ src []any }

func (r replay) Scan(dest ...any) error {
	if len(dest) != len(r.src) {
		return fmt.Errorf("scan: %d destinations, %d values", len(dest), len(r.src))
	}
	for i := range dest {
		reflect.ValueOf(dest[i]).Elem().Set(reflect.ValueOf(r.src[i]).Elem())
	}
	return nil
}

// scanJoined reads one row holding the columns of several scanners in
// turn (each scanner calls Scan once, with the same destinations every
// time): the row is scanned into the destinations they ask for, then each
// is handed its own.
func scanJoined(r sqlcore.Row, parts ...func(sqlcore.Row) error) error {
	var all []any
	sets := make([][]any, len(parts))
	for i, p := range parts {
		c := &capture{}
		if err := p(c); !errors.Is(err, errCaptured) {
			return fmt.Errorf("scan: scanner %d did not scan: %v", i, err)
		}
		sets[i] = c.dest
		all = append(all, c.dest...)
	}
	if err := r.Scan(all...); err != nil {
		return err
	}
	for i, p := range parts {
		if err := p(replay{sets[i]}); err != nil {
			return err
		}
	}
	return nil
}

// claimStmt is the statement reading a claim (query answers
// claimedCols).
func claimStmt(c *store.Claim, query string, args []any, now, until time.Time) sqlcore.Stmt {
	return sqlcore.Stmt{Query: query, Args: args, Read: func(row sqlcore.Row) error {
		var claimed, earlier bool
		var d *store.Delivery
		var e *store.Event
		var t *store.Tenant
		err := scanJoined(row,
			func(r sqlcore.Row) (err error) {
				d, err = sqlcore.ScanDelivery(extraRow{r, []any{&claimed, &earlier}})
				return
			},
			func(r sqlcore.Row) (err error) { e, err = sqlcore.ScanEvent(dialect{}, r); return },
			func(r sqlcore.Row) (err error) { t, err = sqlcore.ScanTenant(r); return },
		)
		*c = store.Claim{}
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
		*c = store.Claim{Delivery: d, Claimed: claimed, Earlier: earlier, Event: e, Tenant: t}
		return nil
	}}
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
	stmts := []sqlcore.Stmt{claimStmt(c, claimForAttempt, []any{tenantID, id, until, now}, now, until)}
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
		stmts = append(stmts, claimStmt(c, claimNext, []any{tenantID, d.Source, until, now}, now, until))
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
	stmts := []sqlcore.Stmt{claimStmt(c, claimNext, []any{tenantID, source, until, now}, now, until)}
	if err := s.relaxed.WriteStmts(ctx, dialect{}, tenantID, stmts); err != nil {
		return nil, err
	}
	return settled(c), nil
}
