// Package jobs runs Atom's background work on River, the Postgres-backed
// job queue (with its SQLite driver for the embedded default). The driver
// follows the store: riverpgxv5 on the Postgres pool, riversqlite on the
// SQLite handle, so jobs live in the same database as everything else and
// any replica can pick them up.
//
// Wiring, in order:
//
//	workers := river.NewWorkers()
//	webhook.AddWorkers(workers, sender)      // signed webhook delivery
//	connect.AddWorkers(workers, connections) // refresh and sweep
//	jobs.AddWorker(workers, myWorker)        // e.g. asynchronous executions
//	client, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers,
//		PeriodicJobs: connect.PeriodicJobs(time.Minute)})
//	sender.SetQueue(client); connections.SetJobs(client)
//	err = client.Start(ctx); defer client.Stop(ctx)
//
// Migrate (or MigratePostgres, as the schema owner) creates River's tables
// before the first New.
//
// Jobs run on three queues with their own workers, so tenants' work never
// delays the host's own: QueueSystem (River's default queue) holds token
// refresh and the sweeps; QueueWebhooks holds webhook deliveries, whose
// receivers tenants choose (and may make hang); QueueExecutions holds
// tenants' asynchronous executions. The webhook and execution workers
// share themselves fairly between tenants (see webhook.Worker and
// exec.Worker).
//
// A job's error is stored by River and logged: every error a worker
// returns passes through outbound.RedactError, so URLs in it lose their
// query strings and userinfo.
package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/store"
)

// Queues.
const (
	// QueueSystem runs the host's own jobs: token refresh, sweeps. A job
	// that names no queue runs here.
	QueueSystem = river.QueueDefault
	// QueueWebhooks runs webhook deliveries.
	QueueWebhooks = "webhooks"
	// QueueExecutions runs tenants' asynchronous executions.
	QueueExecutions = "executions"
	// QueueTriggers runs the polls of tenants' trigger instances.
	QueueTriggers = "triggers"
)

// pgStore and sqliteStore are the accessors the store backends expose.
type pgStore interface{ Pool() *pgxpool.Pool }
type sqliteStore interface{ DB() *sql.DB }

// Config configures a Client.
type Config struct {
	// Store chooses the driver and database.
	Store store.Store
	// Logger receives River's logs; slog.Default() when nil.
	Logger *slog.Logger
	// Workers are the registered workers; nil makes an insert-only client
	// (for CLI commands that enqueue but do not work jobs).
	Workers *river.Workers
	// PeriodicJobs run on the elected leader replica.
	PeriodicJobs []*river.PeriodicJob
	// MaxWorkers bounds concurrent jobs of QueueSystem and, separately,
	// of QueueWebhooks (default 10 each).
	MaxWorkers int
	// ExecutionWorkers bounds concurrent jobs of QueueExecutions
	// (default 10).
	ExecutionWorkers int
	// FetchPollInterval is how often idle workers poll (River's default
	// when zero; SQLite has no LISTEN/NOTIFY, so it bounds job latency).
	FetchPollInterval time.Duration
	// FetchCooldown is the least time between two fetches of a queue
	// (10ms when zero): on PostgreSQL a job inserted and notified is
	// worked after at most this long. River's default (100ms) put ~50ms
	// on every webhook delivery.
	FetchCooldown time.Duration
	// CompletedRetention is how long a completed or cancelled job is
	// kept before River's cleaner (on the leader) deletes it
	// (DefaultCompletedRetention when zero); DiscardedRetention the same
	// for a job that failed its last attempt (DefaultDiscardedRetention).
	// Every poll of a trigger instance and every delivery is a job: kept
	// for River's default day, 100,000 instances polled every 5 minutes
	// would keep 29 million rows.
	CompletedRetention, DiscardedRetention time.Duration
}

// Defaults of Config's retentions.
const (
	DefaultCompletedRetention = time.Hour
	DefaultDiscardedRetention = 72 * time.Hour
)

