package jobs_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test.ping" }

type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	sum   *atomic.Int64
	fails *atomic.Int64
}

// Work fails the first attempt of job N=2 so River's retry is exercised.
func (w *pingWorker) Work(ctx context.Context, job *river.Job[pingArgs]) error {
	if job.Args.N == 2 && job.Attempt == 1 {
		w.fails.Add(1)
		return errTransient
	}
	w.sum.Add(int64(job.Args.N))
	return nil
}

func (w *pingWorker) NextRetry(*river.Job[pingArgs]) time.Time { return time.Now() }

var errTransient = &transientErr{}

type transientErr struct{}

func (*transientErr) Error() string { return "transient" }

func eachQueueStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st := storetest.SQLite(t)
		if err := jobs.Migrate(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := storetest.Postgres(t)
		if err := jobs.MigratePostgres(context.Background(), pg.OwnerURL, pg.AppRole); err != nil {
			t.Fatal(err)
		}
		fn(t, pg.Store)
	})
}

func TestClientWorksJobsWithRetries(t *testing.T) {
	eachQueueStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		var sum, fails atomic.Int64
		workers := river.NewWorkers()
		jobs.AddWorker(workers, &pingWorker{sum: &sum, fails: &fails})
		c, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers, FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.Stop(sctx)
		})
		for _, n := range []int{1, 2, 3} {
			if err := c.Enqueue(ctx, pingArgs{N: n}, nil); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(30 * time.Second)
		for sum.Load() != 6 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := sum.Load(); got != 6 {
			t.Fatalf("worked sum = %d, want 6", got)
		}
		if fails.Load() != 1 {
			t.Fatalf("failed attempts = %d, want 1", fails.Load())
		}
	})
}

func TestInsertOnlyClient(t *testing.T) {
	eachQueueStore(t, func(t *testing.T, st store.Store) {
		c, err := jobs.New(context.Background(), jobs.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.Insert(context.Background(), pingArgs{N: 7}, nil)
		if err != nil || id == 0 {
			t.Fatalf("insert: id=%d err=%v", id, err)
		}
	})
}

type leakArgs struct{}

func (leakArgs) Kind() string { return "test.leak" }

type leakWorker struct {
	river.WorkerDefaults[leakArgs]
	done chan struct{}
}

// Work fails the way an HTTP client does: the error quotes the URL.
func (w *leakWorker) Work(ctx context.Context, job *river.Job[leakArgs]) error {
	defer func() { w.done <- struct{}{} }()
	return fmt.Errorf(`post: Post "https://hooks.example.com/in?token=s3cret-token": dial tcp: connection refused`)
}

func (w *leakWorker) NextRetry(*river.Job[leakArgs]) time.Time { return time.Now().Add(time.Hour) }

// storedErrors reads every error River stored with jobs.
func storedErrors(t *testing.T, st store.Store) string {
	t.Helper()
	q := `SELECT COALESCE(CAST(errors AS TEXT), '') FROM river_job`
	if st.Backend() == "sqlite" {
		q = `SELECT COALESCE(json(errors), '') FROM river_job` // River's SQLite driver stores JSONB
	}
	var out strings.Builder
	switch s := st.(type) {
	case interface{ Pool() *pgxpool.Pool }:
		rows, err := s.Pool().Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				t.Fatal(err)
			}
			out.WriteString(e)
		}
	case interface{ DB() *sql.DB }:
		rows, err := s.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var e string
			if err := rows.Scan(&e); err != nil {
				t.Fatal(err)
			}
			out.WriteString(e)
		}
	}
	return out.String()
}

