package generate_test

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/generate"
	"github.com/atomhq/atom/host/internal/hosttest"
	"github.com/atomhq/atom/host/internal/hosttest/testbin"
	"github.com/atomhq/atom/host/internal/plugindir"
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
	h := hosttest.Start(t, hosttest.Options{
		Env:     map[string]string{"ACME_WIDGETS_API_BASE_URL": fake.URL},
		Catalog: map[string]string{"acme-widgets.json": string(descriptor)},
	})

	tenantKey := h.NewTenant("acme").Key
	testbin.Install(t, bin, h.Plugins, "atom-provider-acme-widgets", 0o755)
	hosttest.WaitFor(t, 30*time.Second, "the acme-widgets plugin to be registered", func() bool {
		var list struct {
			Plugins []plugindir.Plugin `json:"plugins"`
		}
		h.Must(h.Call("GET", "/api/v1/admin/plugins", h.AdminKey, nil, nil), 200, &list)
		for _, p := range list.Plugins {
			if p.ID == "acme-widgets" && p.Kind == "native" && p.Version == "0.1.0" {
				return true
			}
		}
		return false
	})

	var acts struct {
		Implementation string `json:"implementation"`
		Actions        []struct {
			Name string `json:"name"`
		} `json:"actions"`
	}
	h.Must(h.Call("GET", "/api/v1/integrations/acme-widgets/actions", tenantKey, nil, nil), 200, &acts)
	// The generated plugin's one action, then custom_api_call, which every
	// connectable provider offers.
	if acts.Implementation != "native" || len(acts.Actions) != 2 || acts.Actions[0].Name != "test_connection" || acts.Actions[1].Name != "custom_api_call" {
		t.Fatalf("actions %+v", acts)
	}

	// Not connected yet: the spec's error, and nothing reaches the API.
	r := h.Call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{}}, nil)
	if r.Status == 200 || !strings.Contains(string(r.Body), "not connected") || calls.Load() != 0 {
		t.Fatalf("unconnected run: %d %s (api calls %d)", r.Status, r.Body, calls.Load())
	}

	h.Must(h.Call("POST", "/api/v1/connections/acme-widgets", tenantKey, map[string]any{"api_key": apiKey}, nil), 201, nil)
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
	r = h.Call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{}}, nil)
	h.Must(r, 200, &res)
	if !res.Output.OK || res.Output.Account.ID != "w_42" || res.Output.Account.Name != "Widget Works" || calls.Load() != 1 {
		t.Fatalf("test_connection %s (api calls %d)", r.Body, calls.Load())
	}
	r = h.Call("GET", "/api/v1/executions/"+res.ExecutionID, tenantKey, nil, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"native"`) || strings.Contains(string(r.Body), apiKey) {
		t.Fatalf("execution record %d %s", r.Status, r.Body)
	}

	// Input outside the generated schema is refused before the plugin runs.
	r = h.Call("POST", "/api/v1/integrations/acme-widgets/actions/test_connection", tenantKey, map[string]any{"input": map[string]any{"extra": 1}}, nil)
	if r.Status != 400 || calls.Load() != 1 {
		t.Fatalf("extra input: %d %s", r.Status, r.Body)
	}
}
