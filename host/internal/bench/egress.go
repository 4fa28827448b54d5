package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
)

// nativeEgress measures, on one plugin process and one upstream, an action
// making one upstream GET three ways: the plugin dialing the upstream
// itself (over a unix socket, which its network namespace does not cut:
// the cost before egress went through the host), through an HTTP proxy
// the host would serve per plugin on a unix socket (the alternative
// design), and through the brokered Host.HTTP call the host serves (the
// design in use: allow-list, placeholders, outbound policy).
func nativeEgress(ctx context.Context, e *Env) ([]Row, error) {
	bin, err := e.Build("host/internal/runtimes/native/testdata/egress", false)
	if err != nil {
		return nil, err
	}
	// Plugin processes run under a uid of their own (the sandbox, when
	// the host runs as root) and cannot enter the run's private temporary
	// directory: the two sockets the plugin dials live in one it may
	// pass through (not list), and any uid may connect to them.
	dir, err := os.MkdirTemp("", "atom-bench-sock-")
	if err != nil {
		return nil, err
	}
	e.onClose(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"balance","available":[{"amount":1000,"currency":"usd"}],"livemode":false}`)
	})
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	directSock, proxySock := filepath.Join(dir, "upstream.sock"), filepath.Join(dir, "proxy.sock")
	unix, err := net.Listen("unix", directSock)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(directSock, 0o666); err != nil {
		return nil, err
	}
	for _, ln := range []net.Listener{tcp, unix} {
		srv := &http.Server{Handler: handler}
		go func() { _ = srv.Serve(ln) }()
		e.onClose(func() { _ = srv.Close() })
	}
	upstream := "http://" + tcp.Addr().String()
	h, err := e.StartHost(ctx, HostOptions{Prepare: func(dir string) error { return Install(bin, dir, "atom-provider-hostile", 0o755) }})
	if err != nil {
		return nil, err
	}
	out := h.Parts.Outbound
	pln, err := net.Listen("unix", proxySock)
	if err != nil {
		return nil, err
	}
	proxy := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
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
	if err := os.Chmod(proxySock, 0o666); err != nil {
		return nil, err
	}
	go func() { _ = proxy.Serve(pln) }()
	e.onClose(func() { _ = proxy.Close() })

	impl, ok := h.Parts.Registry.Get("hostile", runtimes.KindNative)
	if !ok {
		return nil, fmt.Errorf("the egress plugin did not load")
	}
	call := func(action string, in map[string]string) func() error {
		raw, _ := json.Marshal(in)
		req := provider.Request{ExecutionID: "exe_bench", TenantID: h.Tenant, Action: action, Input: raw, BaseURL: upstream,
			Credentials: provider.Credentials{Type: "api_key", APIKey: "sk_test_bench_0123456789"}}
		return func() error {
			resp, err := impl.Execute(ctx, req, nopHost{})
			if err == nil && (resp.Failed() || bytes.Contains(resp.Output, []byte(`"error"`))) {
				err = fmt.Errorf("%s failed: %+v %s", action, resp.Diagnostics, resp.Output)
			}
			return err
		}
	}
	warm, n := e.sizes()
	e.logf("native-egress: direct, proxy and host calls (%d each)", n)
	direct, err := Timed(warm, n, call("direct", map[string]string{"url": upstream + "/v1/balance", "sock": directSock}))
	if err != nil {
		return nil, err
	}
	viaProxy, err := Timed(warm, n, call("direct", map[string]string{"url": upstream + "/v1/balance", "sock": proxySock}))
	if err != nil {
		return nil, err
	}
	viaHost, err := Timed(warm, n, call("authed", map[string]string{"path": "/v1/balance"}))
	if err != nil {
		return nil, err
	}
	added := viaHost.P(50) - direct.P(50)
	return []Row{{
		Name:     "native plugin → upstream through the host (brokered Host.HTTP), runtime only: p50",
		Ours:     Fmt(viaHost.P(50)) + " (+" + Fmt(added) + ")",
		Baseline: Fmt(direct.P(50)) + " (plugin dials itself)",
		Goal:     "≤ 1.00 ms added", Met: added <= time.Millisecond,
		Note: fmt.Sprintf("one Execute making one GET; per-plugin unix-socket HTTP proxy instead: %s; p99 %s host, %s proxy, %s direct",
			Fmt(viaProxy.P(50)), Fmt(viaHost.P(99)), Fmt(viaProxy.P(99)), Fmt(direct.P(99))),
	}}, nil
}