// Client is a River client on the store's database. It is safe for
// concurrent use.
type Client struct {
	backend string
	insert  func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// insertTx inserts in the backend's own transaction (pgx.Tx or
	// *sql.Tx); an error when tx is of another type.
	insertTx func(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	many     func(ctx context.Context, params []river.InsertManyParams) error
	get      func(ctx context.Context, id int64) (*rivertype.JobRow, error)
	start    func(ctx context.Context) error
	stop     func(ctx context.Context) error
}

// New builds a Client for cfg.Store's backend. Call Start to work jobs.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.Store == nil {
		return nil, errors.New("jobs: Store is required")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	rc := &river.Config{
		Logger:            slog.New(outbound.NewRedactingHandler(logger.Handler())).With("component", "jobs"),
		PeriodicJobs:      cfg.PeriodicJobs,
		FetchPollInterval: cfg.FetchPollInterval,
		FetchCooldown:     cmp.Or(cfg.FetchCooldown, 10*time.Millisecond),
		Middleware:        []rivertype.Middleware{river.WorkerMiddlewareFunc(redactErrors)},
		// River's cleaner deletes finished jobs older than these, in
		// batches, every 30 s on the leader.
		CompletedJobRetentionPeriod: cmp.Or(cfg.CompletedRetention, DefaultCompletedRetention),
		CancelledJobRetentionPeriod: cmp.Or(cfg.CompletedRetention, DefaultCompletedRetention),
		DiscardedJobRetentionPeriod: cmp.Or(cfg.DiscardedRetention, DefaultDiscardedRetention),
	}
	if cfg.Workers != nil {
		n, x := cfg.MaxWorkers, cfg.ExecutionWorkers
		if n <= 0 {
			n = 10
		}
		if x <= 0 {
			x = 10
		}
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{QueueSystem: {MaxWorkers: n}, QueueWebhooks: {MaxWorkers: n}, QueueExecutions: {MaxWorkers: x},
			QueueTriggers: {MaxWorkers: n}}
	}
	switch st := cfg.Store.(type) {
	case pgStore:
		return newClient(cfg.Store.Backend(), riverpgxv5.New(st.Pool()), rc)
	case sqliteStore:
		rc.PollOnly = true
		if rc.FetchPollInterval == 0 {
			rc.FetchPollInterval = 200 * time.Millisecond
		}
		return newClient(cfg.Store.Backend(), riversqlite.New(st.DB()), rc)
	}
	return nil, fmt.Errorf("jobs: store backend %q exposes neither Pool() nor DB()", cfg.Store.Backend())
}

// redactErrors keeps URLs' query strings and userinfo out of the errors
// River stores with a job and logs.
func redactErrors(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	return outbound.RedactError(doInner(ctx))
}

func newClient[TTx any](backend string, driver riverdriver.Driver[TTx], rc *river.Config) (*Client, error) {
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Client{
		backend: backend,
		insert: func(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return c.Insert(ctx, args, opts)
		},
		insertTx: func(ctx context.Context, tx any, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			t, ok := tx.(TTx)
			if !ok {
				return nil, fmt.Errorf("a %T transaction is not one of this queue's database", tx)
			}
			return c.InsertTx(ctx, t, args, opts)
		},
		many: func(ctx context.Context, params []river.InsertManyParams) error {
			_, err := c.InsertMany(ctx, params)
			return err
		},
		get:   c.JobGet,
		start: c.Start,
		stop:  c.Stop,
	}, nil
}

// Backend names the database the queue lives in.
func (c *Client) Backend() string { return c.backend }

