package wasm

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"testing"
	"time"

	"github.com/atomhq/atom/sdk/provider"
)

var echoReq = provider.Request{
	ExecutionID: "e", TenantID: "t", Action: "echo", Input: json.RawMessage(`{"text":"hi"}`),
	Credentials: provider.Credentials{Type: "api_key", APIKey: "k"},
}

// reportLatency records p50 and p99 of samples as benchmark metrics.
func reportLatency(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	if len(samples) == 0 {
		return
	}
	b.ReportMetric(float64(samples[len(samples)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkWarmCall measures one pooled call of a trivial action (JSON in
// and out) through Piece.Execute: Go SDK module compiled and on the
// interpreter (as a cold piece runs until its compilation ends), and
// hand-written WAT module.
func BenchmarkWarmCall(b *testing.B) {
	for _, bc := range []struct{ name, module, engine string }{
		{"sandbox", "sandbox", EngineCompiled},
		{"sandbox-interpreter", "sandbox", EngineInterpreter},
		{"text-utils", "text-utils", EngineCompiled},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rt := engineRuntime(b, bc.engine, Config{})
			p := loadOn(b, rt, bc.module, bc.engine)
			h := newMemHost()
			ctx := context.Background()
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				resp, err := p.Execute(ctx, echoReq, h)
				samples = append(samples, time.Since(start))
				if err != nil || resp.Failed() {
					b.Fatal(err, resp.Diagnostics)
				}
			}
			reportLatency(b, samples)
		})
	}
}

// BenchmarkParallelCalls measures throughput with 8 goroutines on one
// piece (pool of 8 instances).
func BenchmarkParallelCalls(b *testing.B) {
	rt := testRuntime(b, Config{PoolSize: 8})
	p := load(b, rt, "sandbox")
	h := newMemHost()
	b.SetParallelism(8 / max(1, runtimeGOMAXPROCS()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Execute(context.Background(), echoReq, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkColdLoad measures loading a new piece (compile, instantiate,
// manifest) with an empty compilation cache and from the file cache.
func BenchmarkColdLoad(b *testing.B) {
	wasmBytes, err := os.ReadFile(modulePath("sandbox"))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("no-cache", func(b *testing.B) {
		for b.Loop() {
			rt, err := NewRuntime(Config{CacheDir: filepath.Join(b.TempDir(), "c")})
			if err != nil {
				b.Fatal(err)
			}
			p, err := rt.LoadBytes("sandbox", wasmBytes)
			if err != nil {
				b.Fatal(err)
			}
			p.Close()
			rt.Close()
		}
	})
	b.Run("file-cache", func(b *testing.B) {
		dir := filepath.Join(b.TempDir(), "c")
		warm, _ := NewRuntime(Config{CacheDir: dir})
		p, err := warm.LoadBytes("sandbox", wasmBytes)
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
		warm.Close()
		for b.Loop() {
			rt, _ := NewRuntime(Config{CacheDir: dir})
			p, err := rt.LoadBytes("sandbox", wasmBytes)
			if err != nil {
				b.Fatal(err)
			}
			p.Close()
			rt.Close()
		}
	})
}

func runtimeGOMAXPROCS() int { return goruntime.GOMAXPROCS(0) }
