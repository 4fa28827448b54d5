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

func benchPlugin(b *testing.B) *Plugin { return benchPluginIn(b, IsolationAuto) }

func benchPluginIn(b *testing.B, mode IsolationMode) *Plugin {
	b.Helper()
	dir := b.TempDir()
	testbin.Install(b, testbin.Echo(b, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
	m, _ := newManager(b, dir, func(c *Config) { c.Isolation.Mode = mode })
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

// BenchmarkExecuteIsolation measures one call to a plugin process
// unisolated and in its sandbox, alternating between the two so that both
// see the same load on a shared machine.
//
//	go test -run '^$' -bench BenchmarkExecuteIsolation -benchtime 3000x ./host/internal/runtimes/native/
func BenchmarkExecuteIsolation(b *testing.B) {
	if ok, why := isolationAvailable(); !ok {
		b.Skip(why)
	}
	plain, boxed := benchPluginIn(b, IsolationOff), benchPluginIn(b, IsolationAuto)
	ctx := context.Background()
	lat := [2][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		p := plain
		if i%2 == 1 {
			p = boxed
		}
		start := time.Now()
		if _, err := p.Execute(ctx, benchReq, nil); err != nil {
			b.Fatal(err)
		}
		lat[i%2] = append(lat[i%2], time.Since(start))
	}
	b.StopTimer()
	for i, name := range []string{"unisolated", "sandboxed"} {
		l := lat[i]
		if len(l) == 0 {
			continue
		}
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		b.ReportMetric(float64(l[len(l)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(l[len(l)*99/100].Microseconds()), name+"-p99-µs")
	}
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
// sandbox, alternating between the two so that both see the same load on
// a shared machine, and reports percentiles.
//
//	go test -run '^$' -bench BenchmarkStart -benchtime 100x ./host/internal/runtimes/native/
func BenchmarkStart(b *testing.B) {
	if ok, why := isolationAvailable(); !ok {
		b.Skip(why)
	}
	var vs [2]*version
	for i, mode := range []IsolationMode{IsolationOff, IsolationAuto} {
		vs[i] = benchPluginIn(b, mode).cur.Load()
	}
	ctx := context.Background()
	lat := [2][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		v := vs[i%2]
		b.StopTimer()
		v.stop()
		b.StartTimer()
		start := time.Now()
		if _, err := v.process(ctx); err != nil {
			b.Fatal(err)
		}
		lat[i%2] = append(lat[i%2], time.Since(start))
	}
	b.StopTimer()
	for i, name := range []string{"unisolated", "sandboxed"} {
		l := lat[i]
		if len(l) == 0 {
			continue
		}
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		b.ReportMetric(float64(l[len(l)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(l[len(l)*9/10].Microseconds())/1000, name+"-p90-ms")
	}
}