// Insert enqueues a job and returns its id. A job deduplicated by its
// unique options returns the existing job's id.
func (c *Client) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	res, err := c.insert(ctx, args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// InsertTx enqueues a job in tx, a transaction of the store the queue
// lives in: the job exists if and only if tx commits.
func (c *Client) InsertTx(ctx context.Context, tx store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	n, ok := tx.(store.NativeTx)
	if !ok || n.Native() == nil {
		return 0, fmt.Errorf("jobs: insert %s: the transaction exposes no database transaction", args.Kind())
	}
	res, err := c.insertTx(ctx, n.Native(), args, opts)
	if err != nil {
		return 0, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// InsertMany enqueues jobs in one round trip (a batch insert).
func (c *Client) InsertMany(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if err := c.many(ctx, params); err != nil {
		return fmt.Errorf("jobs: insert %d jobs: %w", len(params), err)
	}
	return nil
}

// ErrNoJob is JobInfo's error for a job that does not exist (never
// inserted, or deleted by River's cleaner after it finished).
var ErrNoJob = errors.New("jobs: no such job")

// Info is what the reconciler needs of a job.
type Info struct {
	// State is River's state (available, running, completed, ...).
	State string
	// AttemptedAt is when the latest attempt started; nil before the
	// first.
	AttemptedAt *time.Time
}

// Finalized reports whether the job will not run again.
func (i Info) Finalized() bool {
	switch rivertype.JobState(i.State) {
	case rivertype.JobStateCompleted, rivertype.JobStateDiscarded, rivertype.JobStateCancelled:
		return true
	}
	return false
}

// JobInfo returns a job's state.
func (c *Client) JobInfo(ctx context.Context, id int64) (Info, error) {
	j, err := c.get(ctx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return Info{}, ErrNoJob
	}
	if err != nil {
		return Info{}, err
	}
	return Info{State: string(j.State), AttemptedAt: j.AttemptedAt}, nil
}

// Enqueue is Insert without the id; it satisfies connect.Enqueuer and
// webhook.Enqueuer.
func (c *Client) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	_, err := c.Insert(ctx, args, opts)
	return err
}

// Start begins working jobs; it returns at once. Stop ends it.
func (c *Client) Start(ctx context.Context) error { return c.start(ctx) }

// Stop waits for running jobs to finish (until ctx ends) and stops.
func (c *Client) Stop(ctx context.Context) error { return c.stop(ctx) }

// AddWorker registers w in workers; it is river.AddWorker, exported here so
// other packages (the execution engine) add theirs before New.
func AddWorker[T river.JobArgs](workers *river.Workers, w river.Worker[T]) {
	river.AddWorker(workers, w)
}

// Migrate creates or updates River's tables in the store's database. On
// Postgres the store's role must be allowed to create tables; where the
// host runs as a restricted role, use MigratePostgres with the owner URL.
func Migrate(ctx context.Context, st store.Store) error {
	switch s := st.(type) {
	case pgStore:
		return migrate(ctx, riverpgxv5.New(s.Pool()))
	case sqliteStore:
		return migrate(ctx, riversqlite.New(s.DB()))
	}
	return fmt.Errorf("jobs: store backend %q exposes neither Pool() nor DB()", st.Backend())
}

// MigratePostgres creates River's tables as the schema owner (ownerURL)
// and grants appRole, the host's restricted role, what River needs.
func MigratePostgres(ctx context.Context, ownerURL, appRole string) error {
	pool, err := pgxpool.New(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("jobs: connect as owner: %w", err)
	}
	defer pool.Close()
	if err := migrate(ctx, riverpgxv5.New(pool)); err != nil {
		return err
	}
	if appRole == "" {
		return nil
	}
	var current string
	if err := pool.QueryRow(ctx, `SELECT current_user`).Scan(&current); err != nil {
		return err
	}
	if current == appRole {
		return nil
	}
	rows, err := pool.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'river\_%'`)
	if err != nil {
		return err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	id := pgx.Identifier{appRole}.Sanitize()
	stmts := []string{`GRANT USAGE ON SCHEMA public TO ` + id}
	for _, t := range tables {
		stmts = append(stmts, `GRANT SELECT, INSERT, UPDATE, DELETE ON `+pgx.Identifier{t}.Sanitize()+` TO `+id)
	}
	for _, q := range append(stmts,
		`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO `+id,
		`GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO `+id,
	) {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("jobs: grant to %s: %w", appRole, err)
		}
	}
	return nil
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}
