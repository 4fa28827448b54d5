package jspiece

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/outbound"

	"github.com/tetratelabs/wazero"

	"github.com/atomhq/atom/sdk/provider"
)

// TestFigures prints the figures BENCHMARKS.md reports for the JS piece
// runtime. It measures and asserts nothing about time; run it with
// ATOM_JSPIECE_FIGURES=1 go test ./host/internal/runtimes/jspiece -run Figures -v
func TestFigures(t *testing.T) {
	if os.Getenv("ATOM_JSPIECE_FIGURES") == "" {
		t.Skip("set ATOM_JSPIECE_FIGURES=1 to print the figures")
	}
	ctx := context.Background()
	t.Logf("engine: %d bytes, sha256 %s", len(engineWasm), EngineChecksum())

	for _, cached := range []bool{false, true} {
		dir := t.TempDir()
		if cached {
			r, err := NewRuntime(ctx, Config{CacheDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			r.Close(ctx)
		}
		start := time.Now()
		r, err := NewRuntime(ctx, Config{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("engine compile (file cache warm=%v): %s", cached, time.Since(start).Round(time.Millisecond))
		r.Close(ctx)
	}
	irt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	start := time.Now()
	if _, err := irt.CompileModule(ctx, engineWasm); err != nil {
		t.Fatal(err)
	}
	t.Logf("engine compile (interpreter): %s", time.Since(start).Round(time.Millisecond))
	irt.Close(ctx)

	src := bundled(t, "@activepieces/piece-slack")
	t.Logf("slack bundle: %d bytes", len(src))
	srv, _ := fakeUpstream(t, `{"ok":true,"channel":"C1","ts":"1.2"}`)
	p := loadNPM(t, "@activepieces/piece-slack", "slack", []string{"slack.com"}, srv)
	var loads []time.Duration
	for i := 0; i < 3; i++ {
		start := time.Now()
		in, err := p.rt.newInstance(ctx, p.src)
		if err != nil {
			t.Fatal(err)
		}
		loads = append(loads, time.Since(start))
		if i == 0 {
			t.Logf("instance memory after the bundle loaded: %.1f MiB", float64(in.mod.Memory().Size())/(1<<20))
		}
		in.close()
	}
	t.Logf("slack bundle load into a new instance (parse and run): %v", round(loads))
	var clones []time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		in, err := p.rt.clone(ctx, p.snap)
		if err != nil {
			t.Fatal(err)
		}
		clones = append(clones, time.Since(start))
		in.close()
	}
	t.Logf("new instance from the snapshot (%.1f MiB): %v", float64(len(p.snap))/(1<<20), round(clones))

	req := provider.Request{TenantID: "t1", ExecutionID: "e", Action: "send_channel_message",
		Input: json.RawMessage(`{"channel":"C1","text":"hello"}`), Credentials: provider.Credentials{Type: "oauth2", AccessToken: "x"}}
	for i := 0; i < 3; i++ {
		// A tenant's first call: an instance cloned from the snapshot.
		req.TenantID = "cold-" + string(rune('a'+i))
		start := time.Now()
		if _, err := p.Execute(ctx, req, newMemHost()); err != nil {
			t.Fatal(err)
		}
		t.Logf("a new tenant's first call: %s", time.Since(start).Round(time.Millisecond))
	}
	req.TenantID = "t1"
	if _, err := p.Execute(ctx, req, newMemHost()); err != nil {
		t.Fatal(err)
	}
	var calls []time.Duration
	for i := 0; i < 50; i++ {
		start := time.Now()
		resp, err := p.Execute(ctx, req, newMemHost())
		if err != nil || resp.Failed() {
			t.Fatal(err, resp.Diagnostics)
		}
		calls = append(calls, time.Since(start))
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	t.Logf("warm send_channel_message (fake upstream on loopback): p50 %s p90 %s", calls[len(calls)/2].Round(time.Microsecond), calls[len(calls)*9/10].Round(time.Microsecond))
	goBaseline(t, srv)
	p.mu.Lock()
	for _, in := range p.idle {
		t.Logf("warm instance memory: %.1f MiB", float64(in.mod.Memory().Size())/(1<<20))
	}
	p.mu.Unlock()

	coldFigures(t, src, srv)
	rssFigures(t)
}

// goBaseline: what a Go piece pays for the same call, interleaved with
// nothing else: the same form POST to the same fake, through the host's
// outbound client, its JSON answer decoded.
func goBaseline(t *testing.T, srv *httptest.Server) {
	u, _ := url.Parse(srv.URL)
	ob := outbound.New(outbound.Config{AllowPrivateHosts: []string{u.Host}, Rate: -1})
	defer ob.Close()
	var calls []time.Duration
	for i := 0; i < 55; i++ {
		start := time.Now()
		form := url.Values{"channel": {"C1"}, "text": {"hello"}, "blocks": {`[{"type":"section","text":{"type":"mrkdwn","text":"hello"}}]`}}
		req, _ := http.NewRequestWithContext(context.Background(), "POST", srv.URL+"/api/chat.postMessage", strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer x")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := ob.Do(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out["ok"] != true {
			t.Fatal(err, out)
		}
		res.Body.Close()
		if i >= 5 {
			calls = append(calls, time.Since(start))
		}
	}
	sort.Slice(calls, func(i, j int) bool { return calls[i] < calls[j] })
	t.Logf("the same request from Go through the outbound client (a Go piece's floor): p50 %s p90 %s", calls[len(calls)/2].Round(time.Microsecond), calls[len(calls)*9/10].Round(time.Microsecond))
}

// coldFigures: a Slack artifact file added to a plugin directory → its
// first successful call, by what the cache directory already holds.
func coldFigures(t *testing.T, src []byte, srv *httptest.Server) {
	ctx := context.Background()
	plugins := t.TempDir()
	if _, err := Write(plugins, Artifact{ID: "slack", Package: "@activepieces/piece-slack", Hosts: []string{"slack.com"}, Source: src}, nil); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(srv.URL)
	ob := outbound.New(outbound.Config{AllowPrivateHosts: []string{u.Host}, Rate: -1})
	defer ob.Close()
	req := provider.Request{TenantID: "t1", ExecutionID: "e", Action: "send_channel_message",
		Input: json.RawMessage(`{"channel":"C1","text":"hello"}`), Credentials: provider.Credentials{Type: "oauth2", AccessToken: "x"}}
	first := func(cache string) (time.Duration, time.Duration, time.Duration) {
		start := time.Now()
		r, err := NewRuntime(ctx, Config{CacheDir: cache, Outbound: ob, Rewrite: map[string]string{"slack.com": srv.URL}})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close(ctx)
		compiled := time.Since(start)
		ps, err := r.LoadDir(ctx, plugins)
		if err != nil || len(ps) != 1 {
			t.Fatal(err, len(ps))
		}
		defer ps[0].Close()
		loaded := time.Since(start)
		resp, err := ps[0].Execute(ctx, req, newMemHost())
		if err != nil || resp.Failed() {
			t.Fatal(err, resp.Diagnostics)
		}
		return compiled, loaded, time.Since(start)
	}
	for i := 0; i < 2; i++ {
		cache := t.TempDir()
		c, l, d := first(cache)
		t.Logf("file added → first call, empty cache directory: %s (engine compiled %s, bundle loaded %s)", d.Round(time.Millisecond), c.Round(time.Millisecond), l.Round(time.Millisecond))
		// The engine's compiled code cached, the bundle new to the cache.
		os.RemoveAll(filepath.Join(cache, "jspiece"))
		c, l, d = first(cache)
		t.Logf("file added → first call, engine in the compilation cache, bundle not: %s (engine %s, bundle loaded %s)", d.Round(time.Millisecond), c.Round(time.Millisecond), l.Round(time.Millisecond))
		c, l, d = first(cache)
		t.Logf("file added → first call, engine and bundle snapshot in the cache (a restart): %s (engine %s, bundle loaded %s)", d.Round(time.Millisecond), c.Round(time.Millisecond), l.Round(time.Millisecond))
	}
}

// rssFigures: the process's resident memory with 10 JS pieces of the
// survey loaded (skipped without the survey's install).
func rssFigures(t *testing.T) {
	if _, err := os.Stat(filepath.Join(filepath.Dir(npmPieces(t)), "jspieces-survey", ".installed")); err != nil {
		t.Log("host RSS with 10 pieces: run scripts/jspieces-survey.sh first")
		return
	}
	dir := surveyPieces(t)
	ids := []string{"slack", "openai", "hubspot", "discord", "todoist", "clickup", "airtable", "twilio", "telegram-bot", "google-sheets"}
	var srcs [][]byte
	for _, id := range ids {
		b, err := Bundle(dir, "@activepieces/piece-"+id)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b)
	}
	ctx := context.Background()
	r, err := NewRuntime(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	runtime.GC()
	before := vmRSS(t)
	var ps []*Piece
	var guest uint64
	for i, id := range ids {
		p, err := r.Load(ctx, Artifact{ID: id, Source: srcs[i]})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
		guest += uint64(len(p.snap))
	}
	runtime.GC()
	after := vmRSS(t)
	t.Logf("host RSS with 10 JS pieces loaded (each holds its snapshot): %.0f MiB before, %.0f MiB after (+%.0f MiB; snapshots total %.0f MiB)",
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after-before)/(1<<20), float64(guest)/(1<<20))
	for _, p := range ps {
		p.Close()
	}
}

func vmRSS(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func round(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
