package native

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// BenchmarkEgress compares, on one plugin process and one upstream, the
// ways a native plugin's request can reach the upstream:
//
//   - direct: the plugin dials the upstream itself (over a unix socket,
//     which its network namespace does not cut): the cost before egress
//     went through the host;
//   - proxy: through an HTTP proxy the host would serve per plugin on a
//     unix socket, forwarding with the outbound client;
//   - host: the design in use, a brokered Host.HTTP call per request,
//     with the allow-list check, placeholder substitution and the outbound
//     client.
//
// Each reports p50 and p99 of a whole Execute (go-plugin call included).
//
//	go test -run '^$' -bench BenchmarkEgress -benchtime 2000x ./host/internal/runtimes/native
func BenchmarkEgress(b *testing.B) {
	dir := b.TempDir()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"balance","available":[{"amount":1000,"currency":"usd"}],"livemode":false}`)
	})
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	directSock := filepath.Join(dir, "upstream.sock")
	unix, err := net.Listen("unix", directSock)
	if err != nil {
		b.Fatal(err)
	}
	for _, ln := range []net.Listener{tcp, unix} {
		srv := &http.Server{Handler: handler}
		go func() { _ = srv.Serve(ln) }()
		b.Cleanup(func() { _ = srv.Close() })
	}
	upstream := "http://" + tcp.Addr().String()

	out := loopbackOutbound()
	proxySock := filepath.Join(dir, "proxy.sock")
	pln, err := net.Listen("unix", proxySock)
	if err != nil {
		b.Fatal(err)
	}
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 0 {
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		req.Header = r.Header.Clone()
		resp, err := out.Do(r.Context(), req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(data)
	})}
	go func() { _ = proxy.Serve(pln) }()
	b.Cleanup(func() { _ = proxy.Close() })

	impl := hostileEgress(b, "hostile", false, func(c *Config) { c.Outbound = out })
	host := providertest.NewHost()
	variants := []struct {
		name, action string
		input        map[string]string
	}{
		{"direct", "direct", map[string]string{"url": upstream + "/v1/balance", "sock": directSock}},
		{"proxy", "direct", map[string]string{"url": upstream + "/v1/balance", "sock": proxySock}},
		{"host", "authed", map[string]string{"path": "/v1/balance"}},
		{"host-plain", "fetch", map[string]string{"url": upstream + "/v1/balance"}},
	}
	for _, v := range variants {
		raw, _ := json.Marshal(v.input)
		req := provider.Request{ExecutionID: "exec-bench", TenantID: "tenant-bench", Action: v.action, Input: raw, BaseURL: upstream,
			Credentials: provider.Credentials{Type: "api_key", APIKey: "sk_test_bench_0123456789"}}
		b.Run(v.name, func(b *testing.B) {
			ctx := context.Background()
			check := func() {
				resp, err := impl.Execute(ctx, req, host)
				if err != nil || resp.Failed() || len(resp.Output) < 20 || bytes.Contains(resp.Output, []byte(`"error"`)) {
					b.Fatalf("%s: %v %+v %s", v.name, err, resp.Diagnostics, resp.Output)
				}
			}
			check()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				check()
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
