package faults

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/runtimes/native"
)

// egressUpstream is the API the hostile plugin's connection points at. It
// records every request it receives.
type egressUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newEgressUpstream(t *testing.T) *egressUpstream {
	u := &egressUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.seen = append(u.seen, r.Method+" "+r.URL.String()+" "+strings.Join(r.Header.Values("Authorization"), ",")+" "+r.Header.Get("X-Token")+" "+string(b))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization"), "path": r.URL.Path})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *egressUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.seen)
}

func (u *egressUpstream) holds(s string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, r := range u.seen {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// TestAttackPluginsEgress runs the hostile egress plugin's attacks, as two
// tenants, while a third tenant's calls to a well-behaved plugin (the echo
// plugin, also calling its upstream through the host) keep running: dials
// of the host's loopback (its API port, the upstream, PostgreSQL), requests
// through the host to undeclared hosts and to private addresses, a
// request outside an execution, placeholders kept from another execution
// (another tenant's, or an earlier one of the same tenant) replayed in
// every place a credential can go, and a flood past the rate limit. Every
// attack is refused; no bystander call fails.
func TestAttackPluginsEgress(t *testing.T) {
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) { attackPluginsEgress(t, backend) })
	}
}

func attackPluginsEgress(t *testing.T, backend string) {
	isolated, how := native.NetworkIsolation()
	if !isolated && os.Getenv("CI") == "true" && os.Geteuid() == 0 {
		t.Fatal("running as root, plugins must get a network namespace")
	}
	up, echoUp := newEgressUpstream(t), newEgressUpstream(t)
	hostile := testbin.Build(t, "host/internal/runtimes/native/testdata/egress", "")
	h := hosttest.Start(t, hosttest.Options{
		Backend:  backend,
		AdminKey: adminKey,
		Catalog: map[string]string{"hostile.json": `{"id":"hostile","name":"Hostile","categories":["development"],
 "auth":{"kind":"api_key","credential_fields":["apiKey"]},"api":{"base_url":"` + up.URL + `"},"implementations":["native"],"connectable":true}`},
		Env: map[string]string{"ECHO_API_BASE_URL": echoUp.URL},
		Prepare: func(dir string) {
			testbin.Install(t, hostile, dir, "atom-provider-hostile", 0o755)
			testbin.Install(t, testbin.Echo(t, "echo", "1.0.0"), dir, "atom-provider-echo", 0o755)
		},
		LogLevel: "error",
		Timeout:  20 * time.Second,
	})
	var list struct {
		Plugins []struct {
			ID             string   `json:"id"`
			AllowedHosts   []string `json:"allowed_hosts"`
			RawCredentials bool     `json:"raw_credentials"`
		} `json:"plugins"`
	}
	h.Must(h.Call("GET", "/api/v1/admin/plugins", adminKey, nil, nil), 200, &list)
	for _, p := range list.Plugins {
		if p.ID == "hostile" && (len(p.AllowedHosts) == 0 || p.RawCredentials) {
			t.Fatalf("admin listing of the hostile plugin: %+v", p)
		}
	}
	a, b, bystander := h.NewTenant("attacker-a"), h.NewTenant("attacker-b"), h.NewTenant("bystander")
	secrets := map[string]string{a.ID: "sk_tenant_a_7f3e9c1d2b4a6e80", b.ID: "sk_tenant_b_0e2c4a6f8b1d3e57"}
	for _, tn := range []hosttest.Tenant{a, b} {
		h.Must(h.Call("POST", "/api/v1/connections/hostile", tn.Key, map[string]any{"api_key": secrets[tn.ID]}, nil), 201, nil)
	}

	// The well-behaved plugin serves a bystander throughout: calls that
	// stay in the plugin, and calls that go upstream through the host,
	// paced under the rate limit.
	stop := make(chan struct{})
	load, wg := h.Load(bystander, 2, "echo", "echo", map[string]any{}, stop)
	var upstreamOK, upstreamFailed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			r, err := h.Try("POST", "/api/v1/integrations/echo/actions/upstream", bystander.Key, map[string]any{"input": map[string]any{}}, nil)
			if err != nil || r.Status != 200 {
				upstreamFailed.Add(1)
				failMu.Lock()
				failures = append(failures, string(r.Body))
				failMu.Unlock()
				continue
			}
			upstreamOK.Add(1)
		}
	}()

	exec := func(tn hosttest.Tenant, action string, in map[string]any) map[string]any {
		t.Helper()
		r := h.Exec(tn, "hostile", action, in, nil)
		var out struct {
			Output map[string]any `json:"output"`
		}
		h.Must(r, 200, &out)
		return out.Output
	}
	cases := 0
	refused := func(what string, got any, codes ...string) {
		t.Helper()
		cases++
		s, _ := json.Marshal(got)
		for _, c := range codes {
			if strings.Contains(string(s), c) {
				return
			}
		}
		t.Errorf("attack %s succeeded: %s", what, s)
	}

	// 1. Dial the host's loopback directly.
	apiAddr := strings.TrimPrefix(h.URL, "http://")
	_, apiPort, _ := net.SplitHostPort(apiAddr)
	upAddr := strings.TrimPrefix(up.URL, "http://")
	if isolated {
		for _, tn := range []hosttest.Tenant{a, b} {
			for _, addr := range []string{apiAddr, upAddr, "127.0.0.1:5432", "localhost:" + apiPort, "[::1]:" + apiPort, "0.0.0.0:" + apiPort, "127.0.0.53:53"} {
				out := exec(tn, "dial", map[string]any{"addr": addr})
				cases++
				if out["connected"] != false {
					t.Errorf("attack dial %s succeeded: %v", addr, out)
				}
			}
		}
	} else {
		t.Logf("no network namespace for plugins here: direct dials are not refused (run as root or with user namespaces)")
	}

	before := up.count()
	methods := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}
	for _, tn := range []hosttest.Tenant{a, b} {
		for _, m := range methods {
			// 2. Undeclared hosts through the host (the manifest's "*"
			// matches nothing).
			for _, u := range []string{"https://undeclared.example/x", "http://example.com/", "https://api.hostile.example.evil.example/",
				"https://hostile.example/", "https://evil.example/?h=api.hostile.example", "https://api.stripe.com/v1/charges",
				"http://metadata.google.internal/computeMetadata/v1/", "http://localhost:" + apiPort + "/api/v1/admin/tenants",
				"http://[::1]:" + apiPort + "/", "https://xn--80ak6aa92e.com/", "http://2130706433/", "https://api.hostile.example@evil.example/"} {
				refused(m+" "+u, exec(tn, "fetch", map[string]any{"url": u, "method": m}), "host_not_allowed", "invalid_request")
			}
			// 3. Private addresses through the host, declared or not.
			for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
				"http://0.0.0.0:" + apiPort + "/", "http://127.0.0.2:" + apiPort + "/", "http://[fe80::1]/", "http://127.1/"} {
				refused(m+" "+u, exec(tn, "fetch", map[string]any{"url": u, "method": m}), "address_forbidden", "host_not_allowed")
			}
		}
		// 4. A request outside the execution's context.
		refused("background request", exec(tn, "fetch", map[string]any{"url": up.URL + "/bg", "background": true}), "no_execution")
	}
	if n := up.count() - before; n != 0 {
		t.Errorf("the upstream saw %d requests the host should have refused", n)
	}

	// 5. Credentials: a plugin holds placeholders, never the secret, and a
	// placeholder works only in its own execution.
	for _, tn := range []hosttest.Tenant{a, b} {
		kept := exec(tn, "keep", map[string]any{})
		refused("secret handed to the plugin", kept, "atom-cred-")
		if s, _ := json.Marshal(kept); strings.Contains(string(s), secrets[tn.ID]) {
			t.Errorf("tenant %s's secret reached the plugin: %s", tn.ID, s)
		}
	}
	before = up.count()
	placements := []string{"bearer", "custom", "basic", "query", "path", "json", "form"}
	for _, pair := range [][2]hosttest.Tenant{{b, a}, {a, b}, {a, a}, {b, b}} {
		runner, victim := pair[0], pair[1]
		for _, p := range placements {
			out := exec(runner, "replay", map[string]any{"from": victim.ID, "placement": p})
			refused("replay of "+victim.ID+"'s placeholder in "+runner.ID+"'s execution ("+p+")", out, "foreign_credential")
			if s, _ := json.Marshal(out); strings.Contains(string(s), `"status"`) {
				t.Errorf("a replayed placeholder was sent: %s", s)
			}
		}
	}
	if n := up.count() - before; n != 0 {
		t.Errorf("the upstream saw %d replayed requests", n)
	}
	// The execution's own credentials still work, put in by the host.
	for _, tn := range []hosttest.Tenant{a, b} {
		out := exec(tn, "authed", map[string]any{"path": "/me"})
		auth, _ := out["auth"].(string)
		if !up.holds("GET /me Bearer "+secrets[tn.ID]) || !strings.HasPrefix(auth, "Bearer atom-cred-") {
			t.Errorf("host-applied credentials: the upstream did not get tenant %s's key, or the plugin saw it echoed: %v", tn.ID, out)
		}
	}

	// 6. A flood past the rate limit of the (tenant, provider) pair.
	for _, tn := range []hosttest.Tenant{a, b} {
		before := up.count()
		start := time.Now()
		out := exec(tn, "flood", map[string]any{"n": 150, "path": "/flood"})
		elapsed := time.Since(start)
		cases++
		counts, _ := out["counts"].(map[string]any)
		sent := up.count() - before
		// Burst 40 and 20 per second (the host's defaults): requests past
		// the burst wait their turn (up to 2 s) or are refused with 429,
		// so no more than the burst and the rate over the time taken
		// reach the upstream.
		if limit := 40 + int(20*elapsed.Seconds()) + 1; sent > limit || sent == 150 && elapsed < 5*time.Second {
			t.Errorf("attack flood succeeded: %d requests reached the upstream (limit %d), plugin saw %v", sent, limit, counts)
		}
	}

	close(stop)
	wg.Wait()
	if len(load.Failures()) != 0 || upstreamFailed.Load() != 0 || load.OK() == 0 || upstreamOK.Load() == 0 {
		t.Fatalf("bystander calls failed: in-plugin %v, upstream %d (%v)", load.Failures(), upstreamFailed.Load(), failures)
	}
	if t.Failed() {
		return
	}
	t.Logf("network namespace: %v (%s); bystander: %d in-plugin and %d upstream calls, 0 failed", isolated, how, load.OK(), upstreamOK.Load())
	t.Logf("attack plugins-egress: %d cases on %s, 0 succeeded", cases, backend)
}
