// Package hosttest starts a real host for tests: app.New with the
// execution engine's hook on SQLite or a fresh PostgreSQL database,
// listening on a loopback port, with its own plugin and catalog
// directories. It also sends requests to it, creates tenants through the
// admin API and reads back every stored value for the plaintext-secret
// scans.
//
// Only tests import it. Building and installing plugin binaries lives in
// the subpackage testbin, which the runtimes' own tests can import too.
package hosttest

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
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/apiclient"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/engine"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/runtimes/wasm"
	"github.com/atomhq/atom/host/internal/store/storetest"
	"github.com/atomhq/atom/host/internal/vault"
)

// DefaultAdminKey is the admin key of a host whose Options name none.
const DefaultAdminKey = "adm_test_key"

// Options describe the host Start runs. The zero value is a host on
// SQLite with an empty plugin directory and catalog, no environment and
// no tenant.
type Options struct {
	// Backend is "sqlite" (the default) or "postgres" (a fresh database
	// from storetest, skipped or failed as storetest decides).
	Backend string
	// DatabaseURL and MigrateDatabaseURL, when DatabaseURL is set, name
	// the database instead of Backend (e.g. a private cluster).
	DatabaseURL, MigrateDatabaseURL string
	// EncryptionKeys is ATOM_ENCRYPTION_KEYS; a key "k1" is generated
	// when empty.
	EncryptionKeys string
	// AdminKey is ATOM_ADMIN_KEY; DefaultAdminKey when empty.
	AdminKey string
	// Env is the host's environment (provider client ids, base URL
	// overrides); a name it lacks reads as empty.
	Env map[string]string
	// Catalog holds extra descriptor files for the catalog directory
	// (file name → JSON). The ids of the test fixture plugins
	// (FixtureIDs) get a descriptor without auth unless Catalog has one
	// or NoFixtureDescriptors is set, since the host refuses the actions
	// of a native plugin the catalog does not describe.
	Catalog map[string]string
	// NoFixtureDescriptors leaves the fixture ids out of the catalog.
	NoFixtureDescriptors bool
	// Verify turns on plugin signature verification.
	Verify bool
	// Prepare runs on the plugin directory before the host starts.
	Prepare func(dir string)
	// BackgroundPlugins loads the native plugins Prepare put in the
	// directory in the background, as atom serve does: Start returns
	// while they load.
	BackgroundPlugins bool
	// Rewrite maps URL prefixes wasm pieces call to others (the wasm
	// runtime's Rewrite), to point them at local fakes.
	Rewrite map[string]string
	// Wasm adjusts the wasm runtime's configuration further.
	Wasm func(*wasm.Config)
	// StoreQuota bounds each tenant's plugin store per provider (the
	// engine's defaults when zero).
	StoreQuota engine.StoreQuota
	// Timeout bounds one action's execution; 20s when zero.
	Timeout time.Duration
	// BodyLimit is the request body limit; 1 MiB when zero.
	BodyLimit int
	// LogLevel is ATOM_LOG_LEVEL; "warn" when empty.
	LogLevel string
	// Quiet discards the host's log even when tests run verbose.
	Quiet bool
	// NoPrivate drops the loopback allowance (ATOM_ALLOW_PRIVATE_HOSTS).
	NoPrivate bool
	// Web builds the web UI (web.ForHost); none when nil.
	Web func(*app.Host) (api.WebUI, error)
	// Tenant, when set, is the name of a tenant created at start, with an
	// API key: Host.Tenant.
	Tenant string
	// Configure adjusts the host's configuration last (e.g. its limits).
	Configure func(*config.Config)
	// Log, when set, also receives every log line of the host, at every
	// level (tests grep it for secrets).
	Log io.Writer
}

// Host is a host running for one test; it stops when the test ends.
type Host struct {
	// T is the test the host runs for; its helpers fail it.
	T testing.TB
	// App is the host itself.
	App *app.Host
	// Parts are the execution engine's parts (runtimes, registry).
	Parts *app.Parts
	// URL is the host's base URL, e.g. http://127.0.0.1:41234.
	URL string
	// AdminKey is the host's admin key.
	AdminKey string
	// Plugins and Catalog are the plugin and catalog directories.
	Plugins, Catalog string
	// Backend is "sqlite", "postgres", or Options.Backend when the
	// database was named by URL.
	Backend string
	// PG is the PostgreSQL database of a "postgres" host.
	PG *storetest.PG
	// Tenant is the tenant Options.Tenant asked for.
	Tenant Tenant
}

