// Package e2e holds end-to-end tests that start a real host in process
// (app.New with the execution engine's hook) on a real database, with real
// plugin processes, real wasm modules and local fakes of provider APIs.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	atomexec "github.com/atomhq/atom/host/internal/exec"
	"github.com/atomhq/atom/host/internal/runtime/native"
	"github.com/atomhq/atom/host/internal/runtime/wasm"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// root is the repository root.
var root = func() string {
	wd, _ := os.Getwd()
	return filepath.Clean(filepath.Join(wd, "..", "..", ".."))
}()

// builds caches binaries built for the tests.
var builds struct {
	sync.Mutex
	dir  string
	done map[string]string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atom-e2e-")
	if err != nil {
		panic(err)
	}
	builds.dir, builds.done = dir, map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles a Go package of the repository (with optional -ldflags)
// once and returns the binary's path.
func build(t testing.TB, pkg, ldflags string, wasmTarget bool) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := pkg + "|" + ldflags
	if p, ok := builds.done[key]; ok {
		return p
	}
	out := filepath.Join(builds.dir, strings.NewReplacer("/", "_", ".", "_", " ", "_", "=", "_").Replace(key))
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	if wasmTarget {
		args = append(args, "-buildmode=c-shared")
	}
	args = append(args, "./"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if wasmTarget {
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, b)
	}
	builds.done[key] = out
	return out
}

// stripeBinary builds the first-party Stripe plugin.
func stripeBinary(t testing.TB) string { return build(t, "plugins/native/stripe", "", false) }

// echoBinary builds the native runtime's echo fixture as plugin id at version.
func echoBinary(t testing.TB, id, version string) string {
	return build(t, "host/internal/runtime/native/testdata/echo", "-X main.version="+version+" -X main.id="+id, false)
}

// install copies a binary into dir as name, through a rename.
func install(t testing.TB, src, dir, name string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// host is a running host for one test.
type host struct {
	t        testing.TB
	h        *app.Host
	parts    *atomexec.Parts
	url      string
	adminKey string
	tenant   string
	key      string
	plugins  string
}

type hostOpts struct {
	backend string // "sqlite" (default) or "postgres"
	env     map[string]string
	// catalog holds extra descriptor files (name → JSON).
	catalog map[string]string
	verify  bool
	// prepare runs on the plugin directory before the host starts.
	prepare func(dir string)
	rewrite map[string]string
	quiet   bool
	// noPrivate drops the loopback allowance (ATOM_ALLOW_PRIVATE_HOSTS).
	noPrivate bool
}

func startHost(t testing.TB, o hostOpts) *host {
	t.Helper()
	keys, err := vault.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	plugins := t.TempDir()
	catDir := t.TempDir()
	for name, body := range o.catalog {
		if err := os.WriteFile(filepath.Join(catDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.prepare != nil {
		o.prepare(plugins)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), DataDir: data, EncryptionKeys: keys, AdminKey: "adm_test_key",
		PluginDir: plugins, PluginVerify: o.verify, CatalogDir: catDir, BaseURL: base, AutoMigrate: true,
		LogLevel: "warn", BodyLimit: 256 << 20, AllowPrivateHosts: []string{"127.0.0.1"}, ShutdownTimeout: 5 * time.Second,
	}
	if o.noPrivate {
		cfg.AllowPrivateHosts = nil
	}
	switch o.backend {
	case "postgres":
		pg := storetest.NewPostgres(t)
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = pg.AppURL, pg.OwnerURL
	default:
		cfg.DatabaseURL = "sqlite://" + filepath.Join(data, "atom.db")
		cfg.MigrateDatabaseURL = cfg.DatabaseURL
	}
	env := func(k string) string { return o.env[k] }
	var logOut io.Writer = os.Stderr
	if o.quiet || !testing.Verbose() {
		logOut = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var parts *atomexec.Parts
	hook := atomexec.Hook(atomexec.Options{
		Env:     env,
		Timeout: 20 * time.Second,
		Native: func(c *native.Config) {
			c.Debounce = 50 * time.Millisecond
			c.HealthInterval = 200 * time.Millisecond
		},
		Wasm: func(c *wasm.Config) {
			c.Rewrite = o.rewrite
			c.ShareAcrossTenants = false
		},
		OnReady: func(p *atomexec.Parts) { parts = p },
	})
	ctx := context.Background()
	h, err := app.New(ctx, cfg, app.Options{Env: env, Logger: logger, Hooks: []func(context.Context, *app.Host, *api.Deps) error{hook}})
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
	hs := &host{t: t, h: h, parts: parts, url: base, adminKey: cfg.AdminKey, plugins: plugins}
	hs.tenant, hs.key = hs.newTenant("acme")
	return hs
}

// newTenant creates a tenant and an API key through the admin API.
func (h *host) newTenant(name string) (id, key string) {
	h.t.Helper()
	ctx := context.Background()
	admin := h.api(h.adminKey)
	tn, resp, err := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: name})
	if err != nil || resp.StatusCode != 201 {
		h.t.Fatalf("create tenant: %v", err)
	}
	k, resp, err := admin.CreateAPIKey(ctx, tn.ID, &apiclient.CreateAPIKeyRequest{Name: "test"})
	if err != nil || resp.StatusCode != 201 {
		h.t.Fatalf("create API key: %v", err)
	}
	return tn.ID, k.Key
}

// api is a client of the host generated from the OpenAPI document,
// authenticated with key. It decodes strictly: a response field the
// document does not declare fails the call.
func (h *host) api(key string) *apiclient.Client {
	return &apiclient.Client{BaseURL: h.url, Token: key, HTTP: client, Strict: true}
}

// statusOf is the HTTP status of a client call (0 when nothing came back).
func statusOf(resp *apiclient.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// apiError is the API error of a client call, or an empty one.
func apiError(err error) *apiclient.APIError {
	var ae *apiclient.APIError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiclient.APIError{}
}

// object decodes an action's JSON output as an object.
func object(t testing.TB, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("output %s: %v", raw, err)
	}
	return m
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

var client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// call sends a request; body is JSON-encoded unless it is []byte.
func (h *host) call(method, path, key string, body any, hdr map[string]string) response {
	h.t.Helper()
	r, err := h.try(method, path, key, body, hdr)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

func (h *host) try(method, path, key string, body any, hdr map[string]string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if _, raw := body.([]byte); body != nil && !raw {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

func (h *host) must(r response, status int, v any) {
	h.t.Helper()
	if r.status != status {
		h.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if v != nil {
		r.json(h.t, v)
	}
}

// exec runs an action as the host's tenant.
func (h *host) exec(provider, action string, input any, hdr map[string]string) response {
	h.t.Helper()
	return h.call("POST", "/api/v1/integrations/"+provider+"/actions/"+action, h.key, map[string]any{"input": input}, hdr)
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
