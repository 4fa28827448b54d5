package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/ids"
	"github.com/atomhq/atom/host/internal/outbound"
	"github.com/atomhq/atom/host/internal/runtimes/native"
	"github.com/atomhq/atom/host/internal/vault"
)

// AdminURL is the PostgreSQL superuser connection used to create the
// benchmark databases and roles; ATOM_TEST_POSTGRES_URL overrides it.
func AdminURL() string {
	if u := os.Getenv("ATOM_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Database is a fresh PostgreSQL database owned by a fresh role, with a
// second, non-superuser, non-owner role for the host (row-level security
// in force).
type Database struct {
	Name, OwnerRole, AppRole string
	OwnerURL, AppURL         string
}

// Analyze updates the planner's statistics of every table, as
// autovacuum does within a minute of a running system's first writes; a
// benchmark of seconds on a new database otherwise runs on plans made for
// empty tables.
func (db *Database) Analyze(ctx context.Context) error {
	c, err := pgx.Connect(ctx, db.OwnerURL)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	_, err = c.Exec(ctx, `ANALYZE`)
	return err
}

// NewDatabase creates a database and its two roles; Close drops them.
func (e *Env) NewDatabase(ctx context.Context) (*Database, error) {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL unreachable (set ATOM_TEST_POSTGRES_URL or start it): %w", err)
	}
	defer admin.Close(ctx)
	suffix := strings.ReplaceAll(ids.Random(6), "-", "")
	db := &Database{Name: "atom_bench_" + suffix, OwnerRole: "atom_bowner_" + suffix, AppRole: "atom_bapp_" + suffix}
	pw := ids.Random(12)
	for _, q := range []string{
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS`, db.OwnerRole, pw),
		fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s' NOSUPERUSER NOBYPASSRLS`, db.AppRole, pw),
		fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, db.Name, db.OwnerRole),
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("create benchmark database: %w", err)
		}
	}
	e.onClose(func() {
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, `DROP DATABASE IF EXISTS `+db.Name+` WITH (FORCE)`)
		admin.Exec(ctx, `DROP ROLE IF EXISTS `+db.AppRole)
		admin.Exec(ctx, `DROP ROLE IF EXISTS `+db.OwnerRole)
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		return nil, err
	}
	role := func(user string) string {
		v := *u
		v.User = url.UserPassword(user, pw)
		v.Path = "/" + db.Name
		return v.String()
	}
	db.OwnerURL, db.AppURL = role(db.OwnerRole), role(db.AppRole)
	return db, nil
}

// SuperURL connects to the database as the superuser of AdminURL.
func (d *Database) SuperURL() string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		return AdminURL()
	}
	u.Path = "/" + d.Name
	return u.String()
}

// Host is a host running in this process.
type Host struct {
	H      *app.Host
	Parts  *app.Parts
	URL    string
	Admin  string
	Tenant string
	// Key is an API key of Tenant.
	Key     string
	Plugins string
	// DataDir is the host's data directory (private plugin copies run
	// from under it).
	DataDir string
	ln      net.Listener
}

// HostOptions shape an in-process host.
type HostOptions struct {
	// DB is the database; nil means a new SQLite file.
	DB *Database
	// Env answers {PROVIDER}_* variables.
	Env map[string]string
	// Catalog holds descriptor files (name → JSON).
	Catalog map[string]string
	// Plugins is the plugin directory (a new one when empty); Prepare runs
	// on it before the host starts.
	Plugins string
	Prepare func(dir string) error
	// Native adjusts the native manager's configuration.
	Native func(*native.Config)
	// NoTenant skips creating a tenant and key.
	NoTenant bool
	// Keys is the vault key ring (replicas of one database share it); a
	// new one when empty.
	Keys string
}

