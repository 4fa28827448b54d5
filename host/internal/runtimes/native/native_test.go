package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

func TestMain(m *testing.M) { testbin.Main(m) }

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newManager(t testing.TB, dir string, mod func(*Config)) (*Manager, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		Dir:      dir,
		DataDir:  t.TempDir(),
		Debounce: 50 * time.Millisecond,
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, logs
}

type echoOut struct {
	Input   map[string]any `json:"input"`
	Version string         `json:"version"`
	PID     int            `json:"pid"`
}

func call(t testing.TB, impl runtimes.Implementation, action string, input any, host runtimes.Host) (provider.Response, error) {
	t.Helper()
	raw, _ := json.Marshal(input)
	return impl.Execute(context.Background(), provider.Request{
		ExecutionID: "exec-1",
		TenantID:    "tenant-a",
		Action:      action,
		Input:       raw,
		Credentials: provider.Credentials{Type: "api_key", APIKey: "k"},
	}, host)
}

func echo(t testing.TB, impl runtimes.Implementation) echoOut {
	t.Helper()
	resp, err := call(t, impl, "echo", map[string]any{"x": 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out echoOut
	providertest.Output(t, resp, &out)
	return out
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func info(m *Manager, id string) PluginInfo {
	for _, in := range m.List() {
		if in.ID == id {
			return in
		}
	}
	return PluginInfo{}
}

func TestExecuteAndManifest(t *testing.T) {
	t.Setenv("ATOM_TEST_SECRET", "must-not-leak")
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)

	impl, ok := m.Get("echo")
	if !ok {
		t.Fatalf("echo not loaded: %+v", m.List())
	}
	if impl.Kind() != runtimes.KindNative {
		t.Fatalf("kind %q", impl.Kind())
	}
	mf := impl.Manifest()
	if mf.ID != "echo" || mf.Version != "1.0.0" || len(mf.Actions) != 7 {
		t.Fatalf("manifest %+v", mf)
	}
	out := echo(t, impl)
	if out.Version != "1.0.0" || out.Input["x"] != float64(1) {
		t.Fatalf("echo %+v", out)
	}

	resp, err := call(t, impl, "whoami", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var who map[string]string
	providertest.Output(t, resp, &who)
	if who["type"] != "api_key" || who["tenant"] != "tenant-a" || who["execution"] != "exec-1" {
		t.Fatalf("whoami %v", who)
	}

	if env := pluginEnv(t, impl, "ATOM_TEST_SECRET"); env["set"] != false {
		t.Fatalf("plugin inherited the host's environment: %v", env)
	}

	// One processor unless the plugin environment says otherwise.
	if env := pluginEnv(t, impl, "GOMAXPROCS"); env["value"] != "1" {
		t.Fatalf("GOMAXPROCS of the plugin process: %v", env)
	}

	in := info(m, "echo")
	if in.State != StateRunning || in.Version != "1.0.0" || in.Calls != 4 || len(in.Checksum) != 64 {
		t.Fatalf("info %+v", in)
	}
}

func TestManifestCachedAcrossManagers(t *testing.T) {
	dir := t.TempDir()
	data := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m1, _ := newManager(t, dir, func(c *Config) { c.DataDir = data })
	m1.Close()
	m2, _ := newManager(t, dir, func(c *Config) { c.DataDir = data })
	if in := info(m2, "echo"); in.State != StateIdle || in.Version != "1.0.0" {
		t.Fatalf("want an idle plugin with a cached manifest, got %+v", in)
	}
	impl, _ := m2.Get("echo")
	if echo(t, impl).Version != "1.0.0" {
		t.Fatal("wrong version")
	}
}

func TestInstallAndRemove(t *testing.T) {
	dir := t.TempDir()
	m, _ := newManager(t, dir, func(c *Config) { c.Verify = true })
	var mu sync.Mutex
	var events []Event
	m.Subscribe(func(e Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	})
	bin := testbin.Echo(t, "echo", "1.0.0")
	install := func() error {
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return m.Install("echo", f)
	}
	// Verification on: an upload must be pinned in the lock file first;
	// Install never writes it.
	if err := install(); !errors.Is(err, ErrRefused) || !errors.Is(err, ErrNotPinned) {
		t.Fatalf("install of an unpinned binary: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a refused install left %v in the plugin directory", ents)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	lockLine := hex.EncodeToString(sum[:]) + "  atom-provider-echo\n"
	if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(lockLine), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := install(); err != nil {
		t.Fatal(err)
	}
	impl, ok := m.Get("echo")
	if !ok {
		t.Fatalf("not registered: %+v", m.List())
	}
	echo(t, impl)
	if lock, _ := os.ReadFile(filepath.Join(dir, "plugins.lock")); string(lock) != lockLine {
		t.Fatalf("Install changed the lock file: %q", lock)
	}
	if err := m.Install("../evil", strings.NewReader("x")); !errors.Is(err, ErrBadID) {
		t.Fatalf("install with a bad id: %v", err)
	}

	if err := os.Remove(filepath.Join(dir, "atom-provider-echo")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "removal", func() bool { _, ok := m.Get("echo"); return !ok })
	if _, err := call(t, impl, "echo", nil, nil); !errors.Is(err, runtimes.ErrUnavailable) {
		t.Fatalf("call on a removed plugin: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Type != EventAdded || events[1].Type != EventRemoved {
		t.Fatalf("events %+v", events)
	}
}

// TestInstallRunsNothingUnverified uploads a program that leaves a mark
// when executed: with verification on, nothing unpinned runs; with it
// off, the program runs (so the mark would show an execution), but only
// as a private copy: a refused upload leaves nothing in the directory.
// Isolation is off so that a shell script can run at all.
func TestInstallRunsNothingUnverified(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	script := "#!/bin/sh\ntouch " + mark + "\n"
	for _, verify := range []bool{true, false} {
		dir := t.TempDir()
		m, _ := newManager(t, dir, func(c *Config) { c.Verify, c.Isolation.Mode = verify, IsolationOff })
		// A lock line for another binary under the same name.
		other := strings.Repeat("cd", 32) + "  atom-provider-marker\n"
		if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		err := m.Install("marker", strings.NewReader(script))
		if err == nil {
			t.Fatalf("verify=%v: a shell script installed as a plugin", verify)
		}
		_, statErr := os.Stat(mark)
		switch {
		case verify && (!errors.Is(err, ErrNotPinned) || statErr == nil):
			t.Fatalf("verify on: err %v, executed %v", err, statErr == nil)
		case !verify && statErr != nil:
			t.Fatalf("verify off: the private copy was not started (%v), so this test proves nothing", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "atom-provider-marker")); err == nil {
			t.Fatalf("verify=%v: a refused upload is in the plugin directory", verify)
		}
		os.Remove(mark)
	}
}

func TestTamperedBinaryRefused(t *testing.T) {
	dir := t.TempDir()
	bin := testbin.Echo(t, "echo", "1.0.0")
	testbin.Install(t, bin, dir, "atom-provider-echo", 0o755)
	bogus := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(bogus+"  atom-provider-echo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, logs := newManager(t, dir, func(c *Config) { c.Verify = true })
	if _, ok := m.Get("echo"); ok {
		t.Fatal("tampered binary registered")
	}
	in := info(m, "echo")
	if in.State != StateRefused || !strings.Contains(in.LastError, "lock file says "+bogus) {
		t.Fatalf("info %+v", in)
	}
	if !strings.Contains(logs.String(), "plugin binary refused") {
		t.Fatalf("no log line:\n%s", logs)
	}

	// Recording the right checksum lets it in.
	out, err := exec.Command("sha256sum", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Fields(string(out))[0]
	if err := os.WriteFile(filepath.Join(dir, "plugins.lock"), []byte(plugindir.LockLine("atom-provider-echo", sum)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "load after the lock file is fixed", func() bool { _, ok := m.Get("echo"); return ok })

	// A replacement not in the lock file is refused; the old one serves on.
	testbin.Install(t, testbin.Echo(t, "echo", "2.0.0"), dir, "atom-provider-echo", 0o755)
	waitFor(t, "refusal of the replacement", func() bool { return strings.Contains(info(m, "echo").LastError, "lock file says") })
	impl, _ := m.Get("echo")
	if v := echo(t, impl).Version; v != "1.0.0" {
		t.Fatalf("serving %s", v)
	}
}

func TestWrongManifestIDRefused(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "other", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)
	if _, ok := m.Get("echo"); ok {
		t.Fatal("registered a binary whose manifest names another provider")
	}
	if in := info(m, "echo"); in.State != StateRefused {
		t.Fatalf("info %+v", in)
	}
}

func TestHotReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	versions := []string{"1.0.0", "2.0.0", "3.0.0", "4.0.0"}
	for _, v := range versions {
		testbin.Echo(t, "echo", v)
	}
	testbin.Echo(t, "extra", "1.0.0")
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)
	impl, ok := m.Get("echo")
	if !ok {
		t.Fatal("echo not loaded")
	}

	var (
		mu        sync.Mutex
		firstSeen = map[string]time.Time{}
		calls     atomic.Int64
		failures  atomic.Int64
		firstErr  atomic.Value
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := impl.Execute(context.Background(), provider.Request{Action: "echo", Input: json.RawMessage(`{}`)}, nil)
				calls.Add(1)
				if err != nil || resp.Failed() {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%v %+v", err, resp.Diagnostics))
					continue
				}
				var out echoOut
				_ = json.Unmarshal(resp.Output, &out)
				now := time.Now()
				mu.Lock()
				if _, ok := firstSeen[out.Version]; !ok {
					firstSeen[out.Version] = now
				}
				mu.Unlock()
			}
		}()
	}
	seen := func(v string) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		ts, ok := firstSeen[v]
		return ts, ok
	}
	for i, v := range versions[1:] {
		time.Sleep(150 * time.Millisecond)
		landed := time.Now()
		if i == 1 {
			// An in-place write, as cp or an editor does it.
			data, err := os.ReadFile(testbin.Echo(t, "echo", v))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "atom-provider-echo"), data, 0o755); err != nil {
				t.Fatal(err)
			}
		} else {
			testbin.Install(t, testbin.Echo(t, "echo", v), dir, "atom-provider-echo", 0o755)
		}
		waitFor(t, "version "+v+" serving", func() bool { _, ok := seen(v); return ok })
		ts, _ := seen(v)
		t.Logf("version %s serving %s after the file landed", v, ts.Sub(landed).Round(time.Millisecond))
	}
	landed := time.Now()
	testbin.Install(t, testbin.Echo(t, "extra", "1.0.0"), dir, "atom-provider-extra", 0o755)
	waitFor(t, "new plugin registered", func() bool { _, ok := m.Get("extra"); return ok })
	t.Logf("new plugin registered %s after the file landed", time.Since(landed).Round(time.Millisecond))
	extra, _ := m.Get("extra")
	if echo(t, extra).Version != "1.0.0" {
		t.Fatal("extra serves the wrong version")
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls during reloads", calls.Load())
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed during reloads; first: %v", n, calls.Load(), firstErr.Load())
	}
	// Old versions drain and stop: only one echo process of this manager
	// remains.
	waitFor(t, "old versions to stop", func() bool {
		out, _ := exec.Command("pgrep", "-f", filepath.Join(m.cfg.DataDir, "bin", "atom-provider-echo-")).Output()
		return len(strings.Fields(string(out))) <= 1
	})
}

