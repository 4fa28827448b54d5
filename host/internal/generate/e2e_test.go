package generate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	atomexec "github.com/atomhq/atom/host/internal/exec"
	"github.com/atomhq/atom/host/internal/generate"
	"github.com/atomhq/atom/host/internal/runtime/native"
	"github.com/atomhq/atom/host/internal/vault"
)

// copyTree copies the files under src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// goCmd runs the go tool in dir and returns its combined output.
func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// fakeWidgets behaves like the Acme Widgets API the generated provider
// calls: GET /me with the key in X-Api-Key, a JSON error otherwise.
func fakeWidgets(t *testing.T, key string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Api-Key") != key || r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"message":"Invalid API key."}}`)
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/me" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":{"message":"Not found."}}`)
			return
		}
		io.WriteString(w, `{"id":"w_42","name":"Widget Works"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestGeneratedIntegrationEndToEnd generates providers into a copy of the
// repository, runs their own vet and tests, builds one, and serves it
// from a running host: hot-loaded from the plugin directory, connected
// with an API key over REST and executed against a local fake API.
func TestGeneratedIntegrationEndToEnd(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go tool is required: ", err)
	}
	repo := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum", ".env.example", "catalog/overrides.json", "catalog/implementations.json"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(repo, f), string(b))
	}
	copyTree(t, filepath.Join(repoRoot, "sdk"), filepath.Join(repo, "sdk"))
	if err := os.MkdirAll(filepath.Join(repo, "plugins", "pieces"), 0o755); err != nil {
		t.Fatal(err)
	}

	// One provider per auth kind; the api_key one is served below.
	for _, args := range [][]string{
		{"--provider", "acme-widgets", "--auth", "api_key", "--category", "crm"},
		{"--provider", "gizmo-hub", "--auth", "oauth2", "--base-url", "https://api.gizmo-hub.test"},
		{"--provider", "bolt-basic", "--auth", "basic", "--name", "Bolt"},
	} {
		var out bytes.Buffer
		if err := generate.Main(append([]string{"integration", "--dir", repo}, args...), &out); err != nil {
			t.Fatalf("generate %v: %v\n%s", args, err, out.String())
		}
	}
	goCmd(t, repo, "vet", "./plugins/native/...")
	if out := goCmd(t, repo, "test", "./plugins/native/..."); strings.Count(out, "ok  ") != 3 {
		t.Fatalf("generated tests:\n%s", out)
	}
	bin := filepath.Join(t.TempDir(), "atom-provider-acme-widgets")
	goCmd(t, repo, "build", "-o", bin, "./plugins/native/acme-widgets")

	const apiKey = "wk_live_0123456789"
	fake, calls := fakeWidgets(t, apiKey)
	descriptor, err := os.ReadFile(filepath.Join(repo, "catalog/data/acme-widgets.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := startHost(t, map[string]string{"ACME_WIDGETS_API_BASE_URL": fake.URL},
		map[string][]byte{"acme-widgets.json": descriptor})

	tenantKey := h.tenantKey("acme")
	install(t, bin, h.plugins, "atom-provider-acme-widgets")
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Plugins []atomexec.PluginJSON `json:"plugins"`
		}
		h.must(h.call("GET", "/api/v1/admin/plugins", h.adminKey, nil), 200, &list)
		found := false
		for _, p := range list.Plugins {
			found = found || p.ID == "acme-widgets" && p.Kind == "native" && p.Version == "0.1.0"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin was not registered: %+v", list.Plugins)
		}
		time.Sleep(25 * time.Millisecond)
	}

	var acts struct {
		Implementation string `json:"implementation"`
		Actions        []struct {
			Name string `json:"name"`
		} `json:"actions"`
	}
	h.must(h.call("GET", "/api/v1/integrations/acme-widgets/actions", tenantKey, nil), 200, &acts)
	if acts.Implementation != "native" || len(acts.Actions) != 1 || acts.Actions[0].Name != "test_connection" {
		t.Fatalf("actions %+v", acts)
	}

	// Not connected yet: the spec's error, and nothing reaches the API.
	r := h.call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{}})
	if r.status == 200 || !strings.Contains(string(r.body), "not connected") || calls.Load() != 0 {
		t.Fatalf("unconnected run: %d %s (api calls %d)", r.status, r.body, calls.Load())
	}

	h.must(h.call("POST", "/api/v1/connections/acme-widgets", tenantKey, map[string]any{"api_key": apiKey}), 201, nil)
	var res struct {
		ExecutionID string `json:"execution_id"`
		Output      struct {
			OK      bool `json:"ok"`
			Account struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"account"`
		} `json:"output"`
	}
	r = h.call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{}})
	h.must(r, 200, &res)
	if !res.Output.OK || res.Output.Account.ID != "w_42" || res.Output.Account.Name != "Widget Works" || calls.Load() != 1 {
		t.Fatalf("test_connection %s (api calls %d)", r.body, calls.Load())
	}
	r = h.call("GET", "/api/v1/executions/"+res.ExecutionID, tenantKey, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"native"`) || strings.Contains(string(r.body), apiKey) {
		t.Fatalf("execution record %d %s", r.status, r.body)
	}

	// Input outside the generated schema is refused before the plugin runs.
	r = h.call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{"extra": 1}})
	if r.status != 400 || calls.Load() != 1 {
		t.Fatalf("extra input: %d %s", r.status, r.body)
	}
}

