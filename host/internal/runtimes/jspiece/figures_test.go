package jspiece

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"testing"
	"time"

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
	p.mu.Lock()
	for _, in := range p.idle {
		t.Logf("warm instance memory: %.1f MiB", float64(in.mod.Memory().Size())/(1<<20))
	}
	p.mu.Unlock()
}

func round(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
