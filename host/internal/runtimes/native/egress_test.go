package native

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/plugindir"
	"github.com/atomhq/atom/host/internal/runtimes"
	"github.com/atomhq/atom/sdk/provider"
	"github.com/atomhq/atom/sdk/providertest"
)

// loopbackOutbound is the host's outbound client with the loopback
// allowance tests need to reach their local upstreams.
func loopbackOutbound() *outbound.Client {
	return outbound.New(outbound.Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: -1})
}

// hostileEgress builds the hostile egress plugin as id (raw: it declares
// raw_credentials) into a fresh manager.
func hostileEgress(t testing.TB, id string, raw bool, mod func(*Config)) runtimes.Implementation {
	t.Helper()
	dir := t.TempDir()
	flags := "-X main.id=" + id
	if raw {
		flags += " -X main.raw=true"
	}
	testbin.Install(t, testbin.Build(t, "host/internal/runtimes/native/testdata/egress", flags), dir, plugindir.NativePrefix+id, 0o755)
	m, _ := newManager(t, dir, func(c *Config) {
		c.Outbound = loopbackOutbound()
		if mod != nil {
			mod(c)
		}
	})
	impl, ok := m.Get(id)
	if !ok {
		t.Fatalf("%s not loaded: %+v", id, m.List())
	}
	return impl
}

// seen records what an upstream received.
type seen struct {
	mu   sync.Mutex
	reqs []string // method, URL, headers and body of each request
}

func (s *seen) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.reqs, "\n")
}

func (s *seen) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// recorder is an upstream that records every request and answers with
// the request's Authorization header, as an API echoing a token would.
func recorder(t *testing.T) (*httptest.Server, *seen) {
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Method+" "+r.URL.String()+" "+strings.Join(r.Header.Values("Authorization"), ",")+" "+r.Header.Get("X-Token")+" "+string(b))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization"), "url": r.URL.String(), "body": string(b)})
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func run(t *testing.T, impl runtimes.Implementation, tenant, action string, in any, req provider.Request) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(in)
	req.TenantID, req.Action, req.Input = tenant, action, raw
	if req.ExecutionID == "" {
		req.ExecutionID = "exec-" + tenant + "-" + action
	}
	resp, err := impl.Execute(context.Background(), req, providertest.NewHost())
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	var out map[string]any
	if resp.Failed() {
		return map[string]any{"diagnostic": resp.Diagnostics[0].Summary}
	}
	if err := json.Unmarshal(resp.Output, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	secretKey   = "sk_live_4f9c2e7a1b3d5f60"
	secretField = "fld_tok_9a8b7c6d5e4f3a2b"
)

func keyCreds() provider.Credentials {
	return provider.Credentials{Type: "api_key", APIKey: secretKey,
		Fields: map[string]string{"token": secretField}, Params: map[string]string{"account": "acct_public_1"}}
}

// TestEgressPlaceholders: the plugin holds placeholders, never the
// connection's secrets; the host puts the secrets in, wherever the plugin
// placed the placeholders, only for the execution they belong to; an
// answer that echoes a secret reaches the plugin with the placeholder.
func TestEgressPlaceholders(t *testing.T) {
	srv, rec := recorder(t)
	impl := hostileEgress(t, "hostile", false, nil)
	base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}

	out := run(t, impl, "tenant-a", "keep", nil, base)
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), secretKey) || strings.Contains(string(b), secretField) {
		t.Fatalf("the plugin was handed a secret: %s", b)
	}
	if !strings.Contains(string(b), "atom-cred-") || !strings.Contains(string(b), "acct_public_1") {
		t.Fatalf("want placeholders for secrets and plain non-secret fields: %s", b)
	}

	for _, placement := range []string{"bearer", "custom", "basic", "query", "path", "json", "form"} {
		t.Run(placement, func(t *testing.T) {
			before := rec.n()
			out := run(t, impl, "tenant-a", "replay", map[string]any{"placement": placement, "path": "/p"}, base)
			b, _ := json.Marshal(out)
			for _, sec := range []string{secretKey, secretField} {
				if strings.Contains(string(b), sec) || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("user:"+sec))) {
					t.Fatalf("an echoed secret reached the plugin: %s", b)
				}
			}
			got := rec.all()
			if rec.n() != before+2 {
				t.Fatalf("upstream saw %d requests, want 2: %s", rec.n()-before, b)
			}
			want := secretKey
			if placement == "basic" {
				want = base64.StdEncoding.EncodeToString([]byte("user:" + secretKey))
			}
			if !strings.Contains(got, want) || strings.Contains(got, "atom-cred-") {
				t.Fatalf("upstream did not get the secret in place of the placeholder:\n%s", got)
			}
		})
	}

	// The SDK's own client: refresh after a 401 keeps placeholders too.
	out = run(t, impl, "tenant-a", "authed", map[string]any{"path": "/me"}, base)
	if auth, _ := out["auth"].(string); !strings.HasPrefix(auth, "Bearer atom-cred-") {
		t.Fatalf("echoed header not redacted to the placeholder: %v", out)
	}
	if !strings.Contains(rec.all(), "GET /me Bearer "+secretKey) {
		t.Fatalf("upstream did not see the key: %s", rec.all())
	}
}

