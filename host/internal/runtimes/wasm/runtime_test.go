package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"
	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/tetratelabs/wazero/sys"
)

// testRuntime returns a runtime whose outbound client may reach loopback
// fakes, with rewrite mapping declared hosts to them.
func testRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.Outbound == nil {
		cfg.Outbound = outbound.New(outbound.Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: -1})
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = wasmDirCache()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rt, err := NewRuntime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// engineRuntime is testRuntime whose pieces run on engine: with
// EngineInterpreter, a piece loads on the interpreter and stays there.
func engineRuntime(t testing.TB, engine string, cfg Config) *Runtime {
	t.Helper()
	rt := testRuntime(t, cfg)
	rt.interpreterOnly = engine == EngineInterpreter
	return rt
}

// loadOn is load that checks the engine serving the piece; for
// EngineCompiled it waits for the background compilation of a module the
// cache did not hold.
func loadOn(t testing.TB, rt *Runtime, name, engine string) *Piece {
	t.Helper()
	p := load(t, rt, name)
	if engine == EngineCompiled && !rt.interpreterOnly {
		waitEngine(t, p, EngineCompiled)
	}
	if got := p.Stats().Engine; got != engine {
		t.Fatalf("%s runs on %q, want %q", name, got, engine)
	}
	return p
}

