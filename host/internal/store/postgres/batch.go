package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	s.commitBatch(ctx, batch, false)
}

// commitRelaxed is commitGroup for writes whose loss in a crash is
// harmless (see deliveries.go): the transaction commits without waiting
// for its WAL flush.
func (s *Store) commitRelaxed(ctx context.Context, batch []*sqlcore.GroupWrite) {
	s.commitBatch(ctx, batch, true)
}

func (s *Store) commitBatch(ctx context.Context, batch []*sqlcore.GroupWrite, relaxed bool) {
	err := s.sendGroup(ctx, batch, relaxed)
	var pe *pgconn.PgError
	if err == nil {
		return // committed; a write's Err is what it could not read, if anything
	}
	if len(batch) == 1 || !errors.As(err, &pe) {
		// One write's own failure, or the database's (a connection, a
		// restart): the same answer for every write.
		for _, w := range batch {
			w.Err = batchError(err)
		}
		return
	}
	for _, w := range batch {
		one := []*sqlcore.GroupWrite{w}
		if err := s.sendGroup(ctx, one, relaxed); err != nil {
			w.Err = batchError(err)
		}
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

// asyncCommit makes the transaction it runs in commit without waiting for
// its WAL flush.
const asyncCommit = `SELECT set_config('synchronous_commit', 'off', true)`

// sendGroup sends the writes as one pipelined batch (one implicit
// transaction, one Sync) and reads every result; relaxed, the transaction
// commits without waiting for its WAL flush.
func (s *Store) sendGroup(ctx context.Context, batch []*sqlcore.GroupWrite, relaxed bool) error {
	var b pgx.Batch
	type read struct {
		fn func(sqlcore.Row) error
		w  *sqlcore.GroupWrite
	}
	var reads []read // per queued statement; fn nil for none
	if relaxed {
		b.Queue(asyncCommit)
		reads = append(reads, read{})
	}
	tenant := ""
	for _, w := range batch {
		// The batch is sorted by tenant: one setting per tenant. The
		// setting is transaction-local and each one replaces the last.
		if w.Tenant != tenant {
			b.Queue(setTenant, w.Tenant)
			reads = append(reads, read{})
			tenant = w.Tenant
		}
		for _, st := range w.Stmts {
			b.Queue(st.Query, st.Args...)
			reads = append(reads, read{st.Read, w})
		}
	}
	br := s.pool.SendBatch(ctx, &b)
	var readErrs map[*sqlcore.GroupWrite]error
	for _, r := range reads {
		if r.fn == nil {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return err
			}
			continue
		}
		rows, err := br.Query()
		if err == nil {
			err = r.fn(firstRow{rows})
			rows.Close()
			if rerr := rows.Err(); rerr != nil {
				err = rerr
			}
		}
		var pe *pgconn.PgError
		if err != nil && (errors.As(err, &pe) || rows == nil) {
			br.Close()
			return err // the statement failed: the batch is undone
		}
		if err != nil {
			if readErrs == nil {
				readErrs = map[*sqlcore.GroupWrite]error{}
			}
			readErrs[r.w] = err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	for w, err := range readErrs {
		w.Err = err // its statements committed; what it read could not be decoded
	}
	return nil
}

// firstRow reads the first row of a result as a single-row result.
type firstRow struct{ rows pgx.Rows }

func (r firstRow) Scan(dest ...any) error {
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	return r.rows.Scan(dest...)
}

// groupWriters is how many group commits may be in flight at once: while
// one waits for its WAL flush the next one forms and is sent, and
// PostgreSQL flushes concurrent commits together. Two keep that overlap;
// more split the same writes into smaller batches, each paying its own
// transaction, tenant setting and round trip on the database's CPU.
const groupWriters = 2

// relaxedLinger is how long a relaxed commit (deliveries' claims and
// outcomes) waits for more writes to join it. Nobody is answered from
// these writes; the wait only delays a source's next delivery by as much,
// and saves the database a transaction per delivery: in the trigger
// benchmark (BENCHMARKS.md) events/s rose by about a tenth. One writer:
// a relaxed commit does not wait for its WAL flush, so there is no flush
// to overlap, and one writer makes the batches twice as large.
const relaxedLinger = time.Millisecond
