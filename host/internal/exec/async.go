package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/jobs"
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

// InsertOpts runs each execution at most once (a crash mid-run must not
// repeat a provider call that may have had effects), on the executions
// queue, apart from the host's own jobs.
func (ExecuteArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, Queue: jobs.QueueExecutions}
}

// Enqueuer inserts jobs; *jobs.Client satisfies it.
type Enqueuer interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
}

type jobQueue struct{ q Enqueuer }

// SetJobs gives the engine its job queue (for ?async=true).
func (e *Engine) SetJobs(q Enqueuer) { e.jobs.Store(&jobQueue{q: q}) }

// AddWorkers registers the asynchronous execution worker.
func (e *Engine) AddWorkers(w *river.Workers) { jobs.AddWorker(w, &Worker{e: e}) }

func (e *Engine) enqueue(ctx context.Context, tenant, id string) error {
	q := e.jobs.Load()
	if q == nil {
		return errors.New("no job queue")
	}
	return q.q.Enqueue(ctx, ExecuteArgs{TenantID: tenant, ExecutionID: id}, nil)
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

// Timeout bounds a job by the execution timeout.
func (w *Worker) Timeout(*river.Job[ExecuteArgs]) time.Duration {
	return w.e.cfg.Timeout + 10*time.Second
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

// Work runs the pending execution and records its outcome. Failures are
// recorded on the execution, not returned, so River does not retry.
func (w *Worker) Work(ctx context.Context, job *river.Job[ExecuteArgs]) error {
	e := w.e
	if !e.runningAsync.take(job.Args.TenantID, e.cfg.Limits.TenantMaxRunningAsync) {
		return river.JobSnooze(snoozeFor(job.Metadata))
	}
	defer e.runningAsync.done(job.Args.TenantID)
	var rec *store.Execution
	err := e.cfg.Store.InTenant(ctx, job.Args.TenantID, func(tx store.Tx) error {
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
	if rec.Status != store.ExecPending {
		return nil
	}
	c := &call{tenant: job.Args.TenantID, user: rec.UserID, provider: rec.Provider, action: rec.Action, input: rec.Input}
	// A job picked up right after a restart waits for its plugin's load
	// (an error here is the job's context ending: the host is stopping).
	if err := e.cfg.Registry.Wait(ctx, rec.Provider); err != nil {
		return err
	}
	impl, ok := e.cfg.Registry.Get(rec.Provider, rec.Implementation)
	if !ok {
		impl, ok = e.cfg.Registry.Resolve(rec.Provider)
	}
	if !ok {
		res := &Result{ExecutionID: rec.ID, Status: 404, Code: CodeUnknownProvider, Message: "provider " + rec.Provider + " is no longer served"}
		e.finish(ctx, c, rec, rec.Implementation, res, 0)
		return nil
	}
	e.run(ctx, c, rec, impl)
	return nil
}
