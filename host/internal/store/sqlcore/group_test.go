package sqlcore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

type plainDialect struct{}

func (plainDialect) Rebind(q string) string            { return q }
func (plainDialect) Time(t time.Time) any              { return t }
func (plainDialect) JSON(b []byte) any                 { return b }
func (plainDialect) ReadJSON(b []byte) ([]byte, error) { return b, nil }
func (plainDialect) IsUnique(error) bool               { return false }
func (plainDialect) IsNoRows(error) bool               { return false }
func (plainDialect) ForUpdate() string                 { return "" }
func (plainDialect) UpsertConnectionConflict() string  { return "" }

func insert(ctx context.Context, onRecord func()) func(store.Tx) error {
	return func(tx store.Tx) error {
		if onRecord != nil {
			onRecord()
		}
		return tx.CreateExecution(ctx, &store.Execution{Provider: "p", Action: "a"})
	}
}

// TestGroupCommitBatches: writes queued while a commit is in flight go
// together in the next one, never more than Size, each answered with its
// own outcome; a lone write is committed on its own.
func TestGroupCommitBatches(t *testing.T) {
	ctx := context.Background()
	for attempt := 0; ; attempt++ {
		var mu sync.Mutex
		var sizes []int
		release := make(chan struct{})
		var first atomic.Bool
		first.Store(true) // the lone write's commit does not block
		g := &GroupCommit{Size: 4, Commit: func(_ context.Context, b []*GroupWrite) {
			if first.CompareAndSwap(false, true) {
				<-release
			}
			mu.Lock()
			sizes = append(sizes, len(b))
			mu.Unlock()
			for _, w := range b {
				if w.Tenant == "bad" {
					w.Err = errors.New("refused")
				}
			}
		}}
		if err := g.Write(ctx, plainDialect{}, "t1", insert(ctx, nil)); err != nil {
			t.Fatal(err)
		}
		if len(sizes) != 1 || sizes[0] != 1 {
			t.Fatalf("a lone write: commits %v", sizes)
		}
		// The next commit blocks until the other writes are recorded and
		// (very likely) queued behind it.
		first.Store(false)
		const n = 21
		var recorded sync.WaitGroup
		recorded.Add(n - 1)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tenant, hook := "t1", recorded.Done
				if i == 0 {
					hook = nil
				}
				if i == 5 {
					tenant = "bad"
				}
				errs[i] = g.Write(ctx, plainDialect{}, tenant, insert(ctx, hook))
			}()
		}
		recorded.Wait()
		time.Sleep(100 * time.Millisecond)
		close(release)
		wg.Wait()
		g.Close()
		total, batched := 0, false
		for _, s := range sizes[1:] {
			if s > 4 {
				t.Fatalf("a commit of %d writes, size 4", s)
			}
			total += s
			batched = batched || s > 1
		}
		if total != n {
			t.Fatalf("%d writes committed, want %d", total, n)
		}
		for i, err := range errs {
			if (i == 5) != (err != nil) {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if err := g.Write(ctx, plainDialect{}, "t1", insert(ctx, nil)); !errors.Is(err, ErrClosed) {
			t.Fatalf("write after Close: %v", err)
		}
		if batched {
			return
		}
		if attempt == 4 {
			t.Fatalf("writes queued behind a commit were never batched: %v", sizes)
		}
	}
}

// TestGroupCommitGivenUp: a write whose caller gave up before its commit
// is not written.
func TestGroupCommitGivenUp(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var written int
	started := make(chan struct{})
	g := &GroupCommit{Commit: func(_ context.Context, b []*GroupWrite) {
		if b[0].Tenant == "blocker" {
			close(started)
			<-release
		}
		mu.Lock()
		written += len(b)
		mu.Unlock()
	}}
	defer g.Close()
	ctx := context.Background()
	go g.Write(ctx, plainDialect{}, "blocker", insert(ctx, nil))
	<-started
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- g.Write(cctx, plainDialect{}, "t1", insert(cctx, cancel)) }()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled write: %v", err)
	}
	close(release)
	if err := g.Write(ctx, plainDialect{}, "t1", insert(ctx, nil)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if written != 2 {
		t.Fatalf("%d writes committed, want the blocker and the last one", written)
	}
}

// TestGroupCommitWriters: however writes arrive — alone (committed by
// their caller) or queued (committed by a writer) — no more than Writers
// commits run at once, and every write is answered after its commit.
func TestGroupCommitWriters(t *testing.T) {
	ctx := context.Background()
	for _, writers := range []int{1, 3} {
		var running, peak, committed atomic.Int32
		g := &GroupCommit{Writers: writers, Size: 4, Commit: func(_ context.Context, batch []*GroupWrite) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(200 * time.Microsecond)
			committed.Add(int32(len(batch)))
			running.Add(-1)
		}}
		var wg sync.WaitGroup
		var answered atomic.Int32
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%8 == 0 {
					time.Sleep(time.Millisecond) // some arrive when nothing is in flight
				}
				if err := g.Write(ctx, plainDialect{}, "ten_1", insert(ctx, nil)); err != nil {
					t.Error(err)
					return
				}
				if committed.Load() <= answered.Add(1)-1 {
					t.Error("a write was answered before its commit")
				}
			}()
		}
		wg.Wait()
		g.Close()
		if got := peak.Load(); got > int32(writers) {
			t.Fatalf("writers %d: %d commits ran at once", writers, got)
		}
		if got := committed.Load(); got != 64 {
			t.Fatalf("writers %d: %d writes committed, want 64", writers, got)
		}
	}
}

// TestGroupCommitLinger: with a linger, writes that arrive within it
// share one commit even when no commit is in flight, a lone write is
// committed after the linger (not held longer), and Size still bounds a
// commit.
func TestGroupCommitLinger(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var sizes []int
	g := &GroupCommit{Size: 8, Linger: 200 * time.Millisecond, Commit: func(_ context.Context, b []*GroupWrite) {
		mu.Lock()
		sizes = append(sizes, len(b))
		mu.Unlock()
	}}
	defer g.Close()
	start := time.Now()
	if err := g.Write(ctx, plainDialect{}, "t1", insert(ctx, nil)); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond || waited > 5*time.Second {
		t.Fatalf("a lone write returned after %s, want about the linger", waited)
	}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			if err := g.Write(ctx, plainDialect{}, "t1", insert(ctx, nil)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Write(ctx, plainDialect{}, "t2", insert(ctx, nil)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) < 3 || sizes[0] != 1 || sizes[1] != 5 {
		t.Fatalf("commit sizes %v, want 1, then the 5 writes spread over 40 ms in one", sizes)
	}
	n := 0
	for _, s := range sizes[2:] {
		if s > 8 {
			t.Fatalf("a commit of %d writes, over Size: %v", s, sizes)
		}
		n += s
	}
	if n != 10 {
		t.Fatalf("commit sizes %v: the last 10 writes not all committed", sizes)
	}
}
