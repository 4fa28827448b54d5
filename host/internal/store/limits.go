package store

import (
	"context"
	"time"
)

// Counter counts what one tenant holds, for the per-tenant caps. The SQL
// backends' transactions implement it; Counting returns it for a Tx.
// Each count stops at max (it returns max when there are at least max),
// so checking a cap costs at most max index entries however much the
// tenant holds.
type Counter interface {
	// CountUsers counts the tenant's users.
	CountUsers(ctx context.Context, max int) (int, error)
	// CountLiveStates counts the tenant's OAuth states that have not
	// expired at now.
	CountLiveStates(ctx context.Context, now time.Time, max int) (int, error)
	// CountPendingExecutions counts the tenant's asynchronous executions
	// not finished yet: queued (pending) or running.
	CountPendingExecutions(ctx context.Context, max int) (int, error)
}

// Counting returns tx's Counter, or false when its backend cannot count.
func Counting(tx Tx) (Counter, bool) {
	c, ok := tx.(Counter)
	return c, ok
}

// HeadLister lists executions without their input and output: a listing
// of up to 500 executions must not read up to 500 stored outputs (1 MiB
// each) and inputs to show ids and statuses. The SQL backends'
// transactions implement it.
type HeadLister interface {
	ListExecutionHeads(ctx context.Context, f ExecutionFilter) ([]Execution, error)
}
