package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/catalog"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/connect"
	"github.com/atomhq/atom/host/internal/jobs"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/registry"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
	"github.com/atomhq/atom/sdk/provider"
)

// scripted is an in-process native implementation whose actions each end
// one way: the action's name says how.
type scripted struct {
	started chan string   // receives the action's name when a call starts
	release chan struct{} // ends a "hold" call
	// upstream answers "/500" with 500 and "/401" with 401, through out.
	upstream string
	out      *outbound.Client
}

func (s *scripted) Kind() string { return runtimes.KindNative }

func (s *scripted) Manifest() provider.Manifest {
	m := provider.Manifest{ID: "ok", Name: "Scripted", Version: "1.0.0"}
	for _, n := range []string{"ok", "fail", "unavailable", "guest", "invalid_json", "upstream_large", "big", "rate", "boom", "sleep", "hold", "upstream500", "upstream401"} {
		m.Actions = append(m.Actions, provider.Action{Name: n})
	}
	m.Actions = append(m.Actions, provider.Action{Name: "typed",
		Input: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`)})
	return m
}

func (s *scripted) Execute(ctx context.Context, req provider.Request, _ runtimes.Host) (provider.Response, error) {
	switch req.Action {
	case "ok", "typed":
		return provider.Response{Output: json.RawMessage(`{"ok":true}`)}, nil
	case "fail":
		return provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: "the provider said no"}}}, nil
	case "unavailable":
		return provider.Response{}, fmt.Errorf("dial plugin: %w", runtimes.ErrUnavailable)
	case "guest":
		return provider.Response{}, fmt.Errorf("guest: %w", runtimes.ErrPluginFailed)
	case "invalid_json":
		return provider.Response{Output: json.RawMessage(`{not json`)}, nil
	case "upstream_large":
		return provider.Response{}, &runtimes.TooLargeError{Code: runtimes.CodeUpstreamTooLarge, What: "the reply", Limit: 1}
	case "big":
		return provider.Response{Output: json.RawMessage(`"` + strings.Repeat("x", 4096) + `"`)}, nil
	case "rate":
		return provider.Response{}, &outbound.RateLimitError{Tenant: req.TenantID, Provider: "ok", RetryAfter: time.Second}
	case "upstream500", "upstream401":
		hr, _ := http.NewRequestWithContext(ctx, "GET", s.upstream+"/"+strings.TrimPrefix(req.Action, "upstream"), nil)
		resp, err := s.out.Do(ctx, hr)
		if err != nil {
			return provider.Response{}, err
		}
		resp.Body.Close()
		return provider.Response{Diagnostics: []provider.Diagnostic{{Severity: provider.SeverityError, Summary: "the provider said " + resp.Status}}}, nil
	case "sleep", "hold":
		s.started <- req.Action
		select {
		case <-ctx.Done():
			return provider.Response{}, ctx.Err()
		case <-s.release:
			return provider.Response{Output: json.RawMessage(`{}`)}, nil
		}
	}
	return provider.Response{}, errors.New("boom: an unexpected failure")
}

// scriptedCredentials answers every provider with err, or, when err is
// nil, as a tenant without a connection.
type scriptedCredentials struct {
	mu  sync.Mutex
	err error
}

func (c *scriptedCredentials) set(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func (c *scriptedCredentials) Credentials(context.Context, string, string, string) (provider.Credentials, *store.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return provider.Credentials{}, nil, c.err
	}
	return provider.Credentials{}, nil, connect.ErrProviderNotConnected
}

func (c *scriptedCredentials) ForceRefresh(context.Context, string, string) (provider.Credentials, error) {
	return provider.Credentials{}, errors.New("no connection")
}

// failingCreate is a store whose transactions cannot create execution
// records (a disk full, a revoked grant): everything else works.
type failingCreate struct{ store.Store }

type failingCreateTx struct{ store.Tx }

func (failingCreateTx) CreateExecution(context.Context, *store.Execution) error {
	return errors.New("insert execution: permission denied")
}

func (f failingCreate) InTenant(ctx context.Context, tenant string, fn func(store.Tx) error) error {
	return f.Store.InTenant(ctx, tenant, func(tx store.Tx) error { return fn(failingCreateTx{tx}) })
}

// codesEngine is an engine over st serving "ok" (auth none) and "keyed"
// (api_key) with impl, and "ghost", a native plugin the catalog does not
// describe.
func codesEngine(t *testing.T, st store.Store, impl *scripted, creds Credentials) *Engine {
	t.Helper()
	k, _ := vault.Generate("k1")
	kr, err := vault.Parse(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for id, auth := range map[string]string{"ok": "none", "keyed": "api_key"} {
		d := `{"id":"` + id + `","name":"` + id + `","categories":["development"],"auth":{"kind":"` + auth + `"},` +
			`"api":{"base_url":"http://127.0.0.1:9"},"implementations":["native"],"connectable":true}`
		if err := os.WriteFile(filepath.Join(dir, id+".json"), []byte(d), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.Load(catalog.Options{CustomDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(nil)
	for _, id := range []string{"ok", "keyed", "ghost"} {
		if err := reg.SetNative(id, impl); err != nil {
			t.Fatal(err)
		}
	}
	e, err := New(Config{Store: st, Registry: reg, Credentials: creds, Catalog: func() *catalog.Catalog { return cat },
		Keyring: kr, Logger: slog.New(slog.DiscardHandler), Timeout: time.Second, RecordRetry: time.Second, SyncRecordWait: 200 * time.Millisecond,
		Limits: config.Limits{MaxUpstreamBody: 1024, TenantMaxConcurrent: 1, TenantMaxPendingAsync: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExecuteEveryStatusCode drives Execute to every error code of the
// status table, on SQLite and PostgreSQL, and checks each answer's status
// is the table's, whether it comes as a Result (the execution ran) or as
// a refusal (*Error). Codes only the reconciler writes are reached as
// idempotent replays of such records.
func TestExecuteEveryStatusCode(t *testing.T) {
	eachQueue(t, func(t *testing.T, st store.Store, q *jobs.Client) {
		ctx := context.Background()
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/401" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
		}))
		defer upstream.Close()
		out := outbound.New(outbound.Config{AllowPrivateHosts: []string{strings.TrimPrefix(upstream.URL, "http://")}, Rate: -1})
		defer out.Close()
		impl := &scripted{started: make(chan string, 1), release: make(chan struct{}), upstream: upstream.URL, out: out}
		creds := &scriptedCredentials{}
		e := codesEngine(t, st, impl, creds)
		tenant := storetest.NewTenant(t, st)
		seen := map[string]bool{}

		// answer runs c and returns its status and code, whichever way
		// they come.
		answer := func(t *testing.T, ctx context.Context, c Call) (int, string, error) {
			t.Helper()
			c.TenantID = tenant
			res, err := e.Execute(ctx, c)
			var ee *Error
			switch {
			case errors.As(err, &ee):
				return ee.Status, ee.Code, err
			case err != nil:
				t.Fatalf("%s/%s: %v", c.Provider, c.Action, err)
			}
			return res.Status, res.Code, nil
		}
		expect := func(t *testing.T, c Call, want string) error {
			t.Helper()
			st, code, err := answer(t, ctx, c)
			if code != want || st != StatusOf(want) {
				t.Errorf("%s/%s: %d %q, want %d %q", c.Provider, c.Action, st, code, StatusOf(want), want)
			}
			seen[want] = true
			return err
		}

		for action, want := range map[string]string{
			"ok": "", "fail": CodeActionFailed, "unavailable": CodePluginUnavailable, "guest": CodePluginFailed,
			"invalid_json": CodePluginFailed, "upstream_large": runtimes.CodeUpstreamTooLarge,
			"big": runtimes.CodeResultTooLarge, "rate": CodeRateLimited, "boom": CodeInternal, "missing": CodeUnknownAction,
			"upstream500": CodeUpstreamError, "upstream401": CodeConnectionRejected,
		} {
			expect(t, Call{Provider: "ok", Action: action}, want)
		}
		expect(t, Call{Provider: "nope", Action: "ok"}, CodeUnknownProvider)
		expect(t, Call{Provider: "ghost", Action: "ok"}, CodeDescriptorMissing)

		// The field at fault travels with the refusal.
		err := expect(t, Call{Provider: "ok", Action: "typed", Input: json.RawMessage(`{"n":"x"}`)}, CodeInvalidInput)
		var ee *Error
		if !errors.As(err, &ee) || ee.Field != "/n" {
			t.Errorf("invalid input: field %+v, want /n", err)
		}

		expect(t, Call{Provider: "ok", Action: "sleep"}, CodeTimeout)
		<-impl.started

		cctx, cancel := context.WithCancel(ctx)
		go func() { <-impl.started; cancel() }()
		if st, code, _ := answer(t, cctx, Call{Provider: "ok", Action: "sleep"}); code != CodeCanceled || st != StatusOf(CodeCanceled) {
			t.Errorf("canceled call: %d %q", st, code)
		}
		seen[CodeCanceled] = true

		// One call at a time per tenant (TenantMaxConcurrent 1).
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, err := e.Execute(ctx, Call{TenantID: tenant, Provider: "ok", Action: "hold"})
			if err != nil || res.Code != "" {
				t.Errorf("held call: %+v %v", res, err)
			}
		}()
		<-impl.started
		expect(t, Call{Provider: "ok", Action: "ok"}, CodeTooManyConcurrent)
		impl.release <- struct{}{}
		<-done

		expect(t, Call{Provider: "ok", Action: "ok", IdempotencyKey: "k-1"}, "")
		expect(t, Call{Provider: "ok", Action: "ok", IdempotencyKey: "k-1", Input: json.RawMessage(`{"other":1}`)}, CodeIdempotencyConflict)

		// Asynchronous executions: no queue yet, then at most one pending.
		expect(t, Call{Provider: "ok", Action: "ok", Async: true}, CodeQueueUnavailable)
		e.SetJobs(q)
		if st, _, _ := answer(t, ctx, Call{Provider: "ok", Action: "ok", Async: true}); st != 202 {
			t.Errorf("first async call: %d, want 202", st)
		}
		expect(t, Call{Provider: "ok", Action: "ok", Async: true}, CodeTooManyPending)

		// Credentials: the database is down, or connect refuses.
		creds.set(fmt.Errorf("read connection: %w", net.ErrClosed))
		expect(t, Call{Provider: "ok", Action: "ok"}, CodeDatabaseUnavailable)
		creds.set(nil)
		expect(t, Call{Provider: "keyed", Action: "ok"}, connect.CodeProviderNotConnected)
		for _, code := range []string{connect.CodeConnectionExpired, connect.CodeConnectionRevoked, connect.CodeRefreshFailed,
			connect.CodeNotConfigured, connect.CodeInvalidCredentials, connect.CodeTenantAppRequired, connect.CodeInvalidState,
			connect.CodeTokenExchangeFailed, connect.CodeAccessDenied, connect.CodeUnsupported, connect.CodeInvalidReturnTo,
			connect.CodeUnknownUser, connect.CodeTooManyStates, connect.CodeOAuthAppNotFound, connect.CodeInvalidCallback} {
			// The status the error carries is not the one answered: the
			// table's is, so that a replay answers the same.
			creds.set(&connect.Error{Code: code, Msg: "refused", Status: 418})
			expect(t, Call{Provider: "keyed", Action: "ok"}, code)
		}
		creds.set(nil)

		// Records the reconciler settles, replayed under their key.
		old := time.Now().UTC().Add(-time.Hour)
		hash := requestHash(&call{provider: "ok", action: "ok", input: json.RawMessage(`{}`)})
		for key, x := range map[string]*store.Execution{
			"stuck":  {Status: store.ExecRunning, StartedAt: &old},
			"notrun": {Status: store.ExecFailed, ErrorCode: CodeNotRun, Error: "the job ended before the call", FinishedAt: &old},
		} {
			x.ID, x.Provider, x.Action, x.Implementation = "exe_"+key, "ok", "ok", runtimes.KindNative
			x.IdempotencyKey, x.RequestHash, x.CreatedAt = key, hash, old
			if err := st.InTenant(ctx, tenant, func(tx store.Tx) error { return tx.CreateExecution(ctx, x) }); err != nil {
				t.Fatal(err)
			}
		}
		expect(t, Call{Provider: "ok", Action: "ok", IdempotencyKey: "stuck"}, CodeOutcomeUnknown)
		expect(t, Call{Provider: "ok", Action: "ok", IdempotencyKey: "notrun"}, CodeNotRun)

		// A record that cannot be written: the call is not run.
		broken := codesEngine(t, failingCreate{st}, impl, creds)
		if st, code, _ := answer(t, ctx, Call{Provider: "ok", Action: "ok"}); st != 200 || code != "" {
			t.Fatalf("control call: %d %q", st, code)
		}
		res, err := broken.Execute(ctx, Call{TenantID: tenant, Provider: "ok", Action: "fail", IdempotencyKey: "k-broken"})
		if !errors.As(err, &ee) || ee.Code != CodeRecordFailed || ee.Status != StatusOf(CodeRecordFailed) || ee.RetryAfter == 0 {
			t.Errorf("unwritable record: %+v %v", res, err)
		}
		seen[CodeRecordFailed] = true

		for code := range statusOfCode {
			if !seen[code] {
				t.Errorf("no case reaches %q (status %d)", code, statusOfCode[code])
			}
		}
	})
}