// TestEgressRefusals: every way out but a declared host through the host
// is refused, and nothing reaches the upstream.
func TestEgressRefusals(t *testing.T) {
	srv, rec := recorder(t)
	impl := hostileEgress(t, "hostile", false, nil)
	base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}
	run(t, impl, "tenant-a", "keep", nil, base)
	for _, placement := range []string{"bearer", "custom", "basic", "query", "path", "json", "form"} {
		// Another tenant's execution, and a later one of the same tenant.
		for _, tenant := range []string{"tenant-b", "tenant-a"} {
			out := run(t, impl, tenant, "replay", map[string]any{"from": "tenant-a", "placement": placement}, base)
			b, _ := json.Marshal(out)
			if !strings.Contains(string(b), "foreign_credential") || strings.Contains(string(b), `"status"`) {
				t.Fatalf("%s %s: kept placeholder not refused: %s", tenant, placement, b)
			}
		}
	}
	for _, u := range []string{"https://undeclared.example/x", "http://example.com/", "https://api.hostile.example.evil.example/",
		"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://127.0.0.2/", "http://0.0.0.0/"} {
		out := run(t, impl, "tenant-a", "fetch", map[string]any{"url": u}, base)
		msg, _ := out["error"].(string)
		if !strings.Contains(msg, "host_not_allowed") && !strings.Contains(msg, "address_forbidden") {
			t.Fatalf("%s: want a refusal, got %v", u, out)
		}
	}
	out := run(t, impl, "tenant-a", "fetch", map[string]any{"url": srv.URL + "/bg", "background": true}, base)
	if msg, _ := out["error"].(string); !strings.Contains(msg, "no_execution") {
		t.Fatalf("a request outside the execution's context was not refused: %v", out)
	}
	if rec.n() != 0 {
		t.Fatalf("upstream saw refused requests:\n%s", rec.all())
	}
}

// TestEgressRawCredentials: a plugin whose manifest asks for raw
// credentials gets them only when the operator lists it, and says so in
// the listing; unlisted, it does not run and is handed nothing.
func TestEgressRawCredentials(t *testing.T) {
	srv, rec := recorder(t)
	refused := hostileEgress(t, "rawplugin", true, nil)
	raw, _ := json.Marshal(map[string]any{})
	resp, err := refused.Execute(context.Background(), provider.Request{ExecutionID: "exe-raw", TenantID: "tenant-a", Action: "keep",
		Input: raw, BaseURL: srv.URL, Credentials: keyCreds()}, providertest.NewHost())
	if err == nil || !errors.Is(err, runtimes.ErrUnavailable) || !strings.Contains(err.Error(), "ATOM_PLUGIN_RAW_CREDENTIALS") {
		t.Fatalf("an unlisted raw_credentials plugin ran: %v %+v", err, resp)
	}
	if b, _ := json.Marshal(resp); strings.Contains(string(b), secretKey) || rec.n() != 0 {
		t.Fatalf("an unlisted raw_credentials plugin got a secret: %s", b)
	}

	impl := hostileEgress(t, "rawplugin", true, func(c *Config) { c.RawCredentials = []string{"rawplugin"} })
	out := run(t, impl, "tenant-a", "keep", nil, provider.Request{BaseURL: srv.URL, Credentials: keyCreds()})
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), secretKey) {
		t.Fatalf("raw credentials not handed over: %s", b)
	}
	if info := impl.(*Plugin).info(); !info.RawCredentials || len(info.AllowedHosts) == 0 {
		t.Fatalf("listing: %+v", info)
	}
}

