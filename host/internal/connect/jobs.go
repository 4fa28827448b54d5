package connect

import (
	"context"
	"github.com/atomhq/atom/host/internal/store"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RefreshArgs is the River job refreshing one connection ahead of expiry,
// scheduled at the connection's refresh time. Jobs are unique per
// connection while one is scheduled, pending or running.
type RefreshArgs struct {
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id"`
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
	err := w.Service.RefreshConnection(ctx, job.Args.TenantID, job.Args.ConnectionID)
	if _, isUser := AsError(err); isUser {
		return nil
	}
	return err
}

// SweepArgs is the periodic job that finds connections due for refresh
// within Lookahead and schedules their refresh jobs.
type SweepArgs struct {
	Lookahead time.Duration `json:"lookahead"`
	Limit     int           `json:"limit"`
}

// Kind is the River job kind.
func (SweepArgs) Kind() string { return "atom.connect.sweep" }

// SweepWorker works SweepArgs jobs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
}

// Work enqueues one RefreshArgs job per connection due within the
// lookahead.
func (w *SweepWorker) Work(ctx context.Context, job *river.Job[SweepArgs]) error {
	lookahead := job.Args.Lookahead
	if lookahead <= 0 {
		lookahead = 2 * DefaultRefreshSweepInterval
	}
	if _, err := w.Service.RefreshDue(ctx, lookahead, job.Args.Limit); err != nil {
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

// DefaultRefreshSweepInterval is how often the sweep runs by default.
const DefaultRefreshSweepInterval = time.Minute

// PeriodicJobs returns the sweep, run every interval (default one minute).
// Each run schedules the refreshes due before the run after next, so a
// refresh runs at its own time, not at the next sweep: a token is
// refreshed at its fraction of its lifetime however the interval compares
// with the lifetime.
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = DefaultRefreshSweepInterval
	}
	lookahead := 2 * interval
	return []*river.PeriodicJob{river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return SweepArgs{Lookahead: lookahead, Limit: 500}, &river.InsertOpts{
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
