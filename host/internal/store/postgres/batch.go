package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/sqlcore"
)

var _ store.BatchWriter = (*Store)(nil)

// errBatchRead is returned to a read inside WriteInTenant.
var errBatchRead = errors.New("postgres: a write batch cannot read")

// WriteInTenant runs fn's statements with the tenant set as one pipelined
// batch: the tenant setting and the statements travel together and run in
// the batch's implicit transaction, which commits once at its end — one
// round trip instead of three for a single INSERT.
func (s *Store) WriteInTenant(ctx context.Context, tenantID string, fn func(store.Tx) error) error {
	if tenantID == "" {
		return sqlcore.ErrNoTenant
	}
	q := &batchQuerier{}
	q.b.Queue(`SELECT set_config('app.current_tenant_id', $1, true)`, tenantID)
	if err := fn(sqlcore.NewTx(q, dialect{}, tenantID)); err != nil {
		return err
	}
	if q.err != nil {
		return q.err
	}
	br := s.pool.SendBatch(ctx, &q.b)
	for i := 0; i < q.b.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if (dialect{}).IsUnique(err) {
				return fmt.Errorf("%w: %v", store.ErrConflict, err)
			}
			return fmt.Errorf("postgres: write batch: %w", dataError(err))
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres: write batch: %w", err)
	}
	return nil
}

// batchQuerier queues statements instead of running them.
type batchQuerier struct {
	b   pgx.Batch
	err error
}

func (q *batchQuerier) Exec(_ context.Context, query string, args ...any) (int64, error) {
	q.b.Queue(query, args...)
	return 1, nil
}

func (q *batchQuerier) Query(context.Context, string, ...any) (sqlcore.Rows, error) {
	q.err = errBatchRead
	return nil, errBatchRead
}

func (q *batchQuerier) QueryRow(context.Context, string, ...any) sqlcore.Row {
	q.err = errBatchRead
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return errBatchRead }
