package connect

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RefreshArgs is the River job refreshing one connection ahead of expiry.
// Jobs are unique per connection while one is pending or running.
type RefreshArgs struct {
	TenantID     string        `json:"tenant_id"`
	ConnectionID string        `json:"connection_id"`
	Window       time.Duration `json:"window"`
}

// Kind is the River job kind.
func (RefreshArgs) Kind() string { return "atom.connect.refresh" }

// InsertOpts makes refresh jobs unique by connection.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 3,
		UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		},
	}
}

// RefreshWorker works RefreshArgs jobs.
type RefreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	Service *Service
}

// Work refreshes the connection if it is still due. Provider-side failures
// are recorded on the connection (status, backoff) and do not fail the job.
func (w *RefreshWorker) Work(ctx context.Context, job *river.Job[RefreshArgs]) error {
	err := w.Service.RefreshConnection(ctx, job.Args.TenantID, job.Args.ConnectionID, job.Args.Window)
	if _, isUser := AsError(err); isUser {
		return nil
	}
	return err
}

// SweepArgs is the periodic job that finds connections due for refresh.
type SweepArgs struct {
	Window time.Duration `json:"window"`
	Limit  int           `json:"limit"`
}

// Kind is the River job kind.
func (SweepArgs) Kind() string { return "atom.connect.sweep" }

// SweepWorker works SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work enqueues one RefreshArgs job per due connection.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	_, err := w.Service.RefreshDue(ctx, job.Args.Window, job.Args.Limit)
	return err
}

// AddWorkers registers the refresh workers of s.
func AddWorkers(workers *river.Workers, s *Service) {
	river.AddWorker(workers, &RefreshWorker{Service: s})
	river.AddWorker(workers, &SweepWorker{Service: s})
}

// PeriodicJobs returns the sweep, run every interval (default one minute),
// refreshing tokens that expire within window (default five minutes).
func PeriodicJobs(interval, window time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = time.Minute
	}
	if window <= 0 {
		window = 5 * time.Minute
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return SweepArgs{Window: window, Limit: 500}, &river.InsertOpts{
				UniqueOpts: river.UniqueOpts{ByPeriod: interval},
			}
		},
		&river.PeriodicJobOpts{RunOnStart: true},
	)}
}
