package sqlcore

import (
	"context"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

var _ store.Counter = (*Tx)(nil)

// count runs a bounded count: sub selects one row per counted item and
// ends with LIMIT of the last argument.
func (t *Tx) count(ctx context.Context, sub string, args ...any) (int, error) {
	var n int64
	if err := t.row(ctx, `SELECT COUNT(*) FROM (`+sub+`) AS c`, args...).Scan(&n); err != nil {
		return 0, t.classify(err)
	}
	return int(n), nil
}

// CountUsers counts the tenant's users, up to max.
func (t *Tx) CountUsers(ctx context.Context, max int) (int, error) {
	return t.count(ctx, `SELECT 1 FROM users WHERE tenant_id = $1 LIMIT $2`, t.tenant, max)
}

// CountLiveStates counts the tenant's unexpired OAuth states, up to max.
func (t *Tx) CountLiveStates(ctx context.Context, now time.Time, max int) (int, error) {
	return t.count(ctx, `SELECT 1 FROM oauth_states WHERE tenant_id = $1 AND expires_at > $2 LIMIT $3`, t.tenant, t.tm(now), max)
}

// CountPendingExecutions counts the tenant's pending executions, up to
// max.
func (t *Tx) CountPendingExecutions(ctx context.Context, max int) (int, error) {
	return t.count(ctx, `SELECT 1 FROM executions WHERE tenant_id = $1 AND status IN ('pending', 'running') AND job_id IS NOT NULL LIMIT $2`, t.tenant, max)
}

var _ store.HeadLister = (*Tx)(nil)

// execHeadCols are execCols without the input and output.
const execHeadCols = `id, tenant_id, user_id, provider, action, implementation, status, idempotency_key, request_hash,
	NULL, NULL, error, error_code, duration_ms, created_at, finished_at, started_at, job_id`

// ListExecutionHeads is ListExecutions without inputs and outputs.
func (t *Tx) ListExecutionHeads(ctx context.Context, f store.ExecutionFilter) ([]store.Execution, error) {
	return t.listExecutions(ctx, f, execHeadCols)
}