// waitEngine waits until p serves on engine.
func waitEngine(t testing.TB, p *Piece, engine string) {
	t.Helper()
	for end := time.Now().Add(2 * time.Minute); p.Stats().Engine != engine; {
		if time.Now().After(end) {
			t.Fatalf("%s still runs on %q", p.Path(), p.Stats().Engine)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// forEachEngine runs test once with compiled pieces and once with pieces
// on the interpreter: every sandbox guarantee holds on both.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range []string{EngineCompiled, EngineInterpreter} {
		t.Run(engine, func(t *testing.T) { test(t, engine) })
	}
}

func load(t testing.TB, rt *Runtime, name string) *Piece {
	t.Helper()
	p, err := rt.Load(modulePath(name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func call(t testing.TB, p hostrt.Implementation, tenant, action string, input any, host hostrt.Host) (provider.Response, error) {
	t.Helper()
	in, _ := json.Marshal(input)
	if host == nil {
		host = newMemHost()
	}
	return p.Execute(context.Background(), provider.Request{
		ExecutionID: "exec-1", TenantID: tenant, Action: action, Input: in,
		Credentials: provider.Credentials{Type: "api_key", APIKey: "secret-" + tenant},
	}, host)
}

func callOK(t testing.TB, p hostrt.Implementation, tenant, action string, input any, host hostrt.Host) map[string]any {
	t.Helper()
	resp, err := call(t, p, tenant, action, input, host)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Failed() {
		t.Fatalf("diagnostics: %+v", resp.Diagnostics)
	}
	var m map[string]any
	if err := json.Unmarshal(resp.Output, &m); err != nil {
		t.Fatalf("output %s: %v", resp.Output, err)
	}
	return m
}

func TestEchoAndManifest(t *testing.T) { forEachEngine(t, testEchoAndManifest) }

func testEchoAndManifest(t *testing.T, engine string) {
	rt := engineRuntime(t, engine, Config{})
	p := loadOn(t, rt, "sandbox", engine)
	m := p.Manifest()
	if m.ID != "sandbox" || len(m.Actions) == 0 || p.Kind() != hostrt.KindPiece {
		t.Fatalf("manifest = %+v", m)
	}
	var schema map[string]any
	if err := json.Unmarshal(m.Actions[0].Input, &schema); err != nil || schema["type"] != "object" {
		t.Fatalf("input schema %s: %v", m.Actions[0].Input, err)
	}
	out := callOK(t, p, "t1", "echo", map[string]string{"text": "hi"}, nil)
	if out["text"] != "hi" || out["tenant"] != "t1" {
		t.Fatalf("echo = %v", out)
	}
	resp, err := call(t, p, "t1", "nope", nil, nil)
	if err != nil || !resp.Failed() || !strings.Contains(resp.Diagnostics[0].Summary, "unknown action") {
		t.Fatalf("unknown action: %+v %v", resp, err)
	}
}

func TestGuestHasNoEnvArgsOrFilesButRealClock(t *testing.T) {
	forEachEngine(t, testGuestHasNoEnvArgsOrFilesButRealClock)
}

func testGuestHasNoEnvArgsOrFilesButRealClock(t *testing.T, engine string) {
	t.Setenv("ATOM_SECRET_FOR_TEST", "leak")
	rt := engineRuntime(t, engine, Config{})
	p := loadOn(t, rt, "sandbox", engine)
	out := callOK(t, p, "t1", "env", nil, nil)
	if env, _ := out["env"].([]any); len(env) != 0 {
		t.Fatalf("guest sees environment %v", env)
	}
	if args, _ := out["args"].([]any); len(args) != 0 {
		t.Fatalf("guest sees args %v", args)
	}
	if out["fs_error"] != true {
		t.Fatal("guest read a host file")
	}
	now := out["now"].(float64)
	if d := time.Since(time.Unix(int64(now), 0)); d < -time.Minute || d > time.Minute {
		t.Fatalf("guest clock is %v off", d)
	}
}

func TestCredentialsAreThoseOfTheExecution(t *testing.T) {
	forEachEngine(t, testCredentialsAreThoseOfTheExecution)
}

func testCredentialsAreThoseOfTheExecution(t *testing.T, engine string) {
	rt := engineRuntime(t, engine, Config{ShareAcrossTenants: true, PoolSize: 1})
	p := loadOn(t, rt, "sandbox", engine)
	for _, tenant := range []string{"a", "b", "a"} {
		out := callOK(t, p, tenant, "credentials", nil, nil)
		if out["api_key"] != "secret-"+tenant {
			t.Fatalf("tenant %s got %v", tenant, out["api_key"])
		}
	}
}

func TestStoreAndLog(t *testing.T) { forEachEngine(t, testStoreAndLog) }

func testStoreAndLog(t *testing.T, engine string) {
	rt := engineRuntime(t, engine, Config{})
	p := loadOn(t, rt, "sandbox", engine)
	h := newMemHost()
	out := callOK(t, p, "t1", "store", map[string]string{"key": "cursor", "value": "42"}, h)
	if out["found"] != false {
		t.Fatalf("first get = %v", out)
	}
	out = callOK(t, p, "t1", "store", map[string]string{"key": "cursor"}, h)
	if out["found"] != true || out["old"] != "42" {
		t.Fatalf("second get = %v", out)
	}
	if string(h.store["cursor"]) != "42" || len(h.logs) != 2 || h.logs[0] != "info: store cursor" {
		t.Fatalf("store %v logs %v", h.store, h.logs)
	}
}

func TestHTTPAllowList(t *testing.T) { forEachEngine(t, testHTTPAllowList) }

func testHTTPAllowList(t *testing.T, engine string) {
	var mu sync.Mutex
	var seen []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Host+" "+r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Test")+" "+string(b))
		mu.Unlock()
		w.WriteHeader(201)
		io.WriteString(w, `{"ok":true}`)
	}))
	defer fake.Close()
	rt := engineRuntime(t, engine, Config{Rewrite: map[string]string{"allowed.test": fake.URL, "api.wild.test": fake.URL, "evil.test": fake.URL}})
	p := loadOn(t, rt, "sandbox", engine)
	for _, u := range []string{"https://allowed.test/x", "https://api.wild.test/y"} {
		out := callOK(t, p, "t1", "http", map[string]string{"url": u}, nil)
		if out["status"] != float64(201) || out["body"] != `{"ok":true}` {
			t.Fatalf("%s: %v", u, out)
		}
	}
	for _, u := range []string{"https://evil.test/x", "https://wild.test/", "http://127.0.0.1:1/", "file:///etc/passwd", "https://allowed.test.evil.test/"} {
		resp, err := call(t, p, "t1", "http", map[string]string{"url": u}, nil)
		if err != nil || !resp.Failed() {
			t.Fatalf("%s: not refused: %+v %v", u, resp, err)
		}
	}
	if len(seen) != 2 || !strings.Contains(seen[0], "POST /x 1 {\"hello\":\"world\"}") {
		t.Fatalf("fake saw %q", seen)
	}
}

func TestOutboundRefusesLoopback(t *testing.T) {
	forEachEngine(t, testOutboundRefusesLoopback)
}

// testOutboundRefusesLoopback: a declared host rewritten to a loopback
// fake is refused by the host's outbound client, and the piece is told
// address_forbidden.
func testOutboundRefusesLoopback(t *testing.T, engine string) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the outbound client reached loopback")
	}))
	defer fake.Close()
	rt := engineRuntime(t, engine, Config{Outbound: outbound.New(outbound.Config{Rate: -1}), Rewrite: map[string]string{"allowed.test": fake.URL}})
	p := loadOn(t, rt, "sandbox", engine)
	resp, err := call(t, p, "t1", "http", map[string]string{"url": "https://allowed.test/"}, nil)
	if err != nil || !resp.Failed() || resp.Diagnostics[0].Detail != "address_forbidden" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
}