// Tenant is a tenant of a host with one API key.
type Tenant struct {
	ID, Key string
}

// FixtureIDs are the provider ids the tests serve with the fixture
// plugins (testbin.Echo and the native runtime's testdata).
var FixtureIDs = []string{"echo", "echo2", "other", "extra", "hostile", "egress", "slow"}

// Start starts a host as o describes and stops it when t ends.
func Start(t testing.TB, o Options) *Host {
	t.Helper()
	keys := o.EncryptionKeys
	if keys == "" {
		var err error
		if keys, err = vault.Generate("k1"); err != nil {
			t.Fatal(err)
		}
	}
	data, plugins, catDir := t.TempDir(), t.TempDir(), t.TempDir()
	if !o.NoFixtureDescriptors {
		for _, id := range FixtureIDs {
			if _, ok := o.Catalog[id+".json"]; !ok {
				body := `{"id":"` + id + `","name":"` + id + ` (test fixture)","categories":["development"],"auth":{"kind":"none"},"api":{"base_url":"https://fixture.invalid"},"implementations":["native"],"connectable":true}`
				if err := os.WriteFile(filepath.Join(catDir, id+".json"), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for name, body := range o.Catalog {
		if err := os.WriteFile(filepath.Join(catDir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.Prepare != nil {
		o.Prepare(plugins)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), DataDir: data, EncryptionKeys: keys, AdminKey: or(o.AdminKey, DefaultAdminKey),
		PluginDir: plugins, PluginVerify: o.Verify, CatalogDir: catDir, BaseURL: base, AutoMigrate: true,
		LogLevel: or(o.LogLevel, "warn"), BodyLimit: 1 << 20, AllowPrivateHosts: []string{"127.0.0.1"}, ShutdownTimeout: 5 * time.Second,
	}
	if o.BodyLimit != 0 {
		cfg.BodyLimit = o.BodyLimit
	}
	if o.NoPrivate {
		cfg.AllowPrivateHosts = nil
	}

	hs := &Host{T: t, URL: base, AdminKey: cfg.AdminKey, Plugins: plugins, Catalog: catDir, Backend: o.Backend}
	switch {
	case o.DatabaseURL != "":
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = o.DatabaseURL, o.MigrateDatabaseURL
	case o.Backend == "postgres":
		hs.PG = storetest.NewPostgres(t)
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = hs.PG.AppURL, hs.PG.OwnerURL
	default:
		hs.Backend = "sqlite"
		cfg.DatabaseURL = "sqlite://" + filepath.Join(data, "atom.db")
		cfg.MigrateDatabaseURL = cfg.DatabaseURL
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	env := func(k string) string { return o.Env[k] }
	var logOut io.Writer = io.Discard
	if testing.Verbose() && !o.Quiet {
		logOut = os.Stderr
	}
	var handler slog.Handler = slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn})
	if o.Log != nil {
		handler = teeHandler{handler, slog.NewJSONHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug})}
	}
	logger := slog.New(handler)
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	engineOpts := &app.EngineOptions{
		Env:        env,
		Timeout:    timeout,
		StoreQuota: o.StoreQuota,

		BackgroundPlugins: o.BackgroundPlugins,
		Native: func(c *native.Config) {
			c.Debounce = 50 * time.Millisecond
			c.HealthInterval = 200 * time.Millisecond
		},
		Wasm: func(c *wasm.Config) {
			c.Rewrite = o.Rewrite
			c.ShareAcrossTenants = false
			if o.Wasm != nil {
				o.Wasm(c)
			}
		},
		JSPiece: func(c *jspiece.Config) {
			// Rewrite keys are host names for JS pieces.
			c.Rewrite = map[string]string{}
			for k, v := range o.Rewrite {
				if !strings.Contains(k, "/") {
					c.Rewrite[k] = v
				}
			}
		},
		OnReady: func(p *app.Parts) { hs.Parts = p },
	}
	ctx := context.Background()
	h, err := app.New(ctx, cfg, app.Options{Env: env, Logger: logger, Engine: engineOpts, Web: o.Web})
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
	hs.App = h
	if o.Tenant != "" {
		hs.Tenant = hs.NewTenant(o.Tenant)
	}
	return hs
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Client sends the requests of Host.Call and Host.API. It does not follow
// redirects, so tests see them.
var Client = &http.Client{
	Timeout:       60 * time.Second,
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// API is a client of the host generated from the OpenAPI document,
// authenticated with key. It decodes strictly: a response field the
// document does not declare fails the call.
func (h *Host) API(key string) *apiclient.Client {
	return &apiclient.Client{BaseURL: h.URL, Token: key, HTTP: Client, Strict: true}
}

// NewTenant creates a tenant and an API key of it through the admin API.
func (h *Host) NewTenant(name string) Tenant {
	h.T.Helper()
	ctx := context.Background()
	admin := h.API(h.AdminKey)
	tn, resp, err := admin.CreateTenant(ctx, apiclient.CreateTenantRequest{Name: name})
	if err != nil || resp.StatusCode != 201 {
		h.T.Fatalf("create tenant: %v", err)
	}
	k, resp, err := admin.CreateAPIKey(ctx, tn.ID, &apiclient.CreateAPIKeyRequest{Name: "test"})
	if err != nil || resp.StatusCode != 201 {
		h.T.Fatalf("create API key: %v", err)
	}
	return Tenant{ID: tn.ID, Key: k.Key}
}

// Response is a response the host sent.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v or fails t.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// ErrorCode returns the code and message of an error body ("" when the
// body is not the API's error shape).
func (r Response) ErrorCode() (code, msg string) {
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(r.Body, &e) != nil {
		return "", ""
	}
	return e.Error.Code, e.Error.Message
}

// Call sends a request and fails the test when none comes back; see Try.
func (h *Host) Call(method, path, key string, body any, hdr map[string]string) Response {
	h.T.Helper()
	r, err := h.Try(method, path, key, body, hdr)
	if err != nil {
		h.T.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// Try sends a request to path with key as its bearer token ("" sends no
// Authorization header) and the headers in hdr. A []byte body is sent as
// is, a string as is with the JSON content type, anything else
// JSON-encoded.
func (h *Host) Try(method, path, key string, body any, hdr map[string]string) (Response, error) {
	var rd io.Reader
	jsonBody := false
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
		jsonBody = true
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
		jsonBody = true
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if jsonBody {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// Must fails the test unless r has status; v, when not nil, receives the
// decoded body.
func (h *Host) Must(r Response, status int, v any) {
	h.T.Helper()
	if r.Status != status {
		h.T.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if v != nil {
		r.JSON(h.T, v)
	}
}

// Exec runs provider's action with input as tenant tn.
func (h *Host) Exec(tn Tenant, provider, action string, input any, hdr map[string]string) Response {
	h.T.Helper()
	return h.Call("POST", "/api/v1/integrations/"+provider+"/actions/"+action, tn.Key, map[string]any{"input": input}, hdr)
}

// WaitFor polls cond until it holds, failing t when timeout passes first;
// what names the awaited condition in the failure.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StatusOf is the HTTP status of a generated client's call (0 when nothing
// came back).
func StatusOf(resp *apiclient.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

// APIErrorOf is the API error of a generated client's call, or an empty
// one when err is not an API error.
func APIErrorOf(err error) *apiclient.APIError {
	var ae *apiclient.APIError
	if errors.As(err, &ae) {
		return ae
	}
	return &apiclient.APIError{}
}

// teeHandler sends each record to both handlers that accept its level.
type teeHandler [2]slog.Handler

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t[0].Enabled(ctx, l) || t[1].Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range t {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

func (t teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{t[0].WithAttrs(as), t[1].WithAttrs(as)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t[0].WithGroup(name), t[1].WithGroup(name)}
}
