package native

import (
	"context"
	"encoding/json"
	goruntime "runtime"
	"sort"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/sdk/provider"
)

func benchPlugin(b *testing.B) *Plugin {
	b.Helper()
	dir := b.TempDir()
	testbin.Install(b, testbin.Echo(b, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(b, dir, nil)
	p, ok := m.Plugin("echo")
	if !ok {
		b.Fatal("echo not loaded")
	}
	echo(b, p)
	return p
}

var benchReq = provider.Request{
	ExecutionID: "exec-bench",
	TenantID:    "tenant-bench",
	Action:      "whoami",
	Input:       json.RawMessage(`{"x":1}`),
	Credentials: provider.Credentials{Type: "oauth2", AccessToken: "token"},
}

// BenchmarkExecute measures one call through go-plugin to a running
// plugin process and reports latency percentiles.
func BenchmarkExecute(b *testing.B) {
	p := benchPlugin(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := p.Execute(ctx, benchReq, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkExecuteParallel measures throughput with 8 goroutines calling
// one plugin process.
func BenchmarkExecuteParallel(b *testing.B) {
	p := benchPlugin(b)
	ctx := context.Background()
	b.SetParallelism(max(1, 8/runtimeGOMAXPROCS()))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Execute(ctx, benchReq, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

func runtimeGOMAXPROCS() int { return goruntime.GOMAXPROCS(0) }

// BenchmarkStart measures a plugin's start, from spawning its process to
// the end of the handshake (manifest read), unisolated and in its
// sandbox, in one run, and reports percentiles.
//
//	go test -run '^$' -bench BenchmarkStart -benchtime 30x ./host/internal/runtime/native/
func BenchmarkStart(b *testing.B) {
	for _, mode := range []IsolationMode{IsolationOff, IsolationAuto} {
		name := "unisolated"
		if mode == IsolationAuto {
			name = "sandboxed"
		}
		b.Run(name, func(b *testing.B) {
			if ok, why := isolationAvailable(); mode == IsolationAuto && !ok {
				b.Skip(why)
			}
			dir := b.TempDir()
			testbin.Install(b, testbin.Echo(b, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
			m, _ := newManager(b, dir, func(c *Config) { c.Isolation.Mode = mode })
			p, ok := m.Plugin("echo")
			if !ok {
				b.Fatal("echo not loaded")
			}
			v := p.cur.Load()
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				v.stop()
				b.StartTimer()
				start := time.Now()
				if _, err := v.process(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
		})
	}
}