// healthy runs echo calls in the background until stop is closed, and
// reports how many failed.
func healthy(t *testing.T, p hostrt.Implementation) (stop func() (ok, failed int)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var okN, failN int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			resp, err := call(t, p, "healthy", "echo", map[string]string{"text": "x"}, nil)
			mu.Lock()
			if err != nil || resp.Failed() {
				failN++
				t.Logf("healthy call failed: %v %+v", err, resp.Diagnostics)
			} else {
				okN++
			}
			mu.Unlock()
		}
	}()
	return func() (int, int) {
		close(done)
		wg.Wait()
		return okN, failN
	}
}

func TestSandboxFaults(t *testing.T) { forEachEngine(t, testSandboxFaults) }

func testSandboxFaults(t *testing.T, engine string) {
	cases := []struct {
		name   string
		action string
		want   error
		text   string
	}{
		{"infinite loop ends at the deadline", "loop", ErrDeadline, "deadline"},
		{"sleep ends at the deadline", "sleep", ErrDeadline, "deadline"},
		{"memory bomb hits the cap", "bomb", ErrMemoryLimit, "memory limit"},
		{"panic discards the instance", "panic", ErrTrap, "boom from the guest"},
	}
	// The interpreter is several times slower: give the memory bomb the
	// time to reach the cap before the deadline.
	timeout := time.Second
	if engine == EngineInterpreter {
		timeout = 3 * time.Second
	}
	rt := engineRuntime(t, engine, Config{CallTimeout: timeout, MaxMemoryPages: 512, PoolSize: 4})
	p := loadOn(t, rt, "sandbox", engine)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := p.Stats()
			stop := healthy(t, p)
			_, err := call(t, p, "bad", tc.action, nil, nil)
			okN, failN := stop()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.want, tc.text)
			}
			if failN != 0 || okN == 0 {
				t.Fatalf("concurrent healthy calls: %d ok, %d failed", okN, failN)
			}
			if after := p.Stats(); after.Discarded != before.Discarded+1 {
				t.Fatalf("discarded %d -> %d", before.Discarded, after.Discarded)
			}
			out := callOK(t, p, "bad", "echo", map[string]string{"text": "after"}, nil)
			if out["text"] != "after" {
				t.Fatalf("after fault: %v", out)
			}
		})
	}
}

func TestGrownInstanceIsRecycled(t *testing.T) { forEachEngine(t, testGrownInstanceIsRecycled) }

