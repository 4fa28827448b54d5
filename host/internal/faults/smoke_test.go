package faults

import "testing"

func TestFaultSmoke(t *testing.T) {
	h := startHost(t, hostOpts{prepare: func(dir string) {
		install(t, echoBinary(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
		install(t, sandboxWasm(t, "1.0.0"), dir, "sandbox.wasm", 0o644)
	}})
	a := h.newTenant("a")
	h.connectOAuth(a, "fakeoauth")
	r := h.exec(a, "echo", "echo", map[string]any{"x": 1}, nil)
	t.Logf("%d %s", r.status, r.body)
	r = h.exec(a, "sandbox", "store", map[string]any{"key": "k", "value": "v"}, nil)
	t.Logf("%d %s", r.status, r.body)
	r = h.exec(a, "fakeoauth", "custom_api_call", map[string]any{"method": "GET", "path": "/me"}, nil)
	t.Logf("%d %s", r.status, r.body)
}
