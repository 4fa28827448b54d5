package connect

import (
	"context"
	"github.com/atomhq/atom/host/internal/store"
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
	if _, err := w.Service.RefreshDue(ctx, job.Args.Window, job.Args.Limit); err != nil {
		return err
	}
	_, err := w.Service.SweepStates(ctx)
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

// SweepStates deletes expired OAuth states of every tenant and returns how
// many it removed. Expired states are already unusable; the sweep only
// keeps the table small.
func (s *Service) SweepStates(ctx context.Context) (int, error) {
	tenants, err := s.cfg.Store.TenantIDs(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	total := 0
	for _, id := range tenants {
		err := s.cfg.Store.InTenant(ctx, id, func(tx store.Tx) error {
			n, err := tx.DeleteExpiredStates(ctx, now)
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
