package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/pluginhost"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// unaryOnly links a plugin that serves protocol version 1 only: what a
// plugin built with an SDK from before Session streams speaks.
const unaryOnly = " -X github.com/atomhq/atom/sdk/internal/rpc.serveVersions=1"

// grpcSession links a plugin that serves protocol versions 1 and 2: a
// session on a gRPC stream, as a plugin built before session sockets.
const grpcSession = " -X github.com/atomhq/atom/sdk/internal/rpc.serveVersions=1,2"

// framesOnly links a plugin that serves protocol versions 1 to 3: a
// session on its socket, trigger calls unary, as a plugin built before
// trigger frames.
const framesOnly = " -X github.com/atomhq/atom/sdk/internal/rpc.serveVersions=1,2,3"

// protocols are the ways a host calls a plugin: one session per process
// on the socket the host hands it, trigger calls included (a plugin of
// this SDK), the same with unary trigger calls, one session on a gRPC
// stream, and a unary call per execution and per request (plugins of
// older SDKs).
var protocols = []struct {
	name     string
	flags    string
	stream   bool
	framed   bool
	triggers bool // trigger calls on the session
}{
	{"frames", "", true, true, true},
	{"frames_unary_triggers", framesOnly, true, true, false},
	{"session", grpcSession, true, false, false},
	{"unary", unaryOnly, false, false, false},
}

// running returns the client of impl's running process.
func running(t *testing.T, impl runtimes.Implementation) *pluginhost.Client {
	t.Helper()
	v := impl.(*Plugin).cur.Load()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		t.Fatal("no process runs")
	}
	return v.proc.client
}

// framed reports whether impl's running process is called on its session
// socket.
func framed(t *testing.T, impl runtimes.Implementation) bool {
	t.Helper()
	return running(t, impl).Framed()
}

// triggersStreaming reports whether impl's running process gets its
// trigger calls over its Session.
func triggersStreaming(t *testing.T, impl runtimes.Implementation) bool {
	t.Helper()
	return running(t, impl).TriggersStreaming()
}

// streaming reports whether impl's running process is called over a
// Session.
func streaming(t *testing.T, impl runtimes.Implementation) bool {
	t.Helper()
	return running(t, impl).Streaming()
}

// TestProtocolVersions: a plugin of this SDK is called over a Session, a
// plugin serving only protocol version 1 with unary calls; both answer
// executions, concurrent ones, deadlines and cancellations, and their
// upstream requests, refreshes and logs reach the host for the execution
// they belong to.
func TestProtocolVersions(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/resource" || r.Header.Get("Authorization") != "Bearer fresh-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"invalid_token","error_description":"token expired"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	for _, pv := range protocols {
		t.Run(pv.name, func(t *testing.T) {
			dir := t.TempDir()
			testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/echo", "-X main.version=1.0.0 -X main.id=echo"+pv.flags), dir, "atom-provider-echo", 0o755)
			m, _ := newManager(t, dir, func(c *Config) {
				c.CallTimeout = 2 * time.Second
				c.Outbound = loopbackOutbound()
			})
			impl, _ := m.Get("echo")
			first := echo(t, impl)
			if got := streaming(t, impl); got != pv.stream {
				t.Fatalf("streaming %v, want %v", got, pv.stream)
			}
			if got := framed(t, impl); got != pv.framed {
				t.Fatalf("framed %v, want %v", got, pv.framed)
			}

			var wg sync.WaitGroup
			errs := make(chan error, 16)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := call(t, impl, "echo", map[string]any{"i": i}, nil)
					if err != nil {
						errs <- err
						return
					}
					var out echoOut
					if err := json.Unmarshal(resp.Output, &out); err != nil || out.Input["i"] != float64(i) {
						errs <- errors.New("call " + string(resp.Output) + " answered another call's input")
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}

			// The call timeout reaches the plugin and the caller.
			if _, err := call(t, impl, "sleep", map[string]int{"ms": 5000}, nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("want a deadline error, got %v", err)
			}
			// A canceled call is canceled in the plugin too: nothing of it
			// stays in flight there.
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			_, err := impl.Execute(ctx, provider.Request{ExecutionID: "exec-c", TenantID: "tenant-a", Action: "sleep", Input: json.RawMessage(`{"ms":5000}`)}, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want a cancellation, got %v", err)
			}
			waitFor(t, "the canceled calls to end in the plugin", func() bool {
				resp, err := call(t, impl, "sleep", map[string]int{"ms": 0}, nil)
				var out struct{ Inflight int }
				return err == nil && json.Unmarshal(resp.Output, &out) == nil && out.Inflight == 1
			})

			// An upstream request through the host, a refresh after its 401
			// and a log line, all for this execution.
			host := providertest.NewHost()
			host.RefreshCredentials = provider.Credentials{Type: "oauth2", AccessToken: "fresh-token"}
			resp, err := impl.Execute(context.Background(), provider.Request{ExecutionID: "exec-u", TenantID: "tenant-a", Action: "upstream",
				Input: json.RawMessage(`{}`), BaseURL: upstream.URL, Credentials: provider.Credentials{Type: "oauth2", AccessToken: "stale-token"}}, host)
			if err != nil {
				t.Fatal(err)
			}
			var out map[string]bool
			providertest.Output(t, resp, &out)
			if !out["ok"] || host.Refreshes() != 1 || len(host.Logs()) != 1 {
				t.Fatalf("out %v refreshes %d logs %+v", out, host.Refreshes(), host.Logs())
			}
			if again := echo(t, impl); again.PID != first.PID {
				t.Fatalf("the plugin process changed (%d → %d): a call was taken for a crash", first.PID, again.PID)
			}
		})
	}
}

