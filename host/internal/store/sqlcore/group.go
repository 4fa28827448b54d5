package sqlcore

import (
	"context"
	"errors"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atomhq/atom/host/internal/store"
)

// ErrClosed is returned by a group write after the store was closed.
var ErrClosed = errors.New("store: closed")

// errGroupRead is returned to a read inside a group write.
var errGroupRead = errors.New("store: a write batch cannot read")

// commitTimeout bounds one group commit (a database that stopped
// answering); its writes fail and their callers retry.
const commitTimeout = 30 * time.Second

// DefaultGroupSize bounds how many writes one group commit carries.
const DefaultGroupSize = 128

// Stmt is one statement of a write, queued until its group commits.
type Stmt struct {
	Query string
	Args  []any
	// Read, when set, is given the statement's one result row (a
	// RETURNING clause, or a SELECT), which nothing later in the batch
	// can depend on; its error fails the write. A backend that cannot
	// read inside a group commit refuses such a write.
	Read func(Row) error
}

// GroupWrite is the write of one caller inside a group commit: its
// tenant, its statements in order, and the outcome the backend reports.
type GroupWrite struct {
	Tenant string
	Stmts  []Stmt
	// Err is set by the backend's commit: nil once the write is durable.
	Err error

	ctx  context.Context
	done chan struct{}
}

// Context is the caller's context: a commit skips writes whose caller
// has given up already.
func (w *GroupWrite) Context() context.Context { return w.ctx }

// GroupCommit gathers the write-only transactions of concurrent callers
// into one database transaction (group commit). A caller is answered
// only after the transaction holding its write committed, so an
// acknowledged write is as durable as one committed alone.
//
// Batching is natural: a writer takes the first write waiting and every
// other write already queued (at most Size), commits them, and answers
// them; writes arriving meanwhile queue for the next commit. A lone write
// never waits for company: when no commit is in flight, its caller
// commits it at once itself (no hand-off to a writer and back), and
// otherwise the longest a write waits is the commits in flight before its
// own.
type GroupCommit struct {
	// Size bounds the writes of one commit.
	Size int
	// Writers is how many commits may be in flight at once (default 1).
	// A server database that overlaps the flushes of concurrent commits
	// (PostgreSQL) takes a few; SQLite, one writer at a time, takes one.
	// Commit must then be safe for concurrent use.
	Writers int
	// Linger, when set, makes each commit wait up to this long for more
	// writes to join it (until Size), and no write commits alone. For
	// writes whose callers can wait a little (no one is answered from
	// them), it trades that wait for fewer transactions.
	Linger time.Duration
	// Commit writes the batch in one transaction and sets each write's
	// Err (a write whose statement failed must not take the others with
	// it). The batch is sorted by tenant.
	Commit func(ctx context.Context, batch []*GroupWrite)

	once     sync.Once
	slots    chan struct{} // one per commit in flight (Writers)
	inflight atomic.Int32  // writes taken by a writer or a caller, not yet answered
	queue    chan *GroupWrite
	quit     chan struct{}
	ended    sync.WaitGroup
	stop     sync.Once
}

func (g *GroupCommit) start() {
	g.once.Do(func() {
		if g.Size <= 0 {
			g.Size = DefaultGroupSize
		}
		g.queue = make(chan *GroupWrite) // unbuffered: no write is left behind in a buffer at Close
		g.quit = make(chan struct{})
		g.slots = make(chan struct{}, max(g.Writers, 1))
		for range max(g.Writers, 1) {
			g.ended.Add(1)
			go g.loop()
		}
	})
}

// Write runs fn against a transaction that records its statements instead
// of running them (reads fail), queues them, and returns once the group
// commit holding them committed (nil) or failed.
func (g *GroupCommit) Write(ctx context.Context, d Dialect, tenantID string, fn func(store.Tx) error) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	rec := &recorder{}
	if err := fn(NewTx(rec, d, tenantID)); err != nil {
		return err
	}
	if rec.err != nil {
		return rec.err
	}
	return g.WriteStmts(ctx, d, tenantID, rec.stmts)
}