// StartHost starts a host in this process with the execution engine's hook,
// on loopback, with the outbound rate limit off (benchmarks send far more
// than 20 requests per second to one provider) and loopback upstreams
// allowed. It stops at Close.
func (e *Env) StartHost(ctx context.Context, o HostOptions) (*Host, error) {
	keys := o.Keys
	if keys == "" {
		var err error
		if keys, err = vault.Generate("k1"); err != nil {
			return nil, err
		}
	}
	data, err := e.TempDir()
	if err != nil {
		return nil, err
	}
	plugins := o.Plugins
	if plugins == "" {
		if plugins, err = e.TempDir(); err != nil {
			return nil, err
		}
	}
	catDir, err := e.TempDir()
	if err != nil {
		return nil, err
	}
	for name, body := range o.Catalog {
		if err := os.WriteFile(filepath.Join(catDir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	if o.Prepare != nil {
		if err := o.Prepare(plugins); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	cfg := config.Config{
		Addr: ln.Addr().String(), DataDir: data, EncryptionKeys: keys, AdminKey: "adm_" + ids.Random(16),
		PluginDir: plugins, CatalogDir: catDir, BaseURL: base, AutoMigrate: true,
		LogLevel: "error", BodyLimit: 1 << 20, AllowPrivateHosts: []string{"127.0.0.1"}, ShutdownTimeout: 5 * time.Second,
	}
	// One tenant drives every load: its own bounds would measure the
	// limits, not the path (the inbound rate limits, per tenant and per
	// hook URL, are off at zero).
	cfg.Limits.TenantMaxConcurrent = 4096
	if o.DB != nil {
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = o.DB.AppURL, o.DB.OwnerURL
	} else {
		cfg.DatabaseURL = "sqlite://" + filepath.Join(data, "atom.db")
		cfg.MigrateDatabaseURL = cfg.DatabaseURL
	}
	env := func(k string) string { return o.Env[k] }
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	var parts *app.Parts
	engineOpts := &app.EngineOptions{
		Env:     env,
		Native:  o.Native,
		OnReady: func(p *app.Parts) { parts = p },
	}
	h, err := app.New(ctx, cfg, app.Options{Env: env, Logger: logger, Engine: engineOpts,
		Outbound: func(c *outbound.Config) { c.Rate = -1 }})
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := h.Start(ctx); err != nil {
		ln.Close()
		return nil, err
	}
	go func() { _ = h.Server.App().Listener(ln) }()
	e.onClose(func() {
		_ = h.Server.App().ShutdownWithTimeout(5 * time.Second)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(cctx)
	})
	hs := &Host{H: h, Parts: parts, URL: base, Admin: cfg.AdminKey, Plugins: plugins, DataDir: data, ln: ln}
	if !o.NoTenant {
		if hs.Tenant, hs.Key, err = hs.NewTenant(ctx, "bench"); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// NewTenant creates a tenant and an API key through the admin API.
func (h *Host) NewTenant(ctx context.Context, name string) (id, key string, err error) {
	var tn struct {
		ID string `json:"id"`
	}
	if err := h.adminJSON(ctx, "/api/v1/tenants", map[string]any{"name": name}, &tn); err != nil {
		return "", "", err
	}
	var k struct {
		Key string `json:"key"`
	}
	if err := h.adminJSON(ctx, "/api/v1/tenants/"+tn.ID+"/api-keys", map[string]any{"name": "bench"}, &k); err != nil {
		return "", "", err
	}
	return tn.ID, k.Key, nil
}

func (h *Host) adminJSON(ctx context.Context, path string, body, out any) error {
	b, _ := json.Marshal(body)
	st, resp, err := Do(ctx, Request{Method: "POST", URL: h.URL + path, Body: b,
		Header: map[string]string{"Authorization": "Bearer " + h.Admin, "Content-Type": "application/json"}})
	if err != nil {
		return err
	}
	if st != http.StatusCreated {
		return fmt.Errorf("POST %s: status %d: %s", path, st, resp)
	}
	return json.Unmarshal(resp, out)
}

// Exec is the REST request running an action as the host's tenant.
func (h *Host) Exec(providerID, action string, input any) Request {
	return h.ExecAs(h.Key, providerID, action, input)
}

// ExecAs is Exec with another tenant's key.
func (h *Host) ExecAs(key, providerID, action string, input any) Request {
	b, _ := json.Marshal(map[string]any{"input": input})
	return Request{Method: "POST", URL: h.URL + "/api/v1/integrations/" + providerID + "/actions/" + action, Body: b,
		Header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}}
}

// Piece is the REST request running an action through the pieces route.
func (h *Host) Piece(pieceID, action string, input any) Request {
	b, _ := json.Marshal(map[string]any{"input": input})
	return Request{Method: "POST", URL: h.URL + "/api/v1/pieces/" + pieceID + "/actions/" + action, Body: b,
		Header: map[string]string{"Authorization": "Bearer " + h.Key, "Content-Type": "application/json"}}
}

// waitFor polls cond every 5ms until it holds or the timeout passes.
func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
