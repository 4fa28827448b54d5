package jspiece

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/tetratelabs/wazero/sys"
)

// memHost is the host side of a call: the tenant's store in memory and the
// log lines the call wrote.
type memHost struct {
	mu    sync.Mutex
	store map[string][]byte
	logs  []string
}

func newMemHost() *memHost { return &memHost{store: map[string][]byte{}} }

func (h *memHost) Refresh(context.Context) (provider.Credentials, error) {
	return provider.Credentials{}, errors.New("no refresh")
}
func (h *memHost) StoreGet(_ context.Context, key string) ([]byte, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.store[key]
	return v, ok, nil
}
func (h *memHost) StorePut(_ context.Context, key string, value []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.store[key] = value
	return nil
}
func (h *memHost) Log(_ context.Context, level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, level+": "+msg)
}

// loadHostile loads testdata/hostile.js declaring hosts, on a runtime
// with a small memory cap and a short deadline, through the host's real
// outbound client (which may reach only allowPrivate among private
// addresses).
func loadHostile(t *testing.T, hosts []string, rewrite map[string]string, allowPrivate ...string) *Piece {
	t.Helper()
	src, err := os.ReadFile("testdata/hostile.js")
	if err != nil {
		t.Fatal(err)
	}
	ob := outbound.New(outbound.Config{AllowPrivateHosts: allowPrivate, Rate: -1})
	t.Cleanup(ob.Close)
	r := newRuntime(t, Config{MemoryPages: 1024, CallTimeout: 3 * time.Second, Outbound: ob, Rewrite: rewrite})
	p, err := r.Load(context.Background(), Artifact{ID: "hostile", Hosts: hosts, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func call(p *Piece, tenant, action string, input any, host *memHost) (provider.Response, error) {
	in, _ := json.Marshal(input)
	if host == nil {
		host = newMemHost()
	}
	return p.Execute(context.Background(), provider.Request{TenantID: tenant, ExecutionID: "ex-" + action, Action: action, Input: in}, host)
}

// echo is a fake upstream that answers the JSON it receives.
func echo(t *testing.T) (*httptest.Server, string) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return srv, u.Host
}

func TestHostilePieceContainedBesideHealthyCalls(t *testing.T) {
	srv, hostport := echo(t)
	p := loadHostile(t, []string{"api.healthy.test"}, map[string]string{"api.healthy.test": srv.URL}, hostport)

	healthy := func(n int) {
		t.Helper()
		resp, err := call(p, "tenant-a", "healthy", map[string]any{"url": "https://api.healthy.test/echo", "n": n}, nil)
		if err != nil {
			t.Fatalf("healthy call %d: %v", n, err)
		}
		var out struct {
			Status int
			Body   struct{ N int }
		}
		if err := json.Unmarshal(resp.Output, &out); err != nil || out.Status != 200 || out.Body.N != n {
			t.Fatalf("healthy call %d answered %s (%v)", n, resp.Output, err)
		}
	}
	healthy(1)

	cases := []struct {
		action string
		input  map[string]any
		want   error
	}{
		{"loop", nil, ErrDeadline},
		{"sleep_forever", nil, ErrDeadline},
		{"bomb", nil, ErrMemoryLimit},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := call(p, "tenant-b", c.action, c.input, nil)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.action, err, c.want)
			}
		}()
	}
	// Healthy calls of another tenant run while the hostile ones do.
	for i := 2; i < 5; i++ {
		healthy(i)
	}
	wg.Wait()
	healthy(5)
}