func testGrownInstanceIsRecycled(t *testing.T, engine string) {
	rt := engineRuntime(t, engine, Config{MaxMemoryPages: 1024, RecyclePages: 256})
	p := loadOn(t, rt, "sandbox", engine)
	if _, err := call(t, p, "t", "grow", nil, nil); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.Recycled != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestTenantsDoNotShareInstances(t *testing.T) { forEachEngine(t, testTenantsDoNotShareInstances) }

func testTenantsDoNotShareInstances(t *testing.T, engine string) {
	rt := engineRuntime(t, engine, Config{PoolSize: 2})
	p := loadOn(t, rt, "sandbox", engine)
	callOK(t, p, "a", "echo", nil, nil)
	created := p.Stats().Created
	callOK(t, p, "a", "echo", nil, nil)
	if p.Stats().Created != created {
		t.Fatal("same tenant did not reuse its instance")
	}
	callOK(t, p, "b", "echo", nil, nil)
	if p.Stats().Created != created+1 {
		t.Fatal("tenant b reused tenant a's instance")
	}
}

func TestClosedPieceIsUnavailable(t *testing.T) {
	rt := testRuntime(t, Config{})
	p, err := rt.Load(modulePath("sandbox"))
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := call(t, p, "t", "echo", nil, nil); !errors.Is(err, hostrt.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

// TestPieceRequestsScoped: a piece's requests count against the outbound
// rate limit of its execution's tenant and of the piece, which the piece
// adapter scopes itself: one tenant spending its burst leaves another's.
func TestPieceRequestsScoped(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	defer fake.Close()
	host := strings.TrimPrefix(fake.URL, "http://")
	out := outbound.New(outbound.Config{AllowPrivateHosts: []string{host}, Rate: 0.001, Burst: 1, MaxWait: -1})
	defer out.Close()
	rt := engineRuntime(t, EngineInterpreter, Config{Outbound: out, SharedPrivateHosts: []string{host},
		Rewrite: map[string]string{"allowed.test": fake.URL}})
	p := loadOn(t, rt, "sandbox", EngineInterpreter)
	get := func(tenant string) (provider.Response, error) {
		return call(t, p, tenant, "http", map[string]string{"url": "https://allowed.test/x"}, nil)
	}
	if resp, err := get("t1"); err != nil || resp.Failed() {
		t.Fatalf("first request of t1: %+v %v", resp, err)
	}
	resp, err := get("t1")
	var rl *outbound.RateLimitError
	limited := errors.As(err, &rl) && rl.Tenant == "t1" && rl.Provider == "sandbox"
	// The host's refusal reaches the piece as a 429 answer naming the
	// provider whose budget (tenant t1's) is spent.
	var answer struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}
	if !limited && err == nil && json.Unmarshal(resp.Output, &answer) == nil {
		limited = answer.Status == http.StatusTooManyRequests && strings.Contains(answer.Body, "rate limit for provider sandbox")
	}
	if !limited {
		t.Fatalf("second request of t1 not limited under (t1, sandbox): %+v %v", resp, err)
	}
	if resp, err := get("t2"); err != nil || resp.Failed() {
		t.Fatalf("first request of t2: %+v %v", resp, err)
	}
}

func TestDeadlineInHostCallDiscardsInstance(t *testing.T) {
	forEachEngine(t, testDeadlineInHostCallDiscardsInstance)
}

// testDeadlineInHostCallDiscardsInstance: a guest whose outbound request
// outlives the call's deadline answers the host's error itself, so the
// call returns normally just as wazero's context watcher may be closing
// the module. The instance must not serve another call: the next call,
// at once, succeeds on a fresh one.
func testDeadlineInHostCallDiscardsInstance(t *testing.T, engine string) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer slow.Close()
	rt := engineRuntime(t, engine, Config{CallTimeout: 150 * time.Millisecond, PoolSize: 2,
		Rewrite: map[string]string{"allowed.test": slow.URL}})
	p := loadOn(t, rt, "sandbox", engine)
	for i := range 8 {
		before := p.Stats()
		resp, err := call(t, p, "t1", "http", map[string]string{"url": "https://allowed.test/slow"}, nil)
		if err == nil && !resp.Failed() {
			t.Fatalf("round %d: the slow request succeeded: %+v", i, resp)
		}
		if after := p.Stats(); after.Discarded != before.Discarded+1 || after.Idle > before.Idle {
			t.Fatalf("round %d: the instance was kept: %+v -> %+v", i, before, after)
		}
		if out := callOK(t, p, "t1", "echo", map[string]string{"text": "next"}, nil); out["text"] != "next" {
			t.Fatalf("round %d: next call: %v", i, out)
		}
	}
	// The same race, forced: the watcher closes the module of an instance
	// after it went back to the pool.
	p.mu.Lock()
	idle := append([]*instance(nil), p.idle...)
	p.mu.Unlock()
	if len(idle) == 0 {
		t.Fatal("no idle instance after a successful call")
	}
	for _, inst := range idle {
		if err := inst.mod.CloseWithExitCode(context.Background(), sys.ExitCodeDeadlineExceeded); err != nil {
			t.Fatal(err)
		}
	}
	if out := callOK(t, p, "t1", "echo", map[string]string{"text": "fresh"}, nil); out["text"] != "fresh" {
		t.Fatalf("after a closed idle instance: %v", out)
	}
}
