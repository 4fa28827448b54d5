package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hostrt "github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// TestPieceIDBoundToFileName: a module declaring an id other than its
// file name is refused, whatever it declares; a name given without
// ".wasm" only labels the module.
func TestPieceIDBoundToFileName(t *testing.T) {
	rt := testRuntime(t, Config{})
	for _, name := range []string{"yy-stripe", "hostile-flip", "sandbox-v2"} {
		b, err := os.ReadFile(modulePath(name))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		// The module of yy-stripe declares "stripe": as yy-stripe.wasm,
		// and under any other name but stripe.wasm, it is refused.
		for _, file := range []string{name + ".wasm", "stripe-x.wasm", "other.wasm"} {
			path := filepath.Join(dir, file)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := rt.Load(path)
			if name == "hostile-flip" && file == name+".wasm" {
				if err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				p.Close()
				continue
			}
			if !errors.Is(err, ErrIdentity) || !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "must be named <id>.wasm") {
				if p != nil {
					p.Close()
				}
				t.Fatalf("%s as %s: %v", name, file, err)
			}
			if _, err := rt.LoadBytes(file, b); !errors.Is(err, ErrIdentity) {
				t.Fatalf("LoadBytes %s as %s: %v", name, file, err)
			}
		}
	}
	// Claim refuses an id held elsewhere, even for a well-named file.
	claimed := testRuntime(t, Config{Claim: func(id string) error {
		if id == "sandbox" {
			return errors.New("sandbox is served by a native plugin")
		}
		return nil
	}})
	if _, err := claimed.Load(modulePath("sandbox")); !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), "native plugin") {
		t.Fatalf("claimed id: %v", err)
	}
	load(t, claimed, "hostile")
}

// TestManifestReadOncePerChecksum: the host asks a module for its manifest
// once; loading the same bytes again, in this runtime or in a new one
// sharing the cache directory (a restart), reuses it, so a module whose
// manifest would name another provider later never gets to.
func TestManifestReadOncePerChecksum(t *testing.T) {
	cache := t.TempDir()
	rt := testRuntime(t, Config{CacheDir: cache})
	first := load(t, rt, "hostile-flip")
	if got := callOK(t, first, "a", "manifest_calls", nil, nil)["calls"]; got != float64(1) {
		t.Fatalf("first load: atom_manifest called %v times", got)
	}
	for i, r := range []*Runtime{rt, testRuntime(t, Config{CacheDir: cache})} {
		p := load(t, r, "hostile-flip")
		if p.Spec().ID != "hostile-flip" || p.Manifest().ID != "hostile-flip" {
			t.Fatalf("load %d: id %q", i, p.Spec().ID)
		}
		// The flipping module now answers "sandbox" (it executed): the
		// host does not ask.
		callOK(t, p, "a", "echo", nil, nil)
		if got := callOK(t, p, "a", "manifest_calls", nil, nil)["calls"]; got != float64(0) {
			t.Fatalf("load %d: atom_manifest called %v times", i, got)
		}
	}
}