func TestKillUnderLoad(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)
	impl, _ := m.Get("echo")
	pid := echo(t, impl).PID

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := call(t, impl, "sleep", map[string]int{"ms": 2000}, nil)
			errs <- err
		}()
	}
	waitFor(t, "calls in flight", func() bool {
		resp, err := call(t, impl, "sleep", map[string]int{"ms": 0}, nil)
		if err != nil {
			return false
		}
		var out map[string]any
		_ = json.Unmarshal(resp.Output, &out)
		return out["inflight"] == float64(9) // 8 sleeping and this probe
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, runtimes.ErrUnavailable) {
			t.Fatalf("in-flight call after kill -9: %v", err)
		}
	}
	start := time.Now()
	out := echo(t, impl)
	t.Logf("first call after the crash served in %s", time.Since(start).Round(time.Millisecond))
	if out.PID == pid {
		t.Fatal("served by the killed process")
	}
	if in := info(m, "echo"); in.State != StateRunning || in.Restarts != 1 {
		t.Fatalf("info %+v", in)
	}
}

func TestCrashAction(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)
	impl, _ := m.Get("echo")
	if _, err := call(t, impl, "crash", nil, nil); !errors.Is(err, runtimes.ErrUnavailable) {
		t.Fatalf("crash: %v", err)
	}
	if in := info(m, "echo"); in.State != StateCrashed {
		t.Fatalf("info %+v", in)
	}
	echo(t, impl)
}