// testHost is a host started for one test.
type testHost struct {
	t        *testing.T
	url      string
	adminKey string
	plugins  string
}

// startHost starts a host on SQLite with the execution engine, an empty
// plugin directory, extra catalog descriptors and env as its environment.
func startHost(t *testing.T, env map[string]string, descriptors map[string][]byte) *testHost {
	t.Helper()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	data, plugins, catDir := t.TempDir(), t.TempDir(), t.TempDir()
	for name, b := range descriptors {
		write(t, filepath.Join(catDir, name), string(b))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), DataDir: data, EncryptionKeys: keys, AdminKey: "adm_generate_test",
		PluginDir: plugins, CatalogDir: catDir, BaseURL: base, AutoMigrate: true, LogLevel: "warn",
		BodyLimit: 1 << 20, AllowPrivateHosts: []string{"127.0.0.1"}, ShutdownTimeout: 5 * time.Second,
		DatabaseURL: "sqlite://" + filepath.Join(data, "atom.db"),
	}
	cfg.MigrateDatabaseURL = cfg.DatabaseURL
	getenv := func(k string) string { return env[k] }
	logOut := io.Discard
	if testing.Verbose() {
		logOut = os.Stderr
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hook := atomexec.Hook(atomexec.Options{
		Env:     getenv,
		Timeout: 20 * time.Second,
		Native:  func(c *native.Config) { c.Debounce = 50 * time.Millisecond },
	})
	ctx := context.Background()
	h, err := app.New(ctx, cfg, app.Options{Env: getenv, Logger: logger, Hooks: []func(context.Context, *app.Host, *api.Deps) error{hook}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.Server.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = h.Server.App().ShutdownWithTimeout(5 * time.Second)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(cctx)
	})
	return &testHost{t: t, url: base, adminKey: cfg.AdminKey, plugins: plugins}
}

// tenantKey creates a tenant and returns an API key of it.
func (h *testHost) tenantKey(name string) string {
	var tn struct {
		ID string `json:"id"`
	}
	h.must(h.call("POST", "/api/v1/tenants", h.adminKey, map[string]any{"name": name}), 201, &tn)
	var k struct {
		Key string `json:"key"`
	}
	h.must(h.call("POST", "/api/v1/tenants/"+tn.ID+"/api-keys", h.adminKey, map[string]any{"name": "test"}), 201, &k)
	return k.Key
}

type response struct {
	status int
	body   []byte
}

func (h *testHost) call(method, path, key string, body any) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp.StatusCode, b}
}

func (h *testHost) must(r response, status int, v any) {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			h.t.Fatalf("decode %s: %v", r.body, err)
		}
	}
}

// install copies the binary into dir as name through a rename, as a
// deployment would, so the host never sees half a file.
func install(t *testing.T, src, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}
