package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.BatchWriter = (*Store)(nil)

const setTenant = `SELECT set_config('app.current_tenant_id', $1, true)`

// WriteInTenant runs fn's statements, with the tenant set, in a group
// commit (sqlcore.GroupCommit): the writes of concurrent callers travel
// as one pipelined batch — each write's statements after a tenant setting
// of its own tenant, so row-level security checks every row against the
// tenant it was written for — and commit in the batch's one implicit
// transaction. It returns once that transaction committed. A lone write
// is one round trip: the tenant setting, its statements and the commit.
func (s *Store) WriteInTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	return s.group.Write(ctx, dialect{}, tenantID, fn)
}

// commitGroup writes the batch in one transaction. When a statement fails
// the whole transaction rolls back, and each write is tried again alone,
// so that one bad write fails only its own caller.
func (s *Store) commitGroup(ctx context.Context, batch []*sqlcore.GroupWrite) {
	err := s.sendGroup(ctx, batch)
	var pe *pgconn.PgError
	if err == nil || len(batch) == 1 || !errors.As(err, &pe) {
		// Committed, one write's own failure, or the database's (a
		// connection, a restart): the same answer for every write.
		for _, w := range batch {
			w.Err = batchError(err)
		}
		return
	}
	for _, w := range batch {
		w.Err = batchError(s.sendGroup(ctx, []*sqlcore.GroupWrite{w}))
	}
}

func batchError(err error) error {
	switch {
	case err == nil:
		return nil
	case (dialect{}).IsUnique(err):
		return fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return fmt.Errorf("postgres: write batch: %w", dataError(err))
}

// sendGroup sends the writes as one pipelined batch (one implicit
// transaction, one Sync) and reads every result.
func (s *Store) sendGroup(ctx context.Context, batch []*sqlcore.GroupWrite) error {
	var b pgx.Batch
	tenant := ""
	for _, w := range batch {
		// The batch is sorted by tenant: one setting per tenant. The
		// setting is transaction-local and each one replaces the last.
		if w.Tenant != tenant {
			b.Queue(setTenant, w.Tenant)
			tenant = w.Tenant
		}
		for _, st := range w.Stmts {
			b.Queue(st.Query, st.Args...)
		}
	}
	br := s.pool.SendBatch(ctx, &b)
	for i := 0; i < b.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return err
		}
	}
	return br.Close()
}

// groupWriters is how many group commits may be in flight at once: while
// one waits for its WAL flush the next one forms and is sent, and
// PostgreSQL flushes concurrent commits together. Two keep that overlap;
// more split the same writes into smaller batches, each paying its own
// transaction, tenant setting and round trip on the database's CPU.
const groupWriters = 2