// TestResultOverReceiveLimit: a plugin answering a result far over the
// protocol's message limit gets an error, and the host never buffers it
// (go-plugin's connection alone would accept 2 GiB).
func TestResultOverReceiveLimit(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, nil)
	impl, _ := m.Get("echo")
	echo(t, impl)
	const n = 128 << 20
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	_, err := call(t, impl, "huge", map[string]any{"n": n}, nil)
	goruntime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a 128 MiB result was accepted")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got >= n/2 {
		t.Fatalf("the host allocated %d MiB receiving a refused %d MiB result", got>>20, n>>20)
	}
	echo(t, impl)
}

func TestIdleStop(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	logs := &logBuffer{}
	m, _ := newManager(t, dir, func(c *Config) {
		c.IdleTimeout = 200 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	impl, _ := m.Get("echo")
	pid := echo(t, impl).PID
	waitFor(t, "idle stop", func() bool { return info(m, "echo").State == StateIdle })
	waitFor(t, "process exit", func() bool { return syscall.Kill(pid, 0) != nil })
	// Stopping an idle plugin is routine: its exit is logged at debug
	// level, never as a warning or error that reads like a crash.
	waitFor(t, "exit logged", func() bool { return strings.Contains(logs.String(), `level=DEBUG msg="plugin process exited"`) })
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "exited") && !strings.Contains(line, "level=DEBUG") {
			t.Errorf("idle stop logged above debug: %s", line)
		}
	}
	if echo(t, impl).PID == pid {
		t.Fatal("same process after idle stop")
	}
}

