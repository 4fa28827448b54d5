package faults

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes/generic"
)

// TestAttackPluginsPrivateAddresses points a native plugin, a piece and
// custom_api_call at non-public addresses the host's outbound client must
// refuse after DNS resolution: loopback, the cloud metadata address and a
// name resolving to loopback, each as the provider's base URL (which
// passes every allow-list, since the operator chose it). The host runs as
// in production (no private host allowed); every request answers
// address_forbidden and none reaches the loopback upstream.
func TestAttackPluginsPrivateAddresses(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { attackPrivateAddresses(t, backend) })
	}
}

func attackPrivateAddresses(t *testing.T, backend string) {
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(up.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	targets := map[string]string{
		"lo":   "http://127.0.0.1:" + port,
		"meta": "http://169.254.169.254",
		"dns":  "http://localhost:" + port,
	}
	desc := func(id, impl string) string {
		return `{"id":"` + id + `","name":"` + id + `","categories":["development"],"auth":{"kind":"none"},
 "api":{"base_url":"https://fixture.invalid"},"implementations":["` + impl + `"],"connectable":true}`
	}
	catalog, env := map[string]string{}, map[string]string{}
	for name, target := range targets {
		for _, kind := range []string{"native", "piece", "generic"} {
			id := kind + name
			catalog[id+".json"] = desc(id, kind)
			env[generic.EnvName(id)] = target
		}
	}
	h := hosttest.Start(t, hosttest.Options{
		Backend:   backend,
		NoPrivate: true,
		Catalog:   catalog,
		Env:       env,
		Prepare: func(dir string) {
			for name := range targets {
				testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/egress", "-X main.id=native"+name), dir, "atom-provider-native"+name, 0o755)
				testbin.Install(t, hostileWasm(t, "piece"+name, ""), dir, "piece"+name+".wasm", 0o644)
			}
		},
		LogLevel: "error",
		Tenant:   "mallory",
	})
	tn := h.Tenant
	cases := 0
	for name, target := range targets {
		// A native plugin asks the host for its base URL.
		r := h.Exec(tn, "native"+name, "fetch", map[string]any{"url": target + "/latest/meta-data/"}, nil)
		var nat struct {
			Output map[string]any `json:"output"`
		}
		h.Must(r, 200, &nat)
		if s, _ := json.Marshal(nat.Output); !strings.Contains(string(s), "address_forbidden") {
			t.Errorf("native plugin fetching %s: %s", target, s)
		}
		cases++
		// A piece, on both routes.
		for _, path := range []string{"/api/v1/integrations/piece" + name + "/actions/http", "/api/v1/pieces/piece" + name + "/actions/http"} {
			r := h.Call("POST", path, tn.Key, map[string]any{"input": map[string]any{"url": target + "/latest/meta-data/"}}, nil)
			var pc struct {
				Output struct {
					Error struct{ Code string } `json:"error"`
				} `json:"output"`
			}
			h.Must(r, 200, &pc)
			if pc.Output.Error.Code != "address_forbidden" {
				t.Errorf("piece via %s fetching %s: %s", path, target, r.Body)
			}
			cases++
		}
		// custom_api_call.
		r = h.Exec(tn, "generic"+name, "custom_api_call", map[string]any{"method": "GET", "path": "/latest/meta-data/"}, nil)
		var gen struct {
			Error       struct{ Code string }     `json:"error"`
			Diagnostics []struct{ Detail string } `json:"diagnostics"`
		}
		h.Must(r, 422, &gen)
		if gen.Error.Code != "action_failed" || len(gen.Diagnostics) == 0 || gen.Diagnostics[0].Detail != "address_forbidden" {
			t.Errorf("custom_api_call to %s: %s", target, r.Body)
		}
		cases++
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback upstream saw %d requests", n)
	}
	t.Logf("attack plugins-private-addresses: %d cases on %s", cases, backend)
}
