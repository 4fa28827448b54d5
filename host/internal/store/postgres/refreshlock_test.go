package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/store/postgres"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// TestLockRefresh: one refresh lock per connection across stores (two
// pools, as two replicas), none between connections, and a lock whose
// session the database ends is released.
func TestLockRefresh(t *testing.T) {
	pg := storetest.Postgres(t)
	ctx := context.Background()
	other, err := postgres.Open(ctx, pg.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	unlockA, err := pg.Store.LockRefresh(ctx, "conn_a")
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := other.LockRefresh(ctx, "conn_b") // another connection: not blocked
	if err != nil {
		t.Fatal(err)
	}
	unlockB()

	var released atomic.Bool
	got := make(chan bool)
	go func() {
		unlock, err := other.LockRefresh(ctx, "conn_a")
		if err != nil {
			t.Error(err)
			got <- false
			return
		}
		got <- released.Load()
		unlock()
	}()
	// The waiter is queued on the lock in the database before it is
	// released.
	waitLockWaiters(t, pg.Name, 1)
	released.Store(true)
	unlockA()
	if !<-got {
		t.Fatal("a second replica took the refresh lock while the first held it")
	}

	// The database ends the holder's session (a restart, a killed
	// backend): the lock goes with it.
	unlockC, err := pg.Store.LockRefresh(ctx, "conn_c")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockC() // its session is gone: unlock discards it
	admin, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = $1)`, pg.Name); err != nil {
		t.Fatal(err)
	}
	unlock, err := other.LockRefresh(ctx, "conn_c")
	if err != nil {
		t.Fatalf("lock after its holder's session ended: %v", err)
	}
	unlock()
}

// waitLockWaiters waits until n sessions wait for an advisory lock of db.
func waitLockWaiters(t *testing.T, db string, n int) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, storetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for i := 0; ; i++ {
		var waiting int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = $1)`, db).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		if i == 1000 {
			t.Fatalf("%d sessions wait for the lock, want %d", waiting, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