func TestConcurrencyLimit(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, func(c *Config) { c.MaxConcurrent = 2 })
	impl, _ := m.Get("echo")
	var wg sync.WaitGroup
	var peak atomic.Int64
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := call(t, impl, "sleep", map[string]int{"ms": 100}, nil)
			if err != nil {
				t.Error(err)
				return
			}
			var out struct{ Peak int64 }
			_ = json.Unmarshal(resp.Output, &out)
			for {
				p := peak.Load()
				if out.Peak <= p || peak.CompareAndSwap(p, out.Peak) {
					break
				}
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Fatalf("peak concurrency in the plugin %d, want 2", p)
	}
}

func TestCallTimeout(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, func(c *Config) { c.CallTimeout = 100 * time.Millisecond })
	impl, _ := m.Get("echo")
	_, err := call(t, impl, "sleep", map[string]int{"ms": 5000}, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	echo(t, impl)
}

func TestBrokeredRefresh(t *testing.T) {
	var hits atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/resource" || r.Header.Get("Authorization") != "Bearer fresh-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_token","error_description":"token expired"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()

	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, func(c *Config) { c.Outbound = loopbackOutbound() })
	impl, _ := m.Get("echo")
	host := providertest.NewHost()
	host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "fresh-token"}
	resp, err := impl.Execute(context.Background(), provider.Request{
		Action:      "upstream",
		Input:       json.RawMessage(`{}`),
		BaseURL:     upstream.URL,
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "stale-token"},
	}, host)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]bool
	providertest.Output(t, resp, &out)
	if !out["ok"] || host.Refreshes() != 1 || hits.Load() != 2 {
		t.Fatalf("out %v refreshes %d hits %d", out, host.Refreshes(), hits.Load())
	}
	if logs := host.Logs(); len(logs) != 1 || logs[0].Message != "upstream answered" {
		t.Fatalf("host logs %+v", logs)
	}

	// Without a successful refresh the 401 becomes a diagnostic.
	host2 := providertest.NewHost()
	resp, err = impl.Execute(context.Background(), provider.Request{
		Action:      "upstream",
		BaseURL:     upstream.URL,
		Credentials: provider.Credentials{Type: "oauth2", AccessToken: "stale-token"},
	}, host2)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Failed() || resp.Diagnostics[0].Status != 401 || resp.Diagnostics[0].Summary != "token expired" {
		t.Fatalf("diagnostics %+v", resp.Diagnostics)
	}
}