// TestProtocolVersionsEgress: the host's egress checks hold on both
// protocols: placeholders are replaced for their own execution only, a
// placeholder kept from another execution and an undeclared host are
// refused, and a request outside an execution goes nowhere.
func TestProtocolVersionsEgress(t *testing.T) {
	for _, pv := range protocols {
		t.Run(pv.name, func(t *testing.T) {
			srv, rec := recorder(t)
			dir := t.TempDir()
			testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/egress", "-X main.id=hostile"+pv.flags), dir, plugindir.NativePrefix+"hostile", 0o755)
			m, _ := newManager(t, dir, func(c *Config) { c.Outbound = loopbackOutbound() })
			impl, ok := m.Get("hostile")
			if !ok {
				t.Fatalf("not loaded: %+v", m.List())
			}
			base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}
			out := run(t, impl, "tenant-a", "keep", nil, base)
			if got := streaming(t, impl); got != pv.stream {
				t.Fatalf("streaming %v, want %v", got, pv.stream)
			}
			if got := framed(t, impl); got != pv.framed {
				t.Fatalf("framed %v, want %v", got, pv.framed)
			}
			if b, _ := json.Marshal(out); strings.Contains(string(b), secretKey) {
				t.Fatalf("the plugin was handed a secret: %s", b)
			}
			run(t, impl, "tenant-a", "replay", map[string]any{"placement": "bearer", "path": "/p"}, base)
			if got := rec.all(); !strings.Contains(got, "Bearer "+secretKey) || strings.Contains(got, "atom-cred-") {
				t.Fatalf("upstream did not get the secret in place of the placeholder:\n%s", got)
			}
			before := rec.n()
			out = run(t, impl, "tenant-b", "replay", map[string]any{"from": "tenant-a", "placement": "bearer"}, base)
			if b, _ := json.Marshal(out); !strings.Contains(string(b), "foreign_credential") {
				t.Fatalf("kept placeholder not refused: %s", b)
			}
			out = run(t, impl, "tenant-a", "fetch", map[string]any{"url": "https://undeclared.example/x"}, base)
			if msg, _ := out["error"].(string); !strings.Contains(msg, "host_not_allowed") {
				t.Fatalf("undeclared host not refused: %v", out)
			}
			out = run(t, impl, "tenant-a", "fetch", map[string]any{"url": srv.URL + "/bg", "background": true}, base)
			if msg, _ := out["error"].(string); !strings.Contains(msg, "no_execution") {
				t.Fatalf("a request outside the execution's context was not refused: %v", out)
			}
			if rec.n() != before {
				t.Fatalf("upstream saw refused requests:\n%s", rec.all())
			}
		})
	}
}

