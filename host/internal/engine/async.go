package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/registry"
	"github.com/atomhq/atom/host/internal/store"
)

// ExecuteArgs is the River job running one asynchronous execution. It
// carries ids only: the input waits in the execution record.
type ExecuteArgs struct {
	TenantID    string `json:"tenant_id"`
	ExecutionID string `json:"execution_id"`
	// Pieces is true for executions started on the pieces route.
	Pieces bool `json:"pieces,omitempty"`
}

// Kind is the River job kind.
func (ExecuteArgs) Kind() string { return "atom_execute" }

// MaxExecuteAttempts is how many times River runs an execution's job. A
// later attempt only calls the provider again for an action declared
// idempotent; for any other action it finds the record running (the call
// may have reached the provider) and settles it as unknown.
const MaxExecuteAttempts = 3

// InsertOpts puts executions on the executions queue, apart from the
// host's own jobs.
func (ExecuteArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: MaxExecuteAttempts, Queue: jobs.QueueExecutions}
}

// Enqueuer inserts jobs; *jobs.Client satisfies it.
type Enqueuer interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

// TxEnqueuer inserts a job in a store transaction, so the job and the
// execution record commit together; *jobs.Client satisfies it.
type TxEnqueuer interface {
	InsertTx(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// JobStater reads a job's state for the reconciler; *jobs.Client
// satisfies it.
type JobStater interface {
	JobInfo(ctx context.Context, id int64) (jobs.Info, error)
}

type jobQueue struct{ q Enqueuer }

// SetJobs gives the engine its job queue (for ?async=true).
func (e *Engine) SetJobs(q Enqueuer) { e.jobs.Store(&jobQueue{q: q}) }

// AddWorkers registers the asynchronous execution worker and the
// reconciler.
func (e *Engine) AddWorkers(w *river.Workers) {
	jobs.AddWorker(w, &Worker{e: e})
	jobs.AddWorker(w, &ReconcileWorker{e: e})
}

func (e *Engine) jobArgs(c *call, rec *store.Execution) ExecuteArgs {
	return ExecuteArgs{TenantID: c.tenant, ExecutionID: rec.ID, Pieces: c.pieces}
}

// idempotent reports whether rec's action is declared idempotent by the
// implementation that serves it now.
func (e *Engine) idempotent(rec *store.Execution) bool {
	impl, ok := e.cfg.Registry.Get(rec.Provider, rec.Implementation)
	if !ok {
		return false
	}
	a, ok := registry.FindAction(impl.Manifest(), rec.Action)
	return ok && a.Idempotent
}

// Worker runs asynchronous executions. It shares the executions queue's
// workers fairly: a tenant already running ATOM_TENANT_MAX_RUNNING_ASYNC
// executions on this replica has its next job snoozed (put back, without
// using an attempt), so the worker goes to another tenant's job instead
// of one tenant's backlog holding every worker.
type Worker struct {
	river.WorkerDefaults[ExecuteArgs]
	e *Engine
}

// Timeout bounds a job by the execution timeout and the retries of its
// outcome write.
func (w *Worker) Timeout(*river.Job[ExecuteArgs]) time.Duration {
	return w.e.cfg.Timeout + w.e.cfg.RecordRetry + 10*time.Second
}

// snoozeFor is how long a job over its tenant's cap waits before it is
// offered again: half a second more for each time it was already put
// back (River counts them in the job's metadata), up to five seconds, so
// a large backlog is not fetched and put back in a tight loop; jittered
// so it does not return all at once.
func snoozeFor(metadata []byte) time.Duration {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	_ = json.Unmarshal(metadata, &m)
	d := time.Duration(1+min(m.Snoozes, 9)) * 500 * time.Millisecond
	return d/2 + rand.N(d/2+1)
}

// Work runs a pending execution: it marks the record running (durably)
// before the call and records the outcome after it, retrying while the
// database refuses. An outcome that cannot be written is returned as an
// error, so River tries the job again; that attempt, finding the record
// running, calls again only an idempotent action and settles any other as
// unknown (at most once).
func (w *Worker) Work(ctx context.Context, job *river.Job[ExecuteArgs]) error {
	e := w.e
	if !e.runningAsync.Take(job.Args.TenantID, e.cfg.Limits.TenantMaxRunningAsync) {
		return river.JobSnooze(snoozeFor(job.Metadata))
	}
	defer e.runningAsync.Done(job.Args.TenantID)
	tenant := job.Args.TenantID
	var rec *store.Execution
	err := e.cfg.Store.InTenant(ctx, tenant, func(tx store.Tx) error {
		var err error
		rec, err = tx.GetExecution(ctx, job.Args.ExecutionID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load execution %s: %w", job.Args.ExecutionID, err)
	}
	if store.ExecSettled(rec.Status) {
		return nil
	}
	// A job picked up right after a restart waits for its plugin's load
	// (an error here is the job's context ending: the host is stopping),
	// which also tells whether its action is idempotent.
	if err := e.cfg.Registry.Wait(ctx, rec.Provider); err != nil {
		return err
	}
	switch {
	case rec.Status == store.ExecRunning && !e.idempotent(rec):
		err := e.settleUnknown(context.WithoutCancel(ctx), tenant, rec, store.ExecRunning,
			"the attempt that called the provider ended without recording the outcome (host stopped or database unavailable); "+
				"the provider may have received the call, which is not repeated because the action is not declared idempotent")
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("settle execution %s: %w", rec.ID, err)
		}
		return nil
	}
	c := &call{tenant: tenant, user: rec.UserID, provider: rec.Provider, action: rec.Action, input: rec.Input, pieces: job.Args.Pieces}
	impl, ok := e.cfg.Registry.Rerun(rec.Provider, rec.Implementation)
	if !ok {
		res := &Result{ExecutionID: rec.ID, Status: 404, Code: CodeUnknownProvider, Message: "provider " + rec.Provider + " is no longer served"}
		e.finishWait(context.WithoutCancel(ctx), c, rec, rec.Implementation, res, 0, e.cfg.RecordRetry)
		if res.NotStored {
			return fmt.Errorf("record execution %s: not stored", rec.ID)
		}
		return nil
	}
	// The record says running before the provider is called: a crash from
	// here on leaves a record the next attempt or the reconciler settles.
	now := time.Now().UTC()
	start := func(tx store.Tx) error { return tx.StartExecution(ctx, rec.ID, now) }
	var settled atomic.Bool
	startRun := func(ctx context.Context, tenant string, fn func(store.Tx) error) error {
		err := e.cfg.Store.InTenant(ctx, tenant, fn)
		settled.Store(errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound))
		return err
	}
	if !e.persist(context.WithoutCancel(ctx), tenant, rec.ID, startRun, start, e.cfg.RecordRetry) {
		return fmt.Errorf("mark execution %s running: database unavailable", rec.ID)
	}
	if settled.Load() {
		return nil
	}
	rec.Status, rec.StartedAt = store.ExecRunning, &now
	res := e.runWait(ctx, c, rec, impl, e.cfg.RecordRetry)
	if res.NotStored {
		return fmt.Errorf("record execution %s outcome: database unavailable", rec.ID)
	}
	return nil
}