// TestLoadDeadlines: a manifest or a module init that never returns fails
// the load within LoadTimeout; the loader keeps loading the pieces beside
// it and reports the refused files.
func TestLoadDeadlines(t *testing.T) {
	// Cold modules load on the interpreter, whose deadline is
	// interpreterSlowdown times LoadTimeout: 8 s, generous enough for a Go
	// module's init on a busy machine while the two hanging pieces spin
	// on both cores.
	rt := testRuntime(t, Config{LoadTimeout: 2 * time.Second})
	for _, name := range []string{"hostile-hang", "hostile-inithang"} {
		_, err := rt.Load(modulePath(name))
		if !errors.Is(err, ErrDeadline) || !strings.Contains(err.Error(), "did not return within 8s") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"hostile-hang", "hostile-inithang", "sandbox", "hostile"} {
		install(t, dir, name, name+".wasm")
	}
	l, err := NewLoader(rt, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range []string{"sandbox", "hostile"} {
		h, ok := l.Handle(id)
		if !ok {
			t.Fatalf("%s not loaded beside the hanging pieces: %v", id, l.Refused())
		}
		callOK(t, h, "a", "echo", nil, nil)
	}
	refused := l.Refused()
	for _, name := range []string{"hostile-hang.wasm", "hostile-inithang.wasm"} {
		if !strings.Contains(refused[name], "did not return") {
			t.Fatalf("refused %s: %q", name, refused[name])
		}
	}
}

// TestCloseStopsHangingLoad: closing a loader stops a load whose guest
// never returns, however long its deadline.
func TestCloseStopsHangingLoad(t *testing.T) {
	rt := testRuntime(t, Config{LoadTimeout: time.Hour, CacheDir: t.TempDir()})
	asking := make(chan struct{})
	var once sync.Once
	rt.beforeManifest = func() { once.Do(func() { close(asking) }) }
	dir := t.TempDir()
	install(t, dir, "hostile-hang", "hostile-hang.wasm")
	l, err := StartLoader(rt, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-asking
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close blocked by a manifest that never returns")
	}
	if _, ok := l.Handle("hostile-hang"); ok {
		t.Fatal("hanging piece loaded")
	}
}

// TestCloseStopsCallsInFlight: a loader's Close stops the calls under way
// instead of waiting out their deadlines.
func TestCloseStopsCallsInFlight(t *testing.T) {
	rt := testRuntime(t, Config{CallTimeout: time.Hour})
	dir := t.TempDir()
	install(t, dir, "hostile", "hostile.wasm")
	l, err := NewLoader(rt, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := l.Handle("hostile")
	errs := make(chan error, 1)
	go func() {
		_, err := call(t, h, "a", "sleep", nil, nil)
		errs <- err
	}()
	waitFor(t, "the sleeping call", func() bool { return h.Current().InFlight("a") == 1 })
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close waited for a sleeping guest")
	}
	if err := <-errs; err == nil {
		t.Fatal("the sleeping call succeeded")
	}
}

// TestOversizedManifestAndOutput: a manifest over MaxManifestBytes refuses
// the module; a result over MaxOutputBytes fails the call before the host
// copies it, the instance is discarded, and the piece serves on.
func TestOversizedManifestAndOutput(t *testing.T) {
	// The load's deadline is long: only the manifest's size may refuse it,
	// however slowly a busy machine builds it.
	rt := testRuntime(t, Config{MaxOutputBytes: 1 << 20, LoadTimeout: time.Minute})
	if _, err := rt.Load(modulePath("hostile-bigmanifest")); !errors.Is(err, ErrManifestLimit) || !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("big manifest: %v", err)
	}
	p := load(t, rt, "hostile")
	for _, mib := range []int{2, 8, 40} {
		_, err := call(t, p, "a", "big", map[string]int{"mib": mib}, nil)
		if !errors.Is(err, ErrOutputLimit) || !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "the limit is 1048576") {
			t.Fatalf("%d MiB output: %v", mib, err)
		}
		callOK(t, p, "a", "echo", nil, nil)
	}
	if s := p.Stats(); s.Discarded != 3 {
		t.Fatalf("stats %+v: oversized-output instances not discarded", s)
	}
}

// quotaHost refuses store writes past max keys, as the host's quota does.
type quotaHost struct {
	*memHost
	max int
}

func (h quotaHost) StorePut(ctx context.Context, key string, value []byte) error {
	h.mu.Lock()
	n := len(h.store)
	h.mu.Unlock()
	if n >= h.max {
		return errors.New("keys: " + hostrt.ErrStoreQuota.Error())
	}
	return h.memHost.StorePut(ctx, key, value)
}

// TestStoreAndLogFloods: a piece writing past the store quota gets a
// refusal it can read, and its log lines past the per-call limit are
// dropped.
func TestStoreAndLogFloods(t *testing.T) {
	rt := testRuntime(t, Config{MaxLogBytesPerCall: 8 << 10})
	p := load(t, rt, "hostile")
	h := quotaHost{newMemHost(), 5}
	out := callOK(t, p, "a", "flood", map[string]int{"keys": 300, "bytes": 100}, quotaHostWrap{h})
	if out["stored"] != float64(5) || out["status"] == float64(0) {
		t.Fatalf("flood: %v", out)
	}
	big := quotaHost{newMemHost(), 1000}
	out = callOK(t, p, "a", "flood", map[string]int{"keys": 3, "bytes": 2 << 20}, big)
	if out["stored"] != float64(0) {
		t.Fatalf("oversized value stored: %v", out)
	}
	logs := newMemHost()
	callOK(t, p, "a", "logflood", map[string]int{"lines": 1000, "bytes": 1000}, logs)
	total := 0
	for _, l := range logs.logs {
		total += len(l)
	}
	if len(logs.logs) > 100 || total > 9<<10 {
		t.Fatalf("%d log lines, %d bytes kept", len(logs.logs), total)
	}
}

// quotaHostWrap passes the quota error through unwrapped by errors.New, so
// the test checks the runtime matches the sentinel itself.
type quotaHostWrap struct{ quotaHost }

func (h quotaHostWrap) StorePut(ctx context.Context, key string, value []byte) error {
	if err := h.quotaHost.StorePut(ctx, key, value); err != nil {
		return errors.Join(hostrt.ErrStoreQuota, err)
	}
	return nil
}

