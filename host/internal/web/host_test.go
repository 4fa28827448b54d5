package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atomhq/atom/host/internal/api"
	"github.com/atomhq/atom/host/internal/apikey"
	"github.com/atomhq/atom/host/internal/app"
	"github.com/atomhq/atom/host/internal/config"
	"github.com/atomhq/atom/host/internal/runtimes/jspiece"
	"github.com/atomhq/atom/host/internal/store"
	"github.com/atomhq/atom/host/internal/store/storetest"
)

// testHost is a real host (SQLite in a temporary directory, the demo
// provider, this package's page) listening on a free loopback port.
type testHost struct {
	*app.Host
	BaseURL   string
	TenantID  string
	TenantKey string
	KeyID     string
}

type hostOptions struct {
	catalogDir   string
	allowPrivate []string
	baseScheme   string
	// web replaces ForHost when set.
	web func(*app.Host) (api.WebUI, error)
	// engine installs the execution engine, so the page's "try an
	// action" step runs.
	engine bool
	// jspiece adjusts the JS piece runtime (the engine's).
	jspiece func(*jspiece.Config)
	// plugins fills the plugin directory before the host starts.
	plugins func(dir string)
	// env is the host's environment (a name it lacks reads as empty).
	env map[string]string
	// postgres runs the host on a fresh PostgreSQL database (as a role
	// that is neither superuser nor owner) instead of SQLite.
	postgres bool
}

func startHost(t *testing.T, o hostOptions) *testHost {
	t.Helper()
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	scheme := o.baseScheme
	if scheme == "" {
		scheme = "http"
	}
	cfg := config.Config{
		Addr:        ln.Addr().String(),
		DataDir:     dir,
		DatabaseURL: "sqlite://" + filepath.Join(dir, "atom.db"),
		BaseURL:     scheme + "://" + ln.Addr().String(),
		Dev:         true,
		AutoMigrate: true,
		CatalogDir:  o.catalogDir,
		PluginDir:   filepath.Join(dir, "plugins"),
		// The demo provider is this host: actions reach it on loopback.
		AllowPrivateHosts: append([]string{ln.Addr().String()}, o.allowPrivate...),
		LogLevel:          "warn",
		BodyLimit:         1 << 20,
		ShutdownTimeout:   5 * time.Second,
	}
	if o.postgres {
		pg := storetest.NewPostgres(t)
		cfg.DatabaseURL, cfg.MigrateDatabaseURL = pg.AppURL, pg.OwnerURL
	}
	if o.plugins != nil {
		if err := os.MkdirAll(cfg.PluginDir, 0o755); err != nil {
			t.Fatal(err)
		}
		o.plugins(cfg.PluginDir)
	}
	env := func(k string) string { return o.env[k] }
	cfg, _, err = app.DevSetup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ui := o.web
	if ui == nil {
		ui = ForHost
	}
	var engine *app.EngineOptions
	if o.engine {
		engine = &app.EngineOptions{Env: env, JSPiece: o.jspiece}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h, err := app.New(ctx, cfg, app.Options{Engine: engine, Web: ui, Logger: logger, Env: env})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	go func() { _ = h.Server.App().Listener(ln) }()
	t.Cleanup(func() {
		_ = h.Server.App().ShutdownWithTimeout(5 * time.Second)
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.Close(cctx)
	})
	th := &testHost{Host: h, BaseURL: cfg.BaseURL}
	th.TenantID, th.TenantKey, th.KeyID = addTenant(t, h.Store, "acme")
	return th
}

// addTenant creates a tenant with one API key.
func addTenant(t *testing.T, st store.Store, id string) (tenantID, key, keyID string) {
	t.Helper()
	ctx := context.Background()
	key, lookup, hash := apikey.New()
	k := &store.APIKey{Name: "test", Prefix: lookup, Hash: hash}
	err := st.InTenant(ctx, id, func(tx store.Tx) error {
		if err := tx.CreateTenant(ctx, &store.Tenant{ID: id, Name: "Tenant " + id}); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, k)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, key, k.ID
}