func TestJobErrorsAreRedacted(t *testing.T) {
	eachQueueStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		var logs bytes.Buffer
		var mu sync.Mutex
		logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		workers := river.NewWorkers()
		w := &leakWorker{done: make(chan struct{}, 1)}
		jobs.AddWorker(workers, w)
		c, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers, Logger: logger, FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Enqueue(ctx, leakArgs{}, &river.InsertOpts{MaxAttempts: 2}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			t.Fatal("the job did not run")
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := c.Stop(sctx); err != nil {
			t.Fatal(err)
		}
		errs := storedErrors(t, st)
		if !strings.Contains(errs, "hooks.example.com/in?REDACTED") {
			t.Fatalf("stored job errors do not hold the redacted error: %q", errs)
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Contains(errs, "s3cret") || strings.Contains(logs.String(), "s3cret") {
			t.Fatalf("the URL's token was stored or logged:\nerrors: %s\nlogs: %s", errs, logs.String())
		}
	})
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type blockArgs struct{}

func (blockArgs) Kind() string { return "test.block" }

func (blockArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueExecutions} }

type blockWorker struct {
	river.WorkerDefaults[blockArgs]
	started chan struct{}
	release chan struct{}
}

func (w *blockWorker) Work(ctx context.Context, job *river.Job[blockArgs]) error {
	w.started <- struct{}{}
	select {
	case <-w.release:
	case <-ctx.Done():
	}
	return nil
}

// A full execution queue leaves the system queue's workers free: a
// system job completes while every execution worker is busy.
func TestSystemQueueIsolatedFromExecutions(t *testing.T) {
	eachQueueStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		var sum, fails atomic.Int64
		workers := river.NewWorkers()
		jobs.AddWorker(workers, &pingWorker{sum: &sum, fails: &fails})
		bw := &blockWorker{started: make(chan struct{}, 10), release: make(chan struct{})}
		jobs.AddWorker(workers, bw)
		c, err := jobs.New(ctx, jobs.Config{Store: st, Workers: workers, MaxWorkers: 2, ExecutionWorkers: 2, FetchPollInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			close(bw.release)
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.Stop(sctx)
		})
		for i := 0; i < 6; i++ {
			if err := c.Enqueue(ctx, blockArgs{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 2; i++ {
			select {
			case <-bw.started:
			case <-time.After(30 * time.Second):
				t.Fatal("execution jobs did not start")
			}
		}
		if err := c.Enqueue(ctx, pingArgs{N: 5}, nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for sum.Load() != 5 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if sum.Load() != 5 {
			t.Fatal("a system job did not run while the execution queue was full")
		}
		if n := len(bw.started); n != 0 {
			t.Fatalf("%d more execution jobs started beyond the queue's 2 workers", n)
		}
	})
}

// A completed job outlives a client keeping finished jobs for the
// default hour, and is deleted by River's cleaner once a client with a
// retention shorter than its age leads.
func TestCompletedJobsAreCleanedAfterRetention(t *testing.T) {
	eachQueueStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		run := func(cfg jobs.Config, until func() bool, what string) *jobs.Client {
			t.Helper()
			var sum, fails atomic.Int64
			workers := river.NewWorkers()
			jobs.AddWorker(workers, &pingWorker{sum: &sum, fails: &fails})
			cfg.Store, cfg.Workers, cfg.FetchPollInterval = st, workers, 100*time.Millisecond
			c, err := jobs.New(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer func() {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c.Stop(sctx)
			}()
			deadline := time.Now().Add(60 * time.Second)
			for !until() {
				if time.Now().After(deadline) {
					t.Fatalf("%s: not seen within the deadline", what)
				}
				time.Sleep(100 * time.Millisecond)
			}
			return c
		}
		ins, err := jobs.New(ctx, jobs.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		id, err := ins.Insert(ctx, pingArgs{N: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		state := func() (jobs.Info, error) { return ins.JobInfo(ctx, id) }
		run(jobs.Config{}, func() bool { i, err := state(); return err == nil && i.State == "completed" }, "job completed")
		if _, err := state(); err != nil {
			t.Fatalf("completed job gone under the default retention: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // older than the retention below
		run(jobs.Config{CompletedRetention: 10 * time.Millisecond}, func() bool {
			_, err := state()
			return errors.Is(err, jobs.ErrNoJob)
		}, "completed job deleted")
	})
}
