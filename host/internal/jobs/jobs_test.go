package jobs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

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
