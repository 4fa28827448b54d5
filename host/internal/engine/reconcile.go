package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/store"
)

// ReconcileArgs is the periodic job that settles executions nobody will
// finish.
type ReconcileArgs struct{}

// Kind is the River job kind.
func (ReconcileArgs) Kind() string { return "atom_reconcile_executions" }

// InsertOpts runs the reconciler on the system queue, once per period
// (two passes at once are harmless: every settle is a compare-and-swap).
func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: jobs.QueueSystem}
}

// PeriodicJobs returns the reconciler's schedule (every ReconcileEvery,
// on the leader replica).
func (e *Engine) PeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(e.cfg.ReconcileEvery),
		func() (river.JobArgs, *river.InsertOpts) { return ReconcileArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true})}
}

// ReconcileWorker settles executions left pending or running.
type ReconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	e *Engine
}

// reconcileBatch bounds the records one run looks at.
const reconcileBatch = 500

// Work settles, oldest first:
//   - a pending record whose job finished, was discarded or is gone: the
//     call was never made (failed, not_run);
//   - a running record whose job finished, was discarded or is gone: the
//     call may have reached the provider (unknown);
//   - a record whose job has been running on a host for longer than any
//     live host takes (the host died): pending as not_run, running as
//     unknown unless the action is idempotent (River's rescuer retries
//     that job, which calls again);
//   - a synchronous record (no job) running for longer than a live host
//     takes: unknown.
func (w *ReconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	n, err := w.e.Reconcile(ctx, time.Now())
	if n > 0 {
		w.e.log.Info("executions reconciled", "settled", n)
	}
	return err
}

// staleAfter is past how long a live host can hold an execution: the
// retries of its running mark, the call's timeout and the retries of its
// outcome (timeout + 2 × record retry), with the timeout again as margin.
func (e *Engine) staleAfter() time.Duration {
	return 2 * (e.cfg.Timeout + e.cfg.RecordRetry)
}

// Reconcile runs one pass and returns how many records it settled.
func (e *Engine) Reconcile(ctx context.Context, now time.Time) (int, error) {
	refs, err := e.cfg.Store.UnsettledExecutions(ctx, reconcileBatch)
	if err != nil {
		return 0, fmt.Errorf("list unsettled executions: %w", err)
	}
	var states JobStater
	if q := e.jobs.Load(); q != nil {
		states, _ = q.q.(JobStater)
	}
	settled := 0
	var errs []error
	for _, r := range refs {
		ok, err := e.reconcileOne(ctx, states, r, now)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			settled++
		}
	}
	return settled, errors.Join(errs...)
}

func (e *Engine) reconcileOne(ctx context.Context, states JobStater, r store.ExecRef, now time.Time) (bool, error) {
	stale := func(t *time.Time) bool { return t != nil && now.Sub(*t) > e.staleAfter() }
	started := r.StartedAt
	if started == nil {
		started = &r.CreatedAt
	}
	var notRun, unknown string
	switch {
	case r.JobID == 0:
		if r.Status == store.ExecRunning && stale(started) {
			unknown = "the host running this call stopped, or could not record its outcome, before it finished; the provider may have received it"
		}
	case states == nil:
		return false, nil
	default:
		info, err := states.JobInfo(ctx, r.JobID)
		if errors.Is(err, jobs.ErrNoJob) {
			info, err = jobs.Info{State: "deleted"}, nil
		}
		if err != nil {
			return false, fmt.Errorf("job %d of execution %s: %w", r.JobID, r.ID, err)
		}
		switch {
		case info.Finalized() || info.State == "deleted":
			if r.Status == store.ExecPending {
				notRun = "its job ended (" + info.State + ") before the call started; the action was not called"
			} else {
				unknown = "its job ended (" + info.State + ") without recording the outcome; the provider may have received the call"
			}
		case info.State == string(rivertype.JobStateRunning) && stale(info.AttemptedAt):
			// The host working the job died: a live one finishes or
			// gives up within staleAfter.
			if r.Status == store.ExecPending {
				notRun = "the host running its job stopped before the call started; the action was not called"
			} else if !e.idempotentRef(ctx, r) {
				unknown = "the host running this call stopped before recording its outcome; the provider may have received it, and the action is not declared idempotent so it is not called again"
			}
		}
	}
	if notRun == "" && unknown == "" {
		return false, nil
	}
	var x *store.Execution
	err := e.cfg.Store.InTenant(ctx, r.TenantID, func(tx store.Tx) error {
		var err error
		x, err = tx.GetExecution(ctx, r.ID)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("load execution %s: %w", r.ID, err)
	}
	if x.Status != r.Status {
		return false, nil // it moved on since the listing
	}
	if unknown != "" {
		err = e.settleUnknown(ctx, r.TenantID, x, r.Status, unknown)
	} else {
		now := now.UTC()
		u := *x
		u.Status, u.ErrorCode, u.Error, u.Output, u.FinishedAt = store.ExecFailed, CodeNotRun, notRun, nil, &now
		err = e.cfg.Store.InTenant(ctx, r.TenantID, func(tx store.Tx) error { return tx.SettleExecution(ctx, &u, r.Status) })
		if err == nil {
			e.log.Warn("execution settled as not run", "execution_id", x.ID, "tenant_id", r.TenantID, "reason", notRun)
			e.execs.WithLabelValues(x.Provider, x.Action, x.Implementation, store.ExecFailed).Inc()
		}
	}
	if errors.Is(err, store.ErrConflict) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("settle execution %s: %w", r.ID, err)
	}
	return true, nil
}

// idempotentRef is idempotent for a listed record.
func (e *Engine) idempotentRef(ctx context.Context, r store.ExecRef) bool {
	var x *store.Execution
	err := e.cfg.Store.InTenant(ctx, r.TenantID, func(tx store.Tx) error {
		var err error
		x, err = tx.GetExecution(ctx, r.ID)
		return err
	})
	return err == nil && e.idempotent(x)
}