// TestSlowTenantDoesNotStarveOthers: tenant A's calls that never finish
// hold at most TenantPoolSize instances; tenant B's calls complete while
// all of A's are still in flight.
func TestSlowTenantDoesNotStarveOthers(t *testing.T) {
	rt := testRuntime(t, Config{PoolSize: 4, TenantPoolSize: 2, CallTimeout: time.Hour})
	p := load(t, rt, "hostile")
	ctx, cancel := context.WithCancel(context.Background())
	var aDone atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = p.Execute(ctx, provider.Request{ExecutionID: "e", TenantID: "a", Action: "sleep", Input: []byte(`{}`)}, newMemHost())
			aDone.Add(1)
		}()
	}
	waitFor(t, "tenant a's calls to hold their slots", func() bool { return p.InFlight("a") == 2 })
	var bwg sync.WaitGroup
	var bOK atomic.Int32
	for range 4 {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for range 5 {
				if resp, err := call(t, p, "b", "echo", nil, nil); err == nil && !resp.Failed() {
					bOK.Add(1)
				}
			}
		}()
	}
	bwg.Wait()
	if bOK.Load() != 20 || aDone.Load() != 0 || p.InFlight("a") != 2 {
		t.Fatalf("b: %d of 20 calls ok; a: %d calls returned, %d in flight", bOK.Load(), aDone.Load(), p.InFlight("a"))
	}
	cancel()
	wg.Wait()
}

// TestPrivateHostsScopedPerPiece: a host the outbound client lets reach a
// private address is refused to a piece unless it is granted to that
// piece: by PrivateHosts, a Rewrite rule scoped to it, or its base URL.
func TestPrivateHostsScopedPerPiece(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{}`)
	}))
	defer fake.Close()
	shared := []string{"127.0.0.1"}
	cases := []struct {
		name    string
		cfg     Config
		baseURL string
		url     string
		ok      bool
	}{
		{"shared host, not granted", Config{SharedPrivateHosts: shared}, "", fake.URL, false},
		{"granted to another piece", Config{SharedPrivateHosts: shared, PrivateHosts: map[string][]string{"sandbox": {"127.0.0.1"}}}, "", fake.URL, false},
		{"granted on another port", Config{SharedPrivateHosts: shared, PrivateHosts: map[string][]string{"hostile": {"127.0.0.1:1"}}}, "", fake.URL, false},
		{"granted to this piece", Config{SharedPrivateHosts: shared, PrivateHosts: map[string][]string{"hostile": {"127.0.0.1"}}}, "", fake.URL, true},
		{"granted host:port", Config{SharedPrivateHosts: shared, PrivateHosts: map[string][]string{"hostile": {strings.TrimPrefix(fake.URL, "http://")}}}, "", fake.URL, true},
		{"its base URL", Config{SharedPrivateHosts: shared}, fake.URL, fake.URL, true},
		{"rewrite scoped to another piece", Config{SharedPrivateHosts: shared, Rewrite: map[string]string{"sandbox/allowed.test": fake.URL}}, "", "http://allowed.test/", false},
		{"rewrite scoped to this piece", Config{SharedPrivateHosts: shared, Rewrite: map[string]string{"hostile/allowed.test": fake.URL}}, "", "http://allowed.test/", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rt := testRuntime(t, c.cfg)
			p := load(t, rt, "hostile")
			in := []byte(`{"url":"` + c.url + `"}`)
			resp, err := p.Execute(context.Background(), provider.Request{ExecutionID: "e", TenantID: "a", Action: "http", Input: in, BaseURL: c.baseURL}, newMemHost())
			if err != nil || resp.Failed() {
				t.Fatalf("%v %+v", err, resp)
			}
			got := string(resp.Output)
			if c.ok != strings.Contains(got, `"http_status":200`) {
				t.Fatalf("output %s, reach want %v", got, c.ok)
			}
			if !c.ok && c.name != "rewrite scoped to another piece" && !strings.Contains(got, "host_not_allowed") {
				t.Fatalf("output %s: not refused by the private-host rule", got)
			}
		})
	}
}

// TestOversizedOutputsReleaseMemory: eight concurrent calls that build
// 60 MiB results fail on the size limit, and none of their instances is
// kept: the memory they grew is released.
func TestOversizedOutputsReleaseMemory(t *testing.T) {
	rt := testRuntime(t, Config{})
	p := loadOn(t, rt, "hostile", EngineCompiled)
	before := p.Stats()
	rssBefore := rss(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := call(t, p, fmt.Sprintf("t%d", i), "big", map[string]int{"mib": 60}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrOutputLimit) {
			t.Fatalf("60 MiB output: %v", err)
		}
	}
	after := p.Stats()
	if after.Discarded-before.Discarded != 8 || after.Idle > before.Idle {
		t.Fatalf("stats before %+v after %+v: instances with 60 MiB results kept", before, after)
	}
	runtime.GC()
	debug.FreeOSMemory()
	t.Logf("host RSS %d MiB before, %d MiB after 8 × 60 MiB outputs (MaxOutputBytes %d MiB)", rssBefore>>20, rss(t)>>20, rt.Config().MaxOutputBytes>>20)
}

// rss returns this process's resident set size.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