// TestExternalModule builds a provider the way a third party would: in its
// own module outside this repository, importing the SDK through a replace
// directive, and runs it in the manager.
func TestExternalModule(t *testing.T) {
	files := map[string]string{
		"main.go": `package main

import (
	"context"

	"github.com/atomhq/atom/sdk/provider"
)

func main() {
	provider.Serve(provider.New(provider.Manifest{ID: "hello", Name: "Hello", Version: "0.1.0"}).
		Action(provider.ActionDef{
			Name: "hello",
			Handle: provider.Typed(func(ctx context.Context, c *provider.Call, in struct{ Name string }) (any, error) {
				return map[string]string{"greeting": "hello " + in.Name}, nil
			}),
		}))
}
`,
	}
	dir := t.TempDir()
	testbin.BuildModule(t, "example.com/hello", files, filepath.Join(dir, "atom-provider-hello"))
	m, _ := newManager(t, dir, nil)
	impl, ok := m.Get("hello")
	if !ok {
		t.Fatalf("hello not loaded: %+v", m.List())
	}
	resp, err := call(t, impl, "hello", map[string]string{"Name": "world"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	providertest.Output(t, resp, &out)
	if out["greeting"] != "hello world" {
		t.Fatalf("output %v", out)
	}
}

func TestHealthCheckNoticesDeadProcess(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, logs := newManager(t, dir, func(c *Config) { c.HealthInterval = 50 * time.Millisecond })
	impl, _ := m.Get("echo")
	pid := echo(t, impl).PID
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "the janitor to notice", func() bool { return strings.Contains(logs.String(), "plugin process lost") })
	t.Logf("crash noticed after %s", time.Since(start).Round(time.Millisecond))
	if in := info(m, "echo"); in.State != StateCrashed {
		t.Fatalf("info %+v", in)
	}
	if echo(t, impl).PID == pid {
		t.Fatal("not restarted")
	}
}

func TestPluginLogsReachHostLogger(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, logs := newManager(t, dir, nil)
	impl, _ := m.Get("echo")
	echo(t, impl)
	// go-plugin reports the plugin's start through the plugin logger.
	if !strings.Contains(logs.String(), "plugin=echo") {
		t.Fatalf("no plugin-tagged log line:\n%s", logs)
	}
}

// With Background, NewManager returns while plugins load; Wait waits for
// one of them (or gives up with its context) and Loading lists them.
func TestBackgroundLoadAndWait(t *testing.T) {
	dir := t.TempDir()
	testbin.Install(t, testbin.SlowEcho(t, "slow", "1.0.0", "3s"), dir, "atom-provider-slow", 0o755)
	testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(t, dir, func(c *Config) { c.Background = true; c.InitialLoads = 2 })

	if got := m.Loading(); !slices.Contains(got, "slow") {
		t.Fatalf("Loading() = %v right after NewManager, want slow in it (the 3 s handshake cannot be over)", got)
	}
	if _, ok := m.Get("slow"); ok {
		t.Fatal("slow served before its handshake")
	}
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Wait(short, "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a context ending before the load: %v", err)
	}
	if err := m.Wait(context.Background(), "nosuch"); err != nil {
		t.Fatalf("Wait for an id not loading: %v", err)
	}
	if err := m.Wait(context.Background(), "slow"); err != nil {
		t.Fatal(err)
	}
	impl, ok := m.Get("slow")
	if !ok {
		t.Fatalf("slow not served after Wait: %+v", m.List())
	}
	if out := echo(t, impl); out.Version != "1.0.0" {
		t.Fatalf("echo: %+v", out)
	}
	if err := m.Wait(context.Background(), "echo"); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("echo"); !ok {
		t.Fatal("echo not served after Wait")
	}
	if got := m.Loading(); len(got) != 0 {
		t.Fatalf("Loading() = %v after every load finished", got)
	}
}

// A plugin that fails to load ends the wait too: Wait returns and Get
// says no plugin.
func TestWaitEndsOnFailedLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "atom-provider-broken"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := newManager(t, dir, func(c *Config) { c.Background = true })
	if err := m.Wait(context.Background(), "broken"); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("broken"); ok {
		t.Fatal("a broken binary is served")
	}
	if st := info(m, "broken").State; st == "" {
		t.Fatalf("broken has no failure state: %+v", info(m, "broken"))
	}
}

// TestPluginProcs: a plugin process runs with Procs processors, and a
// GOMAXPROCS the operator put in the plugin environment wins.
func TestPluginProcs(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"procs", func(c *Config) { c.Procs = 2 }, "2"},
		{"env", func(c *Config) { c.Procs, c.Env = 2, []string{"GOMAXPROCS=3"} }, "3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
			m, _ := newManager(t, dir, tc.cfg)
			impl, ok := m.Get("echo")
			if !ok {
				t.Fatalf("echo not loaded: %+v", m.List())
			}
			if env := pluginEnv(t, impl, "GOMAXPROCS"); env["value"] != tc.want {
				t.Fatalf("GOMAXPROCS %v, want %s", env, tc.want)
			}
		})
	}
}

// pluginEnv asks the echo plugin for one variable of its environment:
// {"set": bool, "value": string}.
func pluginEnv(t *testing.T, impl runtimes.Implementation, name string) map[string]any {
	t.Helper()
	resp, err := call(t, impl, "env", map[string]string{"name": name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]any
	providertest.Output(t, resp, &env)
	return env
}