// WriteStmts queues statements written by the caller (each with the
// tenant set, as Write's) and returns once the group commit holding them
// committed (nil) or failed. Read functions run before it returns.
func (g *GroupCommit) WriteStmts(ctx context.Context, d Dialect, tenantID string, stmts []Stmt) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	if len(stmts) == 0 {
		return nil
	}
	g.start()
	w := &GroupWrite{Tenant: tenantID, Stmts: stmts, ctx: ctx, done: make(chan struct{})}
	if g.alone(w) {
		if w.Err != nil {
			return classify(d, w.Err)
		}
		return nil
	}
	select {
	case g.queue <- w:
	case <-g.quit:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w.done:
		if w.Err != nil {
			return classify(d, w.Err)
		}
		return nil
	case <-ctx.Done():
		// The write may still commit; the caller cannot tell, as with a
		// transaction whose COMMIT was sent but not answered.
		return ctx.Err()
	}
}

// Close stops the writer after the commit in flight; writes not yet taken
// fail with ErrClosed.
func (g *GroupCommit) Close() {
	g.stop.Do(func() {
		g.start()
		close(g.quit)
		g.ended.Wait()
	})
}

// alone commits w in the caller's goroutine when nothing else is being
// written, and reports whether it did.
func (g *GroupCommit) alone(w *GroupWrite) bool {
	if g.Linger > 0 || !g.inflight.CompareAndSwap(0, 1) {
		return false
	}
	select {
	case g.slots <- struct{}{}:
	default:
		g.inflight.Add(-1)
		return false
	}
	select {
	case <-g.quit:
		w.Err = ErrClosed
	case <-w.ctx.Done():
		w.Err = w.ctx.Err()
	default:
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		g.Commit(ctx, []*GroupWrite{w})
		cancel()
	}
	<-g.slots
	g.inflight.Add(-1)
	return true
}

func (g *GroupCommit) loop() {
	defer g.ended.Done()
	batch := make([]*GroupWrite, 0, g.Size)
	var linger *time.Timer
	if g.Linger > 0 {
		linger = time.NewTimer(g.Linger)
		linger.Stop()
	}
	for {
		select {
		case w := <-g.queue:
			batch = append(batch[:0], w)
		case <-g.quit:
			return
		}
		if linger != nil {
			linger.Reset(g.Linger)
		wait:
			for len(batch) < g.Size {
				select {
				case w := <-g.queue:
					batch = append(batch, w)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
	more:
		for len(batch) < g.Size {
			select {
			case w := <-g.queue:
				batch = append(batch, w)
			default:
				break more
			}
		}
		live := batch[:0]
		for _, w := range batch {
			if err := w.ctx.Err(); err != nil {
				w.Err = err
				close(w.done)
				continue
			}
			live = append(live, w)
		}
		if len(live) == 0 {
			continue
		}
		sort.SliceStable(live, func(i, j int) bool { return live[i].Tenant < live[j].Tenant })
		n := int32(len(live))
		g.inflight.Add(n)
		g.slots <- struct{}{}
		ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
		g.Commit(ctx, live)
		cancel()
		<-g.slots
		g.inflight.Add(-n)
		for _, w := range live {
			close(w.done)
		}
		clear(batch[:cap(batch)])
	}
}

// classify maps a backend error of a group write the way Tx maps the
// error of a statement it ran itself.
func classify(d Dialect, err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return err
	}
	return (&Tx{d: d}).classify(err)
}

// recorder is the Querier of a group write: it keeps the statements.
type recorder struct {
	stmts []Stmt
	err   error
}

func (r *recorder) Exec(_ context.Context, query string, args ...any) (int64, error) {
	r.stmts = append(r.stmts, Stmt{Query: query, Args: args})
	return 1, nil
}

func (r *recorder) Query(context.Context, string, ...any) (Rows, error) {
	r.err = errGroupRead
	return nil, errGroupRead
}

func (r *recorder) QueryRow(context.Context, string, ...any) Row {
	r.err = errGroupRead
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return errGroupRead }