// BenchmarkProtocol measures one Execute whose action makes one upstream
// request through the host, on a plugin called over its session socket
// (version 3), over a gRPC Session stream (version 2) and with a unary
// Execute and a unary Host.HTTP call (version 1), interleaved call by
// call so that all see the same machine. It reports each p50 and p99,
// the ratios of the p50s, the CPU time each plugin process used per call
// (from /proc, 10 ms ticks) and that of this process (host and upstream)
// per call of any protocol.
//
//	go test -run '^$' -bench BenchmarkProtocol -benchtime 3000x -count 3 ./host/internal/runtimes/native
func BenchmarkProtocol(b *testing.B) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"balance","available":[{"amount":1000,"currency":"usd"}],"livemode":false}`)
	}))
	b.Cleanup(upstream.Close)
	impls := make([]runtimes.Implementation, len(protocols))
	for i, pv := range protocols {
		dir := b.TempDir()
		testbin.Install(b, testbin.Build(b, "host/internal/runtimes/native/testdata/egress", "-X main.id=hostile"+pv.flags), dir, plugindir.NativePrefix+"hostile", 0o755)
		m, _ := newManager(b, dir, func(c *Config) { c.Outbound = loopbackOutbound() })
		impl, ok := m.Get("hostile")
		if !ok {
			b.Fatalf("not loaded: %+v", m.List())
		}
		impls[i] = impl
	}
	req := provider.Request{ExecutionID: "exec-bench", TenantID: "tenant-bench", Action: "authed", Input: json.RawMessage(`{"path":"/v1/balance"}`),
		BaseURL: upstream.URL, Credentials: provider.Credentials{Type: "api_key", APIKey: "sk_test_bench_0123456789"}}
	host := providertest.NewHost()
	call := func(impl runtimes.Implementation) time.Duration {
		start := time.Now()
		resp, err := impl.Execute(context.Background(), req, host)
		d := time.Since(start)
		if err != nil || resp.Failed() || !strings.Contains(string(resp.Output), "balance") {
			b.Fatalf("%v %+v %s", err, resp.Diagnostics, resp.Output)
		}
		return d
	}
	for range 50 {
		for _, impl := range impls {
			call(impl)
		}
	}
	lat := make([][]time.Duration, len(impls))
	cpu := func(pid int) time.Duration {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		f := strings.Fields(string(data))
		u, _ := strconv.Atoi(f[13])
		s, _ := strconv.Atoi(f[14])
		return time.Duration(u+s) * 10 * time.Millisecond
	}
	var pcpu []time.Duration
	for _, impl := range impls {
		v := impl.(*Plugin).cur.Load()
		pcpu = append(pcpu, -cpu(v.proc.pid))
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(0, &ru0)
	b.ResetTimer()
	for i := range b.N {
		for j := range impls {
			k := (i + j) % len(impls) // alternate which goes first
			lat[k] = append(lat[k], call(impls[k]))
		}
	}
	b.StopTimer()
	syscall.Getrusage(0, &ru1)
	for i, impl := range impls {
		v := impl.(*Plugin).cur.Load()
		pcpu[i] += cpu(v.proc.pid)
		b.ReportMetric(float64(pcpu[i].Microseconds())/float64(b.N), protocols[i].name+"-plugin-cpu-µs/call")
	}
	hc := time.Duration(syscall.TimevalToNsec(ru1.Utime) + syscall.TimevalToNsec(ru1.Stime) - syscall.TimevalToNsec(ru0.Utime) - syscall.TimevalToNsec(ru0.Stime))
	b.ReportMetric(float64(hc.Microseconds())/float64(b.N)/3, "host+upstream-cpu-µs/call")
	p := func(l []time.Duration, q int) time.Duration {
		s := slices.Clone(l)
		slices.Sort(s)
		return s[len(s)*q/100]
	}
	for k, pv := range protocols {
		b.ReportMetric(float64(p(lat[k], 50).Microseconds()), pv.name+"-p50-µs")
		b.ReportMetric(float64(p(lat[k], 99).Microseconds()), pv.name+"-p99-µs")
	}
	b.ReportMetric(float64(p(lat[0], 50))/float64(p(lat[1], 50)), "frames/session-p50")
	b.ReportMetric(float64(p(lat[1], 50))/float64(p(lat[2], 50)), "session/unary-p50")
}