// TestEgressCredentialHost: a plugin may reach every host it declares, but
// the connection's credentials only go to the base URL's host (or its
// registrable domain): a declared host elsewhere gets the request only
// without them.
func TestEgressCredentialHost(t *testing.T) {
	srv, rec := recorder(t)
	// Another upstream on 127.0.0.2, a host the plugin declares.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skip("no 127.0.0.2 on this machine:", err)
	}
	otherRec := &seen{}
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherRec.mu.Lock()
		otherRec.reqs = append(otherRec.reqs, r.Method+" "+r.URL.String()+" "+r.Header.Get("Authorization"))
		otherRec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})}
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { _ = other.Close() })
	impl := hostileEgress(t, "hostile", false, func(c *Config) {
		c.Outbound = outbound.New(outbound.Config{AllowPrivateHosts: []string{"127.0.0.1", "127.0.0.2"}, Rate: -1})
	})
	base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}
	elsewhere := "http://" + ln.Addr().String() + "/collect"

	out := run(t, impl, "tenant-a", "exfil", map[string]any{"url": elsewhere}, base)
	b, _ := json.Marshal(out)
	if !strings.Contains(string(b), provider.EgressCredentialHost) || otherRec.n() != 0 {
		t.Fatalf("a credential went to a declared host outside the base URL's domain: %s (upstream saw %q)", b, otherRec.all())
	}
	// Without credentials the same host is reachable.
	out = run(t, impl, "tenant-a", "fetch", map[string]any{"url": elsewhere}, base)
	if _, failed := out["error"]; failed || otherRec.n() != 1 {
		t.Fatalf("a declared host without credentials was refused: %v", out)
	}
	// To the base URL's host the credential goes.
	out = run(t, impl, "tenant-a", "exfil", map[string]any{"url": srv.URL + "/ok"}, base)
	if !strings.Contains(rec.all(), "Bearer "+secretKey) {
		t.Fatalf("the base URL's host did not get the credential: %v / %s", out, rec.all())
	}

	c := &egressCall{baseHost: "api.box.com"}
	for host, want := range map[string]bool{"api.box.com": true, "upload.box.com": true, "box.com": true,
		"evil.com": false, "box.com.evil.com": false, "api.box.co": false, "127.0.0.1": false, "": false} {
		if got := c.credentialHost(host); got != want {
			t.Errorf("credentialHost(%q) with base api.box.com = %v, want %v", host, got, want)
		}
	}
	if (&egressCall{baseHost: "shop-a.myshopify.com"}).credentialHost("shop-b.myshopify.com") {
		t.Error("a credential for one shop went to another shop under a public suffix")
	}
}

// TestEgressNetworkNamespace: a plugin that dials the host's loopback
// itself finds no route where plugins get a network namespace.
func TestEgressNetworkNamespace(t *testing.T) {
	if ok, _ := NetworkIsolation(); !ok {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatal("running as root, plugins must get a network namespace")
		}
		t.Skip("no network namespace for plugins on this machine")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	impl := hostileEgress(t, "hostile", false, nil)
	out := run(t, impl, "tenant-a", "dial", map[string]any{"addr": ln.Addr().String()}, provider.Request{})
	if out["connected"] != false {
		t.Fatalf("the plugin reached the host's loopback: %v", out)
	}
}

// TestEgressAfterIdle: a plugin whose first request goes out more than
// go-plugin's 5 s broker window after its process started still reaches
// the host (the Host service was announced at start and its connection
// info dropped unused: every later host call failed).
func TestEgressAfterIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("waits 6 s")
	}
	srv, rec := recorder(t)
	impl := hostileEgress(t, "hostile", false, nil)
	base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}
	run(t, impl, "tenant-a", "dial", map[string]any{"addr": "127.0.0.1:1"}, base) // starts the process; no host call
	time.Sleep(6 * time.Second)
	out := run(t, impl, "tenant-a", "authed", map[string]any{"path": "/late"}, base)
	if _, failed := out["diagnostic"]; failed || rec.n() != 1 {
		t.Fatalf("request after 6 s idle: %v (upstream saw %d)", out, rec.n())
	}
}

// TestEgressRateLimit: a request past the (tenant, provider) bucket is not
// sent; the plugin sees a 429 with Retry-After, and an execution that
// fails on it returns the *outbound.RateLimitError the API answers 429
// with. Another tenant's bucket is its own.
func TestEgressRateLimit(t *testing.T) {
	srv, rec := recorder(t)
	impl := hostileEgress(t, "hostile", false, func(c *Config) {
		c.Outbound = outbound.New(outbound.Config{AllowPrivateHosts: []string{"127.0.0.1"}, Rate: 0.001, Burst: 2})
	})
	base := provider.Request{BaseURL: srv.URL, Credentials: keyCreds()}
	out := run(t, impl, "tenant-a", "flood", map[string]any{"n": 5, "path": "/f"}, base)
	if c, _ := out["counts"].(map[string]any); c["OK"] != float64(2) || c["Too Many Requests"] != float64(3) || rec.n() != 2 {
		t.Fatalf("flood: %v, upstream saw %d", out, rec.n())
	}
	raw, _ := json.Marshal(map[string]any{"path": "/after"})
	req := base
	req.TenantID, req.Action, req.Input = "tenant-a", "authed", raw
	_, err := impl.Execute(context.Background(), req, providertest.NewHost())
	var rl *outbound.RateLimitError
	if !errors.As(err, &rl) || rl.Provider != "hostile" {
		t.Fatalf("want a rate limit error, got %v", err)
	}
	if out := run(t, impl, "tenant-b", "authed", map[string]any{"path": "/b"}, base); out["auth"] == nil {
		t.Fatalf("tenant b was limited by tenant a's bucket: %v", out)
	}
}