func TestOutputLimitAndConcurrencyBound(t *testing.T) {
	src, err := os.ReadFile("testdata/hostile.js")
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, Config{MaxOutputBytes: 1 << 20, MaxConcurrent: 1, CallTimeout: 4 * time.Second})
	p, err := r.Load(context.Background(), Artifact{ID: "hostile", Source: src})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := call(p, "t", "big_output", nil, nil); !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("big output: %v", err)
	}
	// With one slot, a call with a shorter deadline than a loop holding
	// the slot fails at its own deadline.
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { close(started); _, err := call(p, "a", "loop", nil, nil); done <- err }()
	<-started
	hosttestWait(t, func() bool { return len(p.sem) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = p.Execute(ctx, provider.Request{TenantID: "b", Action: "store", Input: json.RawMessage(`{}`)}, newMemHost())
	cancel()
	if !errors.Is(err, ErrDeadline) {
		t.Fatalf("second call beside a loop with one slot: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrDeadline) {
		t.Fatalf("loop: %v", err)
	}
	if resp, err := call(p, "b", "store", nil, nil); err != nil || resp.Failed() {
		t.Fatalf("after the loop: %v %+v", err, resp)
	}
}

// hosttestWait polls cond for up to 10s.
func hosttestWait(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10s")
}

func TestFetchRefusedOutsideDeclaredHosts(t *testing.T) {
	_, hostport := echo(t)
	// 127.0.0.1 is declared, but the outbound client's SSRF guard refuses
	// private addresses it was not told to allow.
	p := loadHostile(t, []string{"127.0.0.1", "api.healthy.test"}, nil)
	for _, c := range []struct{ url, code string }{
		{"http://" + hostport + "/", "address_forbidden"},
		{"https://undeclared.example.com/", "host_not_allowed"},
		{"http://localhost:1/", "host_not_allowed"},
		{"file:///etc/passwd", "invalid_url"},
	} {
		resp, err := call(p, "t", "fetch", map[string]any{"url": c.url}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.url, err)
		}
		if !resp.Failed() || !strings.Contains(resp.Diagnostics[0].Summary, "fetch failed") {
			t.Fatalf("%s: fetch was not refused: %+v %s", c.url, resp.Diagnostics, resp.Output)
		}
		if !strings.Contains(resp.Diagnostics[0].Summary, "("+c.code+")") {
			t.Errorf("%s: refusal %q does not say %s", c.url, resp.Diagnostics[0].Summary, c.code)
		}
	}
}

func TestNoStateLeaksAcrossTenants(t *testing.T) {
	p := loadHostile(t, nil, nil)
	first, err := call(p, "tenant-a", "remember", map[string]any{"secret": "a-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(first.Output) != `{"global":null,"proto":null}` {
		t.Fatalf("a fresh instance holds state: %s", first.Output)
	}
	// The same tenant gets its instance back (the piece may cache).
	again, err := call(p, "tenant-a", "remember", map[string]any{"secret": "a-secret-2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(again.Output) != `{"global":"a-secret","proto":"a-secret"}` {
		t.Fatalf("tenant-a's second call: %s", again.Output)
	}
	other, err := call(p, "tenant-b", "remember", map[string]any{"secret": "b-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(other.Output), "secret") {
		t.Fatalf("tenant-b sees tenant-a's globals or prototype: %s", other.Output)
	}
}

func TestStoreAuthAndConsole(t *testing.T) {
	p := loadHostile(t, nil, nil)
	h := newMemHost()
	for want := 1; want <= 2; want++ {
		in, _ := json.Marshal(map[string]any{})
		resp, err := p.Execute(context.Background(), provider.Request{TenantID: "t", ExecutionID: "e", Action: "store", Input: in,
			Credentials: provider.Credentials{Type: "api_key", APIKey: "k-1"}}, h)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Count int
			Auth  map[string]string
		}
		if err := json.Unmarshal(resp.Output, &out); err != nil || out.Count != want {
			t.Fatalf("call %d: %s", want, resp.Output)
		}
		if out.Auth["type"] != "SECRET_TEXT" || out.Auth["secret_text"] != "k-1" || out.Auth["string"] != "k-1" {
			t.Fatalf("context.auth = %v", out.Auth)
		}
	}
	if string(h.store["count"]) != "2" {
		t.Fatalf("store holds %q", h.store["count"])
	}
	if len(h.logs) != 2 || h.logs[1] != "info: count is 2" {
		t.Fatalf("logs = %q", h.logs)
	}
	resp, err := call(p, "t", "throws", nil, nil)
	if err != nil || !resp.Failed() || resp.Diagnostics[0].Summary != "provider said no" {
		t.Fatalf("throwing action: %+v %v", resp, err)
	}
}

// TestFetchRedirectsCheckedPerHop: the host follows redirects itself, and
// each hop must pass the declared hosts again.
func TestFetchRedirectsCheckedPerHop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/in":
			http.Redirect(w, r, "/final", http.StatusFound)
		case "/out":
			http.Redirect(w, r, "https://evil.example.com/steal", http.StatusFound)
		default:
			io.WriteString(w, "arrived at "+r.URL.Path)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	p := loadHostile(t, []string{"api.healthy.test"}, map[string]string{"api.healthy.test": srv.URL}, u.Host)
	resp, err := call(p, "t", "fetch", map[string]any{"url": "https://api.healthy.test/in"}, nil)
	if err != nil || resp.Failed() || string(resp.Output) != `"arrived at /final"` {
		t.Fatalf("redirect within the declared host: %s %+v %v", resp.Output, resp.Diagnostics, err)
	}
	resp, err = call(p, "t", "fetch", map[string]any{"url": "https://api.healthy.test/out"}, nil)
	if err != nil || !resp.Failed() || !strings.Contains(resp.Diagnostics[0].Summary, "host_not_allowed") {
		t.Fatalf("redirect to an undeclared host: %s %+v %v", resp.Output, resp.Diagnostics, err)
	}
}

// TestRecycleGrownInstance: an instance whose memory grew by more than
// the recycle margin since the snapshot is discarded after its call (the
// engine would soon spend a collection on it); the tenant's next call
// starts from a copy of the snapshot. One that did not grow is pooled.
func TestRecycleGrownInstance(t *testing.T) {
	p := loadHostile(t, nil, nil)
	idle := func() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.idle) }
	if resp, err := call(p, "t", "cycles", map[string]any{"mb": 1}, nil); err != nil || resp.Failed() {
		t.Fatalf("small: %v %+v", err, resp)
	}
	if idle() != 1 {
		t.Fatalf("an instance that stayed small was not pooled: %d idle", idle())
	}
	mb := p.rt.recycleAt()>>20 + 4
	if resp, err := call(p, "t", "cycles", map[string]any{"mb": mb}, nil); err != nil || resp.Failed() {
		t.Fatalf("grow %d MiB: %v %+v", mb, err, resp)
	}
	if idle() != 0 {
		t.Fatalf("an instance that grew past %d MiB was pooled", p.rt.recycleAt()>>20)
	}
	if resp, err := call(p, "t", "store", map[string]any{}, nil); err != nil || resp.Failed() {
		t.Fatalf("after the recycle: %v %+v", err, resp)
	}
}

// TestClosedIdleInstanceNotReused: wazero's context watcher can close a
// module just after its call returned (the deadline passing as the guest
// finished). Such an instance must not serve the next call.
func TestClosedIdleInstanceNotReused(t *testing.T) {
	p := loadHostile(t, nil, nil)
	if _, err := call(p, "tenant-a", "remember", map[string]any{"secret": "s"}, nil); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	idle := append([]*instance(nil), p.idle...)
	p.mu.Unlock()
	if len(idle) == 0 {
		t.Fatal("no idle instance after a successful call")
	}
	for _, in := range idle {
		if err := in.mod.CloseWithExitCode(context.Background(), sys.ExitCodeDeadlineExceeded); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := call(p, "tenant-a", "remember", map[string]any{"secret": "s"}, nil)
	if err != nil || resp.Failed() {
		t.Fatalf("the next call: %+v %v", resp, err)
	}
}
