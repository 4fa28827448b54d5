package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/registry"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// countingImpl is a native implementation whose one action counts its
// calls; idem declares the action idempotent.
type countingImpl struct {
	calls atomic.Int64
	idem  bool
}

func (c *countingImpl) Kind() string { return runtimes.KindNative }
func (c *countingImpl) Manifest() provider.Manifest {
	return provider.Manifest{ID: "cnt", Actions: []provider.Action{{Name: "act", Idempotent: c.idem}}}
}
func (c *countingImpl) Execute(context.Context, provider.Request, runtimes.Host) (provider.Response, error) {
	n := c.calls.Add(1)
	out, _ := json.Marshal(map[string]int64{"n": n})
	return provider.Response{Output: out}, nil
}

// noConnections: the test provider needs no connection (auth none).
type noConnections struct{}

func (noConnections) Credentials(context.Context, string, string, string) (provider.Credentials, *store.Connection, error) {
	return provider.Credentials{}, nil, connect.ErrProviderNotConnected
}
func (noConnections) ForceRefresh(context.Context, string, string) (provider.Credentials, error) {
	return provider.Credentials{}, errors.New("no connection")
}

// eachQueue runs fn on SQLite and PostgreSQL with River's tables and an
// insert-only job client on the same database.
func eachQueue(t *testing.T, fn func(t *testing.T, st store.Store, q *jobs.Client)) {
	run := func(t *testing.T, st store.Store) {
		q, err := jobs.New(context.Background(), jobs.Config{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		fn(t, st, q)
	}
	t.Run("sqlite", func(t *testing.T) {
		st := storetest.SQLite(t)
		if err := jobs.Migrate(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		run(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		pg := storetest.Postgres(t)
		if err := jobs.MigratePostgres(context.Background(), pg.OwnerURL, pg.AppRole); err != nil {
			t.Fatal(err)
		}
		run(t, pg.Store)
	})
}

func testEngine(t *testing.T, st store.Store, impl *countingImpl) *Engine {
	t.Helper()
	k, _ := vault.Generate("k1")
	kr, err := vault.Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cnt.json"), []byte(`{"id":"cnt","name":"Cnt","categories":["development"],
 "auth":{"kind":"none"},"api":{"base_url":"http://127.0.0.1:9"},"implementations":["native"],"connectable":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(catalog.Options{CustomDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(nil)
	if err := reg.SetNative("cnt", impl); err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Store: st, Registry: reg, Credentials: noConnections{}, Catalog: func() *catalog.Catalog { return cat },
		Keyring: kr, Timeout: time.Second, RecordRetry: time.Second, SyncRecordWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func getExec(t *testing.T, st store.Store, tenant, id string) *store.Execution {
	t.Helper()
	var x *store.Execution
	if err := st.InTenant(context.Background(), tenant, func(tx store.Tx) error {
		var err error
		x, err = tx.GetExecution(context.Background(), id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return x
}

func work(t *testing.T, e *Engine, tenant, id string, attempt int) error {
	t.Helper()
	return (&Worker{e: e}).Work(context.Background(), &river.Job[ExecuteArgs]{
		JobRow: &rivertype.JobRow{Attempt: attempt}, Args: ExecuteArgs{TenantID: tenant, ExecutionID: id}})
}

// TestAsyncAcknowledgedOnlyWhenQueued: a 202 comes with a pending record
// and its River job committed together; without a queue the answer is
// 503 and nothing is stored.
func TestAsyncAcknowledgedOnlyWhenQueued(t *testing.T) {
	eachQueue(t, func(t *testing.T, st store.Store, q *jobs.Client) {
		ctx := context.Background()
		tenant := storetest.NewTenant(t, st)
		impl := &countingImpl{}
		e := testEngine(t, st, impl)
		_, err := e.execute(ctx, &call{tenant: tenant, provider: "cnt", action: "act", async: true})
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable || ae.Code != CodeQueueUnavailable {
			t.Fatalf("async without a queue: %v", err)
		}
		refs, _ := st.UnsettledExecutions(ctx, 100)
		if len(refs) != 0 {
			t.Fatalf("a refused execution left records: %+v", refs)
		}
		e.SetJobs(q)
		res, err := e.execute(ctx, &call{tenant: tenant, provider: "cnt", action: "act", async: true})
		if err != nil || res.Status != http.StatusAccepted {
			t.Fatalf("async: %+v %v", res, err)
		}
		x := getExec(t, st, tenant, res.ExecutionID)
		info, err := q.JobInfo(ctx, x.JobID)
		if x.Status != store.ExecPending || x.JobID == 0 || err != nil || info.State != string(rivertype.JobStateAvailable) {
			t.Fatalf("record %+v, job %+v %v", x, info, err)
		}
		if err := work(t, e, tenant, x.ID, 1); err != nil {
			t.Fatal(err)
		}
		x = getExec(t, st, tenant, x.ID)
		if x.Status != store.ExecSucceeded || x.StartedAt == nil || impl.calls.Load() != 1 {
			t.Fatalf("after the job: %+v, %d calls", x, impl.calls.Load())
		}
	})
}

// TestAsyncRetryAtMostOnce: a job attempt that finds its record running
// (the previous attempt's host died mid-call) settles it as unknown
// without calling again, unless the action is declared idempotent, which
// is called again (at least once).
func TestAsyncRetryAtMostOnce(t *testing.T) {
	eachQueue(t, func(t *testing.T, st store.Store, q *jobs.Client) {
		ctx := context.Background()
		tenant := storetest.NewTenant(t, st)
		for _, idem := range []bool{false, true} {
			impl := &countingImpl{idem: idem}
			e := testEngine(t, st, impl)
			e.SetJobs(q)
			start := time.Now().UTC().Add(-time.Minute)
			x := &store.Execution{Provider: "cnt", Action: "act", Implementation: runtimes.KindNative, Status: store.ExecRunning,
				StartedAt: &start, Input: json.RawMessage(`{}`), JobID: 1}
			if err := st.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, x) }); err != nil {
				t.Fatal(err)
			}
			if err := work(t, e, tenant, x.ID, 2); err != nil {
				t.Fatal(err)
			}
			got := getExec(t, st, tenant, x.ID)
			switch {
			case !idem && (got.Status != store.ExecUnknown || got.ErrorCode != CodeOutcomeUnknown || got.Error == "" || impl.calls.Load() != 0):
				t.Fatalf("non-idempotent retry: %+v, %d calls", got, impl.calls.Load())
			case idem && (got.Status != store.ExecSucceeded || impl.calls.Load() != 1):
				t.Fatalf("idempotent retry: %+v, %d calls", got, impl.calls.Load())
			}
			// A third attempt changes nothing and calls nothing.
			if err := work(t, e, tenant, x.ID, 3); err != nil {
				t.Fatal(err)
			}
			if again := getExec(t, st, tenant, x.ID); again.Status != got.Status || impl.calls.Load() > 1 {
				t.Fatalf("settled record moved: %+v", again)
			}
		}
	})
}

// TestReconcile settles what nobody will finish and leaves the rest.
func TestReconcile(t *testing.T) {
	eachQueue(t, func(t *testing.T, st store.Store, q *jobs.Client) {
		ctx := context.Background()
		tenant := storetest.NewTenant(t, st)
		e := testEngine(t, st, &countingImpl{})
		e.SetJobs(q)
		old := time.Now().UTC().Add(-time.Hour)
		now := time.Now().UTC()
		mk := func(status string, started *time.Time, job int64) *store.Execution {
			x := &store.Execution{Provider: "cnt", Action: "act", Implementation: runtimes.KindNative, Status: status, StartedAt: started, JobID: job}
			if err := st.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, x) }); err != nil {
				t.Fatal(err)
			}
			return x
		}
		var live int64
		if err := st.InTenant(ctx, tenant, func(tx store.Tx) error {
			var err error
			live, err = q.InsertTx(ctx, tx, ExecuteArgs{TenantID: tenant, ExecutionID: "exe_live"}, nil)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		stuckSync := mk(store.ExecRunning, &old, 0)   // a synchronous call whose host died
		freshSync := mk(store.ExecRunning, &now, 0)   // a synchronous call in flight
		goneQueued := mk(store.ExecPending, nil, 1e9) // its job is gone: never called
		goneRunning := mk(store.ExecRunning, &old, 1e9+1)
		queued := mk(store.ExecPending, nil, live) // its job is waiting: left alone
		n, err := e.Reconcile(ctx, time.Now())
		if err != nil || n != 3 {
			t.Fatalf("reconciled %d: %v", n, err)
		}
		want := map[*store.Execution][2]string{
			stuckSync: {store.ExecUnknown, CodeOutcomeUnknown}, freshSync: {store.ExecRunning, ""},
			goneQueued: {store.ExecFailed, CodeNotRun}, goneRunning: {store.ExecUnknown, CodeOutcomeUnknown}, queued: {store.ExecPending, ""},
		}
		for x, w := range want {
			got := getExec(t, st, tenant, x.ID)
			if got.Status != w[0] || got.ErrorCode != w[1] {
				t.Errorf("%s: %s %s, want %v", x.ID, got.Status, got.ErrorCode, w)
			}
			if res := resultOf(got); w[1] != "" && (res.Status != StatusOf(w[1]) || got.Error == "") {
				t.Errorf("%s replays %d with reason %q", x.ID, res.Status, got.Error)
			}
		}
	})
}

// TestStuckIdempotencyKey: a retry with the key of a synchronous record
// stuck running (its host died) is answered at once with the record
// settled as unknown, not a wait then 409 for the key's whole window; the
// action is not called again.
func TestStuckIdempotencyKey(t *testing.T) {
	eachQueue(t, func(t *testing.T, st store.Store, _ *jobs.Client) {
		ctx := context.Background()
		tenant := storetest.NewTenant(t, st)
		impl := &countingImpl{}
		e := testEngine(t, st, impl)
		c := &call{tenant: tenant, provider: "cnt", action: "act", input: json.RawMessage(`{}`), idempotencyKey: "k-stuck"}
		start := time.Now().UTC().Add(-time.Minute)
		x := &store.Execution{Provider: "cnt", Action: "act", Implementation: runtimes.KindNative, Status: store.ExecRunning,
			IdempotencyKey: c.idempotencyKey, RequestHash: requestHash(c), CreatedAt: start, StartedAt: &start}
		if err := st.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, x) }); err != nil {
			t.Fatal(err)
		}
		res, err := e.execute(ctx, c)
		if err != nil || !res.Replayed || res.Code != CodeOutcomeUnknown || res.Status != http.StatusBadGateway || res.ExecutionID != x.ID {
			t.Fatalf("retry of a stuck key: %+v %v", res, err)
		}
		if got := getExec(t, st, tenant, x.ID); got.Status != store.ExecUnknown || impl.calls.Load() != 0 {
			t.Fatalf("stuck record %+v, %d calls", got, impl.calls.Load())
		}
		// A key whose call is in flight is still waited for and replayed.
		c2 := &call{tenant: tenant, provider: "cnt", action: "act", input: json.RawMessage(`{}`), idempotencyKey: "k-live"}
		first, err := e.execute(ctx, c2)
		if err != nil || first.Status != http.StatusOK {
			t.Fatalf("first: %+v %v", first, err)
		}
		again, err := e.execute(ctx, c2)
		var a, b map[string]int
		json.Unmarshal(first.Output, &a)
		json.Unmarshal(again.Output, &b)
		if err != nil || !again.Replayed || again.Status != http.StatusOK || a["n"] != 1 || b["n"] != 1 || impl.calls.Load() != 1 {
			t.Fatalf("replay: %+v %v (%d calls)", again, err, impl.calls.Load())
		}
	})
}
